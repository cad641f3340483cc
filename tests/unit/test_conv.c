/*
 * test_conv.c — the convolution layer's paths (direct kernels of
 * conv_kern.c, im2col + sgemm, Winograd F(2x2, 3x3) of conv_wino.c, and
 * the per-shape rule that picks one) against a plain C reference in
 * double, over a table of shapes: forward, dW, db and dX.
 *
 * Tolerance: |got - ref| <= 2e-5 * S + 1e-6 for each value, S the sum of
 * the absolute values of the products the value adds up (float sums of
 * n terms err by well under n * 6e-8 * S; a wrong tap or channel is off
 * by a whole term, ~S / n). Winograd's transforms round more (sums and
 * halvings before and after the products); its worst error was 4% of
 * this bound (a 2x2 map's dW), the direct path's 2%.
 *
 * Determinism: the same pass twice gives the same bytes; an image's
 * output does not depend on the batch around it; dW and db summed over
 * a batch in two chunks (accumulating, as a step's chunks do) equal the
 * whole batch's to the last bit.
 */
#include <math.h>
#include <stdlib.h>

#include "../th.h"
#include "nn.h"
#include "nn_int.h"

struct shape {
	int h, w, ic, oc, k, st, p, n;
};

static const struct shape shapes[] = {
    /* the Fashion-MNIST CNN and the resnet's layers (smaller maps) */
    {28, 28, 1, 16, 3, 1, 1, 8},
    {14, 14, 16, 32, 3, 1, 1, 8},
    {16, 16, 3, 16, 3, 1, 1, 8},
    {16, 16, 16, 16, 3, 1, 1, 8},
    {16, 16, 16, 32, 3, 2, 1, 8},
    {16, 16, 16, 32, 1, 2, 0, 8},
    {8, 8, 32, 64, 3, 2, 1, 8},
    {8, 8, 64, 64, 3, 1, 1, 1},
    {8, 8, 32, 64, 1, 2, 0, 1},
    /* odd widths, every k, pads and strides, few and many channels */
    {9, 7, 1, 1, 1, 1, 0, 1},
    {9, 7, 3, 8, 3, 1, 0, 8},
    {11, 13, 16, 48, 5, 1, 2, 1},
    {11, 13, 16, 48, 5, 2, 2, 8},
    {13, 11, 32, 16, 7, 1, 2, 1},
    {13, 11, 3, 32, 7, 2, 1, 8},
    {7, 5, 16, 16, 3, 2, 2, 1},
    {5, 9, 32, 32, 5, 1, 1, 8},
    {6, 6, 16, 64, 1, 1, 0, 8},
    {3, 3, 16, 16, 3, 1, 1, 1},
    {2, 2, 32, 48, 3, 1, 1, 8},
    {12, 12, 1, 32, 5, 1, 2, 8},
    {10, 10, 32, 1, 3, 2, 1, 8},
    /* a gray input's own kernel (3x3, stride 1): rows of 14 (16
     * channels) or 4 (32), a last tile moved back; narrower: general */
    {9, 17, 1, 16, 3, 1, 1, 2},
    {16, 16, 1, 16, 3, 1, 0, 2},
    {6, 11, 1, 32, 3, 1, 1, 3},
    {5, 13, 1, 16, 3, 1, 1, 2},
    {7, 5, 1, 32, 3, 1, 0, 3},
    /* wider inputs: d input scattered at stride 1 too */
    {6, 5, 96, 16, 3, 1, 1, 2},
    {5, 5, 128, 32, 1, 1, 0, 1},
    /* Winograd's 2x2 tiles past odd and one-pixel edges */
    {7, 9, 16, 32, 3, 1, 1, 2},
    {9, 7, 32, 16, 3, 1, 1, 3},
    {5, 3, 48, 64, 3, 1, 1, 2},
    {1, 5, 16, 16, 3, 1, 1, 2},
};

static float
rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (float)((double)(*s >> 40) / (double)(1 << 24) * 2.0 - 1.0);
}

struct ref {
	double *y, *ys, *dw, *dws, *db, *dx, *dxs; /* values, their S */
};

static int
ix_of(const struct shape *s, int o, int kk, int in)
{
	int i = o * s->st - s->p + kk;
	return i >= 0 && i < in ? i : -1;
}

