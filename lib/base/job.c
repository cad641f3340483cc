/*
 * job.c — job records, the queue, the runner threads, persistence and
 * leases between replicas (lease.h); the routes are in job_http.c.
 *
 * One mutex guards every job's fields. Persisting builds the JSON under
 * it and writes the file outside it, under the job's own write lock, so
 * a slow disk never blocks GET and two writes of one record keep order.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "job_int.h"
#include "lease.h"
#include "metrics.h"
#include "svc.h"

/* A job whose worker died this often while running it is failed. */
#define JOB_MAX_ATTEMPTS 3

static const char *const status_names[JOB__MAX] = {
    "queued", "running", "succeeded", "failed", "cancelled",
};

struct job_state job_g = {.mu = PTHREAD_MUTEX_INITIALIZER,
                          .cv = PTHREAD_COND_INITIALIZER,
                          .lease_cv = PTHREAD_COND_INITIALIZER};
#define J job_g

const char *
job_status_name(enum job_status s)
{
	return (unsigned)s < JOB__MAX ? status_names[s] : "unknown";
}

static int
status_parse(const char *s)
{
	for (int i = 0; i < JOB__MAX; i++)
		if (s && !strcmp(s, status_names[i]))
			return i;
	return -1;
}

int
job_id_valid(const char *id)
{
	size_t n = 0;

	if (!id)
		return 0;
	for (const char *p = id; *p; p++, n++) {
		char ch = *p;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '-'))
			return 0;
	}
	return n >= 1 && n <= JOB_ID_MAX && strcmp(id, ".") && strcmp(id, "..");
}

const struct job_kind *
job_kind_find(const char *name)
{
	for (size_t i = 0; i < J.nkinds; i++)
		if (!strcmp(J.kinds[i].name, name))
			return &J.kinds[i];
	return NULL;
}

struct job *
job_find(const char *id)
{
	for (struct job *j = J.all; j; j = j->next)
		if (!strcmp(j->id, id))
			return j;
	return NULL;
}

static void
job_free(struct job *j)
{
	free(j->kind_name);
	free(j->message);
	free(j->error);
	cJSON_Delete(j->params);
	cJSON_Delete(j->result);
	pthread_mutex_destroy(&j->write_mu);
	free(j);
}

static void
add_time(cJSON *o, const char *k, double t)
{
	if (t > 0)
		cJSON_AddNumberToObject(o, k, t);
	else
		cJSON_AddNullToObject(o, k);
}

static void
add_str(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

/* The record as JSON; under J.mu. */
cJSON *
job_to_json(const struct job *j)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "job_id", j->id);
	cJSON_AddStringToObject(o, "kind", j->kind_name);
	cJSON_AddStringToObject(o, "status", status_names[j->status]);
	cJSON_AddNumberToObject(o, "progress", j->progress);
	add_str(o, "message", j->message);
	cJSON_AddItemToObject(o, "params", cJSON_Duplicate(j->params, 1));
	cJSON_AddItemToObject(o, "result", cJSON_Duplicate(j->result, 1));
	add_str(o, "error", j->error);
	add_time(o, "created", j->created);
	add_time(o, "started", j->started);
	add_time(o, "finished", j->finished);
	cJSON_AddNumberToObject(o, "attempts", j->attempts);
	cJSON_AddNumberToObject(o, "crashes", j->crashes);
	if (j->status == JOB_QUEUED || j->status == JOB_RUNNING)
		lease_add(o, J.replica, util_wall() + J.lease_s);
	return o;
}

/* Called with J.mu held; returns with it held. */
void
job_persist_locked(struct job *j)
{
	char *path, *text;
	cJSON *o;

	o = job_to_json(j);
	j->last_write = util_now();
	pthread_mutex_unlock(&J.mu);
	pthread_mutex_lock(&j->write_mu);
	text = cJSON_Print(o);
	cJSON_Delete(o);
	path = xasprintf("%s/%s.json", J.dir, j->id);
	if (util_write_atomic(path, text, strlen(text)))
		ty_log("job %s: cannot write %s: %s", j->id, path,
		       strerror(errno));
	free(path);
	cJSON_free(text);
	pthread_mutex_unlock(&j->write_mu);
	pthread_mutex_lock(&J.mu);
}

void
job_enqueue_locked(struct job *j)
{
	j->queue_next = NULL;
	if (J.qtail)
		J.qtail->queue_next = j;
	else
		J.qhead = j;
	J.qtail = j;
	pthread_cond_signal(&J.cv);
}

void
job_dequeue_locked(struct job *j)
{
	struct job **pp, *prev = NULL;

	for (pp = &J.qhead; *pp; prev = *pp, pp = &(*pp)->queue_next) {
		if (*pp == j) {
			*pp = j->queue_next;
			if (J.qtail == j)
				J.qtail = prev;
			j->queue_next = NULL;
			return;
		}
	}
}

