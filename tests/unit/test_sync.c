/*
 * test_sync.c — the engine threads' wait (nn_sync.h): no wake is lost
 * over many meetings, and the spin budget follows how long the waits have
 * been (short spins once partners keep arriving late, long ones again
 * when they are prompt). How prompt a partner thread is depends on the
 * machine's load, so the prompt case is played without a thread.
 */
#include <pthread.h>
#include <time.h>

#include "../th.h"
#include "nn_pool.h"
#include "nn_sync.h"

static atomic_uint word;
static atomic_int sleepers;

struct partner {
	int rounds;
	long delay_ns; /* before each answer */
};

/* Waits for each odd value and answers with the next even one. */
static void *
answer(void *arg)
{
	struct partner *p = arg;
	struct nn_spin sp = {0};
	for (int i = 0; i < p->rounds; i++) {
		nn_sync_wait(&word, 2u * i, &sleepers, &sp);
		if (p->delay_ns) {
			struct timespec ts = {0, p->delay_ns};
			nanosleep(&ts, NULL);
		}
		atomic_store(&word, 2u * i + 2);
		nn_sync_wake(&word, &sleepers);
	}
	return NULL;
}

/* Plays `rounds` meetings with a partner that answers after delay_ns;
 * returns the caller's spin record. */
static struct nn_spin
play(int rounds, long delay_ns, int *ok)
{
	atomic_store(&word, 0);
	struct partner p = {rounds, delay_ns};
	struct nn_spin sp = {0};
	pthread_t t;
	*ok = pthread_create(&t, NULL, answer, &p) == 0;
	if (!*ok)
		return sp;
	for (int i = 0; i < rounds; i++) {
		atomic_store(&word, 2u * i + 1);
		nn_sync_wake(&word, &sleepers);
		nn_sync_wait(&word, 2u * i + 1, &sleepers, &sp);
	}
	pthread_join(t, NULL);
	*ok = atomic_load(&word) == 2u * rounds;
	return sp;
}

static atomic_int runs_seen[4];

static void
count(void *arg, int tid, int n)
{
	(void)arg, (void)n;
	atomic_fetch_add(&runs_seen[tid], 1);
}

int
main(void)
{
	TH_TEST("20,000 meetings, none lost (each side sleeps or spins)")
	{
		int ok;
		play(20000, 0, &ok);
		CHECK(ok);
	}
	TH_TEST("a partner that keeps answering late makes the spin short")
	{
		int ok;
		struct nn_spin sp = play(60, 200000, &ok); /* 0.2 ms late */
		CHECK(ok);
		CHECK(sp.slow >= 0.25f);
	}
	TH_TEST("after late answers, prompt ones bring the long spin back")
	{
		struct nn_spin sp = {1.0f};
		atomic_uint w = 1;
		/* a wait that finds the word changed is a short one */
		for (int i = 0; i < 64; i++)
			nn_sync_wait(&w, 0, &sleepers, &sp);
		CHECK(sp.slow < 0.25f);
	}
	TH_TEST("the pool runs every member once per run, 5,000 runs")
	{
		nn_pool *p = nn_pool_new(3);
		for (int r = 0; r < 5000; r++)
			nn_pool_run(p, count, NULL);
		nn_pool_free(p);
		for (int i = 0; i < 3; i++)
			CHECK(atomic_load(&runs_seen[i]) == 5000);
	}
	return th_done();
}
