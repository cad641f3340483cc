/*
 * test_img_fit.c — the square-input policies (img_fit_as, img.h): where
 * a wide, tall, square, 1xN, Nx1 or odd-sized picture lands in the
 * target for stretch, letterbox and crop, what the bars hold, alpha, and
 * the policy names as meta.json and the model store them.
 */
#include <stdlib.h>
#include <string.h>

#include "../th.h"
#include "img.h"

/* Geometry rows: source, target, policy -> the rects. */
static void
test_geometry(void)
{
	static const struct {
		const char *name;
		enum img_fit f;
		int sw, sh, w, h;
		struct img_rect src, dst;
	} rows[] = {
	    {"stretch wide",
	     IMG_FIT_STRETCH,
	     160,
	     80,
	     64,
	     64,
	     {0, 0, 160, 80},
	     {0, 0, 64, 64}},
	    {"letterbox wide: bars above and below",
	     IMG_FIT_LETTERBOX,
	     160,
	     80,
	     64,
	     64,
	     {0, 0, 160, 80},
	     {0, 16, 64, 32}},
	    {"letterbox tall: bars left and right",
	     IMG_FIT_LETTERBOX,
	     80,
	     160,
	     64,
	     64,
	     {0, 0, 80, 160},
	     {16, 0, 32, 64}},
	    {"letterbox square is the whole target",
	     IMG_FIT_LETTERBOX,
	     50,
	     50,
	     64,
	     64,
	     {0, 0, 50, 50},
	     {0, 0, 64, 64}},
	    {"letterbox 1xN: one column, centred",
	     IMG_FIT_LETTERBOX,
	     1,
	     300,
	     64,
	     64,
	     {0, 0, 1, 300},
	     {31, 0, 1, 64}},
	    {"letterbox Nx1: one row, centred",
	     IMG_FIT_LETTERBOX,
	     300,
	     1,
	     64,
	     64,
	     {0, 0, 300, 1},
	     {0, 31, 64, 1}},
	    {"letterbox odd: 99x60 into 64 rounds 38.8 to 39",
	     IMG_FIT_LETTERBOX,
	     99,
	     60,
	     64,
	     64,
	     {0, 0, 99, 60},
	     {0, 12, 64, 39}},
	    {"letterbox into a wide target",
	     IMG_FIT_LETTERBOX,
	     50,
	     50,
	     40,
	     20,
	     {0, 0, 50, 50},
	     {10, 0, 20, 20}},
	    {"crop wide: the centre square",
	     IMG_FIT_CROP,
	     160,
	     80,
	     64,
	     64,
	     {40, 0, 80, 80},
	     {0, 0, 64, 64}},
	    {"crop tall: the centre square",
	     IMG_FIT_CROP,
	     80,
	     160,
	     64,
	     64,
	     {0, 40, 80, 80},
	     {0, 0, 64, 64}},
	    {"crop square is the whole source",
	     IMG_FIT_CROP,
	     28,
	     28,
	     28,
	     28,
	     {0, 0, 28, 28},
	     {0, 0, 28, 28}},
	    {"crop 1xN: its middle pixel",
	     IMG_FIT_CROP,
	     1,
	     301,
	     64,
	     64,
	     {0, 150, 1, 1},
	     {0, 0, 64, 64}},
	    {"crop Nx1: its middle pixel",
	     IMG_FIT_CROP,
	     300,
	     1,
	     64,
	     64,
	     {149, 0, 1, 1},
	     {0, 0, 64, 64}},
	    {"crop odd: 99x60, centre 60x60",
	     IMG_FIT_CROP,
	     99,
	     60,
	     64,
	     64,
	     {19, 0, 60, 60},
	     {0, 0, 64, 64}},
	};

	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		struct img_rect s, d;

		TH_TEST(rows[i].name)
		{
			img_fit_geometry(rows[i].f, rows[i].sw, rows[i].sh,
			                 rows[i].w, rows[i].h, &s, &d);
			CHECK(!memcmp(&s, &rows[i].src, sizeof s));
			CHECK(!memcmp(&d, &rows[i].dst, sizeof d));
		}
	}
}

/* A w x h RGB picture: left half red, right half blue. */
static unsigned char *
halves(int w, int h)
{
	unsigned char *px = malloc((size_t)w * h * 3);

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			unsigned char *p = px + ((size_t)y * w + x) * 3;
			p[0] = x < w / 2 ? 255 : 0;
			p[1] = 0;
			p[2] = x < w / 2 ? 0 : 255;
		}
	return px;
}

