/*
 * op_conv.c — 2-D convolution (k x k, stride, zero padding) as im2col and
 * one GEMM over the whole batch; a row of nn_ops (nn_int.h). Stride 2
 * halves the map (a ResNet stage's first block); k = 1 with stride 2 is
 * the projection of a residual shortcut.
 */
#include "nn_int.h"

/* The elementwise loops must vectorise; -O2 of GCC 12 mostly does not. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <cblas.h>
#include <string.h>

static int
shape(const nn_net *net, struct layer *l)
{
	(void)net;
	int k = l->s.k, st = l->s.stride, p = l->s.pad, h = l->ih, w = l->iw;
	if (l->s.out < 1 || l->s.out > 4096 || k < 1 || k > 15 || st < 1 ||
	    st > 8 || p < 0 || p >= k)
		return -1;
	if (h + 2 * p < k || w + 2 * p < k)
		return -1;
	l->oh = (h + 2 * p - k) / st + 1;
	l->ow = (w + 2 * p - k) / st + 1;
	l->oc = l->s.out;
	l->wn = (size_t)k * k * l->ic * l->oc, l->bn = (size_t)l->oc;
	if ((long)l->oh * l->ow * k * k * l->ic > NN_MAX_ELEMS)
		return -1;
	return 0;
}

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

static size_t
col_len(const struct layer *l, size_t B)
{
	return B * l->oh * l->ow * (size_t)l->s.k * l->s.k * l->ic;
}

/* A 1x1 convolution with stride 1 reads its input as the matrix. */
static int
pointwise(const struct layer *l)
{
	return l->s.k == 1 && l->s.stride == 1 && l->s.pad == 0;
}

int nn_conv_path = NN_CONV_AUTO;

/*
 * Which layers the direct kernels (conv_kern.c) run instead of im2col +
 * sgemm. RULE: those with 16, 32, 48 or 64 output channels. Measured by
 * bin/conv_paths (docs/engine.md has the table): direct was 1.2-3.3x
 * faster (forward + backward, batch 8, 1 thread) on every such shape
 * tried — the resnet's and the CNN's layers, 1x1 and 5x5/7x7 windows,
 * 1 to 256 input channels; the gap is widest where the product is
 * narrowest (N = 16: 3.3x). Other widths stay with OpenBLAS.
 */
int
nn_conv_is_direct(const struct layer *l)
{
	if (nn_conv_path == NN_CONV_GEMM)
		return 0;
	return nn_conv_direct_fits(l->oc);
}

/*
 * Which passes of a direct layer take Winograd (conv_wino.c): 3x3,
 * stride 1, pad 1 (d input also needs 16..64 input channels: it is the
 * forward over dy). RULE, from bin/conv_paths (docs/engine.md's table):
 * its transforms cost in proportion to ic + oc, its products save in
 * proportion to ic x oc, so every pass wins from ic x oc = 512 on (16 ->
 * 32 channels: forward 1.4x, dW 1.2x, d input 1.4x); 16 -> 16 stays
 * direct (forward 1.02-1.12x, dW 0.92-1.03x). dW also turns its sum
 * back once an image (16 x ic x oc floats), which a map of 7x7 (16
 * tiles) does not repay (0.72x): dW needs 14x14 or more.
 */
int
nn_conv_wino(const struct layer *l)
{
	if (!nn_conv_is_direct(l) || !nn_wino_fits(l) ||
	    nn_conv_path == NN_CONV_DIRECT)
		return 0;
	int dx = nn_conv_direct_fits(l->ic) ? NN_WINO_DX : 0;
	if (nn_conv_path == NN_CONV_WINO)
		return NN_WINO_FWD | NN_WINO_DW | dx;
	if ((long)l->ic * l->oc < 512)
		return 0;
	return NN_WINO_FWD | dx | (l->oh * l->ow >= 196 ? NN_WINO_DW : 0);
}

nn_net *
nn_conv_probe(int h, int w, int ic, int oc, int k, int st, int pad, char *err,
              size_t errlen)
{
	const struct nn_spec sp[] = {
	    {.kind = NN_RELU},
	    {.kind = NN_CONV, .out = oc, .k = k, .stride = st, .pad = pad}};
	return nn_new(h, w, ic, sp, 2, NN_LOSS_MSE, err, errlen);
}

