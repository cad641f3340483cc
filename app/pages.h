/*
 * pages.h — the handlers named in routes.h. Each sees a request that
 * already passed its route's checks (see route.h) and must answer it with
 * one of the web_* or view_page functions.
 */
#ifndef TY_PAGES_H
#define TY_PAGES_H

#include <stddef.h>

#include "util.h"
#include "web.h"

/* page_ops.c */
void page_root(struct req *r);
void page_healthz(struct req *r);
/* 200 when the database answers and the data volume is writable */
void page_readyz(struct req *r);
void page_metrics(struct req *r);
void page_static(struct req *r);
/* Reads the files of static/ into memory (at start); 0 or -1. */
int page_static_load(const char *dir, char *err, size_t errlen) TY_WUR;
void page_static_free(void);
/* page_auth.c */
void page_signup_form(struct req *r);
void page_signup(struct req *r);
void page_login_form(struct req *r);
void page_login(struct req *r);
void page_logout(struct req *r);
/* page_project.c */
void page_projects(struct req *r);
void page_project_create(struct req *r);
void page_project(struct req *r);
void page_project_delete(struct req *r);
/* Checks f (name, description) and adds the project: its id; 0 with the
 * person's mistake in *msg, -1 with the server's. */
long long page_project_add(struct req *r, const struct form *f,
                           const char **msg);
/* page_dataset.c */
void page_dataset_upload(struct req *r);

/* page_dataset_health.c */
void page_dataset_health(struct req *r);
/* Fills d from an inspection report; its shape is checked, not trusted. */
void page_dataset_health_report(struct td *d, const char *json);
void page_dataset_reinspect(struct req *r);
/* every sample thumbnail of one class (?class=i) of the report */
void page_dataset_samples(struct req *r);
/* page_dataset_manage.c: delete (refused while runs use it), rename */
void page_dataset_delete(struct req *r);
void page_dataset_rename(struct req *r);
/* {"status", "error"}: what the project page polls while inspecting */
void page_dataset_status(struct req *r);
/* page_confirm.c: the question before every destructive POST */
void page_confirm(struct req *r);
/* page_predict.c (multipart: checks its csrf field itself) */
void page_predict_form(struct req *r);
void page_predict(struct req *r);
/* page_account.c */
void page_account(struct req *r);
void page_token_create(struct req *r);
void page_token_revoke(struct req *r);
/* the JSON API (R_TOKEN; api.h): api.c, api_projects.c, api_runs.c,
 * page_dataset.c (the upload), api_openapi.c */
void page_api_predict(struct req *r);
void api_projects(struct req *r);
void api_project_create(struct req *r);
void api_project(struct req *r);
void api_dataset_upload(struct req *r);
void api_datasets(struct req *r);
void api_dataset(struct req *r);
/* {"dataset": ...} of dataset did of r->project with status (201/200) */
void api_dataset_reply(struct req *r, int status, long long did);
void api_run_create(struct req *r);
/* api_runs.c: sweeps (sweep.h) */
void api_sweep_create(struct req *r);
void api_sweep(struct req *r);
void api_runs(struct req *r);
void api_run(struct req *r);
void api_run_cancel(struct req *r);
void api_models(struct req *r);
void api_model_download(struct req *r);
void api_openapi(struct req *r);

/* page_runs.c, page_run.c, page_run_events.c (the pipeline) */
void page_run_new(struct req *r);
void page_run_create(struct req *r);
void page_run(struct req *r);
void page_run_charts(struct req *r);
void page_run_events(struct req *r);
void page_run_cancel(struct req *r);
void page_run_delete(struct req *r);
/* page_compare.c: runs side by side; a run's name and note */
void page_compare(struct req *r);
/* the same view of a sweep's runs, the best marked (sweep.h) */
void page_sweep(struct req *r);
void page_run_describe(struct req *r);
/* page_mistakes.c: the gallery, one image, one image's pixels */
void page_run_mistakes(struct req *r);
void page_run_mistake(struct req *r);
void page_run_image(struct req *r);
void page_run_original(struct req *r);
void page_run_model(struct req *r);
/* page_export.c: the run's model exported (lib/export/export.h) */
void page_run_model_onnx(struct req *r);
void page_run_model_c(struct req *r);
/*
 * Sends the model file relpath (on the models volume) exported as format
 * ("onnx", "c") as an attachment named base + the format's suffix; the
 * route has already checked that the model is this user's. 404 for an
 * unknown format, 410 for a missing file, 422 when it cannot be exported.
 */
void page_export_send(struct req *r, const char *relpath, const char *format,
                      const char *arch, double val_acc, const char *base);
/* The project page's runs and models sections (runs_section,
 * models_section: rendered HTML) into d. */
void page_runs_project_td(struct req *r, struct td *d);

#endif
