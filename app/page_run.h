/*
 * page_run.h — what page_run.c shares with the events stream: the run's
 * live status as one JSON object (the same words the page shows).
 */
#ifndef TY_PAGE_RUN_H
#define TY_PAGE_RUN_H

#include "runform.h"
#include "runrow.h"
#include "wb.h"
#include "web.h"

void page_run_status_json(struct req *r, const struct runrow *run,
                          struct wbuf *out);

/* Adds row "results" to d: the model's figures, the confusion matrix
 * (cm_head, cm_rows with linked cells) and per_class; nothing when the
 * run has no metrics. */
void page_run_results_td(struct td *d, const struct runrow *run);
/* Removes data/prepared/<id> and models/runs/<id> (the row is gone). */
void page_run_remove_files(struct web *w, long long id);
/* The ids of a project's runs (the caller frees), *n of them. */
long long *page_run_ids_of_project(struct db *db, long long project_id,
                                   size_t *n);

/*
 * Checks the run form f (page_runs.c; the API sends the same fields) and
 * queues the run: its id; 0 with *nerr messages in errs (at most
 * RUNFORM_ERRS_MAX) and rf as parsed; -1 when the database failed. A
 * form with lists (sweep.h) queues one run per combination: the first
 * one's id, and the sweep's in *sweep_id (may be NULL; 0 for one run).
 */
long long page_runs_start(struct req *r, const struct form *f,
                          struct runform *rf, struct runform_err *errs,
                          size_t *nerr, long long *sweep_id) TY_WUR;
/* Asks to cancel run rid of r->project: 1 asked, 0 it has finished
 * already (or is not there), -1 the database failed. */
int page_run_cancel_req(struct req *r, long long rid) TY_WUR;
/* Whether run r->ids[1] is in project r->project; when not, it has
 * answered 404 (every caller's answer), and the caller just returns. */
int page_run_in_project(struct req *r);
/* Streams a model file of the models volume (path relative to it) as an
 * attachment named filename; 404/410 JSON or page when it is missing. */
void page_run_send_model(struct req *r, const char *rel, const char *filename);

#endif