static int
direct(const struct layer *l)
{
	return nn_conv_is_direct(l);
}

/*
 * How a direct layer makes d input: stride 1 with 16-64 input channels
 * as a direct convolution of dy (flipped weights); strided or wider,
 * scattered window by window into a padded map (any multiple of 16
 * input channels); else (1, 3, ... channels) dy W^T by sgemm and col2im.
 */
enum dx_way { DX_CONV, DX_SCATTER, DX_GEMM };

static enum dx_way
dx_way(const struct layer *l)
{
	if (l->s.stride == 1 && nn_conv_direct_fits(l->ic))
		return DX_CONV;
	return l->ic % 16 == 0 ? DX_SCATTER : DX_GEMM;
}

static size_t
up16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

/* The input, zero-padded (direct path). */
static size_t
pad_len(const struct layer *l, size_t B)
{
	int p = l->s.pad;
	return p ? B * (l->ih + 2 * p) * (l->iw + 2 * p) * (size_t)l->ic : 0;
}

/* d output padded by k - 1 - pad, and the turned weights (DX_CONV). */
static size_t
dypad_len(const struct layer *l, size_t B)
{
	int q = l->s.k - 1 - l->s.pad;
	return B * (l->oh + 2 * q) * (l->ow + 2 * q) * (size_t)l->oc + l->wn;
}

/* What the Winograd passes of l need of the scratch (d input: the
 * turned weights, then the forward's room). */
static size_t
wino_len(const struct layer *l, int train)
{
	int w = nn_conv_wino(l), dx = train && l->src >= 0;
	size_t f = w & NN_WINO_FWD ? nn_wino_scratch(l->ic, l->oc) : 0;
	if (train && (w & NN_WINO_DW) && nn_wino_scratch(l->ic, l->oc) > f)
		f = nn_wino_scratch(l->ic, l->oc);
	if (dx && (w & NN_WINO_DX) &&
	    up16(l->wn) + nn_wino_scratch(l->oc, l->ic) > f)
		f = up16(l->wn) + nn_wino_scratch(l->oc, l->ic);
	return f;
}

/*
 * The im2col matrix of a training context is kept per layer for the
 * backward pass while it is small (<= 512 KB an image: the Fashion-MNIST
 * CNN's), made again in the scratch all layers share when it is not (a
 * 64x64 resnet's 3x3 convs take 2.4 MB an image each; keeping them made
 * its contexts ~3x bigger). Making it again cost the small CNN 7%.
 */
static int
keep(const struct layer *l)
{
	return !direct(l) && !pointwise(l) &&
	       col_len(l, 1) <= ((size_t)128 << 10);
}

static size_t
aux(const struct layer *l, size_t B, int train)
{
	return train && keep(l) ? col_len(l, B) : 0;
}

/*
 * What a pass needs of the scratch all layers share. im2col: the matrix
 * when it is not kept, or its gradient when there is an input gradient
 * to make (the gradient of a matrix made again takes its place:
 * nn_gemm_bwd reads the matrix only before it writes the gradient).
 * Direct: the padded input, and in the same place what d input needs
 * (dW has read the input by then).
 */
static size_t
scratch(const struct layer *l, size_t B, int train)
{
	int dx = train && l->src >= 0;
	if (direct(l)) {
		/* the scatter's padded d input takes the padded input's
		 * place, with the turned weights after it; the others' room
		 * starts where the spent padded input did */
		size_t p = pad_len(l, B);
		size_t d[] = {[DX_CONV] = dypad_len(l, B),
		              [DX_SCATTER] = p + l->wn,
		              [DX_GEMM] = pointwise(l) ? 0 : col_len(l, B)};
		size_t need = dx && d[dx_way(l)] > p ? d[dx_way(l)] : p;
		size_t w = wino_len(l, train);
		return w > need ? w : need;
	}
	if (pointwise(l) || (train && keep(l) && !dx))
		return 0;
	return col_len(l, B);
}

/* Where the matrix of layer i goes. */
static float *
col_buf(nn_ctx *c, const struct layer *l, int i)
{
	return c->train && keep(l) ? c->aux[i] : c->scratch;
}

/* The direct kernels' view of l's input (n images); padded into buf
 * when l pads and buf is not NULL (geometry only). */
