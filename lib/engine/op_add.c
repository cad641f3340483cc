/*
 * op_add.c — the sum of two outputs of the same shape: the join of a
 * residual block (its input, or its projection, plus its branch); a row
 * of nn_ops (nn_int.h). The input is the previous layer (or spec.in),
 * the other summand layer i - spec.skip.
 */
#include "nn_int.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <string.h>

static int
shape(const nn_net *net, struct layer *l)
{
	if (l->src2 < 0)
		return -1;
	const struct layer *o = &net->l[l->src2];
	if (o->oh != l->ih || o->ow != l->iw || o->oc != l->ic)
		return -1;
	l->oh = l->ih, l->ow = l->iw, l->oc = l->ic;
	return 0;
}

/* y may be x's buffer (in place, nn_plan.c): no restrict on them */
NN_SIMD static void
fwd(nn_ctx *c, const struct layer *l, int i, const float *x, int n, int train,
    struct nn_rng *rng)
{
	(void)train, (void)rng;
	const float *o = c->act[l->src2];
	float *y = c->act[i];
	size_t len = (size_t)n * osize(l);
	for (size_t j = 0; j < len; j++)
		y[j] = x[j] + o[j];
}

static void
bwd(nn_ctx *c, const struct layer *l, int i, const float *x, float *dx, int n)
{
	(void)x;
	size_t len = (size_t)n * osize(l);
	const float *dy = c->gact[i];
	if (dx)
		memcpy(dx, dy, len * sizeof(float));
	if (l->acc2)
		nn_addf(c->gact[l->src2], dy, len);
	else
		memcpy(c->gact[l->src2], dy, len * sizeof(float));
}

static double
flops(const struct layer *l)
{
	return (double)osize(l);
}

const struct nn_op nn_op_add = {
    .name = "add",
    .fields = NN_F_SKIP,
    .inplace = 1,
    .shape = shape,
    .fwd = fwd,
    .bwd = bwd,
    .flops = flops,
};
