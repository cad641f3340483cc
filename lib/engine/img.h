/*
 * img.h — the one decode/convert/resize path. Preprocess and inference
 * both call img_load so a model sees the same pixels in training and in
 * use.
 *
 * Decoding is stb_image (JPEG baseline+progressive, PNG 1/2/3/4 channels,
 * palette and 16-bit, GIF first frame, BMP, TGA, PNM). The header is read
 * first and images over the pixel limit are refused before any decoding.
 * Channels: alpha is composited onto white; RGB -> gray uses the ITU-R
 * 601 luma weights (as PIL's convert("L")); gray -> RGB replicates.
 * Resize: stb_image_resize, box (area) filter on an axis that shrinks,
 * Catmull-Rom on one that grows, edge clamp, linear colour space; an
 * image already at the target size is copied unchanged. A picture of
 * another shape than the target is fitted by an enum img_fit policy.
 */
#ifndef TY_IMG_H
#define TY_IMG_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum img_format {
	IMG_FMT_UNKNOWN,
	IMG_FMT_JPEG,
	IMG_FMT_PNG,
	IMG_FMT_GIF,
	IMG_FMT_BMP,
	IMG_FMT_TGA,
	IMG_FMT_PNM,
	IMG_FMT_OTHER, /* decodable by stb (PSD, HDR, PIC) */
	IMG_FMT__MAX
};

enum img_err {
	IMG_OK = 0,
	IMG_ERR_NOT_IMAGE = -1, /* no known image signature */
	IMG_ERR_TOO_LARGE = -2, /* over the pixel limit */
	IMG_ERR_CORRUPT = -3,   /* a known format that fails to decode */
	IMG_ERR_EMPTY = -4,     /* 0 bytes */
	IMG_ERR_ARG = -5,       /* bad target size/channels */
};

const char *img_strerror(enum img_err e);
const char *img_format_name(enum img_format f);

struct img_limits {
	uint64_t max_pixels; /* width*height of the source; 0: 64M */
};

struct img_info {
	enum img_format format;
	int width, height, channels; /* of the source, channels 1..4 */
};

/* The format from the first bytes; TGA has no signature: UNKNOWN. */
enum img_format img_sniff(const void *bytes, size_t len);

/*
 * The width and height a header claims, from its first bytes only (a
 * prefix of the file is enough for PNG, GIF, BMP, PNM, and for a JPEG
 * whose frame header is inside it): 0, or -1 when they are not there.
 * For a budget checked before anything is decoded; img_probe still
 * vets the whole file.
 */
int img_header_dims(const void *bytes, size_t len, int64_t *w,
                    int64_t *h) TY_WUR;

/* Reads the header only. */
enum img_err img_probe(const void *bytes, size_t len,
                       const struct img_limits *lim,
                       struct img_info *info) TY_WUR;

/*
 * Converts w*h pixels from cin to cout channels (each 1..4; cout 2 and 4
 * get an opaque alpha). in and out must not overlap.
 */
void img_convert(const uint8_t *in, int w, int h, int cin, uint8_t *out,
                 int cout);

/* Resizes c-channel uint8 HWC; 0 or -1. */
int img_resize(const uint8_t *in, int iw, int ih, int c, uint8_t *out, int ow,
               int oh) TY_WUR;

/*
 * How a picture of another shape becomes w x h (docs/preprocess.md,
 * "Square input"). Each keeps a picture already of the target's aspect
 * exactly as stretch does (a 28x28 image at 28x28 is copied).
 *	stretch    each axis scaled on its own: the aspect changes
 *	letterbox  scaled by the smaller ratio so all of it fits, centred;
 *	           the bars are IMG_PAD gray (an alpha channel: 0)
 *	crop       scaled by the larger ratio, centred; what sticks out of
 *	           the target is cut off
 * The names are img_fit_names[], as stored in meta.json and the model.
 */
enum img_fit { IMG_FIT_STRETCH, IMG_FIT_LETTERBOX, IMG_FIT_CROP, IMG_FIT__MAX };
extern const char *const img_fit_names[IMG_FIT__MAX];
#define IMG_PAD 128

/* The policy named s, or -1. */
int img_fit_parse(const char *s);

struct img_rect {
	int x, y, w, h;
};

/*
 * Where an sw x sh source goes in a w x h target under f: the part of the
 * source used (src) is resized to the part of the target dst; the rest of
 * the target is padding. Both rects are at least 1 x 1 and inside.
 */
void img_fit_geometry(enum img_fit f, int sw, int sh, int w, int h,
                      struct img_rect *src, struct img_rect *dst);

/*
 * Decodes bytes, converts to c channels (1 or 3) and resizes to w x h
 * into out (w*h*c bytes). info (may be NULL) gets the source's format and
 * size even when decoding then fails. err gets a message for a person.
 */
enum img_err img_load(const void *bytes, size_t len,
                      const struct img_limits *lim, int w, int h, int c,
                      uint8_t *out, struct img_info *info, char *err,
                      size_t errlen) TY_WUR;

/*
 * Decodes fully and discards the pixels: the check a report needs (a
 * truncated PNG passes img_probe but not this). Same errors as img_load.
 */
enum img_err img_verify(const void *bytes, size_t len,
                        const struct img_limits *lim, struct img_info *info,
                        char *err, size_t errlen) TY_WUR;

/*
 * The two halves of img_load, for a caller that also needs the source
 * pixels (inference thumbnails) without decoding twice. img_decode gives
 * the source at info's width, height and channels (free with img_free);
 * img_fit converts and resizes such pixels to c channels at w x h,
 * exactly the steps img_load takes after decoding.
 */
enum img_err img_decode(const void *bytes, size_t len,
                        const struct img_limits *lim, struct img_info *info,
                        uint8_t **px, char *err, size_t errlen) TY_WUR;
void img_free(uint8_t *px);
enum img_err img_fit(const uint8_t *px, int sw, int sh, int sc, int w, int h,
                     int c, uint8_t *out, char *err, size_t errlen) TY_WUR;
/* img_fit under a policy (img_fit is img_fit_as with IMG_FIT_STRETCH). */
enum img_err img_fit_as(const uint8_t *px, int sw, int sh, int sc, int w, int h,
                        int c, enum img_fit f, uint8_t *out, char *err,
                        size_t errlen) TY_WUR;

#endif
