/*
 * test_augment.c — colour augmentation in the batch builder (augment.c):
 * the params, the affine map against the legacy shift/flip, crops that
 * stay inside the image, jitter, cutout, seeded draws, and a colour run
 * that gives the same bytes for the same seed (2 threads) and after a
 * cancel and resume.
 */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "../th.h"
#include "model.h"
#include "tensor.h"
#include "../../workers/train/train.h"

static char root[] = "/tmp/ty-augment-XXXXXX";
static char *data_dir, *models_dir;

static int
parse(const char *js, struct train_params *p, char *err, size_t n)
{
	cJSON *j = cJSON_Parse(js);
	int rc = train_params_parse(j, p, err, n);
	cJSON_Delete(j);
	return rc;
}

static const struct {
	const char *augment;  /* the request's "augment" */
	const char *want_err; /* NULL: valid */
	float crop, rotate, jitter, cutout;
	int hflip;
} rows[] = {
    {"\"colour\"", NULL, 0.6f, 10, 0.2f, 0, 1},
    {"\"color\"", NULL, 0.6f, 10, 0.2f, 0, 1},
    {"{\"crop\":0.5,\"rotate\":5,\"jitter\":0.1,\"cutout\":0.25}", NULL, 0.5f,
     5, 0.1f, 0.25f, 0},
    {"{\"hflip\":true,\"crop\":1}", NULL, 0, 0, 0, 0, 1},
    {"true", NULL, 0, 0, 0, 0, 0},
    {"{\"crop\":0.05}", "augment.crop", 0, 0, 0, 0, 0},
    {"{\"rotate\":90}", "augment.rotate", 0, 0, 0, 0, 0},
    {"{\"jitter\":-0.1}", "augment.jitter", 0, 0, 0, 0, 0},
    {"{\"cutout\":0.6}", "augment.cutout", 0, 0, 0, 0, 0},
    {"{\"cutout\":\"big\"}", "augment.cutout", 0, 0, 0, 0, 0},
    {"\"sepia\"", "augment must be", 0, 0, 0, 0, 0},
    {"3", "augment must be", 0, 0, 0, 0, 0},
};

static void
test_params(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char name[160], js[300], err[256] = "";
		snprintf(name, sizeof(name), "params: augment %s",
		         rows[i].augment);
		snprintf(js, sizeof(js),
		         "{\"data\":\"d\",\"output\":\"o\",\"augment\":%s}",
		         rows[i].augment);
		TH_TEST(name)
		{
			struct train_params p;
			int rc = parse(js, &p, err, sizeof(err));
			if (rows[i].want_err) {
				CHECK(rc == -1);
				CHECK(strstr(err, rows[i].want_err) != NULL);
				continue;
			}
			CHECK(rc == 0);
			CHECK(p.crop == rows[i].crop &&
			      p.rotate == rows[i].rotate &&
			      p.jitter == rows[i].jitter &&
			      p.cutout == rows[i].cutout &&
			      p.hflip == rows[i].hflip);
		}
	}
	TH_TEST("params: canonical form names colour fields only when on")
	{
		struct train_params p;
		char err[256];
		CHECK(parse("{\"data\":\"d\",\"output\":\"o\",\"augment\":"
		            "{\"hflip\":true}}",
		            &p, err, sizeof(err)) == 0);
		cJSON *j = train_params_json(&p);
		cJSON *au = cJSON_GetObjectItem(j, "augment");
		CHECK(cJSON_GetArraySize(au) == 2);
		cJSON_Delete(j);
		CHECK(parse("{\"data\":\"d\",\"output\":\"o\",\"augment\":"
		            "\"colour\"}",
		            &p, err, sizeof(err)) == 0);
		j = train_params_json(&p);
		au = cJSON_GetObjectItem(j, "augment");
		CHECK(fabs(cJSON_GetObjectItem(au, "crop")->valuedouble - 0.6) <
		      1e-6);
		CHECK(cJSON_GetObjectItem(au, "cutout") == NULL);
		/* and it parses back to the same */
		struct train_params q;
		char *s = cJSON_PrintUnformatted(j);
		cJSON_AddStringToObject(j, "output", "o");
		free(s);
		s = cJSON_PrintUnformatted(j);
		CHECK(parse(s, &q, err, sizeof(err)) == 0);
		CHECK(q.crop == p.crop && q.rotate == p.rotate &&
		      q.jitter == p.jitter && q.hflip == p.hflip);
		free(s);
		cJSON_Delete(j);
	}
}

