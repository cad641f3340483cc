/*
 * nn_pool.h — a fixed team of threads that runs one function on every
 * member and waits for all: the engine's own 2-way (n-way) split of a
 * training step. OpenBLAS's threading costs more than it gains on the
 * small matrices of a 64-image batch, so a step is split by images and
 * each thread calls single-threaded BLAS.
 *
 * Members wait by spinning ~0.1 ms and then on a futex (nn_sync.h), so
 * an idle pool costs no CPU.
 */
#ifndef TY_NN_POOL_H
#define TY_NN_POOL_H

typedef struct nn_pool nn_pool;

/* n threads in all, the caller included (n - 1 are started). */
nn_pool *nn_pool_new(int n);
void nn_pool_free(nn_pool *p);

/* Runs fn(arg, tid, n) for tid 0..n-1 (0 on the caller); returns when
 * all are done. Not re-entrant. */
void nn_pool_run(nn_pool *p, void (*fn)(void *arg, int tid, int n), void *arg);

#endif
