/* wk.c — JSON over HTTP to the worker services; see wk.h. */
#include "wk.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_MS 2000L

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

struct sink {
	char *p;
	size_t len, cap, max;
	int toobig;
};

static size_t
on_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;

	if (s->len + n > s->max) {
		s->toobig = 1;
		return 0; /* curl stops the transfer */
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n + 1)
			cap *= 2;
		s->p = xrealloc(s->p, cap);
		s->cap = cap;
	}
	memcpy(s->p + s->len, data, n);
	s->len += n;
	s->p[s->len] = '\0';
	return n;
}

static const char *const err_texts[] = {
    [0] = "ok",
    [1] = "unreachable",
    [2] = "timed out",
    [3] = "answer too large",
    [4] = "transfer failed",
};

const char *
wk_strerror(enum wk_err e)
{
	int i = -(int)e;

	return i >= 0 && i < (int)TY_ARRAY_LEN(err_texts) ? err_texts[i]
	                                                  : "unknown error";
}

enum wk_err
wk_request(const char *service, const char *base, const char *method,
           const char *path, const char *body, size_t body_len, long timeout_ms,
           size_t max_resp, struct wk_resp *out)
{
	struct sink s = {NULL, 0, 0, max_resp, 0};
	struct curl_slist *hdr = NULL;
	char *url;
	CURL *c;
	CURLcode rc;
	enum wk_err e = WK_OK;

	memset(out, 0, sizeof(*out));
	pthread_once(&init_once, init_curl);
	url = xasprintf("%s%s", base, path);
	c = curl_easy_init();
	if (!c) {
		snprintf(out->err, sizeof(out->err),
		         "%s service: cannot "
		         "start a request",
		         service);
		free(url);
		return WK_FAILED;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	hdr = curl_slist_append(hdr, "Accept: application/json");
	hdr = curl_slist_append(hdr, "Expect:"); /* no 100-continue wait */
	if (request_id[0]) {
		char h[96];
		snprintf(h, sizeof(h), "X-Request-Id: %s", request_id);
		hdr = curl_slist_append(hdr, h);
	}
	if (body) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		                 (curl_off_t)body_len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	} else if (s.toobig) {
		e = WK_TOO_BIG;
		snprintf(out->err, sizeof(out->err),
		         "%s service at %s sent "
		         "an answer larger than %zu bytes",
		         service, base, max_resp);
	} else if (rc == CURLE_COULDNT_CONNECT ||
	           rc == CURLE_COULDNT_RESOLVE_HOST) {
		e = WK_UNREACHABLE;
		snprintf(out->err, sizeof(out->err),
		         "%s service unreachable "
		         "at %s (%s)",
		         service, base, curl_easy_strerror(rc));
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		curl_off_t connected = 0;
		curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connected);
		e = connected > 0 ? WK_TIMEOUT : WK_UNREACHABLE;
		if (e == WK_TIMEOUT)
			snprintf(out->err, sizeof(out->err),
			         "%s service at "
			         "%s did not answer within %ld ms",
			         service, base, timeout_ms);
		else
			snprintf(out->err, sizeof(out->err),
			         "%s service "
			         "unreachable at %s (connect timed out)",
			         service, base);
	} else {
		e = WK_FAILED;
		snprintf(out->err, sizeof(out->err), "%s service at %s: %s",
		         service, base, curl_easy_strerror(rc));
	}
	out->body = s.p ? s.p : xstrdup("");
	out->len = s.len;
	if (e != WK_OK)
		out->status = 0;
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	free(url);
	return e;
}

void
wk_resp_free(struct wk_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}
