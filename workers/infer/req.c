/*
 * req.c — validation of a POST /predict body and base64 (libsodium).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "img.h"
#include "req.h"
#include "svc.h"

void
infer_limits_default(struct infer_limits *lim)
{
	lim->max_images = 1024;
	lim->max_body = 64u << 20;
	/* 25 Mpx: a big phone photo; 20000x20000 headers are refused. */
	lim->max_pixels = 25u << 20;
	lim->max_thumbnail = 512;
	/* A model with a huge input must not make us abort in malloc. */
	lim->max_batch = (uint64_t)1 << 30;
	/*
	 * 64 Mpx a request: two 5100x5100 photos, or 80,000 28x28 images.
	 * Without it two requests of 48 such photos kept both cores busy
	 * for minutes (issue 13).
	 */
	lim->max_request_pixels = 64000000;
	lim->small_pixels = 2000000;
}

/* An optional integer member in [lo, hi]; 0, or 400 with err. */
static int
int_field(const cJSON *body, const char *key, int lo, int hi, int def, int *out,
          char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);

	*out = def;
	if (!v || cJSON_IsNull(v))
		return 0;
	/* Range first: casting NaN or 1e300 to an integer is undefined. */
	if (!cJSON_IsNumber(v) ||
	    !(v->valuedouble >= lo && v->valuedouble <= hi) ||
	    v->valuedouble != (double)(int)v->valuedouble) {
		snprintf(err, errlen, "\"%s\" must be an integer from %d to %d",
		         key, lo, hi);
		return 400;
	}
	*out = (int)v->valuedouble;
	return 0;
}

/* An optional boolean member; 0, or 400 with err. */
static int
bool_field(const cJSON *body, const char *key, int *out, char *err,
           size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);

	*out = 0;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsBool(v)) {
		snprintf(err, errlen, "\"%s\" must be true or false", key);
		return 400;
	}
	*out = cJSON_IsTrue(v);
	return 0;
}

static int
model_field(const cJSON *body, struct infer_req *r, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "model");
	char why[256], *p;

	if (!v) {
		snprintf(
		    err, errlen,
		    "\"model\" is required: a model path "
		    "relative to the models volume, e.g. runs/7/model.tym");
		return 400;
	}
	if (!cJSON_IsString(v)) {
		snprintf(err, errlen, "\"model\" must be a string");
		return 400;
	}
	/* The same rule as every volume path; only the verdict is kept. */
	p = svc_volume_path("", v->valuestring, why, sizeof why);
	if (!p) {
		snprintf(err, errlen, "\"model\": %s", why);
		return 400;
	}
	free(p);
	r->model = v->valuestring;
	return 0;
}

static int
image_item(const cJSON *it, size_t i, struct infer_image *im, char *err,
           size_t errlen)
{
	const cJSON *name, *data;

	if (!cJSON_IsObject(it)) {
		snprintf(err, errlen,
		         "images[%zu] must be an object "
		         "{\"name\", \"data\"}",
		         i);
		return 400;
	}
	name = cJSON_GetObjectItemCaseSensitive(it, "name");
	data = cJSON_GetObjectItemCaseSensitive(it, "data");
	if (name && !cJSON_IsNull(name)) {
		if (!cJSON_IsString(name)) {
			snprintf(err, errlen,
			         "images[%zu].name must be a "
			         "string",
			         i);
			return 400;
		}
		if (strlen(name->valuestring) > INFER_MAX_NAME) {
			snprintf(err, errlen,
			         "images[%zu].name is longer "
			         "than %d bytes",
			         i, INFER_MAX_NAME);
			return 400;
		}
		snprintf(im->name, sizeof im->name, "%s", name->valuestring);
	} else {
		snprintf(im->name, sizeof im->name, "image-%zu", i + 1);
	}
	if (!cJSON_IsString(data)) {
		snprintf(err, errlen,
		         "images[%zu].data must be a base64 "
		         "string",
		         i);
		return 400;
	}
	im->b64 = data->valuestring;
	im->b64len = strlen(data->valuestring);
	return 0;
}

static int
images_field(const cJSON *body, const struct infer_limits *lim,
             struct infer_req *r, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "images");
	const cJSON *it;
	size_t n, i = 0;
	int st;

	if (!cJSON_IsArray(v)) {
		snprintf(err, errlen,
		         "\"images\" must be a list of "
		         "{\"name\", \"data\"} objects");
		return 400;
	}
	n = (size_t)cJSON_GetArraySize(v);
	if (n == 0) {
		snprintf(err, errlen,
		         "\"images\" is empty: send at least "
		         "one image");
		return 400;
	}
	if (n > lim->max_images) {
		snprintf(err, errlen,
		         "too many images: %zu, at most %zu per "
		         "request",
		         n, lim->max_images);
		return 413;
	}
	r->images = xcalloc(n, sizeof *r->images);
	cJSON_ArrayForEach(it, v)
	{
		if ((st = image_item(it, i, &r->images[i], err, errlen)))
			return st;
		i++;
	}
	r->nimages = n;
	return 0;
}