int
job_cancelled(const struct job *j)
{
	struct job *mj = (struct job *)j;
	int c;

	pthread_mutex_lock(&J.mu);
	c = j->cancel || J.stopping || svc_stopping();
	if (c)
		mj->saw_cancel = 1;
	pthread_mutex_unlock(&J.mu);
	return c;
}

void
job_progress(struct job *j, double fraction, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&J.mu);
	if (fraction < 0)
		fraction = 0;
	if (fraction > 1)
		fraction = 1;
	j->progress = fraction;
	if (fmt) {
		free(j->message);
		va_start(ap, fmt);
		if (vasprintf(&j->message, fmt, ap) < 0)
			abort();
		va_end(ap);
	}
	/* GET sees every update; the disk at most about once a second. */
	if (util_now() - j->last_write >= 1.0)
		job_persist_locked(j);
	pthread_mutex_unlock(&J.mu);
}

cJSON *
job_result_lock(struct job *j)
{
	pthread_mutex_lock(&J.mu);
	return j->result;
}

void
job_result_unlock(struct job *j, int persist)
{
	if (persist)
		job_persist_locked(j);
	pthread_mutex_unlock(&J.mu);
}

void
job_fail(struct job *j, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&J.mu);
	free(j->error);
	va_start(ap, fmt);
	if (vasprintf(&j->error, fmt, ap) < 0)
		abort();
	va_end(ap);
	j->failed = 1;
	pthread_mutex_unlock(&J.mu);
}

/* Sleeps at most s seconds on lease_cv (J.mu held). */
static void
lease_sleep(double s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)s;
	ts.tv_nsec += (long)((s - (double)(time_t)s) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_sec++, ts.tv_nsec -= 1000000000L;
	pthread_cond_timedwait(&J.lease_cv, &J.mu, &ts);
}

#define WHO(name) (*(name) ? (name) : "(unnamed)")

/* Ends a job without running it, saying why (taken); J.mu held. */
static void
settle_locked(struct job *j, enum job_status st, char *why)
{
	j->status = st;
	j->finished = util_wall();
	free(j->message);
	j->message = why;
	job_persist_locked(j);
	ty_log("job %s: %s", j->id, j->message);
}

/*
 * Claims job j against the other replicas sharing the volume (lease.h):
 * writes our lease, then looks. 0: run it now; 1: settled without
 * running (yielded, ended elsewhere, cancelled, or shutting down). J.mu
 * held.
 */
static int
claim_locked(struct job *j)
{
	struct lease_look l;

	for (;;) {
		job_persist_locked(j);
		pthread_mutex_unlock(&J.mu);
		lease_look(J.root, J.dir, j->id, j->created, util_wall(), &l);
		pthread_mutex_lock(&J.mu);
		if (l.v == LEASE_FREE)
			return 0;
		if (l.v == LEASE_YIELD) {
			free(j->error);
			j->error = xstrdup("re-placed on another replica");
			settle_locked(j, JOB_CANCELLED,
			              xasprintf("re-placed "
			                        "on replica %s; not run here",
			                        WHO(l.other)));
			return 1;
		}
		if (l.v == LEASE_ENDED) {
			const cJSON *r = cJSON_GetObjectItemCaseSensitive(
			    l.record, "result");
			const char *e = cJSON_GetStringValue(
			    cJSON_GetObjectItemCaseSensitive(l.record,
			                                     "error"));
			int ok = !strcmp(cJSON_GetStringValue(
			                     cJSON_GetObjectItemCaseSensitive(
			                         l.record, "status"))
			                     ?: "",
			                 "succeeded");
			if (cJSON_IsObject(r)) {
				cJSON_Delete(j->result);
				j->result = cJSON_Duplicate(r, 1);
			}
			free(j->error);
			j->error = e ? xstrdup(e) : NULL;
			j->progress = ok ? 1 : j->progress;
			settle_locked(
			    j, ok ? JOB_SUCCEEDED : JOB_FAILED,
			    xasprintf("ended on replica %s", WHO(l.other)));
			cJSON_Delete(l.record);
			return 1;
		}
		if (j->cancel || j->status == JOB_CANCELLED) {
			if (j->status != JOB_CANCELLED)
				settle_locked(
				    j, JOB_CANCELLED,
				    xasprintf("cancelled while waiting for "
				              "replica %s",
				              WHO(l.other)));
			return 1;
		}
		if (J.stopping || svc_stopping())
			return 1; /* stays queued: looked at again at start */
		free(j->message);
		j->message = xasprintf("waiting for replica %s: its lease on "
		                       "this job ends in %.0f s",
		                       WHO(l.other), l.wait_s);
		lease_sleep(l.wait_s < 1 ? l.wait_s + 0.05 : 1);
	}
}

