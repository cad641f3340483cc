/*
 * nn.c — layers, forward and backward passes; see nn.h.
 *
 * Tensors are NHWC: a convolution over a whole batch is then ONE im2col
 * matrix [n*oh*ow, k*k*ic] times ONE weight matrix [k*k*ic, oc], and its
 * result is already the next layer's NHWC input; flattening is free.
 */
#include "nn.h"
#include "nn_int.h"

/* The elementwise loops must vectorise; -O2 of GCC 12 mostly does not. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * The elementwise loops (pooling, ReLU, im2col, bias) get AVX-512 and AVX2
 * copies chosen at load time; the build's baseline is plain x86-64 (SSE2).
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NN_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_SIMD
#endif

static double
now(void)
{
	struct timespec ts;
	/* CPU time of this thread: a profile that holds on a busy machine */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void
nn_ctx_accumulate(nn_ctx *c, int on)
{
	c->accumulate = on;
}

void
nn_ctx_timing(nn_ctx *c, int on)
{
	c->timing = on;
	memset(c->tf, 0, sizeof(double) * (size_t)c->net->nl);
	memset(c->tb, 0, sizeof(double) * (size_t)c->net->nl);
}

void
nn_ctx_layer_seconds(const nn_ctx *c, int i, double *fwd, double *bwd)
{
	*fwd = c->tf[i];
	*bwd = c->tb[i];
}

static const char *const kind_names[NN_KIND__MAX] = {
    [NN_DENSE] = "dense",     [NN_CONV] = "conv",
    [NN_MAXPOOL] = "maxpool", [NN_RELU] = "relu",
    [NN_SIGMOID] = "sigmoid", [NN_DROPOUT] = "dropout",
    [NN_FLATTEN] = "flatten",
};

const char *
nn_kind_name(enum nn_kind k)
{
	return (unsigned)k < NN_KIND__MAX ? kind_names[k] : NULL;
}

int
nn_kind_from_name(const char *s)
{
	for (int i = 0; i < NN_KIND__MAX; i++)
		if (strcmp(s, kind_names[i]) == 0)
			return i;
	return -1;
}

/* Layer sizes are bounded so that every count below fits an int. */
#define NN_MAX_DIM 65536
#define NN_MAX_ELEMS (1 << 26)

nn_net *
nn_new(int h, int w, int c, const struct nn_spec *specs, int nspecs,
       enum nn_loss loss, char *err, size_t errlen)
{
	return nn_new_limited(h, w, c, specs, nspecs, loss, NN_MAX_PARAMS, err,
	                      errlen);
}

