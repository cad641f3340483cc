/* nn_pool.c — see nn_pool.h. */
#include "nn_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "util.h"

struct nn_pool {
	int n;
	pthread_t *th;
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	atomic_uint gen;     /* bumped for every run */
	atomic_int pending;  /* members still working on this run */
	atomic_int sleepers; /* members waiting on go */
	int stop;
	void (*fn)(void *, int, int);
	void *arg;
};

struct member {
	nn_pool *p;
	int tid;
};

enum { SPINS = 20000 };

static void *
member_main(void *a)
{
	struct member m = *(struct member *)a;
	nn_pool *p = m.p;
	free(a);
	unsigned seen = 0;
	for (;;) {
		unsigned g;
		int i = 0;
		while ((g = atomic_load_explicit(
		            &p->gen, memory_order_acquire)) == seen &&
		       i < SPINS)
			i++;
		if (g == seen) {
			pthread_mutex_lock(&p->mu);
			atomic_fetch_add(&p->sleepers, 1);
			while ((g = atomic_load(&p->gen)) == seen && !p->stop)
				pthread_cond_wait(&p->go, &p->mu);
			atomic_fetch_sub(&p->sleepers, 1);
			pthread_mutex_unlock(&p->mu);
		}
		if (p->stop)
			return NULL;
		seen = g;
		p->fn(p->arg, m.tid, p->n);
		if (atomic_fetch_sub_explicit(&p->pending, 1,
		                              memory_order_acq_rel) == 1) {
			pthread_mutex_lock(&p->mu);
			pthread_cond_signal(&p->done);
			pthread_mutex_unlock(&p->mu);
		}
	}
}

nn_pool *
nn_pool_new(int n)
{
	nn_pool *p = xcalloc(1, sizeof(*p));
	p->n = n < 1 ? 1 : n;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
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
	atomic_store(&p->pending, p->n - 1);
	atomic_fetch_add(&p->gen, 1); /* seq_cst: pairs with sleepers */
	if (atomic_load(&p->sleepers)) {
		pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->go);
		pthread_mutex_unlock(&p->mu);
	}
	fn(arg, 0, p->n);
	int i = 0;
	while (atomic_load_explicit(&p->pending, memory_order_acquire) &&
	       i < SPINS)
		i++;
	if (atomic_load(&p->pending)) {
		pthread_mutex_lock(&p->mu);
		while (atomic_load(&p->pending))
			pthread_cond_wait(&p->done, &p->mu);
		pthread_mutex_unlock(&p->mu);
	}
}

void
nn_pool_free(nn_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	atomic_fetch_add(&p->gen, 1);
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (int i = 1; i < p->n; i++)
		pthread_join(p->th[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	free(p->th);
	free(p);
}
