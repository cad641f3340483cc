/*
 * test_infer.c — the inference worker's pieces without HTTP: request
 * validation (a table), base64, top-k, the model cache (hits, reload on
 * replacement, LRU, a model in use outliving its eviction), and that a
 * PNG through infer_predict gives exactly what the model gives for the
 * same pixels.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <stb/stb_image_write.h>

#include "../../workers/infer/cache.h"
#include "../../workers/infer/infer.h"
#include "../../workers/infer/req.h"
#include "model.h"
#include "../th.h"

static const struct {
	const char *json;
	int status;       /* 0: accepted */
	const char *want; /* in the error, or the model when accepted */
} req_rows[] = {
    {"{\"model\":\"runs/1/model.tym\",\"images\":[{\"data\":\"\"}]}", 0,
     "runs/1/model.tym"},
    {"{\"model\":\"m.tym\",\"top_k\":5,\"thumbnail\":96,\"images\":"
     "[{\"name\":\"a\",\"data\":\"AA==\"},{\"data\":\"\"}]}",
     0, "m.tym"},
    {"{\"model\":\"m\",\"top_k\":null,\"thumbnail\":null,\"images\":"
     "[{\"name\":null,\"data\":\"\"}],\"extra\":1}",
     0, "m"},
    {"[]", 400, "object"},
    {"{}", 400, "\"model\" is required"},
    {"{\"model\":1,\"images\":[]}", 400, "\"model\" must be a string"},
    {"{\"model\":\"\",\"images\":[{\"data\":\"\"}]}", 400, "empty"},
    {"{\"model\":\"/etc/passwd\",\"images\":[{\"data\":\"\"}]}", 400,
     "relative"},
    {"{\"model\":\"a/../../b\",\"images\":[{\"data\":\"\"}]}", 400, ".."},
    {"{\"model\":\"a//b\",\"images\":[{\"data\":\"\"}]}", 400, "empty"},
    {"{\"model\":\"a\\nb\",\"images\":[{\"data\":\"\"}]}", 400, "control"},
    {"{\"model\":\"m\"}", 400, "\"images\" must be a list"},
    {"{\"model\":\"m\",\"images\":{}}", 400, "\"images\" must be a list"},
    {"{\"model\":\"m\",\"images\":[]}", 400, "empty"},
    {"{\"model\":\"m\",\"images\":[1]}", 400, "images[0] must be an"},
    {"{\"model\":\"m\",\"images\":[{\"data\":\"\"},[]]}", 400,
     "images[1] must be an"},
    {"{\"model\":\"m\",\"images\":[{}]}", 400, "images[0].data"},
    {"{\"model\":\"m\",\"images\":[{\"data\":true}]}", 400, "images[0].data"},
    {"{\"model\":\"m\",\"images\":[{\"name\":[],\"data\":\"\"}]}", 400,
     "images[0].name"},
    {"{\"model\":\"m\",\"top_k\":\"1\",\"images\":[{\"data\":\"\"}]}", 400,
     "top_k"},
    {"{\"model\":\"m\",\"top_k\":0,\"images\":[{\"data\":\"\"}]}", 400,
     "top_k"},
    {"{\"model\":\"m\",\"top_k\":-1e400,\"images\":[{\"data\":\"\"}]}", 400,
     "top_k"},
    {"{\"model\":\"m\",\"top_k\":2.5,\"images\":[{\"data\":\"\"}]}", 400,
     "top_k"},
    {"{\"model\":\"m\",\"top_k\":101,\"images\":[{\"data\":\"\"}]}", 400,
     "top_k"},
    {"{\"model\":\"m\",\"thumbnail\":513,\"images\":[{\"data\":\"\"}]}", 400,
     "thumbnail"},
    {"{\"model\":\"m\",\"thumbnail\":-1,\"images\":[{\"data\":\"\"}]}", 400,
     "thumbnail"},
    {"{\"model\":\"m\",\"thumbnail\":false,\"images\":[{\"data\":\"\"}]}", 400,
     "thumbnail"},
    {"{\"model\":\"m\",\"images\":[{\"data\":\"\"},{\"data\":\"\"},"
     "{\"data\":\"\"},{\"data\":\"\"},{\"data\":\"\"}]}",
     413, "too many images: 5, at most 4"},
};

