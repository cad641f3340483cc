/*
 * conv_kern.c — direct convolution kernels for few output channels
 * (16, 32, 48 or 64), the fast path of op_conv.c.
 *
 * The im2col + sgemm path multiplies an M x K matrix (M = pixels, K =
 * k*k*ic) by a K x N one; with N = 16 OpenBLAS's kernel is starved (it
 * packs the tall matrix for a product that has 16 columns) and ran the
 * resnet's 3x3 convs at ~30 GFLOP/s of ~100 a core. Here the N output
 * channels of a pixel are NV vectors of 16 floats held in registers for
 * P pixels at once, and the input is read in place (NHWC, zero-padded
 * once into a copy so no pixel needs a bounds check): each weight row of
 * N floats is loaded once for P pixels, each input value is broadcast
 * once for NV vectors. No im2col matrix is made.
 *
 *   forward  y[m] = b + sum_t x(m, t) W[t]          (t over k*k*ic)
 *   dW       dW[t] += sum_m x(m, t) dy[m]           (register tile of
 *            T rows of dW x NV vectors, summed over one image's pixels;
 *            db += sum_m dy[m] with the first tile)
 *   dX       stride 1: the forward kernel over dy padded by k-1-p with
 *            the weights flipped and transposed (N in, ic out)
 *
 * The vectors are GCC vector extensions: one AVX-512 register, two AVX2
 * ones or four SSE ones, whichever the clone chosen at load time
 * (CONV_SIMD) has; the same code is the portable fallback. The order of
 * every sum is fixed by the shapes alone, so results are the same run to
 * run on one machine.
 */
#include "nn_int.h"

#include <stdlib.h>
#include <string.h>

#include "conv_vec.h"

#define PMAX 8  /* pixels of a forward tile, at most */
#define TMAX 16 /* rows of a dW tile, at most */

int
nn_conv_direct_fits(int oc)
{
	return oc % VL == 0 && oc <= 4 * VL;
}

void
nn_conv_pad(const float *x, int n, int h, int w, int c, int p, float *xp)
{
	int hp = h + 2 * p, wp = w + 2 * p;
	size_t row = (size_t)w * c, prow = (size_t)wp * c;
	for (int b = 0; b < n; b++) {
		float *d = xp + (size_t)b * hp * prow;
		const float *s = x + (size_t)b * h * row;
		memset(d, 0, sizeof(float) * p * prow);
		d += p * prow;
		for (int y = 0; y < h; y++, d += prow, s += row) {
			memset(d, 0, sizeof(float) * p * c);
			memcpy(d + (size_t)p * c, s, sizeof(float) * row);
			memset(d + (size_t)(p + w) * c, 0,
			       sizeof(float) * p * c);
		}
		memset(d, 0, sizeof(float) * p * prow);
	}
}

void
nn_conv_crop(const float *xp, int n, int h, int w, int c, int p, float *x)
{
	size_t row = (size_t)w * c, prow = (size_t)(w + 2 * p) * c;
	for (int b = 0; b < n; b++) {
		const float *s = xp + (size_t)b * (h + 2 * p) * prow +
		                 p * prow + (size_t)p * c;
		for (int y = 0; y < h; y++, s += prow, x += row)
			memcpy(x, s, sizeof(float) * row);
	}
}

void
nn_conv_flip(const float *w, int k, int ic, int oc, float *wt)
{
	int kk = k * k;
	for (int q = 0; q < kk; q++)
		for (int c = 0; c < ic; c++)
			for (int o = 0; o < oc; o++)
				wt[((size_t)(kk - 1 - q) * oc + o) * ic + c] =
				    w[((size_t)q * ic + c) * oc + o];
}

/*
 * P pixels x NV vectors of output channels: x[j] is pixel j's first
 * input (top left of its window in the padded map), rs the floats of a
 * padded row, kic = k * ic the floats of a window row.
 */
