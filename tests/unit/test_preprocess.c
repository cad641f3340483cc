/*
 * test_preprocess.c — entry names, name cleaning, and prepare end to end
 * on archives built here with libarchive: known pixels after resize, the
 * same bytes for any thread count, IDX pairs with labels.txt, meta.json.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <stb/stb_image_write.h>

#include "../th.h"
#include "../../workers/preprocess/prep.h"
#include "tensor.h"

static char dir[] = "/tmp/ty-prep-XXXXXX";
static struct prep_limits lim;

static void
test_paths(void)
{
	static const struct {
		const char *name;
		enum prep_path want;
		const char *cls;
	} rows[] = {
	    {"dataset/cats/x.jpg", PREP_PATH_IMAGE, "cats"},
	    {"cats/x.jpg", PREP_PATH_IMAGE, "cats"},
	    {"./cats/x.jpg", PREP_PATH_IMAGE, "cats"},
	    {"a/b/c/d/e/f/g/h/dogs/y.png", PREP_PATH_IMAGE, "dogs"},
	    {"x.jpg", PREP_PATH_NOCLASS, NULL},
	    {"/etc/passwd", PREP_PATH_UNSAFE, NULL},
	    {"../../etc/passwd", PREP_PATH_UNSAFE, NULL},
	    {"cats/../../x.png", PREP_PATH_UNSAFE, NULL},
	    {"__MACOSX/cats/._x.jpg", PREP_PATH_HIDDEN, NULL},
	    {"cats/.DS_Store", PREP_PATH_HIDDEN, NULL},
	    {"cats/Thumbs.db", PREP_PATH_HIDDEN, NULL},
	    {".git/cats/x.png", PREP_PATH_HIDDEN, NULL},
	    {"mnist/train-images-idx3-ubyte.gz", PREP_PATH_IDX, NULL},
	    {"t10k-labels-idx1-ubyte", PREP_PATH_IDX, NULL},
	    {"mnist/labels.txt", PREP_PATH_LABELS, NULL},
	    {"a//b/c.png", PREP_PATH_IMAGE, "b"},
	};

	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST(rows[i].name)
		{
			const char *c;
			size_t n;
			enum prep_path p =
			    prep_path_classify(rows[i].name, &c, &n);

			CHECK(p == rows[i].want);
			if (rows[i].cls)
				CHECK(c && n == strlen(rows[i].cls) &&
				      !strncmp(c, rows[i].cls, n));
		}
	}
	TH_TEST("very long path")
	{
		char *long_name = malloc(5001);

		memset(long_name, 'a', 5000);
		long_name[5000] = '\0';
		long_name[10] = '/';
		{
			const char *c;
			size_t n;

			CHECK(prep_path_classify(long_name, &c, &n) ==
			      PREP_PATH_TOOLONG);
		}
		free(long_name);
	}
}

static void
test_clean(void)
{
	static const struct {
		const char *name, *in, *want;
	} rows[] = {
	    {"ascii kept", "cats/x.png", "cats/x.png"},
	    {"utf-8 kept", "chats/\xc3\xa9t\xc3\xa9.png",
	     "chats/\xc3\xa9t\xc3\xa9.png"},
	    {"latin-1 byte replaced", "caf\xe9", "caf?"},
	    {"control char replaced", "a\nb\x01", "a?b?"},
	    {"overlong form replaced", "\xc0\xaf", "??"},
	    {"surrogate replaced", "\xed\xa0\x80", "???"},
	    {"truncated sequence", "x\xe2\x82", "x??"},
	};

	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST(rows[i].name)
		{
			char out[64];

			prep_name_clean(rows[i].in, strlen(rows[i].in), out,
			                sizeof out);
			CHECK_STR(out, rows[i].want);
		}
	}
	TH_TEST("clean never overflows")
	{
		char out[4];

		prep_name_clean("\xc3\xa9\xc3\xa9\xc3\xa9", 6, out, sizeof out);
		CHECK(strlen(out) <= 3);
	}
}

struct membuf {
	unsigned char *p;
	size_t n;
};

static void
mem_write(void *ctx, void *data, int size)
{
	struct membuf *m = ctx;

	m->p = realloc(m->p, m->n + (size_t)size);
	memcpy(m->p + m->n, data, (size_t)size);
	m->n += (size_t)size;
}

static void
add_file(struct archive *a, const char *name, const void *data, size_t n)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)n);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		fprintf(stderr, "write_header: %s\n", archive_error_string(a));
	if (n && archive_write_data(a, data, n) != (la_ssize_t)n)
		fprintf(stderr, "write_data: %s\n", archive_error_string(a));
	archive_entry_free(e);
}

/* A PNG of w x h, c channels, every pixel v (alpha 255). */
static void
add_png(struct archive *a, const char *name, int w, int h, int c,
        const unsigned char *px)
{
	struct membuf m = {0};

	stbi_write_png_to_func(mem_write, &m, w, h, c, px, w * c);
	add_file(a, name, m.p, m.n);
	free(m.p);
}

