/*
 * nn_profile.c — times each layer of a net on random data, forward and
 * backward, single-threaded: where a training step spends its time.
 *
 *	bin/nn_profile [mlp|cnn|resnet] [batch] [steps]
 *
 * cnn: the Fashion-MNIST CNN (28x28x1); resnet: the train worker's
 * default colour resnet (64x64x3, widths 16,32,64, one basic block a
 * stage, 4 classes). NN_CONV_PATH=gemm|direct|wino forces the
 * convolutions' path (default: the engine's per-shape rule; direct: no
 * Winograd; wino: Winograd wherever it fits) for before/after figures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "blas.h"
#include "nn.h"
#include "nn_int.h"

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
#define RCONV(o, k_, s_, p_, in_)                                              \
	{                                                                      \
		.kind = NN_CONV, .out = (o), .k = (k_), .stride = (s_),        \
		.pad = (p_), .in = (in_)                                       \
	}
#define RL(k_)                                                                 \
	{                                                                      \
		.kind = NN_##k_                                                \
	}
#define RADD(s_)                                                               \
	{                                                                      \
		.kind = NN_ADD, .skip = (s_)                                   \
	}
	/* build_resnet's layers (workers/train/params.c): a basic block
	 * whose shortcut is its input, and one with a 1x1 stride-2
	 * projection (reading layer i - 6: the previous block's ReLU) */
#define BLOCK(w)                                                               \
	RCONV(w, 3, 1, 1, 0), RL(BN), RL(RELU), RCONV(w, 3, 1, 1, 0), RL(BN),  \
	    RADD(6), RL(RELU)
#define BLOCK_DOWN(w)                                                          \
	RCONV(w, 3, 2, 1, 0), RL(BN), RL(RELU), RCONV(w, 3, 1, 1, 0), RL(BN),  \
	    RCONV(w, 1, 2, 0, 6), RL(BN), RADD(3), RL(RELU)
	const struct nn_spec resnet[] = {RCONV(16, 3, 1, 1, 0),
	                                 RL(BN),
	                                 RL(RELU),
	                                 BLOCK(16),
	                                 BLOCK_DOWN(32),
	                                 BLOCK_DOWN(64),
	                                 RL(GAP),
	                                 {.kind = NN_DENSE, .out = 4}};
	const struct {
		const char *name;
		const struct nn_spec *specs;
		int n, side, ch;
	} archs[] = {
	    {"cnn", cnn, (int)(sizeof(cnn) / sizeof(cnn[0])), 28, 1},
	    {"mlp", mlp, (int)(sizeof(mlp) / sizeof(mlp[0])), 28, 1},
	    {"resnet", resnet, (int)(sizeof(resnet) / sizeof(resnet[0])), 64,
	     3},
	};
	int a = 0;
	while (a < 3 && strcmp(arch, archs[a].name) != 0)
		a++;
	if (a == 3) {
		fprintf(stderr, "nn_profile: cnn, mlp or resnet\n");
		return 2;
	}
	const char *path = getenv("NN_CONV_PATH");
	if (path)
		nn_conv_path = strcmp(path, "gemm") == 0     ? NN_CONV_GEMM
		               : strcmp(path, "direct") == 0 ? NN_CONV_DIRECT
		               : strcmp(path, "wino") == 0   ? NN_CONV_WINO
		                                             : NN_CONV_AUTO;
	char err[128];
	int side = archs[a].side, insz = side * side * archs[a].ch;
	nn_net *net = nn_new(side, side, archs[a].ch, archs[a].specs,
	                     archs[a].n, NN_LOSS_XENT, err, sizeof(err));
	if (!net) {
		fprintf(stderr, "nn_profile: %s\n", err);
		return 1;
	}
	openblas_set_num_threads(1);
	nn_init(net, 1);
	nn_ctx *c = nn_ctx_new(net, B, 1);
	struct nn_rng r;
	nn_rng_seed(&r, 1);
	float *x = xmalloc(sizeof(float) * insz * B);
	uint16_t *lab = xmalloc(sizeof(uint16_t) * B);
	for (int i = 0; i < insz * B; i++)
		x[i] = nn_rng_normal(&r);
	for (int i = 0; i < B; i++)
		lab[i] = (uint16_t)nn_rng_below(&r, (uint32_t)nn_out_size(net));
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
