/*
 * job_int.h — what the parts of the job system share (job.c: records,
 * queue, runners, persistence, leases; job_http.c: the routes and the
 * svc_mount hooks). Not for workers: they use job.h.
 */
#ifndef TY_JOB_INT_H
#define TY_JOB_INT_H

#include <pthread.h>

#include "job.h"

#define JOB_ID_MAX 100

struct job {
	char id[JOB_ID_MAX + 1];
	char *kind_name;
	const struct job_kind *kind; /* NULL: kind unknown to this build */
	enum job_status status;
	double progress;
	char *message, *error;
	cJSON *params, *result;
	double created, started, finished, last_write;
	int attempts;
	int crashes;    /* starts that ended with the process dying */
	int cancel;     /* DELETE asked for it */
	int saw_cancel; /* run saw job_cancelled() return true */
	int failed;     /* run called job_fail */
	pthread_mutex_t write_mu;
	struct job *next;       /* all jobs */
	struct job *queue_next; /* queued jobs, FIFO */
};

struct job_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *dir;
	char replica[101]; /* TRAINYARD_REPLICA, "" when unset */
	char url[257];     /* TRAINYARD_REPLICA_URL: its stable address */
	const struct job_kind *kinds;
	size_t nkinds;
	struct job *all;
	struct job *qhead, *qtail;
	pthread_t *threads;
	int nthreads;
	char *root;              /* <models>/jobs: every replica's records */
	double lease_s;          /* TRAINYARD_LEASE_S */
	pthread_cond_t lease_cv; /* the renewer's and claim waits' sleep */
	pthread_t renewer;
	int stopping;
};
extern struct job_state job_g;

const char *job_status_name(enum job_status s);
int job_id_valid(const char *id);
const struct job_kind *job_kind_find(const char *name);
/* The job of id, or NULL; J.mu held. */
struct job *job_find(const char *id);
struct job *job_new(const char *id, const struct job_kind *k,
                    const char *kind_name, cJSON *params);
/* The record as JSON; J.mu held. */
cJSON *job_to_json(const struct job *j);
/* Writes the record (drops and retakes J.mu). */
void job_persist_locked(struct job *j);
void job_enqueue_locked(struct job *j);
void job_dequeue_locked(struct job *j);
void job_counts(size_t counts[JOB__MAX]);
int job_init(const char *models_dir, const struct job_kind *kinds,
             size_t nkinds, int max_running);
void job_shutdown(void);

#endif