static void
test_req_table(void)
{
	struct infer_limits lim;
	char name[64];

	infer_limits_default(&lim);
	lim.max_images = 4;
	for (size_t i = 0; i < TY_ARRAY_LEN(req_rows); i++) {
		snprintf(name, sizeof name, "request row %zu", i);
		TH_TEST(name)
		{
			cJSON *j = cJSON_Parse(req_rows[i].json);
			struct infer_req r;
			char err[512] = "";
			int st;

			CHECK(j != NULL);
			st = infer_req_parse(j, &lim, &r, err, sizeof err);
			CHECK(st == req_rows[i].status);
			if (st) {
				CHECK(strstr(err, req_rows[i].want) != NULL);
				if (!strstr(err, req_rows[i].want))
					fprintf(stderr, "  got: %s\n", err);
				CHECK(r.images == NULL);
			} else {
				CHECK_STR(r.model, req_rows[i].want);
				CHECK(r.nimages >= 1 && r.images);
				infer_req_free(&r);
			}
			cJSON_Delete(j);
		}
	}
	TH_TEST("request defaults and names")
	{
		cJSON *j = cJSON_Parse(
		    "{\"model\":\"m\",\"images\":[{\"data\":"
		    "\"QUJD\"},{\"name\":\"b.png\",\"data\":\"\"}]}");
		struct infer_req r;
		char err[256];

		CHECK(infer_req_parse(j, &lim, &r, err, sizeof err) == 0);
		CHECK(r.top_k == INFER_DEFAULT_TOP_K && r.thumbnail == 0);
		CHECK(r.nimages == 2);
		CHECK_STR(r.images[0].name, "image-1");
		CHECK_STR(r.images[1].name, "b.png");
		CHECK(r.images[0].b64len == 4 &&
		      !memcmp(r.images[0].b64, "QUJD", 4));
		infer_req_free(&r);
		cJSON_Delete(j);
	}
}

static const struct {
	const char *in;
	int ok;
	const char *out;
} b64_rows[] = {
    {"", 1, ""},
    {"QUJD", 1, "ABC"},
    {"QUI=", 1, "AB"},
    {"QUI", 1, "AB"}, /* padding left out */
    {"QQ==", 1, "A"},
    {"QQ", 1, "A"},
    {"QU\nJD\r\n", 1, "ABC"}, /* line breaks */
    {" QUJD ", 1, "ABC"},
    {"data:image/png;base64,QUJD", 1, "ABC"},
    {"data:text/plain,QUJD", 0, NULL}, /* not base64 data URL */
    {"QUJD!", 0, NULL},
    {"Q", 0, NULL},
    {"QUJD====", 0, NULL},
    {"QU=D", 0, NULL},
    {"QUJD-_", 0, NULL}, /* URL-safe alphabet is not standard */
    {"\xff\xfe", 0, NULL},
};

static void
test_b64(void)
{
	char name[64];

	for (size_t i = 0; i < TY_ARRAY_LEN(b64_rows); i++) {
		snprintf(name, sizeof name, "base64 row %zu", i);
		TH_TEST(name)
		{
			uint8_t *out = NULL;
			size_t n = 99;
			char err[128];
			int rc = infer_b64_decode(b64_rows[i].in,
			                          strlen(b64_rows[i].in), &out,
			                          &n, err, sizeof err);

			CHECK((rc == 0) == b64_rows[i].ok);
			if (rc == 0) {
				CHECK(n == strlen(b64_rows[i].out));
				CHECK(!memcmp(out, b64_rows[i].out, n));
			} else {
				CHECK(out == NULL && strstr(err, "base64"));
			}
			free(out);
		}
	}
	TH_TEST("base64 agrees with libsodium on 20000 made-up inputs")
	{
		/* the decoder libsodium had (padded, then unpadded, all of
		 * the text consumed) is the reference */
		static const char chars[] = "QUJDgw+/=  \n\r\t!-_A";
		static const int variants[] = {
		    sodium_base64_VARIANT_ORIGINAL,
		    sodium_base64_VARIANT_ORIGINAL_NO_PADDING};
		unsigned r = 7;
		int bad = 0, ok = 0;

		for (int i = 0; i < 20000; i++) {
			char in[24];
			uint8_t ref[24], *out;
			size_t len, rn = 0, n;
			const char *end;
			int want = -1;
			char err[64];

			r = r * 1103515245u + 12345u;
			len = (r >> 16) % 23;
			for (size_t k = 0; k < len; k++) {
				r = r * 1103515245u + 12345u;
				/* mostly the alphabet, now and then the rest */
				in[k] =
				    chars[(r >> 16) % ((r >> 8) % 4
				                           ? 8
				                           : sizeof chars - 1)];
			}
			for (size_t v = 0; v < 2 && want; v++)
				if (sodium_base642bin(ref, sizeof ref, in, len,
				                      " \t\r\n", &rn, &end,
				                      variants[v]) == 0 &&
				    end == in + len)
					want = 0;
			int got = infer_b64_decode(in, len, &out, &n, err,
			                           sizeof err);
			bad += got != want ||
			       (got == 0 && (n != rn || memcmp(out, ref, n)));
			ok += got == 0;
			free(out);
		}
		CHECK(bad == 0);
		/* both kinds of input were made */
		CHECK(ok > 1000 && ok < 19000);
	}
	TH_TEST("base64 round trip of every byte")
	{
		uint8_t bin[256], *back;
		size_t n;
		char err[64], *s;

		for (int i = 0; i < 256; i++)
			bin[i] = (uint8_t)i;
		for (size_t len = 0; len <= 256; len += 37) {
			s = infer_b64_encode(bin, len);
			CHECK(strlen(s) == (len + 2) / 3 * 4);
			CHECK(infer_b64_decode(s, strlen(s), &back, &n, err,
			                       sizeof err) == 0);
			CHECK(n == len && !memcmp(back, bin, len));
			free(back);
			free(s);
		}
	}
}

