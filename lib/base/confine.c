/* confine.c — the shapes of job paths; see confine.h. */
#include "confine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define NAME_MAX_LEN 100  /* a run / dataset directory (= job id limit) */
#define FILE_MAX_LEN 255  /* a file name under uploads/<dataset>/ */
#define PATH_MAX_LEN 1024 /* the same limit as svc_volume_path */

/*
 * One row per kind: the first component, how many components, and what
 * the second and the last must be. Everything a path may look like is
 * here; confine_path has no other rule.
 */
static const struct rule {
	const char *top;
	int min, max;     /* number of components */
	int from_job;     /* the second component is the job's run name */
	const char *last; /* the last component, or NULL for any file */
	const char *shape;
} rules[CONFINE__MAX] = {
    [CONFINE_UPLOAD] = {"uploads", 3, 16, 0, NULL, "uploads/<dataset>/<file>"},
    [CONFINE_PREPARED_IN] = {"prepared", 2, 2, 0, NULL, "prepared/<run>"},
    [CONFINE_MODEL] = {"runs", 3, 3, 0, "model.tym", "runs/<run>/model.tym"},
    [CONFINE_PREPARED_OUT] = {"prepared", 2, 2, 1, NULL, "prepared/<run>"},
    [CONFINE_RUNS_OUT] = {"runs", 2, 2, 1, NULL, "runs/<run>"},
};

static int
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* [A-Za-z0-9_-][A-Za-z0-9._-]{0,n-1}: no hidden name, no "." or "..". */
static int
dir_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > NAME_MAX_LEN || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!name_char(s[i]))
			return 0;
	return 1;
}

/* Any bytes but control characters, '\' and '/'; not hidden. */
static int
file_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > FILE_MAX_LEN || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '\\')
			return 0;
	}
	return 1;
}

int
confine_run_name(const char *job_id, char *out, size_t outlen)
{
	size_t n = job_id ? strlen(job_id) : 0, d;

	if (!outlen)
		return -1;
	out[0] = '\0';
	if (n == 0 || n > NAME_MAX_LEN || !strcmp(job_id, ".") ||
	    !strcmp(job_id, ".."))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!name_char(job_id[i]))
			return -1;
	/* run-<digits>-<anything>: the web app's jobs of run <digits> */
	d = strncmp(job_id, "run-", 4) ? 0 : strspn(job_id + 4, "0123456789");
	if (d > 0 && job_id[4 + d] == '-' && job_id[5 + d] != '\0') {
		snprintf(out, outlen, "%.*s", (int)d, job_id + 4);
		return 0;
	}
	if (job_id[0] == '.')
		return -1;
	snprintf(out, outlen, "%s", job_id);
	return 0;
}

int
confine_path(enum confine_kind kind, const char *job_id, const char *rel,
             char *err, size_t errlen)
{
	const struct rule *r;
	char run[NAME_MAX_LEN + 1];
	const char *p, *comp[17];
	size_t len[17];
	int n = 0;

	if ((unsigned)kind >= CONFINE__MAX) {
		snprintf(err, errlen, "unknown path kind");
		return -1;
	}
	r = &rules[kind];
	if (r->from_job && confine_run_name(job_id, run, sizeof run)) {
		snprintf(err, errlen,
		         "no valid job id to derive the output "
		         "directory from");
		return -1;
	}
	if (!rel || !*rel || strlen(rel) > PATH_MAX_LEN)
		goto bad;
	for (p = rel;; p++) {
		size_t k = strcspn(p, "/");

		if (n == r->max)
			goto bad;
		comp[n] = p, len[n] = k;
		n++;
		p += k;
		if (!*p)
			break;
	}
	if (n < r->min || len[0] != strlen(r->top) ||
	    memcmp(comp[0], r->top, len[0]) || !dir_name_ok(comp[1], len[1]))
		goto bad;
	if (r->from_job &&
	    (len[1] != strlen(run) || memcmp(comp[1], run, len[1])))
		goto bad;
	for (int i = 2; i < n; i++)
		if (!file_name_ok(comp[i], len[i]))
			goto bad;
	if (r->last && (len[n - 1] != strlen(r->last) ||
	                memcmp(comp[n - 1], r->last, len[n - 1])))
		goto bad;
	return 0;
bad:
	if (r->from_job)
		snprintf(err, errlen,
		         "must be %s/%s: job \"%s\" writes only "
		         "there",
		         r->top, run, job_id);
	else
		snprintf(err, errlen, "must have the form %s", r->shape);
	return -1;
}

int
confine_owner_ok(const char *volume, const char *rel, const char *job_id,
                 char *err, size_t errlen)
{
	char *dir = xasprintf("%s/%s", volume, rel), *own = NULL, *s = NULL;
	struct stat st;
	size_t n = 0;
	int rc = -1;

	if (lstat(dir, &st) < 0) {
		rc = errno == ENOENT ? 0 : -1;
		if (rc)
			snprintf(err, errlen, "%s: %s", rel, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
		         "output %s exists and is not a directory this "
		         "job created",
		         rel);
		goto out;
	}
	own = xasprintf("%s/%s", dir, CONFINE_OWNER);
	s = util_read_file(own, 256, &n);
	if (!s || n != strlen(job_id) || memcmp(s, job_id, n)) {
		snprintf(err, errlen,
		         "output %s exists and was not created by job "
		         "\"%s\"",
		         rel, job_id);
		goto out;
	}
	rc = 0;
out:
	free(s);
	free(own);
	free(dir);
	return rc;
}

int
confine_mark(const char *dir, const char *job_id)
{
	char *own = xasprintf("%s/%s", dir, CONFINE_OWNER);
	int rc = util_write_atomic(own, job_id, strlen(job_id));

	free(own);
	return rc;
}

int
confine_claim(const char *volume, const char *rel, const char *job_id,
              char *err, size_t errlen)
{
	char *dir;
	int rc = 0;

	if (confine_owner_ok(volume, rel, job_id, err, errlen))
		return -1;
	dir = xasprintf("%s/%s", volume, rel);
	if (util_mkdirs(dir, 0755) < 0 || confine_mark(dir, job_id) < 0) {
		snprintf(err, errlen, "%s: %s", rel, strerror(errno));
		rc = -1;
	}
	free(dir);
	return rc;
}

int
confine_params(const cJSON *params, const struct confine_field *f, size_t n,
               char *err, size_t errlen)
{
	const char *job = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(params, "job_id"));
	char why[256];

	for (size_t i = 0; i < n; i++) {
		const char *v = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(params, f[i].name));

		if (v && confine_path(f[i].kind, job, v, why, sizeof why)) {
			snprintf(err, errlen, "%s \"%.200s\" refused: %s",
			         f[i].name, v, why);
			return -1;
		}
	}
	return 0;
}