INLINE void
tile_fwd(const float *const *x, float *const *y, const int P, const int NV,
         int k, int kic, size_t rs, const float *w, const float *bias)
{
	const int N = NV * VL;
	vf acc[PMAX][4];
#pragma GCC unroll 16
	for (int j = 0; j < P; j++)
#pragma GCC unroll 4
		for (int v = 0; v < NV; v++)
			acc[j][v] = bias ? (vf)ld(bias + v * VL) : (vf){0};
	for (int ky = 0; ky < k; ky++) {
		const float *wk = w + (size_t)ky * kic * N;
		size_t off = ky * rs;
		for (int t = 0; t < kic; t++) {
			vf wv[4];
#pragma GCC unroll 4
			for (int v = 0; v < NV; v++)
				wv[v] = ld(wk + (size_t)t * N + v * VL);
#pragma GCC unroll 16
			for (int j = 0; j < P; j++) {
				float s = x[j][off + t];
#pragma GCC unroll 4
				for (int v = 0; v < NV; v++)
					acc[j][v] += wv[v] * s;
			}
		}
	}
#pragma GCC unroll 16
	for (int j = 0; j < P; j++)
#pragma GCC unroll 4
		for (int v = 0; v < NV; v++)
			st(y[j] + v * VL, acc[j][v]);
}

/*
 * One image: blocks of P output pixels in raster order (a block may
 * span rows); the last block is moved back to end at the last pixel and
 * computes a few pixels twice, to the same values, rather than running
 * a slower narrow tile.
 */
INLINE void
image_fwd(const struct nn_conv_geo *g, const float *xp, const float *w,
          const float *bias, float *y, const int P, const int NV)
{
	int total = g->oh * g->ow, kic = g->k * g->c;
	size_t rs = (size_t)g->wp * g->c;
	const float *x[PMAX];
	float *yo[PMAX];
	if (total < P) {
		for (int m = 0; m < total; m++) {
			const float *x1 = xp + (m / g->ow) * g->st * rs +
			                  (size_t)(m % g->ow) * g->st * g->c;
			float *y1 = y + (size_t)m * NV * VL;
			tile_fwd(&x1, &y1, 1, NV, g->k, kic, rs, w, bias);
		}
		return;
	}
	for (int m0 = 0; m0 < total; m0 += P) {
		int m = m0 + P > total ? total - P : m0;
		int oy = m / g->ow, ox = m % g->ow;
		for (int j = 0; j < P; j++) {
			x[j] = xp + (size_t)oy * g->st * rs +
			       (size_t)ox * g->st * g->c;
			yo[j] = y + (size_t)(m + j) * NV * VL;
			if (++ox == g->ow)
				ox = 0, oy++;
		}
		tile_fwd(x, yo, P, NV, g->k, kic, rs, w, bias);
	}
}

/* The pixels of a block: as many as leave registers for the weights
 * (32 vector registers with AVX-512). */
#define FWD_FN(NV, P)                                                          \
	static void fwd##NV(const struct nn_conv_geo *g, const float *xp,      \
	                    const float *w, const float *bias, float *y)       \
	{                                                                      \
		size_t in = (size_t)g->hp * g->wp * g->c,                      \
		       out = (size_t)g->oh * g->ow * NV * VL;                  \
		for (int b = 0; b < g->n; b++)                                 \
			image_fwd(g, xp + b * in, w, bias, y + b * out, P,     \
			          NV);                                         \
	}

/* clang-format off */
CONV_SIMD FWD_FN(1, 8)
CONV_SIMD FWD_FN(2, 6)
CONV_SIMD FWD_FN(3, 4)
CONV_SIMD FWD_FN(4, 4)

    /* clang-format on */

    /*
     * A 1-channel input (a gray first layer), 3 x 3 windows, stride 1: the
     * general tile reads a window row of only 3 floats per weight load and
     * keeps 8 pixel pointers in registers, and ran the Fashion-MNIST CNN's
     * first conv at about half the FMA peak. Here the 9 x NV weight vectors
     * stay in registers for the whole image and P adjacent pixels of one
     * output row are read from one row pointer (a last tile is moved back
     * to end at the row's end, as in image_fwd). Each sum has the general
     * tile's order (bias, then the taps in window order): the same bits.
     */
    INLINE void row_fwd_g(const float *x, size_t rs, const vf *wv, const vf *bv,
                          float *y, const int P, const int NV)
{
	vf acc[16][2];
#pragma GCC unroll 16
	for (int j = 0; j < P; j++)
#pragma GCC unroll 2
		for (int v = 0; v < NV; v++)
			acc[j][v] = bv[v];
#pragma GCC unroll 3
	for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
		for (int kx = 0; kx < 3; kx++)
#pragma GCC unroll 16
			for (int j = 0; j < P; j++) {
				float s = x[ky * rs + j + kx];
#pragma GCC unroll 2
				for (int v = 0; v < NV; v++)
					acc[j][v] +=
					    wv[(ky * 3 + kx) * NV + v] * s;
			}
#pragma GCC unroll 16
	for (int j = 0; j < P; j++)
#pragma GCC unroll 2
		for (int v = 0; v < NV; v++)
			st(y + (size_t)j * NV * VL + v * VL, acc[j][v]);
}