static void
test_top_k(void)
{
	TH_TEST("top-k order, ties to the lower class")
	{
		const float p[] = {0.1f, 0.4f, 0.05f, 0.4f, 0.05f};
		int idx[5];

		infer_top_k(p, 5, 5, idx);
		CHECK(idx[0] == 1 && idx[1] == 3 && idx[2] == 0);
		CHECK(idx[3] == 2 && idx[4] == 4);
		infer_top_k(p, 5, 2, idx);
		CHECK(idx[0] == 1 && idx[1] == 3);
		infer_top_k(p, 5, 1, idx);
		CHECK(idx[0] == 1);
	}
	TH_TEST("top-k of one class")
	{
		const float p[] = {1.0f};
		int idx[1];

		infer_top_k(p, 1, 1, idx);
		CHECK(idx[0] == 0);
	}
}

static void
test_batch_check(void)
{
	static const struct {
		size_t n;
		int w, h, c;
		int status;
	} rows[] = {
	    {1024, 28, 28, 1, 0},       {1024, 224, 224, 3, 0}, /* 154 MB */
	    {1024, 1024, 1024, 1, 0}, /* exactly 1 GB */
	    {1025, 1024, 1024, 1, 413}, {2, 8192, 8192, 4, 0}, /* 256 MB each */
	    {4, 8192, 8192, 4, 0},      {5, 8192, 8192, 4, 413},
	};
	struct infer_limits lim;
	char err[256], name[64];

	infer_limits_default(&lim);
	lim.max_batch = (uint64_t)1 << 30;
	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		snprintf(name, sizeof name, "batch limit row %zu", i);
		TH_TEST(name)
		{
			int st = infer_batch_check(&lim, rows[i].n, rows[i].w,
			                           rows[i].h, rows[i].c, err,
			                           sizeof err);
			CHECK(st == rows[i].status);
			if (st)
				CHECK(strstr(err, "batch limit") != NULL);
		}
	}
}

/* ---- models on disk ---- */

static char dir[256];
static char *names3[] = {"cat", "dog", "eel"};

/* A tiny CNN on 6x4 gray; seed picks the weights, tag the class names. */
static void
write_model(const char *path, uint64_t seed, const char *tag)
{
	const struct nn_spec s[] = {
	    {.kind = NN_CONV, .out = 2, .k = 3, .stride = 1, .pad = 1},
	    {.kind = NN_RELU},
	    {.kind = NN_MAXPOOL},
	    {.kind = NN_FLATTEN},
	    {.kind = NN_DENSE, .out = 3},
	};
	char err[256], *cls[3];
	struct model_meta mm = {
	    .width = 6, .height = 4, .channels = 1, .nclasses = 3};
	nn_net *net = nn_new(4, 6, 1, s, 5, NN_LOSS_XENT, err, sizeof err);

	nn_init(net, seed);
	for (int i = 0; i < 3; i++)
		cls[i] = xasprintf("%s%s", names3[i], tag);
	mm.classes = cls;
	mm.mean[0] = 0.4f;
	mm.std[0] = 0.3f;
	if (model_save(path, net, &mm, NULL, NULL, 0, err, sizeof err))
		fprintf(stderr, "model_save: %s\n", err);
	for (int i = 0; i < 3; i++)
		free(cls[i]);
	nn_free(net);
}

