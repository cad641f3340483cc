/* route.c — the route table and request dispatch; see route.h. */
#include "route.h"

#include <civetweb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "metrics.h"
#include "pages.h"
#include "projrow.h"
#include "view.h"
#include "sess.h"
#include "uri.h"
#include "tok.h"

struct route_row {
	const char *method;
	const char *pattern;
	unsigned flags;
	void (*fn)(struct req *r);
	const char *label;
};

static const struct route_row routes[ROUTE__MAX] = {
#define ROUTE(name, method, pattern, flags, handler)                           \
	[ROUTE_##name] = {method, pattern, flags, handler, method " " pattern},
#include "routes.h"
#undef ROUTE
};

/* Requests being handled now, and whether the server is stopping. */
static atomic_int inflight;
static atomic_int draining;

void
route_drain(void)
{
	atomic_store(&draining, 1);
}

int
route_inflight(void)
{
	return atomic_load(&inflight);
}

const char *
route_label(int i)
{
	return i >= 0 && i < ROUTE__MAX ? routes[i].label : "unmatched";
}

/* Reads an urlencoded body into r->form; answers and returns -1 if bad. */
static int
read_form(struct req *r)
{
	const char *ct = mg_get_header(r->conn, "Content-Type");
	long long cl = r->ri->content_length;
	char *body;
	size_t len = 0;
	enum form_err fe;

	if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33)) {
		web_error(r, 415,
		          "This form must be sent as "
		          "application/x-www-form-urlencoded.");
		return -1;
	}
	if (cl > ROUTE_FORM_MAX) {
		r->close = 1;
		web_error(r, 413, "The form is too large.");
		return -1;
	}
	body = xmalloc(ROUTE_FORM_MAX + 1);
	for (;;) {
		int n = web_read(r, body + len, ROUTE_FORM_MAX + 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len > ROUTE_FORM_MAX) {
			free(body);
			r->close = 1;
			web_error(r, 413, "The form is too large.");
			return -1;
		}
	}
	if (r->too_slow) {
		free(body);
		web_error(r, 408, web_too_slow);
		return -1;
	}
	fe = form_parse(&r->form, body, len);
	free(body);
	if (fe != FORM_OK) {
		char msg[96];
		snprintf(msg, sizeof(msg), "The form could not be read: %s.",
		         form_strerror(fe));
		web_error(r, 400, msg);
		return -1;
	}
	return 0;
}

static int
load_project(struct req *r)
{
	struct db *db = r->w->db;
	sqlite3_stmt *st =
	    db_stmt(db, DB_PROJECT_GET, "ii", r->ids[0], r->user_id);
	int found = 0;

	if (db_step(db, st) == SQLITE_ROW) {
		struct projrow p;
		projrow_read(st, &p);
		r->project.id = p.id;
		r->project.name = p.name; /* taken */
		r->project.description = p.description;
		r->project.created_at = p.created_at;
		found = 1;
	}
	db_done(db, st);
	return found;
}

/* /login?next=<this page>, so signing in comes back here. */
static void
redirect_to_login(struct req *r)
{
	char enc[1024], loc[1100];
	const char *path = r->ri->local_uri ? r->ri->local_uri : "/";

	if (mg_url_encode(path, enc, sizeof(enc)) < 0 || strlen(path) > 512) {
		web_redirect(r, "/login");
		return;
	}
	snprintf(loc, sizeof(loc), "/login?next=%s", enc);
	web_redirect(r, loc);
}

/* R_TOKEN: the bearer token names the user; -1 after answering 401. */
static int
token_auth(struct req *r)
{
	enum tok_err e =
	    tok_authenticate(r->w->db, mg_get_header(r->conn, "Authorization"),
	                     &r->user_id, r->username, sizeof(r->username));

	if (e == TOK_OK)
		return 0;
	r->close = 1; /* the body is not read */
	snprintf(r->extra_headers, sizeof(r->extra_headers),
	         "WWW-Authenticate: Bearer realm=\"trainyard\"\r\n");
	web_error(r, e == TOK_DB ? 500 : 401, tok_strerror(e));
	return -1;
}

