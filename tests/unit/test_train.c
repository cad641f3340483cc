/*
 * test_train.c — the training job without HTTP: params validation, a tiny
 * synthetic image set learned to > 95 %, bit-identical reruns, resume
 * after a cancel equal to an uninterrupted run, early stopping, metrics.
 */
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../th.h"
#include "model.h"
#include "tensor.h"
#include "../../workers/train/train.h"

static char root[] = "/tmp/ty-train-XXXXXX";
static char *data_dir, *models_dir;

/*
 * Classes: 0 a horizontal bar, 1 a vertical bar, 2 a 3x3 blob, each at a
 * random place on noise. random_val: val labels are noise (unlearnable).
 */
static void
make_set(const char *name, int ntr, int nva, int random_val)
{
	enum { S = 12 };
	char err[256];
	char *dir = xasprintf("%s/%s", data_dir, name);
	if (util_mkdirs(dir, 0755))
		abort();
	struct nn_rng r;
	nn_rng_seed(&r, 42);
	for (int split = 0; split < 2; split++) {
		int n = split ? nva : ntr;
		uint16_t *lab = xmalloc(sizeof(uint16_t) * n);
		uint8_t *px = xmalloc((size_t)n * S * S);
		for (int i = 0; i < n; i++) {
			int c = (int)nn_rng_below(&r, 3);
			uint8_t *im = px + (size_t)i * S * S;
			for (int j = 0; j < S * S; j++)
				im[j] = (uint8_t)nn_rng_below(&r, 60);
			int a = 1 + (int)nn_rng_below(&r, S - 4);
			int b = 1 + (int)nn_rng_below(&r, S - 4);
			for (int k = 0; k < S; k++) {
				if (c == 0)
					im[a * S + k] = 250;
				else if (c == 1)
					im[k * S + a] = 250;
			}
			if (c == 2)
				for (int y = 0; y < 3; y++)
					for (int x = 0; x < 3; x++)
						im[(a + y) * S + b + x] = 250;
			lab[i] =
			    (uint16_t)(split && random_val ? nn_rng_below(&r, 3)
			                                   : (uint32_t)c);
		}
		char *p = xasprintf("%s/%s.tyd", dir, split ? "val" : "train");
		if (tensor_write(p, (uint32_t)n, S, S, 1, 3, lab, px, err,
		                 sizeof(err)))
			fprintf(stderr, "%s\n", err), abort();
		free(p);
		free(lab);
		free(px);
	}
	char *m = xasprintf("%s/meta.json", dir);
	const char *js = "{\"classes\":[\"h\",\"v\",\"blob\"],\"image\":"
	                 "{\"width\":12,\"height\":12,\"channels\":1},"
	                 "\"mean\":[0.2],\"std\":[0.3]}";
	if (util_write_atomic(m, js, strlen(js)))
		abort();
	free(m);
	free(dir);
}

static int
parse(const char *js, struct train_params *p, char *err, size_t n)
{
	cJSON *j = cJSON_Parse(js);
	int rc = train_params_parse(j, p, err, n);
	cJSON_Delete(j);
	return rc;
}

static int cancel_after, calls;
/* 2 for the determinism tests: the split of each batch across threads */
static int threads = 1;

static int
cancel_hook(void *arg)
{
	return ++calls > cancel_after;
}

static enum train_status
train(const char *js, cJSON **res, const struct train_hooks *h)
{
	struct train_params p;
	char err[512];
	if (parse(js, &p, err, sizeof(err))) {
		fprintf(stderr, "params: %s\n", err);
		return TRAIN_FAILED;
	}
	enum train_status st = train_run(&p, data_dir, models_dir, threads, h,
	                                 res, err, sizeof(err));
	if (st == TRAIN_FAILED)
		fprintf(stderr, "train: %s\n", err);
	return st;
}

static char *
slurp(const char *rel, size_t *len)
{
	char *p = xasprintf("%s/%s", models_dir, rel);
	char *s = util_read_file(p, 1 << 26, len);
	free(p);
	return s;
}

