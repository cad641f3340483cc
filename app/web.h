/*
 * web.h — what every page handler sees: the application (configuration,
 * database) and one request, plus the ways to answer it. All responses go
 * through web_send(), which adds the security headers and any cookies, and
 * records status and size for the access log and /metrics.
 */
#ifndef TY_WEB_H
#define TY_WEB_H

#include <stddef.h>

#include "db.h"
#include "form.h"
#include "tmpl.h"
#include "clientip.h"
#include "pace.h"
#include "util.h"

struct mg_connection;
struct mg_request_info;

struct web {
	struct db *db;
	const char *root;       /* holds views/, static/, migrations/ */
	const char *data_dir;   /* data volume */
	const char *models_dir; /* models volume */
	const char *preprocess_url, *train_url, *infer_url;
	long long max_upload_bytes;
	long max_upload_mb;
	int cookie_secure;     /* add Secure to cookies (behind TLS) */
	int allow_signup;      /* public sign-up page on */
	long session_hours;    /* session lifetime */
	long predictions_keep; /* newest predictions rows kept per project */
	int sse_per_user, sse_max; /* live run views (page_run_events.c) */
	/* when set, GET /metrics wants "Authorization: Bearer <this>" */
	const char *metrics_token;
	double body_min_rate, body_window_s; /* pace.h */
	/* whose X-Forwarded-For names the client (clientip.h) */
	struct clientip_nets trusted_proxies;
	double started; /* util_now() at start */
};

#define WEB_IDS_MAX 4
#define WEB_NAME_MAX 64
#define WEB_TOKEN_HEX 64 /* 32 random bytes, hex */
#define WEB_COOKIES_MAX 2

/* The project named by the first {id} of routes flagged R_PROJECT. */
struct web_project {
	long long id;
	char *name;
	char *description;
	long long created_at;
};

struct req {
	struct mg_connection *conn;
	const struct mg_request_info *ri;
	struct web *w;
	int route;                  /* enum route */
	long long ids[WEB_IDS_MAX]; /* the {..} of the path, in order */
	size_t nids;
	int is_api; /* path under /api/: JSON errors */
	/* who is asking (user_id 0: nobody signed in) */
	long long user_id;
	char username[WEB_NAME_MAX + 1];
	char csrf[WEB_TOKEN_HEX + 1]; /* the token forms must carry */
	int expired;                  /* a session cookie came but is dead */
	struct form form;             /* urlencoded body (R_FORM routes) */
	struct web_project project;   /* R_PROJECT routes */
	/* the answer */
	int status;
	size_t bytes_out;
	char *cookies[WEB_COOKIES_MAX];
	size_t ncookies;
	int close; /* the body was not read: close the connection after */
	char extra_headers[128]; /* "Name: value\r\n" lines for any answer */
	struct pace pace;        /* the body's minimum rate (web_read) */
	int pace_on;             /* pace started: route_handle stops it */
	int too_slow;            /* web_read cut the body: answer 408 */
};

/*
 * mg_read with the body's minimum rate (pace.h, TRAINYARD_BODY_MIN_RATE
 * over TRAINYARD_BODY_RATE_WINDOW_S): -1 and r->too_slow once a client
 * sends slower than that; the handler then answers 408 with
 * web_too_slow.
 */
int web_read(struct req *r, void *buf, size_t len);
extern const char web_too_slow[];

/* Sends a complete response; extra_headers: "Name: value\r\n"... or NULL. */
void web_send(struct req *r, int status, const char *ctype,
              const char *extra_headers, const void *body, size_t len);
/* 303 See Other to a local path. */
void web_redirect(struct req *r, const char *location);
/* JSON {"error": msg} for /api/ paths, else the HTML error page. */
void web_error(struct req *r, int status, const char *msg);
/*
 * The HTML error page web_error answers with (view.c's view_error_page,
 * registered by view_load_all: web is below view and must not call it).
 */
typedef void (*web_error_page_fn)(struct req *r, int status, const char *msg,
                                  const char *back_href,
                                  const char *back_label);
void web_set_error_page(web_error_page_fn fn);
/* The reason phrase of an HTTP status. */
const char *web_status_text(int status);
void web_json(struct req *r, int status, const char *json);
/* Queues a Set-Cookie header line (without "Set-Cookie: "). */
void web_add_cookie(struct req *r, const char *cookie);
/* Constant-time check of a submitted CSRF token against r->csrf. */
int web_csrf_ok(const struct req *r, const char *submitted);
/* What a person reads when a form's CSRF token does not match. */
extern const char web_csrf_expired[];
/* "1.5 MB", "2026-11-22 14:30 UTC": for pages. */
void web_fmt_bytes(char *out, size_t outlen, long long n);
void web_fmt_time(char *out, size_t outlen, long long epoch);
/* The decoded query-string variable name; 0, or -1 if absent/too long. */
int web_query(const struct req *r, const char *name, char *out,
              size_t outlen) TY_WUR;

#endif
