/* wk.c — JSON over HTTP to the worker services; see wk.h. */
#include "wk.h"

#include "auth.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wb.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void
init_curl(void)
{
	/* Once per process; curl_global_init is not safe to race. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		ty_log("workers: curl_global_init failed");
}

static __thread char request_id[64];

void
wk_set_request_id(const char *id)
{
	snprintf(request_id, sizeof(request_id), "%s", id ? id : "");
}

static size_t
on_write(char *data, size_t size, size_t nmemb, void *ud)
{
	/* 0 makes curl stop the transfer; the buffer remembers toobig. */
	return wb_add(ud, data, size * nmemb) < 0 ? 0 : size * nmemb;
}

static int
on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	const struct wk_call *k = ud;

	(void)a, (void)b, (void)c, (void)d;
	return k->cancelled(k->arg) ? 1 : 0;
}

static const char *const err_texts[] = {
    [0] = "ok",
    [1] = "unreachable",
    [2] = "timed out",
    [3] = "answer too large",
    [4] = "transfer failed",
    [5] = "cancelled",
};

const char *
wk_strerror(enum wk_err e)
{
	int i = -(int)e;

	return i >= 0 && i < (int)TY_ARRAY_LEN(err_texts) ? err_texts[i]
	                                                  : "unknown error";
}

enum wk_err
wk_call(const struct wk_call *k, struct wk_resp *out)
{
	struct wbuf s;
	struct curl_slist *hdr = NULL;
	char *url, h[96];
	CURL *c;
	CURLcode rc;
	enum wk_err e = WK_OK;

	memset(out, 0, sizeof(*out));
	pthread_once(&init_once, init_curl);
	wb_init(&s, k->max_resp);
	url = xasprintf("%s%s", k->base, k->path);
	c = curl_easy_init();
	if (!c) {
		snprintf(out->err, sizeof(out->err),
		         "%s service: cannot start a request", k->service);
		free(url);
		out->body = xstrdup("");
		return WK_FAILED;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, k->method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	                 k->connect_ms ? k->connect_ms : WK_CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, k->timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (k->cancelled) {
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, k);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	}
	hdr = curl_slist_append(hdr, "Accept: application/json");
	hdr = curl_slist_append(hdr, "Expect:"); /* no 100-continue wait */
	char auth[320];
	if (auth_header_line(auth, sizeof(auth)))
		hdr = curl_slist_append(hdr, auth);
	if (request_id[0]) {
		snprintf(h, sizeof(h), "X-Request-Id: %s", request_id);
		hdr = curl_slist_append(hdr, h);
	}
	if (k->body) {
		snprintf(h, sizeof(h), "Content-Type: %s",
		         k->ctype ? k->ctype : "application/json");
		hdr = curl_slist_append(hdr, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, k->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		                 (curl_off_t)k->body_len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	} else if (s.toobig) {
		e = WK_TOO_BIG;
		snprintf(
		    out->err, sizeof(out->err),
		    "%s service at %s sent an answer larger than %zu bytes",
		    k->service, k->base, k->max_resp);
	} else if (rc == CURLE_ABORTED_BY_CALLBACK) {
		e = WK_CANCELLED;
		snprintf(out->err, sizeof(out->err),
		         "%s service at %s: cancelled", k->service, k->base);
	} else if (rc == CURLE_COULDNT_CONNECT ||
	           rc == CURLE_COULDNT_RESOLVE_HOST) {
		e = WK_UNREACHABLE;
		snprintf(out->err, sizeof(out->err),
		         "%s service unreachable at %s (%s)", k->service,
		         k->base, curl_easy_strerror(rc));
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		curl_off_t connected = 0;
		curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connected);
		e = connected > 0 ? WK_TIMEOUT : WK_UNREACHABLE;
		if (e == WK_TIMEOUT)
			snprintf(
			    out->err, sizeof(out->err),
			    "%s service at %s did not answer within %ld ms",
			    k->service, k->base, k->timeout_ms);
		else
			snprintf(out->err, sizeof(out->err),
			         "%s service unreachable at %s (connect timed "
			         "out)",
			         k->service, k->base);
	} else {
		e = WK_FAILED;
		snprintf(out->err, sizeof(out->err), "%s service at %s: %s",
		         k->service, k->base, curl_easy_strerror(rc));
	}
	out->body = wb_take(&s, &out->len);
	if (e != WK_OK)
		out->status = 0;
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	free(url);
	return e;
}

enum wk_err
wk_request(const char *service, const char *base, const char *method,
           const char *path, const char *body, size_t body_len, long timeout_ms,
           size_t max_resp, struct wk_resp *out)
{
	struct wk_call k = {
	    .service = service,
	    .base = base,
	    .method = method,
	    .path = path,
	    .body = body,
	    .body_len = body_len,
	    .timeout_ms = timeout_ms,
	    .max_resp = max_resp,
	};

	return wk_call(&k, out);
}

void
wk_resp_free(struct wk_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}
