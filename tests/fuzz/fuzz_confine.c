/*
 * fuzz_confine.c — libFuzzer harness for the job path confinement
 * (lib/base/confine.c). Input: one byte for the kind, then the job id and
 * the path separated by a NUL. Whatever is accepted must stay inside its
 * namespace: the right first component, no "."/".." or empty component,
 * no control character or backslash, and for outputs exactly the
 * directory derived from the job id.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "confine.h"
#include "svc.h"
#include "util.h"

static const char *const tops[CONFINE__MAX] = {
    "uploads/", "prepared/", "runs/", "prepared/", "runs/",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], run[128];
	enum confine_kind k;
	char *s, *job, *path, *joined;

	if (size < 1)
		return 0;
	k = (enum confine_kind)(data[0] % CONFINE__MAX);
	s = xmalloc(size + 1);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	job = s;
	path = memchr(s, '\0', size - 1) && strlen(s) + 1 < size
	           ? s + strlen(s) + 1
	           : s;
	if (confine_path(k, job, path, err, sizeof err) == 0) {
		if (strncmp(path, tops[k], strlen(tops[k])))
			abort();
		/* the general volume rule must agree */
		joined = svc_volume_path("/v", path, err, sizeof err);
		if (!joined)
			abort();
		free(joined);
		for (const char *p = path; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == '\\' ||
			    (*p == '/' && p[1] == '.'))
				abort();
		if (k == CONFINE_PREPARED_OUT || k == CONFINE_RUNS_OUT) {
			if (confine_run_name(job, run, sizeof run) ||
			    strcmp(path + strlen(tops[k]), run))
				abort();
		}
	}
	free(s);
	return 0;
}
