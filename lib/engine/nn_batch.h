/*
 * nn_batch.h — one training step or evaluation of a whole batch, split
 * across a pool of threads (nn_pool.h): by images, each thread with its
 * own context and single-threaded BLAS, or for all-dense nets by units
 * as a team (nn_team). Every caller that trains a net — the single
 * worker's loop and each federated replica — steps through this, so a
 * batch is computed one way.
 *
 *	nn_batch *b = nn_batch_new(net, &opt, threads, batch, in_size, bytes);
 *	loss = nn_batch_train(b, &src, n, seed, &correct);
 *	loss = nn_batch_eval(b, &src, n, cm, k, &correct, probs);
 *	nn_batch_free(b);
 *
 * Results depend on the thread count, never on timing.
 */
#ifndef TY_NN_BATCH_H
#define TY_NN_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"

/* Where the current batch's images come from (the caller's data). */
struct nn_batch_src {
	void *arg;
	/* Rows [lo, lo+n) of the batch into x (in_size floats apart), only
	 * elements [e0, e1) of each; their labels into lab unless NULL.
	 * Called from every thread at once, on disjoint rows or columns. */
	void (*rows)(void *arg, int lo, int n, float *x, uint16_t *lab,
	             size_t e0, size_t e1);
	/* The label of row b of the batch. */
	uint16_t (*label)(void *arg, int b);
	/* May be NULL: elements [e0, e1) of the next batch's images will be
	 * read soon (a hint, to overlap the misses with this step). */
	void (*prefetch)(void *arg, size_t e0, size_t e1);
};

typedef struct nn_batch nn_batch;

/* The fewest images a chunk of a net with batch normalisation has. */
#define NN_BATCH_BN_MIN 8

/*
 * threads (1..NN_MAX_THREADS, at most maxbatch) share batches of at most
 * maxbatch images of in_size floats; each thread forwards its images in
 * chunks whose activations take about chunk_bytes. opt (borrowed) is
 * stepped after every training batch.
 */
nn_batch *nn_batch_new(nn_net *net, struct nn_opt *opt, int threads,
                       int maxbatch, size_t in_size, size_t chunk_bytes);
void nn_batch_free(nn_batch *b);
int nn_batch_threads(const nn_batch *b);

/*
 * One training step on n rows of src: forward, backward, one optimiser
 * step. Dropout of thread i draws from seed + i. Returns the summed loss;
 * *correct the rows classified right.
 */
double nn_batch_train(nn_batch *b, const struct nn_batch_src *src, int n,
                      uint64_t seed, int *correct);
/*
 * Forward only, on n rows: the summed loss, *correct, and cm[label][pred]
 * incremented for every row with label < k (cm may be NULL). Unless NULL,
 * probs gets n rows of nn_out_size floats: what nn_predict gives for
 * them (the class probabilities), from the very pass that made cm.
 */
double nn_batch_eval(nn_batch *b, const struct nn_batch_src *src, int n,
                     uint32_t *cm, int k, int *correct, float *probs);

#endif
