/*
 * img.c — decode (stb_image), channel conversion and resize
 * (stb_image_resize): the path every image takes, in training and in use.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>

#include "img.h"
#include "bytes.h"

#define IMG_DEFAULT_MAX_PIXELS (64ull * 1024 * 1024)

static const char *const img_errs[] = {
    "ok",
    "not an image (unknown format)",
    "image too large",
    "corrupt or unsupported image data",
    "empty file",
    "bad target size or channel count",
};

static const char *const img_formats[IMG_FMT__MAX] = {
    [IMG_FMT_UNKNOWN] = "unknown", [IMG_FMT_JPEG] = "jpeg",
    [IMG_FMT_PNG] = "png",         [IMG_FMT_GIF] = "gif",
    [IMG_FMT_BMP] = "bmp",         [IMG_FMT_TGA] = "tga",
    [IMG_FMT_PNM] = "pnm",         [IMG_FMT_OTHER] = "other",
};

const char *
img_strerror(enum img_err e)
{
	int i = -(int)e;

	if (i < 0 || (size_t)i >= TY_ARRAY_LEN(img_errs))
		return "unknown error";
	return img_errs[i];
}

const char *
img_format_name(enum img_format f)
{
	if ((unsigned)f >= IMG_FMT__MAX)
		return "unknown";
	return img_formats[f];
}

/* Signatures, checked in order; TGA has none. */
static const struct {
	const char *magic;
	size_t len;
	enum img_format fmt;
} img_magic[] = {
    {"\xff\xd8\xff", 3, IMG_FMT_JPEG},
    {"\x89PNG\r\n\x1a\n", 8, IMG_FMT_PNG},
    {"GIF87a", 6, IMG_FMT_GIF},
    {"GIF89a", 6, IMG_FMT_GIF},
    {"BM", 2, IMG_FMT_BMP},
    {"P5", 2, IMG_FMT_PNM},
    {"P6", 2, IMG_FMT_PNM},
    {"8BPS", 4, IMG_FMT_OTHER},
    {"#?RADIANCE", 10, IMG_FMT_OTHER},
    {"#?RGBE", 6, IMG_FMT_OTHER},
    {"\x53\x80\xf6\x34", 4, IMG_FMT_OTHER},
};

enum img_format
img_sniff(const void *bytes, size_t len)
{
	for (size_t i = 0; i < TY_ARRAY_LEN(img_magic); i++)
		if (len >= img_magic[i].len &&
		    !memcmp(bytes, img_magic[i].magic, img_magic[i].len))
			return img_magic[i].fmt;
	return IMG_FMT_UNKNOWN;
}

/* JPEG: the size in the first start-of-frame marker. */
static void
jpeg_size(const uint8_t *b, size_t len, int64_t *w, int64_t *h)
{
	size_t i = 2;

	while (i + 9 <= len && b[i] == 0xff) {
		uint8_t m = b[i + 1];

		if (m == 0xff) {
			i++;
			continue;
		}
		if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 &&
		    m != 0xcc) {
			*h = b[i + 5] << 8 | b[i + 6];
			*w = b[i + 7] << 8 | b[i + 8];
			return;
		}
		if (m == 0xd8 || (m >= 0xd0 && m <= 0xd7) || m == 0x01) {
			i += 2;
			continue;
		}
		i += 2 + (size_t)(b[i + 2] << 8 | b[i + 3]);
	}
}

/* PNM: "P5", then width and height as text, '#' comments between. */
static void
pnm_size(const uint8_t *b, size_t len, int64_t *w, int64_t *h)
{
	int64_t v[2] = {-1, -1};
	size_t i = 2;

	for (int k = 0; k < 2; k++) {
		for (;;) {
			while (i < len && (b[i] == ' ' || b[i] == '\t' ||
			                   b[i] == '\n' || b[i] == '\r'))
				i++;
			if (i < len && b[i] == '#') {
				while (i < len && b[i] != '\n')
					i++;
				continue;
			}
			break;
		}
		if (i >= len || b[i] < '0' || b[i] > '9')
			return;
		v[k] = 0;
		while (i < len && b[i] >= '0' && b[i] <= '9' && v[k] < 1e12)
			v[k] = v[k] * 10 + (b[i++] - '0');
	}
	*w = v[0], *h = v[1];
}

/*
 * The size a header claims, read without stb: stb refuses huge sizes
 * itself but does not say so reliably, and a report should name them.
 */
