/* nn_pool.c — see nn_pool.h. */
#include "nn_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "nn_sync.h"
#include "util.h"

struct nn_pool {
	int n;
	pthread_t *th;
	atomic_uint gen;             /* bumped for every run */
	atomic_uint left;            /* members still working on this run */
	atomic_int sleepers;         /* members asleep on gen */
	atomic_int waiter;           /* the caller asleep on left */
	_Atomic long go_at, done_at; /* when the last run began, ended */
	atomic_int stop;
	void (*fn)(void *, int, int);
	void *arg;
};

/* this thread's waits for a run to start or end */
static _Thread_local struct nn_spin spin;

struct member {
	nn_pool *p;
	int tid;
};

static void *
member_main(void *a)
{
	struct member m = *(struct member *)a;
	nn_pool *p = m.p;
	free(a);
	unsigned seen = 0;
	for (;;) {
		nn_sync_wait(&p->gen, seen, &p->sleepers, &p->go_at, &spin);
		seen = atomic_load(&p->gen);
		if (atomic_load(&p->stop))
			return NULL;
		p->fn(p->arg, m.tid, p->n);
		nn_sync_stamp(&p->done_at);
		if (atomic_fetch_sub(&p->left, 1) == 1)
			nn_sync_wake(&p->left, &p->waiter);
	}
}

nn_pool *
nn_pool_new(int n)
{
	nn_pool *p = xcalloc(1, sizeof(*p));
	p->n = n < 1 ? 1 : n;
	p->th = xcalloc((size_t)p->n, sizeof(pthread_t));
	for (int i = 1; i < p->n; i++) {
		struct member *m = xmalloc(sizeof(*m));
		m->p = p, m->tid = i;
		if (pthread_create(&p->th[i], NULL, member_main, m) != 0)
			abort();
	}
	return p;
}

void
nn_pool_run(nn_pool *p, void (*fn)(void *, int, int), void *arg)
{
	if (p->n == 1) {
		fn(arg, 0, 1);
		return;
	}
	p->fn = fn;
	p->arg = arg;
	atomic_store(&p->left, (unsigned)(p->n - 1));
	nn_sync_stamp(&p->go_at);
	atomic_fetch_add(&p->gen, 1); /* seq_cst: pairs with sleepers */
	nn_sync_wake(&p->gen, &p->sleepers);
	fn(arg, 0, p->n);
	unsigned v;
	while ((v = atomic_load(&p->left)) != 0)
		nn_sync_wait(&p->left, v, &p->waiter, &p->done_at, &spin);
}

void
nn_pool_free(nn_pool *p)
{
	if (!p)
		return;
	atomic_store(&p->stop, 1);
	atomic_fetch_add(&p->gen, 1);
	nn_sync_wake(&p->gen, &p->sleepers);
	for (int i = 1; i < p->n; i++)
		pthread_join(p->th[i], NULL);
	free(p->th);
	free(p);
}
