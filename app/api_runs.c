/*
 * api_runs.c — the API's runs and models: POST/GET .../runs,
 * GET .../runs/{rid}, POST .../runs/{rid}/cancel, GET .../models and
 * GET .../models/{mid}/download?format=. A run is started with the run
 * form's own fields and rules (page_runs_start), so the API and the page
 * can never disagree on what is valid; the events stream is the page's
 * (page_run_events.c).
 */
#include <civetweb.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "modelrow.h"
#include "page_run.h"
#include "pages.h"
#include "runrow.h"
#include "sweep.h"

/* The parsed JSON of a column, or null when it is empty or not JSON. */
static cJSON *
parsed(const char *text)
{
	cJSON *j = *text ? cJSON_Parse(text) : NULL;

	return j ? j : cJSON_CreateNull();
}

static void
add_time(cJSON *j, const char *key, double t)
{
	if (t > 0)
		cJSON_AddNumberToObject(j, key, t);
	else
		cJSON_AddNullToObject(j, key);
}

static long long
model_of_run(struct req *r, long long rid)
{
	sqlite3_stmt *st =
	    db_stmt(r->w->db, DB_RUN_MODEL_OF_RUN, "ii", rid, r->project.id);
	long long id = 0;

	if (db_step(r->w->db, st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	db_done(r->w->db, st);
	return id;
}

/* One run; full adds the live status, epochs, metrics (confusion). */
static cJSON *
run_json(struct req *r, const struct runrow *w, int full)
{
	cJSON *j = cJSON_CreateObject();
	long long mid = model_of_run(r, w->id);

	cJSON_AddNumberToObject(j, "id", (double)w->id);
	/* what the pages show as "#n": numbered within the project */
	cJSON_AddNumberToObject(j, "number", (double)w->number);
	cJSON_AddStringToObject(j, "name", w->name ? w->name : "");
	cJSON_AddStringToObject(j, "note", w->note ? w->note : "");
	cJSON_AddNumberToObject(j, "dataset_id", (double)w->dataset_id);
	cJSON_AddStringToObject(j, "status", w->status);
	cJSON_AddBoolToObject(j, "active", runrow_active(w));
	cJSON_AddNumberToObject(j, "progress", w->progress);
	cJSON_AddStringToObject(j, "message", w->message);
	if (*w->error)
		cJSON_AddStringToObject(j, "error", w->error);
	else
		cJSON_AddNullToObject(j, "error");
	add_time(j, "created_at", w->created_at);
	add_time(j, "started_at", w->started_at);
	add_time(j, "finished_at", w->finished_at);
	cJSON_AddItemToObject(j, "params", parsed(w->params_json));
	if (mid)
		cJSON_AddNumberToObject(j, "model_id", (double)mid);
	else
		cJSON_AddNullToObject(j, "model_id");
	if (!full)
		return j;
	{
		struct wbuf live;
		wb_init(&live, 64 * 1024);
		page_run_status_json(r, w, &live);
		cJSON_AddItemToObject(j, "live",
		                      parsed(live.data ? live.data : ""));
		wb_free(&live);
	}
	cJSON_AddItemToObject(j, "prep", parsed(w->prep_json));
	cJSON_AddItemToObject(j, "epochs",
	                      *w->epochs_json ? parsed(w->epochs_json)
	                                      : cJSON_CreateArray());
	cJSON_AddItemToObject(j, "metrics", parsed(w->metrics_json));
	if (w->prep_seconds >= 0)
		cJSON_AddNumberToObject(j, "prep_seconds", w->prep_seconds);
	if (w->train_seconds >= 0)
		cJSON_AddNumberToObject(j, "train_seconds", w->train_seconds);
	return j;
}

static void
reply_run(struct req *r, int status, long long rid)
{
	struct runrow w;
	cJSON *run;

	if (runrow_load(r->w->db, rid, r->project.id, &w) < 0) {
		web_error(r, 404, "no such run in this project");
		return;
	}
	run = run_json(r, &w, 1);
	runrow_free(&w);
	api_reply_as(r, status, "run", run);
}

static cJSON *
run_row(struct req *r, sqlite3_stmt *st)
{
	struct runrow w;
	cJSON *j;

	runrow_read(st, &w);
	j = run_json(r, &w, 0);
	runrow_free(&w);
	return j;
}

void
api_runs(struct req *r)
{
	api_reply_rows(r, "runs", DB_RUN_LIST, r->project.id, run_row);
}

void
api_run(struct req *r)
{
	reply_run(r, 200, r->ids[1]);
}

static void reply_started(struct req *r, long long id,
                          const struct runform_err *errs, size_t nerr,
                          long long sid);

/* Whether a sweepable field holds a list (sweep.h). */
static int
has_lists(const struct form *f)
{
	for (size_t i = 0; i < sweep_nfields; i++) {
		const char *v = form_get(f, sweep_fields[i]);
		if (v && strchr(v, ','))
			return 1;
	}
	return 0;
}

/* {"sweep": {"id", "spec", "runs": [...], "best_run_id", "finished"}} */
static void
reply_sweep(struct req *r, int status, long long sid)
{
	struct runrow v[SWEEP_MAX];
	char spec[512];
	int n = sweep_runs(r->w->db, sid, r->project.id, v, SWEEP_MAX, spec,
	                   sizeof(spec));
	size_t m = n > 0 ? (size_t)n : 0, done = 0;
	cJSON *j, *runs;
	int best;

	if (n < 0) {
		web_error(r, 404, "no such sweep in this project");
		return;
	}
	best = sweep_best(v, m);
	j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "id", (double)sid);
	cJSON_AddStringToObject(j, "spec", spec);
	runs = cJSON_AddArrayToObject(j, "runs");
	for (size_t k = 0; k < m; k++) {
		cJSON_AddItemToArray(runs, run_json(r, &v[k], 0));
		done += !runrow_active(&v[k]);
	}
	cJSON_AddNumberToObject(j, "finished", (double)done);
	if (best >= 0)
		cJSON_AddNumberToObject(j, "best_run_id", (double)v[best].id);
	else
		cJSON_AddNullToObject(j, "best_run_id");
	for (size_t k = 0; k < m; k++)
		runrow_free(&v[k]);
	api_reply_as(r, status, "sweep", j);
}

void
api_sweep_create(struct req *r)
{
	struct runform rf;
	struct runform_err errs[RUNFORM_ERRS_MAX];
	struct form f;
	size_t nerr = 0;
	long long id, sid = 0;

	if (api_read_form(r, &f) < 0)
		return;
	id = page_runs_start(r, &f, &rf, errs, &nerr, &sid);
	form_free(&f);
	if (id > 0 && sid <= 0) {
		/* one combination is a run, not a sweep: say where it is */
		reply_run(r, 201, id);
		return;
	}
	reply_started(r, id, errs, nerr, sid);
}

void
api_sweep(struct req *r)
{
	reply_sweep(r, 200, r->ids[1]);
}

void
api_run_create(struct req *r)
{
	struct runform rf;
	struct runform_err errs[RUNFORM_ERRS_MAX];
	struct form f;
	size_t nerr = 0;
	long long id;

	if (api_read_form(r, &f) < 0)
		return;
	if (has_lists(&f)) {
		char msg[120];
		form_free(&f);
		snprintf(msg, sizeof(msg),
		         "lists of values start a sweep: POST "
		         "/api/v1/projects/%lld/sweeps",
		         r->project.id);
		web_error(r, 400, msg);
		return;
	}
	id = page_runs_start(r, &f, &rf, errs, &nerr, NULL);
	form_free(&f);
	reply_started(r, id, errs, nerr, 0);
}

/* The answer to a create: the run (or sweep), or every message. */
static void
reply_started(struct req *r, long long id, const struct runform_err *errs,
              size_t nerr, long long sid)
{
	char err[240];

	if (id < 0) {
		web_error(r, 500, "The run could not be created; try again.");
	} else if (id == 0) {
		/* every message, as the page lists them; the first on top */
		cJSON *root = cJSON_CreateObject();
		cJSON *list = cJSON_AddArrayToObject(root, "errors");
		for (size_t i = 0; i < nerr; i++) {
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "field", errs[i].field);
			cJSON_AddStringToObject(e, "message", errs[i].msg);
			cJSON_AddItemToArray(list, e);
		}
		snprintf(err, sizeof(err), "%.60s: %.160s", errs[0].field,
		         errs[0].msg);
		cJSON_AddStringToObject(root, "error", err);
		api_reply(r, 400, root);
	} else if (sid > 0) {
		reply_sweep(r, 201, sid);
	} else {
		reply_run(r, 201, id);
	}
}