static struct archive *
new_archive(const char *path, int zip)
{
	struct archive *a = archive_write_new();

	if (zip)
		archive_write_set_format_zip(a);
	else {
		archive_write_set_format_pax_restricted(a);
		archive_write_add_filter_gzip(a);
	}
	if (archive_write_open_filename(a, path) != ARCHIVE_OK)
		fprintf(stderr, "open %s: %s\n", path, archive_error_string(a));
	return a;
}

static void
close_archive(struct archive *a)
{
	archive_write_close(a);
	archive_write_free(a);
}

static cJSON *
read_json(const char *path)
{
	size_t n;
	char *t = util_read_file(path, 1 << 20, &n);
	cJSON *o = t ? cJSON_Parse(t) : NULL;

	free(t);
	return o;
}

static int
prepare(const char *archive, const char *out, int w, int h, int c, int threads,
        double vf, cJSON **result, char *err, size_t errlen)
{
	struct prep_opts a = {
	    .archive = archive,
	    .outdir = out,
	    .width = w,
	    .height = h,
	    .channels = c,
	    .threads = threads,
	    .val_fraction = vf,
	    .seed = 3,
	    .lim = &lim,
	};

	return prep_prepare(&a, result, err, errlen);
}

static void
test_pixels(void)
{
	char *arc = xasprintf("%s/px.zip", dir);
	char *out = xasprintf("%s/px-out", dir);
	char err[300];
	cJSON *res = NULL;
	struct archive *a = new_archive(arc, 1);
	unsigned char img[8 * 8 * 4];

	/* "bright": 8x8 RGB, 2x2 blocks of known values -> 4x4 exact. */
	for (int y = 0; y < 8; y++)
		for (int x = 0; x < 8; x++)
			for (int k = 0; k < 3; k++)
				img[(y * 8 + x) * 3 + k] =
				    (unsigned char)((y / 2) * 40 +
				                    (x / 2) * 10 + k);
	add_png(a, "data/bright/a.png", 8, 8, 3, img);
	/* "clear": 4x4 RGBA fully transparent -> white. */
	memset(img, 0, 4 * 4 * 4);
	add_png(a, "data/clear/b.png", 4, 4, 4, img);
	/* "gray": 4x4 gray 100 -> (100,100,100). */
	memset(img, 100, 16);
	add_png(a, "data/gray/c.png", 4, 4, 1, img);
	add_file(a, "data/gray/notes.txt", "hello", 5);
	close_archive(a);

	TH_TEST("prepare: pixel values after resize and conversion")
	{
		struct tensor t;
		char *p;
		cJSON *meta;
		int rc =
		    prepare(arc, out, 4, 4, 3, 2, 0.0, &res, err, sizeof err);

		CHECK(rc == 0);
		if (rc)
			fprintf(stderr, "  %s\n", err);
		p = xasprintf("%s/train.tyd", out);
		CHECK(tensor_open(p, &t, err, sizeof err) == 0);
		free(p);
		CHECK(t.count == 3 && t.classes == 3 && t.width == 4 &&
		      t.height == 4 && t.channels == 3);
		for (uint32_t i = 0; i < t.count; i++) {
			const uint8_t *px = t.pixels + i * t.image_bytes;
			int bad = 0;

			/* classes sorted: bright 0, clear 1, gray 2 */
			for (int y = 0; y < 4; y++)
				for (int x = 0; x < 4; x++)
					for (int k = 0; k < 3; k++) {
						int v = px[(y * 4 + x) * 3 + k];
						int want =
						    t.labels[i] == 0
						        ? y * 40 + x * 10 + k
						    : t.labels[i] == 1 ? 255
						                       : 100;

						bad += v != want;
					}
			CHECK(bad == 0);
		}
		tensor_close(&t);
		p = xasprintf("%s/meta.json", out);
		meta = read_json(p);
		free(p);
		CHECK(meta != NULL);
		CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(
		              cJSON_GetObjectItem(meta, "classes"), 1)),
		          "clear");
		CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(meta, "mean")) ==
		      3);
		CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(
		          cJSON_GetObjectItem(meta, "image"), "width")) == 4);
		cJSON_Delete(meta);
		CHECK(cJSON_GetNumberValue(
		          cJSON_GetObjectItem(res, "skipped_total")) == 1);
		cJSON_Delete(res);
	}
	TH_TEST("prepare: gray output of the RGB images")
	{
		struct tensor t;
		char *p;

		CHECK(prepare(arc, out, 2, 2, 1, 1, 0.0, NULL, err,
		              sizeof err) == 0);
		p = xasprintf("%s/train.tyd", out);
		CHECK(tensor_open(p, &t, err, sizeof err) == 0);
		free(p);
		for (uint32_t i = 0; i < t.count; i++)
			if (t.labels[i] == 2)
				CHECK(t.pixels[i * 4] == 100);
			else if (t.labels[i] == 1)
				CHECK(t.pixels[i * 4 + 3] == 255);
		tensor_close(&t);
	}
	free(arc);
	free(out);
}

