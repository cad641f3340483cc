/*
 * wk.h — the one HTTP client (libcurl) of every binary: the web app
 * calling the worker services (preprocess, train, infer), and train
 * replicas calling each other. One request with a connect timeout, a
 * total timeout, a bounded answer (read into a wb buffer) and an optional
 * cancel poll. A service that cannot be reached is named in the error,
 * with its URL, so pages can say which service is down.
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
	WK_CANCELLED = -5,   /* the caller's cancelled() said so */
};

struct wk_resp {
	long status; /* HTTP status (0 when no answer came) */
	char *body;  /* NUL-terminated; the caller frees with wk_resp_free */
	size_t len;
	char err[320]; /* why, naming the service and URL, when not WK_OK */
};

/* One request in full; wk_request is the shorthand for JSON. */
struct wk_call {
	const char *service; /* names the service in messages: "preprocess" */
	const char *base, *method, *path; /* URL is base + path */
	const void *body;                 /* may be NULL */
	size_t body_len;
	const char *ctype; /* of the body; NULL: application/json */
	long connect_ms;   /* 0: WK_CONNECT_MS */
	long timeout_ms;   /* the whole exchange */
	size_t max_resp;   /* a longer answer fails with WK_TOO_BIG */
	/* Polled during the transfer; non-zero stops it (WK_CANCELLED). */
	int (*cancelled)(void *arg);
	void *arg;
};
#define WK_CONNECT_MS 2000L

/*
 * Performs c. Returns WK_OK when any HTTP answer came (check
 * out->status), else an error with out->err set. out is always
 * initialised; free it with wk_resp_free().
 */
enum wk_err wk_call(const struct wk_call *c, struct wk_resp *out) TY_WUR;

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
