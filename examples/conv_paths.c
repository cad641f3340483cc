/*
 * conv_paths.c — the convolution layer's two paths (im2col + sgemm, the
 * direct kernels) timed side by side on one thread, shape by shape:
 * the measurements behind op_conv.c's per-shape rule.
 *
 *	bin/conv_paths [reps] [wino [batch]]   (the Winograd table only)
 *
 * Each row: a training forward and backward (d input included) of a
 * batch of 8, CPU time per pass, the two paths alternating so that a
 * busy machine slows both alike; GFLOP/s counts the forward's flops
 * once and the backward's twice.
 *
 * Then the 3x3 stride-1 pad-1 shapes again, direct against Winograd
 * (conv_wino.c) pass by pass: the forward, and the backward with dW
 * only, d input only, or both by Winograd (the backward's other part
 * direct), alternating the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "blas.h"
#include "nn.h"
#include "nn_int.h"

struct shape {
	int h, ic, oc, k, st, p;
};

static const struct shape shapes[] = {
    {28, 1, 16, 3, 1, 1},   {14, 16, 32, 3, 1, 1}, /* the CNN */
    {64, 3, 16, 3, 1, 1},   {64, 16, 16, 3, 1, 1}, /* the resnet */
    {64, 16, 32, 3, 2, 1},  {32, 32, 32, 3, 1, 1},  {64, 16, 32, 1, 2, 0},
    {32, 32, 64, 3, 2, 1},  {16, 64, 64, 3, 1, 1},  {32, 32, 64, 1, 2, 0},
    {32, 16, 16, 1, 1, 0},  {32, 64, 64, 1, 1, 0},  /* pointwise */
    {16, 128, 64, 3, 1, 1}, {16, 256, 64, 3, 1, 1}, /* wide inputs */
    {32, 32, 48, 5, 1, 2},  {32, 3, 64, 7, 2, 3},   {7, 32, 32, 3, 1, 1},
    {14, 32, 16, 3, 1, 1}, /* odd, the CNN's dX */
};

static double
cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int batch = 8; /* images a pass */

static nn_net *
probe(const struct shape *s, char *err, size_t errlen)
{
	return nn_conv_probe(s->h, s->h, s->ic, s->oc, s->k, s->st, s->p, err,
	                     errlen);
}

/* Seconds of one forward and one backward of layer 1 (a ReLU before it,
 * so that it makes d input) on path `path`. */
static void
time_path(const struct shape *s, int path, int reps, double *f, double *b,
          double *bw)
{
	char err[128];
	nn_conv_path = path;
	nn_net *net = probe(s, err, sizeof(err));
	if (!net) {
		fprintf(stderr, "conv_paths: %s\n", err);
		exit(1);
	}
	nn_init(net, 1);
	int B = batch;
	nn_ctx *c = nn_ctx_new(net, B, 1);
	const struct layer *l = &net->l[1];
	size_t in = (size_t)B * isize(l);
	float *x = xmalloc(sizeof(float) * in),
	      *dx = xmalloc(sizeof(float) * in);
	for (size_t i = 0; i < in; i++)
		x[i] = (float)(i % 7) * 0.1f;
	nn_forward(c, x, B, 1, NULL);
	for (size_t i = 0; i < (size_t)B * osize(l); i++)
		c->gact[1][i] = (float)(i % 5) * 0.01f;
	double w = 0;
	*f = *b = 0;
	for (int r = 0; r <= reps; r++) {
		double t0 = cpu_now();
		nn_op_conv.fwd(c, l, 1, c->act[0], B, 1, NULL);
		double t1 = cpu_now();
		nn_op_conv.bwd(c, l, 1, c->act[0], dx, B);
		double t2 = cpu_now();
		if (bw) /* dW and db alone */
			nn_op_conv.bwd(c, l, 1, c->act[0], NULL, B);
		double t3 = cpu_now();
		if (r) /* the first warms the caches */
			*f += t1 - t0, *b += t2 - t1, w += t3 - t2;
	}
	*f /= reps, *b /= reps;
	if (bw)
		*bw = w / reps;
	free(x), free(dx);
	nn_ctx_free(c);
	nn_free(net);
	nn_conv_path = NN_CONV_AUTO;
}

/* What the engine's rule picks for s. */
static int
rule_of(const struct shape *s)
{
	char err[128];
	nn_net *net = probe(s, err, sizeof(err));
	int r = net && nn_conv_is_direct(&net->l[1]);
	nn_free(net);
	return r;
}

/* What the rule picks for s's passes (NN_WINO_*), -1 if Winograd does
 * not take s. */
