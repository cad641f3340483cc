/* pipeline.c — the run supervisor; see pipeline.h. */
#include "pipeline.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db.h"
#include "runqueue.h"
#include "follow.h"
#include "jobs.h"
#include "place.h"
#include "runform.h"
#include "runrow.h"

#define LIVE_MAX 64 /* runs followed at once (>= max runs) */
#define BACKOFF_MAX_S 10.0

static const struct {
	const char *service; /* for messages: "<service> service unreachable" */
	const char *verb;    /* "preprocessing failed: ..." */
} stages[JOBS_STAGE__MAX] = {
    {"preprocess", "preprocessing"},
    {"train", "training"},
};

/* Per-run memory of the supervisor: backoff and what the worker said. */
struct track {
	long long id; /* 0: free slot */
	struct pipeline_live live;
	double fail_since; /* first unanswered call, 0 when answered */
	double next_try;   /* util_now() before which we leave it alone */
	int tries;
	int nepochs; /* epochs already written to runs.epochs_json */
};

static struct {
	struct web *w;
	int max_runs;
	int replicas; /* train replicas found at the last start */
	double retry_seconds, poll_seconds, run_timeout;
	double replace_after; /* TRAINYARD_REPLACE_AFTER_S */
	struct follow_loop loop;
	pthread_mutex_t mu; /* guards follows */
	struct track follows[LIVE_MAX];
} P = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* One active run, copied out of the database before any worker call. */
struct run {
	struct runrow row;
	long long id;
	enum jobs_stage stage;
	struct runform rf;
};

/* ---- the follow table ---- */

