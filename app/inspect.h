/*
 * inspect.h — following the preprocess worker's inspection of each
 * uploaded dataset. One background thread (follow.h) finds datasets still
 * 'uploaded' or 'inspecting' (so a web restart picks up where it was),
 * follows the inspect job (job id ds-<id>-inspect: posted when the
 * worker does not know it, so retries never start the work twice), and
 * stores the report: status 'ready' or 'unusable' with the reason. A
 * worker that cannot be reached is retried with backoff for a bounded
 * time; meanwhile the dataset page shows why it waits.
 */
#ifndef TY_INSPECT_H
#define TY_INSPECT_H

#include <stddef.h>

#include "util.h"
#include "web.h"

/* Starts the follower thread; 0 or -1. */
int inspect_start(struct web *w) TY_WUR;
/* Stops it (waits for the current request to finish). */
void inspect_stop(void);
/* Wakes the follower now (after an upload). */
void inspect_kick(void);

/* What the follower knows about one dataset that is not in the db. */
struct inspect_state {
	int known;       /* the follower has seen this dataset */
	int unreachable; /* the last attempt could not reach the worker */
	double progress; /* 0..1, from the job */
	char message[128];
	char err[400];   /* the last failure, naming the service and URL */
	double retry_in; /* seconds until the next attempt */
};
void inspect_state_of(long long did, struct inspect_state *out);

/* The verdict on one answer of POST /jobs. */
enum inspect_next {
	INSPECT_WAIT,     /* queued or running: ask again */
	INSPECT_READY,    /* report stored, usable */
	INSPECT_UNUSABLE, /* report (maybe NULL) and reason stored */
	INSPECT_RETRY,    /* the worker's own trouble: try again later */
};

struct inspect_result {
	enum inspect_next next;
	char *report_json; /* the job's result (READY/UNUSABLE), or NULL */
	char reason[400];  /* UNUSABLE/RETRY: why, for a person */
	double progress;
	char message[128];
};

/*
 * Judges an HTTP answer (status, body of at most len bytes, need not be
 * NUL-terminated) of the preprocess worker's POST /jobs. Fills *out;
 * free out->report_json. Never trusts the body: any shape is handled.
 */
void inspect_judge(long status, const char *body, size_t len,
                   struct inspect_result *out);

#endif
