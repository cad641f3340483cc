/*
 * page_dataset_health.c — GET /projects/{id}/datasets/{did}: the health
 * report of one uploaded dataset, rendered from the preprocess worker's
 * inspection (datasets.report_json): classes with a bar each, image
 * sizes/channels/formats, skipped files with reasons, warnings, and a
 * banner when it cannot be used. While the inspection runs, the page
 * reloads itself (a Refresh header and meta tag; no script).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "dsrow.h"
#include "pages.h"
#include "view.h"

#define REFRESH_S 2

static const char *const channel_names[] = {
    [1] = "gray",
    [2] = "gray + alpha",
    [3] = "RGB",
    [4] = "RGBA",
};

/* Rows "name", "count" from an object of numbers, largest first. */
static void
add_counts(struct td *d, const char *key, const cJSON *obj, int channels)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, obj)
	{
		struct td *row;
		int c;

		if (!cJSON_IsNumber(it) || !it->string)
			continue;
		row = td_add_row(d, key);
		c = atoi(it->string);
		if (channels && c >= 1 && c <= 4)
			td_set(row, "name", channel_names[c]);
		else
			td_set(row, "name", it->string);
		td_set_int(row, "count", (long long)it->valuedouble);
	}
}

static void
add_size(struct td *d, const char *key, const cJSON *a)
{
	if (cJSON_GetArraySize(a) == 2 &&
	    cJSON_IsNumber(cJSON_GetArrayItem(a, 0)) &&
	    cJSON_IsNumber(cJSON_GetArrayItem(a, 1)))
		td_setf(d, key, "%d×%d", cJSON_GetArrayItem(a, 0)->valueint,
		        cJSON_GetArrayItem(a, 1)->valueint);
}

#define SAMPLES_SHOWN 8 /* per class on the health page */

/* Rows "thumbs" of d: up to max of the class's base64 PNG samples (their
 * alphabet checked: they go into a data: URL); "more" when there are
 * more. */
static void
samples_td(struct td *d, const cJSON *samples, int max)
{
	const cJSON *s;
	int n = 0;

	cJSON_ArrayForEach(s, samples)
	{
		const char *v = cJSON_GetStringValue(s);
		if (!v || !*v ||
		    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		              "abcdefghijklmnopqrstuvwxyz0123456789+/=") !=
		        strlen(v))
			continue;
		if (n++ == max) {
			td_set_bool(d, "more", 1);
			break;
		}
		td_set(td_add_row(d, "thumbs"), "png", v);
	}
}

/* The report's "duplicates" (preprocess dups.c): groups of copies. */
static void
dups_td(struct td *d, const cJSON *dup)
{
	const cJSON *g, *n = cJSON_GetObjectItemCaseSensitive(dup, "groups");
	const cJSON *imgs = cJSON_GetObjectItemCaseSensitive(dup, "images");

	if (!cJSON_IsNumber(n) || n->valuedouble < 1)
		return;
	td_setf(d, "dup_text", "%lld image%s in %lld group%s of copies",
	        cJSON_IsNumber(imgs) ? (long long)imgs->valuedouble : 0,
	        cJSON_IsNumber(imgs) && imgs->valuedouble == 1 ? "" : "s",
	        (long long)n->valuedouble, n->valuedouble == 1 ? "" : "s");
	cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(dup, "list"))
	{
		const cJSON *f,
		    *cls = cJSON_GetObjectItemCaseSensitive(g, "classes");
		const char *kind = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(g, "kind"));
		struct td *row = td_add_row(d, "dup_groups");
		int i = 0;

		td_set(row, "kind", kind ? kind : "");
		cJSON_ArrayForEach(f,
		                   cJSON_GetObjectItemCaseSensitive(g, "files"))
		{
			const char *c =
			    cJSON_GetStringValue(cJSON_GetArrayItem(cls, i++));
			struct td *fr;
			if (!cJSON_IsString(f))
				continue;
			fr = td_add_row(row, "files");
			td_set(fr, "file", f->valuestring);
			td_set(fr, "class", c ? c : "");
		}
	}
}

