/*
 * page_run.c — one run: its page (status, progress, charts, confusion
 * matrix, parameters, preprocessing summary, timing), the charts alone
 * (for run.js to swap in when an epoch arrives), cancel, delete, and the
 * model download.
 */
#include <civetweb.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "page_run.h"
#include "jobs.h"
#include "pages.h"
#include "recipe.h"
#include "pipeline.h"
#include "runcharts.h"
#include "runform.h"
#include "runqueue.h"
#include "runrow.h"
#include "view.h"

#define CHARTS_MAX (512 * 1024)

static const char *
stage_of(const char *status)
{
	static const struct {
		const char *status, *stage;
	} t[] = {
	    {"queued", "Waiting in the queue"},
	    {"preprocessing", "Preprocessing (decode, resize, split)"},
	    {"training", "Training"},
	    {"succeeded", "Finished"},
	    {"failed", "Failed"},
	    {"cancelled", "Cancelled"},
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(t); i++)
		if (!strcmp(t[i].status, status))
			return t[i].stage;
	return status;
}

static void
fmt_secs(char *out, size_t len, double s)
{
	if (s < 0 || !isfinite(s))
		snprintf(out, len, "–");
	else if (s < 120)
		snprintf(out, len, "%.1f s", s);
	else
		snprintf(out, len, "%d min %02d s", (int)(s / 60),
		         (int)fmod(s, 60));
}

