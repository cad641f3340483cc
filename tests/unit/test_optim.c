/*
 * test_optim.c — optimiser steps against values worked out by hand
 * (PyTorch's SGD-with-momentum form; Adam with bias correction), and
 * weight decay applied to weights but not biases.
 */
#include <math.h>

#include "../th.h"
#include "nn.h"

#define NEAR(a, b) (fabs((double)(a) - (double)(b)) < 1e-5)

static nn_net *
tiny(void)
{
	/* dense 2 -> 1: params are w0, w1, b */
	const struct nn_spec s[] = {{.kind = NN_DENSE, .out = 1}};
	char err[64];
	nn_net *net = nn_new(1, 1, 2, s, 1, NN_LOSS_MSE, err, sizeof(err));
	float *p = nn_params(net);
	p[0] = 1.0f, p[1] = -2.0f, p[2] = 1.0f;
	return net;
}

int
main(void)
{
	TH_TEST("sgd momentum with weight decay, two steps")
	{
		nn_net *net = tiny();
		struct nn_opt o;
		nn_opt_init(&o, NN_OPT_SGD, net, 0.1f, 0.9f, 0.01f);
		const float g[3] = {0.5f, 0.0f, 0.5f};
		nn_opt_step(&o, net, g);
		float *p = nn_params(net);
		/* w: g' = 0.5 + 0.01*1 = 0.51, v = 0.51, w = 1 - 0.051 */
		CHECK(NEAR(p[0], 0.949));
		/* w1: g' = 0 + 0.01*-2 = -0.02, w = -2 + 0.002 */
		CHECK(NEAR(p[1], -1.998));
		/* bias: no decay, v = 0.5, b = 0.95 */
		CHECK(NEAR(p[2], 0.95));
		nn_opt_step(&o, net, g);
		/* g' = 0.5 + 0.00949, v = 0.9*0.51 + 0.50949 = 0.96849 */
		CHECK(NEAR(p[0], 0.852151));
		/* bias: v = 0.95, b = 0.95 - 0.095 */
		CHECK(NEAR(p[2], 0.855));
		CHECK(o.t == 2);
		CHECK(nn_opt_state_len(&o) == 3);
		nn_opt_free(&o);
		nn_free(net);
	}
	TH_TEST("adam, two steps with bias correction")
	{
		nn_net *net = tiny();
		struct nn_opt o;
		nn_opt_init(&o, NN_OPT_ADAM, net, 0.01f, 0.0f, 0.0f);
		float g[3] = {0.5f, 0.0f, 0.5f};
		nn_opt_step(&o, net, g);
		float *p = nn_params(net);
		/* m-hat = 0.5, v-hat = 0.25: a step of exactly lr */
		CHECK(NEAR(p[0], 0.99));
		CHECK(NEAR(p[1], -2.0)); /* zero gradient: no move */
		g[0] = -1.0f;
		nn_opt_step(&o, net, g);
		CHECK(NEAR(p[0], 0.9936610352));
		CHECK(NEAR(p[2], 0.98));
		CHECK(nn_opt_state_len(&o) == 6);
		nn_opt_free(&o);
		nn_free(net);
	}
	TH_TEST("adam with L2 decay changes the gradient, not the bias")
	{
		nn_net *net = tiny();
		struct nn_opt o;
		nn_opt_init(&o, NN_OPT_ADAM, net, 0.01f, 0.0f, 0.1f);
		const float g[3] = {0.5f, 0.0f, 0.0f};
		nn_opt_step(&o, net, g);
		float *p = nn_params(net);
		CHECK(NEAR(p[0], 0.99));
		/* w1 has zero gradient but decay 0.1*-2 moves it up by lr */
		CHECK(NEAR(p[1], -1.99));
		CHECK(NEAR(p[2], 1.0));
		nn_opt_free(&o);
		nn_free(net);
	}
	TH_TEST("cosine schedule with warm-up")
	{
		/* 10 warm-up steps of 110: 0.1, 0.2 .. 1.0 of the base, then
		 * half way down at step 60, ~0 at the last */
		CHECK(NEAR(nn_lr_cosine(0.5f, 0, 110, 10), 0.05));
		CHECK(NEAR(nn_lr_cosine(0.5f, 9, 110, 10), 0.5));
		CHECK(NEAR(nn_lr_cosine(0.5f, 10, 110, 10), 0.5));
		CHECK(NEAR(nn_lr_cosine(0.5f, 60, 110, 10), 0.25));
		CHECK(nn_lr_cosine(0.5f, 109, 110, 10) < 0.001f);
		CHECK(nn_lr_cosine(0.5f, 109, 110, 10) > 0.0f);
		CHECK(NEAR(nn_lr_cosine(0.5f, 0, 100, 0), 0.5));
	}
	TH_TEST("adamw decays weights apart from the gradient, not biases")
	{
		nn_net *net = tiny();
		struct nn_opt o;
		nn_opt_init(&o, NN_OPT_ADAMW, net, 0.01f, 0.0f, 0.1f);
		const float g[3] = {0.5f, 0.0f, 0.0f};
		nn_opt_step(&o, net, g);
		float *p = nn_params(net);
		/* w0: shrunk by lr*wd (1 -> 0.999), then Adam's first step
		 * of lr (0.01) against its gradient */
		CHECK(NEAR(p[0], 0.989));
		/* w1: zero gradient, only the decay: -2 * (1 - 0.001) */
		CHECK(NEAR(p[1], -1.998));
		CHECK(NEAR(p[2], 1.0));
		nn_opt_free(&o);
		nn_free(net);
	}
	return th_done();
}
