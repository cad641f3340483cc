/*
 * test_img.c — the shared decode path: channel conversion and resize
 * tables, every supported format decoded from generated files, and the
 * refusals (empty, not an image, truncated, over the pixel limit).
 */
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image_write.h>

#include "../th.h"
#include "img.h"

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

/* A w x h image with c channels: a gradient with a known formula. */
static unsigned char *
pattern(int w, int h, int c)
{
	unsigned char *px = malloc((size_t)w * h * c);

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			for (int k = 0; k < c; k++)
				px[((size_t)y * w + x) * c + k] =
				    (unsigned char)(x * 7 + y * 3 + k * 50);
	return px;
}

static void
test_convert(void)
{
	static const struct {
		const char *name;
		int cin, cout;
		unsigned char in[4], want[4];
	} rows[] = {
	    {"gray to gray", 1, 1, {77}, {77}},
	    {"gray to rgb replicates", 1, 3, {77}, {77, 77, 77}},
	    {"gray+alpha opaque to gray", 2, 1, {10, 255}, {10}},
	    {"gray+alpha transparent is white", 2, 1, {0, 0}, {255}},
	    {"gray+alpha half over white", 2, 1, {0, 128}, {127}},
	    {"gray+alpha to rgb", 2, 3, {0, 0}, {255, 255, 255}},
	    {"rgb to gray, pure red", 3, 1, {255, 0, 0}, {76}},
	    {"rgb to gray, pure green", 3, 1, {0, 255, 0}, {150}},
	    {"rgb to gray, pure blue", 3, 1, {0, 0, 255}, {29}},
	    {"rgb to gray, white", 3, 1, {255, 255, 255}, {255}},
	    {"rgb to rgb", 3, 3, {1, 2, 3}, {1, 2, 3}},
	    {"rgba opaque to rgb", 4, 3, {1, 2, 3, 255}, {1, 2, 3}},
	    {"rgba transparent to rgb is white",
	     4,
	     3,
	     {9, 9, 9, 0},
	     {255, 255, 255}},
	    {"rgba transparent to gray is white", 4, 1, {0, 0, 0, 0}, {255}},
	    {"rgba half red to rgb", 4, 3, {255, 0, 0, 128}, {255, 127, 127}},
	    {"rgb to rgba adds opaque alpha", 3, 4, {1, 2, 3}, {1, 2, 3, 255}},
	    {"gray to gray+alpha", 1, 2, {5}, {5, 255}},
	};

	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST(rows[i].name)
		{
			unsigned char out[4] = {0};

			img_convert(rows[i].in, 1, 1, rows[i].cin, out,
			            rows[i].cout);
			CHECK(memcmp(out, rows[i].want, (size_t)rows[i].cout) ==
			      0);
			if (memcmp(out, rows[i].want, (size_t)rows[i].cout))
				fprintf(stderr, "  got %d %d %d %d\n", out[0],
				        out[1], out[2], out[3]);
		}
	}
}

static void
test_resize(void)
{
	TH_TEST("resize: same size is an exact copy")
	{
		unsigned char *in = pattern(13, 7, 3), out[13 * 7 * 3];

		CHECK(img_resize(in, 13, 7, 3, out, 13, 7) == 0);
		CHECK(memcmp(in, out, sizeof out) == 0);
		free(in);
	}
	TH_TEST("resize: halving averages 2x2 blocks (area filter)")
	{
		unsigned char in[4 * 4], out[2 * 2];
		static const unsigned char want[4] = {25, 65, 105, 145};

		/* Block (bx,by) holds values around 40*(2*by+bx)+25. */
		for (int y = 0; y < 4; y++)
			for (int x = 0; x < 4; x++)
				in[y * 4 + x] =
				    (unsigned char)(40 * ((y / 2) * 2 + x / 2) +
				                    20 + (x % 2) * 5 +
				                    (y % 2) * 5);
		CHECK(img_resize(in, 4, 4, 1, out, 2, 2) == 0);
		CHECK(memcmp(out, want, 4) == 0);
		if (memcmp(out, want, 4))
			fprintf(stderr, "  got %d %d %d %d\n", out[0], out[1],
			        out[2], out[3]);
	}
	TH_TEST("resize: a flat image stays flat at any size")
	{
		static const int sizes[][2] = {
		    {1, 1}, {3, 5}, {28, 28}, {100, 9}, {224, 224}};
		unsigned char in[50 * 40 * 3];

		memset(in, 200, sizeof in);
		for (size_t i = 0; i < TY_ARRAY_LEN(sizes); i++) {
			int w = sizes[i][0], h = sizes[i][1], bad = 0;
			unsigned char *out = malloc((size_t)w * h * 3);

			CHECK(img_resize(in, 50, 40, 3, out, w, h) == 0);
			for (int k = 0; k < w * h * 3; k++)
				bad += out[k] != 200;
			CHECK(bad == 0);
			free(out);
		}
	}
	TH_TEST("resize: upscaling keeps the corners' values")
	{
		unsigned char in[2 * 2] = {0, 255, 255, 0}, out[8 * 8];

		CHECK(img_resize(in, 2, 2, 1, out, 8, 8) == 0);
		CHECK(out[0] < 16 && out[7] > 240 && out[56] > 240 &&
		      out[63] < 16);
	}
}

