/*
 * api.h — the JSON API for programs under /api/v1/ (routes flagged
 * R_TOKEN: "Authorization: Bearer <token>", tok.h). No cookies, no
 * CSRF: the token is the credential. Every answer is JSON; errors are
 * {"error": "..."} with 400 (bad body), 401 (token), 404 (not yours /
 * no such thing), 409 (wrong state), 413 (too large), 502/503 (a worker).
 * The handlers: api.c (predict), api_projects.c, api_runs.c; the
 * description of it all: static/openapi.json (docs/api.md).
 */
#ifndef TY_API_H
#define TY_API_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "form.h"
#include "util.h"
#include "web.h"

#define API_BODY_MAX (64LL << 20)
#define API_NAME_MAX 255
#define API_IMAGES_MAX                                                         \
	256 /* per request (the page takes PREDICT_IMAGES_MAX)                 \
	     */

#define API_FORM_MAX (64 * 1024) /* a JSON body of parameters */

/* predict's model_id: a number, "latest" (newest) or "best" (val_acc). */
enum api_model_pick { API_MODEL_ID, API_MODEL_LATEST, API_MODEL_BEST };

/* A checked predict request. */
struct api_predict {
	enum api_model_pick pick;
	long long model_id; /* with API_MODEL_ID */
	int top_k;     /* 1..PREDICT_TOPK_MAX, default PREDICT_TOPK_DEFAULT */
	int thumbnail; /* 0 (none, the default) .. 256 */
	int tta;       /* average with the mirror image (default off) */
	int store;     /* keep a predictions row (default off) */
	cJSON *images; /* [{name, data}] (only those keys), owned */
	int nimages;
};

/*
 * Parses and checks body (len bytes, need not be NUL-terminated):
 * {"model_id": int | "latest" | "best", "top_k"?: int, "thumbnail"?: int,
 *  "tta"?: bool, "store"?: bool (a history row; default false),
 *  "images": [{"name": str, "data": base64 str}, ...]}.
 * Returns 0, or -1 with a message for the caller in err.
 */
int api_parse_predict(const char *body, size_t len, struct api_predict *out,
                      char *err, size_t errlen) TY_WUR;
void api_predict_free(struct api_predict *p);

/*
 * A flat JSON object of parameters as the form it stands for, so that
 * the API and the page share one set of rules and messages: strings as
 * they are, integers in decimal, other numbers with %.17g, true/false
 * as "1"/"0", a list of numbers as "128,64"; null is left out. Returns
 * 0, or -1 with a message naming the key in err.
 */
int api_form_from_json(const char *body, size_t len, struct form *f, char *err,
                       size_t errlen) TY_WUR;

/* The body of r, at most max bytes; NULL after answering 400/413. */
char *api_read_body(struct req *r, long long max, size_t *len);
/* Sends j (taken) as the JSON answer. */
void api_reply(struct req *r, int status, cJSON *j);
/* Sends {key: item} (item taken). */
void api_reply_as(struct req *r, int status, const char *key, cJSON *item);
/* One list element from the current row of a statement. */
typedef cJSON *(*api_row_fn)(struct req *r, sqlite3_stmt *st);
/* Sends {key: [row(each row of stmt bound to id)]}. */
void api_reply_rows(struct req *r, const char *key, enum db_stmt stmt,
                    long long id, api_row_fn row);
/* The JSON body of r as the form it stands for (api_form_from_json,
 * at most API_FORM_MAX bytes): 0, or -1 after answering 400/413. */
int api_read_form(struct req *r, struct form *f) TY_WUR;

#endif