static void
run_one(struct job *j)
{
	const struct job_kind *k = j->kind;
	int interrupted;

	if (claim_locked(j))
		return;

	j->status = JOB_RUNNING;
	j->started = util_wall();
	j->attempts++;
	j->saw_cancel = 0;
	j->failed = 0;
	job_persist_locked(j);
	pthread_mutex_unlock(&J.mu);
	ty_log("job %s (%s) started, attempt %d", j->id, k->name, j->attempts);

	k->run(j, j->params, k->arg);

	pthread_mutex_lock(&J.mu);
	/*
	 * A run that returned after seeing the stop signal did not finish:
	 * its record stays "running" on disk and it runs again at start.
	 */
	interrupted = j->saw_cancel && !j->cancel && !j->failed;
	if (interrupted) {
		/* Not failed, not cancelled: queued for the next start. */
		j->status = JOB_QUEUED;
		free(j->message);
		j->message = xstrdup("interrupted by a worker shutdown; "
		                     "resumes at restart");
		job_persist_locked(j);
		ty_log("job %s interrupted by shutdown; resumes at restart",
		       j->id);
		return;
	}
	if (j->failed)
		j->status = JOB_FAILED;
	else if (j->saw_cancel)
		j->status = JOB_CANCELLED;
	else {
		j->status = JOB_SUCCEEDED;
		j->progress = 1;
	}
	j->finished = util_wall();
	job_persist_locked(j);
	ty_log("job %s %s%s%s", j->id, status_names[j->status],
	       j->error ? ": " : "", j->error ? j->error : "");
}

static void *
runner(void *arg)
{
	pthread_mutex_lock(&J.mu);
	for (;;) {
		struct job *j;

		while (!J.stopping && !J.qhead)
			pthread_cond_wait(&J.cv, &J.mu);
		if (J.stopping || svc_stopping())
			break;
		j = J.qhead;
		job_dequeue_locked(j);
		run_one(j);
	}
	pthread_mutex_unlock(&J.mu);
	return NULL;
}

struct job *
job_new(const char *id, const struct job_kind *k, const char *kind_name,
        cJSON *params)
{
	struct job *j = xcalloc(1, sizeof *j);

	snprintf(j->id, sizeof j->id, "%s", id);
	j->kind = k;
	j->kind_name = xstrdup(kind_name);
	j->params = params;
	j->result = cJSON_CreateObject();
	pthread_mutex_init(&j->write_mu, NULL);
	return j;
}