void
api_run_cancel(struct req *r)
{
	struct runrow w;
	int rc;

	if (runrow_load(r->w->db, r->ids[1], r->project.id, &w) < 0) {
		web_error(r, 404, "no such run in this project");
		return;
	}
	runrow_free(&w);
	rc = page_run_cancel_req(r, r->ids[1]);
	if (rc < 0)
		web_error(r, 500, "The run could not be cancelled; try again.");
	else if (rc == 0)
		web_error(r, 409, "the run has already finished");
	else
		reply_run(r, 202, r->ids[1]);
}

static cJSON *
model_row(struct req *r, sqlite3_stmt *st)
{
	cJSON *m = cJSON_CreateObject();
	struct modelrow row;

	(void)r;
	modelrow_read(st, &row);
	cJSON_AddNumberToObject(m, "id", (double)row.id);
	cJSON_AddNumberToObject(m, "run_id", (double)row.run_id);
	cJSON_AddStringToObject(m, "arch", row.arch);
	if (!row.has_acc)
		cJSON_AddNullToObject(m, "val_acc");
	else
		cJSON_AddNumberToObject(m, "val_acc", row.val_acc);
	cJSON_AddItemToObject(m, "classes", parsed(row.classes_json));
	cJSON_AddNumberToObject(m, "created_at", (double)row.created_at);
	cJSON_AddNumberToObject(m, "bytes", (double)row.bytes);
	modelrow_free(&row);
	return m;
}

