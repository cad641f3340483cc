/*
 * test_parity.c — the newer layers against PyTorch on the same weights:
 * a conv + BN + stride-2 residual block with a 1x1 projection + global
 * average pooling, and a two-layer LSTM; the loss with label smoothing
 * and class weights. Forward outputs (training and inference mode), the
 * loss, every parameter gradient and BN's running statistics after one
 * step are compared with parity_ref.h (and AdamW's steps), which parity_gen.py
 * wrote with PyTorch (in double) from the same formulas for weights and inputs.
 *
 * Tolerance: |ours - torch| <= 1e-4 + 1e-3 |torch| (float32 against
 * float64; the worst seen is printed).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../th.h"
#include "nn.h"
#include "parity_ref.h"

enum { N = 4, K = 3 };

static double worst;

static int
close_to(double ours, double ref)
{
	double d = fabs(ours - ref);
	if (d > worst)
		worst = d;
	return d <= 1e-4 + 1e-3 * fabs(ref);
}

/* How many of n values differ from the reference (printing the first). */
static int
differ(const char *what, const float *ours, const double *ref, int n,
       const nn_net *skip_state)
{
	int bad = 0;
	for (int j = 0; j < n; j++) {
		int state = 0;
		for (int i = 0; skip_state && i < nn_nlayers(skip_state); i++) {
			size_t off, sn;
			nn_layer_state(skip_state, i, &off, &sn);
			state |= (size_t)j >= off && (size_t)j < off + sn;
		}
		if (state || close_to(ours[j], ref[j]))
			continue;
		if (!bad++)
			fprintf(stderr, "  %s[%d]: ours %.8g torch %.8g\n",
			        what, j, ours[j], ref[j]);
	}
	return bad;
}

/* parity_gen.py's formulas */
static void
fill(nn_net *net, float *x, int nx, uint16_t *lab)
{
	float *p = nn_params(net);
	for (size_t j = 0; j < nn_nparams(net); j++)
		p[j] = (float)(0.3 * sin(0.7 * (double)j + 1.1));
	for (int i = 0; i < nn_nlayers(net); i++) {
		size_t off, sn;
		nn_layer_state(net, i, &off, &sn);
		for (size_t c = 0; c < sn / 2; c++) {
			p[off + c] = (float)(0.1 * cos((double)c));
			p[off + sn / 2 + c] =
			    (float)(1.0 + 0.5 * pow(sin((double)c), 2));
		}
	}
	for (int j = 0; j < nx; j++)
		x[j] = (float)sin(0.37 * j);
	for (int b = 0; b < N; b++)
		lab[b] = (uint16_t)(b % K);
}

