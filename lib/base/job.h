/*
 * job.h — the job API of DESIGN.md, shared by every worker with long work.
 *
 * A worker declares its kinds as a table and mounts JOB_MOUNT(kinds) into
 * its svc_def; the shell then serves
 *	POST /jobs {"job_id", "kind"?, ...params}   202 new / 200 existing
 *	GET /jobs/{id}                              the record, 404 unknown
 *	DELETE /jobs/{id}                           cancel
 *	GET /capacity       {"replica", "slots", "running", "queued", "free"}
 * Records live in <models>/jobs/<id>.json (<models>/jobs/<replica>/ when
 * TRAINYARD_REPLICA names this replica of several sharing the volume), written
 *atomically on every state change and at most about once a second on progress.
 *At start the records are loaded: finished ones answer GET, queued/running ones
 *are queued again and their run function is called again with the same params
 *(a kind resumes from its own checkpoint if it has one).
 *
 * A record:
 *	{"job_id", "kind", "status":
 *"queued|running|succeeded|failed|cancelled", "progress": 0..1, "message",
 *"params", "result": {...}, "error", "created", "started", "finished",
 *"attempts"}
 */
#ifndef TY_JOB_H
#define TY_JOB_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "svc.h"
#include "util.h"

struct job;

struct job_kind {
	const char *name;
	/*
	 * Checks params before a job is accepted; returns 0, or non-zero
	 * with a message for the caller in err (the POST answers 400).
	 * May be NULL. Must not keep params.
	 */
	int (*validate)(const cJSON *params, char *err, size_t errlen);
	/*
	 * Does the work on a job thread. params is the whole POST body
	 * (read-only, owned by the job). Returning without job_fail() marks
	 * the job succeeded, unless it was cancelled: then it is cancelled,
	 * or, when the process is shutting down, it stays queued on disk and
	 * runs again at the next start.
	 */
	void (*run)(struct job *j, const cJSON *params, void *arg);
	void *arg;
};

enum job_status {
	JOB_QUEUED,
	JOB_RUNNING,
	JOB_SUCCEEDED,
	JOB_FAILED,
	JOB_CANCELLED,
	JOB__MAX
};

/* fraction in 0..1; the message is optional (fmt may be NULL). */
void job_progress(struct job *j, double fraction, const char *fmt, ...)
    TY_PRINTF(3, 4);
/*
 * The result object, locked: change it, then unlock. GET shows it at
 * once; unlock with persist != 0 to write the record now (e.g. after an
 * epoch), else it is written with the next progress/state write. The
 * lock is the job layer's: call no other job_ function while holding it.
 */
cJSON *job_result_lock(struct job *j);
void job_result_unlock(struct job *j, int persist);
/* Non-zero once the job was cancelled or the process is stopping. */
int job_cancelled(const struct job *j);
/* Marks the job failed with a message; the run function should return. */
void job_fail(struct job *j, const char *fmt, ...) TY_PRINTF(2, 3);

/*
 * The svc_mount of the job system: the /jobs routes; start loads the
 * records under <models>/jobs and starts TRAINYARD_MAX_JOBS (1..64,
 * default 1) runner threads; stop stops accepting, tells running jobs to
 * stop and waits for them; metrics sets trainyard_jobs{status}.
 */
struct job_kinds {
	const struct job_kind *kinds;
	size_t n;
};
#define JOB_NROUTES 4
extern const struct svc_route job_routes[JOB_NROUTES];
int job_start(const void *kinds, int argc, char **argv) TY_WUR;
void job_stop(const void *kinds);
void job_metrics(const void *kinds);
#define JOB_MOUNT(k)                                                           \
	{                                                                      \
		job_routes, JOB_NROUTES,                                       \
		    &(const struct job_kinds){(k), TY_ARRAY_LEN(k)},           \
		    job_start, job_stop, job_metrics                           \
	}

#endif
