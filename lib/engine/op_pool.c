/*
 * op_pool.c — 2x2 max-pool (with the ReLU before it fused in) and global
 * average pooling (h x w x c -> 1 x 1 x c, so a head does not grow with
 * the image); rows of nn_ops (nn_int.h).
 */
#include "nn_int.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Channels of a max-pool whose backward pass writes windows whole. */
#define NN_MAX_POOL_C 1024

static int
maxpool_shape(const nn_net *net, struct layer *l)
{
	(void)net;
	if (l->ih < 2 || l->iw < 2)
		return -1;
	l->oh = l->ih / 2, l->ow = l->iw / 2, l->oc = l->ic;
	return 0;
}

/* arg-max indices into the input, int32 in the float-sized slots */
static size_t
maxpool_aux(const struct layer *l, size_t B, int train)
{
	return train ? B * osize(l) : 0;
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

/*
 * C a multiple of 16 (the small CNNs' 16 and 32) on AVX-512: 16
 * channels a vector, the same compares in the same order, the same
 * bits. GCC left pool_pixel's loop over a runtime C with alias checks
 * and a scalar tail. These are target("avx512f") functions called when
 * the CPU has it, not clones: GCC 12 turns a vector-extension compare
 * into 16 scalar ones in target_clones functions and in inline helpers
 * (it lowers them for the baseline before the clone's target applies),
 * so the compares are macros in the functions' own bodies.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define POOL16 1
typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));
typedef float vfu __attribute__((vector_size(64), aligned(4), may_alias));
typedef int32_t viu __attribute__((vector_size(64), aligned(4), may_alias));
#define ldf(p) (*(const vfu *)(p))
#define ldi(p) (*(const viu *)(p))
#define stf(p, v) (*(vfu *)(p) = (v))
#define sti(p, v) (*(viu *)(p) = (v))
/* where mask: a, else b (floats, bit for bit) */
#define self(mask, a, b) ((vf)(((mask) & (vi)(a)) | (~(mask) & (vi)(b))))

static const vi iota = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

/* one input of the window: where v beats m, it and its index o */
#define POOL_TAKE(v, o)                                                        \
	do {                                                                   \
		vi gt_ = (v) > m;                                              \
		k = (gt_ & ((o) + iota)) | (~gt_ & k), m = self(gt_, v, m);    \
	} while (0)

/* One output row from input rows x0, x1 (2 oy and 2 oy + 1) whose first
 * floats have indices k0, k1 in the batch. */
static inline __attribute__((always_inline, target("avx512f"))) void
pool16_row(const float *x0, const float *x1, int ow, int C, int32_t k0,
           int32_t k1, float floor, float *y, int32_t *idx)
{
	vf f = {0};
	f += floor;
	for (int ox = 0; ox < ow; ox++, y += C) {
		for (int ch = 0; ch < C; ch += 16) {
			vf m = ldf(x0 + ch);
			vi k = k0 + ch + iota;
			POOL_TAKE(ldf(x0 + C + ch), k0 + C + ch);
			POOL_TAKE(ldf(x1 + ch), k1 + ch);
			POOL_TAKE(ldf(x1 + C + ch), k1 + C + ch);
			stf(y + ch, self(m > f, m, f));
			if (idx)
				sti(idx + ch, k);
		}
		x0 += 2 * C, x1 += 2 * C, k0 += 2 * C, k1 += 2 * C;
		if (idx)
			idx += C;
	}
}

__attribute__((target("avx512f"))) static void
pool16_fwd(const struct layer *l, const float *x, int n, float floor, float *y,
           int32_t *idx)
{
	int C = l->ic, W = l->iw;
	size_t orow = (size_t)l->ow * C;
	for (int b = 0; b < n; b++) {
		const float *xb = x + (size_t)b * isize(l);
		int32_t base = (int32_t)((size_t)b * isize(l));
		for (int oy = 0; oy < l->oh; oy++, y += orow) {
			int32_t o0 = 2 * oy * W * C;
			pool16_row(xb + o0, xb + o0 + W * C, l->ow, C,
			           base + o0, base + o0 + W * C, floor, y, idx);
			if (idx)
				idx += orow;
		}
	}
}

/*
 * A gray first conv (layer i - 2, nn_conv_pools) and this pool in one
 * pass: two rows of the conv's output at a time into rows (L1), pooled
 * from there. The conv's output is read by no one else (its backward
 * reads d output through the pool: nn_conv_unpools), so the 1.6 MB a
 * 32-image chunk that the pool read back is not written at all. The
 * pool's output and arg-max are those of the two passes, bit for bit.
 */
__attribute__((target("avx512f"))) static void
pool16_conv(nn_ctx *c, const struct layer *l, int i, const float *xp,
            const struct nn_conv_geo *g, const float *w, const float *bias,
            int n, int32_t *idx)
{
	float rows[2 * NN_POOL_CONV_W * 32];
	int C = l->ic, W = l->iw;
	size_t orow = (size_t)l->ow * C, in = (size_t)g->hp * g->wp;
	float *y = c->act[i];
	for (int b = 0; b < n; b++) {
		int32_t base = (int32_t)((size_t)b * isize(l));
		for (int oy = 0; oy < l->oh; oy++, y += orow) {
			int32_t o0 = 2 * oy * W * C;
			nn_conv_gray_rows(g, xp + b * in, w, bias, 2 * oy,
			                  2 * oy + 2, rows);
			pool16_row(rows, rows + W * C, l->ow, C, base + o0,
			           base + o0 + W * C, 0.0f, y, idx);
			if (idx)
				idx += orow;
		}
	}
}

/* maxpool_bwd's windows (relu: d output passes where y > 0), output row
 * by output row of the batch; the arg-max holds indices into dx. */
__attribute__((target("avx512f"))) static void
pool16_bwd(const struct layer *l, const float *y, const float *dy,
           const int32_t *idx, int n, float *dx)
{
	int C = l->ic, relu = l->relu_after;
	int32_t down = l->iw * C; /* the window's second row */
	for (size_t r = 0; r < (size_t)n * l->oh; r++) {
		int32_t q = (int32_t)((r / l->oh) * isize(l) +
		                      (r % l->oh) * 2 * (size_t)down);
		for (int ox = 0; ox < l->ow; ox++, q += 2 * C) {
			for (int ch = 0; ch < C; ch += 16) {
				vf g = ldf(dy + ch), z = {0};
				if (relu)
					g = self(ldf(y + ch) > z, g, z);
				vi k = ldi(idx + ch) - ch - iota;
				stf(dx + q + ch, self(k == q, g, z));
				stf(dx + q + C + ch, self(k == q + C, g, z));
				stf(dx + q + down + ch,
				    self(k == q + down, g, z));
				stf(dx + q + down + C + ch,
				    self(k == q + down + C, g, z));
			}
			y += C, dy += C, idx += C;
		}
	}
}

static int
pool16(const struct layer *l)
{
	return l->ic % 16 == 0 && __builtin_cpu_supports("avx512f");
}
void
nn_pool_conv_fwd(nn_ctx *c, int i, const struct nn_conv_geo *g, const float *xp,
                 const float *w, const float *bias, int n)
{
	int32_t *idx = c->train ? (int32_t *)(void *)c->aux[i] : NULL;
	pool16_conv(c, &c->net->l[i], i, xp, g, w, bias, n, idx);
}
#else
void
nn_pool_conv_fwd(nn_ctx *c, int i, const struct nn_conv_geo *g, const float *xp,
                 const float *w, const float *bias, int n)
{
	(void)c, (void)i, (void)g, (void)xp, (void)w, (void)bias, (void)n;
	abort(); /* nn_conv_pools said no */
}
#define POOL16 0
#define pool16(l) 0
#define pool16_fwd(l, x, n, floor, y, idx) (void)0
#define pool16_bwd(l, y, dy, idx, n, dx) (void)0
#endif

NN_SIMD static void
maxpool_fwd(nn_ctx *c, const struct layer *l, int i, const float *x, int n,
            int train, struct nn_rng *rng)
{
	(void)rng;
	if (l->relu_after && nn_conv_pools(c->net, l->src - 1))
		return; /* done with the conv's forward (pool16_conv) */
	float *y = c->act[i];
	int32_t *idx = train || c->train ? (int32_t *)(void *)c->aux[i] : NULL;
	int C = l->ic, W = l->iw;
	float floor = l->relu_after ? 0.0f : -INFINITY;
	if (pool16(l)) {
		pool16_fwd(l, x, n, floor, y, idx);
		return;
	}
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

/* d input of one output pixel's window: each of its four inputs gets
 * the gradient where it was the max, else 0 (per channel, branch-free:
 * every float of the window is written, no scatter). */
static void
unpool_pixel(const float *restrict g, const int32_t *restrict idx, int C,
             int32_t oa, int32_t ob, int32_t oc, int32_t od, float *restrict a,
             float *restrict b, float *restrict c, float *restrict d)
{
	for (int ch = 0; ch < C; ch++) {
		int32_t k = idx[ch];
		a[ch] = k == oa + ch ? g[ch] : 0.0f;
		b[ch] = k == ob + ch ? g[ch] : 0.0f;
		c[ch] = k == oc + ch ? g[ch] : 0.0f;
		d[ch] = k == od + ch ? g[ch] : 0.0f;
	}
}

/*
 * The windows do not overlap and cover the input but for an odd last
 * row or column, which gets no gradient. Writing every window whole
 * replaced a memset and a scalar scatter (8 % of a CNN step).
 */
NN_SIMD static void
maxpool_bwd(nn_ctx *c, const struct layer *l, int i, const float *x, float *dx,
            int n)
{
	(void)x;
	/* the conv before the ReLU reads our d output itself (op_conv.c) */
	if (!dx || (l->relu_after && nn_conv_unpools(c->net, l->src - 1)))
		return;
	const float *y = c->act[i], *dy = c->gact[i];
	const int32_t *idx = (const int32_t *)(const void *)c->aux[i];
	int C = l->ic, W = l->iw;
	float g[NN_MAX_POOL_C];
	if ((l->ih | l->iw) & 1 || C > NN_MAX_POOL_C) {
		size_t len = (size_t)n * osize(l);
		memset(dx, 0, (size_t)n * isize(l) * sizeof(float));
		if (C > NN_MAX_POOL_C) {
			for (size_t j = 0; j < len; j++)
				dx[idx[j]] += !l->relu_after || y[j] > 0.0f
				                  ? dy[j]
				                  : 0.0f;
			return;
		}
	}
	if (pool16(l)) {
		pool16_bwd(l, y, dy, idx, n, dx);
		return;
	}
	for (int b = 0; b < n; b++) {
		float *xb = dx + (size_t)b * isize(l);
		int32_t base = (int32_t)((size_t)b * isize(l));
		for (int oy = 0; oy < l->oh; oy++)
			for (int ox = 0; ox < l->ow; ox++) {
				int32_t o0 = ((2 * oy) * W + 2 * ox) * C;
				int32_t o2 = o0 + W * C;
				for (int ch = 0; ch < C; ch++)
					g[ch] = !l->relu_after || y[ch] > 0.0f
					            ? dy[ch]
					            : 0.0f;
				unpool_pixel(g, idx, C, base + o0,
				             base + o0 + C, base + o2,
				             base + o2 + C, xb + o0,
				             xb + o0 + C, xb + o2, xb + o2 + C);
				y += C, dy += C, idx += C;
			}
	}
}

const struct nn_op nn_op_maxpool = {
    .name = "maxpool",
    .bwd_out = 1,
    .shape = maxpool_shape,
    .aux = maxpool_aux,
    .fwd = maxpool_fwd,
    .bwd = maxpool_bwd,
};

static int
gap_shape(const nn_net *net, struct layer *l)
{
	(void)net;
	l->oh = l->ow = 1, l->oc = l->ic;
	return 0;
}

NN_SIMD static void
gap_fwd(nn_ctx *c, const struct layer *l, int i, const float *x, int n,
        int train, struct nn_rng *rng)
{
	(void)train, (void)rng;
	int C = l->ic, P = l->ih * l->iw;
	float inv = 1.0f / (float)P;
	for (int b = 0; b < n; b++) {
		float *y = c->act[i] + (size_t)b * C;
		const float *xb = x + (size_t)b * isize(l);
		memset(y, 0, sizeof(float) * (size_t)C);
		for (int p = 0; p < P; p++, xb += C)
			for (int ch = 0; ch < C; ch++)
				y[ch] += xb[ch];
		for (int ch = 0; ch < C; ch++)
			y[ch] *= inv;
	}
}

NN_SIMD static void
gap_bwd(nn_ctx *c, const struct layer *l, int i, const float *x, float *dx,
        int n)
{
	(void)x;
	if (!dx)
		return;
	int C = l->ic, P = l->ih * l->iw;
	float inv = 1.0f / (float)P;
	for (int b = 0; b < n; b++) {
		const float *dy = c->gact[i] + (size_t)b * C;
		float *d = dx + (size_t)b * isize(l);
		for (int p = 0; p < P; p++, d += C)
			for (int ch = 0; ch < C; ch++)
				d[ch] = dy[ch] * inv;
	}
}

static double
gap_flops(const struct layer *l)
{
	return (double)isize(l);
}

const struct nn_op nn_op_gap = {
    .name = "gap",
    .shape = gap_shape,
    .fwd = gap_fwd,
    .bwd = gap_bwd,
    .flops = gap_flops,
};
