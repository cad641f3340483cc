/*
 * test_grad.c — finite-difference checks of every layer's backward pass
 * and of both losses. Each row is a small net; the analytic gradient of
 * a sample of parameters is compared with a central difference of the
 * loss. Layers without parameters are checked through the parameters of
 * the layers before them.
 */
#include <math.h>
#include <stdlib.h>

#include "../th.h"
#include "nn.h"

#define D(n)                                                                   \
	{                                                                      \
		.kind = NN_DENSE, .out = (n)                                   \
	}
#define C(n, k_, s_, p_)                                                       \
	{                                                                      \
		.kind = NN_CONV, .out = (n), .k = (k_), .stride = (s_),        \
		.pad = (p_)                                                    \
	}
#define P                                                                      \
	{                                                                      \
		.kind = NN_MAXPOOL                                             \
	}
#define R                                                                      \
	{                                                                      \
		.kind = NN_RELU                                                \
	}
#define S                                                                      \
	{                                                                      \
		.kind = NN_SIGMOID                                             \
	}
#define F                                                                      \
	{                                                                      \
		.kind = NN_FLATTEN                                             \
	}
#define DO(p_)                                                                 \
	{                                                                      \
		.kind = NN_DROPOUT, .p = (p_)                                  \
	}

#define BN                                                                     \
	{                                                                      \
		.kind = NN_BN                                                  \
	}
#define GAP                                                                    \
	{                                                                      \
		.kind = NN_GAP                                                 \
	}
/* the sum of the previous layer and layer i - s_; input from i - in_ */
#define ADD(s_)                                                                \
	{                                                                      \
		.kind = NN_ADD, .skip = (s_)                                   \
	}
#define CIN(n, k_, s_, p_, in_)                                                \
	{                                                                      \
		.kind = NN_CONV, .out = (n), .k = (k_), .stride = (s_),        \
		.pad = (p_), .in = (in_)                                       \
	}
#define LSTM(n, seq_)                                                          \
	{                                                                      \
		.kind = NN_LSTM, .out = (n), .seq = (seq_)                     \
	}

struct row {
	const char *name;
	int h, w, c, batch;
	enum nn_loss loss;
	int n;
	struct nn_spec s[16];
};

static const struct row rows[] = {
    {"dense+xent", 1, 1, 5, 3, NN_LOSS_XENT, 1, {D(4)}},
    {"dense-relu-dense", 1, 1, 6, 4, NN_LOSS_XENT, 3, {D(7), R, D(3)}},
    {"dense-sigmoid+mse", 1, 1, 3, 4, NN_LOSS_MSE, 4, {D(5), S, D(2), S}},
    {"dense+mse", 1, 1, 4, 2, NN_LOSS_MSE, 1, {D(3)}},
    {"dropout", 1, 1, 6, 4, NN_LOSS_XENT, 4, {D(8), R, DO(0.5f), D(3)}},
    {"conv3x3 pad1", 5, 5, 2, 2, NN_LOSS_XENT, 3, {C(3, 3, 1, 1), F, D(3)}},
    {"conv3x3 stride2", 7, 6, 3, 2, NN_LOSS_XENT, 2, {C(4, 3, 2, 0), D(2)}},
    {"conv2x2 stride2 pad1",
     5,
     4,
     1,
     3,
     NN_LOSS_XENT,
     2,
     {C(2, 2, 2, 1), D(3)}},
    {"conv-relu-pool",
     6,
     6,
     2,
     2,
     NN_LOSS_XENT,
     5,
     {C(3, 3, 1, 1), R, P, F, D(4)}},
    {"pool odd size", 5, 7, 2, 2, NN_LOSS_XENT, 3, {C(2, 3, 1, 1), P, D(3)}},
    {"cnn stack",
     8,
     8,
     1,
     2,
     NN_LOSS_XENT,
     8,
     {C(3, 3, 1, 1), R, P, C(4, 3, 1, 1), R, P, D(5), D(3)}},
    {"dense-bn", 1, 1, 5, 6, NN_LOSS_XENT, 4, {D(6), BN, R, D(3)}},
    {"conv-bn-relu", 5, 4, 2, 3, NN_LOSS_XENT, 4, {C(3, 3, 1, 1), BN, R, D(3)}},
    {"gap", 4, 5, 2, 2, NN_LOSS_XENT, 3, {C(4, 3, 1, 1), GAP, D(3)}},
    {"conv1x1",
     3,
     4,
     3,
     2,
     NN_LOSS_XENT,
     3,
     {C(4, 3, 1, 1), C(3, 1, 1, 0), D(3)}},
    {"residual identity",
     5,
     5,
     2,
     2,
     NN_LOSS_XENT,
     7,
     /* 0 conv, 1 relu, 2 conv, 3 bn, 4 add(3, 1), 5 relu, 6 dense */
     {C(3, 3, 1, 1), R, C(3, 3, 1, 1), BN, ADD(3), R, D(3)}},
    {"residual projection stride2",
     6,
     6,
     2,
     3,
     NN_LOSS_XENT,
     9,
     /* 0 conv 1 relu | 2 conv s2 3 bn 4 relu 5 conv | 6 conv1x1 s2 from
      * 1, 7 add(6, 5), 8 gap ... */
     {C(3, 3, 1, 1), R, C(4, 3, 2, 1), BN, R, C(4, 3, 1, 1), CIN(4, 1, 2, 0, 5),
      ADD(2), GAP}},
    {"lstm last", 4, 3, 2, 3, NN_LOSS_XENT, 2, {LSTM(5, 0), D(3)}},
    {"lstm two layers",
     3,
     4,
     1,
     2,
     NN_LOSS_XENT,
     3,
     {LSTM(4, 1), LSTM(3, 0), D(3)}},
    /* im2col over 512 KB an image: made again in the backward pass */
    {"conv big",
     41,
     41,
     9,
     1,
     NN_LOSS_XENT,
     4,
     {C(9, 3, 1, 1), C(2, 3, 1, 1), GAP, D(3)}},
    /* 16-64 output channels take the direct kernels (conv_kern.c): d
     * input by a convolution of dy (stride 1) and by scatter (stride 2,
     * 1x1 stride 2); BN over 16 and 32 channels sums in registers */
    {"direct convs: dX by conv and by scatter",
     7,
     6,
     3,
     2,
     NN_LOSS_XENT,
     7,
     {C(16, 3, 1, 1), R, C(16, 3, 1, 1), R, C(32, 3, 2, 1), GAP, D(3)}},
    /* a gray first conv whose dW reads d output through the pool's
     * arg-max (nn_conv_unpools); the second pool's map is odd */
    {"gray conv, its d output through the pool",
     6,
     8,
     1,
     2,
     NN_LOSS_XENT,
     8,
     {C(16, 3, 1, 1), R, P, C(32, 3, 1, 1), R, P, F, D(3)}},
    {"gray conv, stride 2, 32 channels, through the pool",
     8,
     12,
     1,
     2,
     NN_LOSS_XENT,
     5,
     {C(32, 3, 2, 1), R, P, F, D(3)}},
    {"direct conv-bn, 1x1 stride 2, 48 and 64 channels",
     6,
     5,
     16,
     2,
     NN_LOSS_XENT,
     8,
     {C(48, 3, 1, 1), BN, R, C(32, 1, 2, 0), BN, C(64, 5, 1, 2), GAP, D(3)}},
};

