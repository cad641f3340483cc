/*
 * main.c — trainyard-train: the job API with one kind, "train".
 *
 *	trainyard-train                      the service (port 8082)
 *	trainyard-train --run params.json    one job in the foreground, no
 *	                                     HTTP: epochs as JSON lines on
 *	                                     stderr, the result on stdout
 *	                                     (bench and tests use it)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "auth.h"
#include "confine.h"
#include "svc.h"
#include "job.h"
#include "train.h"
#include "fed.h"

/* The only paths a train job reads and writes (confine.h). */
static const struct confine_field paths[] = {
    {"data", CONFINE_PREPARED_IN},
    {"output", CONFINE_RUNS_OUT},
};

static const char *
id_of(const cJSON *params)
{
	return cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(params, "job_id"));
}

static int
validate(const cJSON *params, char *err, size_t errlen)
{
	struct train_params p;
	return train_params_parse(params, &p, err, errlen) ||
	       confine_params(params, paths, TY_ARRAY_LEN(paths), err,
	                      errlen) ||
	       confine_owner_ok(svc_models_dir(), p.output, id_of(params), err,
	                        errlen);
}

static void
on_progress(void *arg, double frac, int epoch, int epochs, int batch,
            int batches, double ips, double eta)
{
	struct job *j = arg;
	cJSON *r = job_result_lock(j);
	cJSON *live = cJSON_GetObjectItemCaseSensitive(r, "live");
	if (!live)
		live = cJSON_AddObjectToObject(r, "live");
	/* replace in place: GET readers see whole values */
	static const char *const keys[] = {
	    "epoch",      "epochs", "batch", "batches", "images_per_second",
	    "eta_seconds"};
	double vals[] = {epoch, epochs, batch, batches, ips, eta};
	for (size_t i = 0; i < TY_ARRAY_LEN(keys); i++) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(live, keys[i]);
		if (v)
			cJSON_SetNumberValue(v, vals[i]);
		else
			cJSON_AddNumberToObject(live, keys[i], vals[i]);
	}
	job_result_unlock(j, 0);
	job_progress(j, frac > 1 ? 1 : frac,
	             "epoch %d/%d, batch %d/%d, %.0f images/s, ETA %.0f s",
	             epoch, epochs, batch, batches, ips, eta);
}

static void
on_epoch(void *arg, const cJSON *e, int resumed)
{
	struct job *j = arg;
	cJSON *r = job_result_lock(j);
	cJSON *eps = cJSON_GetObjectItemCaseSensitive(r, "epochs");
	if (!eps)
		eps = cJSON_AddArrayToObject(r, "epochs");
	cJSON_AddItemToArray(eps, cJSON_Duplicate(e, 1));
	job_result_unlock(j, !resumed);
}

static int
is_cancelled(void *arg)
{
	return job_cancelled(arg);
}

static void
run(struct job *j, const cJSON *params, void *arg)
{
	struct train_params p;
	char err[512];
	/* Checked again at run time: a record may predate the rules. */
	if (train_params_parse(params, &p, err, sizeof(err)) ||
	    confine_params(params, paths, TY_ARRAY_LEN(paths), err,
	                   sizeof(err)) ||
	    confine_claim(svc_models_dir(), p.output, id_of(params), err,
	                  sizeof(err))) {
		job_fail(j, "%s", err);
		return;
	}
	/* epochs are re-reported from the checkpoint on a resume */
	cJSON *r = job_result_lock(j);
	cJSON_DeleteItemFromObjectCaseSensitive(r, "epochs");
	cJSON_AddArrayToObject(r, "epochs");
	job_result_unlock(j, 0);
	job_progress(j, 0, "loading data");
	struct train_hooks h = {j, on_progress, on_epoch, is_cancelled};
	cJSON *res;
	enum train_status st =
	    p.workers > 1
	        ? fed_run(&p, svc_data_dir(), svc_models_dir(), svc_threads(),
	                  &h, fed_job_note, &res, err, sizeof(err))
	        : train_run(&p, svc_data_dir(), svc_models_dir(), svc_threads(),
	                    &h, &res, err, sizeof(err));
	if (st == TRAIN_FAILED) {
		job_fail(j, "%s", err);
		return;
	}
	if (st == TRAIN_CANCELLED)
		return;
	r = job_result_lock(j);
	cJSON_DeleteItemFromObjectCaseSensitive(r, "live");
	for (cJSON *e = res->child; e; e = e->next)
		if (e->string)
			cJSON_DeleteItemFromObjectCaseSensitive(r, e->string);
	while (res->child) {
		cJSON *e = cJSON_DetachItemViaPointer(res, res->child);
		cJSON_AddItemToObject(r, e->string, e);
	}
	job_result_unlock(j, 1);
	cJSON_Delete(res);
	job_progress(j, 1, "done");
}