static const struct {
	const char *js;
	const char *want_err; /* NULL: valid */
} prow[] = {
    {"{\"data\":\"d\",\"output\":\"o\"}", NULL},
    {"{\"data\":\"d\",\"output\":\"o\",\"model\":{\"arch\":\"cnn\","
     "\"conv\":\"8, 16\",\"hidden\":[32]},\"optimizer\":\"sgd\","
     "\"augment\":{\"hflip\":true,\"shift\":3},\"early_stopping\":"
     "{\"patience\":2}}",
     NULL},
    {"{\"data\":\"/etc\",\"output\":\"o\"}", "relative"},
    {"{\"data\":\"a/../../b\",\"output\":\"o\"}", "data"},
    {"{\"data\":\"d\",\"output\":\"..\"}", "output"},
    {"{\"data\":\"d\"}", "output"},
    {"{\"data\":\"d\",\"output\":\"o\",\"workers\":65}", "workers"},
    {"{\"data\":\"d\",\"output\":\"o\",\"workers\":2,\"local_steps\":-1}",
     "local_steps"},
    {"{\"data\":\"d\",\"output\":\"o\",\"epochs\":0}", "epochs"},
    {"{\"data\":\"d\",\"output\":\"o\",\"epochs\":2.5}", "epochs"},
    {"{\"data\":\"d\",\"output\":\"o\",\"lr\":-1}", "lr"},
    {"{\"data\":\"d\",\"output\":\"o\",\"lr\":\"0.1\"}", "lr"},
    {"{\"data\":\"d\",\"output\":\"o\",\"optimizer\":\"rmsprop\"}",
     "optimizer"},
    {"{\"data\":\"d\",\"output\":\"o\",\"model\":{\"arch\":\"rnn\"}}", "arch"},
    {"{\"data\":\"d\",\"output\":\"o\",\"model\":{\"hidden\":\"12,x\"}}",
     "hidden"},
    {"{\"data\":\"d\",\"output\":\"o\",\"model\":{\"hidden\":[0]}}", "hidden"},
    {"{\"data\":\"d\",\"output\":\"o\",\"batch_size\":100000}", "batch_size"},
    {"{\"data\":\"d\",\"output\":\"o\",\"augment\":\"yes\"}", "augment"},
    {"[1,2]", "object"},
    {"{\"data\":\"d\",\"output\":\"o\",\"model\":{\"arch\":\"resnet\","
     "\"widths\":[8,16],\"blocks\":[2,1]},\"optimizer\":\"adamw\","
     "\"lr_schedule\":\"cosine\",\"warmup_epochs\":1,"
     "\"label_smoothing\":0.1,\"class_weights\":true}",
     NULL},
    {"{\"data\":\"d\",\"output\":\"o\",\"model\":{\"arch\":\"lstm\","
     "\"hidden\":[64,32]}}",
     NULL},
    {"{\"data\":\"d\",\"output\":\"o\",\"model\":{\"arch\":\"lstm\","
     "\"hidden\":[8,8,8]}}",
     "lstm"},
    {"{\"data\":\"d\",\"output\":\"o\",\"model\":{\"arch\":\"resnet\","
     "\"widths\":[8,16,32,64,128]}}",
     "widths"},
    {"{\"data\":\"d\",\"output\":\"o\",\"model\":{\"arch\":\"resnet\","
     "\"widths\":[8,16],\"blocks\":[1]}}",
     "blocks"},
    {"{\"data\":\"d\",\"output\":\"o\",\"lr_schedule\":\"step\"}",
     "lr_schedule"},
    {"{\"data\":\"d\",\"output\":\"o\",\"lr_schedule\":\"cosine\","
     "\"epochs\":3,\"warmup_epochs\":3}",
     "warmup_epochs"},
    {"{\"data\":\"d\",\"output\":\"o\",\"label_smoothing\":0.9}",
     "label_smoothing"},
    {"{\"data\":\"d\",\"output\":\"o\",\"class_weights\":\"yes\"}",
     "class_weights"},
};