static struct track *
track_of(long long id)
{
	struct track *free_slot = NULL;

	for (int i = 0; i < LIVE_MAX; i++) {
		if (P.follows[i].id == id)
			return &P.follows[i];
		if (!P.follows[i].id && !free_slot)
			free_slot = &P.follows[i];
	}
	if (!free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->id = id;
	free_slot->live.eta_seconds = -1;
	free_slot->nepochs = -1;
	return free_slot;
}

static void
track_drop(long long id)
{
	pthread_mutex_lock(&P.mu);
	for (int i = 0; i < LIVE_MAX; i++)
		if (P.follows[i].id == id)
			P.follows[i].id = 0;
	pthread_mutex_unlock(&P.mu);
}

int
pipeline_live_get(long long run_id, struct pipeline_live *out)
{
	int rc = -1;

	pthread_mutex_lock(&P.mu);
	for (int i = 0; i < LIVE_MAX; i++)
		if (P.follows[i].id == run_id) {
			*out = P.follows[i].live;
			rc = 0;
		}
	pthread_mutex_unlock(&P.mu);
	return rc;
}

int
pipeline_stopping(void)
{
	return follow_loop_stopping(&P.loop);
}

int
pipeline_max_runs(void)
{
	int n = __atomic_load_n(&P.replicas, __ATOMIC_RELAXED);

	return (P.max_runs ? P.max_runs : 1) * (n ? n : 1);
}

/* ---- run state changes ---- */

static void
run_fail(struct run *r, const char *why)
{
	ty_log("pipeline: run %lld failed: %s", r->id, why);
	if (db_exec(P.w->db, DB_RUN_FAIL, "tdi", why, util_wall(), r->id) !=
	    DB_OK)
		ty_log("pipeline: run %lld: could not record the failure",
		       r->id);
	track_drop(r->id);
}

static void
run_cancelled(struct run *r, const char *msg)
{
	ty_log("pipeline: run %lld cancelled", r->id);
	if (db_exec(P.w->db, DB_RUN_SET_CANCELLED, "tdi", msg, util_wall(),
	            r->id) != DB_OK)
		ty_log("pipeline: run %lld: could not record the cancel",
		       r->id);
	track_drop(r->id);
}

static void
run_progress(struct run *r, double progress, const char *msg)
{
	if (db_exec(P.w->db, DB_RUN_PROGRESS, "dti", progress, msg, r->id) !=
	    DB_OK)
		ty_log("pipeline: run %lld: could not store progress", r->id);
}

/*
 * The run's train replica has not answered for TRAINYARD_REPLACE_AFTER_S:
 * place the run on another one, which resumes the job from the last
 * checkpoint on the shared volume once the lost replica's lease has
 * expired (lib/base/lease.h). 1 when re-placed.
 */
static int
replace_run(struct run *r, struct track *f, double now)
{
	char owner[257], err[400], msg[800];

	if (place_choose(P.w->train_url, r->row.owner, owner, sizeof(owner),
	                 err, sizeof(err))) {
		ty_log("pipeline: run %lld: cannot re-place: %s", r->id, err);
		return 0;
	}
	if (db_exec(P.w->db, DB_RUN_SET_OWNER, "tdi", owner, util_wall(),
	            r->id) != DB_OK)
		return 0;
	snprintf(msg, sizeof(msg),
	         "train replica %s did not answer for %.0f s; continuing on "
	         "%s from the last checkpoint",
	         r->row.owner, now - f->fail_since, owner);
	ty_log("pipeline: run %lld: %s", r->id, msg);
	run_progress(r, 0, msg);
	free(r->row.owner);
	r->row.owner = xstrdup(owner);
	f->fail_since = 0;
	f->tries = 0;
	f->next_try = 0;
	f->live.retrying = 0;
	return 1;
}

/*
 * A worker did not answer (or answered 5xx): back off, and once the retry
 * window has passed, fail the run naming the service.
 */
static void
unanswered(struct run *r, struct track *f, enum wk_err e, const char *err)
{
	double now = util_now();
	char msg[400];

	if (!f->fail_since)
		f->fail_since = now;
	if (r->stage == JOBS_TRAIN && *r->row.owner && e == WK_UNREACHABLE &&
	    now - f->fail_since >= P.replace_after && replace_run(r, f, now))
		return;
	if (now - f->fail_since >= P.retry_seconds) {
		if (e == WK_UNREACHABLE)
			snprintf(msg, sizeof(msg),
			         "%s (gave up after %.0f s "
			         "of retries)",
			         err, now - f->fail_since);
		else
			snprintf(msg, sizeof(msg),
			         "%s service unreachable: "
			         "%s (gave up after %.0f s of retries)",
			         stages[r->stage].service, err,
			         now - f->fail_since);
		run_fail(r, msg);
		return;
	}
	f->tries++;
	f->next_try = now + follow_backoff(f->tries, BACKOFF_MAX_S);
	f->live.retrying = 1;
	snprintf(msg, sizeof(msg),
	         "%s service not answering; retrying "
	         "(attempt %d): %s",
	         stages[r->stage].service, f->tries, err);
	run_progress(r, 0, msg);
}

static void
answered(struct track *f)
{
	f->fail_since = 0;
	f->tries = 0;
	f->next_try = 0;
	f->live.retrying = 0;
}

/* ---- talking to the workers ---- */

/* Where the run's current job lives: the train job at its owner. */
static const char *
base_of(const struct run *r)
{
	return r->stage == JOBS_PREP ? P.w->preprocess_url : r->row.owner;
}

/*
 * A train stage without an owner yet: choose the replica (place.c) and
 * record it before the job is posted there. 0, or -1 when no replica
 * answered (the caller backs off as for any unanswered call).
 */
static int
place_run(struct run *r, struct track *f)
{
	char owner[257], err[400];

	if (r->stage != JOBS_TRAIN || *r->row.owner)
		return 0;
	if (place_choose(P.w->train_url, NULL, owner, sizeof(owner), err,
	                 sizeof(err))) {
		unanswered(r, f, WK_UNREACHABLE, err);
		return -1;
	}
	if (db_exec(P.w->db, DB_RUN_SET_OWNER, "tdi", owner, util_wall(),
	            r->id) != DB_OK) {
		unanswered(r, f, WK_FAILED, "could not record the placement");
		return -1;
	}
	ty_log("pipeline: run %lld placed on %s", r->id, owner);
	free(r->row.owner);
	r->row.owner = xstrdup(owner);
	return 0;
}

static const char *
json_str(const cJSON *o, const char *k)
{
	const char *s =
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
	return s ? s : "";
}

static double
json_num(const cJSON *o, const char *k, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* The stage's job body (the same every time: posting is idempotent). */
static char *
job_body(void *arg, char *gone, size_t len)
{
	struct run *r = arg;
	char *body = NULL;

	if (r->stage == JOBS_TRAIN)
		return jobs_train_body(&r->rf, r->id);
	sqlite3_stmt *st = db_stmt(P.w->db, DB_RUN_DATASET_GET, "ii",
	                           r->row.dataset_id, r->row.project_id);
	if (db_step(P.w->db, st) == SQLITE_ROW)
		body = jobs_prep_body(&r->rf, r->id, db_col_text(st, 0));
	db_done(P.w->db, st);
	if (!body)
		snprintf(gone, len, "the dataset is gone");
	return body;
}

/* Stores the epochs the train job reports, if there are new ones. */
static void
store_epochs(struct run *r, struct track *f, const cJSON *result)
{
	const cJSON *eps = cJSON_GetObjectItemCaseSensitive(result, "epochs");
	int n = cJSON_IsArray(eps) ? cJSON_GetArraySize(eps) : 0;
	char *s;

	if (!cJSON_IsArray(eps) || n == f->nepochs)
		return;
	s = cJSON_PrintUnformatted(eps);
	if (db_exec(P.w->db, DB_RUN_EPOCHS, "ti", s, r->id) == DB_OK)
		f->nepochs = n;
	free(s);
}

static void
read_live(struct track *f, const cJSON *result)
{
	const cJSON *live = cJSON_GetObjectItemCaseSensitive(result, "live");

	if (!live)
		return;
	pthread_mutex_lock(&P.mu);
	f->live.epoch = (int)json_num(live, "epoch", 0);
	f->live.epochs = (int)json_num(live, "epochs", 0);
	f->live.eta_seconds = json_num(live, "eta_seconds", -1);
	f->live.images_per_second = json_num(live, "images_per_second", 0);
	pthread_mutex_unlock(&P.mu);
}

/* A JSON array of the class names, from the train result or prep. */
static char *
class_names(const cJSON *result)
{
	const cJSON *pc = cJSON_GetObjectItemCaseSensitive(result, "per_class"),
	            *e;
	cJSON *names = cJSON_CreateArray();
	char *s;

	cJSON_ArrayForEach(e, pc)
	{
		cJSON_AddItemToArray(names,
		                     cJSON_CreateString(json_str(e, "class")));
	}
	s = cJSON_PrintUnformatted(names);
	cJSON_Delete(names);
	return s;
}

static void
train_done(struct run *r, struct runform *rf, const cJSON *result)
{
	struct db *db = P.w->db;
	const char *model = json_str(result, "model");
	char *metrics = cJSON_PrintUnformatted(result);
	const cJSON *eps = cJSON_GetObjectItemCaseSensitive(result, "epochs");
	char *epochs = eps ? cJSON_PrintUnformatted(eps) : xstrdup("[]");
	char *classes = class_names(result), *path;
	double now = util_wall(), secs;
	long long bytes = 0;
	struct stat sb;

	path = xasprintf("%s/%s", P.w->models_dir, model);
	if (*model && stat(path, &sb) == 0)
		bytes = (long long)sb.st_size;
	free(path);
	secs = now - (r->row.started_at +
	              (r->row.prep_seconds > 0 ? r->row.prep_seconds : 0));
	if (db_tx_begin(db) != DB_OK)
		goto out;
	if (db_exec(db, DB_RUN_SUCCEED, "ttddi", metrics, epochs, secs, now,
	            r->id) != DB_OK ||
	    (*model &&
	     db_insert(db, DB_RUN_MODEL_INSERT, "iitttddii", r->row.project_id,
	               r->id, model, params_archs[rf->arch].name, classes,
	               json_num(result, "val_acc", NAN),
	               json_num(result, "val_loss", NAN), bytes,
	               (long long)now) < 0)) {
		if (db_tx_end(db, 0) != DB_OK)
			ty_log("pipeline: rollback failed");
		goto out;
	}
	if (db_tx_end(db, 1) != DB_OK)
		goto out;
	ty_log("pipeline: run %lld succeeded: val_acc %.4f in %.1f s", r->id,
	       json_num(result, "val_acc", NAN), secs);
	track_drop(r->id);
out:
	free(metrics);
	free(epochs);
	free(classes);
}

/* What the worker's job record says; acts on it. */
static void
on_record(struct run *r, struct track *f, struct runform *rf, const cJSON *rec)
{
	const char *status = json_str(rec, "status");
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(rec, "result");
	char msg[600];

	if (!strcmp(status, "queued") || !strcmp(status, "running")) {
		if (r->stage == JOBS_TRAIN) {
			store_epochs(r, f, result);
			read_live(f, result);
		}
		const char *m = json_str(rec, "message");
		run_progress(r, json_num(rec, "progress", 0), *m ? m : status);
	} else if (!strcmp(status, "succeeded")) {
		if (r->stage == JOBS_PREP) {
			char *prep = cJSON_PrintUnformatted(result);
			double secs = util_wall() - r->row.started_at;
			if (db_exec(P.w->db, DB_RUN_PREP_DONE, "tdi", prep,
			            secs, r->id) != DB_OK)
				ty_log("pipeline: run %lld: could not store "
				       "the preprocess result",
				       r->id);
			free(prep);
			ty_log("pipeline: run %lld preprocessed in %.1f s",
			       r->id, secs);
			/* post the train job now, not a poll interval later */
			pipeline_kick();
		} else {
			train_done(r, rf, result);
		}
	} else if (!strcmp(status, "failed")) {
		snprintf(msg, sizeof(msg), "%s failed: %s",
		         stages[r->stage].verb,
		         *json_str(rec, "error") ? json_str(rec, "error")
		                                 : "no reason given");
		run_fail(r, msg);
	} else if (!strcmp(status, "cancelled")) {
		if (r->row.cancel_requested) {
			run_cancelled(r, "cancelled");
		} else {
			snprintf(msg, sizeof(msg),
			         "the %s job was cancelled "
			         "on the %s service",
			         stages[r->stage].verb,
			         stages[r->stage].service);
			run_fail(r, msg);
		}
	} else {
		snprintf(msg, sizeof(msg),
		         "the %s service sent a job record "
		         "without a known status",
		         stages[r->stage].service);
		run_fail(r, msg);
	}
}

static void
follow_run(struct run *r, struct track *f)
{
	char id[64], msg[600];
	struct follow_job job = {stages[r->stage].service, NULL, id, job_body,
	                         r};
	struct follow_answer a;

	jobs_run_id(r->id, r->stage, id, sizeof(id));
	wk_set_request_id(id);
	if (r->stage == JOBS_TRAIN && !*r->row.owner &&
	    (r->row.cancel_requested ||
	     (P.run_timeout > 0 &&
	      util_wall() - r->row.started_at > P.run_timeout))) {
		/* not placed yet: no train job to tell */
		if (r->row.cancel_requested)
			run_cancelled(r, "cancelled");
		else
			run_fail(r, "the run took longer than the limit "
			            "(TRAINYARD_RUN_TIMEOUT)");
		return;
	}
	if (!r->row.cancel_requested && place_run(r, f))
		return;
	job.base = base_of(r);
	if (r->row.cancel_requested) {
		/* An unreachable worker is not waited for: the run is over
		 * for the person either way, and the message says so. */
		follow_job_cancel(&job, &a);
		if (a.e != WK_OK || a.status >= 500) {
			snprintf(msg, sizeof(msg),
			         "cancelled (the %s service "
			         "could not be told: %s)",
			         stages[r->stage].service,
			         a.e != WK_OK ? a.err : "it failed");
			run_cancelled(r, msg);
		} else {
			run_cancelled(r, "cancelled");
		}
		follow_answer_free(&a);
		return;
	}
	if (P.run_timeout > 0 && r->row.started_at > 0 &&
	    util_wall() - r->row.started_at > P.run_timeout) {
		follow_job_cancel(&job, &a);
		follow_answer_free(&a);
		snprintf(msg, sizeof(msg),
		         "the run took longer than the "
		         "limit of %.0f s (TRAINYARD_RUN_TIMEOUT)",
		         P.run_timeout);
		run_fail(r, msg);
		return;
	}
	follow_job_get(&job, &a);
	if (a.e != WK_OK) {
		unanswered(r, f, a.e, a.err);
	} else if (a.status >= 500) {
		snprintf(a.err, sizeof(a.err), "%s service answered %ld",
		         stages[r->stage].service, a.status);
		unanswered(r, f, WK_FAILED, a.err);
	} else if (a.posted && a.status >= 400) {
		snprintf(msg, sizeof(msg), "the %s service refused the job: %s",
		         stages[r->stage].service,
		         a.status == 410             ? a.err
		         : *json_str(a.rec, "error") ? json_str(a.rec, "error")
		                                     : "no reason given");
		run_fail(r, msg);
	} else if (!cJSON_IsObject(a.rec) || a.status >= 300) {
		/* not an answer we can use: back off like for no answer */
		snprintf(a.err, sizeof(a.err),
		         "%s service sent an unreadable answer (HTTP %ld)",
		         stages[r->stage].service, a.status);
		unanswered(r, f, WK_FAILED, a.err);
	} else {
		answered(f);
		on_record(r, f, &r->rf, a.rec);
	}
	follow_answer_free(&a);
}

/* ---- the loop ---- */

static void
start_queued(void)
{
	struct db *db = P.w->db;
	long long active, id, *order, limit;
	size_t n;

	if (db_exec(db, DB_RUN_QUEUED_CANCELLED, "d", util_wall()) != DB_OK)
		ty_log("pipeline: could not cancel queued runs");
	/* turns between users, not first come first served */
	n = runqueue_order(db, &order);
	if (!n)
		return;
	/* TRAINYARD_MAX_RUNS is per train replica: N replicas, N times as
	 * many runs at once (the list is resolved again every time). */
	__atomic_store_n(&P.replicas, place_count(P.w->train_url),
	                 __ATOMIC_RELAXED);
	limit = (long long)P.max_runs * P.replicas;
	active = db_int(db, DB_RUN_ACTIVE_COUNT, 0, "");
	for (size_t i = 0; i < n && active < limit; i++) {
		id = order[i];
		if (db_exec(db, DB_RUN_START, "di", util_wall(), id) != DB_OK)
			break;
		ty_log("pipeline: run %lld started", id);
		active++;
	}
	free(order);
}

/* The active runs, each with its stored form; unreadable ones fail. */
static size_t
load_active(struct run **out)
{
	struct db *db = P.w->db;
	sqlite3_stmt *st = db_stmt(db, DB_RUN_ACTIVE, "");
	struct run *v = NULL;
	size_t n = 0, cap = 0;

	while (db_step(db, st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			v = xrealloc(v, cap * sizeof(*v));
		}
		runrow_read(st, &v[n].row);
		v[n].id = v[n].row.id;
		v[n].stage =
		    v[n].row.st == RUNROW_TRAINING ? JOBS_TRAIN : JOBS_PREP;
		n++;
	}
	db_done(db, st);
	*out = v;
	return n;
}

static void
tick(void *arg)
{
	struct run *runs;
	size_t n;

	(void)arg;
	start_queued();
	n = load_active(&runs);
	for (size_t i = 0; i < n; i++) {
		struct run *r = &runs[i];
		struct track *f, copy;
		pthread_mutex_lock(&P.mu);
		f = track_of(r->id);
		pthread_mutex_unlock(&P.mu);
		if (!f) {
			ty_log("pipeline: more than %d active runs", LIVE_MAX);
			break;
		}
		if (f->next_try > util_now() && !r->row.cancel_requested)
			continue;
		if (runform_from_json(r->row.params_json, &r->rf) < 0) {
			run_fail(r,
			         "the run's stored parameters are unreadable");
			continue;
		}
		copy = *f;
		follow_run(r, &copy);
		/* Only this thread writes follows; the lock is for readers. */
		pthread_mutex_lock(&P.mu);
		if (f->id == r->id)
			*f = copy, f->live = copy.live;
		pthread_mutex_unlock(&P.mu);
	}
	for (size_t i = 0; i < n; i++)
		runrow_free(&runs[i].row);
	free(runs);
}

int
pipeline_start(struct web *w, int argc, char **argv)
{
	P.w = w;
	P.max_runs = (int)cfg_long(argc, argv, "TRAINYARD_MAX_RUNS", 1);
	P.retry_seconds =
	    (double)cfg_long(argc, argv, "TRAINYARD_RETRY_SECONDS", 120);
	P.poll_seconds =
	    (double)cfg_long(argc, argv, "TRAINYARD_POLL_MS", 200) / 1000.0;
	P.run_timeout =
	    (double)cfg_long(argc, argv, "TRAINYARD_RUN_TIMEOUT", 6 * 3600);
	P.replace_after =
	    (double)cfg_long(argc, argv, "TRAINYARD_REPLACE_AFTER_S", 60);
	if (P.max_runs < 1 || P.max_runs > LIVE_MAX || P.retry_seconds < 0 ||
	    P.poll_seconds < 0.01) {
		ty_log("pipeline: TRAINYARD_MAX_RUNS must be 1-%d, "
		       "TRAINYARD_RETRY_SECONDS >= 0, TRAINYARD_POLL_MS >= 10",
		       LIVE_MAX);
		return -1;
	}
	ty_log("pipeline: up to %d run(s) at once, retry window %.0f s",
	       P.max_runs, P.retry_seconds);
	P.loop.name = "pipeline";
	P.loop.tick = tick;
	P.loop.period_s = P.poll_seconds;
	return follow_loop_start(&P.loop);
}

void
pipeline_stop(void)
{
	follow_loop_stop(&P.loop);
}

void
pipeline_kick(void)
{
	follow_loop_kick(&P.loop);
}
