/*
 * req.h — the POST /predict request: parsing and validation, and the
 * base64 of images and thumbnails.
 *
 *	{"model": "runs/7/model.tym", "top_k": 3, "thumbnail": 96,
 *	 "tta": false, "images": [{"name": "cat.png", "data": "<base64>"}]}
 *
 * Everything that makes the request as a whole wrong is refused here
 * (infer_req_parse returns the HTTP status); what is wrong with one image
 * (bad base64, not an image) is found later and answered for that image.
 */
#ifndef TY_INFER_REQ_H
#define TY_INFER_REQ_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "util.h"

#define INFER_DEFAULT_TOP_K 3
#define INFER_MAX_TOP_K 100
#define INFER_MAX_NAME 256

struct infer_limits {
	size_t max_images;   /* images per request */
	size_t max_body;     /* bytes per request body */
	uint64_t max_pixels; /* width*height of one source image */
	int max_thumbnail;   /* longest side of a thumbnail, px */
	uint64_t max_batch;  /* bytes of uint8 network input per request */
	uint64_t max_request_pixels; /* width*height of all images together */
	uint64_t small_pixels;       /* a request up to this many is "small" */
};

/* Defaults of the limits above (the service reads overrides). */
void infer_limits_default(struct infer_limits *lim);

struct infer_image {
	char name[INFER_MAX_NAME + 1];
	/* Base64 text inside the parsed body: valid while the body is. */
	const char *b64;
	size_t b64len;
};

struct infer_req {
	char *model;    /* relative to the models volume, checked */
	int top_k;      /* 1..INFER_MAX_TOP_K */
	int thumbnail;  /* 0 (none) .. max_thumbnail */
	int tta;        /* 1: average with the mirrored image */
	size_t nimages; /* >= 1 */
	struct infer_image *images;
	/* Who asked (the web app's user id), for fair turns; "" unknown. */
	char user[64];
	/* Source pixels of the images, from their headers (infer_req_pixels).
	 */
	uint64_t pixels;
	/* The client's socket, polled to stop when it leaves; -1 unknown. */
	int peer_fd;
};

/*
 * Validates body (a parsed JSON object) into r. Returns 0, or the status
 * to answer (400 wrong request, 413 too many images) with a message in
 * err. r borrows strings from body; free it with infer_req_free before
 * deleting body. On failure r needs no freeing.
 */
int infer_req_parse(const cJSON *body, const struct infer_limits *lim,
                    struct infer_req *r, char *err, size_t errlen) TY_WUR;
void infer_req_free(struct infer_req *r);

/*
 * Adds up the pixels the images' headers claim into r->pixels, before
 * anything is decoded: only the first bytes of each image's base64 are
 * decoded when they hold the header. An image that is not one, or over
 * the per-image limit, counts 0 (it gets its own error later). Returns 0,
 * or 413 with the figure in err when the total is over the request's
 * pixel budget.
 */
int infer_req_pixels(struct infer_req *r, const struct infer_limits *lim,
                     char *err, size_t errlen) TY_WUR;

/*
 * Base64 to bytes: standard alphabet, padding optional, whitespace and a
 * "data:...;base64," prefix ignored. Returns 0 and an xmalloc'd *out (at
 * least one byte allocated, even for empty input), or -1 with err.
 */
int infer_b64_decode(const char *s, size_t len, uint8_t **out, size_t *outlen,
                     char *err, size_t errlen) TY_WUR;

/* Standard base64 with padding, NUL-terminated, xmalloc'd. */
char *infer_b64_encode(const uint8_t *bin, size_t len);

#endif
