/*
 * upload.h — where uploaded datasets go on the data volume:
 * uploads/<dataset_id>/<safe name>. A file is streamed into
 * uploads/.incoming/ first and renamed into place only when complete, in
 * the same transaction that adds its datasets row, so neither a
 * half-written file nor a row without its file can remain.
 */
#ifndef TY_UPLOAD_H
#define TY_UPLOAD_H

#include <sodium.h>
#include <stddef.h>

#include "util.h"
#include "web.h"

#define UPLOAD_NAME_MAX 100

/*
 * A safe file name from what the browser sent: the last path component,
 * only A-Z a-z 0-9 . _ - (a run of anything else becomes one _), no
 * leading dots or underscores, at most UPLOAD_NAME_MAX bytes keeping the
 * extension (.tar.gz too), never empty ("upload"). out must hold
 * UPLOAD_NAME_MAX + 1 bytes.
 */
void upload_safe_name(const char *in, char *out);

struct upload_sink {
	int fd;
	char *tmp_path;
	crypto_hash_sha256_state sha;
	long long bytes, max;
};

enum upload_err {
	UPLOAD_OK = 0,
	UPLOAD_IO = -1,      /* disk full, permissions...: logged */
	UPLOAD_TOO_BIG = -2, /* past max; nothing more is written */
	/* the project has these very bytes already (same SHA-256):
	 * nothing is stored, *dataset_id is the existing dataset */
	UPLOAD_DUPLICATE = -3,
};

/* Opens a temporary file under uploads/.incoming/. */
enum upload_err upload_sink_open(struct web *w, struct upload_sink *s) TY_WUR;
enum upload_err upload_sink_write(struct upload_sink *s, const void *p,
                                  size_t n) TY_WUR;
/*
 * Moves the finished file into uploads/<id>/name and records it in
 * datasets, atomically. Fills *dataset_id. The sink is closed either way.
 * UPLOAD_DUPLICATE: the project already holds the same bytes.
 */
enum upload_err upload_sink_commit(struct web *w, struct upload_sink *s,
                                   long long project_id, const char *name,
                                   long long *dataset_id) TY_WUR;
/* Deletes the temporary file. Safe to call twice or on an unopened sink. */
void upload_sink_abort(struct upload_sink *s);

/* Removes uploads/<dataset_id>/ (after its row is gone). */
void upload_remove(struct web *w, long long dataset_id);
/* At start: removes what a crash left in uploads/.incoming/. */
void upload_clean_incoming(struct web *w);

#endif
