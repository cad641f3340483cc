/*
 * route.h — the route table (routes.h) and the one function that takes a
 * request through it: match, session, body, CSRF, project ownership, then
 * the handler; then the access log line and the metrics.
 *
 * To add a page: write page_<thing>.c with a handler
 * `void page_x(struct req *r)`, declare it in pages.h, and add one ROUTE()
 * row to routes.h. Nothing else changes.
 */
#ifndef TY_ROUTE_H
#define TY_ROUTE_H

#include "web.h"

enum route_flag {
	R_AUTH = 1 << 0,
	R_FORM = 1 << 1,
	R_CSRF = 1 << 2,
	R_PROJECT = 1 << 3,
	R_BARE =
	    1 << 4, /* no session, no cookies: ops endpoints, static files */
	/* the JSON API: "Authorization: Bearer <token>" (tokens.h) is the
	 * credential, never a cookie; no session is read, so no CSRF */
	R_TOKEN = 1 << 5,
};

enum route {
#define ROUTE(name, method, pattern, flags, handler) ROUTE_##name,
#include "routes.h"
#undef ROUTE
	ROUTE__MAX,
	ROUTE_UNMATCHED = ROUTE__MAX /* 404/405: for metrics only */
};

/* "GET /projects/{id}" — the metrics label of route i (or "unmatched"). */
const char *route_label(int i);

/* CivetWeb's begin_request: handles every request; returns the status. */
int route_handle(struct mg_connection *conn);

/*
 * Stopping: from route_drain() on, new requests get 503 while those in
 * flight finish; route_inflight() counts them (for the wait in main).
 */
void route_drain(void);
int route_inflight(void);

/* Maximum size of an urlencoded form body. */
#define ROUTE_FORM_MAX (64 * 1024)

#endif
