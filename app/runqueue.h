/*
 * runqueue.h — the order in which queued runs start: turns between users
 * (the owners of the runs' projects), so one user's long queue does not
 * hold everyone else's runs back (issue 13 §3).
 *
 * The next run is the oldest queued run of the user with the fewest runs
 * active, then of the user whose last run started longest ago, then the
 * oldest run. The pipeline starts runs in this order when a slot of
 * TRAINYARD_MAX_RUNS frees; the run page shows a run's place in it.
 */
#ifndef TY_RUNQUEUE_H
#define TY_RUNQUEUE_H

#include <stddef.h>

#include "db.h"

/* The queued runs' ids in starting order (xmalloc'd, may be NULL when
 * none); returns their number. */
size_t runqueue_order(struct db *db, long long **ids);

/* 1-based place of run id in the order; 0 when it is not queued. */
size_t runqueue_position(struct db *db, long long id);

#endif
