/* upload.c — dataset files on the data volume; see upload.h. */
#include "upload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
keep_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/* Length of the extension to keep when shortening: .tar.gz or .ext. */
static size_t
ext_len(const char *s, size_t n)
{
	static const char *const compound[] = {".tar.gz", ".tar.bz2", ".tar.xz",
	                                       ".tar.zst"};
	const char *dot;

	for (size_t i = 0; i < TY_ARRAY_LEN(compound); i++) {
		size_t cl = strlen(compound[i]);
		if (n > cl && strcmp(s + n - cl, compound[i]) == 0)
			return cl;
	}
	dot = strrchr(s, '.');
	if (dot && dot != s && (size_t)(s + n - dot) <= 10)
		return (size_t)(s + n - dot);
	return 0;
}

void
upload_safe_name(const char *in, char *out)
{
	const char *base = in, *p;
	char tmp[4096];
	size_t n = 0, e;

	for (p = in; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	for (p = base; *p && n + 1 < sizeof(tmp); p++) {
		char c = keep_char((unsigned char)*p) ? *p : '_';
		if (c == '_' && n && tmp[n - 1] == '_')
			continue; /* one _ for a run of odd bytes */
		if ((c == '.' || c == '_') && n == 0)
			continue; /* no hidden files, no "..", no leading _ */
		tmp[n++] = c;
	}
	while (n && (tmp[n - 1] == '.' || tmp[n - 1] == '_'))
		n--;
	tmp[n] = '\0';
	if (n == 0 || strspn(tmp, "_") == n) {
		strcpy(out, "upload");
		return;
	}
	if (n <= UPLOAD_NAME_MAX) {
		memcpy(out, tmp, n + 1);
		return;
	}
	e = ext_len(tmp, n);
	memcpy(out, tmp, UPLOAD_NAME_MAX - e);
	memcpy(out + UPLOAD_NAME_MAX - e, tmp + n - e, e + 1);
}

static char *
incoming_dir(struct web *w)
{
	return xasprintf("%s/uploads/.incoming", w->data_dir);
}

enum upload_err
upload_sink_open(struct web *w, struct upload_sink *s)
{
	char *dir = incoming_dir(w);

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->max = w->max_upload_bytes;
	if (util_mkdirs(dir, 0755) < 0) {
		ty_log("upload: mkdir %s: %s", dir, strerror(errno));
		free(dir);
		return UPLOAD_IO;
	}
	s->tmp_path = xasprintf("%s/up-XXXXXX", dir);
	free(dir);
	s->fd = mkstemp(s->tmp_path);
	if (s->fd < 0) {
		ty_log("upload: mkstemp %s: %s", s->tmp_path, strerror(errno));
		free(s->tmp_path);
		s->tmp_path = NULL;
		return UPLOAD_IO;
	}
	crypto_hash_sha256_init(&s->sha);
	return UPLOAD_OK;
}

enum upload_err
upload_sink_write(struct upload_sink *s, const void *p, size_t n)
{
	const char *c = p;

	if (s->bytes + (long long)n > s->max)
		return UPLOAD_TOO_BIG;
	crypto_hash_sha256_update(&s->sha, p, n);
	s->bytes += (long long)n;
	while (n > 0) {
		ssize_t k = write(s->fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			ty_log("upload: write %s: %s", s->tmp_path,
			       strerror(errno));
			return UPLOAD_IO;
		}
		c += k;
		n -= (size_t)k;
	}
	return UPLOAD_OK;
}

void
upload_sink_abort(struct upload_sink *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->tmp_path) {
		if (unlink(s->tmp_path) < 0 && errno != ENOENT)
			ty_log("upload: unlink %s: %s", s->tmp_path,
			       strerror(errno));
		free(s->tmp_path);
		s->tmp_path = NULL;
	}
}

static void
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

enum upload_err
upload_sink_commit(struct web *w, struct upload_sink *s, long long project_id,
                   const char *name, long long *dataset_id)
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];
	char *dir = NULL, *final = NULL, *rel = NULL;
	int64_t id;

	crypto_hash_sha256_final(&s->sha, digest);
	sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
	if (fsync(s->fd) < 0 || close(s->fd) < 0) {
		s->fd = -1;
		ty_log("upload: fsync %s: %s", s->tmp_path, strerror(errno));
		goto fail;
	}
	s->fd = -1;
	/* the same archive twice would be inspected and stored twice for
	 * nothing: point at the one the project has */
	id = db_int(w->db, DB_DATASET_BY_SHA, 0, "it", project_id, hex);
	if (id > 0) {
		upload_sink_abort(s);
		*dataset_id = id;
		return UPLOAD_DUPLICATE;
	}
	if (db_tx_begin(w->db) != DB_OK)
		goto fail;
	id = db_insert(w->db, DB_DATASET_INSERT, "ititi", project_id, name,
	               s->bytes, hex, (long long)util_wall());
	if (id < 0)
		goto rollback;
	dir = xasprintf("%s/uploads/%lld", w->data_dir, (long long)id);
	final = xasprintf("%s/%s", dir, name);
	rel = xasprintf("uploads/%lld/%s", (long long)id, name);
	/* A directory left by a row that was rolled back is stale. */
	if ((util_rmtree(dir) < 0 && errno != ENOENT) ||
	    util_mkdirs(dir, 0755) < 0 || rename(s->tmp_path, final) < 0) {
		ty_log("upload: placing %s: %s", final, strerror(errno));
		goto rollback;
	}
	fsync_dir(dir);
	if (db_exec(w->db, DB_DATASET_SET_PATH, "ti", rel, (long long)id) !=
	    DB_OK)
		goto rollback;
	if (db_tx_end(w->db, 1) != DB_OK) { /* rolled back and unlocked */
		if (util_rmtree(dir) < 0)
			ty_log("upload: cleanup %s: %s", dir, strerror(errno));
		goto fail;
	}
	*dataset_id = id;
	free(s->tmp_path);
	s->tmp_path = NULL;
	free(dir);
	free(final);
	free(rel);
	return UPLOAD_OK;
rollback:
	if (db_tx_end(w->db, 0) != DB_OK)
		ty_log("upload: rollback failed");
	if (dir && util_rmtree(dir) < 0 && errno != ENOENT)
		ty_log("upload: cleanup %s: %s", dir, strerror(errno));
fail:
	upload_sink_abort(s);
	free(dir);
	free(final);
	free(rel);
	return UPLOAD_IO;
}

void
upload_remove(struct web *w, long long dataset_id)
{
	char *dir = xasprintf("%s/uploads/%lld", w->data_dir, dataset_id);

	if (util_rmtree(dir) < 0 && errno != ENOENT)
		ty_log("upload: cannot remove %s: %s", dir, strerror(errno));
	free(dir);
}

void
upload_clean_incoming(struct web *w)
{
	char *dir = incoming_dir(w);

	if (util_rmtree(dir) < 0 && errno != ENOENT)
		ty_log("upload: cannot clean %s: %s", dir, strerror(errno));
	free(dir);
}
