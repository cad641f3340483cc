/*
 * conv_wino.c — Winograd F(2x2, 3x3) for 3x3 convolutions of stride 1
 * and pad 1 with 16, 32, 48 or 64 output channels (NHWC), the layers
 * where the direct kernels (conv_kern.c) already run at the FMA units'
 * limit: fewer products is the only way past it.
 *
 * A 2x2 block of outputs ("tile") comes from the 4x4 window of input
 * around it: Y = A^T [ (G g G^T) (.) (B^T d B) ] A, 16 products per
 * channel pair instead of 36 (2.25x fewer). Per call:
 *
 *   U = G g G^T       the weights, 16 x ic x oc (they change every step)
 *   V = B^T d B       each tile's input, 16 x tiles x ic, for a block of
 *                     tiles that keeps V and M in L2
 *   M_e = V_e U_e     16 products (tiles x ic) (ic x oc), register tiles
 *                     of P tiles x NV vectors as in conv_kern.c
 *   Y = A^T M A       (+ bias) into the output; a tile past an odd edge
 *                     writes its outside pixels to a sink row
 *
 * The input is read unpadded: a window position outside the map points
 * at a row of zeros. dX is the same forward over dy with the weights
 * flipped and transposed (op_conv.c). dW is the exact gradient of the
 * same computation: dW = G^T [ sum over tiles (B^T d B) (.) (A dy A^T) ]
 * G, the sum over one image's tiles in the transformed domain, then
 * turned back and added to dW image by image (so a batch in two
 * accumulating chunks gives the whole batch's bits).
 *
 * Every sum's order depends on the shapes only: results are the same
 * bytes run to run and an image's output does not depend on the batch.
 * Rounding is larger than the direct path's (the transforms add and
 * halve before the products): tests/unit/test_conv.c bounds it.
 */
#include "nn_int.h"

#include <string.h>

#include "conv_vec.h"

#define PMAX 8  /* tiles of a product's register tile, at most */
#define TMAX 16 /* input channels of a dW register tile, at most */
/* floats of a forward block's transformed input and products (64 KB,
 * L2: 24 tiles of 16 -> 32 channels); dW's blocks are larger, so that
 * its sums over tiles are longer (a 14x14 map's 49 tiles in one), but
 * not past ~160 KB (at 256 KB, 32 -> 32 channels lost 20 %) */
#define BLOCK_FLOATS (16 << 10)
#define DW_BLOCK_FLOATS (40 << 10)

int
nn_wino_fits(const struct layer *l)
{
	return l->s.k == 3 && l->s.stride == 1 && l->s.pad == 1 &&
	       nn_conv_direct_fits(l->oc);
}

static size_t
up16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

/* Tiles a block: V and M of the block within BLOCK_FLOATS, a multiple
 * of every register tile's P (8, 6, 4: a block of 21 tiles in tiles of
 * 6 computed 3 of them twice). */
static int
block_tiles(int ic, int oc)
{
	int tb = BLOCK_FLOATS / (16 * (ic + oc)) / 24 * 24;
	return tb < 24 ? 24 : tb;
}

/* Tiles of a dW block, at most. */
static int
dw_block_tiles(int ic, int oc)
{
	int tb = DW_BLOCK_FLOATS / (16 * (ic + oc));
	return tb < 24 ? 24 : tb;
}

size_t
nn_wino_scratch(int ic, int oc)
{
	int f = block_tiles(ic, oc), d = dw_block_tiles(ic, oc);
	size_t tb = (size_t)(f > d ? f : d);
	return up16((size_t)16 * ic * oc) + up16((size_t)(ic > oc ? ic : oc)) +
	       up16((size_t)oc) + 16 * tb * (ic + oc);
}

/* Where the parts of the scratch are. */
struct room {
	float *u, *zero, *sink, *v, *m;
	int tb;
};

static struct room
rooms(float *s, int ic, int oc, int tb)
{
	struct room r;
	r.tb = tb;
	r.u = s;
	r.zero = r.u + up16((size_t)16 * ic * oc);
	r.sink = r.zero + up16((size_t)(ic > oc ? ic : oc));
	r.v = r.sink + up16((size_t)oc);
	r.m = r.v + (size_t)16 * r.tb * ic;
	memset(r.zero, 0, sizeof(float) * (ic > oc ? ic : oc));
	return r;
}

/* U[e][c][o] = (G g G^T)[e] of each (c, o); w is [ky][kx][c][o] (ic x oc
 * a multiple of VL: oc is). */