/* Rows oy0 .. oy1 - 1 of one image's output (xp: its padded input) into
 * y; and whole batches. */
#define GRAY_FN(NV, P)                                                         \
	CONV_SIMD static void gray_rows##NV(                                   \
	    const struct nn_conv_geo *g, const float *xp, const float *w,      \
	    const float *bias, int oy0, int oy1, float *y)                     \
	{                                                                      \
		vf wv[9 * NV], bv[NV];                                         \
		for (int t = 0; t < 9 * NV; t++)                               \
			wv[t] = ld(w + (size_t)t * VL);                        \
		for (int v = 0; v < NV; v++)                                   \
			bv[v] = bias ? (vf)ld(bias + v * VL) : (vf){0};        \
		size_t rs = (size_t)g->wp, N = NV * VL;                        \
		for (int oy = oy0; oy < oy1; oy++) {                           \
			const float *xr = xp + (size_t)oy * rs;                \
			float *yr = y + (size_t)(oy - oy0) * g->ow * N;        \
			for (int o = 0; o < g->ow; o += P) {                   \
				int s = o + P > g->ow ? g->ow - P : o;         \
				row_fwd_g(xr + s, rs, wv, bv,                  \
				          yr + (size_t)s * N, P, NV);          \
			}                                                      \
		}                                                              \
	}                                                                      \
	static void fwd_gray##NV(const struct nn_conv_geo *g, const float *xp, \
	                         const float *w, const float *bias, float *y)  \
	{                                                                      \
		size_t in = (size_t)g->hp * g->wp,                             \
		       out = (size_t)g->oh * g->ow * NV * VL;                  \
		for (int b = 0; b < g->n; b++)                                 \
			gray_rows##NV(g, xp + b * in, w, bias, 0, g->oh,       \
			              y + b * out);                            \
	}

/* P measured on 32 28x28 images (AVX-512, 1 thread): 16 channels,
 * P = 14 105 GFLOP/s (8: 93, 16 spills: 78; the general tile 64); 32
 * channels, P = 4 110 GFLOP/s (6: 107, the general tile 72). */
/* clang-format off */
GRAY_FN(1, 14)
GRAY_FN(2, 4)

/* Whether the gray kernel takes g: 16 or 32 channels, rows of P. */
static int
gray(const struct nn_conv_geo *g)
{
	return g->c == 1 && g->k == 3 && g->st == 1 &&
	       ((g->oc == 16 && g->ow >= 14) || (g->oc == 32 && g->ow >= 4));
}

int
nn_conv_gray_ok(const struct nn_conv_geo *g)
{
	return gray(g);
}

void
nn_conv_gray_rows(const struct nn_conv_geo *g, const float *xp,
                  const float *w, const float *bias, int oy0, int oy1,
                  float *y)
{
	(g->oc == 16 ? gray_rows1 : gray_rows2)(g, xp, w, bias, oy0, oy1, y);
}

void
nn_conv_fwd_direct(const struct nn_conv_geo *g, const float *xp,
                   const float *w, const float *bias, float *y)
{
	static void (*const fn[])(const struct nn_conv_geo *, const float *,
	                          const float *, const float *,
	                          float *) = {NULL, fwd1, fwd2, fwd3, fwd4};
	static void (*const gfn[])(const struct nn_conv_geo *, const float *,
	                           const float *, const float *,
	                           float *) = {NULL, fwd_gray1, fwd_gray2};
	(gray(g) ? gfn : fn)[g->oc / VL](g, xp, w, bias, y);
}
/* clang-format on */

/*
 * dW rows [t0, t0 + T) of window rows ky .. ky + KY - 1 (KY x T x NV
 * vectors in registers) summed over one image's pixels, added to dw
 * from row t0 + `from` of each window row on (a tile moved back to fit
 * computes rows an earlier tile added). With db (an image's first tile)
 * dy is also summed into db, from db's value on, pixel by pixel: the
 * vectors dy are in registers already, and the order is the one a
 * separate pass over the batch's rows had (db_sum: 1.3 % of the CNN's
 * step, reading dy from L3 again), so db has the same bits.
 */
