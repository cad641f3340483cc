/*
 * runrow.h — one row of the runs table, as the run pages read it
 * (columns RUN_COLS of db_stmts.h), plus the small facts derived from it
 * that several pages show: the stage, whether it is still active, the
 * best validation accuracy so far.
 */
#ifndef TY_RUNROW_H
#define TY_RUNROW_H

#include <sqlite3.h>

#include "db.h"
#include "util.h"

/* A run's status, as stored in runs.status. */
enum runrow_status {
	RUNROW_QUEUED,
	RUNROW_PREPROCESSING,
	RUNROW_TRAINING,
	RUNROW_SUCCEEDED,
	RUNROW_FAILED,
	RUNROW_CANCELLED,
	RUNROW_STATUS__MAX
};
extern const char *const runrow_status_names[RUNROW_STATUS__MAX];

struct runrow {
	long long id, project_id, dataset_id;
	char status[16]; /* runrow_status_names[st] */
	enum runrow_status st;
	char *params_json, *message, *error, *prep_json, *epochs_json,
	    *metrics_json;
	double progress;
	int cancel_requested;
	double created_at, started_at, prep_seconds, train_seconds, finished_at;
	long long number;  /* within its project: what people see as "#n" */
	char *name, *note; /* set by the person; "" when not */
	char *owner;       /* train replica's base URL; "" until placed */
};

/* Copies the current row of a RUN_COLS statement; free with runrow_free. */
void runrow_read(sqlite3_stmt *st, struct runrow *r);
void runrow_free(struct runrow *r);
/* RUN_GET: 0, or -1 when there is no such run in the project. */
int runrow_load(struct db *db, long long id, long long project_id,
                struct runrow *r) TY_WUR;
/* queued, preprocessing or training. */
int runrow_active(const struct runrow *r);
/*
 * The model's figures (metrics.json of a finished run): its val_acc and
 * val_loss, and the epoch whose weights it kept (the best-loss epoch with
 * early stopping, else the last). 0, or -1 when the run has no model.
 */
int runrow_kept(const struct runrow *r, double *acc, double *loss, int *epoch);
/* Best val_acc / its val_loss over the epochs so far; -1 when none. */
void runrow_best(const struct runrow *r, double *acc, double *loss,
                 int *epochs);

#endif