typedef void (*writer)(struct membuf *m, int w, int h, int c,
                       const unsigned char *px);

static void
w_png(struct membuf *m, int w, int h, int c, const unsigned char *px)
{
	stbi_write_png_to_func(mem_write, m, w, h, c, px, w * c);
}

static void
w_bmp(struct membuf *m, int w, int h, int c, const unsigned char *px)
{
	stbi_write_bmp_to_func(mem_write, m, w, h, c, px);
}

static void
w_tga(struct membuf *m, int w, int h, int c, const unsigned char *px)
{
	stbi_write_tga_to_func(mem_write, m, w, h, c, px);
}

static void
w_jpg(struct membuf *m, int w, int h, int c, const unsigned char *px)
{
	stbi_write_jpg_to_func(mem_write, m, w, h, c, px, 95);
}

static void
w_pgm(struct membuf *m, int w, int h, int c, const unsigned char *px)
{
	char hdr[64];
	int n = snprintf(hdr, sizeof hdr, "P%d\n%d %d\n255\n", c == 1 ? 5 : 6,
	                 w, h);

	mem_write(m, hdr, n);
	mem_write(m, (void *)px, w * h * c);
}

static void
test_formats(void)
{
	static const struct {
		const char *name;
		writer fn;
		int c;
		enum img_format fmt;
		int lossy;
	} rows[] = {
	    {"png gray", w_png, 1, IMG_FMT_PNG, 0},
	    {"png gray+alpha", w_png, 2, IMG_FMT_PNG, 0},
	    {"png rgb", w_png, 3, IMG_FMT_PNG, 0},
	    {"png rgba", w_png, 4, IMG_FMT_PNG, 0},
	    {"bmp rgb", w_bmp, 3, IMG_FMT_BMP, 0},
	    {"tga rgb", w_tga, 3, IMG_FMT_TGA, 0},
	    {"tga rgba", w_tga, 4, IMG_FMT_TGA, 0},
	    {"jpeg rgb", w_jpg, 3, IMG_FMT_JPEG, 1},
	    {"jpeg gray", w_jpg, 1, IMG_FMT_JPEG, 1},
	    {"pgm", w_pgm, 1, IMG_FMT_PNM, 0},
	    {"ppm", w_pgm, 3, IMG_FMT_PNM, 0},
	};
	const int w = 24, h = 16;

	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST(rows[i].name)
		{
			struct membuf m = {0};
			unsigned char *px = pattern(w, h, rows[i].c);
			unsigned char *want = malloc((size_t)w * h * 3);
			unsigned char *out = malloc((size_t)w * h * 3);
			struct img_info info;
			char err[200];
			int maxd = 0;

			rows[i].fn(&m, w, h, rows[i].c, px);
			CHECK(m.n > 0);
			CHECK(img_load(m.p, m.n, NULL, w, h, 3, out, &info, err,
			               sizeof err) == IMG_OK);
			CHECK(info.format == rows[i].fmt);
			CHECK(info.width == w && info.height == h);
			img_convert(px, w, h, rows[i].c, want, 3);
			for (int k = 0; k < w * h * 3; k++) {
				int d = abs(out[k] - want[k]);

				maxd = d > maxd ? d : maxd;
			}
			CHECK(rows[i].lossy ? maxd < 40 : maxd == 0);
			if (maxd && !rows[i].lossy)
				fprintf(stderr, "  max diff %d\n", maxd);
			CHECK(img_verify(m.p, m.n, NULL, &info, err,
			                 sizeof err) == IMG_OK);
			free(m.p);
			free(px);
			free(want);
			free(out);
		}
	}
}

