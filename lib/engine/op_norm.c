/*
 * op_norm.c — batch normalisation over the channels (NHWC: every pixel of
 * every image is a row of C channels); a row of nn_ops (nn_int.h).
 *
 * Params: gamma then beta (the "bias" range: neither is weight-decayed);
 * state: the running mean then the running (unbiased) variance, which
 * inference uses. Training normalises with the batch's own statistics;
 * a batch split across threads normalises each thread's share apart
 * (like PyTorch's DataParallel), so the result depends on the thread
 * count but not on timing. The backward pass leaves each share's
 * statistics, weighted by its size, in the state's gradient slots; the
 * optimiser sums them in thread order and moves the running values
 * towards them (nn_opt.c), exactly once per step.
 */
#include "nn_int.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <math.h>
#include <string.h>

static int
shape(const nn_net *net, struct layer *l)
{
	(void)net;
	l->oh = l->ih, l->ow = l->iw, l->oc = l->ic;
	l->bn = 2 * (size_t)l->oc;
	l->sn = 2 * (size_t)l->oc;
	return 0;
}

/*
 * Per channel two double sums; then x-hat of every element; then per
 * channel: mean, 1/sd, var and the two sums of the backward pass. An
 * inference context keeps the scale and shift of each channel.
 */
struct bn_aux {
	double *s, *q;
	float *xh, *mean, *rs, *var, *sg, *sb;
};

static size_t
aux(const struct layer *l, size_t B, int train)
{
	size_t C = (size_t)l->oc;
	return train ? 4 * C + B * osize(l) + 5 * C : 2 * C;
}

static struct bn_aux
aux_of(const nn_ctx *c, const struct layer *l, int i)
{
	struct bn_aux a;
	size_t C = (size_t)l->oc;
	a.s = (double *)(void *)c->aux[i];
	a.q = a.s + C;
	a.xh = c->aux[i] + 4 * C;
	a.mean = a.xh + (size_t)c->maxbatch * osize(l);
	a.rs = a.mean + C;
	a.var = a.rs + C;
	a.sg = a.var + C;
	a.sb = a.sg + C;
	return a;
}

static void
init(nn_net *net, int i, struct nn_rng *r)
{
	(void)r;
	const struct layer *l = &net->l[i];
	float *p = net->params;
	for (int c = 0; c < l->oc; c++) {
		p[l->boff + c] = 1.0f;         /* gamma */
		p[l->boff + l->oc + c] = 0.0f; /* beta */
		p[l->soff + c] = 0.0f;         /* running mean */
		p[l->soff + l->oc + c] = 1.0f; /* running variance */
	}
}

NN_SIMD static void
fwd(nn_ctx *c, const struct layer *l, int i, const float *x, int n, int train,
    struct nn_rng *rng)
{
	(void)rng;
	const float *p = c->net->params;
	const float *gamma = p + l->boff, *beta = gamma + l->oc;
	int C = l->oc;
	size_t M = (size_t)n * l->oh * l->ow;
	float *y = c->act[i];
	if (!train) {
		const float *rm = p + l->soff, *rv = rm + C;
		float *sc = c->aux[i], *sh = sc + C;
		for (int ch = 0; ch < C; ch++) {
			sc[ch] = gamma[ch] / sqrtf(rv[ch] + NN_BN_EPS);
			sh[ch] = beta[ch] - rm[ch] * sc[ch];
		}
		for (size_t r = 0; r < M; r++, x += C, y += C)
			for (int ch = 0; ch < C; ch++)
				y[ch] = x[ch] * sc[ch] + sh[ch];
		return;
	}
	struct bn_aux a = aux_of(c, l, i);
	float *xh = a.xh, *mean = a.mean, *rs = a.rs, *var = a.var;
	double *s = a.s, *q = a.q;
	memset(s, 0, sizeof(double) * (size_t)C);
	memset(q, 0, sizeof(double) * (size_t)C);
	for (size_t r = 0; r < M; r++)
		for (int ch = 0; ch < C; ch++)
			s[ch] += x[r * C + ch];
	for (int ch = 0; ch < C; ch++)
		mean[ch] = (float)(s[ch] / (double)M);
	for (size_t r = 0; r < M; r++)
		for (int ch = 0; ch < C; ch++) {
			double d = x[r * C + ch] - mean[ch];
			q[ch] += d * d;
		}
	for (int ch = 0; ch < C; ch++) {
		double v = q[ch] / (double)M;
		rs[ch] = (float)(1.0 / sqrt(v + NN_BN_EPS));
		var[ch] = (float)(M > 1 ? q[ch] / (double)(M - 1) : v);
	}
	for (size_t r = 0; r < M; r++, x += C, y += C, xh += C)
		for (int ch = 0; ch < C; ch++) {
			xh[ch] = (x[ch] - mean[ch]) * rs[ch];
			y[ch] = xh[ch] * gamma[ch] + beta[ch];
		}
}

NN_SIMD static void
bwd(nn_ctx *c, const struct layer *l, int i, const float *x, float *dx, int n)
{
	(void)x;
	int C = l->oc;
	size_t M = (size_t)n * l->oh * l->ow;
	const float *gamma = c->net->params + l->boff;
	struct bn_aux a = aux_of(c, l, i);
	const float *xh = a.xh, *dy = c->gact[i];
	float *mean = a.mean, *rs = a.rs, *var = a.var, *sg = a.sg, *sb = a.sb;
	double *dg = a.s, *db = a.q;
	memset(dg, 0, sizeof(double) * (size_t)C);
	memset(db, 0, sizeof(double) * (size_t)C);
	for (size_t r = 0; r < M; r++)
		for (int ch = 0; ch < C; ch++) {
			dg[ch] += (double)dy[r * C + ch] * xh[r * C + ch];
			db[ch] += dy[r * C + ch];
		}
	float *gg = c->grads + l->boff, *gb = gg + C, *gs = c->grads + l->soff;
	float w = (float)n / (float)c->total_n;
	for (int ch = 0; ch < C; ch++) {
		sg[ch] = (float)dg[ch], sb[ch] = (float)db[ch];
		gg[ch] = (c->accumulate ? gg[ch] : 0.0f) + sg[ch];
		gb[ch] = (c->accumulate ? gb[ch] : 0.0f) + sb[ch];
		gs[ch] = (c->accumulate ? gs[ch] : 0.0f) + w * mean[ch];
		gs[C + ch] = (c->accumulate ? gs[C + ch] : 0.0f) + w * var[ch];
	}
	if (!dx)
		return;
	float invm = 1.0f / (float)M;
	for (size_t r = 0; r < M; r++, dy += C, xh += C, dx += C)
		for (int ch = 0; ch < C; ch++)
			dx[ch] = gamma[ch] * rs[ch] *
			         (dy[ch] - (sb[ch] + xh[ch] * sg[ch]) * invm);
}

static double
flops(const struct layer *l)
{
	return 2.0 * (double)osize(l);
}

const struct nn_op nn_op_bn = {
    .name = "bn",
    .coupled = 1,
    .shape = shape,
    .aux = aux,
    .init = init,
    .fwd = fwd,
    .bwd = bwd,
    .flops = flops,
};
