/* inspect.c — following dataset inspections; see inspect.h. */
#include "inspect.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "dsrow.h"
#include "follow.h"
#include "jobs.h"

#define TICK_S 0.25
#define POLL_S 0.3         /* between polls of a running job */
#define BACKOFF_MAX_S 30.0 /* longest wait between failed attempts */

struct track {
	long long did;
	int attempts;      /* failed in a row */
	double next_try;   /* util_now() */
	double first_fail; /* 0 when the last attempt worked */
	int unreachable;
	double progress;
	char message[128];
	char err[400];
	int seen; /* still pending at the last scan */
};

static struct {
	pthread_mutex_t mu; /* guards the follow table */
	struct follow_loop loop;
	struct web *w;
	double give_up_s; /* stop retrying an unreachable worker after this */
	struct track *f;
	size_t n, cap;
} I = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void
judge_job(const cJSON *job, struct inspect_result *out)
{
	const char *st = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(job, "status"));
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(job, "result");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(job, "progress");
	const char *msg = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(job, "message"));
	const char *err = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(job, "error"));
	const char *why;

	if (cJSON_IsNumber(p) && p->valuedouble >= 0 && p->valuedouble <= 1)
		out->progress = p->valuedouble;
	if (msg)
		snprintf(out->message, sizeof(out->message), "%s", msg);
	if (!st) {
		out->next = INSPECT_RETRY;
		snprintf(out->reason, sizeof(out->reason),
		         "the preprocess "
		         "service answered without a job status");
		return;
	}
	if (!strcmp(st, "queued") || !strcmp(st, "running")) {
		out->next = INSPECT_WAIT;
		return;
	}
	if (!strcmp(st, "failed")) {
		out->next = INSPECT_UNUSABLE;
		snprintf(out->reason, sizeof(out->reason),
		         "the inspection "
		         "failed: %s",
		         err && *err ? err : "no reason given");
		return;
	}
	if (!strcmp(st, "cancelled")) {
		out->next = INSPECT_UNUSABLE;
		snprintf(out->reason, sizeof(out->reason),
		         "the inspection "
		         "was cancelled");
		return;
	}
	if (strcmp(st, "succeeded") != 0) {
		out->next = INSPECT_RETRY;
		snprintf(out->reason, sizeof(out->reason),
		         "the preprocess "
		         "service sent an unknown job status \"%.40s\"",
		         st);
		return;
	}
	if (!cJSON_IsObject(res)) {
		out->next = INSPECT_UNUSABLE;
		snprintf(out->reason, sizeof(out->reason),
		         "the inspection "
		         "finished without a report");
		return;
	}
	out->report_json = cJSON_PrintUnformatted(res);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "usable"))) {
		out->next = INSPECT_READY;
		return;
	}
	out->next = INSPECT_UNUSABLE;
	why = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(res, "unusable_reason"));
	snprintf(out->reason, sizeof(out->reason), "%s",
	         why && *why ? why : "the report says it cannot be used");
}

void
inspect_judge(long status, const char *body, size_t len,
              struct inspect_result *out)
{
	cJSON *j;
	const char *err;

	memset(out, 0, sizeof(*out));
	j = cJSON_ParseWithLength(body ? body : "", body ? len : 0);
	if (status == 200 || status == 202) {
		if (!cJSON_IsObject(j)) {
			out->next = INSPECT_RETRY;
			snprintf(
			    out->reason, sizeof(out->reason),
			    "the "
			    "preprocess service sent an answer that is not a "
			    "JSON object");
		} else {
			judge_job(j, out);
		}
	} else {
		err = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(j, "error"));
		if (status >= 400 && status < 500 && status != 408 &&
		    status != 429) {
			/* Our request was refused: asking again won't help. */
			out->next = INSPECT_UNUSABLE;
			snprintf(
			    out->reason, sizeof(out->reason),
			    "the "
			    "preprocess service refused to inspect it (HTTP "
			    "%ld): %.300s",
			    status,
			    err ? err
			        : "no reason "
			          "given");
		} else {
			out->next = INSPECT_RETRY;
			snprintf(out->reason, sizeof(out->reason),
			         "the "
			         "preprocess service failed (HTTP %ld): %.300s",
			         status, err ? err : "no reason given");
		}
	}
	cJSON_Delete(j);
}

/* The follow record of did (created when missing); I.mu held. */
static struct track *
track_of(long long did)
{
	for (size_t i = 0; i < I.n; i++)
		if (I.f[i].did == did)
			return &I.f[i];
	if (I.n == I.cap) {
		I.cap = I.cap ? I.cap * 2 : 16;
		I.f = xrealloc(I.f, I.cap * sizeof(*I.f));
	}
	memset(&I.f[I.n], 0, sizeof(I.f[I.n]));
	I.f[I.n].did = did;
	return &I.f[I.n++];
}

static void
store(struct web *w, long long did, const char *status, const char *report,
      const char *error)
{
	if (db_exec(w->db, DB_DATASET_SET_RESULT, "ttti", status, report, error,
	            did) != DB_OK)
		ty_log("inspect: dataset %lld: could not store the result",
		       did);
	else
		ty_log("inspect: dataset %lld %s%s%s", did, status,
		       error ? ": " : "", error ? error : "");
}

struct pending {
	long long did, attempt;
	char *path;
};

static char *
inspect_body(void *arg, char *gone, size_t len)
{
	const struct pending *p = arg;

	return jobs_inspect_body(p->did, p->attempt, p->path);
}

