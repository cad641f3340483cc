/*
 * test_model.c — the .tym file: round trip, and refusal of every kind of
 * damage (truncation at every length, a flipped bit anywhere, wrong
 * magic/version, trailing bytes, a header that lies about the weights).
 */
#include <math.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#include "../th.h"
#include "model.h"

static nn_net *
small_cnn(void)
{
	const struct nn_spec s[] = {
	    {.kind = NN_CONV, .out = 2, .k = 3, .stride = 1, .pad = 1},
	    {.kind = NN_RELU},
	    {.kind = NN_MAXPOOL},
	    {.kind = NN_DROPOUT, .p = 0.25f},
	    {.kind = NN_FLATTEN},
	    {.kind = NN_DENSE, .out = 3},
	};
	char err[128];
	nn_net *net = nn_new(4, 6, 2, s, 6, NN_LOSS_XENT, err, sizeof(err));
	nn_init(net, 5);
	return net;
}

/* Every newer row: BN, a stride-2 residual block with a 1x1 projection,
 * global average pooling; trained a few steps so the running statistics
 * are not their first values. */
static nn_net *
small_resnet(void)
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
	    {.kind = NN_DENSE, .out = 3},
	};
	char err[128];
	nn_net *net = nn_new(4, 6, 2, s, 11, NN_LOSS_XENT, err, sizeof(err));
	if (!net)
		fprintf(stderr, "%s\n", err), abort();
	nn_init(net, 5);
	struct nn_opt o;
	nn_opt_init(&o, NN_OPT_ADAMW, net, 0.01f, 0, 0.01f);
	nn_ctx *c = nn_ctx_new(net, 4, 1);
	struct nn_rng r;
	nn_rng_seed(&r, 1);
	float x[4 * 48];
	uint16_t lab[4] = {0, 1, 2, 1};
	for (int step = 0; step < 5; step++) {
		for (int i = 0; i < 4 * 48; i++)
			x[i] = nn_rng_normal(&r);
		nn_forward(c, x, 4, 1, &r);
		nn_loss_backward(c, lab, NULL, 4, NULL);
		nn_opt_step(&o, net, nn_ctx_grads(c));
	}
	nn_ctx_free(c);
	nn_opt_free(&o);
	return net;
}

static nn_net *
small_lstm(void)
{
	const struct nn_spec s[] = {
	    {.kind = NN_LSTM, .out = 5, .seq = 1},
	    {.kind = NN_LSTM, .out = 4},
	    {.kind = NN_DENSE, .out = 3},
	};
	char err[128];
	nn_net *net = nn_new(4, 6, 2, s, 3, NN_LOSS_XENT, err, sizeof(err));
	nn_init(net, 6);
	return net;
}

static char *names[] = {"cat", "dog", "\"quoted\" <b>"};

static void
meta_of(struct model_meta *mm)
{
	memset(mm, 0, sizeof(*mm));
	mm->width = 6, mm->height = 4, mm->channels = 2, mm->nclasses = 3;
	mm->classes = names;
	mm->mean[0] = 0.5f, mm->mean[1] = 0.25f;
	mm->std[0] = 0.2f, mm->std[1] = 0.3f;
}

/* Rewrites the checksum so only the intended damage is seen. */
static void
resum(uint8_t *b, size_t len)
{
	crypto_generichash(b + len - 32, 32, b, len - 32, NULL, 0);
}

