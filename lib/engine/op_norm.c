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
 * Per channel two double sums, then: mean, 1/sd, var and the two sums of
 * the backward pass. An inference context keeps the scale and shift of
 * each channel.
 *
 * x-hat is not kept: it took an output's worth of floats a BN layer (1.4
 * MB an image of the 64x64 resnet). The backward pass makes it again from
 * the input, (x - mean) * rs, the very floats of the forward pass, in the
 * scratch all layers share (no bigger for it: a conv's padded input is).
 */
struct bn_aux {
	double *s, *q;
	float *mean, *rs, *var, *sg, *sb;
};

static size_t
aux(const struct layer *l, size_t B, int train)
{
	(void)B;
	size_t C = (size_t)l->oc;
	return train ? 4 * C + 5 * C : 2 * C;
}

static size_t
scratch(const struct layer *l, size_t B, int train)
{
	return train ? B * osize(l) : 0;
}

static struct bn_aux
aux_of(const nn_ctx *c, const struct layer *l, int i)
{
	struct bn_aux a;
	size_t C = (size_t)l->oc;
	a.s = (double *)(void *)c->aux[i];
	a.q = a.s + C;
	a.mean = c->aux[i] + 4 * C;
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

/*
 * Per-channel sums over the M rows, in double, each channel's in row
 * order: SUM_X  s += u;  SUM_SQ  s += (u - v[ch])^2 (the difference in
 * float);  SUM_GRAD  s += u, s2 += u v.
 */
enum sum_kind { SUM_X, SUM_SQ, SUM_GRAD };

typedef double vd __attribute__((vector_size(64)));
typedef float vh __attribute__((vector_size(32), aligned(4), may_alias));
#define WIDEN(p) __builtin_convertvector(*(const vh *)(p), vd)

/* NB blocks of 8 channels held in registers for all rows (summed in
 * memory, each row's sums waited for the last row's stores). */
static inline __attribute__((always_inline)) void
sums_in_regs(enum sum_kind k, const float *u, const float *v, size_t M, int C,
             double *s, double *s2, const int NB)
{
	vd a[8], b[8];
	for (int j = 0; j < NB; j++)
		a[j] = b[j] = (vd){0};
	for (size_t r = 0; r < M; r++, u += C)
		for (int j = 0; j < NB; j++) {
			if (k == SUM_SQ) {
				vh d = *(const vh *)(u + 8 * j) -
				       *(const vh *)(v + 8 * j);
				vd w = __builtin_convertvector(d, vd);
				a[j] += w * w;
				continue;
			}
			a[j] += WIDEN(u + 8 * j);
			if (k == SUM_GRAD)
				b[j] +=
				    WIDEN(u + 8 * j) * WIDEN(v + r * C + 8 * j);
		}
	for (int j = 0; j < NB; j++)
		for (int e = 0; e < 8; e++) {
			s[8 * j + e] = a[j][e];
			if (k == SUM_GRAD)
				s2[8 * j + e] = b[j][e];
		}
}

NN_SIMD static void
chan_sums(enum sum_kind k, const float *u, const float *v, size_t M, int C,
          double *s, double *s2)
{
	switch (C) {
	case 8:
		sums_in_regs(k, u, v, M, C, s, s2, 1);
		return;
	case 16:
		sums_in_regs(k, u, v, M, C, s, s2, 2);
		return;
	case 32:
		sums_in_regs(k, u, v, M, C, s, s2, 4);
		return;
	case 64:
		sums_in_regs(k, u, v, M, C, s, s2, 8);
		return;
	}
	memset(s, 0, sizeof(double) * (size_t)C);
	if (s2)
		memset(s2, 0, sizeof(double) * (size_t)C);
	for (size_t r = 0; r < M; r++, u += C)
		for (int ch = 0; ch < C; ch++) {
			if (k == SUM_SQ) {
				double d = u[ch] - v[ch];
				s[ch] += d * d;
				continue;
			}
			s[ch] += u[ch];
			if (k == SUM_GRAD)
				s2[ch] += (double)u[ch] * v[r * C + ch];
		}
}

/*
 * The elementwise passes, apart so that their pointers are restrict:
 * with xh, y and the per-channel arrays all float *, GCC assumed they
 * might overlap and ran these loops one float at a time (60 % of the
 * resnet's BN time). The same operations in the same order.
 */
NN_SIMD static void
normalise(const float *restrict x, const float *restrict mean,
          const float *restrict rs, const float *restrict gamma,
          const float *restrict beta, size_t M, int C, float *restrict y)
{
	for (size_t r = 0; r < M; r++, x += C, y += C)
		for (int ch = 0; ch < C; ch++) {
			float xh = (x[ch] - mean[ch]) * rs[ch];
			y[ch] = xh * gamma[ch] + beta[ch];
		}
}

NN_SIMD static void
x_hat(const float *restrict x, const float *restrict mean,
      const float *restrict rs, size_t M, int C, float *restrict xh)
{
	for (size_t r = 0; r < M; r++, x += C, xh += C)
		for (int ch = 0; ch < C; ch++)
			xh[ch] = (x[ch] - mean[ch]) * rs[ch];
}

NN_SIMD static void
d_input(const float *restrict dy, const float *restrict xh,
        const float *restrict gamma, const float *restrict rs,
        const float *restrict sg, const float *restrict sb, size_t M, int C,
        float *restrict dx)
{
	float invm = 1.0f / (float)M;
	for (size_t r = 0; r < M; r++, dy += C, xh += C, dx += C)
		for (int ch = 0; ch < C; ch++)
			dx[ch] = gamma[ch] * rs[ch] *
			         (dy[ch] - (sb[ch] + xh[ch] * sg[ch]) * invm);
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
	float *mean = a.mean, *rs = a.rs, *var = a.var;
	double *s = a.s, *q = a.q;
	chan_sums(SUM_X, x, NULL, M, C, s, NULL);
	for (int ch = 0; ch < C; ch++)
		mean[ch] = (float)(s[ch] / (double)M);
	chan_sums(SUM_SQ, x, mean, M, C, q, NULL);
	for (int ch = 0; ch < C; ch++) {
		double v = q[ch] / (double)M;
		rs[ch] = (float)(1.0 / sqrt(v + NN_BN_EPS));
		var[ch] = (float)(M > 1 ? q[ch] / (double)(M - 1) : v);
	}
	normalise(x, mean, rs, gamma, beta, M, C, y);
}

NN_SIMD static void
bwd(nn_ctx *c, const struct layer *l, int i, const float *x, float *dx, int n)
{
	int C = l->oc;
	size_t M = (size_t)n * l->oh * l->ow;
	const float *gamma = c->net->params + l->boff;
	struct bn_aux a = aux_of(c, l, i);
	const float *dy = c->gact[i];
	float *mean = a.mean, *rs = a.rs, *var = a.var, *sg = a.sg, *sb = a.sb;
	float *xh = c->scratch;
	double *dg = a.s, *db = a.q;
	x_hat(x, mean, rs, M, C, xh);
	chan_sums(SUM_GRAD, dy, xh, M, C, db, dg);
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
	d_input(dy, xh, gamma, rs, sg, sb, M, C, dx);
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
    .scratch = scratch,
    .init = init,
    .fwd = fwd,
    .bwd = bwd,
    .flops = flops,
};