/* ---- rows ---- */

enum { H = 6, W = 8, C = 3, ISZ = H * W * C };
static uint8_t px[2 * ISZ];
static uint16_t labels[2] = {1, 0};
static struct tensor t = {.count = 2,
                          .height = H,
                          .width = W,
                          .channels = C,
                          .classes = 2,
                          .labels = labels,
                          .pixels = px,
                          .image_bytes = ISZ};
static struct train_data d;

static void
setup_rows(void)
{
	for (int i = 0; i < 2 * ISZ; i++)
		px[i] = (uint8_t)(37 * i + 11);
	for (int c = 0; c < C; c++) {
		d.sc[c] = 1.0f / (255.0f * (0.2f + 0.1f * c));
		d.off[c] = -(0.4f + 0.05f * c) / (0.2f + 0.1f * c);
		for (int v = 0; v < 256; v++)
			d.lut[c][v] = (float)v * d.sc[c] + d.off[c];
	}
}

static int
close_rows(const float *a, const float *b, int n, float tol)
{
	for (int i = 0; i < n; i++)
		if (fabsf(a[i] - b[i]) > tol)
			return 0;
	return 1;
}

static void
test_rows(void)
{
	setup_rows();
	const uint32_t idx[2] = {1, 0};
	float want[2 * ISZ], got[2 * ISZ];
	TH_TEST("rows: the affine path reproduces shift and flip")
	{
		/* colour draws with only cutout on (then cleared): the map
		 * holds just the shift and the flip */
		struct train_params p = {
		    .shift = 2, .hflip = 1, .cutout = 0.1f};
		struct nn_rng r;
		nn_rng_seed(&r, 5);
		int ok = 1, flips = 0;
		for (int k = 0; k < 20; k++) {
			struct train_aug a[2], legacy[2];
			train_aug_draw(&p, &r, a, 2, W, H);
			for (int b = 0; b < 2; b++) {
				memset(a[b].cut, 0, sizeof(a[b].cut));
				legacy[b] =
				    (struct train_aug){.dx = a[b].dx,
				                       .dy = a[b].dy,
				                       .flip = a[b].flip};
				flips += a[b].flip;
				ok &= a[b].colour == 1;
			}
			train_make_rows(&d, &t, idx, 2, legacy, want, NULL, 0,
			                ISZ);
			train_make_rows(&d, &t, idx, 2, a, got, NULL, 0, ISZ);
			ok &= close_rows(want, got, 2 * ISZ, 1e-4f);
		}
		CHECK(ok);
		CHECK(flips > 5 && flips < 35);
	}
	TH_TEST("rows: crops stay inside the image, and ranges agree")
	{
		/* a constant image: every crop of it is the same constant */
		static uint8_t flat[ISZ];
		memset(flat, 200, sizeof(flat));
		struct tensor ft = t;
		ft.pixels = flat;
		ft.count = 1;
		struct train_params p = {.crop = 0.6f};
		struct nn_rng r;
		nn_rng_seed(&r, 7);
		int ok = 1;
		for (int k = 0; k < 50; k++) {
			struct train_aug a;
			const uint32_t zero = 0;
			train_aug_draw(&p, &r, &a, 1, W, H);
			train_make_rows(&d, &ft, &zero, 1, &a, got, NULL, 0,
			                ISZ);
			for (int j = 0; j < ISZ; j++)
				ok &= fabsf(got[j] - d.lut[j % C][200]) < 1e-3f;
		}
		CHECK(ok);
		/* element ranges: the same values as the whole row */
		struct train_params q = {
		    .crop = 0.6f, .rotate = 20, .jitter = 0.3f, .hflip = 1};
		struct train_aug a[2];
		train_aug_draw(&q, &r, a, 2, W, H);
		train_make_rows(&d, &t, idx, 2, a, want, NULL, 0, ISZ);
		for (int i = 0; i < 2 * ISZ; i++)
			got[i] = -9;
		train_make_rows(&d, &t, idx, 2, a, got, NULL, 4, 29);
		ok = 1;
		for (int b = 0; b < 2; b++)
			for (int j = 0; j < ISZ; j++)
				ok &=
				    got[b * ISZ + j] ==
				    (j >= 4 && j < 29 ? want[b * ISZ + j] : -9);
		CHECK(ok);
	}
	TH_TEST("rows: jitter (no brightness is black, no saturation gray)")
	{
		struct train_aug a = {.colour = 1,
		                      .m = {1, 0, 0, 0, 1, 0},
		                      .bright = 0,
		                      .contrast = 1,
		                      .sat = 1};
		train_make_rows(&d, &t, idx, 1, &a, got, NULL, 0, ISZ);
		int ok = 1;
		for (int j = 0; j < ISZ; j++)
			ok &= fabsf(got[j] - d.lut[j % C][0]) < 1e-4f;
		CHECK(ok);
		a.bright = 1, a.sat = 0;
		train_make_rows(&d, &t, idx, 1, &a, got, NULL, 0, ISZ);
		ok = 1;
		for (int j = 0; j < ISZ; j += C) {
			/* back to pixel values: all three equal */
			float v0 = (got[j] - d.off[0]) / d.sc[0];
			float v1 = (got[j + 1] - d.off[1]) / d.sc[1];
			float v2 = (got[j + 2] - d.off[2]) / d.sc[2];
			ok &= fabsf(v0 - v1) < 0.01f && fabsf(v1 - v2) < 0.01f;
		}
		CHECK(ok);
		/* identity jitter: the stored floats */
		a.sat = 1;
		train_make_rows(&d, &t, idx, 1, NULL, want, NULL, 0, ISZ);
		train_make_rows(&d, &t, idx, 1, &a, got, NULL, 0, ISZ);
		CHECK(close_rows(want, got, ISZ, 1e-4f));
	}
	TH_TEST("rows: cutout writes the normalised mean, 0")
	{
		struct train_aug a = {.colour = 1,
		                      .m = {1, 0, 0, 0, 1, 0},
		                      .bright = 1,
		                      .contrast = 1,
		                      .sat = 1,
		                      .cut = {2, 1, 5, 4}};
		train_make_rows(&d, &t, idx, 1, NULL, want, NULL, 0, ISZ);
		train_make_rows(&d, &t, idx, 1, &a, got, NULL, 0, ISZ);
		int ok = 1;
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++)
				for (int c = 0; c < C; c++) {
					int j = (y * W + x) * C + c;
					int in =
					    x >= 2 && x < 5 && y >= 1 && y < 4;
					ok &= in ? got[j] == 0
					         : fabsf(got[j] - want[j]) <
					               1e-4f;
				}
		CHECK(ok);
	}
	TH_TEST("draws: the same seed, the same augmentation")
	{
		struct train_params p = {.crop = 0.6f,
		                         .rotate = 10,
		                         .jitter = 0.2f,
		                         .cutout = 0.25f,
		                         .hflip = 1};
		struct train_aug a[16], b[16], c[16];
		struct nn_rng r1, r2, r3;
		nn_rng_seed(&r1, 11), nn_rng_seed(&r2, 11),
		    nn_rng_seed(&r3, 12);
		memset(a, 0, sizeof(a)), memset(b, 0, sizeof(b));
		memset(c, 0, sizeof(c));
		train_aug_draw(&p, &r1, a, 16, 64, 64);
		train_aug_draw(&p, &r2, b, 16, 64, 64);
		train_aug_draw(&p, &r3, c, 16, 64, 64);
		CHECK(memcmp(a, b, sizeof(a)) == 0);
		CHECK(memcmp(a, c, sizeof(a)) != 0);
		int ok = 1;
		for (int i = 0; i < 16; i++)
			ok &= a[i].bright >= 0.8f && a[i].bright <= 1.2f &&
			      a[i].cut[2] - a[i].cut[0] <= 16;
		CHECK(ok);
	}
}