int
main(void)
{
	if (!mkdtemp(root))
		return 1;
	data_dir = xasprintf("%s/data", root);
	models_dir = xasprintf("%s/models", root);
	for (size_t i = 0; i < TY_ARRAY_LEN(prow); i++) {
		TH_TEST(prow[i].js)
		{
			struct train_params p;
			char err[256] = "";
			int rc = parse(prow[i].js, &p, err, sizeof(err));
			if (!prow[i].want_err) {
				CHECK(rc == 0);
			} else {
				CHECK(rc != 0);
				CHECK(strstr(err, prow[i].want_err) != NULL);
				if (!strstr(err, prow[i].want_err))
					fprintf(stderr, "  err: %s\n", err);
			}
		}
	}
	TH_TEST("early stopping's patience grows with the epochs")
	{
		/* ceil(epochs / 4), at least 3: the colour recipe's 30 get 8,
		 * the gray default's 2 keep 3 */
		static const struct {
			const char *es;
			int epochs, want;
		} r[] = {
		    {"true", 2, 3},
		    {"true", 12, 3},
		    {"true", 13, 4},
		    {"true", 30, 8},
		    {"true", 1000, 250},
		    {"{}", 30, 8},
		    {"{\"patience\":2}", 30, 2},
		    {"5", 30, 5},
		    {"false", 30, 0},
		    {"0", 30, 0},
		};
		for (size_t i = 0; i < TY_ARRAY_LEN(r); i++) {
			char js[160], err[256];
			struct train_params p;
			snprintf(js, sizeof(js),
			         "{\"data\":\"d\",\"output\":\"o\","
			         "\"epochs\":%d,\"early_stopping\":%s}",
			         r[i].epochs, r[i].es);
			CHECK(parse(js, &p, err, sizeof(err)) == 0);
			CHECK(p.patience == r[i].want);
			if (p.patience != r[i].want)
				fprintf(stderr, "  %s: patience %d\n", js,
				        p.patience);
		}
		CHECK(train_patience(1) == 3 && train_patience(16) == 4 &&
		      train_patience(17) == 5);
	}
	TH_TEST("batch rows: shift, flip, and element ranges")
	{
		/* two 3x4 images of 2 channels; the table maps v to v + 0.5 */
		enum { H = 3, W = 4, C = 2, ISZ = H * W * C };
		uint8_t px[2 * ISZ];
		uint16_t labels[2] = {1, 0}, lab[2];
		for (int i = 0; i < 2 * ISZ; i++)
			px[i] = (uint8_t)(i + 1);
		struct tensor t = {.count = 2,
		                   .height = H,
		                   .width = W,
		                   .channels = C,
		                   .classes = 2,
		                   .labels = labels,
		                   .pixels = px,
		                   .image_bytes = ISZ};
		static struct train_data d;
		for (int c = 0; c < C; c++)
			for (int v = 0; v < 256; v++)
				d.lut[c][v] = (float)v + 0.5f;
		const uint32_t idx[2] = {1, 0};
		const struct train_aug aug[2] = {{.dx = 1, .dy = -1},
		                                 {.flip = 1}};
		float x[2 * ISZ], part[2 * ISZ];
		train_make_rows(&d, &t, idx, 2, aug, x, lab, 0, ISZ);
		CHECK(lab[0] == 0 && lab[1] == 1);
		int ok = 1;
		for (int b = 0; b < 2; b++)
			for (int y = 0; y < H; y++)
				for (int xx = 0; xx < W; xx++)
					for (int c = 0; c < C; c++) {
						/* where the pixel comes from */
						int sy = b ? y : y + 1;
						int sx =
						    b ? W - 1 - xx : xx - 1;
						const uint8_t *src =
						    px + (size_t)idx[b] * ISZ;
						float want =
						    sy < 0 || sy >= H ||
						            sx < 0 || sx >= W
						        ? 0.5f
						        : src[(sy * W + sx) *
						                  C +
						              c] +
						              0.5f;
						ok &= x[b * ISZ +
						        (y * W + xx) * C + c] ==
						      want;
					}
		CHECK(ok);
		/* a range starting and ending inside a pixel writes only
		 * those elements, with the same values */
		for (int i = 0; i < 2 * ISZ; i++)
			part[i] = -1.0f;
		train_make_rows(&d, &t, idx, 2, aug, part, NULL, 3, 17);
		ok = 1;
		for (int b = 0; b < 2; b++)
			for (int j = 0; j < ISZ; j++)
				ok &=
				    part[b * ISZ + j] ==
				    (j >= 3 && j < 17 ? x[b * ISZ + j] : -1.0f);
		CHECK(ok);
		/* no augmentation: the table applied as stored */
		train_make_rows(&d, &t, idx, 1, NULL, x, NULL, 0, ISZ);
		CHECK(x[0] == px[ISZ] + 0.5f &&
		      x[ISZ - 1] == px[2 * ISZ - 1] + 0.5f);
	}

	TH_TEST("params defaults and canonical form")
	{
		struct train_params p;
		char err[256];
		CHECK(
		    parse(
		        "{\"data\":\"d\",\"output\":\"o\",\"model\":{\"arch\":"
		        "\"cnn\"},\"optimizer\":\"sgd\"}",
		        &p, err, sizeof(err)) == 0);
		CHECK(p.arch == ARCH_CNN && p.nconv == 2 && p.conv[1] == 32);
		CHECK(p.lr == 0.01f && p.epochs == 10 && p.batch_size == 64);
		CHECK(p.shift == 0 && p.hflip == 0);
		struct nn_spec s[TRAIN_MAX_LAYERS];
		int n = train_arch_specs(&p, 10, s, TRAIN_MAX_LAYERS, err,
		                         sizeof(err));
		/* conv relu pool x2, flatten, dense */
		CHECK(n == 8);
		CHECK(s[0].kind == NN_CONV && s[0].k == 3 && s[0].pad == 1);
		CHECK(s[7].kind == NN_DENSE && s[7].out == 10);
	}
	TH_TEST("metrics from a confusion matrix")
	{
		/* true x pred: class 0: 3 right, 1 called 1; class 1: 2 right
		 */
		uint32_t cm[4] = {3, 1, 0, 2};
		char *names[] = {"a", "b"};
		cJSON *m = train_metrics_json(cm, 2, names);
		cJSON *pc = cJSON_GetObjectItem(m, "per_class");
		cJSON *b = cJSON_GetArrayItem(pc, 1);
		CHECK(fabs(cJSON_GetObjectItem(b, "precision")->valuedouble -
		           2.0 / 3) < 1e-9);
		CHECK(cJSON_GetObjectItem(b, "recall")->valuedouble == 1.0);
		CHECK(fabs(cJSON_GetObjectItem(b, "f1")->valuedouble - 0.8) <
		      1e-9);
		CHECK(fabs(cJSON_GetObjectItem(m, "accuracy")->valuedouble -
		           5.0 / 6) < 1e-9);
		cJSON_Delete(m);
	}

	make_set("syn", 600, 150, 0);
	make_set("noise", 300, 150, 1);
	TH_TEST("one channel: rows by arithmetic, the table's very floats")
	{
		struct train_data d;
		char err[256];
		CHECK(train_data_open(&d, data_dir, "syn", err, sizeof(err)) ==
		      0);
		CHECK(d.affine == 1); /* else the table, as before */
		enum { NI = 5 };
		uint32_t idx[NI] = {3, 0, 599, 42, 7};
		size_t isz = d.tr.image_bytes;
		float *x = xmalloc(sizeof(float) * isz * NI);
		train_make_rows(&d, &d.tr, idx, NI, NULL, x, NULL, 0, isz);
		int same = 1;
		for (int b = 0; b < NI; b++)
			for (size_t j = 0; j < isz; j++)
				same &= x[b * isz + j] ==
				        d.lut[0][d.tr.pixels[idx[b] * isz + j]];
		CHECK(same);
		free(x);
		train_data_close(&d);
	}
	static const char *const learn[] = {
	    "{\"data\":\"syn\",\"output\":\"mlp\",\"model\":{\"arch\":\"mlp\","
	    "\"hidden\":[32]},\"epochs\":12,\"batch_size\":32,\"lr\":0.003,"
	    "\"seed\":3}",
	    "{\"data\":\"syn\",\"output\":\"cnn\",\"model\":{\"arch\":\"cnn\","
	    "\"conv\":[4,8],\"hidden\":[16]},\"epochs\":8,\"batch_size\":16,"
	    "\"lr\":0.01,\"seed\":3,\"augment\":true}",
	    "{\"data\":\"syn\",\"output\":\"resnet\",\"model\":{\"arch\":"
	    "\"resnet\",\"widths\":[4,8]},\"epochs\":6,\"batch_size\":16,"
	    "\"optimizer\":\"adamw\",\"lr\":0.005,\"lr_schedule\":"
	    "\"cosine\",\"warmup_epochs\":1,\"label_smoothing\":0.05,"
	    "\"class_weights\":true,\"seed\":3}",
	    "{\"data\":\"syn\",\"output\":\"lstm\",\"model\":{\"arch\":"
	    "\"lstm\",\"hidden\":[16,16]},\"epochs\":8,\"batch_size\":16,"
	    "\"lr\":0.01,\"seed\":3}",
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(learn); i++) {
		TH_TEST(learn[i])
		{
			cJSON *res;
			CHECK(train(learn[i], &res, NULL) == TRAIN_DONE);
			if (!res)
				continue;
			double acc =
			    cJSON_GetObjectItem(res, "val_acc")->valuedouble;
			fprintf(stderr, "  val_acc %.3f\n", acc);
			CHECK(acc > 0.95);
			CHECK(cJSON_GetArraySize(
			          cJSON_GetObjectItem(res, "epochs")) > 0);
			CHECK(cJSON_GetObjectItem(res, "confusion") != NULL);
			CHECK(cJSON_GetObjectItem(res, "images_per_second")
			          ->valuedouble > 0);
			/* the saved model predicts as well as training said */
			char err[256];
			char *mp = xasprintf(
			    "%s/%s", models_dir,
			    cJSON_GetObjectItem(res, "model")->valuestring);
			model *m = model_load(mp, NULL, err, sizeof(err));
			CHECK(m != NULL);
			if (m) {
				CHECK(model_meta(m)->nclasses == 3);
				CHECK_STR(model_meta(m)->classes[2], "blob");
				CHECK(model_meta(m)->mean[0] == 0.2f);
			}
			model_free(m);
			free(mp);
			cJSON_Delete(res);
		}
	}

#define DET(out)                                                               \
	"{\"data\":\"syn\",\"output\":\"" out "\",\"model\":{\"arch\":"        \
	"\"cnn\",\"conv\":[4],\"hidden\":[8],\"dropout\":0.2},\"epochs\":3,"   \
	"\"batch_size\":16,\"seed\":9,\"augment\":{\"hflip\":true}}"
/* an MLP on 2 threads trains as a team (nn_team.c), not by batch halves */
#define DETM(out)                                                              \
	"{\"data\":\"syn\",\"output\":\"" out "\",\"model\":{\"arch\":"        \
	"\"mlp\",\"hidden\":[24,12],\"dropout\":0.2},\"epochs\":3,"            \
	"\"batch_size\":16,\"seed\":9,\"optimizer\":\"sgd\",\"lr\":0.05,"      \
	"\"momentum\":0.9,\"augment\":{\"hflip\":true}}"
/* batch normalisation and residual joins, split by images */
#define DETR(out)                                                              \
	"{\"data\":\"syn\",\"output\":\"" out "\",\"model\":{\"arch\":"        \
	"\"resnet\",\"widths\":[4,6]},\"epochs\":3,\"batch_size\":16,"         \
	"\"seed\":9,\"optimizer\":\"adamw\",\"lr\":0.005,\"lr_schedule\":"     \
	"\"cosine\",\"augment\":{\"hflip\":true}}"
	threads = 2;
	static const struct {
		const char *arch, *a, *b, *res;
		const char *a_model, *b_model, *res_model, *res_ckpt;
	} dets[] = {
	    {"cnn", DET("det-a"), DET("det-b"), DET("res"), "det-a/model.tym",
	     "det-b/model.tym", "res/model.tym", "res/checkpoint.tym"},
	    {"mlp", DETM("detm-a"), DETM("detm-b"), DETM("resm"),
	     "detm-a/model.tym", "detm-b/model.tym", "resm/model.tym",
	     "resm/checkpoint.tym"},
	    {"resnet", DETR("detr-a"), DETR("detr-b"), DETR("resr"),
	     "detr-a/model.tym", "detr-b/model.tym", "resr/model.tym",
	     "resr/checkpoint.tym"},
	};
	for (size_t di = 0; di < sizeof(dets) / sizeof(dets[0]); di++) {
		char tname[96];
		snprintf(tname, sizeof(tname),
		         "%s: same seed, same bytes (2 threads)",
		         dets[di].arch);
		TH_TEST(tname)
		{
			char *a = xstrdup(dets[di].a), *b = xstrdup(dets[di].b);
			cJSON *r1 = NULL, *r2 = NULL;
			CHECK(train(a, &r1, NULL) == TRAIN_DONE);
			CHECK(train(b, &r2, NULL) == TRAIN_DONE);
			size_t l1, l2;
			char *m1 = slurp(dets[di].a_model, &l1);
			char *m2 = slurp(dets[di].b_model, &l2);
			CHECK(m1 && m2 && l1 == l2 && memcmp(m1, m2, l1) == 0);
			cJSON *e1 = cJSON_GetObjectItem(r1, "epochs");
			cJSON *e2 = cJSON_GetObjectItem(r2, "epochs");
			for (int i = 0; i < 3; i++)
				CHECK(cJSON_GetObjectItem(
				          cJSON_GetArrayItem(e1, i), "val_loss")
				          ->valuedouble ==
				      cJSON_GetObjectItem(
				          cJSON_GetArrayItem(e2, i), "val_loss")
				          ->valuedouble);
			/* and it learned (3 classes: chance is 0.33) */
			CHECK(cJSON_GetObjectItem(r1, "val_acc")->valuedouble >
			      0.6);
			free(m1), free(m2), free(a), free(b);
			cJSON_Delete(r1), cJSON_Delete(r2);
		}
		snprintf(
		    tname, sizeof(tname),
		    "%s: cancel mid-epoch, resume, same model as uninterrupted",
		    dets[di].arch);
		TH_TEST(tname)
		{
			char *a = xstrdup(dets[di].res);
			struct train_hooks h = {NULL, NULL, NULL, cancel_hook};
			cJSON *r = NULL;
			/* 600/16 = 38 batches an epoch: stop in the second
			 * epoch */
			calls = 0, cancel_after = 50;
			CHECK(train(a, &r, &h) == TRAIN_CANCELLED);
			CHECK(r == NULL);
			size_t l;
			char *ck = slurp(dets[di].res_ckpt, &l);
			CHECK(ck != NULL);
			free(ck);
			char *mm = slurp(dets[di].res_model, &l);
			CHECK(mm == NULL);
			calls = 0, cancel_after = 1 << 30;
			CHECK(train(a, &r, &h) == TRAIN_DONE);
			size_t l1, l2;
			char *m1 = slurp(dets[di].a_model, &l1);
			char *m2 = slurp(dets[di].res_model, &l2);
			CHECK(m1 && m2 && l1 == l2 && memcmp(m1, m2, l1) == 0);
			/* the resumed run lists all epochs, the first restored
			 */
			CHECK(cJSON_GetArraySize(
			          cJSON_GetObjectItem(r, "epochs")) == 3);
			free(m1), free(m2), free(a);
			cJSON_Delete(r);
		}
	}
	threads = 1;
	TH_TEST("a checkpoint for other params is not resumed")
	{
		/* same output dir as det-a, other seed: must start over */
		char *a = xstrdup(DET("det-a"));
		char *b = strstr(a, "\"seed\":9");
		b[7] = '8';
		cJSON *r = NULL;
		CHECK(train(a, &r, NULL) == TRAIN_DONE);
		size_t l1, l2;
		char *m1 = slurp("det-a/model.tym", &l1);
		char *m2 = slurp("det-b/model.tym", &l2);
		CHECK(m1 && m2 && (l1 != l2 || memcmp(m1, m2, l1) != 0));
		free(m1), free(m2), free(a);
		cJSON_Delete(r);
	}
	TH_TEST("early stopping on a val set it cannot learn")
	{
		cJSON *r = NULL;
		CHECK(train("{\"data\":\"noise\",\"output\":\"es\",\"model\":"
		            "{\"hidden\":[64]},\"epochs\":40,\"lr\":0.01,"
		            "\"early_stopping\":{\"patience\":2}}",
		            &r, NULL) == TRAIN_DONE);
		if (r) {
			int n =
			    cJSON_GetObjectItem(r, "epochs_trained")->valueint;
			int best =
			    cJSON_GetObjectItem(r, "best_epoch")->valueint;
			CHECK(n < 40);
			CHECK(best == n - 2);
			CHECK(cJSON_IsTrue(
			    cJSON_GetObjectItem(r, "early_stopped")));
		}
		cJSON_Delete(r);
	}
	TH_TEST("missing data is a clear error")
	{
		struct train_params p;
		char err[512];
		cJSON *r;
		CHECK(parse("{\"data\":\"nope\",\"output\":\"x\"}", &p, err,
		            sizeof(err)) == 0);
		CHECK(train_run(&p, data_dir, models_dir, 1, NULL, &r, err,
		                sizeof(err)) == TRAIN_FAILED);
		CHECK(strstr(err, "meta.json") != NULL);
	}
	if (util_rmtree(root))
		perror(root);
	free(data_dir);
	free(models_dir);
	return th_done();
}