static double
num_or(const cJSON *o, const char *k, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static char *
str_or_null(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

/* Loads one record file; NULL (logged) when unusable. */
static struct job *
load_one(const char *path, const char *id)
{
	char *text;
	size_t len;
	cJSON *o, *params, *result;
	const cJSON *kn;
	struct job *j;
	int st;

	text = util_read_file(path, 64 << 20, &len);
	if (!text) {
		ty_log("cannot read job record %s: %s", path, strerror(errno));
		return NULL;
	}
	o = cJSON_ParseWithLength(text, len);
	free(text);
	kn = cJSON_GetObjectItemCaseSensitive(o, "kind");
	st = status_parse(cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(o, "status")));
	params = cJSON_GetObjectItemCaseSensitive(o, "params");
	if (!cJSON_IsObject(o) || !cJSON_IsString(kn) || st < 0 ||
	    !cJSON_IsObject(params) ||
	    strcmp(cJSON_GetStringValue(
	               cJSON_GetObjectItemCaseSensitive(o, "job_id"))
	               ?: "",
	           id)) {
		ty_log("ignoring corrupt job record %s", path);
		cJSON_Delete(o);
		return NULL;
	}
	params = cJSON_DetachItemFromObjectCaseSensitive(o, "params");
	j = job_new(id, job_kind_find(kn->valuestring), kn->valuestring,
	            params);
	result = cJSON_DetachItemFromObjectCaseSensitive(o, "result");
	if (cJSON_IsObject(result)) {
		cJSON_Delete(j->result);
		j->result = result;
	} else {
		cJSON_Delete(result);
	}
	j->status = (enum job_status)st;
	j->progress = num_or(o, "progress", 0);
	j->message = str_or_null(o, "message");
	j->error = str_or_null(o, "error");
	j->created = num_or(o, "created", 0);
	j->started = num_or(o, "started", 0);
	j->finished = num_or(o, "finished", 0);
	j->attempts = (int)num_or(o, "attempts", 0);
	j->crashes = (int)num_or(o, "crashes", 0);
	cJSON_Delete(o);
	return j;
}

static int
cmp_created(const void *a, const void *b)
{
	const struct job *x = *(struct job *const *)a;
	const struct job *y = *(struct job *const *)b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Loads every record; re-queues unfinished ones in creation order. */
static void
load_all(void)
{
	struct job **v = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(J.dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		char id[JOB_ID_MAX + 1], *path;
		size_t len = strlen(de->d_name);
		struct job *j;

		if (len < 6 || strcmp(de->d_name + len - 5, ".json") ||
		    len - 5 > JOB_ID_MAX)
			continue;
		snprintf(id, sizeof id, "%.*s", (int)(len - 5), de->d_name);
		if (!job_id_valid(id))
			continue;
		path = xasprintf("%s/%s", J.dir, de->d_name);
		j = load_one(path, id);
		free(path);
		if (!j)
			continue;
		v = xrealloc(v, (n + 1) * sizeof *v);
		v[n++] = j;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof *v, cmp_created);
	pthread_mutex_lock(&J.mu);
	for (size_t i = n; i-- > 0;) {
		v[i]->next = J.all;
		J.all = v[i];
	}
	for (size_t i = 0; i < n; i++) {
		struct job *j = v[i];

		if (j->status != JOB_QUEUED && j->status != JOB_RUNNING)
			continue;
		if (!j->kind) {
			j->status = JOB_FAILED;
			free(j->error);
			j->error = xasprintf("kind \"%s\" is not supported by "
			                     "this worker",
			                     j->kind_name);
		} else if (j->status == JOB_RUNNING &&
		           ++j->crashes >= JOB_MAX_ATTEMPTS) {
			/* Probably this job kills the worker: stop retrying. */
			j->status = JOB_FAILED;
			free(j->error);
			j->error = xasprintf("the worker died %d times while "
			                     "running this job; giving up",
			                     j->crashes);
		} else {
			ty_log("job %s was %s: queued again", j->id,
			       status_names[j->status]);
			j->status = JOB_QUEUED;
			job_persist_locked(j);
			job_enqueue_locked(j);
			continue;
		}
		j->finished = util_wall();
		job_persist_locked(j);
	}
	pthread_mutex_unlock(&J.mu);
	free(v);
}

/*
 * Renews the lease of every queued and running job by rewriting its
 * record a third of a lease after the last write, so a live replica's
 * leases never expire and a dead one's do within TRAINYARD_LEASE_S.
 */
static void *
renewer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&J.mu);
	while (!J.stopping) {
		lease_sleep(J.lease_s / 6);
		for (struct job *j = J.all; j && !J.stopping; j = j->next)
			if ((j->status == JOB_QUEUED ||
			     j->status == JOB_RUNNING) &&
			    util_now() - j->last_write >= J.lease_s / 3)
				job_persist_locked(j);
	}
	pthread_mutex_unlock(&J.mu);
	return NULL;
}

int
job_init(const char *models_dir, const struct job_kind *kinds, size_t nkinds,
         int max_running)
{
	/* Replicas sharing one models volume keep their records apart: each
	 * resumes only its own jobs (docs/deploy.md, Placement). */
	J.root = xasprintf("%s/jobs", models_dir);
	J.dir = J.replica[0] ? xasprintf("%s/%s", J.root, J.replica)
	                     : xstrdup(J.root);
	if (util_mkdirs(J.dir, 0755))
		return -1;
	J.kinds = kinds;
	J.nkinds = nkinds;
	J.stopping = 0;
	load_all();
	J.nthreads = max_running < 1 ? 1 : max_running;
	J.threads = xcalloc((size_t)J.nthreads, sizeof *J.threads);
	for (int i = 0; i < J.nthreads; i++)
		if (pthread_create(&J.threads[i], NULL, runner, NULL))
			abort();
	if (pthread_create(&J.renewer, NULL, renewer, NULL))
		abort();
	return 0;
}

void
job_shutdown(void)
{
	struct job *j, *next;

	pthread_mutex_lock(&J.mu);
	J.stopping = 1;
	pthread_cond_broadcast(&J.cv);
	pthread_cond_broadcast(&J.lease_cv);
	pthread_mutex_unlock(&J.mu);
	for (int i = 0; i < J.nthreads; i++)
		pthread_join(J.threads[i], NULL);
	pthread_join(J.renewer, NULL);
	free(J.threads);
	J.threads = NULL;
	J.nthreads = 0;
	for (j = J.all; j; j = next) {
		next = j->next;
		job_free(j);
	}
	J.all = J.qhead = J.qtail = NULL;
	free(J.dir);
	free(J.root);
	J.dir = J.root = NULL;
}

void
job_counts(size_t counts[JOB__MAX])
{
	memset(counts, 0, JOB__MAX * sizeof counts[0]);
	pthread_mutex_lock(&J.mu);
	for (struct job *j = J.all; j; j = j->next)
		counts[j->status]++;
	pthread_mutex_unlock(&J.mu);
}