nn_net *
nn_new_limited(int h, int w, int c, const struct nn_spec *specs, int nspecs,
               enum nn_loss loss, size_t max_params, char *err, size_t errlen)
{
	if (h < 1 || w < 1 || c < 1 || h > NN_MAX_DIM || w > NN_MAX_DIM ||
	    c > NN_MAX_DIM || (long)h * w * c > NN_MAX_ELEMS) {
		snprintf(err, errlen, "bad input shape %dx%dx%d", w, h, c);
		return NULL;
	}
	if (nspecs < 1 || nspecs > 256 || (unsigned)loss >= NN_LOSS__MAX) {
		snprintf(err, errlen, "bad layer count %d or loss", nspecs);
		return NULL;
	}
	nn_net *net = xcalloc(1, sizeof(*net));
	net->l = xcalloc((size_t)nspecs, sizeof(*net->l));
	net->nl = nspecs;
	net->loss = loss;
	net->in_size = h * w * c;
	size_t np = 0;
	for (int i = 0; i < nspecs; i++) {
		struct layer *l = &net->l[i];
		l->s = specs[i];
		l->ih = h, l->iw = w, l->ic = c;
		switch (l->s.kind) {
		case NN_DENSE:
			if (l->s.out < 1 || l->s.out > NN_MAX_DIM)
				goto bad;
			l->oh = l->ow = 1, l->oc = l->s.out;
			l->wn = isize(l) * (size_t)l->oc, l->bn = (size_t)l->oc;
			break;
		case NN_CONV: {
			int k = l->s.k, st = l->s.stride, p = l->s.pad;
			if (l->s.out < 1 || l->s.out > 4096 || k < 1 ||
			    k > 15 || st < 1 || st > 8 || p < 0 || p >= k)
				goto bad;
			if (h + 2 * p < k || w + 2 * p < k)
				goto bad;
			l->oh = (h + 2 * p - k) / st + 1;
			l->ow = (w + 2 * p - k) / st + 1;
			l->oc = l->s.out;
			l->wn = (size_t)k * k * c * l->oc, l->bn = l->oc;
			if ((long)l->oh * l->ow * k * k * c > NN_MAX_ELEMS)
				goto bad;
			break;
		}
		case NN_MAXPOOL:
			if (h < 2 || w < 2)
				goto bad;
			l->oh = h / 2, l->ow = w / 2, l->oc = c;
			break;
		case NN_DROPOUT:
			if (!(l->s.p >= 0.0f && l->s.p < 1.0f))
				goto bad;
			/* fall through */
		case NN_RELU:
		case NN_SIGMOID:
			l->oh = h, l->ow = w, l->oc = c;
			break;
		case NN_FLATTEN:
			l->oh = 1, l->ow = 1, l->oc = h * w * c;
			break;
		default:
			goto bad;
		}
		if (osize(l) > NN_MAX_ELEMS || l->wn > NN_MAX_ELEMS)
			goto bad;
		l->woff = np, np += l->wn;
		l->boff = np, np += l->bn;
		h = l->oh, w = l->ow, c = l->oc;
		continue;
	bad:
		snprintf(
		    err, errlen, "layer %d (%s) does not fit input %dx%dx%d", i,
		    nn_kind_name(l->s.kind) ? nn_kind_name(l->s.kind) : "?", w,
		    h, c);
		nn_free(net);
		return NULL;
	}
	for (int i = 1; i + 1 < nspecs; i++)
		if (net->l[i].s.kind == NN_RELU &&
		    net->l[i + 1].s.kind == NN_MAXPOOL)
			net->l[i].fused = net->l[i + 1].relu_after = 1;
	if (np > max_params) {
		snprintf(err, errlen, "%zu weights, more than %zu", np,
		         max_params);
		nn_free(net);
		return NULL;
	}
	net->np = np;
	net->params = xcalloc(np ? np : 1, sizeof(float));
	return net;
}

void
nn_free(nn_net *net)
{
	if (!net)
		return;
	free(net->l);
	free(net->params);
	free(net);
}

void
nn_init(nn_net *net, uint64_t seed)
{
	struct nn_rng r;
	nn_rng_seed(&r, seed);
	for (int i = 0; i < net->nl; i++) {
		struct layer *l = &net->l[i];
		if (!l->wn)
			continue;
		size_t fan_in = l->wn / (size_t)l->oc;
		/* He (2/fan_in) where a ReLU follows; LeCun (1/fan_in)
		 * elsewhere: before a sigmoid (which saturates with He's
		 * spread) and for the logits, where a big spread only makes
		 * the first steps overshoot. */
		int relu = i + 1 < net->nl && net->l[i + 1].s.kind == NN_RELU;
		float sd = sqrtf((relu ? 2.0f : 1.0f) / (float)fan_in);
		for (size_t j = 0; j < l->wn; j++)
			net->params[l->woff + j] = sd * nn_rng_normal(&r);
		memset(net->params + l->boff, 0, l->bn * sizeof(float));
	}
}

int
nn_nlayers(const nn_net *net)
{
	return net->nl;
}

const struct nn_spec *
nn_layer_spec(const nn_net *net, int i)
{
	return &net->l[i].s;
}

void
nn_layer_shape(const nn_net *net, int i, int *h, int *w, int *c)
{
	*h = net->l[i].oh, *w = net->l[i].ow, *c = net->l[i].oc;
}

enum nn_loss
nn_loss_kind(const nn_net *net)
{
	return net->loss;
}

int
nn_in_size(const nn_net *net)
{
	return net->in_size;
}

int
nn_out_size(const nn_net *net)
{
	return (int)osize(&net->l[net->nl - 1]);
}