static int
count_px(const unsigned char *out, int n, int r, int g, int b)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += out[i * 3] == r && out[i * 3 + 1] == g &&
		     out[i * 3 + 2] == b;
	return k;
}

static void
test_pixels(void)
{
	unsigned char out[64 * 64 * 3], ref[64 * 64 * 3];
	char err[128];

	TH_TEST("letterbox wide: gray bars, the picture between them")
	{
		unsigned char *px = halves(160, 80);

		CHECK(img_fit_as(px, 160, 80, 3, 64, 64, 3, IMG_FIT_LETTERBOX,
		                 out, err, sizeof err) == IMG_OK);
		/* rows 0..15 and 48..63 are bars */
		CHECK(count_px(out, 64 * 16, IMG_PAD, IMG_PAD, IMG_PAD) ==
		      64 * 16);
		CHECK(count_px(out + 48 * 64 * 3, 64 * 16, IMG_PAD, IMG_PAD,
		               IMG_PAD) == 64 * 16);
		/* both halves are there: nothing cut off */
		CHECK(out[(32 * 64 + 2) * 3] == 255 &&
		      out[(32 * 64 + 2) * 3 + 2] == 0);
		CHECK(out[(32 * 64 + 61) * 3] == 0 &&
		      out[(32 * 64 + 61) * 3 + 2] == 255);
		free(px);
	}
	TH_TEST("crop wide: no bars, the centre only")
	{
		unsigned char *px = halves(160, 80);

		CHECK(img_fit_as(px, 160, 80, 3, 64, 64, 3, IMG_FIT_CROP, out,
		                 err, sizeof err) == IMG_OK);
		CHECK(count_px(out, 64 * 64, IMG_PAD, IMG_PAD, IMG_PAD) == 0);
		/* the centre 80x80 keeps half red, half blue */
		CHECK(count_px(out, 64 * 64, 255, 0, 0) == 32 * 64);
		CHECK(count_px(out, 64 * 64, 0, 0, 255) == 32 * 64);
		free(px);
	}
	TH_TEST("stretch is img_fit, byte for byte")
	{
		unsigned char *px = halves(99, 60);

		CHECK(img_fit_as(px, 99, 60, 3, 64, 64, 3, IMG_FIT_STRETCH, out,
		                 err, sizeof err) == IMG_OK);
		CHECK(img_fit(px, 99, 60, 3, 64, 64, 3, ref, err, sizeof err) ==
		      IMG_OK);
		CHECK(!memcmp(out, ref, sizeof out));
		free(px);
	}
	TH_TEST("a picture of the target's aspect: all three agree")
	{
		unsigned char *px = halves(28, 28);

		for (int f = 0; f < IMG_FIT__MAX; f++) {
			CHECK(img_fit_as(px, 28, 28, 3, 28, 28, 3,
			                 (enum img_fit)f, out, err,
			                 sizeof err) == IMG_OK);
			CHECK(!memcmp(out, px, 28 * 28 * 3));
		}
		free(px);
	}
	TH_TEST("1xN and Nx1 under every policy")
	{
		unsigned char col[300 * 3], row[300];

		memset(col, 40, sizeof col);
		memset(row, 200, sizeof row);
		for (int f = 0; f < IMG_FIT__MAX; f++) {
			CHECK(img_fit_as(col, 1, 300, 3, 64, 64, 3,
			                 (enum img_fit)f, out, err,
			                 sizeof err) == IMG_OK);
			CHECK(count_px(out, 64 * 64, 40, 40, 40) ==
			      (f == IMG_FIT_LETTERBOX ? 64 : 64 * 64));
			CHECK(img_fit_as(row, 300, 1, 1, 64, 64, 1,
			                 (enum img_fit)f, out, err,
			                 sizeof err) == IMG_OK);
			int k = 0;
			for (int i = 0; i < 64 * 64; i++)
				k += out[i] == 200;
			CHECK(k == (f == IMG_FIT_LETTERBOX ? 64 : 64 * 64));
		}
	}
	TH_TEST("alpha: transparent is white inside, bars stay gray")
	{
		/* 20x10 RGBA, fully transparent */
		unsigned char px[20 * 10 * 4];

		memset(px, 0, sizeof px);
		CHECK(img_fit_as(px, 20, 10, 4, 16, 16, 3, IMG_FIT_LETTERBOX,
		                 out, err, sizeof err) == IMG_OK);
		/* 16x8 of white in rows 4..11, gray above and below */
		CHECK(count_px(out, 16 * 16, 255, 255, 255) == 16 * 8);
		CHECK(count_px(out, 16 * 16, IMG_PAD, IMG_PAD, IMG_PAD) ==
		      16 * 8);
		CHECK(count_px(out + 4 * 16 * 3, 16 * 8, 255, 255, 255) ==
		      16 * 8);
	}
	TH_TEST("RGBA kept as RGBA: the bars are transparent")
	{
		unsigned char px[20 * 10 * 4], o4[16 * 16 * 4];

		memset(px, 255, sizeof px);
		CHECK(img_fit_as(px, 20, 10, 4, 16, 16, 4, IMG_FIT_LETTERBOX,
		                 o4, err, sizeof err) == IMG_OK);
		CHECK(o4[3] == 0 && o4[0] == IMG_PAD);
		CHECK(o4[(8 * 16 + 8) * 4 + 3] == 255);
	}
	TH_TEST("odd sizes: 99x61 into 31x17, every policy")
	{
		unsigned char *px = halves(99, 61), o[31 * 17 * 3];

		for (int f = 0; f < IMG_FIT__MAX; f++)
			CHECK(img_fit_as(px, 99, 61, 3, 31, 17, 3,
			                 (enum img_fit)f, o, err,
			                 sizeof err) == IMG_OK);
		free(px);
	}
	TH_TEST("a policy out of range is refused")
	{
		unsigned char px[4 * 3] = {0};

		CHECK(img_fit_as(px, 2, 2, 3, 4, 4, 3, IMG_FIT__MAX, out, err,
		                 sizeof err) == IMG_ERR_ARG);
		CHECK(img_fit_as(px, 2, 2, 3, 4, 4, 3, (enum img_fit) - 1, out,
		                 err, sizeof err) == IMG_ERR_ARG);
		CHECK(err[0] != '\0');
	}
}