/* One attempt for dataset p; called without I.mu. */
static void
attempt(struct web *w, struct pending *p)
{
	char id[64], give_up[560];
	struct inspect_result res;
	struct follow_answer a;
	struct follow_job job = {"preprocess", w->preprocess_url, id,
	                         inspect_body, p};
	enum wk_err e;
	double now;
	struct track *f;
	long long did = p->did;
	int failed = 0, nfail = 0;

	jobs_inspect_id(p->did, p->attempt, id, sizeof(id));
	follow_job_get(&job, &a);
	memset(&res, 0, sizeof(res));
	e = a.e;
	if (e != WK_OK) {
		res.next = INSPECT_RETRY;
		snprintf(res.reason, sizeof(res.reason), "%s", a.err);
	} else {
		inspect_judge(a.status, a.text, a.len, &res);
	}
	follow_answer_free(&a);

	now = util_now();
	give_up[0] = '\0';
	pthread_mutex_lock(&I.mu);
	f = track_of(did);
	f->unreachable = e != WK_OK;
	switch (res.next) {
	case INSPECT_WAIT:
		f->attempts = 0;
		f->first_fail = 0;
		f->err[0] = '\0';
		f->progress = res.progress;
		snprintf(f->message, sizeof(f->message), "%s", res.message);
		f->next_try = now + POLL_S;
		break;
	case INSPECT_RETRY:
		failed = 1;
		if (!f->first_fail)
			f->first_fail = now;
		nfail = ++f->attempts;
		snprintf(f->err, sizeof(f->err), "%s", res.reason);
		f->next_try = now + follow_backoff(f->attempts, BACKOFF_MAX_S);
		if (now - f->first_fail > I.give_up_s)
			snprintf(give_up, sizeof(give_up),
			         "%s; gave up after "
			         "%.0f seconds of retrying. Use \"Inspect "
			         "again\" when the service is back.",
			         f->err, now - f->first_fail);
		break;
	default:
		f->err[0] = '\0';
		break;
	}
	pthread_mutex_unlock(&I.mu);

	switch (res.next) {
	case INSPECT_WAIT:
		if (db_exec(w->db, DB_DATASET_SET_INSPECTING, "i", did) !=
		    DB_OK)
			ty_log("inspect: dataset %lld: status not stored", did);
		break;
	case INSPECT_READY:
		store(w, did, "ready", res.report_json, NULL);
		break;
	case INSPECT_UNUSABLE:
		store(w, did, "unusable", res.report_json, res.reason);
		break;
	case INSPECT_RETRY:
		if (give_up[0])
			store(w, did, "unusable", NULL, give_up);
		else if (failed && (nfail == 1 || nfail % 10 == 0))
			/* the first of a streak, then now and then */
			ty_log("inspect: dataset %lld: %s (attempt %d; will "
			       "retry)",
			       did, res.reason, nfail);
		break;
	}
	free(res.report_json);
}

static void
scan_once(void *arg)
{
	struct web *w = arg;
	struct pending *p = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	double now = util_now();

	st = db_stmt(w->db, DB_DATASET_PENDING, "");
	while (db_step(w->db, st) == SQLITE_ROW) {
		struct dsrow ds;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			p = xrealloc(p, cap * sizeof(*p));
		}
		dsrow_read(st, &ds);
		p[n].did = ds.id;
		p[n].path = ds.path; /* taken */
		ds.path = NULL;
		p[n].attempt = ds.inspect_attempt;
		dsrow_free(&ds);
		n++;
	}
	db_done(w->db, st);

	pthread_mutex_lock(&I.mu);
	for (size_t i = 0; i < I.n; i++)
		I.f[i].seen = 0;
	for (size_t i = 0; i < n; i++)
		track_of(p[i].did)->seen = 1;
	/* Forget datasets that are done (or deleted). */
	for (size_t i = 0; i < I.n;)
		if (!I.f[i].seen)
			I.f[i] = I.f[--I.n];
		else
			i++;
	pthread_mutex_unlock(&I.mu);

	for (size_t i = 0; i < n; i++) {
		int due;

		pthread_mutex_lock(&I.mu);
		due = track_of(p[i].did)->next_try <= now;
		pthread_mutex_unlock(&I.mu);
		/* A dataset without its file yet is mid-upload: skip. */
		if (due && p[i].path[0] && !follow_loop_stopping(&I.loop))
			attempt(w, &p[i]);
		free(p[i].path);
	}
	free(p);
}

int
inspect_start(struct web *w)
{
	if (I.loop.running)
		return 0;
	I.w = w;
	I.give_up_s =
	    (double)cfg_long(0, NULL, "TRAINYARD_INSPECT_RETRY_S", 900);
	I.loop.name = "inspect";
	I.loop.tick = scan_once;
	I.loop.arg = w;
	I.loop.period_s = TICK_S;
	return follow_loop_start(&I.loop);
}

void
inspect_stop(void)
{
	if (!I.loop.running)
		return;
	follow_loop_stop(&I.loop);
	pthread_mutex_lock(&I.mu);
	free(I.f);
	I.f = NULL;
	I.n = I.cap = 0;
	pthread_mutex_unlock(&I.mu);
}

void
inspect_kick(void)
{
	follow_loop_kick(&I.loop);
}
void
inspect_state_of(long long did, struct inspect_state *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&I.mu);
	for (size_t i = 0; i < I.n; i++) {
		const struct track *f = &I.f[i];
		double left;

		if (f->did != did)
			continue;
		out->known = 1;
		out->unreachable = f->unreachable && f->err[0];
		out->progress = f->progress;
		snprintf(out->message, sizeof(out->message), "%s", f->message);
		snprintf(out->err, sizeof(out->err), "%s", f->err);
		left = f->next_try - util_now();
		out->retry_in = left > 0 ? left : 0;
		break;
	}
	pthread_mutex_unlock(&I.mu);
}
