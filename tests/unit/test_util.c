/* util: atomic writes, mkdirs/rmtree, bounded reads, configuration. */
#include "../th.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int
main(void)
{
	char dir[] = "/tmp/ty-util-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);

	TH_TEST("atomic write then read back")
	{
		char *p = xasprintf("%s/a/b/c", dir);
		char *f = xasprintf("%s/a/b/c/file.txt", dir);
		size_t n = 0;
		char *got;

		CHECK(util_mkdirs(p, 0755) == 0);
		CHECK(util_mkdirs(p, 0755) == 0); /* exists: fine */
		CHECK(util_write_atomic(f, "hello", 5) == 0);
		CHECK(util_write_atomic(f, "hello world", 11) == 0);
		got = util_read_file(f, 100, &n);
		CHECK(got && n == 11 && !strcmp(got, "hello world"));
		free(got);
		errno = 0;
		CHECK(util_read_file(f, 4, &n) == NULL && errno == EFBIG);
		free(p);
		free(f);
	}
	TH_TEST("atomic write into a missing directory fails cleanly")
	{
		char *f = xasprintf("%s/nope/file", dir);
		CHECK(util_write_atomic(f, "x", 1) == -1);
		free(f);
	}
	TH_TEST("rmtree removes everything")
	{
		char *a = xasprintf("%s/a", dir);
		struct stat st;
		CHECK(util_rmtree(a) == 0);
		CHECK(stat(a, &st) == -1);
		CHECK(util_rmtree(a) == 0); /* already gone: fine */
		free(a);
	}

	static const struct {
		const char *argv[4];
		int argc;
		const char *env, *want;
	} rows[] = {
	    {{"x", "--data-dir=/d1"}, 2, NULL, "/d1"},
	    {{"x", "--data-dir", "/d2"}, 3, NULL, "/d2"},
	    {{"x", "--data-dirx=/no"}, 2, NULL, "def"},
	    {{"x"}, 1, "/env", "/env"},
	    {{"x", "--data-dir=/flag"}, 2, "/env", "/flag"},
	    {{"x", "--data-dir"}, 2, NULL, "def"},
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST("cfg_str row")
		{
			if (rows[i].env)
				setenv("TRAINYARD_DATA_DIR", rows[i].env, 1);
			else
				unsetenv("TRAINYARD_DATA_DIR");
			CHECK_STR(cfg_str(rows[i].argc, (char **)rows[i].argv,
			                  "TRAINYARD_DATA_DIR", "def"),
			          rows[i].want);
		}
	}
	TH_TEST("cfg_long parses and falls back")
	{
		char *argv[] = {"x", "--port=9000", NULL};
		char *bad[] = {"x", "--port=90x", NULL};
		CHECK(cfg_long(2, argv, "TRAINYARD_PORT", 1) == 9000);
		CHECK(cfg_long(2, bad, "TRAINYARD_PORT", 1) == 1);
	}
	CHECK(util_rmtree(dir) == 0);
	return th_done();
}