/* ---- a colour run ---- */

/* 16x16 RGB: 0 a red square, 1 a green bar, 2 a blue blob, on noise. */
static void
make_rgb_set(const char *name, int ntr, int nva)
{
	enum { S = 16 };
	char err[256];
	char *dir = xasprintf("%s/%s", data_dir, name);
	if (util_mkdirs(dir, 0755))
		abort();
	struct nn_rng r;
	nn_rng_seed(&r, 3);
	for (int split = 0; split < 2; split++) {
		int n = split ? nva : ntr;
		uint16_t *lab = xmalloc(sizeof(uint16_t) * n);
		uint8_t *im = xmalloc((size_t)n * S * S * 3);
		for (int i = 0; i < n; i++) {
			int c = (int)nn_rng_below(&r, 3);
			uint8_t *q = im + (size_t)i * S * S * 3;
			for (int j = 0; j < S * S * 3; j++)
				q[j] = (uint8_t)nn_rng_below(&r, 80);
			int a = 2 + (int)nn_rng_below(&r, S - 8);
			int b = 2 + (int)nn_rng_below(&r, S - 8);
			for (int y = 0; y < 5; y++)
				for (int x = 0; x < 5; x++) {
					int on = c != 1 || y == 2;
					if (on)
						q[((a + y) * S + b + x) * 3 +
						  c] = 240;
				}
			lab[i] = (uint16_t)c;
		}
		char *p = xasprintf("%s/%s.tyd", dir, split ? "val" : "train");
		if (tensor_write(p, (uint32_t)n, S, S, 3, 3, lab, im, err,
		                 sizeof(err)))
			fprintf(stderr, "%s\n", err), abort();
		free(p);
		free(lab);
		free(im);
	}
	char *m = xasprintf("%s/meta.json", dir);
	const char *js = "{\"classes\":[\"red\",\"green\",\"blue\"],"
	                 "\"mean\":[0.2,0.2,0.2],\"std\":[0.3,0.3,0.3]}";
	if (util_write_atomic(m, js, strlen(js)))
		abort();
	free(m);
	free(dir);
}