static const struct job_kind kinds[] = {
    {"train", validate, run, NULL},
};

/* parallel runs: the replica side (fed_http.c) */
static const struct svc_route routes[] = {
    {"GET", "/fed/hello", fed_http_hello, NULL, SVC_TOKEN},
    {"POST", "/fed/round", fed_http_round, NULL, SVC_TOKEN},
};

static const struct svc_mount jobs = JOB_MOUNT(kinds);

static const struct svc_def def = {
    .name = "train",
    .default_port = 8082,
    .mount = &jobs,
    .routes = routes,
    .nroutes = TY_ARRAY_LEN(routes),
};

/* ---- --run: one job in the foreground ---- */

static void
cli_epoch(void *arg, const cJSON *e, int resumed)
{
	char *s = cJSON_PrintUnformatted(e);
	fprintf(stderr, "%s%s\n", resumed ? "resumed " : "", s);
	free(s);
}

static long
peak_rss_kb(void)
{
	size_t len;
	char *s = util_read_file("/proc/self/status", 1 << 16, &len);
	long kb = -1;
	char *p = s ? strstr(s, "VmHWM:") : NULL;
	if (p)
		kb = strtol(p + 6, NULL, 10);
	free(s);
	return kb;
}

static int
run_once(int argc, char **argv, const char *file)
{
	size_t len;
	char err[512];
	char *s = util_read_file(file, 1 << 20, &len);
	if (!s) {
		fprintf(stderr, "trainyard-train: cannot read %s\n", file);
		return 2;
	}
	cJSON *j = cJSON_Parse(s);
	free(s);
	struct train_params p;
	if (train_params_parse(j, &p, err, sizeof(err))) {
		fprintf(stderr, "trainyard-train: %s\n", err);
		cJSON_Delete(j);
		return 2;
	}
	cJSON_Delete(j);
	const char *data =
	    cfg_str(argc, argv, "TRAINYARD_DATA_DIR", "./var/data");
	const char *models =
	    cfg_str(argc, argv, "TRAINYARD_MODELS_DIR", "./var/models");
	int threads =
	    (int)cfg_long(argc, argv, "TRAINYARD_THREADS", util_ncpu());
	/* a parallel run calls its peers, which require the token */
	auth_set_service_token(
	    cfg_str(argc, argv, "TRAINYARD_SERVICE_TOKEN", NULL));
	struct train_hooks h = {NULL, NULL, cli_epoch, NULL};
	cJSON *res;
	enum train_status st = p.workers > 1
	                           ? fed_run(&p, data, models, threads, &h,
	                                     NULL, &res, err, sizeof(err))
	                           : train_run(&p, data, models, threads, &h,
	                                       &res, err, sizeof(err));
	if (st != TRAIN_DONE) {
		fprintf(stderr, "trainyard-train: %s\n", err);
		return 1;
	}
	cJSON_AddStringToObject(res, "blas_core", blas_core_name());
	cJSON_AddNumberToObject(res, "threads", threads);
	cJSON_AddNumberToObject(res, "peak_rss_kb", (double)peak_rss_kb());
	char *out = cJSON_Print(res);
	printf("%s\n", out);
	free(out);
	cJSON_Delete(res);
	return 0;
}

int
main(int argc, char **argv)
{
	blas_select_core(argv);
	ty_set_progname("trainyard-train");
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--run") == 0)
			return run_once(argc, argv, argv[i + 1]);
	return svc_main(argc, argv, &def);
}