void
api_models(struct req *r)
{
	api_reply_rows(r, "models", DB_MODEL_LIST, r->project.id, model_row);
}

/*
 * GET .../models/{mid}/download?format=tym|onnx|c: tym is the stored file;
 * onnx and c are made on request by the exporter the run page uses
 * (page_export.c, lib/export): 422 with its reason when a model cannot
 * be exported in that format.
 */
void
api_model_download(struct req *r)
{
	static const char *const formats[] = {"tym", "onnx", "c"};
	sqlite3_stmt *st;
	char fmt[8] = "tym", name[96], arch[32] = "";
	char *path = NULL;
	double acc = -1;
	long long rid = 0;
	size_t i;

	if (web_query(r, "format", fmt, sizeof(fmt)) < 0 &&
	    r->ri->query_string && strstr(r->ri->query_string, "format=")) {
		web_error(r, 400, "format must be one of tym, onnx, c");
		return;
	}
	for (i = 0; i < TY_ARRAY_LEN(formats); i++)
		if (!strcmp(fmt, formats[i]))
			break;
	if (i == TY_ARRAY_LEN(formats)) {
		web_error(r, 400, "format must be one of tym, onnx, c");
		return;
	}
	st = db_stmt(r->w->db, DB_MODEL_GET, "ii", r->ids[1], r->project.id);
	if (db_step(r->w->db, st) == SQLITE_ROW) {
		struct modelrow m;
		modelrow_read(st, &m);
		rid = m.run_id;
		snprintf(arch, sizeof(arch), "%s", m.arch);
		if (m.has_acc)
			acc = m.val_acc;
		path = m.path; /* taken */
		m.path = NULL;
		modelrow_free(&m);
	}
	db_done(r->w->db, st);
	if (!path) {
		web_error(r, 404, "no such model in this project");
		return;
	}
	/* named as the run page names it: the same file either way */
	snprintf(name, sizeof(name), "trainyard-p%lld-run%lld", r->project.id,
	         rid);
	if (i == 0) {
		strcat(name, ".tym");
		page_run_send_model(r, path, name);
	} else {
		page_export_send(r, path, formats[i], arch, acc, name);
	}
	free(path);
}
