/*
 * test_pool.c — the 2x2 max-pool's passes (op_pool.c) against a plain C
 * reference, exactly (a max and a copy of a gradient are exact): the
 * output, the arg-max (the first of the window's maxima in the order
 * top left, top right, bottom left, bottom right) and d input, with and
 * without the ReLU fused before it, for the channel counts that take
 * the vector path (16, 32, 48, 64) and others (1, 3, 17), even and odd
 * maps. Inputs are small integers, so windows have many ties and zeros.
 *
 * A gray first conv makes the pool's output in its forward pass
 * (nn_conv_pools) and reads its d output through the pool
 * (nn_conv_unpools): its gradients and outputs must be the bits of the
 * path where the two layers run apart (test_conv checks the conv's
 * passes against a reference), over a batch in two accumulated chunks.
 */
#include <math.h>
#include <stdlib.h>

#include "../th.h"
#include "nn.h"
#include "nn_int.h"

struct shape {
	int h, w, c, n;
};

static const struct shape shapes[] = {
    {28, 28, 16, 3}, {14, 14, 32, 3}, {7, 9, 16, 2}, {5, 4, 48, 2},
    {6, 6, 64, 1},   {9, 7, 1, 2},    {4, 6, 3, 2},  {3, 5, 17, 1},
    {2, 2, 16, 1},   {8, 8, 1040, 1},
};

static uint64_t seed = 5;

static float
rnd_int(void)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (float)((int)(seed >> 61) - 3); /* -3 .. 4 */
}

/* y and d input of one pass by the definition; relu: ReLU before. */
static void
reference(const struct shape *s, int relu, const float *x, const float *dy,
          float *y, float *dx)
{
	int oh = s->h / 2, ow = s->w / 2, C = s->c;
	memset(dx, 0, sizeof(float) * s->n * s->h * s->w * C);
	for (int b = 0; b < s->n; b++)
		for (int oy = 0; oy < oh; oy++)
			for (int ox = 0; ox < ow; ox++)
				for (int ch = 0; ch < C; ch++) {
					size_t best = 0;
					float m = -INFINITY;
					for (int q = 0; q < 4; q++) {
						size_t i = (((size_t)b * s->h +
						             2 * oy + q / 2) *
						                s->w +
						            2 * ox + q % 2) *
						               C +
						           ch;
						float v = relu && x[i] < 0
						              ? 0.0f
						              : x[i];
						if (q == 0 || v > m)
							m = v, best = i;
					}
					size_t o =
					    (((size_t)b * oh + oy) * ow + ox) *
					        C +
					    ch;
					y[o] = m;
					/* ReLU passes no gradient where x <= 0
					 */
					if (!relu || x[best] > 0)
						dx[best] = dy[o];
				}
}

static void
check(const struct shape *s, int relu)
{
	char name[128];
	snprintf(name, sizeof(name), "%dx%dx%d, batch %d, %s", s->h, s->w, s->c,
	         s->n, relu ? "ReLU fused" : "no ReLU");
	TH_TEST(name)
	{
		char err[128];
		/* a ReLU is fused into the pool after it when a layer is
		 * before it; the pool's passes run by hand on x */
		const struct nn_spec sp[] = {
		    {.kind = NN_SIGMOID},
		    {.kind = relu ? NN_RELU : NN_SIGMOID},
		    {.kind = NN_MAXPOOL}};
		nn_net *net = nn_new(s->h, s->w, s->c, sp, 3, NN_LOSS_MSE, err,
		                     sizeof(err));
		CHECK(net != NULL);
		const struct layer *l = &net->l[2];
		CHECK(l->relu_after == relu);
		nn_ctx *c = nn_ctx_new(net, s->n, 1);
		size_t nx = (size_t)s->n * isize(l),
		       ny = (size_t)s->n * osize(l);
		float *x = xmalloc(4 * nx), *dx = xmalloc(4 * nx),
		      *rdx = xmalloc(4 * nx), *dy = xmalloc(4 * ny),
		      *ry = xmalloc(4 * ny);
		for (size_t i = 0; i < nx; i++)
			x[i] = rnd_int(), dx[i] = NAN;
		for (size_t i = 0; i < ny; i++)
			dy[i] = rnd_int() + 0.5f;
		reference(s, relu, x, dy, ry, rdx);
		nn_op_maxpool.fwd(c, l, 2, x, s->n, 1, NULL);
		CHECK(memcmp(c->act[2], ry, 4 * ny) == 0);
		memcpy(c->gact[2], dy, 4 * ny);
		nn_op_maxpool.bwd(c, l, 2, x, dx, s->n);
		CHECK(memcmp(dx, rdx, 4 * nx) == 0);
		/* the inference pass (no arg-max kept) gives the same y */
		nn_ctx *ci = nn_ctx_new(net, s->n, 0);
		nn_op_maxpool.fwd(ci, l, 2, x, s->n, 0, NULL);
		CHECK(memcmp(ci->act[2], ry, 4 * ny) == 0);
		nn_ctx_free(ci);
		free(x), free(dx), free(rdx), free(dy), free(ry);
		nn_ctx_free(c);
		nn_free(net);
	}
}

