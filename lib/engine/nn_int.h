/*
 * nn_int.h — the engine's insides, shared by nn.c (layers, passes) and
 * nn_team.c (a batch split by units across threads). Not for callers.
 */
#ifndef TY_NN_INT_H
#define TY_NN_INT_H

#include "nn.h"

struct layer {
	struct nn_spec s;
	int ih, iw, ic;            /* per-sample input shape */
	int oh, ow, oc;            /* per-sample output shape */
	size_t woff, wn, boff, bn; /* ranges in params */
	/*
	 * ReLU then 2x2 max-pool equals max-pool then ReLU (max and ReLU
	 * are both monotonic; where the max is <= 0 both give 0 and pass no
	 * gradient). So a ReLU right before a pool is skipped (fused) and the
	 * pool clamps its 4x smaller output instead (relu_after): one pass
	 * and one buffer less over the biggest activations of a CNN.
	 */
	int fused, relu_after;
};

struct nn_net {
	int nl;
	struct layer *l;
	enum nn_loss loss;
	int in_size;
	size_t np;
	float *params;
};

struct nn_ctx {
	const nn_net *net;
	int maxbatch, train;
	char *arena;
	size_t arena_len;
	float **act;   /* act[i]: output of layer i */
	float **gact;  /* gact[i]: d loss / d act[i] (train) */
	float **col;   /* im2col of conv layer i's input */
	int32_t **idx; /* max-pool arg-max into the input */
	float **mask;  /* dropout scale per element */
	float *dcol;   /* shared im2col gradient scratch */
	float *grads;
	const float *in;
	int n;
	int timing, accumulate;
	double *tf, *tb; /* seconds per layer, forward / backward */
};

static inline size_t
osize(const struct layer *l)
{
	return (size_t)l->oh * l->ow * l->oc;
}

static inline size_t
isize(const struct layer *l)
{
	return (size_t)l->ih * l->iw * l->ic;
}

/*
 * The elementwise layers (ReLU, sigmoid, dropout, flatten) over len
 * floats: y from x (a training dropout draws its scales into mask), and
 * dx from dy (y: the forward's output). nn_team.c runs them on each
 * thread's share of a row.
 */
void nn_pointwise_fwd(const struct layer *l, const float *x, float *y,
                      float *mask, size_t len, int train, struct nn_rng *rng);
void nn_pointwise_bwd(const struct layer *l, const float *y, const float *dy,
                      const float *mask, float *dx, size_t len);

/*
 * Mean loss over rows y[0..n) of the last layer's output, the number
 * right in *correct, and d loss / d output into g (when not NULL) scaled
 * for a batch of total_n rows.
 */
float nn_loss_rows(const nn_net *net, const float *y, const uint16_t *labels,
                   const float *targets, int n, int total_n, int *correct,
                   float *g);

#endif
