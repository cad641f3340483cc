/* page_project.c — the project list, one project's page, create, delete. */
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "page_run.h"
#include "dsrow.h"
#include "pages.h"
#include "projrow.h"
#include "predict.h"
#include "upload.h"
#include "view.h"

#define PROJECT_NAME_MAX 100
#define PROJECT_DESC_MAX 2000

static const char *
valid_name(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || strspn(v, " ") == n)
		return "Give the project a name.";
	if (n > PROJECT_NAME_MAX)
		return "The project name must be at most 100 characters.";
	return form_valid_utf8_line(v);
}

static const char *
valid_desc(const char *v)
{
	/* Line breaks are fine in a description; check the rest per line. */
	if (strlen(v) > PROJECT_DESC_MAX)
		return "The description must be at most 2000 characters.";
	return form_valid_utf8_text(v);
}

static const struct form_rule project_rules[] = {
    {"name", valid_name, 0},
    {"description", valid_desc, 1},
};

static void
list_page(struct req *r, int status, const char *error)
{
	struct db *db = r->w->db;
	struct td *d = td_new();
	sqlite3_stmt *st;
	char when[32];

	st = db_stmt(db, DB_PROJECT_LIST, "i", r->user_id);
	while (db_step(db, st) == SQLITE_ROW) {
		struct td *row = td_add_row(d, "projects");
		struct projrow p;
		projrow_read(st, &p);
		td_set_int(row, "id", p.id);
		td_set(row, "name", p.name);
		td_set(row, "description", p.description);
		web_fmt_time(when, sizeof(when), p.created_at);
		td_set(row, "created", when);
		td_setf(row, "datasets", "%lld dataset%s", p.datasets,
		        p.datasets == 1 ? "" : "s");
		projrow_free(&p);
	}
	db_done(db, st);
	if (error) {
		td_set(d, "error", error);
		td_set(d, "name", form_get(&r->form, "name"));
		td_set(d, "description", form_get(&r->form, "description"));
	}
	view_page(r, status, "projects", "Projects", d);
	td_free(d);
}

void
page_projects(struct req *r)
{
	list_page(r, 200, NULL);
}

long long
page_project_add(struct req *r, const struct form *f, const char **msg)
{
	const char *desc;
	int64_t id;

	*msg = form_check(f, project_rules, TY_ARRAY_LEN(project_rules), NULL);
	if (*msg)
		return 0;
	desc = form_get(f, "description");
	id = db_insert(r->w->db, DB_PROJECT_INSERT, "itti", r->user_id,
	               form_get(f, "name"), desc ? desc : "",
	               (long long)util_wall());
	if (id < 0) {
		*msg = "The project could not be created; try again.";
		return -1;
	}
	return id;
}

void
page_project_create(struct req *r)
{
	const char *msg;
	long long id = page_project_add(r, &r->form, &msg);
	char loc[64];

	if (id <= 0) {
		list_page(r, id == 0 ? 400 : 500, msg);
		return;
	}
	snprintf(loc, sizeof(loc), "/projects/%lld", id);
	web_redirect(r, loc);
}

void
page_project(struct req *r)
{
	struct db *db = r->w->db;
	struct td *d = td_new();
	sqlite3_stmt *st;
	char buf[64], uploaded[24];
	long long just = 0, dup = 0;

	if (web_query(r, "uploaded", uploaded, sizeof(uploaded)) == 0)
		just = atoll(uploaded);
	if (web_query(r, "duplicate", uploaded, sizeof(uploaded)) == 0)
		dup = atoll(uploaded);
	td_set_int(d, "id", r->project.id);
	td_set(d, "name", r->project.name);
	td_set(d, "description", r->project.description);
	web_fmt_time(buf, sizeof(buf), r->project.created_at);
	td_set(d, "created", buf);
	td_set_int(d, "max_upload_mb", r->w->max_upload_mb);
	st = db_stmt(db, DB_DATASET_LIST, "i", r->project.id);
	while (db_step(db, st) == SQLITE_ROW) {
		struct td *row = td_add_row(d, "datasets");
		struct dsrow ds;
		long long did;
		dsrow_read(st, &ds);
		did = ds.id;
		td_set_int(row, "id", did);
		td_set(row, "filename", ds.filename);
		web_fmt_bytes(buf, sizeof(buf), ds.bytes);
		td_set(row, "size", buf);
		td_set_int(row, "bytes", ds.bytes);
		td_set(row, "sha256", ds.sha256);
		td_setf(row, "sha256_short", "%.12s", ds.sha256);
		td_set(row, "status", ds.status);
		/* the page follows an inspection until it is done */
		if (!strcmp(ds.status, "uploaded") ||
		    !strcmp(ds.status, "inspecting")) {
			td_set_bool(row, "pending", 1);
			td_set_bool(d, "any_pending", 1);
		}
		td_setf(row, "href", "/projects/%lld/datasets/%lld",
		        r->project.id, did); /* health page_dataset_health.c */
		web_fmt_time(buf, sizeof(buf), ds.created_at);
		td_set(row, "created", buf);
		td_set(row, "error", ds.error);
		if (did == just)
			td_setf(d, "notice", "Uploaded %s.", ds.filename);
		if (did == dup) { /* offer the one the project has */
			td_setf(d, "duplicate",
			        "This archive is already in "
			        "the project: %s, uploaded %s (same SHA-256). "
			        "Nothing new was stored.",
			        ds.filename, buf);
			td_setf(d, "duplicate_href",
			        "/projects/%lld/datasets/%lld", r->project.id,
			        did);
			td_set_bool(row, "highlight", 1);
		}
		dsrow_free(&ds);
	}
	db_done(db, st);
	page_runs_project_td(r, d); /* runs and models (page_runs.c) */
	predict_history(r->w->db, r->project.id, d); /* predict.c */
	view_page(r, 200, "project", r->project.name, d);
	td_free(d);
}

void
page_project_delete(struct req *r)
{
	struct db *db = r->w->db;
	sqlite3_stmt *st;
	long long *ids = NULL, *runs = NULL;
	size_t n = 0, cap = 0, nruns = 0;

	/* The rows go first: a failure then leaves files, never dead rows. */
	if (db_tx_begin(db) != DB_OK)
		goto fail;
	st = db_stmt(db, DB_DATASET_IDS_OF_PROJECT, "i", r->project.id);
	while (db_step(db, st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			ids = xrealloc(ids, cap * sizeof(*ids));
		}
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	db_done(db, st);
	runs = page_run_ids_of_project(db, r->project.id, &nruns);
	if (db_exec(db, DB_PROJECT_DELETE, "ii", r->project.id, r->user_id) !=
	    DB_OK) {
		if (db_tx_end(db, 0) != DB_OK)
			ty_log("project: rollback failed");
		goto fail;
	}
	if (db_tx_end(db, 1) != DB_OK)
		goto fail;
	for (size_t i = 0; i < n; i++)
		upload_remove(r->w, ids[i]);
	for (size_t i = 0; i < nruns; i++) /* prepared data, models */
		page_run_remove_files(r->w, runs[i]);
	free(ids);
	free(runs);
	web_redirect(r, "/projects");
	return;
fail:
	free(ids);
	free(runs);
	view_error_page(r, 500, "The project could not be deleted; try again.",
	                "/projects", "Your projects");
}