/* Every product of the layer once: y, dW, dx and their S. */
static void
reference(const struct shape *s, int oh, int ow, const float *x, const float *W,
          const float *b, const float *dy, struct ref *r)
{
	int k = s->k, ic = s->ic, oc = s->oc;
	for (int n = 0; n < s->n; n++)
		for (int oy = 0; oy < oh; oy++)
			for (int ox = 0; ox < ow; ox++) {
				size_t m = ((size_t)n * oh + oy) * ow + ox;
				for (int o = 0; o < oc; o++) {
					r->y[m * oc + o] = b[o];
					r->ys[m * oc + o] = fabs(b[o]);
					r->db[o] += dy[m * oc + o];
				}
				for (int ky = 0; ky < k; ky++)
					for (int kx = 0; kx < k; kx++) {
						int iy = ix_of(s, oy, ky, s->h),
						    ix = ix_of(s, ox, kx, s->w);
						if (iy < 0 || ix < 0)
							continue;
						size_t xi =
						    (((size_t)n * s->h + iy) *
						         s->w +
						     ix) *
						    ic;
						size_t wi =
						    ((size_t)ky * k + kx) * ic;
						for (int c = 0; c < ic; c++)
							for (int o = 0; o < oc;
							     o++) {
								double
								    xv = x[xi +
								           c],
								    wv = W
								        [(wi +
								          c) *
								             oc +
								         o],
								    d = dy
								        [m * oc +
								         o];
								size_t
								    yi =
								        m * oc +
								        o,
								    wj =
								        (wi +
								         c) *
								            oc +
								        o;
								r->y[yi] +=
								    xv * wv;
								r->ys[yi] +=
								    fabs(xv *
								         wv);
								r->dw[wj] +=
								    xv * d;
								r->dws[wj] +=
								    fabs(xv *
								         d);
								r->dx[xi + c] +=
								    wv * d;
								r->dxs[xi +
								       c] +=
								    fabs(wv *
								         d);
							}
					}
			}
}

static int
close_all(const float *got, const double *ref, const double *sum, size_t n,
          double *worst)
{
	int ok = 1;
	for (size_t i = 0; i < n; i++) {
		double e = fabs(got[i] - ref[i]), tol = 2e-5 * sum[i] + 1e-6;
		if (!(e <= tol))
			ok = 0;
		if (e / (tol) > *worst)
			*worst = e / tol;
	}
	return ok;
}

/* The layer as a net's second layer (after a ReLU of positive inputs,
 * so its input gradient is made), its passes run by hand. */
struct rig {
	nn_net *net;
	nn_ctx *c;
	const struct layer *l;
	size_t wn;
	float *x, *dy, *dx;
};

static int
rig_new(struct rig *g, const struct shape *s, uint64_t seed)
{
	char err[128];
	g->net = nn_conv_probe(s->h, s->w, s->ic, s->oc, s->k, s->st, s->p, err,
	                       sizeof(err));
	if (!g->net)
		return -1;
	g->l = &g->net->l[1];
	g->c = nn_ctx_new(g->net, s->n, 1);
	float *P = nn_params(g->net);
	for (size_t i = 0; i < nn_nparams(g->net); i++)
		P[i] = rnd(&seed);
	size_t in = (size_t)s->n * isize(g->l),
	       out = (size_t)s->n * osize(g->l);
	g->x = xmalloc(sizeof(float) * in);
	g->dx = xmalloc(sizeof(float) * in);
	g->dy = xmalloc(sizeof(float) * out);
	for (size_t i = 0; i < in; i++)
		g->x[i] = 0.5f * (rnd(&seed) + 1.0f); /* ReLU passes it */
	for (size_t i = 0; i < out; i++)
		g->dy[i] = rnd(&seed);
	return 0;
}

static void
rig_free(struct rig *g)
{
	nn_ctx_free(g->c);
	nn_free(g->net);
	free(g->x), free(g->dx), free(g->dy);
}

/* Forward and backward of the first n images; dy into the gradient of the
 * layer's output, dx assigned. */
static void
rig_pass(struct rig *g, int n)
{
	nn_forward(g->c, g->x, n, 1, NULL);
	memcpy(g->c->gact[1], g->dy, sizeof(float) * n * osize(g->l));
	nn_op_conv.bwd(g->c, g->l, 1, g->c->act[0], g->dx, n);
}

static const char *const path_name[] = {"auto", "gemm", "direct", "wino"};

