/*
 * nn_profile.c — times each layer of a net on random data, forward and
 * backward, single-threaded: where a training step spends its time.
 *
 *	bin/nn_profile [mlp|cnn] [batch] [steps]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "blas.h"
#include "nn.h"

int
main(int argc, char **argv)
{
	blas_select_core(argv);
	const char *arch = argc > 1 ? argv[1] : "cnn";
	int B = argc > 2 ? atoi(argv[2]) : 32,
	    steps = argc > 3 ? atoi(argv[3]) : 50;
	const struct nn_spec cnn[] = {
	    {.kind = NN_CONV, .out = 16, .k = 3, .stride = 1, .pad = 1},
	    {.kind = NN_RELU},
	    {.kind = NN_MAXPOOL},
	    {.kind = NN_CONV, .out = 32, .k = 3, .stride = 1, .pad = 1},
	    {.kind = NN_RELU},
	    {.kind = NN_MAXPOOL},
	    {.kind = NN_FLATTEN},
	    {.kind = NN_DENSE, .out = 10},
	};
	const struct nn_spec mlp[] = {
	    {.kind = NN_DENSE, .out = 128},
	    {.kind = NN_RELU},
	    {.kind = NN_DENSE, .out = 10},
	};
	int is_cnn = strcmp(arch, "cnn") == 0;
	char err[128];
	nn_net *net = nn_new(28, 28, 1, is_cnn ? cnn : mlp, is_cnn ? 8 : 3,
	                     NN_LOSS_XENT, err, sizeof(err));
	if (!net)
		return 1;
	openblas_set_num_threads(1);
	nn_init(net, 1);
	nn_ctx *c = nn_ctx_new(net, B, 1);
	struct nn_rng r;
	nn_rng_seed(&r, 1);
	float *x = xmalloc(sizeof(float) * 784 * B);
	uint16_t *lab = xmalloc(sizeof(uint16_t) * B);
	for (int i = 0; i < 784 * B; i++)
		x[i] = nn_rng_normal(&r);
	for (int i = 0; i < B; i++)
		lab[i] = (uint16_t)nn_rng_below(&r, 10);
	nn_forward(c, x, B, 1, &r);
	nn_loss_backward(c, lab, NULL, B, NULL);
	nn_ctx_timing(c, 1);
	double t0 = util_now();
	for (int s = 0; s < steps; s++) {
		nn_forward(c, x, B, 1, &r);
		nn_loss_backward(c, lab, NULL, B, NULL);
	}
	double total = util_now() - t0;
	printf(
	    "%s batch %d, %s kernel, 1 thread: %.3f ms/step, %.0f images/s\n",
	    arch, B, blas_core_name(), 1e3 * total / steps, B * steps / total);
	for (int i = 0; i < nn_nlayers(net); i++) {
		double f, b;
		nn_ctx_layer_seconds(c, i, &f, &b);
		printf("  %2d %-8s fwd %7.3f ms  bwd %7.3f ms\n", i,
		       nn_kind_name(nn_layer_spec(net, i)->kind),
		       1e3 * f / steps, 1e3 * b / steps);
	}
	free(x);
	free(lab);
	nn_ctx_free(c);
	nn_free(net);
	return 0;
}