/* 3 MB images: the pixel store's chunks (~32 MB) hold 11 of them. */
static void
test_chunks(void)
{
	char *arc = xasprintf("%s/big.zip", dir),
	     *out = xasprintf("%s/big", dir);
	char err[300];
	struct archive *a = new_archive(arc, 1);
	enum { N = 24, W = 1000, H = 1000 };
	unsigned char img[4];

	for (int k = 0; k < N; k++) {
		char name[64];

		memset(img, 7 + 10 * k, sizeof img);
		snprintf(name, sizeof name, "big/c%d/%02d.png", k % 2, k);
		add_png(a, name, 2, 2, 1, img);
	}
	close_archive(a);
	TH_TEST("prepare: images across pixel store chunks")
	{
		struct tensor t;
		char *p;
		cJSON *meta;
		unsigned seen = 0;
		int rc =
		    prepare(arc, out, W, H, 3, 2, 0.0, NULL, err, sizeof err);

		CHECK(rc == 0);
		if (rc)
			fprintf(stderr, "  %s\n", err);
		p = xasprintf("%s/train.tyd", out);
		CHECK(tensor_open(p, &t, err, sizeof err) == 0);
		free(p);
		CHECK(t.count == N);
		for (uint32_t i = 0; i < t.count; i++) {
			const uint8_t *px = t.pixels + i * t.image_bytes;
			int v = px[0], k = (v - 7) / 10;

			CHECK(k >= 0 && k < N && (v - 7) % 10 == 0);
			CHECK(px[t.image_bytes / 2] == v &&
			      px[t.image_bytes - 1] == v);
			CHECK(t.labels[i] == (uint16_t)(k % 2));
			seen |= 1u << k;
		}
		CHECK(seen == (1u << N) - 1);
		tensor_close(&t);
		p = xasprintf("%s/meta.json", out);
		meta = read_json(p);
		free(p);
		/* mean of 7, 17, ..., 237 */
		CHECK(meta && fabs(cJSON_GetNumberValue(cJSON_GetArrayItem(
		                       cJSON_GetObjectItem(meta, "mean"), 2)) -
		                   122 / 255.0) < 1e-9);
		cJSON_Delete(meta);
	}
	free(arc);
	free(out);
}

static void
test_threads(void)
{
	char *arc = xasprintf("%s/many.tar.gz", dir);
	char *o1 = xasprintf("%s/t1", dir), *o3 = xasprintf("%s/t3", dir);
	char err[300];
	struct archive *a = new_archive(arc, 0);
	static const char *const cls[] = {"ant", "bee", "cow", "doe"};
	unsigned char img[20 * 17 * 3];

	/* Enough images for several batches with varied content. */
	for (int i = 0; i < 5000; i++) {
		char name[64];

		/* every image its own noise: a pattern that repeats would
		 * make copies, which the split keeps on one side (dups.c) */
		uint32_t x = 2463534242u + (uint32_t)i * 2654435761u;
		for (size_t k = 0; k < sizeof img; k++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			img[k] = (unsigned char)(x >> 24);
		}
		snprintf(name, sizeof name, "set/%s/%05d.png", cls[i % 4], i);
		add_png(a, name, 20, 17, 3, img);
	}
	close_archive(a);
	TH_TEST("prepare: same output bytes with 1 and 3 threads")
	{
		static const char *const files[] = {"train.tyd", "val.tyd",
		                                    "meta.json"};

		CHECK(prepare(arc, o1, 9, 9, 3, 1, 0.25, NULL, err,
		              sizeof err) == 0);
		CHECK(prepare(arc, o3, 9, 9, 3, 3, 0.25, NULL, err,
		              sizeof err) == 0);
		for (size_t i = 0; i < TY_ARRAY_LEN(files); i++) {
			char *p1 = xasprintf("%s/%s", o1, files[i]);
			char *p3 = xasprintf("%s/%s", o3, files[i]);
			size_t n1, n3;
			char *b1 = util_read_file(p1, 1 << 26, &n1);
			char *b3 = util_read_file(p3, 1 << 26, &n3);

			CHECK(b1 && b3 && n1 == n3 && !memcmp(b1, b3, n1));
			free(b1), free(b3), free(p1), free(p3);
		}
	}
	TH_TEST("prepare: stratified counts in meta.json")
	{
		char *p = xasprintf("%s/meta.json", o1);
		cJSON *m = read_json(p), *c;

		c = cJSON_GetObjectItem(m, "counts");
		for (int k = 0; k < 4; k++) {
			CHECK(
			    cJSON_GetArrayItem(cJSON_GetObjectItem(c, "val"), k)
			        ->valueint == 313);
			CHECK(cJSON_GetArrayItem(
			          cJSON_GetObjectItem(c, "train"), k)
			          ->valueint == 937);
		}
		cJSON_Delete(m);
		free(p);
	}
	free(arc);
	free(o1);
	free(o3);
}