/* The optional "user": a string or a number, kept for fair turns only. */
static int
user_field(const cJSON *body, struct infer_req *r, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "user");

	r->user[0] = '\0';
	if (!v || cJSON_IsNull(v))
		return 0;
	if (cJSON_IsString(v) && strlen(v->valuestring) < sizeof r->user) {
		snprintf(r->user, sizeof r->user, "%s", v->valuestring);
		return 0;
	}
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e15) {
		snprintf(r->user, sizeof r->user, "%.0f", v->valuedouble);
		return 0;
	}
	snprintf(err, errlen,
	         "\"user\" must be a string of at most %zu "
	         "bytes or a non-negative number",
	         sizeof r->user - 1);
	return 400;
}

int
infer_req_parse(const cJSON *body, const struct infer_limits *lim,
                struct infer_req *r, char *err, size_t errlen)
{
	int st;

	memset(r, 0, sizeof *r);
	r->peer_fd = -1;
	if (!cJSON_IsObject(body)) {
		snprintf(err, errlen, "body must be a JSON object");
		return 400;
	}
	if ((st = model_field(body, r, err, errlen)) ||
	    (st = int_field(body, "top_k", 1, INFER_MAX_TOP_K,
	                    INFER_DEFAULT_TOP_K, &r->top_k, err, errlen)) ||
	    (st = int_field(body, "thumbnail", 0, lim->max_thumbnail, 0,
	                    &r->thumbnail, err, errlen)) ||
	    (st = bool_field(body, "tta", &r->tta, err, errlen)) ||
	    (st = user_field(body, r, err, errlen)) ||
	    (st = images_field(body, lim, r, err, errlen))) {
		infer_req_free(r);
		return st;
	}
	return 0;
}

void
infer_req_free(struct infer_req *r)
{
	free(r->images);
	memset(r, 0, sizeof *r);
	r->peer_fd = -1;
}

/* Skips a data URL's "data:<type>;base64," so a browser's value works. */
static void
skip_data_url(const char **s, size_t *len)
{
	const char *comma;

	if (*len < 5 || strncmp(*s, "data:", 5) != 0)
		return;
	comma = memchr(*s, ',', *len < 256 ? *len : 256);
	if (!comma || comma - *s < 7 || strncmp(comma - 7, ";base64", 7))
		return;
	*len -= (size_t)(comma + 1 - *s);
	*s = comma + 1;
}

/*
 * Base64 of the first bytes of an image: 64 KB of text hold the header of
 * every format but a JPEG with a large EXIF block before its frame. The
 * first 4 KB are tried first: they hold a PNG's, GIF's, BMP's or PNM's
 * size and most JPEGs', and a single photo was decoded twice whole (once
 * here, once to use it): libsodium's constant-time base64 was 12 % of
 * the worker's time for a 33 KB colour request.
 */
#define HEAD_B64 (64u << 10)
#define HEAD_B64_FIRST (4u << 10)