static void
header_size(const uint8_t *b, size_t len, enum img_format f, int64_t *w,
            int64_t *h)
{
	*w = *h = -1;
	switch (f) {
	case IMG_FMT_PNG:
		if (len >= 24)
			*w = byte_get_be32(b + 16), *h = byte_get_be32(b + 20);
		break;
	case IMG_FMT_GIF:
		if (len >= 10)
			*w = b[6] | b[7] << 8, *h = b[8] | b[9] << 8;
		break;
	case IMG_FMT_BMP:
		if (len >= 26) {
			*w = (int32_t)byte_get_le32(b + 18);
			*h = llabs((int32_t)byte_get_le32(b + 22));
		}
		break;
	case IMG_FMT_JPEG:
		jpeg_size(b, len, w, h);
		break;
	case IMG_FMT_PNM:
		pnm_size(b, len, w, h);
		break;
	default:
		break;
	}
}

int
img_header_dims(const void *bytes, size_t len, int64_t *w, int64_t *h)
{
	header_size(bytes, len, img_sniff(bytes, len), w, h);
	return *w > 0 && *h > 0 ? 0 : -1;
}

enum img_err
img_probe(const void *bytes, size_t len, const struct img_limits *lim,
          struct img_info *info)
{
	uint64_t max =
	    lim && lim->max_pixels ? lim->max_pixels : IMG_DEFAULT_MAX_PIXELS;
	int64_t hw, hh;
	int w, h, c;

	memset(info, 0, sizeof *info);
	if (len == 0)
		return IMG_ERR_EMPTY;
	if (len > 0x7fffffff)
		return IMG_ERR_TOO_LARGE;
	info->format = img_sniff(bytes, len);
	header_size(bytes, len, info->format, &hw, &hh);
	if (hw > 0 && hh > 0 && (uint64_t)hw * (uint64_t)hh > max) {
		info->width = hw > INT_MAX ? INT_MAX : (int)hw;
		info->height = hh > INT_MAX ? INT_MAX : (int)hh;
		return IMG_ERR_TOO_LARGE;
	}
	if (!stbi_info_from_memory(bytes, (int)len, &w, &h, &c)) {
		/* stb recognises TGA by a plausible header only. */
		return info->format == IMG_FMT_UNKNOWN ? IMG_ERR_NOT_IMAGE
		                                       : IMG_ERR_CORRUPT;
	}
	if (info->format == IMG_FMT_UNKNOWN)
		info->format = IMG_FMT_TGA;
	info->width = w;
	info->height = h;
	info->channels = c;
	if (w <= 0 || h <= 0 || c < 1 || c > 4)
		return IMG_ERR_CORRUPT;
	if ((uint64_t)w * (uint64_t)h > max)
		return IMG_ERR_TOO_LARGE;
	return IMG_OK;
}

/* ITU-R 601-2 luma in 16.16 fixed point, rounded: PIL's convert("L"). */
static inline uint8_t
luma(unsigned r, unsigned g, unsigned b)
{
	return (uint8_t)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}

/* v over white with coverage a. */
static inline uint8_t
over_white(unsigned v, unsigned a)
{
	return (uint8_t)((v * a + 255 * (255 - a) + 127) / 255);
}

void
img_convert(const uint8_t *in, int w, int h, int cin, uint8_t *out, int cout)
{
	size_t n = (size_t)w * (size_t)h;

	if (cin == cout) {
		memcpy(out, in, n * (size_t)cin);
		return;
	}
	for (size_t i = 0; i < n; i++, in += cin, out += cout) {
		unsigned r, g, b, a = 255;

		switch (cin) {
		case 1:
			r = g = b = in[0];
			break;
		case 2:
			r = g = b = in[0];
			a = in[1];
			break;
		case 3:
			r = in[0], g = in[1], b = in[2];
			break;
		default:
			r = in[0], g = in[1], b = in[2];
			a = in[3];
			break;
		}
		if (a != 255 && (cout == 1 || cout == 3)) {
			r = over_white(r, a);
			g = over_white(g, a);
			b = over_white(b, a);
		}
		switch (cout) {
		case 1:
			out[0] = cin <= 2 ? (uint8_t)r : luma(r, g, b);
			break;
		case 2:
			out[0] = cin <= 2 ? (uint8_t)r : luma(r, g, b);
			out[1] = (uint8_t)a;
			break;
		case 3:
			out[0] = (uint8_t)r, out[1] = (uint8_t)g;
			out[2] = (uint8_t)b;
			break;
		default:
			out[0] = (uint8_t)r, out[1] = (uint8_t)g;
			out[2] = (uint8_t)b, out[3] = (uint8_t)a;
			break;
		}
	}
}

