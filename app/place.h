/*
 * place.h — which train replica runs a run (docs/deploy.md, Placement).
 *
 * TRAINYARD_TRAIN_URL lists the replicas: comma-separated base URLs or
 * one DNS name resolving to every replica (lib/base/urls.h), resolved
 * again at each call. Each replica is asked GET /capacity (service
 * token); the one with the most free slots wins, then the one with the
 * fewest jobs, then the first listed. The winner's stable address (its
 * reported "url", else the URL it was reached at) becomes the run's
 * owner: the pipeline follows the train job there from then on.
 */
#ifndef TY_PLACE_H
#define TY_PLACE_H

#include <stddef.h>

#include "util.h"

/* One replica's answer to GET /capacity. */
struct place_replica {
	char url[257];          /* where it was reached */
	char owner[257];        /* its stable address: reported url, else url */
	int answered;           /* 0: unreachable or unreadable */
	long slots, free, busy; /* busy = running + queued */
};

/* The replicas of spec, asked in turn; *n of them (free with free()).
 * 0, or -1 with err when spec does not parse or resolve. */
int place_survey(const char *spec, struct place_replica **out, int *n,
                 char *err, size_t errlen) TY_WUR;

/*
 * Chooses the replica for a train job: 0 with its owner address in
 * owner, or -1 with err (none answered, or spec is bad). exclude (may be
 * NULL) is an owner not to choose: the lost one a run leaves. One listed
 * replica and nothing excluded: chosen without asking (as before
 * placement existed).
 */
int place_choose(const char *spec, const char *exclude, char *owner,
                 size_t ownerlen, char *err, size_t errlen) TY_WUR;

/* How many replicas spec lists now (at least 1). */
int place_count(const char *spec);

#endif