static void
check_net(const char *name, const struct nn_spec *s, int ns, int h, int w,
          int c, const double *logits, double loss, const double *grads,
          const double *eval, const double *state, int nstate)
{
	char err[128];
	nn_net *net = nn_new(h, w, c, s, ns, NN_LOSS_XENT, err, sizeof(err));
	CHECK(net != NULL);
	if (!net) {
		fprintf(stderr, "  %s: %s\n", name, err);
		return;
	}
	static const float cw[K] = {0.5f, 1.0f, 2.0f};
	nn_set_loss_opts(net, 0.1f, cw);
	float x[N * 128];
	uint16_t lab[N];
	fill(net, x, N * h * w * c, lab);
	nn_ctx *ctx = nn_ctx_new(net, N, 1);
	const float *y = nn_forward(ctx, x, N, 1, NULL);
	CHECK(differ("logits", y, logits, N * K, NULL) == 0);
	float l = nn_loss_backward(ctx, lab, NULL, N, NULL);
	CHECK(close_to(l, loss));
	size_t np = nn_nparams(net);
	CHECK(differ("grads", nn_ctx_grads(ctx), grads, (int)np, net) == 0);
	/* one step that trains nothing moves only the running stats */
	if (state) {
		struct nn_opt o;
		nn_opt_init(&o, NN_OPT_SGD, net, 0.0f, 0.0f, 0.0f);
		nn_opt_step(&o, net, nn_ctx_grads(ctx));
		nn_opt_free(&o);
		float got[64];
		int k = 0;
		for (int i = 0; i < nn_nlayers(net); i++) {
			size_t off, sn;
			nn_layer_state(net, i, &off, &sn);
			for (size_t j = 0; j < sn && k < 64; j++)
				got[k++] = nn_params(net)[off + j];
		}
		CHECK(k == nstate);
		CHECK(differ("running stats", got, state, k, NULL) == 0);
		/* inference mode from the stats the reference started at */
		fill(net, x, N * h * w * c, lab);
	}
	nn_ctx *ev = nn_ctx_new(net, N, 0);
	CHECK(differ("eval", nn_forward(ev, x, N, 0, NULL), eval, N * K,
	             NULL) == 0);
	/* and with BN folded into the convolutions before it */
	nn_net *f = nn_fold_bn(net, err, sizeof(err));
	CHECK(f != NULL);
	if (f) {
		nn_ctx *fc = nn_ctx_new(f, N, 0);
		CHECK(differ("folded", nn_forward(fc, x, N, 0, NULL), eval,
		             N * K, NULL) == 0);
		nn_ctx_free(fc);
	}
	nn_free(f);
	nn_ctx_free(ev);
	nn_ctx_free(ctx);
	nn_free(net);
}

int
main(void)
{
	TH_TEST("conv, BN, stride-2 residual block, GAP vs PyTorch")
	{
		const struct nn_spec s[] = {
		    {.kind = NN_CONV, .out = 3, .k = 3, .stride = 1, .pad = 1},
		    {.kind = NN_BN},
		    {.kind = NN_RELU},
		    {.kind = NN_CONV, .out = 4, .k = 3, .stride = 2, .pad = 1},
		    {.kind = NN_BN},
		    {.kind = NN_CONV, .out = 4, .k = 1, .stride = 2, .in = 3},
		    {.kind = NN_BN},
		    {.kind = NN_ADD, .skip = 3},
		    {.kind = NN_RELU},
		    {.kind = NN_GAP},
		    {.kind = NN_DENSE, .out = K},
		};
		check_net("resnet", s, 11, 6, 6, 2, resnet_logits, resnet_loss,
		          resnet_grads, resnet_eval, resnet_state,
		          (int)TY_ARRAY_LEN(resnet_state));
	}
	TH_TEST("two LSTM layers vs torch.nn.LSTM")
	{
		const struct nn_spec s[] = {
		    {.kind = NN_LSTM, .out = 5, .seq = 1},
		    {.kind = NN_LSTM, .out = 4},
		    {.kind = NN_DENSE, .out = K},
		};
		check_net("lstm", s, 3, 4, 3, 2, lstm_logits, lstm_loss,
		          lstm_grads, lstm_eval, NULL, 0);
	}
	TH_TEST("AdamW vs torch.optim.AdamW, 3 steps")
	{
		const struct nn_spec s[] = {{.kind = NN_DENSE, .out = 2}};
		char err[128];
		nn_net *net =
		    nn_new(1, 1, 3, s, 1, NN_LOSS_XENT, err, sizeof(err));
		float x[3];
		uint16_t lab[N];
		fill(net, x, 3, lab);
		struct nn_opt o;
		nn_opt_init(&o, NN_OPT_ADAMW, net, 0.01f, 0.0f, 0.1f);
		for (int step = 0; step < 3; step++) {
			float g[8];
			for (int j = 0; j < 8; j++)
				g[j] = (float)cos(0.5 * j + step);
			nn_opt_step(&o, net, g);
		}
		CHECK(differ("params", nn_params(net), adamw_params, 8, NULL) ==
		      0);
		nn_opt_free(&o);
		nn_free(net);
	}
	fprintf(stderr, "  worst difference %.3g\n", worst);
	return th_done();
}