/* Width*height from the header in the first bytes; 0 when not there. */
static uint64_t
head_pixels(const struct infer_image *im, uint8_t *head, size_t cap)
{
	static const size_t tries[] = {HEAD_B64_FIRST, HEAD_B64};
	const char *s = im->b64, *end;
	size_t len = im->b64len, n, hl, done = 0;
	int64_t w, h;

	skip_data_url(&s, &len);
	for (size_t i = 0; i < TY_ARRAY_LEN(tries) && done < len; i++) {
		n = (len < tries[i] ? len : tries[i]) & ~(size_t)3;
		if (n <= done)
			continue;
		done = n;
		/* With b64_end set, decoding stops at '=' or a cut instead
		 * of failing; whitespace that misaligns the quads makes it
		 * fail. */
		if (sodium_base642bin(
		        head, cap, s, n, " \t\r\n", &hl, &end,
		        sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0)
			return 0;
		if (img_header_dims(head, hl, &w, &h) == 0)
			return (uint64_t)w * (uint64_t)h;
	}
	return 0;
}

/* The whole image decoded and probed: for headers past the first bytes. */
static uint64_t
full_pixels(const struct infer_image *im)
{
	struct img_limits il = {.max_pixels = UINT64_MAX};
	struct img_info info;
	uint8_t *bytes;
	size_t len;
	char why[64];
	uint64_t px = 0;

	if (infer_b64_decode(im->b64, im->b64len, &bytes, &len, why,
	                     sizeof why))
		return 0;
	if (img_probe(bytes, len, &il, &info) == IMG_OK)
		px = (uint64_t)info.width * (uint64_t)info.height;
	free(bytes);
	return px;
}

int
infer_req_pixels(struct infer_req *r, const struct infer_limits *lim, char *err,
                 size_t errlen)
{
	size_t cap = HEAD_B64 / 4 * 3;
	uint8_t *head = xmalloc(cap);

	r->pixels = 0;
	for (size_t i = 0; i < r->nimages; i++) {
		uint64_t px = head_pixels(&r->images[i], head, cap);

		if (!px)
			px = full_pixels(&r->images[i]);
		/* Refused one by one later, never decoded. */
		if (px > lim->max_pixels)
			px = 0;
		r->pixels += px;
	}
	free(head);
	if (r->pixels > lim->max_request_pixels) {
		snprintf(err, errlen,
		         "the images hold %.1f million pixels, "
		         "over the limit of %.1f million a request: send fewer "
		         "or smaller images",
		         (double)r->pixels / 1e6,
		         (double)lim->max_request_pixels / 1e6);
		return 413;
	}
	return 0;
}

/* base64 characters: their value, B64_SKIP (whitespace), B64_PAD ('=')
 * or B64_BAD; filled once. */
enum { B64_SKIP = 64, B64_PAD, B64_BAD };
static uint8_t b64_tab[256];
static pthread_once_t b64_once = PTHREAD_ONCE_INIT;

static void
b64_init(void)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                          "abcdefghijklmnopqrstuvwxyz0123456789+/";

	memset(b64_tab, B64_BAD, sizeof b64_tab);
	for (int i = 0; i < 64; i++)
		b64_tab[(unsigned char)abc[i]] = (uint8_t)i;
	b64_tab[' '] = b64_tab['\t'] = b64_tab['\r'] = b64_tab['\n'] = B64_SKIP;
	b64_tab['='] = B64_PAD;
}

/*
 * Standard base64 into out (room for len / 4 * 3 + 3): whitespace
 * anywhere, the padding either left out or exactly right, no bits left
 * over, nothing after the padding but whitespace — what libsodium's
 * decoder accepts in its padded and unpadded variants (test_infer.c
 * checks both agree on every input it makes), at table speed: its
 * constant-time decoding, meant for secrets, was 10 % of the worker's
 * time for a 33 KB photo.
 */
static int
b64_decode(const char *s, size_t len, uint8_t *out, size_t *outlen)
{
	uint32_t acc = 0;
	size_t n = 0, o = 0, pad = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t v = b64_tab[(unsigned char)s[i]];

		if (v < 64 && !pad) {
			acc = acc << 6 | v;
			if (++n % 4 == 0) {
				out[o++] = (uint8_t)(acc >> 16);
				out[o++] = (uint8_t)(acc >> 8);
				out[o++] = (uint8_t)acc;
				acc = 0;
			}
		} else if (v == B64_PAD) {
			pad++;
		} else if (v != B64_SKIP) {
			return -1; /* not base64, or data after '=' */
		}
	}
	switch (n % 4) {
	case 0:
		if (pad)
			return -1;
		break;
	case 2:
		if ((pad && pad != 2) || (acc & 0xf))
			return -1;
		out[o++] = (uint8_t)(acc >> 4);
		break;
	case 3:
		if ((pad && pad != 1) || (acc & 0x3))
			return -1;
		out[o++] = (uint8_t)(acc >> 10);
		out[o++] = (uint8_t)(acc >> 2);
		break;
	default:
		return -1;
	}
	*outlen = o;
	return 0;
}

int
infer_b64_decode(const char *s, size_t len, uint8_t **out, size_t *outlen,
                 char *err, size_t errlen)
{
	pthread_once(&b64_once, b64_init);
	skip_data_url(&s, &len);
	*out = xmalloc(len / 4 * 3 + 3);
	if (b64_decode(s, len, *out, outlen) == 0)
		return 0;
	free(*out);
	*out = NULL;
	*outlen = 0;
	snprintf(err, errlen, "invalid base64 in \"data\"");
	return -1;
}

char *
infer_b64_encode(const uint8_t *bin, size_t len)
{
	size_t n =
	    sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = xmalloc(n);

	sodium_bin2base64(s, n, bin, len, sodium_base64_VARIANT_ORIGINAL);
	return s;
}