static const char *
label0(const struct infer_model *im)
{
	return model_meta(infer_model_get(im))->classes[0];
}

static void
test_cache(void)
{
	char *a = xasprintf("%s/a.tym", dir), *b = xasprintf("%s/b.tym", dir);
	char *c = xasprintf("%s/c.tym", dir), err[256];
	struct infer_cache_stats st;
	struct infer_model *m1, *m2, *held;
	int status;

	write_model(a, 1, "A");
	write_model(b, 2, "B");
	write_model(c, 3, "C");
	infer_cache_init(2);

	TH_TEST("cache: miss, then hit on the same entry")
	{
		m1 = infer_cache_get(a, &status, err, sizeof err);
		m2 = infer_cache_get(a, &status, err, sizeof err);
		CHECK(m1 && m1 == m2);
		CHECK_STR(label0(m1), "catA");
		infer_cache_stats(&st);
		CHECK(st.misses == 1 && st.hits == 1 && st.entries == 1);
		infer_cache_release(m1);
		infer_cache_release(m2);
	}
	TH_TEST("cache: missing and corrupt files")
	{
		char *missing = xasprintf("%s/none.tym", dir);
		char *bad = xasprintf("%s/bad.tym", dir);
		size_t len;
		char *bytes = util_read_file(a, 1 << 20, &len);

		CHECK(!infer_cache_get(missing, &status, err, sizeof err));
		CHECK(status == 404);
		CHECK(!infer_cache_get(dir, &status, err, sizeof err));
		CHECK(status == 404);
		bytes[len / 2] ^= 1;
		CHECK(util_write_atomic(bad, bytes, len) == 0);
		CHECK(!infer_cache_get(bad, &status, err, sizeof err));
		CHECK(status == 422 && strstr(err, "checksum"));
		CHECK(util_write_atomic(bad, bytes, 10) == 0);
		CHECK(!infer_cache_get(bad, &status, err, sizeof err));
		CHECK(status == 422);
		free(bytes);
		free(missing);
		free(bad);
	}
	TH_TEST("cache: a replaced file is loaded again")
	{
		m1 = infer_cache_get(a, &status, err, sizeof err);
		write_model(a, 1, "Z"); /* atomic rename: a new inode */
		m2 = infer_cache_get(a, &status, err, sizeof err);
		CHECK(m1 && m2 && m1 != m2);
		/* the old one stays valid for the request holding it */
		CHECK_STR(label0(m1), "catA");
		CHECK_STR(label0(m2), "catZ");
		infer_cache_release(m1);
		infer_cache_release(m2);
	}
	TH_TEST("cache: LRU eviction, held models outlive it")
	{
		held = infer_cache_get(a, &status, err, sizeof err);
		m1 = infer_cache_get(b, &status, err, sizeof err);
		infer_cache_release(m1);
		m2 = infer_cache_get(a, &status, err, sizeof err); /* a: MRU */
		infer_cache_release(m2);
		m1 =
		    infer_cache_get(c, &status, err, sizeof err); /* evicts b */
		infer_cache_release(m1);
		infer_cache_stats(&st);
		CHECK(st.entries == 2 && st.evictions >= 1);
		unsigned long long misses = st.misses;
		m2 = infer_cache_get(a, &status, err, sizeof err);
		infer_cache_release(m2);
		infer_cache_stats(&st);
		CHECK(st.misses == misses); /* a stayed */
		m1 = infer_cache_get(b, &status, err, sizeof err);
		infer_cache_stats(&st);
		CHECK(st.misses == misses + 1); /* b had gone */
		CHECK_STR(label0(m1), "catB");
		infer_cache_release(m1);
		/* a may be evicted by now; held still works */
		m1 = infer_cache_get(c, &status, err, sizeof err);
		infer_cache_release(m1);
		CHECK_STR(label0(held), "catZ");
		infer_cache_release(held);
	}
	infer_cache_shutdown();
	free(a);
	free(b);
	free(c);
}

static void
png_to(void *ctx, void *data, int size)
{
	struct {
		uint8_t *p;
		size_t n;
	} *b = ctx;

	b->p = xrealloc(b->p, b->n + (size_t)size);
	memcpy(b->p + b->n, data, (size_t)size);
	b->n += (size_t)size;
}