CONV_SIMD static void
weights(const float *w, int ic, int oc, float *restrict u)
{
	size_t co = (size_t)ic * oc;
	for (size_t q = 0; q < co; q += VL) {
		vf h[4][3];
		for (int kx = 0; kx < 3; kx++) {
			vf g0 = ld(w + kx * co + q),
			   g1 = ld(w + (3 + kx) * co + q),
			   g2 = ld(w + (6 + kx) * co + q);
			h[0][kx] = g0;
			h[1][kx] = 0.5f * (g0 + g1 + g2);
			h[2][kx] = 0.5f * (g0 - g1 + g2);
			h[3][kx] = g2;
		}
		for (int i = 0; i < 4; i++) {
			float *o = u + (size_t)i * 4 * co + q;
			st(o, h[i][0]);
			st(o + co, 0.5f * (h[i][0] + h[i][1] + h[i][2]));
			st(o + 2 * co, 0.5f * (h[i][0] - h[i][1] + h[i][2]));
			st(o + 3 * co, h[i][2]);
		}
	}
}

/* Tiles of an image: rows, columns, all (2x2 outputs each). */
struct tiles {
	int th, tw, per;
};

static struct tiles
tiles_of(const struct nn_conv_geo *g)
{
	struct tiles t = {(g->oh + 1) / 2, (g->ow + 1) / 2, 0};
	t.per = t.th * t.tw;
	return t;
}

/* A tile: image b, tile row ty, column tx; stepped in raster order
 * (no division a tile: they cost as much as its transform). */
struct at {
	int b, ty, tx;
};

static struct at
at_of(long q, struct tiles t)
{
	int r = (int)(q % t.per);
	return (struct at){(int)(q / t.per), r / t.tw, r % t.tw};
}

INLINE void
at_next(struct at *a, struct tiles t)
{
	if (++a->tx == t.tw) {
		a->tx = 0;
		if (++a->ty == t.th)
			a->ty = 0, a->b++;
	}
}

/*
 * V of tile a: v[e * es + c] for its 16 elements e. The 4x4 window
 * starts one pixel up and left of the tile (pad 1).
 */
INLINE void
in_tile(const struct nn_conv_geo *g, const float *x, const float *zero,
        struct at a, float *restrict v, size_t es)
{
	int ic = g->c, y0 = a.ty * 2 - 1, x0 = a.tx * 2 - 1;
	const float *img = x + (size_t)a.b * g->oh * g->ow * ic, *p[16];
	for (int i = 0; i < 4; i++) {
		int iy = y0 + i, in = iy >= 0 && iy < g->oh;
		for (int j = 0; j < 4; j++) {
			int ix = x0 + j;
			p[i * 4 + j] =
			    in && ix >= 0 && ix < g->ow
			        ? img + ((size_t)iy * g->ow + ix) * ic
			        : zero;
		}
	}
	for (int c = 0; c < ic; c += VL) {
		/* a channel count not a multiple of VL (1, 3) ends in a
		 * short vector, through a zeroed copy */
		int n = ic - c < VL ? ic - c : VL;
		vf d[16], s[4][4], o[16];
		for (int k = 0; k < 16; k++) {
			if (n == VL) {
				d[k] = ld(p[k] + c);
			} else {
				float tmp[VL] = {0};
				memcpy(tmp, p[k] + c, sizeof(float) * n);
				d[k] = ld(tmp);
			}
		}
		for (int j = 0; j < 4; j++) {
			s[0][j] = d[j] - d[8 + j];
			s[1][j] = d[4 + j] + d[8 + j];
			s[2][j] = d[8 + j] - d[4 + j];
			s[3][j] = d[4 + j] - d[12 + j];
		}
		for (int i = 0; i < 4; i++) {
			o[i * 4] = s[i][0] - s[i][2];
			o[i * 4 + 1] = s[i][1] + s[i][2];
			o[i * 4 + 2] = s[i][2] - s[i][1];
			o[i * 4 + 3] = s[i][1] - s[i][3];
		}
		for (int e = 0; e < 16; e++) {
			if (n == VL) {
				st(v + e * es + c, o[e]);
			} else {
				float tmp[VL];
				st(tmp, o[e]);
				memcpy(v + e * es + c, tmp, sizeof(float) * n);
			}
		}
	}
}

/* The 2x2 pixels of tile a in y (oc floats each); those past an odd
 * edge at other (a sink, or a row of zeros). */
