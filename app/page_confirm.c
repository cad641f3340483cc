/*
 * page_confirm.c — every destructive action asks first. Its button is a
 * GET form to the very path the action is POSTed to; that GET answers
 * with this page: the question, naming the thing, and a POST form (with
 * the CSRF token) that does it. With JavaScript, static/confirm.js asks
 * the same question in a dialog and POSTs directly. One table row per
 * action; the POST handlers themselves are unchanged.
 */
#include <civetweb.h>
#include <stdio.h>
#include <string.h>

#include "pages.h"
#include "route.h"
#include "view.h"

/* Writes the question into q; 0, or -1 when the thing does not exist. */
typedef int (*ask_fn)(struct req *r, char *q, size_t len);

static int
ask_project(struct req *r, char *q, size_t len)
{
	snprintf(q, len,
	         "Delete the project “%s” with all its datasets, runs, "
	         "models and predictions? This cannot be undone.",
	         r->project.name);
	return 0;
}

/* "run #n" of the run in ids[1]; -1 when it is not in the project. */
static int
run_label(struct req *r, char *out, size_t len)
{
	long long n =
	    db_int(r->w->db, DB_RUN_NUMBER, 0, "ii", r->ids[1], r->project.id);

	snprintf(out, len, "run #%lld", n);
	return n > 0 ? 0 : -1;
}

/* Delete or cancel, by the route asked for. */
static int
ask_run(struct req *r, char *q, size_t len)
{
	char run[48];

	if (run_label(r, run, sizeof(run)) < 0)
		return -1;
	if (r->route == ROUTE_RUN_CANCEL_ASK)
		snprintf(q, len,
		         "Cancel %s? It stops at its next batch and leaves no "
		         "model.",
		         run);
	else
		snprintf(q, len,
		         "Delete %s, its charts, prepared data and model? "
		         "This cannot be undone.",
		         run);
	return 0;
}

/* "<before>“name”<after>" with the one name stmt (two ids) finds. */
static int
ask_named(struct req *r, enum db_stmt stmt, long long a, long long b,
          const char *before, const char *after, char *q, size_t len)
{
	sqlite3_stmt *st = db_stmt(r->w->db, stmt, "ii", a, b);
	int rc = -1;

	if (db_step(r->w->db, st) == SQLITE_ROW) {
		snprintf(q, len, "%s“%s”%s", before, db_col_text(st, 0), after);
		rc = 0;
	}
	db_done(r->w->db, st);
	return rc;
}

static int
ask_dataset(struct req *r, char *q, size_t len)
{
	return ask_named(
	    r, DB_DATASET_NAME, r->ids[1], r->project.id, "Delete the dataset ",
	    " and its uploaded archive? This cannot be undone.", q, len);
}

static int
ask_token(struct req *r, char *q, size_t len)
{
	return ask_named(
	    r, DB_TOKEN_NAME, r->ids[0], r->user_id, "Revoke the token ",
	    "? Programs that use it are refused from now on.", q, len);
}

static const struct ask {
	int route;
	const char *title, *yes;
	ask_fn ask;
	const char *back; /* NULL: the path without its last segment */
} asks[] = {
    {ROUTE_PROJECT_DELETE_ASK, "Delete project", "Delete the project",
     ask_project, NULL},
    {ROUTE_RUN_DELETE_ASK, "Delete run", "Delete the run", ask_run, NULL},
    {ROUTE_RUN_CANCEL_ASK, "Cancel run", "Cancel the run", ask_run, NULL},
    {ROUTE_DATASET_DELETE_ASK, "Delete dataset", "Delete the dataset",
     ask_dataset, NULL},
    {ROUTE_TOKEN_REVOKE_ASK, "Revoke token", "Revoke the token", ask_token,
     "/account"},
};

void
page_confirm(struct req *r)
{
	const char *path = r->ri->local_uri;
	const char *slash = strrchr(path, '/');
	char q[600], back[256];

	for (size_t i = 0; i < TY_ARRAY_LEN(asks); i++) {
		const struct ask *a = &asks[i];
		struct td *d;

		if (a->route != r->route)
			continue;
		if (a->ask(r, q, sizeof(q)) < 0) {
			web_error(r, 404, "There is no such thing to change.");
			return;
		}
		snprintf(back, sizeof(back), "%.*s",
		         (int)(slash && slash > path ? slash - path : 1), path);
		d = td_new();
		td_set(d, "question", q);
		td_set(d, "yes", a->yes);
		td_set(d, "action", path);
		td_set(d, "back", a->back ? a->back : back);
		view_page(r, 200, "confirm", a->title, d);
		td_free(d);
		return;
	}
	web_error(r, 404, "Not found.");
}