INLINE void
tile_dw(const struct nn_conv_geo *g, const float *xp, const float *dy, int ky,
        int t0, int from, float *dw, float *db, const int KY, const int T,
        const int NV)
{
	const int N = NV * VL;
	int kic = g->k * g->c;
	size_t rs = (size_t)g->wp * g->c, step = (size_t)g->st * g->c;
	vf acc[TMAX][4], dbv[4];
#pragma GCC unroll 32
	for (int t = 0; t < KY * T; t++)
#pragma GCC unroll 4
		for (int v = 0; v < NV; v++)
			acc[t][v] = (vf){0};
#pragma GCC unroll 4
	for (int v = 0; v < NV; v++)
		dbv[v] = db ? (vf)ld(db + v * VL) : (vf){0};
	for (int oy = 0; oy < g->oh; oy++) {
		const float *x =
		    xp + ((size_t)oy * g->st + ky) * rs + (size_t)t0;
		const float *d = dy + (size_t)oy * g->ow * N;
		for (int ox = 0; ox < g->ow; ox++, x += step, d += N) {
			vf dv[4];
#pragma GCC unroll 4
			for (int v = 0; v < NV; v++)
				dv[v] = ld(d + v * VL);
			if (db)
#pragma GCC unroll 4
				for (int v = 0; v < NV; v++)
					dbv[v] += dv[v];
#pragma GCC unroll 4
			for (int r = 0; r < KY; r++)
#pragma GCC unroll 32
				for (int t = 0; t < T; t++)
#pragma GCC unroll 4
					for (int v = 0; v < NV; v++)
						acc[r * T + t][v] +=
						    dv[v] * x[r * rs + t];
		}
	}
	for (int v = 0; db && v < NV; v++)
		st(db + v * VL, dbv[v]);
	for (int r = 0; r < KY; r++) {
		float *o = dw + ((size_t)(ky + r) * kic + t0) * N;
		for (int t = from; t < T; t++)
			for (int v = 0; v < NV; v++)
				st(o + (size_t)t * N + v * VL,
				   ld(o + (size_t)t * N + v * VL) +
				       acc[r * T + t][v]);
	}
}

/*
 * A window row of kic floats in tiles of T; when kic is smaller (a
 * colour or gray first layer) in tiles of 4, or the whole 3 x 3 window
 * of a gray one: enough sums in flight to hide the FMA's latency.
 */
INLINE void
image_dw(const struct nn_conv_geo *g, const float *xp, const float *dy,
         float *dw, float *db, const int T, const int NV)
{
	int kic = g->k * g->c, tile = kic < T ? 4 : T;
	if (kic == 3 && g->k == 3 && NV <= 2) {
		tile_dw(g, xp, dy, 0, 0, 0, dw, db, 3, 3, NV);
		return;
	}
	for (int ky = 0; ky < g->k; ky++) {
		if (kic < 4) {
			for (int t = 0; t < kic; t++, db = NULL)
				tile_dw(g, xp, dy, ky, t, 0, dw, db, 1, 1, NV);
			continue;
		}
		for (int t0 = 0; t0 < kic; t0 += tile, db = NULL) {
			int s = t0 + tile > kic ? kic - tile : t0;
			if (tile == 4)
				tile_dw(g, xp, dy, ky, s, t0 - s, dw, db, 1, 4,
				        NV);
			else
				tile_dw(g, xp, dy, ky, s, t0 - s, dw, db, 1, T,
				        NV);
		}
	}
}

#define DW_FN(NV, T)                                                           \
	static void dw##NV(const struct nn_conv_geo *g, const float *xp,       \
	                   const float *dy, float *dw, float *db)              \
	{                                                                      \
		size_t in = (size_t)g->hp * g->wp * g->c,                      \
		       out = (size_t)g->oh * g->ow * NV * VL;                  \
		for (int b = 0; b < g->n; b++)                                 \
			image_dw(g, xp + b * in, dy + b * out, dw, db, T, NV); \
	}

/* clang-format off */
CONV_SIMD DW_FN(1, 16)
CONV_SIMD DW_FN(2, 8)
CONV_SIMD DW_FN(3, 6)
CONV_SIMD DW_FN(4, 4)

void
nn_conv_dw_direct(const struct nn_conv_geo *g, const float *xp,
                  const float *dy, float *dw, float *db)
{
	static void (*const fn[])(const struct nn_conv_geo *, const float *,
	                          const float *, float *,
	                          float *) = {NULL, dw1, dw2, dw3, dw4};
	fn[g->oc / VL](g, xp, dy, dw, db);
}
/* clang-format on */

