/*
 * page_runs.c — runs of a project: the run form (on the project page and
 * alone at /runs/new, where it comes back with messages), starting a run,
 * and the project page's runs table (sortable, best run marked, 2+ runs
 * selected: their validation curves on one chart) and models list.
 */
#include <civetweb.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page_run.h"
#include "modelrow.h"
#include "pages.h"
#include "params.h"
#include "pipeline.h"
#include "runcharts.h"
#include "recipe.h"
#include "runform.h"
#include "sweep.h"
#include "runrow.h"
#include "view.h"

#define SECTION_MAX (2 * 1024 * 1024)
#define COMPARE_MAX 8

/* ---- the form ---- */

static void
set_sel(struct td *d, const char *prefix, const char *value)
{
	char key[48];

	snprintf(key, sizeof(key), "%s_%s", prefix, value);
	td_set_bool(d, key, 1);
}

/*
 * Values shown in the form: what the person typed when it comes back with
 * messages (raw != NULL), else rf.
 */
static void
form_values(struct td *d, const struct runform *rf, const struct form *raw)
{
	static const char *const echo[] = {
	    "hidden",       "conv", "epochs",  "batch_size", "lr", "image_size",
	    "val_fraction", "seed", "workers", "local_steps"};
	char buf[64];

	runform_widths(rf->hidden, rf->nhidden, buf, sizeof(buf));
	td_set(d, "hidden", buf);
	runform_widths(rf->conv, rf->nconv, buf, sizeof(buf));
	td_set(d, "conv", buf);
	td_set_int(d, "epochs", rf->epochs);
	td_set_int(d, "batch_size", rf->batch_size);
	td_setf(d, "lr", "%g", rf->lr);
	td_setf(d, "image_size", "%dx%dx%d", rf->width, rf->height,
	        rf->channels);
	td_setf(d, "val_fraction", "%g", rf->val_fraction);
	td_set_int(d, "seed", rf->seed);
	td_set_int(d, "workers", rf->workers);
	td_set_int(d, "local_steps", rf->local_steps);
	td_set_bool(d, "augment", rf->augment);
	td_set_bool(d, "early_stopping", rf->early_stopping);
	td_set_bool(d, "class_weights", rf->class_weights);
	set_sel(d, "arch", params_archs[rf->arch].name);
	set_sel(d, "opt", params_opts[rf->optimizer]);
	set_sel(d, "sched", params_schedules[rf->lr_schedule]);
	set_sel(d, "fit", img_fit_names[rf->fit]);
	for (size_t i = 0; raw && i < TY_ARRAY_LEN(echo); i++) {
		const char *v = form_get(raw, echo[i]);
		if (v)
			td_set(d, echo[i], v);
	}
}

/* Fields shown above the "Advanced" fold. */
static int
is_essential(const char *field)
{
	static const char *const ess[] = {"dataset_id", "arch", "epochs",
	                                  "image_size"};
	for (size_t i = 0; i < TY_ARRAY_LEN(ess); i++)
		if (!strcmp(field, ess[i]))
			return 1;
	return 0;
}

/* Renders views/run_form.html; the caller frees. */
static char *
form_html(struct req *r, const struct runform *rf, const struct form *raw,
          const struct runform_err *errs, size_t nerr, long long chosen)
{
	struct db *db = r->w->db;
	struct td *d = td_new();
	struct wbuf out;
	sqlite3_stmt *st;
	char *html;
	int n = 0;

	td_set_int(d, "pid", r->project.id);
	td_set(d, "csrf", r->csrf);
	if (rf->recipe[0])
		td_set(d, "recipe", rf->recipe);
	st = db_stmt(db, DB_RUN_DATASETS_READY, "i", r->project.id);
	while (db_step(db, st) == SQLITE_ROW) {
		struct td *row = td_add_row(d, "ready");
		long long id = sqlite3_column_int64(st, 0);
		td_set_int(row, "id", id);
		td_set(row, "filename", db_col_text(st, 1));
		td_set_bool(row, "selected", id == chosen);
		n++;
	}
	db_done(db, st);
	td_set_bool(d, "has_ready", n > 0);
	form_values(d, rf, raw);
	if (raw && form_get(raw, "sweep"))
		td_set(d, "sweep_value", form_get(raw, "sweep"));
	/* one line of help per field, from the one parameter table */
	for (size_t i = 0; i < PARAM__MAX; i++) {
		char key[48];
		snprintf(key, sizeof(key), "help_%s", params_table[i].name);
		td_set(d, key, params_table[i].help);
	}
	for (size_t i = 0; i < nerr; i++) {
		char key[48];
		struct td *e = td_add_row(d, "errors");
		td_set(e, "field", errs[i].field);
		td_set(e, "msg", errs[i].msg);
		snprintf(key, sizeof(key), "err_%s", errs[i].field);
		td_set(d, key, errs[i].msg);
		/* a message inside the fold must not stay hidden */
		if (!is_essential(errs[i].field))
			td_set_bool(d, "adv_open", 1);
	}
	wb_init(&out, SECTION_MAX);
	if (view_render("run_form", d, &out) < 0)
		wb_reset(&out);
	td_free(d);
	html = wb_take(&out, NULL);
	wb_free(&out);
	return html ? html : xstrdup("");
}