static void
check_shape(const struct shape *s, int path)
{
	char name[160];
	snprintf(name, sizeof(name),
	         "%s %dx%dx%d -> %d, k %d stride %d pad %d, batch %d",
	         path_name[path], s->h, s->w, s->ic, s->oc, s->k, s->st, s->p,
	         s->n);
	TH_TEST(name)
	{
		nn_conv_path = path;
		struct rig g;
		CHECK(rig_new(&g, s, 7) == 0);
		int oh = g.l->oh, ow = g.l->ow;
		size_t ny = (size_t)s->n * osize(g.l),
		       nx = (size_t)s->n * isize(g.l);
		struct ref r;
		double **f[] = {&r.y,  &r.ys, &r.dw, &r.dws,
		                &r.db, &r.dx, &r.dxs};
		size_t len[] = {ny, ny, g.l->wn, g.l->wn, (size_t)s->oc,
		                nx, nx};
		for (int i = 0; i < 7; i++)
			*f[i] = calloc(len[i], sizeof(double));
		const float *P = nn_params(g.net);
		reference(s, oh, ow, g.x, P + g.l->woff, P + g.l->boff, g.dy,
		          &r);
		rig_pass(&g, s->n);
		const float *G = g.c->grads;
		double wy = 0, ww = 0, wb = 0, wx = 0;
		double *dbs = calloc((size_t)s->oc, sizeof(double));
		for (size_t m = 0; m < ny; m++)
			dbs[m % s->oc] += fabs(g.dy[m]);
		CHECK(close_all(g.c->act[1], r.y, r.ys, ny, &wy));
		CHECK(close_all(G + g.l->woff, r.dw, r.dws, g.l->wn, &ww));
		CHECK(close_all(G + g.l->boff, r.db, dbs, (size_t)s->oc, &wb));
		CHECK(close_all(g.dx, r.dx, r.dxs, nx, &wx));
		if (th_cur_failed)
			fprintf(stderr,
			        "  worst error / tolerance: y %.3g dW %.3g db "
			        "%.3g dx %.3g\n",
			        wy, ww, wb, wx);
		for (int i = 0; i < 7; i++)
			free(*f[i]);
		free(dbs);
		rig_free(&g);
		nn_conv_path = NN_CONV_AUTO;
	}
}

/* Bytes of the pass's results: y, dW + db, dx. */
static void
snap(struct rig *g, int n, float *y, float *gr, float *dx)
{
	memcpy(y, g->c->act[1], sizeof(float) * n * osize(g->l));
	memcpy(gr, g->c->grads, sizeof(float) * nn_nparams(g->net));
	memcpy(dx, g->dx, sizeof(float) * n * isize(g->l));
}

static void
check_determinism(const struct shape *s, int path)
{
	char name[160];
	snprintf(name, sizeof(name),
	         "deterministic %s %dx%dx%d -> %d, k %d stride %d: twice, by "
	         "image, in chunks",
	         path_name[path], s->h, s->w, s->ic, s->oc, s->k, s->st);
	TH_TEST(name)
	{
		nn_conv_path = path;
		struct rig g;
		CHECK(rig_new(&g, s, 11) == 0);
		size_t ny = (size_t)s->n * osize(g.l),
		       nx = (size_t)s->n * isize(g.l), np = nn_nparams(g.net);
		float *y1 = xmalloc(4 * ny), *y2 = xmalloc(4 * ny),
		      *g1 = xmalloc(4 * np), *g2 = xmalloc(4 * np),
		      *x1 = xmalloc(4 * nx), *x2 = xmalloc(4 * nx);
		rig_pass(&g, s->n);
		snap(&g, s->n, y1, g1, x1);
		rig_pass(&g, s->n);
		snap(&g, s->n, y2, g2, x2);
		CHECK(memcmp(y1, y2, 4 * ny) == 0);
		CHECK(memcmp(g1, g2, 4 * np) == 0);
		CHECK(memcmp(x1, x2, 4 * nx) == 0);
		/* image 0 alone: the same output and input gradient */
		rig_pass(&g, 1);
		CHECK(memcmp(y1, g.c->act[1], 4 * osize(g.l)) == 0);
		CHECK(memcmp(x1, g.dx, 4 * isize(g.l)) == 0);
		/* the batch in two chunks, the second accumulating (the
		 * chunks of a step split across threads sum this way) */
		int h = s->n / 2;
		rig_pass(&g, h);
		nn_ctx_accumulate(g.c, 1);
		memmove(g.x, g.x + h * isize(g.l), 4 * (s->n - h) * isize(g.l));
		memmove(g.dy, g.dy + h * osize(g.l),
		        4 * (s->n - h) * osize(g.l));
		rig_pass(&g, s->n - h);
		nn_ctx_accumulate(g.c, 0);
		CHECK(memcmp(g1 + g.l->woff, g.c->grads + g.l->woff,
		             4 * g.l->wn) == 0);
		CHECK(memcmp(g1 + g.l->boff, g.c->grads + g.l->boff,
		             4 * g.l->bn) == 0);
		free(y1), free(y2), free(g1), free(g2), free(x1), free(x2);
		rig_free(&g);
		nn_conv_path = NN_CONV_AUTO;
	}
}