static enum model_err
parse_code(const uint8_t *b, size_t len)
{
	enum model_err e = MODEL_OK;
	char err[256];
	model *m = model_parse(b, len, &e, err, sizeof(err));
	if (m) {
		model_free(m);
		return MODEL_OK;
	}
	return e;
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	nn_net *net = small_cnn();
	struct model_meta mm;
	meta_of(&mm);
	cJSON *extra = cJSON_Parse("{\"train\":{\"lr\":0.1,\"seed\":3}}");
	float state[5] = {1, 2, 3, 4, 5};
	uint8_t *b;
	size_t len;
	char dir[] = "/tmp/ty-model-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char *path = xasprintf("%s/m.tym", dir);

	TH_TEST("round trip through a file")
	{
		char err[256];
		CHECK(model_save(path, net, &mm, extra, state, 5, err,
		                 sizeof(err)) == MODEL_OK);
		enum model_err e;
		model *m = model_load(path, &e, err, sizeof(err));
		CHECK(m != NULL);
		if (!m)
			continue;
		const struct model_meta *g = model_meta(m);
		CHECK(g->width == 6 && g->height == 4 && g->channels == 2);
		CHECK(g->nclasses == 3);
		CHECK_STR(g->classes[2], "\"quoted\" <b>");
		CHECK(g->mean[1] == 0.25f && g->std[0] == 0.2f);
		CHECK(nn_nparams(model_net(m)) == nn_nparams(net));
		CHECK(memcmp(nn_params(model_net(m)), nn_params(net),
		             4 * nn_nparams(net)) == 0);
		size_t ns;
		const float *st = model_state(m, &ns);
		CHECK(ns == 5 && st[4] == 5.0f);
		const cJSON *tr = cJSON_GetObjectItem(model_header(m), "train");
		CHECK(cJSON_GetObjectItem(tr, "seed") &&
		      cJSON_GetObjectItem(tr, "seed")->valuedouble == 3);
		CHECK(nn_nlayers(model_net(m)) == 6);
		CHECK(nn_layer_spec(model_net(m), 3)->p == 0.25f);
		/* the loaded model predicts exactly as the original */
		uint8_t px[2 * 4 * 6 * 2];
		for (size_t i = 0; i < sizeof(px); i++)
			px[i] = (uint8_t)(i * 37);
		float p1[6], p2[6];
		model_predict_u8(m, px, 2, p1);
		float x[2 * 48];
		model_normalize_u8(&mm, px, 2, x);
		CHECK(x[1] == (px[1] / 255.0f - 0.25f) / 0.3f ||
		      fabsf(x[1] - (px[1] / 255.0f - 0.25f) / 0.3f) < 1e-5f);
		nn_ctx *c = nn_ctx_new(net, 2, 0);
		memcpy(p2, nn_predict(c, x, 2), sizeof(p2));
		nn_ctx_free(c);
		CHECK(memcmp(p1, p2, sizeof(p1)) == 0);
		CHECK(fabsf(p1[0] + p1[1] + p1[2] - 1.0f) < 1e-5f);
		model_free(m);
	}
	CHECK(model_serialize(net, &mm, extra, state, 5, &b, &len) == MODEL_OK);

	TH_TEST("every truncation is refused")
	{
		int bad = 0;
		for (size_t l = 0; l < len; l++)
			bad += parse_code(b, l) == MODEL_OK;
		CHECK(bad == 0);
		CHECK(parse_code(b, len / 2) == MODEL_ETRUNC);
		CHECK(parse_code(b, len) == MODEL_OK);
	}
	TH_TEST("a flipped bit anywhere is refused")
	{
		int bad = 0;
		for (size_t i = 0; i < len; i++) {
			b[i] ^= (uint8_t)(1u << (i % 8));
			bad += parse_code(b, len) == MODEL_OK;
			b[i] ^= (uint8_t)(1u << (i % 8));
		}
		CHECK(bad == 0);
		b[len / 2] ^= 4;
		CHECK(parse_code(b, len) == MODEL_ECHECKSUM);
		b[len / 2] ^= 4;
	}
	TH_TEST("wrong version, even with a valid checksum")
	{
		b[4] = 2;
		resum(b, len);
		enum model_err e;
		char err[256] = "";
		CHECK(model_parse(b, len, &e, err, sizeof(err)) == NULL);
		CHECK(e == MODEL_EVERSION);
		CHECK(strstr(err, "version 2") != NULL);
		b[4] = 1;
		resum(b, len);
		CHECK(parse_code(b, len) == MODEL_OK);
	}
	TH_TEST("bad magic")
	{
		b[0] = 'X';
		CHECK(parse_code(b, len) == MODEL_EMAGIC);
		b[0] = 'T';
		CHECK(parse_code((const uint8_t *)"", 0) == MODEL_ETRUNC);
	}
	TH_TEST("trailing bytes")
	{
		uint8_t *c = xmalloc(len + 1);
		memcpy(c, b, len);
		c[len] = 0;
		CHECK(parse_code(c, len + 1) == MODEL_ETRUNC);
		free(c);
	}
	TH_TEST("header that lies about the weights")
	{
		/* a model saved for another net shape, re-labelled */
		const struct nn_spec s[] = {{.kind = NN_DENSE, .out = 3}};
		char err[128];
		nn_net *n2 =
		    nn_new(4, 6, 2, s, 1, NN_LOSS_XENT, err, sizeof(err));
		uint8_t *c;
		size_t cl;
		CHECK(model_serialize(n2, &mm, NULL, NULL, 0, &c, &cl) ==
		      MODEL_OK);
		CHECK(parse_code(c, cl) == MODEL_OK);
		/* change "out":3 to "out":4 in the header: sizes disagree */
		char *o = memmem(c, cl, "\"out\":3", 7);
		CHECK(o != NULL);
		if (o) {
			o[6] = '4';
			resum(c, cl);
			CHECK(parse_code(c, cl) == MODEL_EHEADER);
		}
		free(c);
		nn_free(n2);
	}
	TH_TEST("input fit: kept, absent means stretch, unknown refused")
	{
		struct model_meta lb = mm;
		uint8_t *c;
		size_t cl;
		char err[256];
		/* a file without the member (every older model) */
		CHECK(memmem(b, len, "\"fit\"", 5) == NULL);
		model *m = model_parse(b, len, NULL, err, sizeof(err));
		CHECK(m && model_meta(m)->fit == IMG_FIT_STRETCH);
		model_free(m);
		lb.fit = IMG_FIT_LETTERBOX;
		CHECK(model_serialize(net, &lb, NULL, NULL, 0, &c, &cl) ==
		      MODEL_OK);
		m = model_parse(c, cl, NULL, err, sizeof(err));
		CHECK(m && model_meta(m)->fit == IMG_FIT_LETTERBOX);
		model_free(m);
		char *o = memmem(c, cl, "\"fit\":\"letterbox\"", 17);
		CHECK(o != NULL);
		if (o) {
			static const char *const bad[] = {
			    "\"fit\":\"Letterbox\"",
			    "\"fit\":\"letterbo\\u0000\"",
			    "\"fit\":17.00000000", "\"fit\":null       ",
			    "\"fit\":[\"crop\"]   "};
			for (size_t i = 0; i < TY_ARRAY_LEN(bad); i++) {
				memcpy(o, bad[i], 17);
				resum(c, cl);
				CHECK(parse_code(c, cl) == MODEL_EHEADER);
			}
			memcpy(o, "\"fit\":\"crop\"     ", 17);
			resum(c, cl);
			m = model_parse(c, cl, NULL, err, sizeof(err));
			CHECK(m && model_meta(m)->fit == IMG_FIT_CROP);
			model_free(m);
		}
		free(c);
	}
	nn_net *(*const newer[])(void) = {small_resnet, small_lstm};
	for (size_t ni = 0; ni < TY_ARRAY_LEN(newer); ni++)
		TH_TEST(ni ? "lstm: round trip, damage refused"
		           : "bn, residual, gap: round trip, damage refused")
		{
			nn_net *rn = newer[ni]();
			uint8_t *c;
			size_t cl;
			CHECK(model_serialize(rn, &mm, NULL, NULL, 0, &c,
			                      &cl) == MODEL_OK);
			char err[256];
			model *m = model_parse(c, cl, NULL, err, sizeof(err));
			CHECK(m != NULL);
			if (!m) {
				fprintf(stderr, "  %s\n", err);
				free(c);
				nn_free(rn);
				continue;
			}
			CHECK(nn_nlayers(model_net(m)) == nn_nlayers(rn));
			for (int i = 0; i < nn_nlayers(rn); i++)
				CHECK(memcmp(nn_layer_spec(model_net(m), i),
				             nn_layer_spec(rn, i),
				             sizeof(struct nn_spec)) == 0);
			CHECK(memcmp(nn_params(model_net(m)), nn_params(rn),
			             4 * nn_nparams(rn)) == 0);
			/* inference (BN folded in) predicts as the net */
			uint8_t px[3 * 48];
			for (size_t i = 0; i < sizeof(px); i++)
				px[i] = (uint8_t)(i * 53);
			float p1[9], x[3 * 48];
			model_predict_u8(m, px, 3, p1);
			model_normalize_u8(&mm, px, 3, x);
			nn_ctx *ctx = nn_ctx_new(rn, 3, 0);
			const float *p2 = nn_predict(ctx, x, 3);
			double worst = 0;
			for (int i = 0; i < 9; i++)
				worst = fmax(worst, fabs(p1[i] - p2[i]));
			CHECK(worst < 1e-5);
			nn_ctx_free(ctx);
			model_free(m);
			int bad = 0;
			for (size_t l = 0; l < cl; l++)
				bad += parse_code(c, l) == MODEL_OK;
			for (size_t i = 0; i < cl; i++) {
				c[i] ^= (uint8_t)(1u << (i % 8));
				bad += parse_code(c, cl) == MODEL_OK;
				c[i] ^= (uint8_t)(1u << (i % 8));
			}
			CHECK(bad == 0);
			/* headers that lie, with valid checksums */
			static const char *const lies[][2] = {
			    {"\"skip\":3", "\"skip\":2"}, /* shapes differ */
			    {"\"skip\":3", "\"skip\":9"}, /* before layer 0 */
			    {"\"in\":3", "\"in\":0"},     /* 1x1 of the add */
			    {"\"seq\":1", "\"seq\":2"},
			    {"\"out\":5", "\"out\":6"}, /* lstm's weights */
			};
			int found = 0;
			for (size_t k = 0; k < TY_ARRAY_LEN(lies); k++) {
				char *o = memmem(c, cl, lies[k][0],
				                 strlen(lies[k][0]));
				if (!o)
					continue; /* a lie about the other net
					           */
				found++;
				memcpy(o, lies[k][1], strlen(lies[k][1]));
				resum(c, cl);
				CHECK(parse_code(c, cl) == MODEL_EHEADER);
				memcpy(o, lies[k][0], strlen(lies[k][0]));
				resum(c, cl);
			}
			CHECK(found == (ni ? 2 : 3));
			CHECK(parse_code(c, cl) == MODEL_OK);
			free(c);
			nn_free(rn);
		}
	TH_TEST("a negative running variance is refused")
	{
		nn_net *rn = small_resnet();
		size_t soff, sn;
		nn_layer_state(rn, 1, &soff, &sn);
		nn_params(rn)[soff + sn - 1] = -1.0f;
		uint8_t *c;
		size_t cl;
		CHECK(model_serialize(rn, &mm, NULL, NULL, 0, &c, &cl) ==
		      MODEL_OK);
		CHECK(parse_code(c, cl) == MODEL_EHEADER);
		free(c);
		nn_free(rn);
	}
	TH_TEST("missing file")
	{
		enum model_err e;
		char err[256];
		CHECK(model_load("/nonexistent/x.tym", &e, err, sizeof(err)) ==
		      NULL);
		CHECK(e == MODEL_EIO);
		CHECK(strstr(err, "No such file") != NULL);
	}
	free(b);
	unlink(path);
	rmdir(dir);
	free(path);
	cJSON_Delete(extra);
	nn_free(net);
	return th_done();
}