void
page_dataset_health_report(struct td *d, const char *json)
{
	cJSON *r = cJSON_Parse(json), *it;
	const cJSON *classes, *skipped, *warnings;
	const char *fmt;
	int ci = 0;
	double max = 0;
	long long listed = 0, folders = 0, total;

	if (!cJSON_IsObject(r)) {
		cJSON_Delete(r);
		return;
	}
	td_set_bool(d, "report", 1);
	it = cJSON_GetObjectItemCaseSensitive(r, "images");
	td_set_int(d, "images",
	           cJSON_IsNumber(it) ? (long long)it->valuedouble : 0);
	td_set_count(d, "images_text",
	             cJSON_IsNumber(it) ? (long long)it->valuedouble : 0,
	             "image", "images");
	it = cJSON_GetObjectItemCaseSensitive(r, "entries");
	fmt = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(r, "archive_format"));
	/* no format: libarchive could not read it at all */
	if (fmt && *fmt) {
		char n[40];
		long long e =
		    cJSON_IsNumber(it) ? (long long)it->valuedouble : 0;
		snprintf(n, sizeof(n), "%lld %s", e,
		         e == 1 ? "entry" : "entries");
		td_setf(d, "archive_text", "%s, %s", fmt, n);
	} else {
		td_set(d, "archive_text",
		       "not an archive trainyard can read (.zip, .tar, "
		       ".tar.gz)");
	}
	classes = cJSON_GetObjectItemCaseSensitive(r, "classes");
	cJSON_ArrayForEach(it, classes)
	{
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "count");
		if (cJSON_IsNumber(c) && c->valuedouble > max)
			max = c->valuedouble;
	}
	cJSON_ArrayForEach(it, classes)
	{
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "count");
		const char *name = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(it, "name"));
		double n = cJSON_IsNumber(c) ? c->valuedouble : 0;
		struct td *row;
		int index = ci++; /* its place in the report */

		if (!name)
			continue;
		row = td_add_row(d, "classes");
		td_set(row, "name", name);
		td_set_int(row, "ci", index);
		samples_td(
		    row,
		    cJSON_GetArrayItem(
		        cJSON_GetObjectItemCaseSensitive(r, "samples"), index),
		    SAMPLES_SHOWN);
		td_set_int(row, "count", (long long)n);
		td_set_count(row, "count_text", (long long)n, "image",
		             "images");
		/* at least a sliver, so an almost-empty class still shows */
		td_setf(row, "pct", "%.1f",
		        max > 0
		            ? (n > 0 && n / max < 0.01 ? 1.0 : 100.0 * n / max)
		            : 0.0);
	}
	td_set_int(d, "nclasses", cJSON_GetArraySize(classes));
	td_set_count(d, "nclasses_text", cJSON_GetArraySize(classes), "class",
	             "classes");
	add_counts(d, "formats", cJSON_GetObjectItemCaseSensitive(r, "formats"),
	           0);
	add_counts(d, "channels",
	           cJSON_GetObjectItemCaseSensitive(r, "channels"), 1);
	add_counts(d, "sizes", cJSON_GetObjectItemCaseSensitive(r, "sizes"), 0);
	add_size(d, "min_size",
	         cJSON_GetObjectItemCaseSensitive(r, "min_size"));
	add_size(d, "max_size",
	         cJSON_GetObjectItemCaseSensitive(r, "max_size"));
	skipped = cJSON_GetObjectItemCaseSensitive(r, "skipped");
	cJSON_ArrayForEach(it, skipped)
	{
		const char *name = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(it, "name"));
		const char *why = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(it, "reason"));
		struct td *row;

		if (!name)
			continue;
		row = td_add_row(d, "skipped");
		td_set(row, "name", name);
		td_set(row, "reason", why ? why : "");
		listed++;
		/* an empty class folder is listed as "name/" */
		folders += *name && name[strlen(name) - 1] == '/';
	}
	it = cJSON_GetObjectItemCaseSensitive(r, "skipped_total");
	total = cJSON_IsNumber(it) ? (long long)it->valuedouble : listed;
	if (total < listed)
		total = listed;
	td_set_int(d, "skipped_total", total);
	/* an empty folder is not a file: say which is which */
	if (folders > 0)
		td_setf(d, "skipped_text",
		        "%lld in total: %lld file%s, %lld folder%s", total,
		        total - folders, total - folders == 1 ? "" : "s",
		        folders, folders == 1 ? "" : "s");
	else
		td_setf(d, "skipped_text", "%lld in total: %lld file%s", total,
		        total, total == 1 ? "" : "s");
	td_set_bool(d, "has_skipped", listed > 0);
	if (total > listed)
		td_set_int(d, "skipped_more", total - listed);
	dups_td(d, cJSON_GetObjectItemCaseSensitive(r, "duplicates"));
	warnings = cJSON_GetObjectItemCaseSensitive(r, "warnings");
	cJSON_ArrayForEach(it, warnings) if (cJSON_IsString(it))
	    td_set(td_add_row(d, "warnings"), "text", it->valuestring);
	cJSON_Delete(r);
}

