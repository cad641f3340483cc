/*
 * test_tensor.c — the .tyd file: exact layout, round trip through the
 * streaming writer and mmap reader, and refusal of hostile files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../th.h"
#include "bytes.h"
#include "tensor.h"

static char dir[] = "/tmp/ty-tensor-XXXXXX";

/* A valid in-memory file of n images of 2x3x1 and 4 classes. */
static uint8_t *
make(uint32_t n, size_t *len)
{
	size_t off = tensor_pixel_offset(n);
	uint8_t *b = calloc(1, off + n * 6 + 1);

	memcpy(b, "TYD1", 4);
	byte_put_le32(b + 4, 1);
	byte_put_le32(b + 8, n);
	byte_put_le32(b + 12, 2);
	byte_put_le32(b + 16, 3);
	byte_put_le32(b + 20, 1);
	byte_put_le32(b + 24, 4);
	for (uint32_t i = 0; i < n; i++)
		b[32 + 2 * i] = (uint8_t)(i % 4);
	for (size_t i = 0; i < n * 6; i++)
		b[off + i] = (uint8_t)i;
	*len = off + n * 6;
	return b;
}

static void
test_layout(void)
{
	TH_TEST("pixel offset rounds labels up to 64 bytes")
	{
		CHECK(tensor_pixel_offset(0) == 32);
		CHECK(tensor_pixel_offset(1) == 96);
		CHECK(tensor_pixel_offset(32) == 96);
		CHECK(tensor_pixel_offset(33) == 160);
	}
	TH_TEST("writer produces the exact documented bytes")
	{
		uint16_t lab[3] = {2, 0, 1};
		uint8_t px[3 * 6];
		char err[200], *path;
		size_t len;
		uint8_t *want = make(3, &len), *got;

		for (int i = 0; i < 18; i++)
			px[i] = (uint8_t)i;
		/* make() labels are i % 4: rewrite to match. */
		want[32] = 2, want[34] = 0, want[36] = 1;
		path = xasprintf("%s/a.tyd", dir);
		CHECK(tensor_write(path, 3, 2, 3, 1, 4, lab, px, err,
		                   sizeof err) == 0);
		got = (uint8_t *)util_read_file(path, 1 << 20, &len);
		CHECK(got && len == tensor_pixel_offset(3) + 18);
		CHECK(got && memcmp(got, want, len) == 0);
		free(got);
		free(want);
		free(path);
	}
}

static void
test_roundtrip(void)
{
	TH_TEST("streamed write, mmap read")
	{
		enum { N = 100, H = 5, W = 7, C = 3 };
		uint16_t lab[N];
		uint8_t *px = malloc(N * H * W * C);
		struct tensor_writer *w;
		struct tensor t;
		char err[200], *path = xasprintf("%s/b.tyd", dir);

		for (int i = 0; i < N; i++)
			lab[i] = (uint16_t)(i % 10);
		for (int i = 0; i < N * H * W * C; i++)
			px[i] = (uint8_t)(i * 31);
		w = tensor_create(path, N, H, W, C, 10, lab, err, sizeof err);
		CHECK(w != NULL);
		for (int i = 0; w && i < N; i++)
			CHECK(tensor_write_pixels(w, px + i * H * W * C,
			                          H * W * C) == 0);
		CHECK(w && tensor_commit(w, err, sizeof err) == 0);
		CHECK(tensor_open(path, &t, err, sizeof err) == 0);
		CHECK(t.count == N && t.height == H && t.width == W &&
		      t.channels == C && t.classes == 10);
		CHECK(t.image_bytes == H * W * C);
		CHECK(memcmp(t.labels, lab, sizeof lab) == 0);
		CHECK(memcmp(t.pixels, px, N * H * W * C) == 0);
		tensor_close(&t);
		free(px);
		free(path);
	}
	TH_TEST("commit refuses a short write and leaves no file")
	{
		uint16_t lab[2] = {0, 1};
		uint8_t px[4] = {0};
		char err[200], *path = xasprintf("%s/c.tyd", dir);
		struct tensor_writer *w =
		    tensor_create(path, 2, 2, 2, 1, 2, lab, err, sizeof err);

		CHECK(w && tensor_write_pixels(w, px, 4) == 0);
		CHECK(w && tensor_commit(w, err, sizeof err) < 0);
		CHECK(access(path, F_OK) < 0);
		free(path);
	}
	TH_TEST("writer refuses labels over the class count")
	{
		uint16_t lab[2] = {0, 5};
		char err[200], *path = xasprintf("%s/d.tyd", dir);

		CHECK(tensor_create(path, 2, 2, 2, 1, 2, lab, err,
		                    sizeof err) == NULL);
		CHECK(access(path, F_OK) < 0);
		free(path);
	}
	TH_TEST("open of a missing file says so")
	{
		struct tensor t;
		char err[200];

		CHECK(tensor_open("/nonexistent/x.tyd", &t, err, sizeof err) <
		      0);
		CHECK(strstr(err, "No such file") != NULL);
	}
}

static void
test_hostile(void)
{
	static const struct {
		const char *name;
		size_t at;  /* byte to change, or SIZE_MAX */
		uint32_t v; /* u32 written there */
		long trunc; /* bytes to cut from the end (or -1 add one) */
		const char *want;
	} rows[] = {
	    {"bad magic", 0, 0x31445958, 0, "magic"},
	    {"bad version", 4, 2, 0, "version"},
	    {"count larger than the data", 8, 1000, 0, "truncated"},
	    {"count so large it would overflow", 8, 0xffffffff, 0, "truncated"},
	    {"zero height", 12, 0, 0, "size"},
	    {"huge width", 16, 100000, 0, "size"},
	    {"zero channels", 20, 0, 0, "channels"},
	    {"five channels", 20, 5, 0, "channels"},
	    {"zero classes", 24, 0, 0, "class count"},
	    {"label over class count", 32, 9, 0, "label"},
	    {"truncated by one byte", SIZE_MAX, 0, 1, "truncated"},
	    {"one trailing byte", SIZE_MAX, 0, -1, "truncated"},
	};

	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST(rows[i].name)
		{
			size_t len;
			uint8_t *b = make(10, &len);
			struct tensor t;
			char err[200] = "";

			if (rows[i].at != SIZE_MAX)
				byte_put_le32(b + rows[i].at, rows[i].v);
			len -= (size_t)rows[i].trunc;
			CHECK(tensor_parse(b, len, &t, err, sizeof err) < 0);
			CHECK(strstr(err, rows[i].want) != NULL);
			if (!strstr(err, rows[i].want))
				fprintf(stderr, "  err: %s\n", err);
			free(b);
		}
	}
	TH_TEST("every truncation of a valid file is refused")
	{
		size_t len, bad = 0;
		uint8_t *b = make(5, &len);
		struct tensor t;
		char err[200];

		CHECK(tensor_parse(b, len, &t, err, sizeof err) == 0);
		for (size_t n = 0; n < len; n++)
			bad += tensor_parse(b, n, &t, err, sizeof err) == 0;
		CHECK(bad == 0);
		free(b);
	}
}

int
main(void)
{
	int rc;

	if (!mkdtemp(dir))
		return 1;
	test_layout();
	test_roundtrip();
	test_hostile();
	rc = th_done();
	if (util_rmtree(dir))
		perror(dir);
	return rc;
}
