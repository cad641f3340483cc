/* web.c — answering a request; see web.h. */
#include "web.h"

#include <civetweb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connfd.h"
#include "wb.h"

/*
 * Sent with every answer. The CSP allows scripts and styles only from
 * /static/ (no inline script), and no framing.
 */
static const char security_headers[] =
    "Content-Security-Policy: default-src 'self'; script-src 'self'; "
    "style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: same-origin\r\n";

static const struct {
	int status;
	const char *text;
} status_texts[] = {
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {303, "See Other"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {413, "Payload Too Large"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {500, "Internal Server Error"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

/* The HTML error page: view.c registers it (web must not call view). */
static web_error_page_fn error_page;

const char *
web_status_text(int status)
{
	for (size_t i = 0; i < TY_ARRAY_LEN(status_texts); i++)
		if (status_texts[i].status == status)
			return status_texts[i].text;
	return "Unknown";
}

void
web_send(struct req *r, int status, const char *ctype,
         const char *extra_headers, const void *body, size_t len)
{
	struct wbuf h;
	int head = strcmp(r->ri->request_method, "HEAD") == 0;

	if (r->status) {
		ty_log("web: second response to one request dropped");
		return;
	}
	wb_init(&h, 16 * 1024);
	if (wb_printf(&h, "HTTP/1.1 %d %s\r\n", status,
	              web_status_text(status)) < 0 ||
	    wb_adds(&h, security_headers) < 0 ||
	    wb_printf(&h, "Content-Type: %s\r\nContent-Length: %zu\r\n", ctype,
	              len) < 0 ||
	    wb_adds(&h, extra_headers ? extra_headers : "") < 0 ||
	    wb_adds(&h, r->extra_headers) < 0)
		abort(); /* our own fixed-size headers cannot overflow 16K */
	if (!extra_headers || !strstr(extra_headers, "Cache-Control:"))
		if (wb_adds(&h, "Cache-Control: no-store\r\n") < 0)
			abort();
	for (size_t i = 0; i < r->ncookies; i++)
		if (wb_printf(&h, "Set-Cookie: %s\r\n", r->cookies[i]) < 0)
			abort();
	/* Keep-alive is off (main.c): say so, or a client (http.client,
	 * wrk, an ingress) sends its next request on a closed socket. */
	if (wb_adds(&h, "Connection: close\r\n") < 0)
		abort();
	if (wb_adds(&h, "\r\n") < 0)
		abort();
	mg_write(r->conn, h.data, h.len);
	if (!head && len)
		mg_write(r->conn, body, len);
	r->status = status;
	r->bytes_out = len;
	wb_free(&h);
}

void
web_redirect(struct req *r, const char *location)
{
	char hdr[2048];

	/* Only local paths: an absolute URL here would be an open redirect.
	 * Our own targets may carry "%" escapes and a "#fragment"; what a
	 * user chose went through redir_local() first (page_auth.c). Too
	 * long for the header buffer: the start page, not a cut line. */
	if (location[0] != '/' || location[1] == '/' || location[1] == '\\' ||
	    strlen(location) > sizeof(hdr) - 16)
		location = "/";
	for (const char *p = location; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == '\\' || *p == 0x7f) {
			location = "/";
			break;
		}
	}
	snprintf(hdr, sizeof(hdr), "Location: %s\r\n", location);
	web_send(r, 303, "text/plain; charset=utf-8", hdr, "", 0);
}

void
web_json(struct req *r, int status, const char *json)
{
	web_send(r, status, "application/json", NULL, json, strlen(json));
}

void
web_error(struct req *r, int status, const char *msg)
{
	if (r->is_api) {
		struct wbuf b;
		wb_init(&b, 4096);
		/* msg is our own text; still escape what JSON needs. */
		if (wb_adds(&b, "{\"error\": \"") == 0) {
			for (const char *p = msg; *p; p++) {
				unsigned char c = (unsigned char)*p;
				int rc = c == '"' || c == '\\'
				             ? wb_printf(&b, "\\%c", c)
				         : c < 0x20
				             ? wb_printf(&b, "\\u%04x", c)
				             : wb_add(&b, p, 1);
				if (rc < 0)
					break;
			}
			if (wb_adds(&b, "\"}\n") < 0)
				wb_reset(&b);
		}
		web_json(r, status, b.data ? b.data : "{}");
		wb_free(&b);
		return;
	}
	if (error_page) {
		error_page(r, status, msg, NULL, NULL);
		return;
	}
	/* no views loaded (tests, a failed start): the message as text */
	web_send(r, status, "text/plain; charset=utf-8", NULL, msg,
	         strlen(msg));
}

void
web_set_error_page(web_error_page_fn fn)
{
	error_page = fn;
}

void
web_add_cookie(struct req *r, const char *cookie)
{
	if (r->ncookies < WEB_COOKIES_MAX)
		r->cookies[r->ncookies++] = xstrdup(cookie);
}

const char web_too_slow[] =
    "The request body arrived too slowly and was cut off. Nothing was "
    "saved; try again on a better connection.";

int
web_read(struct req *r, void *buf, size_t len)
{
	int n;

	if (!r->pace_on) {
		pace_start(&r->pace, r->w->body_min_rate, r->w->body_window_s,
		           connfd_find(r->conn));
		r->pace_on = 1;
	}
	n = mg_read(r->conn, buf, pace_chunk(&r->pace, len));
	if ((n > 0 && pace_add(&r->pace, (size_t)n) < 0) ||
	    (n <= 0 && pace_cut(&r->pace))) {
		ty_log("web: body slower than %.0f bytes/s over %.0f s: cut",
		       r->w->body_min_rate, r->w->body_window_s);
		r->too_slow = 1;
		r->close = 1;
		return -1;
	}
	return n;
}

const char web_csrf_expired[] =
    "This form has expired or did not come from this site. Reload the "
    "page and try again.";

int
web_csrf_ok(const struct req *r, const char *submitted)
{
	size_t n = strlen(r->csrf);

	if (!submitted || n != WEB_TOKEN_HEX || strlen(submitted) != n)
		return 0;
	return sodium_memcmp(r->csrf, submitted, n) == 0;
}

void
web_fmt_bytes(char *out, size_t outlen, long long n)
{
	static const char *const units[] = {"bytes", "KB", "MB", "GB", "TB"};
	double v = (double)n;
	size_t u = 0;

	while (v >= 1024 && u + 1 < TY_ARRAY_LEN(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, outlen, "%lld %s", n, n == 1 ? "byte" : "bytes");
	else
		snprintf(out, outlen, "%.1f %s", v, units[u]);
}

void
web_fmt_time(char *out, size_t outlen, long long epoch)
{
	time_t t = (time_t)epoch;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%d %H:%M UTC", &tm);
}

int
web_query(const struct req *r, const char *name, char *out, size_t outlen)
{
	const char *q = r->ri->query_string;

	if (!q)
		return -1;
	return mg_get_var(q, strlen(q), name, out, outlen) >= 0 ? 0 : -1;
}
