/* confine: the shapes of job paths, and the owner of an output. */
#include "../th.h"
#include "confine.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OK = 0, NO = -1 };

static const struct {
	enum confine_kind kind;
	const char *job, *path;
	int want;
} rows[] = {
    /* outputs: exactly <ns>/<run of the job id> */
    {CONFINE_PREPARED_OUT, "run-42-prep", "prepared/42", OK},
    {CONFINE_RUNS_OUT, "run-42-train", "runs/42", OK},
    {CONFINE_PREPARED_OUT, "j1", "prepared/j1", OK},
    {CONFINE_RUNS_OUT, "my.job_1-x", "runs/my.job_1-x", OK},
    {CONFINE_PREPARED_OUT, "w", "uploads", NO}, /* the wipe */
    {CONFINE_PREPARED_OUT, "w", "uploads/w", NO},
    {CONFINE_PREPARED_OUT, "w", "prepared", NO},
    {CONFINE_PREPARED_OUT, "w", "prepared/", NO},
    {CONFINE_PREPARED_OUT, "w", "prepared/w/", NO},
    {CONFINE_PREPARED_OUT, "w", "prepared//w", NO},
    {CONFINE_PREPARED_OUT, "w", "prepared/w/x", NO},
    {CONFINE_PREPARED_OUT, "w", "prepared/v", NO},
    {CONFINE_PREPARED_OUT, "w", "runs/w", NO},
    {CONFINE_RUNS_OUT, "run-42-train", "runs/43", NO}, /* another run */
    {CONFINE_RUNS_OUT, "run-42-train", "runs/run-42-train", NO},
    {CONFINE_RUNS_OUT, "w", "jobs", NO},
    {CONFINE_RUNS_OUT, "w", "runs/../jobs", NO},
    {CONFINE_RUNS_OUT, "w", "/runs/w", NO},
    {CONFINE_RUNS_OUT, "w", "./runs/w", NO},
    {CONFINE_RUNS_OUT, "w", "runs/./w", NO},
    {CONFINE_RUNS_OUT, "w", "", NO},
    {CONFINE_RUNS_OUT, NULL, "runs/w", NO},
    {CONFINE_RUNS_OUT, "", "runs/", NO},
    {CONFINE_RUNS_OUT, "..", "runs/..", NO},
    {CONFINE_RUNS_OUT, ".hidden", "runs/.hidden", NO},
    {CONFINE_RUNS_OUT, "a/b", "runs/a/b", NO},
    {CONFINE_RUNS_OUT, "run-7-", "runs/run-7-", OK}, /* not run-N-x */
    {CONFINE_RUNS_OUT, "run--x", "runs/run--x", OK},
    /* inputs */
    {CONFINE_UPLOAD, NULL, "uploads/1/x.zip", OK},
    {CONFINE_UPLOAD, NULL, "uploads/1/sub/x.tar.gz", OK},
    {CONFINE_UPLOAD, NULL, "uploads/1/caf\xc3\xa9 data.zip", OK},
    {CONFINE_UPLOAD, NULL, "uploads/1", NO},
    {CONFINE_UPLOAD, NULL, "uploads/1/", NO},
    {CONFINE_UPLOAD, NULL, "uploads/.incoming/x.zip", NO},
    {CONFINE_UPLOAD, NULL, "uploads/1/.owner", NO},
    {CONFINE_UPLOAD, NULL, "uploads/1/../../models/x", NO},
    {CONFINE_UPLOAD, NULL, "uploads/1/a\\b.zip", NO},
    {CONFINE_UPLOAD, NULL, "uploads/1/a\nb.zip", NO},
    {CONFINE_UPLOAD, NULL, "prepared/1/train.tyd", NO},
    {CONFINE_UPLOAD, NULL, "up/x.zip", NO},
    {CONFINE_UPLOAD, NULL, "uploadsx/1/x.zip", NO},
    {CONFINE_PREPARED_IN, NULL, "prepared/42", OK},
    {CONFINE_PREPARED_IN, NULL, "prepared/42/train.tyd", NO},
    {CONFINE_PREPARED_IN, NULL, "uploads/42", NO},
    {CONFINE_PREPARED_IN, NULL, "prepared/..", NO},
    {CONFINE_MODEL, NULL, "runs/7/model.tym", OK},
    {CONFINE_MODEL, NULL, "runs/7/checkpoint.tym", NO},
    {CONFINE_MODEL, NULL, "runs/7/model.tym/x", NO},
    {CONFINE_MODEL, NULL, "jobs/7/model.tym", NO},
    {CONFINE_MODEL, NULL, "runs/../model.tym", NO},
    {CONFINE_MODEL, NULL, "runs/7/../8/model.tym", NO},
};

