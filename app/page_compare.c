/*
 * page_compare.c — runs side by side, and a run's name and note.
 *
 *   GET  /projects/{id}/compare?compare=a&compare=b…  (2 to 8 runs of the
 *        project): validation loss and accuracy of each on one chart
 *        each, the parameters that differ (only those), and the first two
 *        runs' confusion matrices next to each other
 *   GET  /projects/{id}/sweeps/{sid}: the same view of a sweep's runs
 *        (sweep.h), with each run's progress and the best one marked
 *   POST /projects/{id}/runs/{rid}/describe  name, note
 */
#include <civetweb.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page_run.h"
#include "pages.h"
#include "params.h"
#include "runcharts.h"
#include "sweep.h"
#include "view.h"

#define COMPARE_MAX 8
#define RUN_NAME_MAX 100
#define RUN_NOTE_MAX 2000
#define CHART_MAX (512 * 1024)

static const char *
valid_name(const char *v)
{
	return strlen(v) > RUN_NAME_MAX
	           ? "A run name must be at most 100 characters."
	           : form_valid_utf8_line(v);
}

static const char *
valid_note(const char *v)
{
	return strlen(v) > RUN_NOTE_MAX
	           ? "A note must be at most 2000 characters."
	           : form_valid_utf8_text(v);
}

static const struct form_rule describe_rules[] = {
    {"name", valid_name, 1},
    {"note", valid_note, 1},
};

void
page_run_describe(struct req *r)
{
	const char *msg = form_check(&r->form, describe_rules,
	                             TY_ARRAY_LEN(describe_rules), NULL);
	const char *name = form_get(&r->form, "name");
	const char *note = form_get(&r->form, "note");
	char back[96];

	snprintf(back, sizeof(back), "/projects/%lld/runs/%lld", r->project.id,
	         r->ids[1]);
	if (msg) {
		view_error_page(r, 400, msg, back, "Back to the run");
		return;
	}
	if (db_exec(r->w->db, DB_RUN_DESCRIBE, "ttii", name ? name : "",
	            note ? note : "", r->ids[1], r->project.id) != DB_OK) {
		view_error_page(r, 500,
		                "The name could not be saved; try again.", back,
		                "Back to the run");
		return;
	}
	if (db_changes(r->w->db) != 1) {
		web_error(r, 404, "There is no such run in this project.");
		return;
	}
	web_redirect(r, back);
}

/* The runs named by ?compare= that are in this project, in that order. */
static size_t
load_runs(struct req *r, struct runrow *v)
{
	const char *q = r->ri->query_string;
	struct form f;
	size_t n = 0;

	memset(&f, 0, sizeof(f));
	if (q && form_parse(&f, q, strlen(q)) == FORM_OK)
		for (size_t i = 0; i < f.n && n < COMPARE_MAX; i++) {
			long long id = atoll(f.f[i].value);
			int dup = 0;
			if (strcmp(f.f[i].name, "compare") || id <= 0)
				continue;
			for (size_t k = 0; k < n; k++)
				dup |= v[k].id == id;
			if (!dup && runrow_load(r->w->db, id, r->project.id,
			                        &v[n]) == 0)
				n++;
		}
	form_free(&f);
	return n;
}

/* params_json's value of table row p as text ("" when absent). */
static char *
param_text(const cJSON *params, const struct param *p)
{
	const char *g = params_group_name(p->group);
	const cJSON *o =
	    g ? cJSON_GetObjectItemCaseSensitive(params, g) : params;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, p->name);

	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	return v ? cJSON_PrintUnformatted(v) : xstrdup("");
}

/* Rows "diff" of d: the parameters whose values are not all the same. */
static void
diff_td(struct td *d, const struct runrow *v, size_t n)
{
	cJSON *params[COMPARE_MAX];
	int ndiff = 0;

	for (size_t k = 0; k < n; k++)
		params[k] = cJSON_Parse(v[k].params_json);
	for (size_t i = 0; i < PARAM__MAX; i++) {
		char *val[COMPARE_MAX];
		int differ = 0;
		for (size_t k = 0; k < n; k++) {
			val[k] = param_text(params[k], &params_table[i]);
			differ |= k && strcmp(val[k], val[0]) != 0;
		}
		if (differ) {
			struct td *row = td_add_row(d, "diff");
			td_set(row, "label", params_table[i].label);
			td_set(row, "help", params_table[i].help);
			for (size_t k = 0; k < n; k++)
				td_set(td_add_row(row, "values"), "value",
				       *val[k] ? val[k] : "–");
			ndiff++;
		}
		for (size_t k = 0; k < n; k++)
			free(val[k]);
	}
	for (size_t k = 0; k < n; k++)
		cJSON_Delete(params[k]);
	td_set_bool(d, "has_diff", ndiff > 0);
}