static int
wino_of(const struct shape *s)
{
	char err[128];
	nn_net *net = probe(s, err, sizeof(err));
	int r = -1;
	if (net && nn_conv_is_direct(&net->l[1]) && nn_wino_fits(&net->l[1]))
		r = nn_conv_wino(&net->l[1]);
	nn_free(net);
	return r;
}

/* Direct against Winograd, pass by pass, for the shapes it takes. */
static void
wino_table(int reps)
{
	char title[32];
	snprintf(title, sizeof(title), "Winograd (batch %d)", batch);
	printf("\n%-18s %-5s %15s %6s | %15s %6s | %15s %6s | %6s\n", title,
	       "rule", "fwd ms dir/wino", "ratio", "dW+db dir/wino", "ratio",
	       "dX dir/wino", "ratio", "step");
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		const struct shape *s = &shapes[i];
		int rule = wino_of(s);
		if (rule < 0)
			continue;
		double f[2] = {0}, w[2] = {0}, x[2] = {0};
		for (int r = 0; r < 2; r++) /* alternate, twice */
			for (int k = 0; k < 2; k++) {
				double f1, b1, w1;
				time_path(s, k ? NN_CONV_WINO : NN_CONV_DIRECT,
				          reps, &f1, &b1, &w1);
				f[k] += f1 / 2, w[k] += w1 / 2;
				x[k] += (b1 - w1) / 2;
			}
		char name[32], rs[16];
		snprintf(name, sizeof(name), "%dx%dx%d>%d", s->h, s->h, s->ic,
		         s->oc);
		snprintf(
		    rs, sizeof(rs), "%s%s%s", rule & NN_WINO_FWD ? "f" : "",
		    rule & NN_WINO_DW ? "w" : "", rule & NN_WINO_DX ? "x" : "");
		printf("%-18s %-5s %7.3f %7.3f %5.2fx | %7.3f %7.3f %5.2fx | "
		       "%7.3f %7.3f %5.2fx | %5.2fx\n",
		       name, rule ? rs : "-", 1e3 * f[0], 1e3 * f[1],
		       f[0] / f[1], 1e3 * w[0], 1e3 * w[1], w[0] / w[1],
		       1e3 * x[0], 1e3 * x[1], x[1] > 0 ? x[0] / x[1] : 0,
		       (f[0] + w[0] + x[0]) / (f[1] + w[1] + x[1]));
	}
}

int
main(int argc, char **argv)
{
	blas_select_core(argv);
	openblas_set_num_threads(1);
	int reps = argc > 1 ? atoi(argv[1]) : 20;
	if (argc > 2 && strcmp(argv[2], "wino") == 0) {
		if (argc > 3)
			batch = atoi(argv[3]) > 0 ? atoi(argv[3]) : 8;
		wino_table(reps);
		return 0;
	}
	printf("%-22s %-6s %9s %9s %9s %9s %7s %6s\n", "shape (batch 8)",
	       "rule", "gemm fwd", "bwd ms", "direct f", "bwd ms", "GF/s",
	       "ratio");
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		const struct shape *s = &shapes[i];
		double gf[2], gb[2];
		for (int k = 0; k < 2; k++) /* alternate, twice */
			time_path(s, NN_CONV_GEMM + k, reps, &gf[k], &gb[k],
			          NULL);
		double f2, b2;
		time_path(s, NN_CONV_GEMM, reps, &f2, &b2, NULL);
		gf[0] = (gf[0] + f2) / 2, gb[0] = (gb[0] + b2) / 2;
		time_path(s, NN_CONV_DIRECT, reps, &f2, &b2, NULL);
		gf[1] = (gf[1] + f2) / 2, gb[1] = (gb[1] + b2) / 2;
		int o = (s->h + 2 * s->p - s->k) / s->st + 1;
		double fl = 8.0 * o * o * s->k * s->k * s->ic * s->oc * 2;
		char name[32];
		int rule = rule_of(s);
		snprintf(name, sizeof(name), "%dx%dx%d>%d k%d s%d", s->h, s->h,
		         s->ic, s->oc, s->k, s->st);
		printf("%-22s %-6s %9.3f %9.3f %9.3f %9.3f %7.1f %5.2fx\n",
		       name, rule ? "direct" : "gemm", 1e3 * gf[0], 1e3 * gb[0],
		       1e3 * gf[1], 1e3 * gb[1],
		       3 * fl / (gf[1] + gb[1]) * 1e-9,
		       (gf[0] + gb[0]) / (gf[1] + gb[1]));
	}
	wino_table(reps);
	return 0;
}