size_t
nn_nparams(const nn_net *net)
{
	return net->np;
}

void
nn_layer_params(const nn_net *net, int i, size_t *woff, size_t *wn,
                size_t *boff, size_t *bn)
{
	const struct layer *l = &net->l[i];
	*woff = l->woff, *wn = l->wn, *boff = l->boff, *bn = l->bn;
}

float *
nn_params(nn_net *net)
{
	return net->params;
}

const float *
nn_params_c(const nn_net *net)
{
	return net->params;
}

double
nn_flops_per_sample(const nn_net *net)
{
	double f = 0;
	for (int i = 0; i < net->nl; i++) {
		const struct layer *l = &net->l[i];
		if (l->s.kind == NN_DENSE || l->s.kind == NN_CONV)
			f += 2.0 * (double)l->wn * l->oh * l->ow;
	}
	return f;
}

double
nn_train_flops_per_sample(const nn_net *net)
{
	double f = 0;
	int first = 1;
	for (int i = 0; i < net->nl; i++) {
		const struct layer *l = &net->l[i];
		if (l->s.kind == NN_DENSE || l->s.kind == NN_CONV) {
			f +=
			    (first ? 4.0 : 6.0) * (double)l->wn * l->oh * l->ow;
			first = 0;
		}
	}
	return f;
}

/* ---- context: one arena, carved at creation ---- */

static size_t
align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

/*
 * Two passes over the same plan: the first measures, the second carves.
 * Buffers are staggered by a few cache lines: equal-sized activations
 * would otherwise sit a multiple of 4 KiB apart, and a loop reading one
 * while writing another then stalls on 4K aliasing (measured: ReLU's
 * backward pass 20x slower).
 */
#define STAGGER 320
static void
ctx_plan(nn_ctx *c, char *base, size_t *off)
{
	const nn_net *net = c->net;
	size_t B = (size_t)c->maxbatch, dcol = 0;
#define TAKE(ptr, type, count)                                                 \
	do {                                                                   \
		size_t n_ = align64((size_t)(count) * sizeof(type)) + STAGGER; \
		if (base)                                                      \
			(ptr) = (type *)(void *)(base + *off);                 \
		*off += n_;                                                    \
	} while (0)
	for (int i = 0; i < net->nl; i++) {
		const struct layer *l = &net->l[i];
		if (l->fused)
			continue; /* aliases of layer i - 1's, see below */
		TAKE(c->act[i], float, B *osize(l));
		if (c->train)
			TAKE(c->gact[i], float, B *osize(l));
		if (l->s.kind == NN_CONV) {
			size_t m =
			    B * l->oh * l->ow * (size_t)l->s.k * l->s.k * l->ic;
			TAKE(c->col[i], float, m);
			if (c->train && i > 0 && m > dcol)
				dcol = m;
		}
		if (l->s.kind == NN_MAXPOOL && c->train)
			TAKE(c->idx[i], int32_t, B * osize(l));
		if (l->s.kind == NN_DROPOUT && c->train)
			TAKE(c->mask[i], float, B *osize(l));
	}
	if (dcol)
		TAKE(c->dcol, float, dcol);
	if (c->train)
		TAKE(c->grads, float, net->np ? net->np : 1);
#undef TAKE
}

nn_ctx *
nn_ctx_new(const nn_net *net, int maxbatch, int train)
{
	nn_ctx *c = xcalloc(1, sizeof(*c));
	c->net = net;
	c->maxbatch = maxbatch < 1 ? 1 : maxbatch;
	c->train = train;
	size_t nl = (size_t)net->nl;
	c->act = xcalloc(nl, sizeof(*c->act));
	c->gact = xcalloc(nl, sizeof(*c->gact));
	c->col = xcalloc(nl, sizeof(*c->col));
	c->idx = xcalloc(nl, sizeof(*c->idx));
	c->mask = xcalloc(nl, sizeof(*c->mask));
	c->tf = xcalloc(nl, sizeof(double));
	c->tb = xcalloc(nl, sizeof(double));
	size_t len = 0;
	ctx_plan(c, NULL, &len);
	if (posix_memalign((void **)&c->arena, 64, len ? len : 64) != 0)
		c->arena = NULL;
	if (!c->arena) {
		fprintf(stderr, "out of memory allocating %zu bytes\n", len);
		abort();
	}
	c->arena_len = len;
	len = 0;
	ctx_plan(c, c->arena, &len);
	for (int i = 1; i < net->nl; i++)
		if (net->l[i].fused) {
			c->act[i] = c->act[i - 1];
			c->gact[i] = c->gact[i - 1];
		}
	return c;
}