static const float *
geo_in(const struct layer *l, const float *x, int n, float *buf,
       struct nn_conv_geo *g)
{
	int p = l->s.pad;
	*g = (struct nn_conv_geo){n,     l->ih + 2 * p, l->iw + 2 * p,
	                          l->ic, l->s.k,        l->s.stride,
	                          l->oh, l->ow,         l->oc};
	if (!p || !buf)
		return x;
	nn_conv_pad(x, n, l->ih, l->iw, l->ic, p, buf);
	return buf;
}

/* The Winograd kernels' view of l (unpadded); of its d input pass
 * (dy in, the input's channels out) when dx. */
static const struct nn_conv_geo *
wino_geo(const struct layer *l, int n, int dx, struct nn_conv_geo *g)
{
	int ic = dx ? l->oc : l->ic, oc = dx ? l->ic : l->oc;
	*g = (struct nn_conv_geo){n, l->oh, l->ow, ic, 3, 1, l->oh, l->ow, oc};
	return g;
}

static void
fwd(nn_ctx *c, const struct layer *l, int i, const float *x, int n, int train,
    struct nn_rng *rng)
{
	(void)train, (void)rng;
	const float *W = c->net->params + l->woff;
	const float *bias = c->net->params + l->boff;
	float *y = c->act[i];
	if (direct(l)) {
		struct nn_conv_geo g;
		if (nn_conv_wino(l) & NN_WINO_FWD) {
			nn_wino_fwd(wino_geo(l, n, 0, &g), x, W, bias, y,
			            c->scratch);
			return;
		}
		const float *xp = geo_in(l, x, n, c->scratch, &g);
		if (nn_conv_pools(c->net, i))
			nn_pool_conv_fwd(c, i + 2, &g, xp, W, bias, n);
		else
			nn_conv_fwd_direct(&g, xp, W, bias, y);
		return;
	}
	int M = n * l->oh * l->ow, K = l->s.k * l->s.k * l->ic, N = l->oc;
	const float *a = x;
	if (!pointwise(l))
		im2col(l, x, n, (float *)(a = col_buf(c, l, i)));
	nn_fill_bias(y, bias, M, N);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a,
	            K, W, N, 1.0f, y, N);
}

/*
 * A net's first layer, a gray 3x3 conv on the direct path whose output
 * goes through a fused ReLU into a 2x2 max-pool of an even map (the
 * Fashion-MNIST CNN's conv1): its dW reads d output through the pool's
 * arg-max (conv_kern.c, AVX-512), and the pool writes no d input: it
 * wrote 1.6 MB of mostly zeros a 32-image chunk for dW to read back, and
 * the pool's backward plus the conv's took 0.17 ms of a 2.1 ms step
 * (bin/nn_profile cnn), 0.095 ms now. No d input is wanted of a first
 * layer, so nothing else reads it. The pool's buffers are intact then:
 * training keeps every output and aux, and the pool's d output is only
 * freed for layers before the conv (nn_plan.c). Same values, same sums:
 * the same bits (test_pool compares the two paths).
 */
int nn_conv_unpool = 1;

int
nn_conv_unpools(const nn_net *net, int i)
{
	const struct layer *l = &net->l[i];
	if (!nn_conv_unpool || !nn_conv_unpool_ok() || l->s.kind != NN_CONV ||
	    l->src >= 0 || i + 2 >= net->nl || !net->l[i + 1].fused ||
	    !direct(l) || (nn_conv_wino(l) & NN_WINO_DW))
		return 0;
	const struct layer *p = &net->l[i + 2];
	return l->ic == 1 && l->s.k == 3 && (l->oc == 16 || l->oc == 32) &&
	       p->src == i + 1 && p->relu_after && !(p->ih & 1) && !(p->iw & 1);
}

int
nn_conv_pools(const nn_net *net, int i)
{
	const struct layer *l = &net->l[i];
	struct nn_conv_geo g;
	geo_in(l, NULL, 1, NULL, &g);
	return nn_conv_unpools(net, i) && nn_conv_gray_ok(&g) &&
	       l->ow <= NN_POOL_CONV_W;
}