static double
num(const cJSON *o, const char *k, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static void
params_td(struct td *d, const struct runrow *run)
{
	struct runform rf;
	char buf[64];

	if (runform_from_json(run->params_json, &rf) < 0)
		return;
	struct td *p = td_add_row(d, "params");
	td_set(p, "arch", params_archs[rf.arch].name);
	if (rf.recipe[0])
		td_set(p, "recipe", rf.recipe);
	runform_widths(rf.hidden, rf.nhidden, buf, sizeof(buf));
	td_set(p, "hidden", rf.arch == ARCH_LINEAR ? "–" : *buf ? buf : "none");
	runform_widths(rf.conv, rf.nconv, buf, sizeof(buf));
	td_set(p, "conv", rf.arch == ARCH_CNN ? buf : "–");
	td_set_int(p, "epochs", rf.epochs);
	td_set_int(p, "batch_size", rf.batch_size);
	td_set(p, "optimizer", params_opts[rf.optimizer]);
	td_setf(p, "lr", "%g", rf.lr);
	td_setf(p, "image_size", "%dx%dx%d", rf.width, rf.height, rf.channels);
	td_set(p, "fit", recipe_fit_text(rf.fit));
	td_setf(p, "val_fraction", "%g", rf.val_fraction);
	td_set_int(p, "seed", rf.seed);
	td_set(p, "augment", rf.augment ? "yes" : "no");
	td_set(p, "early_stopping", rf.early_stopping ? "yes" : "no");
	td_set(p, "schedule",
	       rf.lr_schedule == SCHED_COSINE ? "cosine, with warm-up"
	                                      : "constant");
	td_set(p, "class_weights", rf.class_weights ? "yes" : "no");
	td_set_int(p, "dataset_id", rf.dataset_id);
	td_set_int(p, "workers", rf.workers);
	if (rf.workers > 1 && rf.local_steps)
		td_setf(p, "local_steps", "%d batches", rf.local_steps);
	else if (rf.workers > 1)
		td_set(p, "local_steps", "one epoch of each share");
}

static void
prep_td(struct td *d, const struct runrow *run)
{
	cJSON *p = cJSON_Parse(run->prep_json), *e;
	const cJSON *classes, *counts, *tr, *va, *w;
	int i = 0;

	if (!cJSON_IsObject(p)) {
		cJSON_Delete(p);
		return;
	}
	struct td *s = td_add_row(d, "prep");
	td_set_int(s, "images", (long long)num(p, "images", 0));
	td_set_int(s, "train", (long long)num(p, "train", 0));
	td_set_int(s, "val", (long long)num(p, "val", 0));
	td_set_int(s, "skipped", (long long)num(p, "skipped_total", 0));
	classes = cJSON_GetObjectItemCaseSensitive(p, "classes");
	counts = cJSON_GetObjectItemCaseSensitive(p, "counts");
	tr = cJSON_GetObjectItemCaseSensitive(counts, "train");
	va = cJSON_GetObjectItemCaseSensitive(counts, "val");
	cJSON_ArrayForEach(e, classes)
	{
		struct td *c = td_add_row(s, "classes");
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name");
		const cJSON *a = cJSON_GetArrayItem(tr, i);
		const cJSON *b = cJSON_GetArrayItem(va, i);
		td_set(c, "name",
		       cJSON_IsString(nm)  ? nm->valuestring
		       : cJSON_IsString(e) ? e->valuestring
		                           : "?");
		td_set_int(c, "count", (long long)num(e, "count", 0));
		if (cJSON_IsNumber(a))
			td_set_int(c, "train", (long long)a->valuedouble);
		if (cJSON_IsNumber(b))
			td_set_int(c, "val", (long long)b->valuedouble);
		i++;
	}
	w = cJSON_GetObjectItemCaseSensitive(p, "warnings");
	cJSON_ArrayForEach(e, w)
	{
		if (cJSON_IsString(e))
			td_set(td_add_row(s, "warnings"), "text",
			       e->valuestring);
	}
	cJSON_Delete(p);
}

/* The confusion matrix as a heat-mapped table, and precision/recall/F1. */
void
page_run_results_td(struct td *d, const struct runrow *run)
{
	cJSON *m = cJSON_Parse(run->metrics_json), *row, *e;
	const cJSON *cm, *pc;
	int i = 0;

	if (!cJSON_IsObject(m)) {
		cJSON_Delete(m);
		return;
	}
	struct td *res = td_add_row(d, "results");
	td_set_int(res, "pid", run->project_id);
	td_set_int(res, "rid", run->id);
	td_setf(res, "val_acc", "%.4f", num(m, "val_acc", NAN));
	td_setf(res, "val_loss", "%.4f", num(m, "val_loss", NAN));
	td_setf(res, "images_per_second", "%.0f",
	        num(m, "images_per_second", 0));
	td_set_int(res, "params", (long long)num(m, "params", 0));
	td_set_int(res, "epochs_trained",
	           (long long)num(m, "epochs_trained", 0));
	if (cJSON_IsTrue(
	        cJSON_GetObjectItemCaseSensitive(m, "early_stopped"))) {
		/* runs from before the result said its patience: without */
		char why[64] = "";
		int pat = (int)num(m, "patience", 0);
		if (pat > 0)
			snprintf(why, sizeof(why),
			         ": no lower validation loss in %d epochs",
			         pat);
		td_setf(res, "early_stopped", "stopped early%s; best epoch %d",
		        why, (int)num(m, "best_epoch", 0));
	}
	/* a parallel run's notes: a train worker left out, and why */
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(m, "messages"))
	{
		if (cJSON_IsString(e))
			td_set(td_add_row(res, "messages"), "text",
			       e->valuestring);
	}
	cm = cJSON_GetObjectItemCaseSensitive(m, "confusion");
	pc = cJSON_GetObjectItemCaseSensitive(m, "per_class");
	cJSON_ArrayForEach(e, pc)
	{
		struct td *h = td_add_row(res, "cm_head");
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "class");
		td_set(h, "name", cJSON_IsString(nm) ? nm->valuestring : "?");
		struct td *c = td_add_row(res, "per_class");
		td_set(c, "name", cJSON_IsString(nm) ? nm->valuestring : "?");
		td_setf(c, "precision", "%.3f", num(e, "precision", NAN));
		td_setf(c, "recall", "%.3f", num(e, "recall", NAN));
		td_setf(c, "f1", "%.3f", num(e, "f1", NAN));
		td_set_int(c, "support", (long long)num(e, "support", 0));
	}
	cJSON_ArrayForEach(row, cm)
	{
		double total = 0;
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetArrayItem(pc, i), "class");
		struct td *tr = td_add_row(res, "cm_rows");
		int j = 0;
		td_set(tr, "name", cJSON_IsString(nm) ? nm->valuestring : "?");
		cJSON_ArrayForEach(e, row)
		{
			total += cJSON_IsNumber(e) ? e->valuedouble : 0;
		}
		cJSON_ArrayForEach(e, row)
		{
			double v = cJSON_IsNumber(e) ? e->valuedouble : 0;
			struct td *c = td_add_row(tr, "cells");
			/* ten shades by share of the true class's images */
			int heat = total > 0 ? (int)lround(10 * v / total) : 0;
			td_set_int(c, "v", (long long)v);
			td_set_int(c, "ti", i);
			td_set_int(c, "pj", j);
			td_setf(c, "cls", "heat-%d%s", heat,
			        i == j ? " diag" : "");
			td_setf(c, "title", "%.1f%% of true class",
			        total > 0 ? 100 * v / total : 0);
			j++;
		}
		i++;
	}
	cJSON_Delete(m);
}

