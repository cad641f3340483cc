/*
 * test_ctx.c — the buffers of a context (nn_plan.c): sharing them must not
 * change a value. For each net of a table (the train worker's own
 * architectures and a few hand-made ones), a training step and an
 * inference pass through a context with shared buffers give the very
 * bytes of a context where every layer has its own. And the memory the
 * sharing is for (issue 14): the default 64x64 resnet's 8-image training
 * context.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../th.h"
#include "nn_int.h"
#include "../../workers/train/train.h"

struct row {
	const char *name;
	int h, w, c, batch, classes;
	const char *model; /* the train API's "model", or NULL: specs */
	enum nn_loss loss;
	int n;
	struct nn_spec s[8];
};

#define ARCH(name_, h_, w_, c_, batch_, classes_, model_)                      \
	{                                                                      \
		.name = (name_), .h = (h_), .w = (w_), .c = (c_),              \
		.batch = (batch_), .classes = (classes_), .model = (model_)    \
	}

static const struct row rows[] = {
    /* 16, 32 channels: the direct convolution kernels */
    ARCH("resnet direct", 12, 12, 3, 5, 4,
         "{\"arch\":\"resnet\",\"widths\":[16,32],\"blocks\":[2,1]}"),
    /* 4, 8 channels: im2col, small enough to be kept */
    ARCH("resnet im2col", 10, 9, 2, 3, 3,
         "{\"arch\":\"resnet\",\"widths\":[4,8,6]}"),
    /* conv, ReLU fused into the pool */
    ARCH("cnn", 12, 12, 1, 4, 5,
         "{\"arch\":\"cnn\",\"conv\":[3,5],\"hidden\":[7]}"),
    ARCH("cnn direct", 10, 10, 3, 3, 3, "{\"arch\":\"cnn\",\"conv\":[16,32]}"),
    ARCH("mlp dropout", 4, 4, 1, 6, 3,
         "{\"arch\":\"mlp\",\"hidden\":[12,7],\"dropout\":0.3}"),
    ARCH("lstm two layers", 5, 3, 2, 3, 4,
         "{\"arch\":\"lstm\",\"hidden\":[6,5]}"),
    {.name = "dense-bn-relu",
     .h = 1,
     .w = 1,
     .c = 5,
     .batch = 6,
     .n = 4,
     .s = {{.kind = NN_DENSE, .out = 6},
           {.kind = NN_BN},
           {.kind = NN_RELU},
           {.kind = NN_DENSE, .out = 3}}},
    /* ReLU after ReLU cannot overwrite it; sigmoid keeps its output */
    {.name = "relu-relu-sigmoid+mse",
     .h = 1,
     .w = 1,
     .c = 4,
     .batch = 3,
     .loss = NN_LOSS_MSE,
     .n = 5,
     .s = {{.kind = NN_DENSE, .out = 5},
           {.kind = NN_RELU},
           {.kind = NN_RELU},
           {.kind = NN_DENSE, .out = 2},
           {.kind = NN_SIGMOID}}},
};

static nn_net *
row_net(const struct row *r)
{
	char err[256];
	struct nn_spec s[TRAIN_MAX_LAYERS];
	const struct nn_spec *specs = r->s;
	int n = r->n;
	if (r->model) {
		char js[512];
		snprintf(js, sizeof(js),
		         "{\"data\":\"d\",\"output\":\"o\",\"model\":%s}",
		         r->model);
		cJSON *j = cJSON_Parse(js);
		struct train_params p;
		int rc = train_params_parse(j, &p, err, sizeof(err));
		cJSON_Delete(j);
		if (rc)
			return NULL;
		n = train_arch_specs(&p, r->classes, s, TRAIN_MAX_LAYERS, err,
		                     sizeof(err));
		if (n < 0)
			return NULL;
		specs = s;
	}
	nn_net *net =
	    nn_new(r->h, r->w, r->c, specs, n, r->loss, err, sizeof(err));
	if (net)
		nn_init(net, 7);
	return net;
}

/* One training step (forward, loss, backward) through c: the logits,
 * the loss and every parameter gradient into out. */