/* The report of the newest ready dataset (for default sizes), or NULL. */
static char *
newest_report(struct req *r, long long *id)
{
	sqlite3_stmt *st =
	    db_stmt(r->w->db, DB_RUN_DATASETS_READY, "i", r->project.id);
	char *rep = NULL;

	*id = 0;
	if (db_step(r->w->db, st) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		rep = xstrdup(db_col_text(st, 2));
	}
	db_done(r->w->db, st);
	return rep;
}

static void
new_page(struct req *r, int status, const struct runform *rf,
         const struct form *raw, const struct runform_err *errs, size_t nerr,
         long long chosen)
{
	struct td *d = td_new();
	char *html = form_html(r, rf, raw, errs, nerr, chosen);

	td_set_int(d, "pid", r->project.id);
	td_set(d, "project", r->project.name);
	td_set_html_UNESCAPED(d, "form", html);
	if (nerr)
		td_set_count(d, "nerr_text", (long long)nerr, "problem",
		             "problems");
	view_page(r, status, "run_new", "New run", d);
	td_free(d);
	free(html);
}

void
page_run_new(struct req *r)
{
	struct runform rf;
	long long id;
	char *rep = newest_report(r, &id);

	runform_defaults(&rf, rep);
	free(rep);
	new_page(r, 200, &rf, NULL, NULL, 0, id);
}

/* Refuses datasets that are not ready; NULL when fine (*report set). */
static const char *
dataset_refusal(struct req *r, long long did, char **report, char *buf,
                size_t len)
{
	sqlite3_stmt *st =
	    db_stmt(r->w->db, DB_RUN_DATASET_GET, "ii", did, r->project.id);
	const char *msg = NULL;

	*report = NULL;
	if (db_step(r->w->db, st) != SQLITE_ROW) {
		msg = "Choose one of this project's datasets.";
	} else if (!strcmp(db_col_text(st, 1), "unusable")) {
		snprintf(buf, len,
		         "The dataset %s cannot be used for "
		         "training: %s",
		         db_col_text(st, 3),
		         *db_col_text(st, 4) ? db_col_text(st, 4)
		                             : "its inspection failed.");
		msg = buf;
	} else if (strcmp(db_col_text(st, 1), "ready") != 0) {
		snprintf(buf, len,
		         "The dataset %s is still being inspected; "
		         "start a run when its health report is ready.",
		         db_col_text(st, 3));
		msg = buf;
	} else {
		*report = xstrdup(db_col_text(st, 2));
	}
	db_done(r->w->db, st);
	return msg;
}

/* Checks one combination's form into rf; the number of messages. */
static size_t
check_one(struct req *r, const struct form *f, struct runform *rf,
          struct runform_err *errs)
{
	const char *ds = form_get(f, "dataset_id");
	long long did = ds ? atoll(ds) : 0;
	char *report = NULL, why[150];
	const char *refusal = NULL;
	size_t nerr;

	if (did > 0)
		refusal = dataset_refusal(r, did, &report, why, sizeof(why));
	runform_defaults(rf, report);
	free(report);
	struct runform want = *rf;
	nerr = runform_parse(f, rf, errs, RUNFORM_ERRS_MAX);
	recipe_note_changes(rf, &want);
	if (refusal && nerr < RUNFORM_ERRS_MAX) {
		errs[nerr].field = "dataset_id";
		snprintf(errs[nerr].msg, sizeof(errs[nerr].msg), "%s", refusal);
		nerr++;
	}
	return nerr;
}