/* Fills everything the run page and the events stream share. */
static void
status_td(struct req *r, struct td *d, const struct runrow *run)
{
	struct pipeline_live live;
	char buf[64];
	int have_live = pipeline_live_get(run->id, &live) == 0;
	double best_acc, best_loss, kacc, kloss;
	int nep, kept;

	td_set(d, "status", run->status);
	td_set(d, "stage", stage_of(run->status));
	td_setf(d, "progress", "%.3f", run->progress);
	td_setf(d, "percent", "%.0f", 100 * run->progress);
	td_set(d, "message", run->message);
	td_set_bool(d, "active", runrow_active(run));
	if (!strcmp(run->status, "queued")) {
		/* its place in the queue, which takes turns between users */
		size_t pos = runqueue_position(r->w->db, run->id);
		long long active = db_int(r->w->db, DB_RUN_ACTIVE_COUNT, 0, "");

		long long ahead = active + (long long)(pos ? pos - 1 : 0);

		td_setf(d, "queued",
		        "Queued behind %lld run%s (%lld running, at most %d at "
		        "once): position %zu in the queue, where users take "
		        "turns.",
		        ahead, ahead == 1 ? "" : "s", active,
		        pipeline_max_runs(), pos ? pos : 1);
	}
	runrow_best(run, &best_acc, &best_loss, &nep);
	if (have_live && live.epochs > 0 && !strcmp(run->status, "training"))
		td_setf(d, "epoch", "epoch %d of %d", live.epoch, live.epochs);
	else if (nep)
		td_setf(d, "epoch", "%d epoch%s done", nep,
		        nep == 1 ? "" : "s");
	if (have_live && live.eta_seconds >= 0 &&
	    !strcmp(run->status, "training")) {
		fmt_secs(buf, sizeof(buf), live.eta_seconds);
		td_set(d, "eta", buf);
	}
	/* One figure: the model's once there is one (the epoch it kept),
	 * the best epoch's so far while the run goes on. */
	if (runrow_kept(run, &kacc, &kloss, &kept) == 0) {
		td_setf(d, "best_acc", "%.4f", kacc);
		td_setf(d, "acc_label", "model val acc (epoch %d)", kept);
	} else if (best_acc >= 0 && runrow_active(run)) {
		td_setf(d, "best_acc", "%.4f", best_acc);
		td_set(d, "acc_label", "best val acc so far");
	}
}

static void
timing_td(struct td *d, const struct runrow *run)
{
	char a[32], b[32], c[32];
	double end = run->finished_at > 0 ? run->finished_at : util_wall();
	double train = run->train_seconds;

	if (run->started_at <= 0)
		return;
	if (train < 0 && run->prep_seconds >= 0 &&
	    !strcmp(run->status, "training"))
		train = end - run->started_at - run->prep_seconds;
	fmt_secs(a, sizeof(a), run->prep_seconds);
	fmt_secs(b, sizeof(b), train);
	fmt_secs(c, sizeof(c), end - run->started_at);
	struct td *t = td_add_row(d, "timing");
	td_set(t, "prep", a);
	td_set(t, "train", b);
	td_set(t, "total", c);
	fmt_secs(a, sizeof(a), run->started_at - run->created_at);
	td_set(t, "waited", a);
}