INLINE void
tile_px(const struct nn_conv_geo *g, float *y, struct at a, float *other,
        float **p)
{
	int y0 = a.ty * 2, x0 = a.tx * 2;
	float *img = y + (size_t)a.b * g->oh * g->ow * g->oc;
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++)
			p[i * 2 + j] =
			    y0 + i < g->oh && x0 + j < g->ow
			        ? img + ((size_t)(y0 + i) * g->ow + x0 + j) *
			                    g->oc
			        : other;
}

/* Y = A^T M A (+ bias) of tile a; m[e * es + o]. */
INLINE void
out_tile(const struct nn_conv_geo *g, const float *m, size_t es,
         const float *bias, float *y, float *sink, struct at a)
{
	int oc = g->oc;
	float *p[4];
	tile_px(g, y, a, sink, p);
	for (int o = 0; o < oc; o += VL) {
		vf r0[4], r1[4], s[16];
		for (int k = 0; k < 16; k++)
			s[k] = ld(m + k * es + o);
		for (int j = 0; j < 4; j++) {
			r0[j] = s[j] + s[4 + j] + s[8 + j];
			r1[j] = s[4 + j] - s[8 + j] - s[12 + j];
		}
		vf b0 = bias ? (vf)ld(bias + o) : (vf){0};
		st(p[0] + o, b0 + (r0[0] + r0[1] + r0[2]));
		st(p[1] + o, b0 + (r0[1] - r0[2] - r0[3]));
		st(p[2] + o, b0 + (r1[0] + r1[1] + r1[2]));
		st(p[3] + o, b0 + (r1[1] - r1[2] - r1[3]));
	}
}

/* m[j] = v[j] U for P tiles (rows ic floats apart), NV vectors wide:
 * conv_kern.c's tile_fwd with a 1x1 window, but with rows a fixed
 * stride apart instead of P row pointers (through tile_fwd the CNN's
 * d input, 14x14x32 -> 16, took 8-20 % longer). */
INLINE void
tile_mul(const float *v, const float *u, float *m, int ic, const int P,
         const int NV)
{
	const int N = NV * VL;
	vf acc[PMAX][4];
#pragma GCC unroll 16
	for (int j = 0; j < P; j++)
#pragma GCC unroll 4
		for (int k = 0; k < NV; k++)
			acc[j][k] = (vf){0};
	for (int c = 0; c < ic; c++) {
		vf w[4];
#pragma GCC unroll 4
		for (int k = 0; k < NV; k++)
			w[k] = ld(u + (size_t)c * N + k * VL);
#pragma GCC unroll 16
		for (int j = 0; j < P; j++) {
			float s = v[(size_t)j * ic + c];
#pragma GCC unroll 4
			for (int k = 0; k < NV; k++)
				acc[j][k] += w[k] * s;
		}
	}
#pragma GCC unroll 16
	for (int j = 0; j < P; j++)
#pragma GCC unroll 4
		for (int k = 0; k < NV; k++)
			st(m + (size_t)j * N + k * VL, acc[j][k]);
}

/* M_e = V_e U_e for the nt tiles of a block; the last register tile
 * moves back to end at the last tile (recomputing a few, to the same
 * values). */
INLINE void
block_mul(const float *v, const float *u, float *m, int ic, int nt, const int P,
          const int NV)
{
	const int N = NV * VL;
	if (nt < P) {
		for (int t = 0; t < nt; t++)
			tile_mul(v + (size_t)t * ic, u, m + (size_t)t * N, ic,
			         1, NV);
		return;
	}
	for (int t0 = 0; t0 < nt; t0 += P) {
		int t = t0 + P > nt ? nt - P : t0;
		tile_mul(v + (size_t)t * ic, u, m + (size_t)t * N, ic, P, NV);
	}
}

/* The forward of g's n images: blocks of tiles over the whole batch (a
 * tile's values do not depend on its block). */
INLINE void
wino_fwd(const struct nn_conv_geo *g, const float *x, const float *bias,
         float *y, struct room r, const int P, const int NV)
{
	int ic = g->c, oc = NV * VL;
	struct tiles t = tiles_of(g);
	long total = (long)g->n * t.per;
	size_t ve = (size_t)r.tb * ic, me = (size_t)r.tb * oc;
	for (long t0 = 0; t0 < total; t0 += r.tb) {
		int nt = total - t0 < r.tb ? (int)(total - t0) : r.tb;
		struct at a = at_of(t0, t), a0 = a;
		for (int k = 0; k < nt; k++, at_next(&a, t))
			in_tile(g, x, r.zero, a, r.v + (size_t)k * ic, ve);
		for (int e = 0; e < 16; e++)
			block_mul(r.v + e * ve, r.u + (size_t)e * ic * oc,
			          r.m + e * me, ic, nt, P, NV);
		for (int k = 0; k < nt; k++, at_next(&a0, t))
			out_tile(g, r.m + (size_t)k * oc, me, bias, y, r.sink,
			         a0);
	}
}