void
nn_ctx_free(nn_ctx *c)
{
	if (!c)
		return;
	free(c->arena);
	free(c->act);
	free(c->gact);
	free(c->col);
	free(c->idx);
	free(c->mask);
	free(c->tf);
	free(c->tb);
	free(c);
}

size_t
nn_ctx_bytes(const nn_ctx *c)
{
	return c->arena_len;
}

float *
nn_ctx_grads(nn_ctx *c)
{
	return c->grads;
}

/* ---- layers ---- */

/* GCC turns copyf's loop back into a call of memmove (loop distribution),
 * which for the 3 floats of a 1-channel row cost more than the product:
 * 8.5% of a 256-image inference went to memmove. Callers need the same
 * attribute, or GCC will not inline these into them. */
#if defined(__GNUC__) && !defined(__clang__)
#define NN_NO_MEMCPY                                                           \
	__attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NN_NO_MEMCPY
#endif

/* Copies n floats; for the few floats of a small-channel row a loop
 * beats a call to memcpy. */
NN_NO_MEMCPY static inline void
copyf(float *restrict d, const float *restrict s, int n)
{
	for (int j = 0; j < n; j++)
		d[j] = s[j];
}

NN_NO_MEMCPY static inline void
zerof(float *d, int n)
{
	for (int j = 0; j < n; j++)
		d[j] = 0.0f;
}

NN_SIMD NN_NO_MEMCPY static void
im2col(const struct layer *l, const float *x, int n, float *col)
{
	int k = l->s.k, st = l->s.stride, p = l->s.pad, ic = l->ic;
	int W = l->iw, H = l->ih, kc = k * ic;
	for (int b = 0; b < n; b++) {
		const float *xb = x + (size_t)b * isize(l);
		for (int oy = 0; oy < l->oh; oy++)
			for (int ox = 0; ox < l->ow; ox++) {
				int x0 = ox * st - p;
				for (int ky = 0; ky < k; ky++, col += kc) {
					int iy = oy * st - p + ky;
					if (iy < 0 || iy >= H) {
						zerof(col, kc);
						continue;
					}
					const float *row =
					    xb + (size_t)iy * W * ic;
					if (x0 >= 0 && x0 + k <= W) {
						/* the k pixels are adjacent */
						copyf(col, row + x0 * ic, kc);
						continue;
					}
					for (int kx = 0; kx < k; kx++) {
						int ix = x0 + kx;
						if (ix < 0 || ix >= W)
							zerof(col + kx * ic,
							      ic);
						else
							copyf(col + kx * ic,
							      row + ix * ic,
							      ic);
					}
				}
			}
	}
}

NN_SIMD static void
col2im(const struct layer *l, const float *col, int n, float *dx)
{
	int k = l->s.k, st = l->s.stride, p = l->s.pad, ic = l->ic;
	int W = l->iw, H = l->ih, kc = k * ic;
	memset(dx, 0, (size_t)n * isize(l) * sizeof(float));
	for (int b = 0; b < n; b++) {
		float *xb = dx + (size_t)b * isize(l);
		for (int oy = 0; oy < l->oh; oy++)
			for (int ox = 0; ox < l->ow; ox++) {
				int x0 = ox * st - p;
				for (int ky = 0; ky < k; ky++, col += kc) {
					int iy = oy * st - p + ky;
					if (iy < 0 || iy >= H)
						continue;
					float *row = xb + (size_t)iy * W * ic;
					if (x0 >= 0 && x0 + k <= W) {
						float *d = row + x0 * ic;
						for (int j = 0; j < kc; j++)
							d[j] += col[j];
						continue;
					}
					for (int kx = 0; kx < k; kx++) {
						int ix = x0 + kx;
						if (ix < 0 || ix >= W)
							continue;
						float *d = row + ix * ic;
						for (int j = 0; j < ic; j++)
							d[j] +=
							    col[kx * ic + j];
					}
				}
			}
	}
}