static int calls, cancel_after = 1 << 30;

static int
cancel_hook(void *arg)
{
	return ++calls > cancel_after;
}

static enum train_status
train(const char *out, cJSON **res, const struct train_hooks *h)
{
	char js[512], err[512];
	snprintf(js, sizeof(js),
	         "{\"data\":\"rgb\",\"output\":\"%s\",\"model\":{\"arch\":"
	         "\"cnn\",\"conv\":[6],\"hidden\":[16]},\"epochs\":3,"
	         "\"batch_size\":16,\"seed\":4,\"augment\":{\"hflip\":true,"
	         "\"crop\":0.6,\"rotate\":10,\"jitter\":0.2,\"cutout\":0.25}}",
	         out);
	struct train_params p;
	if (parse(js, &p, err, sizeof(err))) {
		fprintf(stderr, "params: %s\n", err);
		return TRAIN_FAILED;
	}
	enum train_status st =
	    train_run(&p, data_dir, models_dir, 2, h, res, err, sizeof(err));
	if (st == TRAIN_FAILED)
		fprintf(stderr, "train: %s\n", err);
	return st;
}

static char *
slurp(const char *rel, size_t *len)
{
	char *p = xasprintf("%s/%s/model.tym", models_dir, rel);
	char *s = util_read_file(p, 1 << 26, len);
	free(p);
	return s;
}

static void
test_run(void)
{
	make_rgb_set("rgb", 480, 120);
	cJSON *r1 = NULL, *r2 = NULL, *r3 = NULL;
	TH_TEST("colour run: same seed, same bytes (2 threads)")
	{
		CHECK(train("a", &r1, NULL) == TRAIN_DONE);
		CHECK(train("b", &r2, NULL) == TRAIN_DONE);
		size_t l1 = 0, l2 = 0;
		char *a = slurp("a", &l1), *b = slurp("b", &l2);
		CHECK(a && b && l1 == l2 && memcmp(a, b, l1) == 0);
		free(a), free(b);
		/* and it learned (chance is 0.33) */
		CHECK(r1 &&
		      cJSON_GetObjectItem(r1, "val_acc")->valuedouble > 0.6);
	}
	TH_TEST("colour run: cancel, resume, same model as uninterrupted")
	{
		struct train_hooks h = {NULL, NULL, NULL, cancel_hook};
		/* 480/16 = 30 batches an epoch: stop in the second */
		calls = 0, cancel_after = 45;
		CHECK(train("c", &r3, &h) == TRAIN_CANCELLED);
		calls = 0, cancel_after = 1 << 30;
		CHECK(train("c", &r3, &h) == TRAIN_DONE);
		size_t l1 = 0, l2 = 0;
		char *a = slurp("a", &l1), *c = slurp("c", &l2);
		CHECK(a && c && l1 == l2 && memcmp(a, c, l1) == 0);
		free(a), free(c);
	}
	cJSON_Delete(r1), cJSON_Delete(r2), cJSON_Delete(r3);
}

int
main(void)
{
	if (!mkdtemp(root))
		return 1;
	data_dir = xasprintf("%s/data", root);
	models_dir = xasprintf("%s/models", root);
	if (util_mkdirs(data_dir, 0755) || util_mkdirs(models_dir, 0755))
		return 1;
	test_params();
	test_rows();
	test_run();
	if (util_rmtree(root))
		fprintf(stderr, "cannot remove %s\n", root);
	free(data_dir);
	free(models_dir);
	return th_done();
}