static size_t
train_step(nn_ctx *c, const nn_net *net, const float *x, const uint16_t *lab,
           const float *tgt, int n, float *out)
{
	struct nn_rng r;
	nn_rng_seed(&r, 3);
	size_t k = (size_t)n * nn_out_size(net), np = nn_nparams(net);
	memcpy(out, nn_forward(c, x, n, 1, &r), sizeof(float) * k);
	out[k] = nn_loss_backward(c, tgt ? NULL : lab, tgt, n, NULL);
	memcpy(out + k + 1, nn_ctx_grads(c), sizeof(float) * np);
	return k + 1 + np;
}

int
main(void)
{
	for (size_t ri = 0; ri < sizeof(rows) / sizeof(rows[0]); ri++) {
		const struct row *r = &rows[ri];
		TH_TEST(r->name)
		{
			nn_net *net = row_net(r);
			CHECK(net != NULL);
			if (!net)
				continue;
			int n = r->batch, in = nn_in_size(net),
			    k = nn_out_size(net);
			struct nn_rng g;
			nn_rng_seed(&g, 11);
			float *x = xmalloc(sizeof(float) * (size_t)n * in);
			float *tgt = xmalloc(sizeof(float) * (size_t)n * k);
			uint16_t *lab = xmalloc(sizeof(uint16_t) * (size_t)n);
			for (int i = 0; i < n * in; i++)
				x[i] = nn_rng_normal(&g);
			for (int i = 0; i < n * k; i++)
				tgt[i] = nn_rng_uniform(&g);
			for (int i = 0; i < n; i++)
				lab[i] =
				    (uint16_t)nn_rng_below(&g, (uint32_t)k);
			const float *t = r->loss == NN_LOSS_MSE ? tgt : NULL;
			size_t len = (size_t)n * k + 1 + nn_nparams(net);
			float *a = xmalloc(sizeof(float) * len);
			float *b = xmalloc(sizeof(float) * len);
			nn_ctx *cs = nn_ctx_new(net, n, 1);
			nn_ctx *cf = nn_ctx_new_flat(net, n, 1);
			/* twice: the second step reads buffers the first
			 * left behind */
			for (int rep = 0; rep < 2; rep++) {
				train_step(cs, net, x, lab, t, n, a);
				train_step(cf, net, x, lab, t, n, b);
				CHECK(memcmp(a, b, sizeof(float) * len) == 0);
			}
			CHECK(nn_ctx_bytes(cs) <= nn_ctx_bytes(cf));
			/* evaluation through a training context */
			memcpy(a, nn_predict(cs, x, n), sizeof(float) * n * k);
			memcpy(b, nn_predict(cf, x, n), sizeof(float) * n * k);
			CHECK(memcmp(a, b, sizeof(float) * n * k) == 0);
			nn_ctx_free(cs);
			nn_ctx_free(cf);
			/* inference contexts free outputs as they go */
			cs = nn_ctx_new(net, n, 0);
			cf = nn_ctx_new_flat(net, n, 0);
			memcpy(a, nn_predict(cs, x, n), sizeof(float) * n * k);
			memcpy(b, nn_predict(cf, x, n), sizeof(float) * n * k);
			CHECK(memcmp(a, b, sizeof(float) * n * k) == 0);
			CHECK(nn_ctx_bytes(cs) <= nn_ctx_bytes(cf));
			nn_ctx_free(cs);
			nn_ctx_free(cf);
			free(a);
			free(b);
			free(x);
			free(tgt);
			free(lab);
			nn_free(net);
		}
	}
	TH_TEST("default resnet 64x64x3: an 8-image training context")
	{
		struct row r =
		    ARCH("", 64, 64, 3, 8, 6, "{\"arch\":\"resnet\"}");
		nn_net *net = row_net(&r);
		CHECK(net != NULL);
		if (net) {
			nn_ctx *cs = nn_ctx_new(net, 8, 1);
			nn_ctx *cf = nn_ctx_new_flat(net, 8, 1);
			double ms = nn_ctx_bytes(cs) / 1048576.0,
			       mf = nn_ctx_bytes(cf) / 1048576.0;
			printf("  resnet context, 8 images: %.1f MB shared, "
			       "%.1f MB flat\n",
			       ms, mf);
			/* 128 MB each before (two per run) */
			CHECK(ms < 40.0);
			CHECK(ms < 0.5 * mf);
			nn_ctx_free(cs);
			nn_ctx_free(cf);
			nn_free(net);
		}
	}
	return th_done();
}