static long long
insert_run(struct req *r, const struct runform *rf, long long sweep_id)
{
	char *params = runform_to_json(rf);
	int64_t id = db_insert(r->w->db, DB_RUN_INSERT, "iitd", r->project.id,
	                       rf->dataset_id, params, util_wall());

	free(params);
	if (id > 0 && sweep_id > 0 &&
	    db_exec(r->w->db, DB_RUN_SET_SWEEP, "ii", sweep_id,
	            (long long)id) != DB_OK)
		id = -1;
	if (id > 0)
		ty_log("run %lld created in project %lld", (long long)id,
		       r->project.id);
	return id;
}

/*
 * One run, or a sweep: a form with lists (sweep.h) makes one run per
 * combination, all checked before any is created, all created in one
 * transaction. Returns the (first) run id, 0 with errs, -1 on a database
 * failure; *sweep_id (may be NULL) is the sweep's id or 0.
 */
long long
page_runs_start(struct req *r, const struct form *f, struct runform *rf,
                struct runform_err *errs, size_t *nerr, long long *sweep_id)
{
	struct form *combos = xcalloc(SWEEP_MAX, sizeof(*combos));
	char spec[512], err[160], label[200];
	size_t k = sweep_expand(f, combos, SWEEP_MAX, spec, sizeof(spec), err,
	                        sizeof(err));
	long long id = 0, first = 0, sid = 0;

	if (sweep_id)
		*sweep_id = 0;
	*nerr = 0;
	if (k == 0) {
		runform_defaults(rf, NULL);
		errs[0].field = "sweep";
		snprintf(errs[0].msg, sizeof(errs[0].msg), "%s", err);
		*nerr = 1;
		goto out;
	}
	for (size_t c = 0; c < k && !*nerr; c++) {
		*nerr = check_one(r, &combos[c], rf, errs);
		if (*nerr && k > 1) {
			/* say which combination, on the first message */
			sweep_label(f, &combos[c], label, sizeof(label));
			char m[sizeof(errs[0].msg) + sizeof(label) + 32];
			snprintf(m, sizeof(m), "%s (in the sweep's run %s)",
			         errs[0].msg, label);
			memcpy(errs[0].msg, m, sizeof(errs[0].msg) - 1);
			errs[0].msg[sizeof(errs[0].msg) - 1] = '\0';
		}
	}
	if (*nerr)
		goto out;
	if (k == 1) {
		first = insert_run(r, rf, 0);
		id = first < 0 ? -1 : first;
		goto out;
	}
	if (db_tx_begin(r->w->db) != DB_OK) {
		id = -1;
		goto out;
	}
	sid = db_insert(r->w->db, DB_SWEEP_INSERT, "itd", r->project.id, spec,
	                util_wall());
	for (size_t c = 0; c < k && sid > 0; c++) {
		size_t n = check_one(r, &combos[c], rf, errs);
		long long one = n ? -1 : insert_run(r, rf, sid);
		if (one < 0)
			sid = -1;
		else if (!first)
			first = one;
	}
	if (db_tx_end(r->w->db, sid > 0) != DB_OK || sid <= 0) {
		id = -1;
		goto out;
	}
	ty_log("sweep %lld: %zu runs in project %lld (%s)", sid, k,
	       r->project.id, spec);
	if (sweep_id)
		*sweep_id = sid;
	id = first;
out:
	for (size_t c = 0; c < SWEEP_MAX; c++)
		form_free(&combos[c]);
	free(combos);
	if (id > 0)
		pipeline_kick();
	return id;
}

void
page_run_create(struct req *r)
{
	struct runform rf;
	struct runform_err errs[RUNFORM_ERRS_MAX];
	const char *ds = form_get(&r->form, "dataset_id");
	size_t nerr;
	char loc[96];
	long long sid;
	long long id = page_runs_start(r, &r->form, &rf, errs, &nerr, &sid);

	if (id == 0) {
		new_page(r, 400, &rf, &r->form, errs, nerr, ds ? atoll(ds) : 0);
		return;
	}
	if (id < 0) {
		web_error(r, 500, "The run could not be created; try again.");
		return;
	}
	if (sid > 0)
		snprintf(loc, sizeof(loc), "/projects/%lld/sweeps/%lld",
		         r->project.id, sid);
	else
		snprintf(loc, sizeof(loc), "/projects/%lld/runs/%lld",
		         r->project.id, id);
	web_redirect(r, loc);
}

/* ---- the project page's section ---- */

struct listed {
	struct runrow row;
	double best_acc, best_loss, secs;
	int epochs;
};

enum sort_key { SORT_NEWEST, SORT_ACC, SORT_LOSS, SORT_TIME, SORT__MAX };
static const char *const sort_names[SORT__MAX] = {"newest", "acc", "loss",
                                                  "time"};