#define FWD_FN(NV, P)                                                          \
	static void fwd##NV(const struct nn_conv_geo *g, const float *x,       \
	                    const float *bias, float *y, struct room r)        \
	{                                                                      \
		wino_fwd(g, x, bias, y, r, P, NV);                             \
	}

/* clang-format off */
CONV_SIMD FWD_FN(1, 8)
CONV_SIMD FWD_FN(2, 6)
CONV_SIMD FWD_FN(3, 4)
CONV_SIMD FWD_FN(4, 4)

void
nn_wino_fwd(const struct nn_conv_geo *g, const float *x, const float *w,
            const float *bias, float *y, float *scratch)
{
	static void (*const fn[])(const struct nn_conv_geo *, const float *,
	                          const float *, float *,
	                          struct room) = {NULL, fwd1, fwd2, fwd3, fwd4};
	struct room r = rooms(scratch, g->c, g->oc, block_tiles(g->c, g->oc));
	weights(w, g->c, g->oc, r.u);
	fn[g->oc / VL](g, x, bias, y, r);
}
/* clang-format on */

/* A dy A^T of tile a into q[e * es + o]; outputs past an odd edge
 * count as 0 (they are not outputs). */
INLINE void
dm_tile(const struct nn_conv_geo *g, const float *dy, float *zero, struct at a,
        float *restrict q, size_t es)
{
	int oc = g->oc;
	float *p[4];
	tile_px(g, (float *)dy, a, zero, p); /* (read only) */
	for (int o = 0; o < oc; o += VL) {
		vf u[2][2] = {{ld(p[0] + o), ld(p[1] + o)},
		              {ld(p[2] + o), ld(p[3] + o)}};
		vf s[4][2];
		for (int j = 0; j < 2; j++) {
			s[0][j] = u[0][j];
			s[1][j] = u[0][j] + u[1][j];
			s[2][j] = u[0][j] - u[1][j];
			s[3][j] = -u[1][j];
		}
		for (int i = 0; i < 4; i++) {
			float *d = q + (size_t)i * 4 * es + o;
			st(d, s[i][0]);
			st(d + es, s[i][0] + s[i][1]);
			st(d + 2 * es, s[i][0] - s[i][1]);
			st(d + 3 * es, -s[i][1]);
		}
	}
}

/*
 * du[c][o] += sum over nt tiles of v[t][c] q[t][o], for input channels
 * c0 .. c0 + T - 1, added from row `from` on (a tile moved back to fit
 * computes rows an earlier one added).
 */
INLINE void
tile_dw(const float *v, const float *q, float *du, int ic, int nt, int c0,
        int from, const int T, const int NV)
{
	const int N = NV * VL;
	vf acc[TMAX][4];
#pragma GCC unroll 16
	for (int i = 0; i < T; i++)
#pragma GCC unroll 4
		for (int k = 0; k < NV; k++)
			acc[i][k] = (vf){0};
	for (int t = 0; t < nt; t++) {
		vf d[4];
		const float *vt = v + (size_t)t * ic + c0;
#pragma GCC unroll 4
		for (int k = 0; k < NV; k++)
			d[k] = ld(q + (size_t)t * N + k * VL);
#pragma GCC unroll 16
		for (int i = 0; i < T; i++)
#pragma GCC unroll 4
			for (int k = 0; k < NV; k++)
				acc[i][k] += d[k] * vt[i];
	}
	for (int i = from; i < T; i++)
		for (int k = 0; k < NV; k++) {
			float *o = du + (size_t)(c0 + i) * N + k * VL;
			st(o, ld(o) + acc[i][k]);
		}
}

/* One element e's du over a block: rows in tiles of T (or 1). */
INLINE void
block_dw(const float *v, const float *q, float *du, int ic, int nt, const int T,
         const int NV)
{
	if (ic < T) {
		for (int c = 0; c < ic; c++)
			tile_dw(v, q, du, ic, nt, c, 0, 1, NV);
		return;
	}
	for (int c0 = 0; c0 < ic; c0 += T) {
		int s = c0 + T > ic ? ic - T : c0;
		tile_dw(v, q, du, ic, nt, s, c0 - s, T, NV);
	}
}