/* img_resize between rows that are istride and ostride bytes apart. */
static int
resize_rect(const uint8_t *in, size_t istride, int iw, int ih, int c,
            uint8_t *out, size_t ostride, int ow, int oh)
{
	stbir_filter fh, fv;

	if (iw == ow && ih == oh) {
		for (int y = 0; y < ih; y++)
			memcpy(out + (size_t)y * ostride,
			       in + (size_t)y * istride, (size_t)iw * c);
		return 0;
	}
	/* Area averaging when shrinking keeps thin strokes; no ringing. */
	fh = ow < iw ? STBIR_FILTER_BOX : STBIR_FILTER_CATMULLROM;
	fv = oh < ih ? STBIR_FILTER_BOX : STBIR_FILTER_CATMULLROM;
	if (!stbir_resize(in, iw, ih, (int)istride, out, ow, oh, (int)ostride,
	                  STBIR_TYPE_UINT8, c, STBIR_ALPHA_CHANNEL_NONE, 0,
	                  STBIR_EDGE_CLAMP, STBIR_EDGE_CLAMP, fh, fv,
	                  STBIR_COLORSPACE_LINEAR, NULL))
		return -1;
	return 0;
}

int
img_resize(const uint8_t *in, int iw, int ih, int c, uint8_t *out, int ow,
           int oh)
{
	return resize_rect(in, (size_t)iw * c, iw, ih, c, out, (size_t)ow * c,
	                   ow, oh);
}

const char *const img_fit_names[IMG_FIT__MAX] = {
    [IMG_FIT_STRETCH] = "stretch",
    [IMG_FIT_LETTERBOX] = "letterbox",
    [IMG_FIT_CROP] = "crop",
};

int
img_fit_parse(const char *s)
{
	for (int i = 0; s && i < IMG_FIT__MAX; i++)
		if (!strcmp(s, img_fit_names[i]))
			return i;
	return -1;
}

/* round(a * b / d) for positive values, in integers, at least 1, at most
 * hi: the same on every machine. */
static int
scaled(int a, int b, int d, int hi)
{
	int64_t v = ((int64_t)a * b * 2 + d) / ((int64_t)d * 2);

	return v < 1 ? 1 : v > hi ? hi : (int)v;
}

void
img_fit_geometry(enum img_fit f, int sw, int sh, int w, int h,
                 struct img_rect *src, struct img_rect *dst)
{
	/* wider than the target: sw/sh > w/h */
	int wider = (int64_t)sw * h > (int64_t)sh * w;

	*src = (struct img_rect){0, 0, sw, sh};
	*dst = (struct img_rect){0, 0, w, h};
	if (f == IMG_FIT_LETTERBOX) {
		if (wider)
			dst->h = scaled(sh, w, sw, h);
		else
			dst->w = scaled(sw, h, sh, w);
		dst->x = (w - dst->w) / 2;
		dst->y = (h - dst->h) / 2;
	} else if (f == IMG_FIT_CROP) {
		if (wider)
			src->w = scaled(sh, w, h, sw);
		else
			src->h = scaled(sw, h, w, sh);
		src->x = (sw - src->w) / 2;
		src->y = (sh - src->h) / 2;
	}
}

/* The letterbox bars: IMG_PAD gray, a transparent alpha. */
static void
pad(uint8_t *out, size_t npx, int c)
{
	memset(out, IMG_PAD, npx * (size_t)c);
	if (c == 2 || c == 4)
		for (size_t i = 0; i < npx; i++)
			out[i * (size_t)c + (size_t)c - 1] = 0;
}

/* Probes, then decodes with stb; the caller frees *px with stbi. */
static enum img_err
decode(const void *bytes, size_t len, const struct img_limits *lim,
       struct img_info *info, uint8_t **px, char *err, size_t errlen)
{
	enum img_err e;
	int sw, sh, sc;