static int
cmp_newest(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;
	return x->row.id < y->row.id ? 1 : x->row.id > y->row.id ? -1 : 0;
}

static int
cmp_acc(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;
	if (x->best_acc != y->best_acc)
		return x->best_acc < y->best_acc ? 1 : -1;
	return cmp_newest(a, b);
}

/* Lower loss first; runs without one last. */
static int
cmp_loss(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;
	double lx = x->best_loss < 0 ? 1e300 : x->best_loss;
	double ly = y->best_loss < 0 ? 1e300 : y->best_loss;
	if (lx != ly)
		return lx > ly ? 1 : -1;
	return cmp_newest(a, b);
}

static int
cmp_time(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;
	double tx = x->secs < 0 ? 1e300 : x->secs;
	double ty = y->secs < 0 ? 1e300 : y->secs;
	if (tx != ty)
		return tx > ty ? 1 : -1;
	return cmp_newest(a, b);
}

static int (*const sorters[SORT__MAX])(const void *, const void *) = {
    cmp_newest, cmp_acc, cmp_loss, cmp_time};

/* The run ids ticked for comparison (?compare=1&compare=4). */
static size_t
compare_ids(struct req *r, long long *ids, size_t max)
{
	const char *q = r->ri->query_string;
	struct form f;
	size_t n = 0;

	memset(&f, 0, sizeof(f));
	if (!q || form_parse(&f, q, strlen(q)) != FORM_OK) {
		form_free(&f);
		return 0;
	}
	for (size_t i = 0; i < f.n && n < max; i++)
		if (!strcmp(f.f[i].name, "compare") && atoll(f.f[i].value) > 0)
			ids[n++] = atoll(f.f[i].value);
	form_free(&f);
	return n;
}