/* y[r][:] = b for every row: the bias, before the GEMM adds into it. */
NN_SIMD static void
fill_bias(float *restrict y, const float *restrict b, int rows, int cols)
{
	for (int r = 0; r < rows; r++, y += cols)
		for (int j = 0; j < cols; j++)
			y[j] = b[j];
}

static void
fwd_dense(nn_ctx *c, const struct layer *l, int i, const float *x, int n)
{
	const float *W = c->net->params + l->woff;
	float *y = c->act[i];
	int in = (int)isize(l), out = l->oc;
	fill_bias(y, c->net->params + l->boff, n, out);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, out, in, 1.0f,
	            x, in, W, out, 1.0f, y, out);
}

static void
fwd_conv(nn_ctx *c, const struct layer *l, int i, const float *x, int n)
{
	const float *W = c->net->params + l->woff;
	int M = n * l->oh * l->ow, K = l->s.k * l->s.k * l->ic, N = l->oc;
	im2col(l, x, n, c->col[i]);
	float *y = c->act[i];
	fill_bias(y, c->net->params + l->boff, M, N);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f,
	            c->col[i], K, W, N, 1.0f, y, N);
}

/* Branch-free max over the four inputs of each output: compares of
 * activations are coin flips to a branch predictor. Vectorises over
 * channels (NHWC keeps them adjacent). */
static void
pool_pixel(const float *restrict a, const float *restrict b,
           const float *restrict c, const float *restrict d, int C, int32_t oa,
           int32_t ob, int32_t oc, int32_t od, float floor, float *restrict y,
           int32_t *restrict idx)
{
	for (int ch = 0; ch < C; ch++) {
		float m = a[ch];
		int32_t k = oa + ch;
		k = b[ch] > m ? ob + ch : k;
		m = b[ch] > m ? b[ch] : m;
		k = c[ch] > m ? oc + ch : k;
		m = c[ch] > m ? c[ch] : m;
		k = d[ch] > m ? od + ch : k;
		m = d[ch] > m ? d[ch] : m;
		y[ch] = m > floor ? m : floor;
		if (idx)
			idx[ch] = k;
	}
}

NN_SIMD static void
fwd_pool(nn_ctx *c, const struct layer *l, int i, const float *x, int n)
{
	float *y = c->act[i];
	int32_t *idx = c->train ? c->idx[i] : NULL;
	int C = l->ic, W = l->iw;
	float floor = l->relu_after ? 0.0f : -INFINITY;
	for (int b = 0; b < n; b++) {
		const float *xb = x + (size_t)b * isize(l);
		int32_t base = (int32_t)((size_t)b * isize(l));
		for (int oy = 0; oy < l->oh; oy++)
			for (int ox = 0; ox < l->ow; ox++) {
				int32_t o0 = ((2 * oy) * W + 2 * ox) * C;
				int32_t o2 = o0 + W * C;
				pool_pixel(xb + o0, xb + o0 + C, xb + o2,
				           xb + o2 + C, C, base + o0,
				           base + o0 + C, base + o2,
				           base + o2 + C, floor, y, idx);
				y += C;
				if (idx)
					idx += C;
			}
	}
}

NN_SIMD void
nn_pointwise_fwd(const struct layer *l, const float *restrict x,
                 float *restrict y, float *restrict mask, size_t len, int train,
                 struct nn_rng *rng)
{
	switch (l->s.kind) {
	case NN_RELU:
		for (size_t j = 0; j < len; j++)
			y[j] = x[j] > 0.0f ? x[j] : 0.0f;
		break;
	case NN_SIGMOID:
		for (size_t j = 0; j < len; j++)
			y[j] = 1.0f / (1.0f + expf(-x[j]));
		break;
	case NN_DROPOUT:
		if (!train || l->s.p == 0.0f) {
			memcpy(y, x, len * sizeof(float));
			break;
		}
		if (!rng)
			abort(); /* training with dropout needs an rng */
		{
			float keep = 1.0f / (1.0f - l->s.p);
			for (size_t j = 0; j < len; j++) {
				mask[j] =
				    nn_rng_uniform(rng) < l->s.p ? 0.0f : keep;
				y[j] = x[j] * mask[j];
			}
		}
		break;
	default: /* NN_FLATTEN */
		memcpy(y, x, len * sizeof(float));
		break;
	}
}

