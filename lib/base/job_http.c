/*
 * job_http.c — the /jobs and /capacity routes and the svc_mount hooks of
 * the job system (job_int.h).
 */
#include <stdio.h>
#include <string.h>

#include <civetweb.h>

#include "job_int.h"
#include "metrics.h"
#include "svc.h"

#define J job_g

static int
reply_job_locked(struct mg_connection *c, int status, const struct job *j)
{
	cJSON *o = job_to_json(j);

	pthread_mutex_unlock(&J.mu);
	svc_reply_json(c, status, o);
	cJSON_Delete(o);
	return status;
}

static int
job_http_post(struct mg_connection *c, void *arg)
{
	char err[512];
	const struct job_kind *k;
	const char *id, *kn;
	struct job *j;
	cJSON *body;
	int st;

	if ((st = svc_read_json(c, 0, &body, err, sizeof err)))
		return svc_reply_error(c, st, "%s", err);
	id = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(body, "job_id"));
	if (!job_id_valid(id)) {
		cJSON_Delete(body);
		return svc_reply_error(c, 400,
		                       "job_id must be 1 to %d of "
		                       "A-Z a-z 0-9 . _ -",
		                       JOB_ID_MAX);
	}
	pthread_mutex_lock(&J.mu);
	if ((j = job_find(id))) {
		cJSON_Delete(body);
		return reply_job_locked(c, 200, j);
	}
	pthread_mutex_unlock(&J.mu);

	kn = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(body, "kind"));
	if (cJSON_HasObjectItem(body, "kind") && !kn) {
		cJSON_Delete(body);
		return svc_reply_error(c, 400, "kind must be a string");
	}
	k = kn ? job_kind_find(kn) : &J.kinds[0];
	if (!k) {
		/* kn points into body: answer before freeing it. */
		st = svc_reply_error(c, 400, "unknown kind \"%.100s\"", kn);
		cJSON_Delete(body);
		return st;
	}
	err[0] = '\0';
	if (k->validate && k->validate(body, err, sizeof err)) {
		cJSON_Delete(body);
		return svc_reply_error(c, 400, "%s",
		                       err[0] ? err : "invalid parameters");
	}

	pthread_mutex_lock(&J.mu);
	if (J.stopping || svc_stopping()) {
		pthread_mutex_unlock(&J.mu);
		cJSON_Delete(body);
		return svc_reply_error(c, 503, "shutting down");
	}
	/* Another request may have created it meanwhile. */
	if ((j = job_find(id))) {
		cJSON_Delete(body);
		return reply_job_locked(c, 200, j);
	}
	j = job_new(id, k, k->name, body);
	j->status = JOB_QUEUED;
	j->created = util_wall();
	j->next = J.all;
	J.all = j;
	/* On disk before anyone is told it exists. */
	job_persist_locked(j);
	job_enqueue_locked(j);
	return reply_job_locked(c, 202, j);
}

static int
job_http_item(struct mg_connection *c, void *arg)
{
	const char *id = svc_path_tail(c, "/jobs/*");
	const char *method = mg_get_request_info(c)->request_method;
	struct job *j;

	if (!job_id_valid(id))
		return svc_reply_error(c, 404, "no such job");
	pthread_mutex_lock(&J.mu);
	if (!(j = job_find(id))) {
		pthread_mutex_unlock(&J.mu);
		return svc_reply_error(c, 404, "no such job: %s", id);
	}
	if (!strcmp(method, "DELETE")) {
		if (j->status == JOB_QUEUED) {
			job_dequeue_locked(j);
			j->status = JOB_CANCELLED;
			j->cancel = 1;
			j->finished = util_wall();
			job_persist_locked(j);
		} else if (j->status == JOB_RUNNING) {
			j->cancel = 1;
		}
	}
	return reply_job_locked(c, 200, j);
}

/*
 * GET /capacity: what the web app places runs by. slots is
 * TRAINYARD_MAX_JOBS, free the slots neither running nor promised to a
 * queued job.
 */
static int
job_http_capacity(struct mg_connection *c, void *arg)
{
	size_t counts[JOB__MAX];
	cJSON *o = cJSON_CreateObject();
	long busy, free_slots;

	(void)arg;
	job_counts(counts);
	busy = (long)(counts[JOB_RUNNING] + counts[JOB_QUEUED]);
	free_slots = J.nthreads > busy ? J.nthreads - busy : 0;
	cJSON_AddStringToObject(o, "replica", J.replica);
	cJSON_AddStringToObject(o, "url", J.url);
	cJSON_AddNumberToObject(o, "slots", J.nthreads);
	cJSON_AddNumberToObject(o, "running", (double)counts[JOB_RUNNING]);
	cJSON_AddNumberToObject(o, "queued", (double)counts[JOB_QUEUED]);
	cJSON_AddNumberToObject(o, "free", (double)free_slots);
	cJSON_AddBoolToObject(o, "stopping", J.stopping || svc_stopping());
	svc_reply_json(c, 200, o);
	cJSON_Delete(o);
	return 200;
}

const struct svc_route job_routes[JOB_NROUTES] = {
    {"GET", "/capacity", job_http_capacity, NULL, SVC_TOKEN},
    {"POST", "/jobs", job_http_post, NULL, SVC_TOKEN},
    {"GET", "/jobs/*", job_http_item, NULL, SVC_TOKEN},
    {"DELETE", "/jobs/*", job_http_item, NULL, SVC_TOKEN},
};

int
job_start(const void *kinds, int argc, char **argv)
{
	const struct job_kinds *k = kinds;
	long max = cfg_long(argc, argv, "TRAINYARD_MAX_JOBS", 1);

	const char *rep = cfg_str(argc, argv, "TRAINYARD_REPLICA", "");

	if (max < 1 || max > 64)
		max = 1;
	if (*rep && !job_id_valid(rep)) {
		ty_log("TRAINYARD_REPLICA must be 1 to %d of A-Z a-z 0-9 . _ -",
		       JOB_ID_MAX);
		return -1;
	}
	snprintf(J.replica, sizeof J.replica, "%s", rep);
	J.lease_s = (double)cfg_long(argc, argv, "TRAINYARD_LEASE_S", 30);
	if (J.lease_s < 1)
		J.lease_s = 30;
	snprintf(J.url, sizeof J.url, "%s",
	         cfg_str(argc, argv, "TRAINYARD_REPLICA_URL", ""));
	if (job_init(svc_models_dir(), k->kinds, k->n, (int)max)) {
		ty_log("cannot start the job system in %s/jobs",
		       svc_models_dir());
		return -1;
	}
	return 0;
}

void
job_stop(const void *kinds)
{
	job_shutdown();
}

void
job_metrics(const void *kinds)
{
	size_t counts[JOB__MAX];
	char name[96];

	job_counts(counts);
	for (int i = 0; i < JOB__MAX; i++) {
		snprintf(name, sizeof name, "trainyard_jobs{status=\"%s\"}",
		         job_status_name((enum job_status)i));
		metrics_gauge_set(name, (double)counts[i]);
	}
}