/* dw[ky][kx][c][o] += (G^T du G) of each (c, o). */
INLINE void
weights_back(const float *du, int ic, int oc, float *restrict dw)
{
	size_t co = (size_t)ic * oc;
	for (size_t q = 0; q < co; q += VL) {
		vf h[3][4];
		for (int j = 0; j < 4; j++) {
			vf u0 = ld(du + j * co + q),
			   u1 = ld(du + (4 + j) * co + q),
			   u2 = ld(du + (8 + j) * co + q),
			   u3 = ld(du + (12 + j) * co + q);
			h[0][j] = u0 + 0.5f * (u1 + u2);
			h[1][j] = 0.5f * (u1 - u2);
			h[2][j] = 0.5f * (u1 + u2) + u3;
		}
		for (int i = 0; i < 3; i++) {
			float *o = dw + (size_t)i * 3 * co + q;
			st(o, ld(o) + (h[i][0] + 0.5f * (h[i][1] + h[i][2])));
			st(o + co, ld(o + co) + 0.5f * (h[i][1] - h[i][2]));
			st(o + 2 * co,
			   ld(o + 2 * co) +
			       (0.5f * (h[i][1] + h[i][2]) + h[i][3]));
		}
	}
}

/* db += an image's dy summed pixel by pixel (nn_bias_grad's order). */
INLINE void
bias_sum(const float *dy, int m, float *db, const int NV)
{
	vf a[4];
	for (int k = 0; k < NV; k++)
		a[k] = ld(db + k * VL);
	for (int j = 0; j < m; j++, dy += NV * VL)
		for (int k = 0; k < NV; k++)
			a[k] += ld(dy + k * VL);
	for (int k = 0; k < NV; k++)
		st(db + k * VL, a[k]);
}

/* dW of g's n images, image by image: du (in r.u) summed over the
 * image's tiles block by block, then turned back into dw. */
INLINE void
wino_dw(const struct nn_conv_geo *g, const float *x, const float *dy, float *dw,
        float *db, struct room r, const int T, const int NV)
{
	int ic = g->c, oc = NV * VL, m = g->oh * g->ow;
	struct tiles t = tiles_of(g);
	size_t ve = (size_t)r.tb * ic, me = (size_t)r.tb * oc;
	/* an image's tiles in blocks of equal size (49: one; 256: 4) */
	int nb = (t.per + r.tb - 1) / r.tb, tb = (t.per + nb - 1) / nb;
	for (int b = 0; b < g->n; b++) {
		bias_sum(dy + (size_t)b * m * oc, m, db, NV);
		memset(r.u, 0, sizeof(float) * 16 * ic * oc);
		for (int t0 = 0; t0 < t.per; t0 += tb) {
			int nt = t.per - t0 < tb ? t.per - t0 : tb;
			struct at a = at_of((long)b * t.per + t0, t);
			for (int k = 0; k < nt; k++, at_next(&a, t)) {
				in_tile(g, x, r.zero, a, r.v + (size_t)k * ic,
				        ve);
				dm_tile(g, dy, r.zero, a, r.m + (size_t)k * oc,
				        me);
			}
			for (int e = 0; e < 16; e++)
				block_dw(r.v + e * ve, r.m + e * me,
				         r.u + (size_t)e * ic * oc, ic, nt, T,
				         NV);
		}
		weights_back(r.u, ic, oc, dw);
	}
}

#define DW_FN(NV, T)                                                           \
	static void dw##NV(const struct nn_conv_geo *g, const float *x,        \
	                   const float *dy, float *dw, float *db,              \
	                   struct room r)                                      \
	{                                                                      \
		wino_dw(g, x, dy, dw, db, r, T, NV);                           \
	}

/* clang-format off */
CONV_SIMD DW_FN(1, 16)
CONV_SIMD DW_FN(2, 8)
CONV_SIMD DW_FN(3, 6)
CONV_SIMD DW_FN(4, 4)

void
nn_wino_dw(const struct nn_conv_geo *g, const float *x, const float *dy,
           float *dw, float *db, float *scratch)
{
	static void (*const fn[])(const struct nn_conv_geo *, const float *,
	                          const float *, float *, float *,
	                          struct room) = {NULL, dw1, dw2, dw3, dw4};
	fn[g->oc / VL](g, x, dy, dw, db, rooms(scratch, g->c, g->oc, dw_block_tiles(g->c, g->oc)));
}
/* clang-format on */