/* d input = dy (k-1-pad padded) convolved with the turned weights */
static void
dx_by_conv(const struct layer *l, const float *W, const float *dy, int n,
           float *buf, float *dx)
{
	int k = l->s.k, q = k - 1 - l->s.pad;
	float *wt = buf, *dyp = buf + l->wn;
	nn_conv_flip(W, k, l->ic, l->oc, wt);
	struct nn_conv_geo g = {n, l->oh + 2 * q, l->ow + 2 * q, l->oc, k,
	                        1, l->ih,         l->iw,         l->ic};
	if (q)
		nn_conv_pad(dy, n, l->oh, l->ow, l->oc, q, dyp);
	nn_conv_fwd_direct(&g, q ? dyp : dy, wt, NULL, dx);
}

static void
bwd_direct(nn_ctx *c, const struct layer *l, int i, const float *x, float *dx,
           int n)
{
	int M = n * l->oh * l->ow, K = l->s.k * l->s.k * l->ic, N = l->oc;
	const float *W = c->net->params + l->woff, *dy = c->gact[i];
	float *dW = c->grads + l->woff, *db = c->grads + l->boff;
	struct nn_conv_geo g;
	float *rest = c->scratch; /* the padded input is read by dW only */
	int wino = nn_conv_wino(l);
	if (!c->accumulate) {
		memset(dW, 0, sizeof(float) * l->wn);
		memset(db, 0, sizeof(float) * l->bn);
	}
	if (wino & NN_WINO_DW) {
		nn_wino_dw(wino_geo(l, n, 0, &g), x, dy, dW, db, c->scratch);
	} else {
		const float *xp = geo_in(l, x, n, c->scratch, &g);
		if (nn_conv_unpools(c->net, i)) {
			struct nn_conv_unpool pool = {
			    c->gact[i + 2], c->act[i + 2],
			    (const int32_t *)(const void *)c->aux[i + 2]};
			nn_conv_dw_unpool(&g, xp, &pool, dW, db);
		} else {
			nn_conv_dw_direct(&g, xp, dy, dW, db);
		}
	}
	if (!dx)
		return;
	if (wino & NN_WINO_DX) {
		nn_conv_flip(W, 3, l->ic, l->oc, rest);
		nn_wino_fwd(wino_geo(l, n, 1, &g), dy, rest, NULL, dx,
		            rest + up16(l->wn));
		return;
	}
	if (wino & NN_WINO_DW) /* the scatter reads g's geometry */
		geo_in(l, x, n, NULL, &g);
	switch (dx_way(l)) {
	case DX_CONV:
		dx_by_conv(l, W, dy, n, rest, dx);
		return;
	case DX_SCATTER: {
		/* the padded input is spent: its room takes the padded d */
		float *dxp = l->s.pad ? c->scratch : dx;
		float *wt = c->scratch + pad_len(l, (size_t)n);
		nn_conv_transpose(W, K, N, wt);
		nn_conv_dx_scatter(&g, dy, wt, dxp);
		if (l->s.pad)
			nn_conv_crop(dxp, n, l->ih, l->iw, l->ic, l->s.pad, dx);
		return;
	}
	case DX_GEMM:
		break;
	}
	float *dcol = pointwise(l) ? dx : rest;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, N, 1.0f, dy,
	            N, W, N, 0.0f, dcol, K);
	if (!pointwise(l))
		col2im(l, dcol, n, dx);
}

static void
bwd(nn_ctx *c, const struct layer *l, int i, const float *x, float *dx, int n)
{
	if (direct(l)) {
		bwd_direct(c, l, i, x, dx, n);
		return;
	}
	int M = n * l->oh * l->ow, K = l->s.k * l->s.k * l->ic;
	const float *a = x;
	float *dcol = dx;
	if (keep(l)) {
		a = c->aux[i], dcol = c->scratch; /* made by the forward */
	} else if (!pointwise(l)) {
		im2col(l, x, n, c->scratch);
		a = dcol = c->scratch;
	}
	nn_gemm_bwd(c, l, a, M, K, c->gact[i], dx ? dcol : NULL);
	if (dx && !pointwise(l))
		col2im(l, dcol, n, dx);
}

static double
flops(const struct layer *l)
{
	return 2.0 * (double)l->wn * l->oh * l->ow;
}

const struct nn_op nn_op_conv = {
    .name = "conv",
    .fields = NN_F_OUT | NN_F_K | NN_F_STRIDE | NN_F_PAD,
    .gemm = 1,
    .shape = shape,
    .aux = aux,
    .scratch = scratch,
    .fwd = fwd,
    .bwd = bwd,
    .flops = flops,
};