	*px = NULL;
	e = img_probe(bytes, len, lim, info);
	if (e == IMG_ERR_TOO_LARGE) {
		snprintf(err, errlen,
		         "image too large: %dx%d pixels is over "
		         "the limit of %llu",
		         info->width, info->height,
		         (unsigned long long)(lim && lim->max_pixels
		                                  ? lim->max_pixels
		                                  : IMG_DEFAULT_MAX_PIXELS));
		return e;
	}
	if (e != IMG_OK) {
		snprintf(err, errlen, "%s", img_strerror(e));
		return e;
	}
	*px = stbi_load_from_memory(bytes, (int)len, &sw, &sh, &sc, 0);
	if (!*px) {
		snprintf(err, errlen, "cannot decode %s: %s",
		         img_format_name(info->format), stbi_failure_reason());
		return IMG_ERR_CORRUPT;
	}
	/* The header and the decoder must agree, or the limit was moot. */
	if (sw != info->width || sh != info->height || sc < 1 || sc > 4) {
		stbi_image_free(*px);
		*px = NULL;
		snprintf(err, errlen, "inconsistent image header");
		return IMG_ERR_CORRUPT;
	}
	/* stb's header scan may guess channels differently (GIF). */
	info->channels = sc;
	return IMG_OK;
}

enum img_err
img_verify(const void *bytes, size_t len, const struct img_limits *lim,
           struct img_info *info, char *err, size_t errlen)
{
	struct img_info tmp;
	uint8_t *px;
	enum img_err e;

	e = decode(bytes, len, lim, info ? info : &tmp, &px, err, errlen);
	stbi_image_free(px);
	return e;
}

enum img_err
img_decode(const void *bytes, size_t len, const struct img_limits *lim,
           struct img_info *info, uint8_t **px, char *err, size_t errlen)
{
	return decode(bytes, len, lim, info, px, err, errlen);
}

void
img_free(uint8_t *px)
{
	stbi_image_free(px);
}

static int
fit_args_ok(int w, int h, int c)
{
	return w > 0 && h > 0 && w <= 8192 && h <= 8192 && c >= 1 && c <= 4;
}

enum img_err
img_fit_as(const uint8_t *px, int sw, int sh, int sc, int w, int h, int c,
           enum img_fit f, uint8_t *out, char *err, size_t errlen)
{
	uint8_t *conv = NULL;
	const uint8_t *from;
	struct img_rect s, d;

	if (!fit_args_ok(w, h, c) || sw <= 0 || sh <= 0 || sc < 1 || sc > 4 ||
	    (unsigned)f >= IMG_FIT__MAX) {
		snprintf(err, errlen, "%s", img_strerror(IMG_ERR_ARG));
		return IMG_ERR_ARG;
	}
	if (sc != c) {
		conv = xmalloc((size_t)sw * sh * c);
		img_convert(px, sw, sh, sc, conv, c);
	}
	img_fit_geometry(f, sw, sh, w, h, &s, &d);
	if (d.w != w || d.h != h)
		pad(out, (size_t)w * h, c);
	from = (conv ? conv : px) + ((size_t)s.y * sw + s.x) * c;
	if (resize_rect(from, (size_t)sw * c, s.w, s.h, c,
	                out + ((size_t)d.y * w + d.x) * c, (size_t)w * c, d.w,
	                d.h)) {
		free(conv);
		snprintf(err, errlen, "resize failed");
		return IMG_ERR_CORRUPT;
	}
	free(conv);
	return IMG_OK;
}

enum img_err
img_fit(const uint8_t *px, int sw, int sh, int sc, int w, int h, int c,
        uint8_t *out, char *err, size_t errlen)
{
	return img_fit_as(px, sw, sh, sc, w, h, c, IMG_FIT_STRETCH, out, err,
	                  errlen);
}

enum img_err
img_load(const void *bytes, size_t len, const struct img_limits *lim, int w,
         int h, int c, uint8_t *out, struct img_info *info, char *err,
         size_t errlen)
{
	struct img_info tmp;
	enum img_err e;
	uint8_t *px;

	if (!info)
		info = &tmp;
	if (!fit_args_ok(w, h, c)) {
		snprintf(err, errlen, "%s", img_strerror(IMG_ERR_ARG));
		return IMG_ERR_ARG;
	}
	e = decode(bytes, len, lim, info, &px, err, errlen);
	if (e != IMG_OK)
		return e;
	e = img_fit(px, info->width, info->height, info->channels, w, h, c, out,
	            err, errlen);
	stbi_image_free(px);
	return e;
}
