/*
 * xor.c — the classic demo: a small MLP learns the 3-input XOR (parity)
 * truth table with SGD, sigmoid units and mean squared error.
 *
 *	bin/xor [seed]     prints the table and exits 0 when all 8 rows are
 *right
 */
#include <stdio.h>
#include <stdlib.h>

#include "nn.h"

int
main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
	float x[8 * 3], t[8];
	for (int r = 0; r < 8; r++) {
		for (int b = 0; b < 3; b++)
			x[r * 3 + b] = (float)((r >> b) & 1);
		t[r] = (float)(((r >> 0) ^ (r >> 1) ^ (r >> 2)) & 1);
	}
	const struct nn_spec specs[] = {
	    {.kind = NN_DENSE, .out = 8},
	    {.kind = NN_SIGMOID},
	    {.kind = NN_DENSE, .out = 1},
	    {.kind = NN_SIGMOID},
	};
	char err[128];
	nn_net *net = nn_new(1, 1, 3, specs, 4, NN_LOSS_MSE, err, sizeof(err));
	if (!net) {
		fprintf(stderr, "xor: %s\n", err);
		return 1;
	}
	nn_init(net, seed);
	nn_ctx *c = nn_ctx_new(net, 8, 1);
	struct nn_opt opt;
	nn_opt_init(&opt, NN_OPT_SGD, net, 2.0f, 0.9f, 0.0f);
	float loss = 0;
	int ok = 0, epoch;
	for (epoch = 1; epoch <= 20000; epoch++) {
		nn_forward(c, x, 8, 1, NULL);
		loss = nn_loss_backward(c, NULL, t, 8, &ok);
		nn_opt_step(&opt, net, nn_ctx_grads(c));
		if (ok == 8 && loss < 0.01f)
			break;
	}
	const float *y = nn_predict(c, x, 8);
	printf(" a b c | want  got\n");
	ok = 0;
	for (int r = 0; r < 8; r++) {
		int good = (y[r] >= 0.5f) == (t[r] >= 0.5f);
		ok += good;
		printf(" %d %d %d |  %d   %.3f %s\n", (int)x[r * 3],
		       (int)x[r * 3 + 1], (int)x[r * 3 + 2], (int)t[r], y[r],
		       good ? "" : "WRONG");
	}
	printf("%d/8 correct after %d epochs, mse %.5f\n", ok,
	       epoch > 20000 ? 20000 : epoch, loss);
	nn_opt_free(&opt);
	nn_ctx_free(c);
	nn_free(net);
	return ok == 8 ? 0 : 1;
}
