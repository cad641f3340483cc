/*
 * test_train_predict.c — what training reports is what inference sees:
 * model_predict_u8 on the saved model.tym, fed the raw uint8 validation
 * images, reproduces the job's confusion matrix exactly (same
 * normalisation floats, same weights, same forward pass).
 */
#include <stdlib.h>

#include "../../workers/train/train.h"
#include "../th.h"
#include "model.h"
#include "tensor.h"

int
main(void)
{
	char root[] = "/tmp/ty-trainpred-XXXXXX";
	if (!mkdtemp(root))
		return 1;
	char *data = xasprintf("%s/data", root);
	char *models = xasprintf("%s/models", root);
	char *dir = xasprintf("%s/set", data);
	char err[512];
	enum { S = 10, N = 400, NV = 120, K = 4 };
	if (util_mkdirs(dir, 0755))
		return 1;
	/* class k: a bright kxk-ish patch in quadrant k, on noise */
	struct nn_rng r;
	nn_rng_seed(&r, 11);
	for (int split = 0; split < 2; split++) {
		int n = split ? NV : N;
		uint16_t *lab = xmalloc(sizeof(uint16_t) * n);
		uint8_t *px = xmalloc((size_t)n * S * S * 3);
		for (int i = 0; i < n; i++) {
			int k = (int)nn_rng_below(&r, K);
			uint8_t *im = px + (size_t)i * S * S * 3;
			for (int j = 0; j < S * S * 3; j++)
				im[j] = (uint8_t)nn_rng_below(&r, 120);
			int y0 = (k / 2) * 5, x0 = (k % 2) * 5;
			for (int y = 0; y < 4; y++)
				for (int x = 0; x < 4; x++)
					if (nn_rng_below(&r, 3))
						im[((y0 + y) * S + x0 + x) * 3 +
						   k % 3] = 255;
			lab[i] = (uint16_t)k;
		}
		char *p = xasprintf("%s/%s.tyd", dir, split ? "val" : "train");
		if (tensor_write(p, n, S, S, 3, K, lab, px, err, sizeof(err)))
			return 1;
		free(p);
		free(lab);
		free(px);
	}
	char *mp = xasprintf("%s/meta.json", dir);
	const char *js = "{\"classes\":[\"a\",\"b\",\"c\",\"d\"],"
	                 "\"mean\":[0.3,0.31,0.29],\"std\":[0.2,0.21,0.19]}";
	if (util_write_atomic(mp, js, strlen(js)))
		return 1;
	free(mp);

	cJSON *pj = cJSON_Parse("{\"data\":\"set\",\"output\":\"out\","
	                        "\"model\":{\"arch\":\"cnn\",\"conv\":[4],"
	                        "\"hidden\":[16]},\"epochs\":3,"
	                        "\"batch_size\":16,\"lr\":0.005,\"seed\":2}");
	struct train_params p;
	cJSON *res = NULL;
	TH_TEST("train a 3-channel cnn")
	{
		CHECK(train_params_parse(pj, &p, err, sizeof(err)) == 0);
		CHECK(train_run(&p, data, models, 2, NULL, &res, err,
		                sizeof(err)) == TRAIN_DONE);
	}
	TH_TEST("model_predict_u8 reproduces the validation confusion matrix")
	{
		char *path = xasprintf("%s/out/model.tym", models);
		model *m = model_load(path, NULL, err, sizeof(err));
		char *vp = xasprintf("%s/val.tyd", dir);
		struct tensor t;
		CHECK(m != NULL);
		CHECK(tensor_open(vp, &t, err, sizeof(err)) == 0);
		if (m && res) {
			float *prob = xmalloc(sizeof(float) * NV * K);
			CHECK(model_predict_u8(m, t.pixels, NV, prob) == 0);
			int cm[K][K] = {{0}};
			for (int i = 0; i < NV; i++) {
				int am = 0;
				for (int j = 1; j < K; j++)
					if (prob[i * K + j] > prob[i * K + am])
						am = j;
				cm[t.labels[i]][am]++;
			}
			cJSON *conf = cJSON_GetObjectItem(res, "confusion");
			int same = 1;
			for (int a = 0; a < K; a++)
				for (int b = 0; b < K; b++)
					same &=
					    cJSON_GetArrayItem(
					        cJSON_GetArrayItem(conf, a), b)
					        ->valueint == cm[a][b];
			CHECK(same);
			CHECK(cJSON_GetObjectItem(res, "val_acc")->valuedouble >
			      0.9);
			free(prob);
			tensor_close(&t);
		}
		model_free(m);
		free(vp);
		free(path);
	}
	cJSON_Delete(res);
	cJSON_Delete(pj);
	if (util_rmtree(root))
		perror(root);
	free(data), free(models), free(dir);
	return th_done();
}
