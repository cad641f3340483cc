/*
 * lease.h — one job on one replica at a time, when replicas share the
 * models volume (docs/deploy.md, Leases).
 *
 * Every replica keeps its job records in its own directory under
 * <models>/jobs (job.c). A queued or running record carries a lease
 * {"owner", "expires"}, renewed by the replica that holds it while it
 * lives. Before a replica runs a job it looks at the other replicas'
 * records of the same id:
 *  - a newer record (created later): the job was re-placed there, this
 *    copy yields for good;
 *  - an older record, still queued or running, with a lease not yet
 *    expired: wait (its holder may be alive);
 *  - an older record that succeeded or failed: the job ended there, this
 *    copy takes that outcome instead of running again;
 *  - otherwise (expired, cancelled, none): free to run.
 * Each replica writes its claim (its own record with a lease) before it
 * looks, so of two replicas starting at once at least one sees the other.
 */
#ifndef TY_LEASE_H
#define TY_LEASE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "util.h"

enum lease_verdict {
	LEASE_FREE,  /* run it */
	LEASE_WAIT,  /* another replica's lease is live: wait, look again */
	LEASE_YIELD, /* re-placed on another replica since: give it up */
	LEASE_ENDED, /* it ended on another replica: take that outcome */
};

struct lease_look {
	enum lease_verdict v;
	char other[128]; /* the other replica's name ("" = unnamed) */
	double wait_s;   /* LEASE_WAIT: until its lease expires */
	cJSON *record;   /* LEASE_ENDED: its record (caller deletes) */
};

/*
 * Looks at every record of job id under root (<models>/jobs: the
 * unnamed replica's root/<id>.json and each root/<name>/<id>.json) but
 * the one in own_dir, for a job of ours created at own_created.
 */
void lease_look(const char *root, const char *own_dir, const char *id,
                double own_created, double now, struct lease_look *out);

/* Adds "lease": {"owner", "expires"} to a record. */
void lease_add(cJSON *rec, const char *owner, double expires);

#endif
