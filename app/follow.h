/*
 * follow.h — the web app's one client for worker jobs (DESIGN.md's job
 * API), used by the dataset inspections (inspect.c) and the run
 * supervisor (pipeline.c):
 *  - a follower thread: a tick every period, or at once when kicked;
 *  - one protocol: GET /jobs/<id>, and when the worker does not know the
 *    job (404: not posted yet, or lost in a restart) POST its body, which
 *    is idempotent by job id;
 *  - the outcome as enum wk_err plus the HTTP status, never as text to be
 *    searched;
 *  - the backoff between unanswered calls.
 */
#ifndef TY_FOLLOW_H
#define TY_FOLLOW_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stddef.h>

#include "util.h"
#include "wk.h"

struct follow_loop {
	const char *name; /* for the log: "inspect" */
	void (*tick)(void *arg);
	void *arg;
	double period_s;
	/* private */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int running, stopping, kicked;
};

/* Starts l's thread (l->name, tick, arg, period_s set); 0 or -1. */
int follow_loop_start(struct follow_loop *l) TY_WUR;
/* Stops and joins it (a tick in flight ends first). */
void follow_loop_stop(struct follow_loop *l);
/* The next tick now. */
void follow_loop_kick(struct follow_loop *l);
/* Non-zero once follow_loop_stop began. */
int follow_loop_stopping(struct follow_loop *l);

/* Where a job lives. */
struct follow_job {
	const char *service; /* "preprocess": names it in messages */
	const char *base;    /* the service's URL */
	const char *id;      /* the job id */
	/* The POST body (malloc'd) when the job must be posted, or NULL
	 * when it cannot be made (gone_err says why). */
	char *(*body)(void *arg, char *gone_err, size_t len);
	void *arg;
};

/* One answer about a job. */
struct follow_answer {
	enum wk_err e; /* WK_OK: status is the worker's answer */
	long status;   /* HTTP status; 410 when body() could not make it */
	int posted;    /* the answer is the POST's (the GET said 404) */
	cJSON *rec;    /* the parsed answer, NULL when not JSON */
	char *text;    /* the answer as sent (NUL-terminated) */
	size_t len;
	char err[400]; /* e != WK_OK or status 410: why, naming the service */
};

/* GET the job; on 404 POST it. Fills out (free with follow_answer_free). */
void follow_job_get(const struct follow_job *j, struct follow_answer *out);
/* DELETE the job (cancel). */
void follow_job_cancel(const struct follow_job *j, struct follow_answer *out);
void follow_answer_free(struct follow_answer *a);

/* Seconds to wait after the n-th unanswered call in a row: 0.5 s,
 * doubling, at most max_s. */
double follow_backoff(int n, double max_s);

#endif