/* Branch-free and vectorised (restrict): half the units are off, so a
 * branch here mispredicts half the time. */
NN_SIMD void
nn_pointwise_bwd(const struct layer *l, const float *restrict y,
                 const float *restrict dy, const float *restrict mask,
                 float *restrict dx, size_t len)
{
	switch (l->s.kind) {
	case NN_RELU:
		for (size_t j = 0; j < len; j++)
			dx[j] = dy[j] * (float)(y[j] > 0.0f);
		break;
	case NN_SIGMOID:
		for (size_t j = 0; j < len; j++)
			dx[j] = dy[j] * y[j] * (1.0f - y[j]);
		break;
	case NN_DROPOUT:
		if (l->s.p == 0.0f) {
			memcpy(dx, dy, len * sizeof(float));
			break;
		}
		for (size_t j = 0; j < len; j++)
			dx[j] = dy[j] * mask[j];
		break;
	default: /* NN_FLATTEN */
		memcpy(dx, dy, len * sizeof(float));
		break;
	}
}

const float *
nn_forward(nn_ctx *c, const float *x, int n, int train, struct nn_rng *rng)
{
	const nn_net *net = c->net;
	if (n > c->maxbatch)
		abort(); /* a programming error, not an input error */
	train = train && c->train;
	c->in = x;
	c->n = n;
	for (int i = 0; i < net->nl; i++) {
		const struct layer *l = &net->l[i];
		const float *in = i ? c->act[i - 1] : x;
		if (l->fused)
			continue; /* done by the pool after it */
		double t0 = c->timing ? now() : 0;
		switch (l->s.kind) {
		case NN_DENSE:
			fwd_dense(c, l, i, in, n);
			break;
		case NN_CONV:
			fwd_conv(c, l, i, in, n);
			break;
		case NN_MAXPOOL:
			fwd_pool(c, l, i, in, n);
			break;
		default:
			nn_pointwise_fwd(l, in, c->act[i], c->mask[i],
			                 (size_t)n * osize(l), train, rng);
			break;
		}
		if (c->timing)
			c->tf[i] += now() - t0;
	}
	return c->act[net->nl - 1];
}

static void
softmax_rows(float *y, int n, int k)
{
	for (int r = 0; r < n; r++, y += k) {
		float mx = y[0], s = 0.0f;
		for (int j = 1; j < k; j++)
			mx = y[j] > mx ? y[j] : mx;
		for (int j = 0; j < k; j++)
			s += (y[j] = expf(y[j] - mx));
		for (int j = 0; j < k; j++)
			y[j] /= s;
	}
}

const float *
nn_predict(nn_ctx *c, const float *x, int n)
{
	float *y = (float *)nn_forward(c, x, n, 0, NULL);
	if (c->net->loss == NN_LOSS_XENT)
		softmax_rows(y, n, nn_out_size(c->net));
	return y;
}