static int
is_in(const long long *v, size_t n, long long x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

/* A finished run is judged by its model (the train result), not by its
 * best epoch: without early stopping the model is the last epoch's. A
 * finished run without a model (cancelled, failed) has no figures, so it
 * never ranks above one that has; a running one shows its best so far. */
static void
final_metrics(const struct runrow *w, double *acc, double *loss)
{
	double a, l;
	int e;

	if (runrow_kept(w, &a, &l, &e) == 0)
		*acc = a, *loss = l;
	else if (!runrow_active(w))
		*acc = -1, *loss = -1;
}

static void
runs_td(struct req *r, struct td *d)
{
	struct db *db = r->w->db;
	struct listed *v = NULL;
	size_t n = 0, cap = 0, ncmp;
	long long cmp[COMPARE_MAX], best_id = 0;
	double best = -1;
	enum sort_key sort = SORT_NEWEST;
	const char *names[COMPARE_MAX], *eps[COMPARE_MAX];
	char q[16], label[COMPARE_MAX][64];
	long long cids[COMPARE_MAX];
	size_t nc = 0;
	sqlite3_stmt *st;

	if (web_query(r, "sort", q, sizeof(q)) == 0)
		for (int i = 0; i < SORT__MAX; i++)
			if (!strcmp(q, sort_names[i]))
				sort = (enum sort_key)i;
	ncmp = compare_ids(r, cmp, COMPARE_MAX);
	st = db_stmt(db, DB_RUN_LIST, "i", r->project.id);
	while (db_step(db, st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		runrow_read(st, &v[n].row);
		n++;
	}
	db_done(db, st);
	for (size_t i = 0; i < n; i++) {
		struct runrow *w = &v[i].row;
		double end = w->finished_at > 0 ? w->finished_at : util_wall();
		runrow_best(w, &v[i].best_acc, &v[i].best_loss, &v[i].epochs);
		final_metrics(w, &v[i].best_acc, &v[i].best_loss);
		v[i].secs = w->started_at > 0 ? end - w->started_at : -1;
		if (!strcmp(w->status, "succeeded") && v[i].best_acc > best)
			best = v[i].best_acc, best_id = w->id;
	}
	if (n > 1) /* v is NULL when there are no runs */
		qsort(v, n, sizeof(*v), sorters[sort]);
	td_set(d, "sort", sort_names[sort]);
	for (size_t i = 0; i < n; i++) {
		struct runrow *w = &v[i].row;
		struct td *row = td_add_row(d, "runs");
		struct runform rf;
		char buf[64];
		td_set_int(row, "rid", w->id);
		td_set_int(row, "rnum", w->number);
		td_set(row, "run_name", w->name);
		td_set(row, "status", w->status);
		td_setf(row, "percent", "%.0f", 100 * w->progress);
		td_set_bool(row, "active", runrow_active(w));
		if (runform_from_json(w->params_json, &rf) == 0) {
			td_set(row, "arch", params_archs[rf.arch].name);
			runform_widths(rf.arch == ARCH_CNN ? rf.conv
			                                   : rf.hidden,
			               rf.arch == ARCH_CNN   ? rf.nconv
			               : rf.arch == ARCH_MLP ? rf.nhidden
			                                     : 0,
			               buf, sizeof(buf));
			td_set(row, "size", buf);
			td_setf(row, "key",
			        "%d ep · batch %d · %s lr %g · %dx%dx%d",
			        rf.epochs, rf.batch_size,
			        params_opts[rf.optimizer], rf.lr, rf.width,
			        rf.height, rf.channels);
		}
		if (v[i].best_acc >= 0)
			td_setf(row, "acc", "%.4f", v[i].best_acc);
		if (v[i].best_loss >= 0)
			td_setf(row, "loss", "%.4f", v[i].best_loss);
		if (v[i].secs >= 0)
			td_setf(row, "time", "%.1f s", v[i].secs);
		td_set_bool(row, "best", w->id == best_id);
		td_set_bool(row, "checked", is_in(cmp, ncmp, w->id));
		if (is_in(cmp, ncmp, w->id) && nc < COMPARE_MAX) {
			snprintf(label[nc], sizeof(label[nc]),
			         "run #%lld%s%.30s", w->number,
			         *w->name ? " · " : "", w->name);
			names[nc] = label[nc];
			cids[nc] = w->id;
			eps[nc] = w->epochs_json;
			nc++;
		}
	}
	if (nc >= 2) {
		struct wbuf out;
		wb_init(&out, SECTION_MAX);
		char cq[COMPARE_MAX * 32];
		size_t off = 0;
		if (runcharts_compare(&out, names, eps, nc) == 0)
			td_set_html_UNESCAPED(d, "compare_chart", out.data);
		for (size_t k = 0; k < nc; k++)
			off += (size_t)snprintf(cq + off, sizeof(cq) - off,
			                        "%scompare=%lld", k ? "&" : "",
			                        cids[k]);
		td_set(d, "compare_q", cq);
		wb_free(&out);
	} else if (ncmp) {
		td_set(d, "compare_hint",
		       "Tick two or more runs to compare "
		       "their validation curves.");
	}
	for (size_t i = 0; i < n; i++)
		runrow_free(&v[i].row);
	free(v);
}

static void
models_td(struct req *r, struct td *d)
{
	struct db *db = r->w->db;
	sqlite3_stmt *st = db_stmt(db, DB_RUN_MODEL_LIST, "i", r->project.id);
	char buf[40];

	while (db_step(db, st) == SQLITE_ROW) {
		struct td *row = td_add_row(d, "models");
		struct modelrow m;
		modelrow_read(st, &m);
		td_set_int(row, "mid", m.id);
		td_set_int(row, "rid", m.run_id);
		td_set_int(row, "rnum", m.run_number);
		td_set(row, "arch", m.arch);
		if (m.has_acc && m.val_acc >= 0)
			td_setf(row, "acc", "%.4f", m.val_acc);
		web_fmt_bytes(buf, sizeof(buf), m.bytes);
		td_set(row, "size", buf);
		web_fmt_time(buf, sizeof(buf), m.created_at);
		td_set(row, "created", buf);
		modelrow_free(&m);
	}
	db_done(db, st);
}

static char *
render(const char *view, struct td *d)
{
	struct wbuf out;
	char *html;

	wb_init(&out, SECTION_MAX);
	if (view_render(view, d, &out) < 0)
		wb_reset(&out);
	html = wb_take(&out, NULL);
	wb_free(&out);
	return html ? html : xstrdup("");
}

void
page_runs_project_td(struct req *r, struct td *d)
{
	struct td *s = td_new();
	struct runform rf;
	long long id;
	char *rep = newest_report(r, &id), *html;

	runform_defaults(&rf, rep);
	free(rep);
	html = form_html(r, &rf, NULL, NULL, 0, id);
	td_set_int(s, "pid", r->project.id);
	td_set_html_UNESCAPED(s, "form", html);
	free(html);
	runs_td(r, s);
	models_td(r, s);
	html = render("run_list", s);
	td_set_html_UNESCAPED(d, "runs_section", html);
	free(html);
	html = render("run_models", s);
	td_set_html_UNESCAPED(d, "models_section", html);
	free(html);
	td_free(s);
}
