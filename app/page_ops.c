/*
 * page_ops.c — the pages that are not the product: /, /healthz, /metrics
 * and the static files (read into memory once at start: they are few and
 * small, and a request can then never name a file outside static/).
 */
#include <civetweb.h>
#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "metrics.h"
#include "pages.h"
#include "runrow.h"
#include "wb.h"

#define STATIC_MAX 32
#define STATIC_FILE_MAX (1024 * 1024)

static struct {
	char name[64];
	char *data;
	size_t len;
	const char *ctype;
} files[STATIC_MAX];
static size_t nfiles;

static const struct {
	const char *ext;
	const char *ctype;
} ctypes[] = {
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".json", "application/json"},
};

int
page_static_load(const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d) {
		snprintf(err, errlen, "cannot open %s: %s", dir,
		         strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL && nfiles < STATIC_MAX) {
		const char *dot = strrchr(e->d_name, '.');
		const char *ct = NULL;
		char *path;

		if (e->d_name[0] == '.' || !dot ||
		    strlen(e->d_name) >= sizeof(files[0].name))
			continue;
		for (size_t i = 0; i < TY_ARRAY_LEN(ctypes); i++)
			if (strcmp(dot, ctypes[i].ext) == 0)
				ct = ctypes[i].ctype;
		if (!ct)
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		files[nfiles].data =
		    util_read_file(path, STATIC_FILE_MAX, &files[nfiles].len);
		if (!files[nfiles].data) {
			snprintf(err, errlen, "cannot read %s: %s", path,
			         strerror(errno));
			free(path);
			closedir(d);
			return -1;
		}
		free(path);
		/* fits: longer names were skipped above */
		memcpy(files[nfiles].name, e->d_name, strlen(e->d_name) + 1);
		files[nfiles].ctype = ct;
		nfiles++;
	}
	closedir(d);
	return 0;
}

void
page_static_free(void)
{
	for (size_t i = 0; i < nfiles; i++)
		free(files[i].data);
	nfiles = 0;
}

static void
send_static(struct req *r, const char *name)
{
	for (size_t i = 0; i < nfiles; i++)
		if (strcmp(files[i].name, name) == 0) {
			web_send(r, 200, files[i].ctype,
			         "Cache-Control: public, max-age=300\r\n",
			         files[i].data, files[i].len);
			return;
		}
	web_error(r, 404, "There is no such file.");
}

void
page_static(struct req *r)
{
	send_static(r, r->ri->local_uri + strlen("/static/"));
}

/* The API's description (docs/api.md); public, like the docs. */
void
api_openapi(struct req *r)
{
	send_static(r, "openapi.json");
}

void
page_root(struct req *r)
{
	web_redirect(r, r->user_id ? "/projects" : "/login");
}

void
page_healthz(struct req *r)
{
	web_json(r, 200, "{\"status\": \"ok\"}\n");
}

void
page_readyz(struct req *r)
{
	char *dir = xasprintf("%s/uploads", r->w->data_dir);
	int db_ok = db_int(r->w->db, DB_USER_COUNT, -1, "") >= 0;
	int dir_ok = access(dir, W_OK) == 0;

	free(dir);
	if (!db_ok)
		web_json(r, 503,
		         "{\"error\": \"the database does not answer\"}\n");
	else if (!dir_ok)
		web_json(r, 503,
		         "{\"error\": \"the data volume is not "
		         "writable\"}\n");
	else
		web_json(r, 200, "{\"status\": \"ready\"}\n");
}

/* With TRAINYARD_METRICS_TOKEN set, whether the request carries it. */
static int
metrics_allowed(struct req *r)
{
	const char *want = r->w->metrics_token;

	return !want ||
	       auth_bearer_ok(mg_get_header(r->conn, "Authorization"), want);
}

/*
 * The web app's own gauges, read from the database at each scrape: runs
 * by status (queued is the run queue's length) and how long the oldest
 * active run has been going (a run stuck shows as a large value).
 */
static void
run_gauges(struct req *r)
{
	const char *const *statuses = runrow_status_names;
	static const char *const vol_names[] = {"data", "models"};
	const char *vols[] = {r->w->data_dir, r->w->models_dir};
	double n[RUNROW_STATUS__MAX] = {0}, started;
	char key[96];
	sqlite3_stmt *st = db_stmt(r->w->db, DB_RUN_COUNT_BY_STATUS, "");

	while (db_step(r->w->db, st) == SQLITE_ROW)
		for (size_t i = 0; i < RUNROW_STATUS__MAX; i++)
			if (!strcmp(db_col_text(st, 0), statuses[i]))
				n[i] = (double)sqlite3_column_int64(st, 1);
	db_done(r->w->db, st);
	for (size_t i = 0; i < RUNROW_STATUS__MAX; i++) {
		snprintf(key, sizeof(key), "trainyard_runs{status=\"%s\"}",
		         statuses[i]);
		metrics_gauge_set(key, n[i]);
	}
	st = db_stmt(r->w->db, DB_RUN_ACTIVE_OLDEST, "");
	started = db_step(r->w->db, st) == SQLITE_ROW
	              ? sqlite3_column_double(st, 0)
	              : 0;
	db_done(r->w->db, st);
	metrics_gauge_set("trainyard_run_active_longest_seconds",
	                  started > 0 ? util_wall() - started : 0);
	metrics_sys_update(vol_names, vols, TY_ARRAY_LEN(vols));
}

void
page_metrics(struct req *r)
{
	static const char deny[] =
	    "metrics need the token in TRAINYARD_METRICS_TOKEN\n";
	struct wbuf b;

	if (!metrics_allowed(r)) {
		web_send(r, 401, "text/plain; charset=utf-8",
		         "WWW-Authenticate: Bearer realm=\"metrics\"\r\n", deny,
		         sizeof(deny) - 1);
		return;
	}

	run_gauges(r);
	wb_init(&b, 1024 * 1024);
	if (metrics_render(&b, util_now() - r->w->started) < 0) {
		wb_free(&b);
		web_error(r, 500, "metrics too large");
		return;
	}
	web_send(r, 200, "text/plain; version=0.0.4; charset=utf-8", NULL,
	         b.data, b.len);
	wb_free(&b);
}
