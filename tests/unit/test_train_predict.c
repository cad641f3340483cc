/*
 * test_train_predict.c — what training reports is what inference sees:
 * model_predict_u8 on the saved model.tym, fed the raw uint8 validation
 * images, reproduces the job's confusion matrix exactly (same
 * normalisation floats, same weights, same forward pass); and
 * predictions.json is written from the top classes the run kept.
 */
#include <math.h>
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
	TH_TEST("top classes: most probable first, ties to the lower class")
	{
		const float pr[2][4] = {{0.1f, 0.4f, 0.1f, 0.4f},
		                        {0.7f, 0.05f, 0.05f, 0.2f}};
		struct train_top t[2];
		train_top_rows(&pr[0][0], 2, 4, t);
		CHECK(t[0].cls[0] == 1 && t[0].cls[1] == 3 && t[0].cls[2] == 0);
		CHECK(t[0].p[0] == 0.4f && t[0].p[2] == 0.1f);
		CHECK(t[1].cls[0] == 0 && t[1].cls[1] == 3 && t[1].cls[2] == 1);
		train_top_rows(&pr[1][0], 1, 2, t); /* k < TRAIN_TOP */
		CHECK(t[0].cls[0] == 0 && t[0].cls[1] == 1 &&
		      t[0].p[1] == 0.05f);
	}
	TH_TEST("predictions.json is the kept top classes, no pass of its own")
	{
		/* rows the net would never give: the file must show these */
		char *path = xasprintf("%s/out/model.tym", models);
		model *m = model_load(path, NULL, err, sizeof(err));
		struct train_data d;
		CHECK(m &&
		      train_data_open(&d, data, "set", err, sizeof(err)) == 0);
		struct train_top *top = xcalloc(NV, sizeof(*top));
		for (int i = 0; i < NV; i++)
			top[i] = (struct train_top){{0.5f, 0.25f, 0.125f},
			                            {(uint16_t)(i % K), 3, 2}};
		struct train_summary s = {.d = &d, .top = top};
		s.net = m ? model_net(m) : NULL;
		char *odir = xasprintf("%s/fake", models);
		CHECK(util_mkdirs(odir, 0755) == 0);
		if (m)
			CHECK(train_write_predictions(odir, &s, err,
			                              sizeof(err)) == 0);
		char *pp = xasprintf("%s/predictions.json", odir);
		size_t len;
		char *txt = util_read_file(pp, 1 << 24, &len);
		cJSON *j = txt ? cJSON_Parse(txt) : NULL;
		cJSON *rows = cJSON_GetObjectItem(j, "rows");
		CHECK(cJSON_GetArraySize(rows) == NV);
		int same = rows != NULL, i = 0;
		for (const cJSON *row = rows ? rows->child : NULL; row;
		     row = row->next, i++) {
			const cJSON *t = cJSON_GetArrayItem(row, 3);
			same &=
			    cJSON_GetArrayItem(row, 2)->valueint == i % K &&
			    cJSON_GetArraySize(t) == 3 &&
			    cJSON_GetArrayItem(cJSON_GetArrayItem(t, 1), 0)
			            ->valueint == 3 &&
			    fabs(cJSON_GetArrayItem(cJSON_GetArrayItem(t, 2), 1)
			             ->valuedouble -
			         0.125) < 1e-9;
		}
		CHECK(same);
		cJSON_Delete(j);
		free(txt), free(pp), free(odir), free(top), free(path);
		if (m)
			train_data_close(&d);
		model_free(m);
	}
	TH_TEST("an mlp starts as PyTorch's nn.Linear, a cnn as before")
	{
		/* U(+-1/sqrt(fan_in)) weights and biases for all-dense nets */
		static const char *const arch[] = {
		    "{\"data\":\"set\",\"output\":\"i\",\"model\":"
		    "{\"arch\":\"mlp\",\"hidden\":[32]}}",
		    "{\"data\":\"set\",\"output\":\"i\",\"model\":"
		    "{\"arch\":\"cnn\",\"conv\":[4],\"hidden\":[16]}}"};
		struct train_data d;
		CHECK(train_data_open(&d, data, "set", err, sizeof(err)) == 0);
		for (int a = 0; a < 2; a++) {
			cJSON *j = cJSON_Parse(arch[a]);
			struct train_params q;
			CHECK(train_params_parse(j, &q, err, sizeof(err)) == 0);
			cJSON_Delete(j);
			nn_net *net = train_net_new(&q, &d, err, sizeof(err));
			CHECK(net != NULL);
			if (!net)
				continue;
			nn_init(net, 5);
			int in_bound = 1, dense = 0;
			float bmax = 0, *w = nn_params(net);
			for (int i = 0; i < nn_nlayers(net); i++) {
				size_t wo, wn, bo, bn;
				nn_layer_params(net, i, &wo, &wn, &bo, &bn);
				if (nn_layer_spec(net, i)->kind != NN_DENSE)
					continue;
				dense++;
				float lim = 1.0f / sqrtf((float)(wn / bn));
				for (size_t e = 0; e < wn + bn; e++)
					in_bound &=
					    fabsf(w[e < wn ? wo + e
					                   : bo + e - wn]) <=
					    lim;
				for (size_t e = 0; e < bn; e++)
					bmax = fmaxf(bmax, fabsf(w[bo + e]));
			}
			CHECK(dense == 2);
			if (a == 0)
				CHECK(in_bound && bmax > 0);
			else /* He / LeCun normal, zero biases */
				CHECK(!in_bound && bmax == 0);
			nn_free(net);
		}
		train_data_close(&d);
	}
	cJSON_Delete(res);
	cJSON_Delete(pj);
	if (util_rmtree(root))
		perror(root);
	free(data), free(models), free(dir);
	return th_done();
}
