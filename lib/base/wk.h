/*
 * wk.h — the client for the worker services (preprocess, train, infer):
 * one JSON request over libcurl with a connect timeout, a total timeout
 * and a bounded answer. A worker that cannot be reached is named in the
 * error, with its URL, so pages can say which service is down.
 */
#ifndef TY_WK_H
#define TY_WK_H

#include <stddef.h>

#include "util.h"

enum wk_err {
	WK_OK = 0,
	WK_UNREACHABLE = -1, /* connection refused, DNS, connect timeout */
	WK_TIMEOUT = -2,     /* connected, but no full answer in time */
	WK_TOO_BIG = -3,     /* the answer exceeded the caller's maximum */
	WK_FAILED = -4,      /* any other transfer error */
};

struct wk_resp {
	long status; /* HTTP status (0 when no answer came) */
	char *body;  /* NUL-terminated; the caller frees with wk_resp_free */
	size_t len;
	char err[320]; /* why, naming the service and URL, when not WK_OK */
};

/*
 * Sends method (GET/POST/DELETE) base+path with body (JSON, may be NULL)
 * and waits at most timeout_ms for the whole answer of at most max_resp
 * bytes. service is the name used in messages ("preprocess"). Returns
 * WK_OK when any HTTP answer came (check out->status), else an error
 * with out->err set. out is always initialised; free it with
 * wk_resp_free().
 */
enum wk_err wk_request(const char *service, const char *base,
                       const char *method, const char *path, const char *body,
                       size_t body_len, long timeout_ms, size_t max_resp,
                       struct wk_resp *out) TY_WUR;
void wk_resp_free(struct wk_resp *r);
/*
 * The X-Request-Id this thread sends with its following requests (so one
 * run can be followed across the services' logs); NULL or "" for none.
 * At most 63 characters are kept.
 */
void wk_set_request_id(const char *id);
const char *wk_strerror(enum wk_err e);

#endif