static int
kept_epoch(const struct runrow *run)
{
	double a, l;
	int e;

	return runrow_kept(run, &a, &l, &e) == 0 ? e : 0;
}

static int
load(struct req *r, struct runrow *run)
{
	if (runrow_load(r->w->db, r->ids[1], r->project.id, run) < 0) {
		web_error(r, 404, "There is no such run in this project.");
		return -1;
	}
	return 0;
}

void
page_run(struct req *r)
{
	struct runrow run;
	struct td *d;
	struct wbuf charts;
	sqlite3_stmt *st;
	char title[64], when[40];

	if (load(r, &run) < 0)
		return;
	d = td_new();
	td_set_int(d, "pid", r->project.id);
	td_set(d, "project", r->project.name);
	td_set_int(d, "rid", run.id);
	td_set_int(d, "rnum", run.number);
	td_set(d, "run_name", run.name);
	td_set(d, "run_note", run.note);
	web_fmt_time(when, sizeof(when), (long long)run.created_at);
	td_set(d, "created", when);
	status_td(r, d, &run);
	if (*run.error)
		td_set(d, "error", run.error);
	params_td(d, &run);
	prep_td(d, &run);
	page_run_results_td(d, &run);
	timing_td(d, &run);
	wb_init(&charts, CHARTS_MAX);
	if (runcharts_run(&charts, run.epochs_json, kept_epoch(&run)) == 0)
		td_set_html_UNESCAPED(d, "charts", charts.data);
	wb_free(&charts);
	st =
	    db_stmt(r->w->db, DB_RUN_MODEL_OF_RUN, "ii", run.id, r->project.id);
	if (db_step(r->w->db, st) == SQLITE_ROW) {
		char size[32];
		td_set_int(d, "model_id", sqlite3_column_int64(st, 0));
		web_fmt_bytes(size, sizeof(size), sqlite3_column_int64(st, 2));
		td_set(d, "model_size", size);
	}
	db_done(r->w->db, st);
	snprintf(title, sizeof(title), "Run #%lld", run.number);
	view_page(r, 200, "run", title, d);
	td_free(d);
	runrow_free(&run);
}

void
page_run_charts(struct req *r)
{
	struct runrow run;
	struct wbuf charts;

	if (load(r, &run) < 0)
		return;
	wb_init(&charts, CHARTS_MAX);
	if (runcharts_run(&charts, run.epochs_json, kept_epoch(&run)) < 0)
		web_error(r, 500, "The charts are too large.");
	else
		web_send(r, 200, "text/html; charset=utf-8", NULL, charts.data,
		         charts.len);
	wb_free(&charts);
	runrow_free(&run);
}

int
page_run_in_project(struct req *r)
{
	if (db_int(r->w->db, DB_RUN_OF_PROJECT, 0, "ii", r->ids[1],
	           r->project.id) == 1)
		return 1;
	web_error(r, 404, "There is no such run in this project.");
	return 0;
}

int
page_run_cancel_req(struct req *r, long long rid)
{
	if (db_exec(r->w->db, DB_RUN_CANCEL_REQ, "ii", rid, r->project.id) !=
	    DB_OK)
		return -1;
	if (db_changes(r->w->db) == 0)
		return 0;
	pipeline_kick();
	return 1;
}

void
page_run_cancel(struct req *r)
{
	char loc[96];

	snprintf(loc, sizeof(loc), "/projects/%lld/runs/%lld", r->project.id,
	         r->ids[1]);
	if (!page_run_in_project(r))
		return;
	if (page_run_cancel_req(r, r->ids[1]) < 0) {
		view_error_page(r, 500,
		                "The run could not be cancelled; try "
		                "again.",
		                loc, "Back to the run");
		return;
	}
	web_redirect(r, loc);
}

void
page_run_remove_files(struct web *w, long long id)
{
	char *a = jobs_path(w->data_dir, id, JOBS_PREP, NULL);
	char *b = jobs_path(w->models_dir, id, JOBS_TRAIN, NULL);

	if (util_rmtree(a) < 0 && errno != ENOENT)
		ty_log("run %lld: cannot remove %s: %s", id, a,
		       strerror(errno));
	if (util_rmtree(b) < 0 && errno != ENOENT)
		ty_log("run %lld: cannot remove %s: %s", id, b,
		       strerror(errno));
	free(a);
	free(b);
}

