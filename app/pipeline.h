/*
 * pipeline.h — the supervisor that drives runs through the workers:
 * queued -> preprocessing -> training -> succeeded | failed | cancelled.
 *
 * One thread. Every tick it starts queued runs while fewer than
 * TRAINYARD_MAX_RUNS are active, then follows each active run's job on its
 * worker (job ids run-<id>-prep / run-<id>-train, so a re-post after any
 * restart finds the same job). All state it needs is in the runs table,
 * so a restarted web app simply carries on. A worker that cannot be
 * reached is retried with backoff for TRAINYARD_RETRY_SECONDS, then the
 * run fails naming the service. Nothing holds the database lock while
 * talking to a worker.
 */
#ifndef TY_PIPELINE_H
#define TY_PIPELINE_H

#include "util.h"
#include "web.h"

/* What the supervisor last heard from the train worker (not stored). */
struct pipeline_live {
	int epoch, epochs;  /* 1-based epoch now running, of epochs */
	double eta_seconds; /* of the current stage; < 0 unknown */
	double images_per_second;
	int retrying; /* the worker did not answer last time */
};

/* Reads TRAINYARD_MAX_RUNS, _RETRY_SECONDS, _POLL_MS, _RUN_TIMEOUT and
 * starts the thread; 0 or -1. */
int pipeline_start(struct web *w, int argc, char **argv) TY_WUR;
/* Stops and joins the thread (a worker call in flight ends first). */
void pipeline_stop(void);
/* Wakes the supervisor now (a run was created or cancelled). */
void pipeline_kick(void);
/* Copies the live state of run id; 0, or -1 when there is none. */
int pipeline_live_get(long long run_id, struct pipeline_live *out) TY_WUR;
/* Non-zero once pipeline_stop() began: long requests should end. */
int pipeline_stopping(void);
/* Runs at once: TRAINYARD_MAX_RUNS per train replica. */
int pipeline_max_runs(void);

#endif