static void
run_route(struct req *r, const struct route_row *rt)
{
	const char *method = r->ri->request_method;

	if ((rt->flags & R_TOKEN) && token_auth(r) < 0)
		return;
	if ((rt->flags & R_AUTH) && !r->user_id) {
		if (r->is_api)
			web_error(r, 401, "Authentication required.");
		else if (strcmp(method, "GET") == 0 ||
		         strcmp(method, "HEAD") == 0)
			redirect_to_login(r);
		else
			view_error_page(
			    r, 401,
			    r->expired
			        ? "Your session has expired. Sign in again, "
			          "then repeat what you were doing."
			        : "You need to sign in first.",
			    "/login", "Sign in");
		return;
	}
	if ((rt->flags & R_FORM) && read_form(r) < 0)
		return;
	if ((rt->flags & R_CSRF) &&
	    !web_csrf_ok(r, form_get(&r->form, "csrf"))) {
		view_error_page(r, 403, web_csrf_expired, NULL, NULL);
		return;
	}
	if ((rt->flags & R_PROJECT) && !load_project(r)) {
		if (r->is_api) {
			r->close = 1; /* the body is not read */
			web_error(r, 404, "no such project");
		} else {
			view_error_page(r, 404, "There is no such project.",
			                "/projects", "Your projects");
		}
		return;
	}
	rt->fn(r);
	if (r->status == 0) {
		ty_log("route %s sent no response", rt->label);
		web_error(r, 500, "The server failed to answer.");
	}
}

int
route_handle(struct mg_connection *conn)
{
	struct req r;
	const char *path, *method;
	double t0 = util_now();
	int found = -1, path_hit = 0;
	char allow[64] = "";

	memset(&r, 0, sizeof(r));
	r.conn = conn;
	r.ri = mg_get_request_info(conn);
	r.w = r.ri->user_data;
	r.route = ROUTE_UNMATCHED;
	path = r.ri->local_uri ? r.ri->local_uri : "";
	method = r.ri->request_method;
	r.is_api = strncmp(path, "/api/", 5) == 0;
	for (int i = 0; i < ROUTE__MAX; i++) {
		if (!uri_match(routes[i].pattern, path, r.ids, WEB_IDS_MAX,
		               &r.nids))
			continue;
		path_hit = 1;
		if (strcmp(routes[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 &&
		     strcmp(routes[i].method, "GET") == 0)) {
			found = i;
			break;
		}
		if (strlen(allow) + strlen(routes[i].method) + 3 <
		    sizeof(allow)) {
			if (allow[0])
				strcat(allow, ", ");
			strcat(allow, routes[i].method);
		}
	}
	atomic_fetch_add(&inflight, 1);
	if (found < 0 || !(routes[found].flags & (R_BARE | R_TOKEN)))
		sess_load(&r);
	if (atomic_load(&draining)) {
		/* Stopping: requests in flight finish, new ones are told. */
		r.close = 1;
		snprintf(r.extra_headers, sizeof(r.extra_headers),
		         "Retry-After: 5\r\n");
		if (found >= 0)
			r.route = found;
		web_error(&r, 503,
		          "The server is restarting. Try again in a "
		          "moment.");
	} else if (found >= 0) {
		r.route = found;
		run_route(&r, &routes[found]);
	} else if (path_hit) {
		char msg[128];
		snprintf(r.extra_headers, sizeof(r.extra_headers),
		         "Allow: %s\r\n", allow);
		snprintf(msg, sizeof(msg),
		         "This address does not accept %.16s "
		         "(allowed: %s).",
		         method, allow);
		web_error(&r, 405, msg);
	} else {
		web_error(&r, 404, "There is no page at this address.");
	}
	atomic_fetch_sub(&inflight, 1);
	metrics_http(route_label(r.route), NULL, r.status, util_now() - t0);
	ty_log("%s %s %s %d %zu %.1fms%s%s", r.ri->remote_addr, method, path,
	       r.status, r.bytes_out, (util_now() - t0) * 1000.0,
	       r.user_id ? " user=" : "", r.user_id ? r.username : "");
	if (r.pace_on)
		pace_stop(&r.pace);
	form_free(&r.form);
	free(r.project.name);
	free(r.project.description);
	for (size_t i = 0; i < r.ncookies; i++)
		free(r.cookies[i]);
	return r.status ? r.status : 500;
}
