/*
 * jobs.h — what the web app asks of the workers: the job ids, the
 * volume paths a run's files live at, and the job bodies. The one place
 * that knows "run-<id>-prep", "prepared/<id>" or "ds-<id>-inspect".
 */
#ifndef TY_JOBS_H
#define TY_JOBS_H

#include <stddef.h>

#include "runform.h"
#include "util.h"

/* A run's two stages: its prepared data, then its model. */
enum jobs_stage { JOBS_PREP, JOBS_TRAIN, JOBS_STAGE__MAX };

/* "run-<id>-prep" / "run-<id>-train". */
void jobs_run_id(long long run_id, enum jobs_stage s, char *out, size_t outlen);
/* "ds-<id>-inspect" for attempt 0, "ds-<id>-inspect-<n>" after. */
void jobs_inspect_id(long long did, long long attempt, char *out,
                     size_t outlen);

/*
 * A run's directory on its volume: <volume>/prepared/<id> (data volume,
 * the prep stage's output) or <volume>/runs/<id> (models volume, the
 * train stage's), then "/file" when file is not NULL; the caller frees.
 */
char *jobs_path(const char *volume, long long run_id, enum jobs_stage s,
                const char *file);

/* The job bodies; the caller frees. */
char *jobs_inspect_body(long long did, long long attempt,
                        const char *dataset_path);
char *jobs_prep_body(const struct runform *rf, long long run_id,
                     const char *dataset_path);
char *jobs_train_body(const struct runform *rf, long long run_id);

#endif