/* Random shapes, exact-size buffers: under SAN=1 any write or read
 * outside them fails; the rects stay inside and are never empty. */
static void
test_random(void)
{
	char err[128];
	unsigned r = 12345;

	TH_TEST("500 random sizes, channels and policies stay inside")
	{
		int bad = 0;
		for (int i = 0; i < 500; i++) {
			int sw =
			    1 +
			    (int)((r = r * 1103515245u + 12345u) >> 16) % 300;
			int sh =
			    1 +
			    (int)((r = r * 1103515245u + 12345u) >> 16) % 300;
			int w =
			    1 +
			    (int)((r = r * 1103515245u + 12345u) >> 16) % 70;
			int h =
			    1 +
			    (int)((r = r * 1103515245u + 12345u) >> 16) % 70;
			int sc =
			    1 + (int)((r = r * 1103515245u + 12345u) >> 16) % 4;
			int c = (r >> 20) % 2 ? 3 : 1;
			enum img_fit f = (enum img_fit)(i % IMG_FIT__MAX);
			struct img_rect s, d;
			unsigned char *px = malloc((size_t)sw * sh * sc);
			unsigned char *out = malloc((size_t)w * h * c);

			memset(px, (int)(r & 0xff), (size_t)sw * sh * sc);
			img_fit_geometry(f, sw, sh, w, h, &s, &d);
			bad += s.w < 1 || s.h < 1 || s.x < 0 || s.y < 0 ||
			       s.x + s.w > sw || s.y + s.h > sh;
			bad += d.w < 1 || d.h < 1 || d.x < 0 || d.y < 0 ||
			       d.x + d.w > w || d.y + d.h > h;
			bad += img_fit_as(px, sw, sh, sc, w, h, c, f, out, err,
			                  sizeof err) != IMG_OK;
			free(px);
			free(out);
		}
		CHECK(bad == 0);
	}
}

static void
test_names(void)
{
	static const struct {
		const char *in;
		int want;
	} rows[] = {
	    {"stretch", IMG_FIT_STRETCH},
	    {"letterbox", IMG_FIT_LETTERBOX},
	    {"crop", IMG_FIT_CROP},
	    {"", -1},
	    {"Letterbox", -1},
	    {"letterbox ", -1},
	    {"crop\n", -1},
	    {NULL, -1},
	};

	TH_TEST("policy names: exact, nothing else")
	{
		for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++)
			CHECK(img_fit_parse(rows[i].in) == rows[i].want);
	}
}

int
main(void)
{
	test_geometry();
	test_pixels();
	test_random();
	test_names();
	return th_done();
}
