/*
 * op_act.c — the elementwise layers: ReLU, sigmoid, (inverted) dropout and
 * flatten (a no-op in NHWC, kept so the model file reads as built); rows
 * of nn_ops (nn_int.h). Their loops run on whole batches and on a team
 * thread's units of each row alike.
 */
#include "nn_int.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
same_shape(const nn_net *net, struct layer *l)
{
	(void)net;
	l->oh = l->ih, l->ow = l->iw, l->oc = l->ic;
	return 0;
}

static int
dropout_shape(const nn_net *net, struct layer *l)
{
	if (!(l->s.p >= 0.0f && l->s.p < 1.0f))
		return -1;
	return same_shape(net, l);
}

static int
flatten_shape(const nn_net *net, struct layer *l)
{
	(void)net;
	l->oh = 1, l->ow = 1, l->oc = l->ih * l->iw * l->ic;
	return 0;
}

static size_t
dropout_aux(const struct layer *l, size_t B, int train)
{
	return train ? B * osize(l) : 0;
}

/* x and y may be one buffer (in place, nn_plan.c): no restrict */
NN_SIMD static void
relu_fwd(const struct layer *l, const float *x, float *y, float *restrict mask,
         size_t len, int train, struct nn_rng *rng)
{
	(void)l, (void)mask, (void)train, (void)rng;
	for (size_t j = 0; j < len; j++)
		y[j] = x[j] > 0.0f ? x[j] : 0.0f;
}

/* Branch-free and vectorised (restrict): half the units are off, so a
 * branch here mispredicts half the time. */
NN_SIMD static void
relu_bwd(const struct layer *l, const float *restrict y,
         const float *restrict dy, const float *restrict mask,
         float *restrict dx, size_t len)
{
	(void)mask;
	if (l->fused) /* fused into the pool: dx is dy, nothing to do */
		return;
	for (size_t j = 0; j < len; j++)
		dx[j] = dy[j] * (float)(y[j] > 0.0f);
}

NN_SIMD static void
sigmoid_fwd(const struct layer *l, const float *restrict x, float *restrict y,
            float *restrict mask, size_t len, int train, struct nn_rng *rng)
{
	(void)l, (void)mask, (void)train, (void)rng;
	for (size_t j = 0; j < len; j++)
		y[j] = 1.0f / (1.0f + expf(-x[j]));
}

NN_SIMD static void
sigmoid_bwd(const struct layer *l, const float *restrict y,
            const float *restrict dy, const float *restrict mask,
            float *restrict dx, size_t len)
{
	(void)l, (void)mask;
	for (size_t j = 0; j < len; j++)
		dx[j] = dy[j] * y[j] * (1.0f - y[j]);
}

static void
copy_fwd(const struct layer *l, const float *x, float *y, float *mask,
         size_t len, int train, struct nn_rng *rng)
{
	(void)l, (void)mask, (void)train, (void)rng;
	memcpy(y, x, len * sizeof(float));
}

static void
copy_bwd(const struct layer *l, const float *y, const float *dy,
         const float *mask, float *dx, size_t len)
{
	(void)l, (void)y, (void)mask;
	memcpy(dx, dy, len * sizeof(float));
}

static void
dropout_fwd(const struct layer *l, const float *restrict x, float *restrict y,
            float *restrict mask, size_t len, int train, struct nn_rng *rng)
{
	if (!train || l->s.p == 0.0f) {
		memcpy(y, x, len * sizeof(float));
		return;
	}
	if (!rng)
		abort(); /* training with dropout needs an rng */
	float keep = 1.0f / (1.0f - l->s.p);
	for (size_t j = 0; j < len; j++) {
		mask[j] = nn_rng_uniform(rng) < l->s.p ? 0.0f : keep;
		y[j] = x[j] * mask[j];
	}
}

NN_SIMD static void
dropout_bwd(const struct layer *l, const float *restrict y,
            const float *restrict dy, const float *restrict mask,
            float *restrict dx, size_t len)
{
	(void)y;
	if (l->s.p == 0.0f) {
		memcpy(dx, dy, len * sizeof(float));
		return;
	}
	for (size_t j = 0; j < len; j++)
		dx[j] = dy[j] * mask[j];
}

#define POINTWISE                                                              \
	.fwd = nn_pw_layer_fwd, .bwd = nn_pw_layer_bwd,                        \
	.team_fwd = nn_team_pw_fwd, .team_bwd = nn_team_pw_bwd

const struct nn_op nn_op_relu = {
    .name = "relu",
    .inplace = 1,
    .bwd_out = 1,
    .shape = same_shape,
    .pw_fwd = relu_fwd,
    .pw_bwd = relu_bwd,
    POINTWISE,
};

const struct nn_op nn_op_sigmoid = {
    .name = "sigmoid",
    .bwd_out = 1,
    .shape = same_shape,
    .pw_fwd = sigmoid_fwd,
    .pw_bwd = sigmoid_bwd,
    POINTWISE,
};

const struct nn_op nn_op_dropout = {
    .name = "dropout",
    .fields = NN_F_P,
    .shape = dropout_shape,
    .aux = dropout_aux,
    .pw_fwd = dropout_fwd,
    .pw_bwd = dropout_bwd,
    POINTWISE,
};

const struct nn_op nn_op_flatten = {
    .name = "flatten",
    .shape = flatten_shape,
    .pw_fwd = copy_fwd,
    .pw_bwd = copy_bwd,
    .fwd = nn_pw_layer_fwd,
    .bwd = nn_pw_layer_bwd,
    .team_fwd = nn_team_view,
    .team_bwd = nn_team_view_bwd,
};