void
page_run_delete(struct req *r)
{
	char loc[96];

	snprintf(loc, sizeof(loc), "/projects/%lld/runs/%lld", r->project.id,
	         r->ids[1]);
	if (!page_run_in_project(r))
		return;
	if (db_exec(r->w->db, DB_RUN_DELETE, "ii", r->ids[1], r->project.id) !=
	        DB_OK ||
	    db_changes(r->w->db) != 1) {
		view_error_page(r, 409,
		                "Only a finished run can be deleted; "
		                "cancel it first.",
		                loc, "Back to the run");
		return;
	}
	page_run_remove_files(r->w, r->ids[1]);
	snprintf(loc, sizeof(loc), "/projects/%lld#runs", r->project.id);
	web_redirect(r, loc);
}

void
page_run_send_model(struct req *r, const char *rel, const char *filename)
{
	char *path = xasprintf("%s/%s", r->w->models_dir, rel), buf[64 * 1024];
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	free(path);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		if (fd >= 0)
			close(fd);
		web_error(r, 410,
		          "The model file is missing from the models "
		          "volume.");
		return;
	}
	/* Streamed: a model may be far larger than we want in memory. */
	mg_printf(r->conn,
	          "HTTP/1.1 200 OK\r\n"
	          "Content-Type: application/octet-stream\r\n"
	          "Content-Length: %lld\r\n"
	          "Content-Disposition: attachment; filename=\"%s\"\r\n"
	          "X-Content-Type-Options: nosniff\r\n"
	          "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
	          (long long)sb.st_size, filename);
	r->status = 200;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (mg_write(r->conn, buf, (size_t)n) <= 0)
			break;
		r->bytes_out += (size_t)n;
	}
	close(fd);
}

void
page_run_model(struct req *r)
{
	sqlite3_stmt *st;
	char *rel = NULL, name[96];

	st = db_stmt(r->w->db, DB_RUN_MODEL_OF_RUN, "ii", r->ids[1],
	             r->project.id);
	if (db_step(r->w->db, st) == SQLITE_ROW)
		rel = xstrdup(db_col_text(st, 1));
	db_done(r->w->db, st);
	if (!rel) {
		web_error(r, 404, "This run has no model (yet).");
		return;
	}
	snprintf(name, sizeof(name), "trainyard-p%lld-run%lld.tym",
	         r->project.id, r->ids[1]);
	page_run_send_model(r, rel, name);
	free(rel);
}

/* Used by the events stream (page_run_events.c). */
void
page_run_status_json(struct req *r, const struct runrow *run, struct wbuf *out)
{
	struct td *d = td_new();
	cJSON *j = cJSON_CreateObject();
	static const char *const keys[] = {"status",   "stage",  "message",
	                                   "epoch",    "eta",    "queued",
	                                   "best_acc", "percent"};
	char *s;

	status_td(r, d, run);
	for (size_t i = 0; i < TY_ARRAY_LEN(keys); i++) {
		const char *v = td_get(d, keys[i]);
		cJSON_AddStringToObject(j, keys[i], v ? v : "");
	}
	cJSON_AddNumberToObject(j, "progress", run->progress);
	cJSON_AddBoolToObject(j, "active", runrow_active(run));
	s = cJSON_PrintUnformatted(j);
	if (wb_adds(out, s) < 0)
		ty_log("run %lld: status too large", run->id);
	free(s);
	cJSON_Delete(j);
	td_free(d);
}

long long *
page_run_ids_of_project(struct db *db, long long project_id, size_t *n)
{
	sqlite3_stmt *st = db_stmt(db, DB_RUN_IDS_OF_PROJECT, "i", project_id);
	long long *ids = NULL;
	size_t cap = 0;

	*n = 0;
	while (db_step(db, st) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			ids = xrealloc(ids, cap * sizeof(*ids));
		}
		ids[(*n)++] = sqlite3_column_int64(st, 0);
	}
	db_done(db, st);
	return ids;
}