static void
charts_td(struct td *d, const struct runrow *v, size_t n,
          const char *const *names)
{
	static const struct {
		const char *field, *title, *ylabel, *id;
		int unit;
	} charts[] = {
	    {"val_loss", "Validation loss by run", "validation loss",
	     "chart-compare-loss", 0},
	    {"val_acc", "Validation accuracy by run", "validation accuracy",
	     "chart-compare", 1},
	};
	const char *eps[COMPARE_MAX];
	struct wbuf out;

	for (size_t k = 0; k < n; k++)
		eps[k] = v[k].epochs_json;
	wb_init(&out, CHART_MAX);
	for (size_t i = 0; i < TY_ARRAY_LEN(charts); i++)
		if (runcharts_compare_field(
		        &out, names, eps, n, charts[i].field, charts[i].title,
		        charts[i].ylabel, charts[i].id, charts[i].unit) < 0)
			wb_reset(&out);
	if (out.data)
		td_set_html_UNESCAPED(d, "charts", out.data);
	wb_free(&out);
}

/* The page of runs v (n of them); sweep_spec NULL: a comparison. */
static void
render(struct req *r, struct runrow *v, size_t n, long long sid,
       const char *sweep_spec)
{
	char label[COMPARE_MAX][RUN_NAME_MAX + 32], title[64];
	const char *names[COMPARE_MAX];
	int best = sweep_spec ? sweep_best(v, n) : -1;
	size_t done = 0;
	struct td *d;

	d = td_new();
	td_set_int(d, "pid", r->project.id);
	td_set(d, "project", r->project.name);
	if (sweep_spec) {
		struct td *sw = td_add_row(d, "sweep");
		td_set_int(sw, "sid", sid);
		td_set(sw, "spec", sweep_spec);
		td_set_int(sw, "n", (long long)n);
		for (size_t k = 0; k < n; k++)
			done += !runrow_active(&v[k]);
		td_set_int(sw, "done", (long long)done);
		td_set_bool(sw, "has_best", best >= 0);
	}
	for (size_t k = 0; k < n; k++) {
		struct td *row = td_add_row(d, "runs");
		snprintf(label[k], sizeof(label[k]), "run #%lld%s%s",
		         v[k].number, *v[k].name ? " · " : "", v[k].name);
		names[k] = label[k];
		td_set(row, "label", label[k]);
		td_set_int(row, "rid", v[k].id);
		td_set(row, "note", v[k].note);
		td_set(row, "status", v[k].status);
		if (sweep_spec) {
			td_setf(row, "percent", "%.0f", 100 * v[k].progress);
			td_set_bool(row, "best", (int)k == best);
		}
		if (k < 2) { /* two matrices fit side by side */
			struct td *m = td_add_row(d, "matrices");
			td_set(m, "label", label[k]);
			page_run_results_td(m, &v[k]);
		}
	}
	charts_td(d, v, n, names);
	diff_td(d, v, n);
	if (sweep_spec)
		snprintf(title, sizeof(title), "Sweep %lld", sid);
	else
		snprintf(title, sizeof(title), "Compare runs");
	td_set(d, "title", title);
	view_page(r, 200, "compare", title, d);
	td_free(d);
}

void
page_sweep(struct req *r)
{
	struct runrow v[COMPARE_MAX];
	char spec[512];
	int n = sweep_runs(r->w->db, r->ids[1], r->project.id, v, COMPARE_MAX,
	                   spec, sizeof(spec));
	size_t m = n > 0 ? (size_t)n : 0;

	if (n < 0) {
		web_error(r, 404, "No such sweep in this project.");
		return;
	}
	render(r, v, m, r->ids[1], spec);
	for (size_t k = 0; k < m; k++)
		runrow_free(&v[k]);
}

void
page_compare(struct req *r)
{
	struct runrow v[COMPARE_MAX];
	size_t n = load_runs(r, v);

	if (n < 2) {
		char back[64];
		for (size_t k = 0; k < n; k++)
			runrow_free(&v[k]);
		snprintf(back, sizeof(back), "/projects/%lld#runs",
		         r->project.id);
		view_error_page(r, 400,
		                "Tick two or more of this project's runs to "
		                "compare them.",
		                back, "Back to the runs");
		return;
	}
	render(r, v, n, 0, NULL);
	for (size_t k = 0; k < n; k++)
		runrow_free(&v[k]);
}
