/* fuzz_model.c — libFuzzer harness for the .tym loader (model_parse). */
#include <stdint.h>
#include <stdlib.h>

#include "model.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	enum model_err e;
	model *m = model_parse(data, size, &e, err, sizeof(err));
	if (m) {
		/* a model that loads must also run */
		const struct model_meta *mm = model_meta(m);
		size_t isz = (size_t)mm->width * mm->height * mm->channels;
		const nn_net *net = model_net_c(m);
		int small = isz <= 4096 && nn_nlayers(net) <= 16;
		for (int i = 0; small && i < nn_nlayers(net); i++) {
			int h, w, c;
			nn_layer_shape(net, i, &h, &w, &c);
			small = (long)h * w * c <= 65536;
		}
		if (small) {
			uint8_t *px = calloc(isz, 1);
			float *p = malloc(sizeof(float) *
			    (size_t)nn_out_size(model_net_c(m)));
			model_predict_u8(m, px, 1, p);
			free(px);
			free(p);
		}
		model_free(m);
	}
	return 0;
}