/* A PNG header claiming w x h (no pixel data follows). */
static size_t
png_header(unsigned char *b, unsigned w, unsigned h)
{
	static const unsigned char sig[8] = {0x89, 'P',  'N',  'G',
	                                     '\r', '\n', 0x1a, '\n'};
	unsigned char ihdr[13] = {(unsigned char)(w >> 24),
	                          (unsigned char)(w >> 16),
	                          (unsigned char)(w >> 8),
	                          (unsigned char)w,
	                          (unsigned char)(h >> 24),
	                          (unsigned char)(h >> 16),
	                          (unsigned char)(h >> 8),
	                          (unsigned char)h,
	                          8,
	                          0,
	                          0,
	                          0,
	                          0};

	memcpy(b, sig, 8);
	memcpy(b + 8, "\0\0\0\x0dIHDR", 8);
	memcpy(b + 16, ihdr, 13);
	memset(b + 29, 0, 4); /* CRC: stb does not check it */
	return 33;
}

static void
test_refusals(void)
{
	unsigned char buf[64];
	unsigned char out[16];
	struct img_info info;
	char err[200];

	TH_TEST("empty input")
	{
		CHECK(img_load(buf, 0, NULL, 4, 4, 1, out, &info, err,
		               sizeof err) == IMG_ERR_EMPTY);
	}
	TH_TEST("text is not an image")
	{
		const char *t = "hello, this is a text file\n";

		CHECK(img_load(t, strlen(t), NULL, 4, 4, 1, out, &info, err,
		               sizeof err) == IMG_ERR_NOT_IMAGE);
		CHECK(strstr(err, "not an image") != NULL);
	}
	TH_TEST("100000x100000 PNG refused before decoding")
	{
		size_t n = png_header(buf, 100000, 100000);

		CHECK(img_probe(buf, n, NULL, &info) == IMG_ERR_TOO_LARGE);
		CHECK(info.width == 100000 && info.height == 100000);
		CHECK(img_load(buf, n, NULL, 4, 4, 1, out, &info, err,
		               sizeof err) == IMG_ERR_TOO_LARGE);
		CHECK(strstr(err, "100000x100000") != NULL);
	}
	TH_TEST("pixel limit is configurable")
	{
		size_t n = png_header(buf, 100, 100);
		struct img_limits lim = {.max_pixels = 9999};

		CHECK(img_probe(buf, n, &lim, &info) == IMG_ERR_TOO_LARGE);
		lim.max_pixels = 10000;
		CHECK(img_probe(buf, n, &lim, &info) == IMG_OK);
	}
	TH_TEST("truncated PNG: header fine, data missing")
	{
		size_t n = png_header(buf, 4, 4);

		CHECK(img_probe(buf, n, NULL, &info) == IMG_OK);
		CHECK(img_load(buf, n, NULL, 4, 4, 1, out, &info, err,
		               sizeof err) == IMG_ERR_CORRUPT);
		CHECK(img_verify(buf, n, NULL, &info, err, sizeof err) ==
		      IMG_ERR_CORRUPT);
	}
	TH_TEST("truncated and corrupt JPEG at every cut")
	{
		struct membuf m = {0};
		unsigned char *px = pattern(32, 32, 3);
		int bad = 0;

		w_jpg(&m, 32, 32, 3, px);
		for (size_t cut = 0; cut < m.n; cut += 7) {
			/* Never crashes; short cuts must fail. */
			enum img_err e = img_load(m.p, cut, NULL, 4, 4, 1, out,
			                          &info, err, sizeof err);

			if (cut < 100 && e == IMG_OK)
				bad++;
		}
		memset(m.p + m.n / 2, 0xff, m.n / 4);
		if (img_load(m.p, m.n, NULL, 4, 4, 1, out, &info, err,
		             sizeof err) != IMG_OK)
			CHECK(err[0] != '\0');
		CHECK(bad == 0);
		free(m.p);
		free(px);
	}
	TH_TEST("bad target size")
	{
		size_t n = png_header(buf, 4, 4);

		CHECK(img_load(buf, n, NULL, 0, 4, 1, out, &info, err,
		               sizeof err) == IMG_ERR_ARG);
		CHECK(img_load(buf, n, NULL, 4, 4, 5, out, &info, err,
		               sizeof err) == IMG_ERR_ARG);
	}
	TH_TEST("sniff")
	{
		CHECK(img_sniff("\xff\xd8\xff\xe0", 4) == IMG_FMT_JPEG);
		CHECK(img_sniff("GIF89a", 6) == IMG_FMT_GIF);
		CHECK(img_sniff("BM", 2) == IMG_FMT_BMP);
		CHECK(img_sniff("P", 1) == IMG_FMT_UNKNOWN);
		CHECK(strcmp(img_format_name(IMG_FMT_PNG), "png") == 0);
	}
}

int
main(void)
{
	test_convert();
	test_resize();
	test_formats();
	test_refusals();
	return th_done();
}