/* The Winograd passes the rule gives a layer of shape s. */
static int
wino_rule(const struct shape *s)
{
	char err[128];
	nn_net *net = nn_conv_probe(s->h, s->w, s->ic, s->oc, s->k, s->st, s->p,
	                            err, sizeof(err));
	int r = net ? nn_conv_wino(&net->l[1]) : -1;
	nn_free(net);
	return r;
}

int
main(void)
{
	int ns = (int)(sizeof(shapes) / sizeof(shapes[0]));
	for (int path = NN_CONV_AUTO; path <= NN_CONV_WINO; path++)
		for (int i = 0; i < ns; i++)
			check_shape(&shapes[i], path);
	check_determinism(&shapes[0], NN_CONV_AUTO);
	check_determinism(&shapes[1], NN_CONV_AUTO);
	check_determinism(&shapes[4], NN_CONV_AUTO);
	check_determinism(&shapes[11], NN_CONV_AUTO);
	check_determinism(&shapes[1], NN_CONV_WINO);
	check_determinism(&shapes[ns - 3], NN_CONV_WINO);
	TH_TEST("Winograd takes 3x3 stride-1 pad-1 passes by ic x oc")
	{
		const struct shape cnn2 = {14, 14, 16, 32, 3, 1, 1, 8},
		                   wide = {16, 16, 32, 32, 3, 1, 1, 8},
		                   many = {16, 16, 128, 64, 3, 1, 1, 8},
		                   narrow = {16, 16, 16, 16, 3, 1, 1, 8},
		                   gray = {28, 28, 1, 16, 3, 1, 1, 8},
		                   k5 = {16, 16, 32, 32, 5, 1, 2, 8},
		                   s2 = {16, 16, 32, 32, 3, 2, 1, 8},
		                   p0 = {16, 16, 32, 32, 3, 1, 0, 8},
		                   oc24 = {16, 16, 32, 24, 3, 1, 1, 8};
		CHECK(wino_rule(&cnn2) ==
		      (NN_WINO_FWD | NN_WINO_DX | NN_WINO_DW));
		CHECK(wino_rule(&wide) ==
		      (NN_WINO_FWD | NN_WINO_DX | NN_WINO_DW));
		/* d input of 128 channels: the scatter, not a forward */
		CHECK(wino_rule(&many) == (NN_WINO_FWD | NN_WINO_DW));
		CHECK(wino_rule(&narrow) == 0 && wino_rule(&gray) == 0);
		/* dW turns its sum back once an image: not for 7x7 */
		const struct shape small = {7, 7, 32, 32, 3, 1, 1, 8};
		CHECK(wino_rule(&small) == (NN_WINO_FWD | NN_WINO_DX));
		CHECK(wino_rule(&k5) == 0 && wino_rule(&s2) == 0 &&
		      wino_rule(&p0) == 0 && wino_rule(&oc24) == 0);
		nn_conv_path = NN_CONV_DIRECT;
		CHECK(wino_rule(&wide) == 0);
		nn_conv_path = NN_CONV_WINO;
		CHECK(wino_rule(&gray) ==
		      (NN_WINO_FWD | NN_WINO_DW)); /* no dx: 1 channel */
		nn_conv_path = NN_CONV_AUTO;
	}
	TH_TEST("the rule takes 16, 32, 48 and 64 output channels only")
	{
		CHECK(nn_conv_direct_fits(16) && nn_conv_direct_fits(32) &&
		      nn_conv_direct_fits(48) && nn_conv_direct_fits(64));
		CHECK(!nn_conv_direct_fits(8) && !nn_conv_direct_fits(80) &&
		      !nn_conv_direct_fits(1) && !nn_conv_direct_fits(24));
	}
	return th_done();
}