int
main(void)
{
	char dir[] = "/tmp/ty-confine-XXXXXX", err[256], name[128];

	CHECK(mkdtemp(dir) != NULL);
	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST(rows[i].path)
		{
			err[0] = '\0';
			int rc = confine_path(rows[i].kind, rows[i].job,
			                      rows[i].path, err, sizeof err);
			CHECK(rc == rows[i].want);
			CHECK(rc == 0 || err[0] != '\0');
			if (rc != rows[i].want)
				fprintf(stderr, "  row %zu: %s (%s)\n", i,
				        rows[i].path, err);
		}
	}
	TH_TEST("the reason names the only place the job may write")
	{
		CHECK(confine_path(CONFINE_PREPARED_OUT, "w", "uploads", err,
		                   sizeof err) == -1);
		CHECK(strstr(err, "prepared/w") != NULL);
	}
	TH_TEST("run names of job ids")
	{
		CHECK(confine_run_name("run-42-prep", name, sizeof name) == 0);
		CHECK_STR(name, "42");
		CHECK(confine_run_name("run-42-train", name, sizeof name) == 0);
		CHECK_STR(name, "42");
		CHECK(confine_run_name("ds-3-inspect", name, sizeof name) == 0);
		CHECK_STR(name, "ds-3-inspect");
		CHECK(confine_run_name("a/b", name, sizeof name) == -1);
		CHECK(confine_run_name("..", name, sizeof name) == -1);
		CHECK(confine_run_name("", name, sizeof name) == -1);
	}
	TH_TEST("an output is claimed once, by its job id")
	{
		CHECK(confine_claim(dir, "runs/42", "run-42-train", err,
		                    sizeof err) == 0);
		/* the same job again (a resume): fine */
		CHECK(confine_claim(dir, "runs/42", "run-42-train", err,
		                    sizeof err) == 0);
		/* another job id: refused, the directory untouched */
		CHECK(confine_owner_ok(dir, "runs/42", "run-42-other", err,
		                       sizeof err) == -1);
		CHECK(strstr(err, "not created by") != NULL);
		CHECK(confine_claim(dir, "runs/42", "x", err, sizeof err) ==
		      -1);
	}
	TH_TEST("an existing directory without an owner is refused")
	{
		char *p = xasprintf("%s/prepared/9", dir);
		CHECK(util_mkdirs(p, 0755) == 0);
		CHECK(confine_owner_ok(dir, "prepared/9", "run-9-prep", err,
		                       sizeof err) == -1);
		free(p);
	}
	TH_TEST("a symlink is not a directory this job created")
	{
		char *p = xasprintf("%s/prepared/7", dir);
		char *t = xasprintf("%s/runs/42", dir);
		CHECK(symlink(t, p) == 0);
		/* the target has an owner file naming this very id */
		CHECK(confine_mark(t, "run-7-prep") == 0);
		CHECK(confine_owner_ok(dir, "prepared/7", "run-7-prep", err,
		                       sizeof err) == -1);
		free(p);
		free(t);
	}
	TH_TEST("a missing output is fine")
	{
		CHECK(confine_owner_ok(dir, "prepared/1", "run-1-prep", err,
		                       sizeof err) == 0);
	}
	CHECK(util_rmtree(dir) == 0);
	return th_done();
}