void
page_dataset_health(struct req *r)
{
	struct db *db = r->w->db;
	struct td *d;
	sqlite3_stmt *st;
	struct inspect_state is;
	char buf[64], *report = NULL, *status = NULL, *error = NULL;
	char title[160];
	long long did = r->ids[1];
	int found = 0, pending;

	d = td_new();
	st = db_stmt(db, DB_DATASET_GET, "ii", did, r->project.id);
	if (db_step(db, st) == SQLITE_ROW) {
		struct dsrow ds;
		dsrow_read(st, &ds);
		found = 1;
		td_set_int(d, "did", did);
		td_set(d, "filename", ds.filename);
		snprintf(title, sizeof(title), "%s · %s", ds.filename,
		         r->project.name);
		web_fmt_bytes(buf, sizeof(buf), ds.bytes);
		td_set(d, "size", buf);
		td_set(d, "sha256", ds.sha256);
		status = xstrdup(ds.status);
		web_fmt_time(buf, sizeof(buf), ds.created_at);
		td_set(d, "created", buf);
		report = xstrdup(ds.report_json);
		error = xstrdup(ds.error);
		dsrow_free(&ds);
	}
	db_done(db, st);
	if (!found) {
		td_free(d);
		snprintf(buf, sizeof(buf), "/projects/%lld", r->project.id);
		view_error_page(r, 404,
		                "There is no such dataset in this "
		                "project.",
		                buf, "Back to the project");
		return;
	}
	td_set_int(d, "id", r->project.id);
	td_set(d, "project_name", r->project.name);
	td_set(d, "status", status);
	pending = !strcmp(status, "uploaded") || !strcmp(status, "inspecting");
	if (pending) {
		inspect_state_of(did, &is);
		td_set_bool(d, "pending", 1);
		td_set_int(d, "refresh", REFRESH_S);
		td_setf(d, "progress_pct", "%.0f", 100 * is.progress);
		td_set(d, "progress_message", is.message);
		if (is.err[0]) {
			if (is.unreachable)
				td_setf(d, "waiting",
				        "%s — the report will "
				        "appear when it is back (next try in "
				        "%.0f s).",
				        is.err, is.retry_in + 0.49);
			else
				td_setf(d, "waiting",
				        "%s — retrying in "
				        "%.0f s.",
				        is.err, is.retry_in + 0.49);
		}
		snprintf(r->extra_headers, sizeof(r->extra_headers),
		         "Refresh: %d\r\n", REFRESH_S);
	}
	td_set_bool(d, "ready", !strcmp(status, "ready"));
	td_set_bool(d, "unusable", !strcmp(status, "unusable"));
	td_set(d, "error", error);
	/* No report: the inspection never ran to the end (failed, given
	 * up, refused), so asking again may help; a report would not
	 * change for the same archive. */
	td_set_bool(d, "can_retry", !strcmp(status, "unusable") && !report[0]);
	if (report[0])
		page_dataset_health_report(d, report);
	view_page(r, 200, "dataset", title, d);
	td_free(d);
	free(report);
	free(status);
	free(error);
}

void
page_dataset_reinspect(struct req *r)
{
	char loc[96];
	int changed;

	snprintf(loc, sizeof(loc), "/projects/%lld/datasets/%lld",
	         r->project.id, r->ids[1]);
	if (db_int(r->w->db, DB_DATASET_OF_PROJECT, 0, "ii", r->ids[1],
	           r->project.id) != 1) {
		web_error(r, 404, "There is no such dataset in this project.");
		return;
	}
	if (db_tx_begin(r->w->db) != DB_OK)
		goto fail;
	if (db_exec(r->w->db, DB_DATASET_REINSPECT, "ii", r->ids[1],
	            r->project.id) != DB_OK) {
		if (db_tx_end(r->w->db, 0) != DB_OK)
			ty_log("reinspect: rollback failed");
		goto fail;
	}
	changed = db_changes(r->w->db);
	if (db_tx_end(r->w->db, 1) != DB_OK)
		goto fail;
	if (!changed) {
		view_error_page(r, 409,
		                "This dataset is not waiting for an inspection "
		                "that failed (or it is not in this project).",
		                loc, "Back to the dataset");
		return;
	}
	ty_log("inspect: dataset %lld asked for again", r->ids[1]);
	inspect_kick();
	web_redirect(r, loc);
	return;
fail:
	view_error_page(r, 500,
	                "The inspection could not be restarted; try "
	                "again.",
	                loc, "Back to the dataset");
}

void
page_dataset_samples(struct req *r)
{
	sqlite3_stmt *st =
	    db_stmt(r->w->db, DB_DATASET_GET, "ii", r->ids[1], r->project.id);
	cJSON *rep = NULL;
	const cJSON *cls;
	char q[16], back[96];
	struct td *d;
	int ci = -1;

	if (web_query(r, "class", q, sizeof(q)) == 0)
		ci = atoi(q);
	if (db_step(r->w->db, st) == SQLITE_ROW) {
		struct dsrow ds;
		dsrow_read(st, &ds);
		rep = cJSON_Parse(ds.report_json);
		dsrow_free(&ds);
	}
	db_done(r->w->db, st);
	cls = ci >= 0
	          ? cJSON_GetArrayItem(
	                cJSON_GetObjectItemCaseSensitive(rep, "classes"), ci)
	          : NULL;
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cls, "name"))) {
		cJSON_Delete(rep);
		web_error(r, 404, "This dataset has no such class.");
		return;
	}
	snprintf(back, sizeof(back), "/projects/%lld/datasets/%lld",
	         r->project.id, r->ids[1]);
	d = td_new();
	td_set(d, "back", back);
	td_set(d, "project_name", r->project.name);
	td_set_int(d, "id", r->project.id);
	td_set(d, "name",
	       cJSON_GetObjectItemCaseSensitive(cls, "name")->valuestring);
	samples_td(d,
	           cJSON_GetArrayItem(
	               cJSON_GetObjectItemCaseSensitive(rep, "samples"), ci),
	           1000);
	view_page(r, 200, "samples", "Samples", d);
	td_free(d);
	cJSON_Delete(rep);
}