/*
 * The gray 3x3 dW (tile_dw's whole-window tile, the same sums in the
 * same order) with d output read through the max-pool after the fused
 * ReLU (nn_conv_unpools): a pixel's vector is the pooled pixel's dy
 * where the pool's arg-max names this pixel's channel and the pool's
 * output is positive, else +0 — the bits maxpool_bwd wrote into a d
 * output buffer (1.6 MB for 32 28x28x16 images) that dW read back.
 *
 * AVX-512 only, and its own copy of the tile: GCC 12 turns a vector
 * extension's compare into 16 scalar ones in target_clones functions
 * and in inline functions without a target (it lowers them for the
 * baseline first), so these functions and their helper are
 * target("avx512f") and run when the CPU has it (nn_conv_unpool_ok).
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define AVX512 __attribute__((target("avx512f")))
typedef int32_t vi __attribute__((vector_size(64)));
typedef int32_t viu __attribute__((vector_size(64), aligned(4), may_alias));

static inline __attribute__((always_inline)) AVX512 void
tile_unpool(const struct nn_conv_geo *g, const float *xp,
            const struct nn_conv_unpool *p, int b, float *dw, float *db,
            const int NV)
{
	static const vi iota = {0, 1, 2,  3,  4,  5,  6,  7,
	                        8, 9, 10, 11, 12, 13, 14, 15};
	const int N = NV * VL;
	size_t rs = (size_t)g->wp, out = (size_t)g->oh * g->ow * N,
	       pout = out / 4;
	const float *pdy = p->dy + b * pout, *py = p->y + b * pout;
	const int32_t *pidx = p->idx + b * pout;
	int32_t base = (int32_t)(b * out);
	int pw = g->ow / 2;
	vf acc[9][2], dbv[2];
#pragma GCC unroll 9
	for (int t = 0; t < 9; t++)
#pragma GCC unroll 2
		for (int v = 0; v < NV; v++)
			acc[t][v] = (vf){0};
#pragma GCC unroll 2
	for (int v = 0; v < NV; v++)
		dbv[v] = ld(db + v * VL);
	for (int oy = 0; oy < g->oh; oy++) {
		const float *x = xp + (size_t)oy * g->st * rs;
		for (int ox = 0; ox < g->ow; ox++, x += g->st) {
			size_t q = ((size_t)(oy >> 1) * pw + (ox >> 1)) * N;
			int32_t at = base + (oy * g->ow + ox) * N;
			vf dv[2];
#pragma GCC unroll 2
			for (int v = 0; v < NV; v++) {
				vi hit = *(const viu *)(pidx + q + v * VL) ==
				         at + v * VL + iota;
				vi pos = (vf)ld(py + q + v * VL) > (vf){0};
				dv[v] = (vf)(hit & pos &
				             (vi)(vf)ld(pdy + q + v * VL));
				dbv[v] += dv[v];
			}
#pragma GCC unroll 3
			for (int r = 0; r < 3; r++)
#pragma GCC unroll 3
				for (int t = 0; t < 3; t++)
#pragma GCC unroll 2
					for (int v = 0; v < NV; v++)
						acc[r * 3 + t][v] +=
						    dv[v] * x[r * rs + t];
		}
	}
	for (int v = 0; v < NV; v++)
		st(db + v * VL, dbv[v]);
	for (int t = 0; t < 9; t++)
		for (int v = 0; v < NV; v++)
			st(dw + (size_t)t * N + v * VL,
			   ld(dw + (size_t)t * N + v * VL) + acc[t][v]);
}

#define UNPOOL_FN(NV)                                                          \
	AVX512 static void dw_unpool##NV(                                      \
	    const struct nn_conv_geo *g, const float *xp,                      \
	    const struct nn_conv_unpool *p, float *dw, float *db)              \
	{                                                                      \
		size_t in = (size_t)g->hp * g->wp;                             \
		for (int b = 0; b < g->n; b++)                                 \
			tile_unpool(g, xp + b * in, p, b, dw, db, NV);         \
	}
UNPOOL_FN(1)
UNPOOL_FN(2)

int
nn_conv_unpool_ok(void)
{
	return __builtin_cpu_supports("avx512f");
}

void
nn_conv_dw_unpool(const struct nn_conv_geo *g, const float *xp,
                  const struct nn_conv_unpool *pool, float *dw, float *db)
{
	(g->oc == 16 ? dw_unpool1 : dw_unpool2)(g, xp, pool, dw, db);
}
#else
int
nn_conv_unpool_ok(void)
{
	return 0;
}

void
nn_conv_dw_unpool(const struct nn_conv_geo *g, const float *xp,
                  const struct nn_conv_unpool *pool, float *dw, float *db)
{
	(void)g, (void)xp, (void)pool, (void)dw, (void)db;
	abort(); /* nn_conv_unpools said no */
}
#endif

