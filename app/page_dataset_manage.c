/*
 * page_dataset_manage.c — a dataset's delete and rename (the health page's
 * forms). Delete is refused, with the runs named, while runs use the
 * dataset: a run that is going would lose its data, and a finished run's
 * row (and model) goes with its dataset (runs.dataset_id cascades), so
 * those runs are deleted first, on purpose. Rename changes only the name
 * shown; the file on the volume keeps its path.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsrow.h"
#include "pages.h"
#include "view.h"
#include "upload.h"

#define DATASET_NAME_MAX 200

/* The runs using dataset did as "#1, #3"; *active when one is going. */
static int
runs_using(struct req *r, long long did, char *out, size_t len, int *active)
{
	sqlite3_stmt *st =
	    db_stmt(r->w->db, DB_DATASET_RUNS, "ii", did, r->project.id);
	size_t off = 0;
	int n = 0;

	*active = 0;
	out[0] = '\0';
	while (db_step(r->w->db, st) == SQLITE_ROW) {
		if (sqlite3_column_int(st, 1))
			*active = 1;
		if (off < len)
			off += (size_t)snprintf(out + off, len - off, "%s#%lld",
			                        n ? ", " : "",
			                        sqlite3_column_int64(st, 0));
		n++;
	}
	db_done(r->w->db, st);
	return n;
}

void
page_dataset_delete(struct req *r)
{
	long long did = r->ids[1];
	char back[96], runs[200], msg[400];
	int active, n;

	snprintf(back, sizeof(back), "/projects/%lld/datasets/%lld",
	         r->project.id, did);
	n = runs_using(r, did, runs, sizeof(runs), &active);
	if (n > 0) {
		if (active)
			snprintf(msg, sizeof(msg),
			         "This dataset cannot be deleted while a run "
			         "uses it: run %s. Cancel the run or wait for "
			         "it to finish, then delete the runs trained "
			         "on it.",
			         runs);
		else
			snprintf(msg, sizeof(msg),
			         "This dataset cannot be deleted: run%s %s %s "
			         "trained on it. Delete %s first (their models "
			         "go with them).",
			         n == 1 ? "" : "s", runs,
			         n == 1 ? "was" : "were",
			         n == 1 ? "that run" : "those runs");
		view_error_page(r, 409, msg, back, "Back to the dataset");
		return;
	}
	if (db_exec(r->w->db, DB_DATASET_DELETE, "ii", did, r->project.id) !=
	    DB_OK) {
		view_error_page(r, 500,
		                "The dataset could not be deleted; try again.",
		                back, "Back to the dataset");
		return;
	}
	if (db_changes(r->w->db) != 1) {
		web_error(r, 404, "There is no such dataset in this project.");
		return;
	}
	upload_remove(r->w, did);
	ty_log("dataset %lld deleted from project %lld", did, r->project.id);
	snprintf(back, sizeof(back), "/projects/%lld#datasets", r->project.id);
	web_redirect(r, back);
}

void
page_dataset_rename(struct req *r)
{
	const char *name = form_get(&r->form, "name");
	const char *bad = NULL;
	char back[96];
	size_t n = name ? strlen(name) : 0;

	snprintf(back, sizeof(back), "/projects/%lld/datasets/%lld",
	         r->project.id, r->ids[1]);
	if (n == 0 || strspn(name, " ") == n)
		bad = "Give the dataset a name.";
	else if (n > DATASET_NAME_MAX)
		bad = "A dataset name must be at most 200 characters.";
	else
		bad = form_valid_utf8_line(name);
	if (bad) {
		view_error_page(r, 400, bad, back, "Back to the dataset");
		return;
	}
	if (db_exec(r->w->db, DB_DATASET_RENAME, "tii", name, r->ids[1],
	            r->project.id) != DB_OK) {
		view_error_page(r, 500,
		                "The name could not be saved; try again.", back,
		                "Back to the dataset");
		return;
	}
	if (db_changes(r->w->db) != 1) {
		web_error(r, 404, "There is no such dataset in this project.");
		return;
	}
	web_redirect(r, back);
}

void
page_dataset_status(struct req *r)
{
	sqlite3_stmt *st =
	    db_stmt(r->w->db, DB_DATASET_GET, "ii", r->ids[1], r->project.id);
	cJSON *o = NULL;
	char *s;

	if (db_step(r->w->db, st) == SQLITE_ROW) {
		struct dsrow ds;
		dsrow_read(st, &ds);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "status", ds.status);
		cJSON_AddStringToObject(o, "error", ds.error);
		dsrow_free(&ds);
	}
	db_done(r->w->db, st);
	if (!o) {
		web_error(r, 404, "There is no such dataset in this project.");
		return;
	}
	s = cJSON_PrintUnformatted(o);
	web_json(r, 200, s);
	free(s);
	cJSON_Delete(o);
}
