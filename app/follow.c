/* follow.c — following worker jobs; see follow.h. */
#include "follow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CALL_TIMEOUT_MS 10000L
#define ANSWER_MAX (8u << 20) /* a job record with its result */

static void *
loop(void *arg)
{
	struct follow_loop *l = arg;
	struct timespec ts;
	double t;

	pthread_mutex_lock(&l->mu);
	while (!l->stopping) {
		pthread_mutex_unlock(&l->mu);
		l->tick(l->arg);
		pthread_mutex_lock(&l->mu);
		if (l->stopping)
			break;
		if (!l->kicked) {
			clock_gettime(CLOCK_REALTIME, &ts);
			t = (double)ts.tv_sec + ts.tv_nsec / 1e9 + l->period_s;
			ts.tv_sec = (time_t)t;
			ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
			pthread_cond_timedwait(&l->cv, &l->mu, &ts);
		}
		l->kicked = 0;
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

int
follow_loop_start(struct follow_loop *l)
{
	int rc;

	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	l->stopping = l->kicked = 0;
	rc = pthread_create(&l->thread, NULL, loop, l);
	l->running = rc == 0;
	if (rc) {
		ty_log("%s: cannot start the follower thread: %s", l->name,
		       strerror(rc));
		return -1;
	}
	return 0;
}

void
follow_loop_stop(struct follow_loop *l)
{
	if (!l->running)
		return;
	pthread_mutex_lock(&l->mu);
	l->stopping = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	l->running = 0;
}

void
follow_loop_kick(struct follow_loop *l)
{
	if (!l->running)
		return;
	pthread_mutex_lock(&l->mu);
	l->kicked = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

int
follow_loop_stopping(struct follow_loop *l)
{
	int s;

	if (!l->running)
		return 0;
	pthread_mutex_lock(&l->mu);
	s = l->stopping;
	pthread_mutex_unlock(&l->mu);
	return s;
}

static void
call(const struct follow_job *j, const char *method, const char *path,
     const char *body, struct follow_answer *out)
{
	struct wk_resp r;

	out->e = wk_request(j->service, j->base, method, path, body,
	                    body ? strlen(body) : 0, CALL_TIMEOUT_MS,
	                    ANSWER_MAX, &r);
	out->status = r.status;
	out->text = r.body;
	out->len = r.len;
	snprintf(out->err, sizeof(out->err), "%s", r.err);
	out->rec =
	    out->e == WK_OK ? cJSON_ParseWithLength(r.body, r.len) : NULL;
}

void
follow_job_get(const struct follow_job *j, struct follow_answer *out)
{
	char path[160];
	char *body;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/jobs/%s", j->id);
	call(j, "GET", path, NULL, out);
	if (out->e != WK_OK || out->status != 404)
		return;
	/* Not there yet (or the worker lost it): post it. */
	follow_answer_free(out);
	out->posted = 1;
	body = j->body(j->arg, out->err, sizeof(out->err));
	if (!body) {
		out->status = 410;
		out->text = xstrdup("");
		return;
	}
	call(j, "POST", "/jobs", body, out);
	out->posted = 1;
	free(body);
}

void
follow_job_cancel(const struct follow_job *j, struct follow_answer *out)
{
	char path[160];

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/jobs/%s", j->id);
	call(j, "DELETE", path, NULL, out);
}

void
follow_answer_free(struct follow_answer *a)
{
	cJSON_Delete(a->rec);
	free(a->text);
	memset(a, 0, sizeof(*a));
}

double
follow_backoff(int n, double max_s)
{
	double wait = 0.5;

	for (int i = 1; i < n && wait < max_s; i++)
		wait *= 2;
	return wait > max_s ? max_s : wait;
}