struct gray {
	int h, w, oc, st, p, n;
};

/* Gradients of one step of a gray CNN in two chunks, unpooled or not. */
static void
gray_grads(nn_net *net, const float *x, const uint16_t *lab, int n, int fused,
           float *g)
{
	nn_conv_unpool = fused;
	nn_ctx *c = nn_ctx_new(net, n, 1);
	int h = n / 2, in = nn_in_size(net);
	nn_forward(c, x, h, 1, NULL);
	nn_loss_backward_part(c, lab, NULL, h, n, NULL);
	nn_ctx_accumulate(c, 1);
	nn_forward(c, x + (size_t)h * in, n - h, 1, NULL);
	nn_loss_backward_part(c, lab + h, NULL, n - h, n, NULL);
	memcpy(g, nn_ctx_grads(c), sizeof(float) * nn_nparams(net));
	nn_ctx_free(c);
	nn_conv_unpool = 1;
}

static void
check_gray(const struct gray *s)
{
	char name[128];
	snprintf(name, sizeof(name),
	         "gray conv %dx%d -> %d, stride %d pad %d, batch %d: fused "
	         "conv-pool passes give the unfused bits",
	         s->h, s->w, s->oc, s->st, s->p, s->n);
	TH_TEST(name)
	{
		char err[128];
		const struct nn_spec sp[] = {{.kind = NN_CONV,
		                              .out = s->oc,
		                              .k = 3,
		                              .stride = s->st,
		                              .pad = s->p},
		                             {.kind = NN_RELU},
		                             {.kind = NN_MAXPOOL},
		                             {.kind = NN_FLATTEN},
		                             {.kind = NN_DENSE, .out = 10}};
		nn_net *net = nn_new(s->h, s->w, 1, sp, 5, NN_LOSS_XENT, err,
		                     sizeof(err));
		CHECK(net != NULL);
		/* an odd map leaves the pool writing d input */
		int even = !(net->l[0].oh & 1) && !(net->l[0].ow & 1);
		CHECK(nn_conv_unpools(net, 0) == even);
		nn_init(net, 3);
		size_t in = (size_t)s->n * nn_in_size(net),
		       np = nn_nparams(net);
		float *x = xmalloc(4 * in), *g1 = xmalloc(4 * np),
		      *g0 = xmalloc(4 * np);
		uint16_t lab[16];
		for (size_t i = 0; i < in; i++)
			x[i] = rnd_int() * 0.25f;
		for (int i = 0; i < s->n; i++)
			lab[i] = (uint16_t)(i * 7 % 10);
		gray_grads(net, x, lab, s->n, 1, g1);
		gray_grads(net, x, lab, s->n, 0, g0);
		CHECK(memcmp(g1, g0, 4 * np) == 0);
		/* and twice the same */
		gray_grads(net, x, lab, s->n, 1, g0);
		CHECK(memcmp(g1, g0, 4 * np) == 0);
		/* inference (no arg-max kept): the same outputs */
		size_t no = (size_t)s->n * nn_out_size(net);
		float *p1 = xmalloc(4 * no);
		nn_ctx *ci = nn_ctx_new(net, s->n, 0);
		memcpy(p1, nn_predict(ci, x, s->n), 4 * no);
		nn_conv_unpool = 0;
		CHECK(memcmp(p1, nn_predict(ci, x, s->n), 4 * no) == 0);
		nn_conv_unpool = 1;
		nn_ctx_free(ci);
		free(p1);
		free(x), free(g1), free(g0);
		nn_free(net);
	}
}

int
main(void)
{
	/* the CNN's, even maps of 32 channels, no pad; odd maps (13x9
	 * stride 2, 9x9 no pad) keep the two passes apart */
	static const struct gray grays[] = {
	    {28, 28, 16, 1, 1, 6}, {10, 14, 32, 1, 1, 5}, {13, 9, 16, 2, 1, 4},
	    {8, 18, 16, 1, 0, 3},  {9, 9, 32, 1, 0, 2},
	};
	for (size_t i = 0; i < sizeof(grays) / sizeof(grays[0]); i++)
		check_gray(&grays[i]);
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		for (int relu = 0; relu < 2; relu++)
			check(&shapes[i], relu);
	return th_done();
}
