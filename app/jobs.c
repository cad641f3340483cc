/* jobs.c — job ids, run paths and job bodies; see jobs.h. */
#include "jobs.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const suffix[JOBS_STAGE__MAX] = {"prep", "train"};
static const char *const dir[JOBS_STAGE__MAX] = {"prepared", "runs"};

void
jobs_run_id(long long run_id, enum jobs_stage s, char *out, size_t outlen)
{
	snprintf(out, outlen, "run-%lld-%s", run_id, suffix[s]);
}

void
jobs_inspect_id(long long did, long long attempt, char *out, size_t outlen)
{
	if (attempt > 0)
		snprintf(out, outlen, "ds-%lld-inspect-%lld", did, attempt);
	else
		snprintf(out, outlen, "ds-%lld-inspect", did);
}

/* "prepared/<id>" or "runs/<id>": relative to the volume. */
static void
jobs_run_dir(long long run_id, enum jobs_stage s, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%lld", dir[s], run_id);
}

char *
jobs_path(const char *volume, long long run_id, enum jobs_stage s,
          const char *file)
{
	return xasprintf("%s/%s/%lld%s%s", volume, dir[s], run_id,
	                 file ? "/" : "", file ? file : "");
}

/* {job_id, kind, dataset}: what both preprocess jobs start with. */
static cJSON *
prep_job(const char *id, const char *kind, const char *dataset_path)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "job_id", id);
	cJSON_AddStringToObject(j, "kind", kind);
	cJSON_AddStringToObject(j, "dataset", dataset_path);
	return j;
}

char *
jobs_inspect_body(long long did, long long attempt, const char *dataset_path)
{
	char id[64];

	jobs_inspect_id(did, attempt, id, sizeof(id));
	return util_json_text(prep_job(id, "inspect", dataset_path));
}

char *
jobs_prep_body(const struct runform *rf, long long run_id,
               const char *dataset_path)
{
	cJSON *j;
	char buf[64];

	jobs_run_id(run_id, JOBS_PREP, buf, sizeof(buf));
	j = prep_job(buf, "prepare", dataset_path);
	jobs_run_dir(run_id, JOBS_PREP, buf, sizeof(buf));
	cJSON_AddStringToObject(j, "output", buf);
	params_to_json(&rf->run, F_FORM | F_PREP, j);
	return util_json_text(j);
}

char *
jobs_train_body(const struct runform *rf, long long run_id)
{
	cJSON *j = cJSON_CreateObject();
	char buf[64];

	jobs_run_id(run_id, JOBS_TRAIN, buf, sizeof(buf));
	cJSON_AddStringToObject(j, "job_id", buf);
	jobs_run_dir(run_id, JOBS_PREP, buf, sizeof(buf));
	cJSON_AddStringToObject(j, "data", buf);
	jobs_run_dir(run_id, JOBS_TRAIN, buf, sizeof(buf));
	cJSON_AddStringToObject(j, "output", buf);
	/* the form's rows only: the rest keep the train worker's defaults */
	params_to_json(&rf->run, F_FORM | F_TRAIN, j);
	/* colour pictures get the colour preset (train worker's augment.c),
	 * gray ones the small shifts */
	if (rf->augment && rf->channels == 3)
		cJSON_AddStringToObject(j, "augment", "colour");
	else
		cJSON_AddBoolToObject(j, "augment", rf->augment);
	cJSON_AddBoolToObject(j, "early_stopping", rf->early_stopping);
	return util_json_text(j);
}