float
nn_loss_rows(const nn_net *net, const float *y, const uint16_t *labels,
             const float *targets, int n, int total_n, int *correct, float *g)
{
	int k = nn_out_size(net), ok = 0;
	double total = 0.0;
	if (net->loss == NN_LOSS_XENT) {
		for (int r = 0; r < n; r++, y += k) {
			int lab = labels[r] < k ? labels[r] : 0, am = 0;
			float mx = y[0], s = 0.0f;
			for (int j = 1; j < k; j++)
				if (y[j] > mx)
					mx = y[j], am = j;
			for (int j = 0; j < k; j++)
				s += expf(y[j] - mx);
			float ls = logf(s);
			total += (double)(ls - (y[lab] - mx));
			ok += am == lab;
			if (g) {
				float inv = 1.0f / (float)total_n;
				for (int j = 0; j < k; j++)
					g[j] = expf(y[j] - mx - ls) * inv;
				g[lab] -= inv;
				g += k;
			}
		}
		total /= n;
	} else {
		float sc = 2.0f / ((float)total_n * k);
		for (int r = 0; r < n; r++, y += k, targets += k) {
			int all = 1;
			for (int j = 0; j < k; j++) {
				float d = y[j] - targets[j];
				total += (double)d * d;
				all &= (y[j] >= 0.5f) == (targets[j] >= 0.5f);
				if (g)
					*g++ = sc * d;
			}
			ok += all;
		}
		total /= (double)n * k;
	}
	if (correct)
		*correct = ok;
	return n ? (float)total : 0.0f;
}

float
nn_loss(nn_ctx *c, const uint16_t *labels, const float *targets, int n,
        int *correct)
{
	return nn_loss_rows(c->net, c->act[c->net->nl - 1], labels, targets, n,
	                    n, correct, NULL);
}

static void
bwd_layer(nn_ctx *c, int i, int n)
{
	const nn_net *net = c->net;
	const struct layer *l = &net->l[i];
	const float *x = i ? c->act[i - 1] : c->in;
	const float *dy = c->gact[i], *y = c->act[i];
	float *dx = i ? c->gact[i - 1] : NULL;
	float *dW = c->grads + l->woff, *db = c->grads + l->boff;
	const float *W = net->params + l->woff;
	size_t len = (size_t)n * osize(l);
	switch (l->s.kind) {
	case NN_DENSE:
	case NN_CONV: {
		int M, K, N = l->oc;
		const float *a;
		if (l->s.kind == NN_DENSE)
			M = n, K = (int)isize(l), a = x;
		else
			M = n * l->oh * l->ow, K = l->s.k * l->s.k * l->ic,
			a = c->col[i];
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, M,
		            1.0f, a, K, dy, N, c->accumulate ? 1.0f : 0.0f, dW,
		            N);
		if (!c->accumulate)
			memset(db, 0, N * sizeof(float));
		for (int r = 0; r < M; r++)
			for (int j = 0; j < N; j++)
				db[j] += dy[(size_t)r * N + j];
		if (!dx)
			break;
		float *dst = l->s.kind == NN_DENSE ? dx : c->dcol;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, N,
		            1.0f, dy, N, W, N, 0.0f, dst, K);
		if (l->s.kind == NN_CONV)
			col2im(l, c->dcol, n, dx);
		break;
	}
	case NN_MAXPOOL:
		if (!dx)
			break;
		memset(dx, 0, (size_t)n * isize(l) * sizeof(float));
		if (l->relu_after)
			for (size_t j = 0; j < len; j++)
				dx[c->idx[i][j]] += y[j] > 0.0f ? dy[j] : 0.0f;
		else
			for (size_t j = 0; j < len; j++)
				dx[c->idx[i][j]] += dy[j];
		break;
	case NN_RELU:
		if (l->fused) /* fused: dx is dy, nothing to do */
			break;
		/* fall through */
	default:
		if (dx)
			nn_pointwise_bwd(l, y, dy, c->mask[i], dx, len);
		break;
	}
}

float
nn_loss_backward(nn_ctx *c, const uint16_t *labels, const float *targets, int n,
                 int *correct)
{
	return nn_loss_backward_part(c, labels, targets, n, n, correct);
}

float
nn_loss_backward_part(nn_ctx *c, const uint16_t *labels, const float *targets,
                      int n, int total_n, int *correct)
{
	const nn_net *net = c->net;
	if (!c->train || total_n < n)
		abort();
	float loss = nn_loss_rows(net, c->act[net->nl - 1], labels, targets, n,
	                          total_n, correct, c->gact[net->nl - 1]);
	for (int i = net->nl - 1; i >= 0; i--) {
		double t0 = c->timing ? now() : 0;
		bwd_layer(c, i, n);
		if (c->timing)
			c->tb[i] += now() - t0;
	}
	return loss;
}
