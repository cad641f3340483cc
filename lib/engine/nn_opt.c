/* nn_opt.c — SGD with momentum and Adam; see nn.h. */
#include "nn.h"
#include "nn_int.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
nn_opt_init(struct nn_opt *o, enum nn_opt_kind kind, const nn_net *net,
            float lr, float momentum, float weight_decay)
{
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->lr = lr;
	o->momentum = momentum;
	o->weight_decay = weight_decay;
	o->beta1 = 0.9f;
	o->beta2 = 0.999f;
	o->eps = 1e-8f;
	o->n = nn_nparams(net);
	o->m = xcalloc(o->n ? o->n : 1, sizeof(float));
	if (kind != NN_OPT_SGD)
		o->v = xcalloc(o->n ? o->n : 1, sizeof(float));
}

void
nn_opt_free(struct nn_opt *o)
{
	free(o->m);
	free(o->v);
	o->m = o->v = NULL;
}

size_t
nn_opt_state_len(const struct nn_opt *o)
{
	return o->kind != NN_OPT_SGD ? 2 * o->n : o->n;
}

/* AVX-512 / AVX2 copies chosen at load time (baseline build is SSE2). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NN_OPT_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_OPT_SIMD
#endif

/* The update of n params w with gradient g plus L2 decay wd * w (AdamW:
 * w shrinks by lr * wd * w first, PyTorch's order), and their state m
 * (and v). */
NN_OPT_SIMD static void
update(const struct nn_opt *o, float *restrict w, const float *restrict g,
       size_t n, float *restrict m, float *restrict v, float wd)
{
	float lr = o->lr, mu = o->momentum;
	if (o->kind == NN_OPT_SGD) {
		for (size_t j = 0; j < n; j++) {
			float gj = g[j] + wd * w[j];
			m[j] = mu * m[j] + gj;
			w[j] -= lr * m[j];
		}
		return;
	}
	float b1 = o->beta1, b2 = o->beta2, eps = o->eps;
	float ic1 = 1.0f / o->c1, ic2 = 1.0f / o->c2;
	if (o->kind == NN_OPT_ADAMW) {
		float shrink = 1.0f - lr * wd;
		for (size_t j = 0; j < n; j++) {
			w[j] *= shrink;
			m[j] = b1 * m[j] + (1.0f - b1) * g[j];
			v[j] = b2 * v[j] + (1.0f - b2) * g[j] * g[j];
			w[j] -= lr * (m[j] * ic1) / (sqrtf(v[j] * ic2) + eps);
		}
		return;
	}
	for (size_t j = 0; j < n; j++) {
		float gj = g[j] + wd * w[j];
		m[j] = b1 * m[j] + (1.0f - b1) * gj;
		v[j] = b2 * v[j] + (1.0f - b2) * gj * gj;
		w[j] -= lr * (m[j] * ic1) / (sqrtf(v[j] * ic2) + eps);
	}
}

/* gbuf = L2 decay wd * w plus the sum of gs[0..ng)[a..a+e), added in
 * array order */
NN_OPT_SIMD static void
sum_grads(float *restrict gbuf, const float *const *gs, int ng, size_t a,
          size_t e, const float *restrict w, float wd)
{
	const float *restrict g0 = gs[0] + a;
	for (size_t j = 0; j < e; j++)
		gbuf[j] = g0[j] + wd * w[a + j];
	for (int k = 1; k < ng; k++) {
		const float *restrict gk = gs[k] + a;
		for (size_t j = 0; j < e; j++)
			gbuf[j] += gk[j];
	}
}

/* State [lo, hi) moves towards the sum of what the passes left in its
 * gradient slots (BN: the batch statistics, weighted by share). */
static void
state_range(float *restrict w, const float *const *gs, int ng, size_t lo,
            size_t hi)
{
	float gbuf[256];
	for (size_t a = lo; a < hi; a += 256) {
		size_t e = hi - a < 256 ? hi - a : 256;
		sum_grads(gbuf, gs, ng, a, e, w, 0.0f);
		for (size_t j = 0; j < e; j++)
			w[a + j] = (1.0f - NN_BN_MOMENTUM) * w[a + j] +
			           NN_BN_MOMENTUM * gbuf[j];
	}
}

/* Updates params [lo, hi) with decay wd; g = sum of ng gradient arrays,
 * added in array order a few hundred at a time (one array: in place). */
NN_OPT_SIMD static void
step_range(struct nn_opt *o, float *restrict w, const float *const *gs, int ng,
           size_t lo, size_t hi, float wd)
{
	float *v = o->v;
	float gbuf[256];
	if (ng == 1) {
		update(o, w + lo, gs[0] + lo, hi - lo, o->m + lo,
		       v ? v + lo : NULL, wd);
		return;
	}
	for (size_t a = lo; a < hi; a += 256) {
		size_t e = hi - a < 256 ? hi - a : 256;
		/* gradients summed in a fixed order, plus L2 decay */
		int dw = o->kind == NN_OPT_ADAMW; /* decoupled: not in g */
		sum_grads(gbuf, gs, ng, a, e, w, dw ? 0.0f : wd);
		update(o, w + a, gbuf, e, o->m + a, v ? v + a : NULL,
		       dw ? wd : 0.0f);
	}
}

void
nn_opt_begin(struct nn_opt *o)
{
	o->t++;
	/* Bias corrections in double: pow of a float base drifts for big t. */
	o->c1 = (float)(1.0 - pow(o->beta1, (double)o->t));
	o->c2 = (float)(1.0 - pow(o->beta2, (double)o->t));
}

static void
clip(size_t *a, size_t *b, size_t lo, size_t hi)
{
	if (*a < lo)
		*a = lo;
	if (*b > hi)
		*b = hi;
}

void
nn_opt_step_part(struct nn_opt *o, nn_net *net, const float *const *grads,
                 int ngrads, size_t lo, size_t hi)
{
	float *w = nn_params(net);
	for (int i = 0; i < nn_nlayers(net); i++) {
		size_t woff, wn, boff, bn;
		nn_layer_params(net, i, &woff, &wn, &boff, &bn);
		size_t a = woff, b = woff + wn;
		clip(&a, &b, lo, hi);
		if (a < b)
			step_range(o, w, grads, ngrads, a, b, o->weight_decay);
		a = boff, b = boff + bn;
		clip(&a, &b, lo, hi);
		if (a < b)
			step_range(o, w, grads, ngrads, a, b, 0.0f);
		size_t soff, sn;
		nn_layer_state(net, i, &soff, &sn);
		a = soff, b = soff + sn;
		clip(&a, &b, lo, hi);
		if (a < b)
			state_range(w, grads, ngrads, a, b);
	}
}

void
nn_opt_step(struct nn_opt *o, nn_net *net, const float *grads)
{
	nn_opt_begin(o);
	nn_opt_step_part(o, net, &grads, 1, 0, nn_nparams(net));
}

float
nn_lr_cosine(float base, long step, long total, long warmup)
{
	if (warmup > 0 && step < warmup)
		return base * (float)(step + 1) / (float)warmup;
	long rest = total - warmup;
	if (rest <= 0)
		return base;
	double t = (double)(step - warmup) / (double)rest;
	if (t > 1.0)
		t = 1.0;
	return (float)(base * 0.5 * (1.0 + cos(M_PI * t)));
}
