/* lease: what a replica does with a job another replica also has. */
#include "../th.h"
#include "lease.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The other replica's record of job "j", created at t=100 by ours. */
static const struct {
	const char *name;
	const char *status;
	double created, expires; /* expires 0: no lease */
	enum lease_verdict want;
} rows[] = {
    {"no other record", NULL, 0, 0, LEASE_FREE},
    {"older, running, lease live", "running", 50, 1010, LEASE_WAIT},
    {"older, queued, lease live", "queued", 50, 1010, LEASE_WAIT},
    {"older, running, lease expired", "running", 50, 990, LEASE_FREE},
    {"older, running, no lease (old record)", "running", 50, 0, LEASE_FREE},
    {"older, succeeded", "succeeded", 50, 0, LEASE_ENDED},
    {"older, failed", "failed", 50, 0, LEASE_ENDED},
    {"older, cancelled (yielded)", "cancelled", 50, 0, LEASE_FREE},
    {"newer, running", "running", 150, 1010, LEASE_YIELD},
    {"newer, lease expired", "queued", 150, 500, LEASE_YIELD},
};

static void
write_rec(const char *dir, const char *status, double created, double expires)
{
	cJSON *o = cJSON_CreateObject();
	char *path = xasprintf("%s/j.json", dir), *text;

	cJSON_AddStringToObject(o, "job_id", "j");
	cJSON_AddStringToObject(o, "status", status);
	cJSON_AddNumberToObject(o, "created", created);
	cJSON_AddObjectToObject(o, "result");
	if (expires > 0)
		lease_add(o, "b", expires);
	text = cJSON_PrintUnformatted(o);
	CHECK(util_write_atomic(path, text, strlen(text)) == 0);
	cJSON_free(text);
	cJSON_Delete(o);
	free(path);
}

int
main(void)
{
	char tmpl[] = "/tmp/ty-lease-XXXXXX";
	char *root = mkdtemp(tmpl), *own, *other;
	struct lease_look l;

	own = xasprintf("%s/a", root);
	other = xasprintf("%s/b", root);
	CHECK(mkdir(own, 0755) == 0 && mkdir(other, 0755) == 0);
	write_rec(own, "queued", 100, 1030); /* ours: never looked at */
	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST(rows[i].name)
		{
			char *p = xasprintf("%s/j.json", other);
			unlink(p);
			free(p);
			if (rows[i].status)
				write_rec(other, rows[i].status,
				          rows[i].created, rows[i].expires);
			lease_look(root, own, "j", 100, 1000, &l);
			CHECK(l.v == rows[i].want);
			if (rows[i].status && l.v != LEASE_FREE)
				CHECK(strcmp(l.other, "b") == 0);
			if (l.v == LEASE_WAIT)
				CHECK(l.wait_s > 9 && l.wait_s < 11);
			CHECK((l.v == LEASE_ENDED) == (l.record != NULL));
			cJSON_Delete(l.record);
		}
	}
	TH_TEST("the unnamed replica's record at the root counts too")
	{
		char *p = xasprintf("%s/j.json", other);
		unlink(p);
		free(p);
		write_rec(root, "running", 50, 1010);
		lease_look(root, own, "j", 100, 1000, &l);
		CHECK(l.v == LEASE_WAIT && l.other[0] == '\0');
		/* and the unnamed replica itself looks at the named ones */
		write_rec(own, "running", 150, 1010);
		lease_look(root, root, "j", 50, 1000, &l);
		CHECK(l.v == LEASE_YIELD && strcmp(l.other, "a") == 0);
	}
	TH_TEST("yield outranks a live lease elsewhere")
	{
		write_rec(other, "running", 150, 1010);
		lease_look(root, own, "j", 100, 1000, &l);
		CHECK(l.v == LEASE_YIELD);
	}
	CHECK(util_rmtree(root) == 0);
	free(own);
	free(other);
	return th_done();
}