void
nn_conv_transpose(const float *w, int K, int N, float *wt)
{
	for (int t = 0; t < K; t++)
		for (int o = 0; o < N; o++)
			wt[(size_t)o * K + t] = w[(size_t)t * N + o];
}

/*
 * d input of a strided layer, scattered: for P pixels of one output row
 * and window row ky, each vector of 16 of the window row's kic floats
 * of d padded input gets sum_n dy[m][n] W^T[n][t] added (kic a multiple
 * of 16). Windows of pixels fewer than k / st apart overlap, so a tile
 * takes every sg-th pixel (sg = ceil(k / st)) and its P windows are
 * apart; the pixels' order is fixed, so the sums are too.
 */
INLINE void
tile_dx(float *const *dst, const float *const *d, const float *wt, int N, int K,
        int kic, const int P)
{
	for (int tv = 0; tv < kic; tv += VL) {
		vf acc[PMAX];
#pragma GCC unroll 16
		for (int j = 0; j < P; j++)
			acc[j] = ld(dst[j] + tv);
		for (int n = 0; n < N; n++) {
			vf w = ld(wt + (size_t)n * K + tv);
#pragma GCC unroll 16
			for (int j = 0; j < P; j++)
				acc[j] += w * d[j][n];
		}
#pragma GCC unroll 16
		for (int j = 0; j < P; j++)
			st(dst[j] + tv, acc[j]);
	}
}

/* Pixels ox0, ox0 + sg, ... (P of them) of an output row into the
 * window row `row` of d padded input. */
INLINE void
run_dx(const struct nn_conv_geo *g, float *row, const float *dyrow,
       const float *wt, int ox0, int sg, const int P)
{
	int kic = g->k * g->c, K = kic * g->k;
	float *dst[PMAX];
	const float *d[PMAX];
	for (int j = 0; j < P; j++) {
		int ox = ox0 + j * sg;
		dst[j] = row + (size_t)ox * g->st * g->c;
		d[j] = dyrow + (size_t)ox * g->oc;
	}
	tile_dx(dst, d, wt, g->oc, K, kic, P);
}

CONV_SIMD static void
dx_scatter(const struct nn_conv_geo *g, const float *dy, const float *wt,
           float *dxp)
{
	int kic = g->k * g->c, sg = (g->k + g->st - 1) / g->st;
	size_t rs = (size_t)g->wp * g->c, in = (size_t)g->hp * rs,
	       out = (size_t)g->oh * g->ow * g->oc;
	memset(dxp, 0, sizeof(float) * in * g->n);
	for (int b = 0; b < g->n; b++)
		for (int oy = 0; oy < g->oh; oy++)
			for (int ky = 0; ky < g->k; ky++) {
				float *row = dxp + b * in +
				             ((size_t)oy * g->st + ky) * rs;
				const float *dyrow =
				    dy + b * out + (size_t)oy * g->ow * g->oc;
				/* wt's rows for window row ky */
				const float *w = wt + (size_t)ky * kic;
				for (int ph = 0; ph < sg && ph < g->ow; ph++) {
					int cnt = (g->ow - ph + sg - 1) / sg;
					int j = 0;
					for (; j + 8 <= cnt; j += 8)
						run_dx(g, row, dyrow, w,
						       ph + j * sg, sg, 8);
					if (j + 4 <= cnt)
						run_dx(g, row, dyrow, w,
						       ph + j * sg, sg, 4),
						    j += 4;
					for (; j < cnt; j++)
						run_dx(g, row, dyrow, w,
						       ph + j * sg, sg, 1);
				}
			}
}

void
nn_conv_dx_scatter(const struct nn_conv_geo *g, const float *dy,
                   const float *wt, float *dxp)
{
	dx_scatter(g, dy, wt, dxp);
}