static void
test_predict(void)
{
	char *path = xasprintf("%s/p.tym", dir), err[256];
	enum model_err why;
	model *m;
	uint8_t px[3][24];
	struct {
		uint8_t *p;
		size_t n;
	} png[3] = {{0}};
	char *b64[3];
	float want[3 * 3];
	struct infer_limits lim;
	/* enough for decoding threads to start (8 an image) and for the
	 * network to be split across threads (32 good images a part) */
	enum { N = 100 };
	struct infer_image ims[N];
	struct infer_req r = {.model = "p.tym",
	                      .top_k = 3,
	                      .thumbnail = 12,
	                      .nimages = N,
	                      .images = ims};
	struct infer_tally t;
	/* Which PNG image i is (i % 4); every fourth one is bad base64. */
	static const int src[4] = {0, 1, -1, 2};
	cJSON *res;

	write_model(path, 9, "");
	m = model_load(path, &why, err, sizeof err);
	infer_limits_default(&lim);
	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < 24; k++)
			px[i][k] = (uint8_t)((k * 37 + i * 91) % 256);
		stbi_write_png_to_func(png_to, &png[i], 6, 4, 1, px[i], 6);
		b64[i] = infer_b64_encode(png[i].p, png[i].n);
		model_predict_u8(m, px[i], 1, want + 3 * i);
	}
	memset(ims, 0, sizeof ims);
	for (int i = 0; i < N; i++) {
		snprintf(ims[i].name, sizeof ims[i].name, "im%d", i);
		ims[i].b64 = src[i % 4] < 0 ? "not base64!" : b64[src[i % 4]];
		ims[i].b64len = strlen(ims[i].b64);
	}
	for (int threads = 1; threads <= 4; threads += 3) {
		TH_TEST(threads == 1 ? "predict: PNG gives the model's own "
		                       "answer"
		                     : "predict: the same with threads")
		{
			res = infer_predict(&r, m, &lim, threads, &t);
			cJSON *preds = cJSON_GetObjectItem(res, "predictions");
			CHECK(cJSON_GetArraySize(preds) == N);
			CHECK(t.predicted == N * 3 / 4 && t.failed == N / 4);
			for (int i = 0; i < N; i++) {
				int k = src[i % 4];
				cJSON *p = cJSON_GetArrayItem(preds, i);
				cJSON *e = cJSON_GetObjectItem(p, "error");
				cJSON *top = cJSON_GetObjectItem(p, "top");
				char nm[16];

				snprintf(nm, sizeof nm, "im%d", i);
				CHECK_STR(
				    cJSON_GetObjectItem(p, "name")->valuestring,
				    nm);
				if (k < 0) {
					CHECK(cJSON_IsString(e) &&
					      strstr(e->valuestring, "base64"));
					CHECK(cJSON_GetArraySize(top) == 0);
					continue;
				}
				CHECK(cJSON_IsNull(e));
				CHECK(cJSON_GetArraySize(top) == 3);
				/* every class's p matches the model's */
				for (int j = 0; j < 3; j++) {
					cJSON *tj = cJSON_GetArrayItem(top, j);
					const char *l =
					    cJSON_GetObjectItem(tj, "label")
					        ->valuestring;
					int c = l[0] == 'c'   ? 0
					        : l[0] == 'd' ? 1
					                      : 2;
					double pv = cJSON_GetObjectItem(tj, "p")
					                ->valuedouble;
					CHECK(fabs(pv - want[3 * k + c]) <
					      1e-6);
				}
				CHECK(cJSON_IsString(
				    cJSON_GetObjectItem(p, "thumbnail")));
			}
			cJSON_Delete(res);
		}
	}
	for (int i = 0; i < 3; i++) {
		free(png[i].p);
		free(b64[i]);
	}
	model_free(m);
	free(path);
}

int
main(void)
{
	char tmpl[] = "/tmp/ty-infer-unit-XXXXXX";

	if (sodium_init() < 0 || !mkdtemp(tmpl))
		return 1;
	snprintf(dir, sizeof dir, "%s", tmpl);
	test_req_table();
	test_b64();
	test_top_k();
	test_batch_check();
	test_cache();
	test_predict();
	if (util_rmtree(dir))
		fprintf(stderr, "cannot remove %s\n", dir);
	return th_done();
}
