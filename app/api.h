/*
 * api.h — the JSON API for programs: POST /api/v1/projects/{id}/predict
 * with "Authorization: Bearer <token>" (tok.h). No cookies, no CSRF:
 * the token is the credential. Every answer is JSON; errors are
 * {"error": "..."} with 400 (bad body), 401 (token), 404 (not yours /
 * no such model), 413 (too large), 502/503 (the infer service).
 */
#ifndef TY_API_H
#define TY_API_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "util.h"

#define API_BODY_MAX (64LL << 20)
#define API_NAME_MAX 255
#define API_IMAGES_MAX 256 /* per request (the page takes PREDICT_IMAGES_MAX)  \
	                    */

/* A checked predict request. */
struct api_predict {
	long long model_id;
	int top_k;     /* 1..PREDICT_TOPK_MAX, default PREDICT_TOPK_DEFAULT */
	int thumbnail; /* 0 (none, the default) .. 256 */
	cJSON *images; /* [{name, data}] (only those keys), owned */
	int nimages;
};

/*
 * Parses and checks body (len bytes, need not be NUL-terminated):
 * {"model_id": int, "top_k"?: int, "thumbnail"?: int,
 *  "images": [{"name": str, "data": base64 str}, ...]}.
 * Returns 0, or -1 with a message for the caller in err.
 */
int api_parse_predict(const char *body, size_t len, struct api_predict *out,
                      char *err, size_t errlen) TY_WUR;
void api_predict_free(struct api_predict *p);

#endif