static int
is_state(const nn_net *net, size_t j)
{
	for (int i = 0; i < nn_nlayers(net); i++) {
		size_t off, n;
		nn_layer_state(net, i, &off, &n);
		if (j >= off && j < off + n)
			return 1;
	}
	return 0;
}

static double
loss_at(nn_ctx *c, const float *x, int n, const uint16_t *lab, const float *tgt)
{
	struct nn_rng r;
	nn_rng_seed(&r, 99); /* the same dropout mask every time */
	nn_forward(c, x, n, 1, &r);
	return nn_loss(c, lab, tgt, n, NULL);
}

int
main(void)
{
	for (size_t ri = 0; ri < TY_ARRAY_LEN(rows); ri++) {
		const struct row *w = &rows[ri];
		TH_TEST(w->name)
		{
			char err[128];
			nn_net *net = nn_new(w->h, w->w, w->c, w->s, w->n,
			                     w->loss, err, sizeof(err));
			CHECK(net != NULL);
			if (!net) {
				fprintf(stderr, "%s\n", err);
				continue;
			}
			nn_init(net, 7 + ri);
			struct nn_rng r;
			nn_rng_seed(&r, ri);
			int n = w->batch, in = nn_in_size(net),
			    out = nn_out_size(net);
			float *x = xmalloc(sizeof(float) * n * in);
			float *tgt = xmalloc(sizeof(float) * n * out);
			uint16_t lab[16];
			for (int j = 0; j < n * in; j++)
				x[j] = nn_rng_normal(&r);
			for (int j = 0; j < n * out; j++)
				tgt[j] = nn_rng_uniform(&r);
			for (int j = 0; j < n; j++)
				lab[j] = (uint16_t)nn_rng_below(&r, out);
			/* biases random too, so they are not all at a kink */
			float *p = nn_params(net);
			size_t np = nn_nparams(net);
			for (size_t j = 0; j < np; j++)
				p[j] += 0.1f * nn_rng_normal(&r);
			nn_ctx *c = nn_ctx_new(net, n, 1);
			struct nn_rng dr;
			nn_rng_seed(&dr, 99);
			nn_forward(c, x, n, 1, &dr);
			float l0 = nn_loss_backward(c, lab, tgt, n, NULL);
			CHECK(isfinite(l0) && l0 > 0);
			float *g = xmalloc(sizeof(float) * np);
			memcpy(g, nn_ctx_grads(c), sizeof(float) * np);
			int checked = 0, bad = 0;
			size_t stride = np / 60 + 1;
			for (size_t j = ri % stride; j < np; j += stride) {
				if (is_state(net, j))
					continue; /* BN running stats */
				float keep = p[j];
				double h = 1e-3;
				p[j] = keep + (float)h;
				double lp = loss_at(c, x, n, lab, tgt);
				p[j] = keep - (float)h;
				double lm = loss_at(c, x, n, lab, tgt);
				p[j] = keep;
				double num = (lp - lm) / (2 * h), an = g[j];
				double tol =
				    2e-2 * fmax(fabs(num), fabs(an)) + 2e-3;
				checked++;
				if (fabs(num - an) > tol) {
					bad++;
					fprintf(stderr,
					        "  %s: param %zu analytic %g "
					        "numeric %g\n",
					        w->name, j, an, num);
				}
			}
			CHECK(checked > 0);
			CHECK(bad == 0);
			free(g);
			free(x);
			free(tgt);
			nn_ctx_free(c);
			nn_free(net);
		}
	}
	return th_done();
}
