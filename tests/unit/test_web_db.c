/* Unit tests of app/db.c: migrations on an empty database, on an
 * up-to-date one, in order, rolled back when one fails; the statement
 * table; constraints. Uses the real migrations/ and made-up ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../th.h"
#include "db.h"
#include "util.h"

static char tmp[] = "/tmp/ty-webdb-XXXXXX";

static void
write_file(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	if (util_write_atomic(p, text, strlen(text)) < 0)
		perror(p);
	free(p);
}

/* The real migrations directory: from the repo root or tests' cwd. */
static const char *
real_migrations(void)
{
	static const char *const tries[] = {"migrations", "../migrations",
	                                    "../../migrations",
	                                    "../../../migrations"};
	const char *root = getenv("ROOT");
	static char buf[4096];

	if (root) {
		snprintf(buf, sizeof(buf), "%s/migrations", root);
		if (access(buf, R_OK) == 0)
			return buf;
	}
	for (size_t i = 0; i < TY_ARRAY_LEN(tries); i++)
		if (access(tries[i], R_OK) == 0)
			return tries[i];
	return "migrations";
}

int
main(void)
{
	char err[512];
	char *dbp, *mig;

	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	dbp = xasprintf("%s/t.db", tmp);

	TH_TEST("real migrations on an empty database")
	{
		struct db *db =
		    db_open(dbp, real_migrations(), err, sizeof(err));
		CHECK(db != NULL);
		if (!db) {
			fprintf(stderr, "  %s\n", err);
		} else {
			CHECK(db_version(db) >= 1);
			int64_t uid = db_insert(db, DB_USER_INSERT, "tti",
			                        "ada", "hash", 1LL);
			CHECK(uid > 0);
			CHECK(db_insert(db, DB_USER_INSERT, "tti", "ADA", "h",
			                1LL) == DB_CONSTRAINT);
			CHECK(db_int(db, DB_USER_COUNT, -1, "") == 1);
			/* foreign keys are on */
			CHECK(db_insert(db, DB_PROJECT_INSERT, "itti", 999LL,
			                "p", "", 1LL) == DB_CONSTRAINT);
			int64_t pid = db_insert(
			    db, DB_PROJECT_INSERT, "itti", (long long)uid,
			    "p'; DROP TABLE users;--", "", 1LL);
			CHECK(pid > 0);
			CHECK(db_int(db, DB_USER_COUNT, -1, "") == 1);
			sqlite3_stmt *st =
			    db_stmt(db, DB_PROJECT_GET, "ii", (long long)pid,
			            (long long)uid);
			CHECK(db_step(db, st) == SQLITE_ROW);
			CHECK_STR(db_col_text(st, 1),
			          "p'; DROP TABLE users;--");
			db_done(db, st);
			/* another owner sees nothing */
			st = db_stmt(db, DB_PROJECT_GET, "ii", (long long)pid,
			             (long long)uid + 1);
			CHECK(db_step(db, st) == SQLITE_DONE);
			db_done(db, st);
			/* datasets: the status CHECK and the cascade */
			int64_t did =
			    db_insert(db, DB_DATASET_INSERT, "ititi",
			              (long long)pid, "f.zip", 10LL, "ab", 1LL);
			CHECK(did > 0);
			CHECK(db_exec(db, DB_PROJECT_DELETE, "ii",
			              (long long)pid, (long long)uid) == DB_OK);
			CHECK(db_int(db, DB_DATASET_IDS_OF_PROJECT, -1, "i",
			             (long long)pid) == -1);
			/* a rolled-back transaction leaves nothing */
			CHECK(db_tx_begin(db) == DB_OK);
			CHECK(db_insert(db, DB_USER_INSERT, "tti", "bob", "h",
			                1LL) > 0);
			CHECK(db_tx_end(db, 0) == DB_OK);
			CHECK(db_int(db, DB_USER_COUNT, -1, "") == 1);
			db_close(db);
		}
	}
	TH_TEST("reopening an up-to-date database changes nothing")
	{
		struct db *db =
		    db_open(dbp, real_migrations(), err, sizeof(err));
		CHECK(db != NULL);
		if (db) {
			CHECK(db_int(db, DB_USER_COUNT, -1, "") == 1);
			db_close(db);
		}
	}

	mig = xasprintf("%s/mig", tmp);
	if (util_mkdirs(mig, 0755) < 0)
		perror(mig);
	char *db2 = xasprintf("%s/two.db", tmp);
	write_file(mig, "001_a.sql", "CREATE TABLE a (x INTEGER);");
	write_file(mig, "README", "not a migration");
	int v = -1;
	TH_TEST("made-up migrations apply in order, then only new ones")
	{
		CHECK(db_migrate(db2, mig, &v, err, sizeof(err)) == 0);
		CHECK(v == 1);
		write_file(mig, "002_b.sql",
		           "INSERT INTO a VALUES (1);"
		           "CREATE TABLE b (y);");
		CHECK(db_migrate(db2, mig, &v, err, sizeof(err)) == 0);
		CHECK(v == 2);
		/* 001 did not run again: still one row would fail if a were
		 * recreated ("table a already exists") */
		CHECK(db_migrate(db2, mig, &v, err, sizeof(err)) == 0);
		CHECK(v == 2);
	}
	TH_TEST("a failing migration is rolled back whole")
	{
		write_file(mig, "003_bad.sql",
		           "CREATE TABLE c (z);"
		           "INSERT INTO nosuch VALUES (1);");
		CHECK(db_migrate(db2, mig, &v, err, sizeof(err)) < 0);
		CHECK(strstr(err, "003_bad.sql") != NULL);
		/* version stayed 2 and table c was not kept: creating it
		 * again now succeeds */
		write_file(mig, "003_bad.sql", "CREATE TABLE c (z);");
		CHECK(db_migrate(db2, mig, &v, err, sizeof(err)) == 0);
		CHECK(v == 3);
	}
	TH_TEST("a gap in the numbering is refused")
	{
		write_file(mig, "005_gap.sql", "SELECT 1;");
		CHECK(db_migrate(db2, mig, &v, err, sizeof(err)) < 0);
		CHECK(strstr(err, "out of sequence") != NULL);
		char *p = xasprintf("%s/005_gap.sql", mig);
		unlink(p);
		free(p);
	}
	TH_TEST("a database newer than the migrations is refused")
	{
		char *p = xasprintf("%s/003_bad.sql", mig);
		unlink(p);
		free(p);
		CHECK(db_migrate(db2, mig, &v, err, sizeof(err)) < 0);
		CHECK(strstr(err, "newer") != NULL);
	}
	TH_TEST("a missing migrations directory is an error")
	{
		CHECK(db_migrate(db2, "/nonexistent/ty", &v, err, sizeof(err)) <
		      0);
		CHECK(strstr(err, "migrations") != NULL);
	}
	if (util_rmtree(tmp) < 0)
		perror(tmp);
	free(dbp);
	free(db2);
	free(mig);
	return th_done();
}