static void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

static void
test_idx_archive(void)
{
	char *arc = xasprintf("%s/idx.zip", dir),
	     *out = xasprintf("%s/io", dir);
	enum { N = 30 };
	unsigned char im[16 + N * 4], lb[8 + N];
	char err[300];
	struct archive *a = new_archive(arc, 1);
	cJSON *res = NULL;

	memcpy(im, "\0\0\x08\x03", 4);
	put_be32(im + 4, N), put_be32(im + 8, 2), put_be32(im + 12, 2);
	memcpy(lb, "\0\0\x08\x01", 4);
	put_be32(lb + 4, N);
	for (int i = 0; i < N; i++) {
		lb[8 + i] = (unsigned char)(i % 3);
		memset(im + 16 + i * 4, 50 * (i % 3), 4);
	}
	add_file(a, "mnist/train-images-idx3-ubyte", im, sizeof im);
	add_file(a, "mnist/train-labels-idx1-ubyte", lb, sizeof lb);
	add_file(a, "mnist/labels.txt", "zero\none\ntwo\n", 13);
	add_file(a, "mnist/t10k-images-idx3-ubyte", im, 20);
	close_archive(a);
	TH_TEST("prepare: IDX pair with labels.txt names")
	{
		struct tensor t;
		char *p;
		int rc =
		    prepare(arc, out, 2, 2, 1, 2, 0.0, &res, err, sizeof err);

		CHECK(rc == 0);
		if (rc)
			fprintf(stderr, "  %s\n", err);
		p = xasprintf("%s/train.tyd", out);
		CHECK(tensor_open(p, &t, err, sizeof err) == 0);
		free(p);
		CHECK(t.count == N && t.classes == 3);
		for (uint32_t i = 0; i < t.count; i++)
			CHECK(t.pixels[i * 4] == 50 * t.labels[i]);
		tensor_close(&t);
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
		              cJSON_GetArrayItem(
		                  cJSON_GetObjectItem(res, "classes"), 0),
		              "name")),
		          "zero");
		/* The broken t10k file is reported, not fatal. */
		CHECK(cJSON_GetNumberValue(
		          cJSON_GetObjectItem(res, "skipped_total")) == 1);
		cJSON_Delete(res);
	}
	free(arc);
	free(out);
}

static void
test_refusals(void)
{
	char *arc = xasprintf("%s/one.zip", dir),
	     *out = xasprintf("%s/one", dir);
	char err[300];
	unsigned char img[4] = {1, 2, 3, 4};
	struct archive *a = new_archive(arc, 1);

	add_png(a, "only/a.png", 2, 2, 1, img);
	add_png(a, "only/b.png", 2, 2, 1, img);
	close_archive(a);
	TH_TEST("prepare: one class is refused, nothing written")
	{
		CHECK(prepare(arc, out, 2, 2, 1, 1, 0.2, NULL, err,
		              sizeof err) < 0);
		CHECK(strstr(err, "one class") != NULL);
		CHECK(access(out, F_OK) < 0);
	}
	TH_TEST("prepare: missing archive")
	{
		CHECK(prepare("/nonexistent.zip", out, 2, 2, 1, 1, 0.2, NULL,
		              err, sizeof err) < 0);
		CHECK(strstr(err, "cannot open") != NULL);
	}
	free(arc);
	free(out);
}

int
main(void)
{
	int rc;

	if (!mkdtemp(dir))
		return 1;
	prep_limits_init(0, NULL, &lim);
	test_paths();
	test_clean();
	test_pixels();
	test_chunks();
	test_threads();
	test_idx_archive();
	test_refusals();
	rc = th_done();
	if (util_rmtree(dir))
		perror(dir);
	return rc;
}
