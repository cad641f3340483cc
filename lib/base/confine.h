/*
 * confine.h — which volume paths a job may read and write.
 *
 * The web app is the only thing that chooses job paths, and a worker
 * obeys no other shape (docs/jobs.md):
 *	in:  uploads/<dataset>/<file>...  (preprocess)
 *	     prepared/<run>               (train data)
 *	     runs/<run>/model.tym         (infer)
 *	out: prepared/<run>, runs/<run>   where <run> comes from the job id
 * and an output directory that exists must have been created by the same
 * job id (its .owner file says which). A refused path is a 400 with the
 * reason, before anything is touched.
 */
#ifndef TY_CONFINE_H
#define TY_CONFINE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "util.h"

enum confine_kind {
	CONFINE_UPLOAD,       /* uploads/<dataset>/<file>... */
	CONFINE_PREPARED_IN,  /* prepared/<run> */
	CONFINE_MODEL,        /* runs/<run>/model.tym */
	CONFINE_PREPARED_OUT, /* prepared/<run of the job id> */
	CONFINE_RUNS_OUT,     /* runs/<run of the job id> */
	CONFINE__MAX,
};

/* The file in an output directory naming the job id that created it. */
#define CONFINE_OWNER ".owner"

/*
 * The output directory name of a job: "42" for the web app's ids
 * "run-42-prep" / "run-42-train" (both jobs of run 42 share it), else the
 * job id itself. Returns 0, or -1 when job_id is not a valid job id
 * ([A-Za-z0-9._-]{1,100}, not "." or "..").
 */
int confine_run_name(const char *job_id, char *out, size_t outlen) TY_WUR;

/*
 * Whether rel (relative to its volume) has the shape of kind; outputs
 * need the job id. Pure: no file system. 0, or -1 with the reason.
 */
int confine_path(enum confine_kind kind, const char *job_id, const char *rel,
                 char *err, size_t errlen) TY_WUR;

/*
 * For an output already shaped right: volume/rel either does not exist,
 * or is a real directory (not a symlink) whose .owner names job_id.
 * 0, or -1 with the reason.
 */
int confine_owner_ok(const char *volume, const char *rel, const char *job_id,
                     char *err, size_t errlen) TY_WUR;

/*
 * confine_owner_ok, then creates volume/rel (and its parent) if missing
 * and writes its .owner. 0, or -1 with the reason.
 */
int confine_claim(const char *volume, const char *rel, const char *job_id,
                  char *err, size_t errlen) TY_WUR;

/* A path field of a job's params and the shape it must have. */
struct confine_field {
	const char *name; /* "dataset", "output", ... */
	enum confine_kind kind;
};

/*
 * Checks the string fields of params (a job's POST body, with its
 * "job_id") against their shapes; a field that is absent or not a string
 * is left to the kind's own parser. 0, or -1 with a reason naming the
 * field and the value.
 */
int confine_params(const cJSON *params, const struct confine_field *f, size_t n,
                   char *err, size_t errlen) TY_WUR;

/* Writes dir/.owner = job_id (for a directory about to replace rel). */
int confine_mark(const char *dir, const char *job_id) TY_WUR;

#endif
