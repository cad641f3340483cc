/* db.c — SQLite open, migrations, fixed statements; see db.h. */
#include "db.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define DB_MIGRATIONS_MAX 999
#define DB_MIGRATION_BYTES (1 << 20)

static const char *const db_sql[DB__MAX] = {
#define DB_STMT(name, sql) [DB_##name] = sql,
#include "db_stmts.h"
#undef DB_STMT
};

struct db {
	sqlite3 *h;
	pthread_mutex_t mu; /* recursive: a transaction nests statements */
	sqlite3_stmt *st[DB__MAX];
};

static int
is_migration_name(const char *n)
{
	size_t len = strlen(n);

	return len > 8 && n[0] >= '0' && n[0] <= '9' && n[1] >= '0' &&
	       n[1] <= '9' && n[2] >= '0' && n[2] <= '9' && n[3] == '_' &&
	       strcmp(n + len - 4, ".sql") == 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists NNN_*.sql in migdir, sorted; *n gets the count. */
static char **
list_migrations(const char *migdir, size_t *n, char *err, size_t errlen)
{
	DIR *d = opendir(migdir);
	struct dirent *e;
	char **names = NULL;
	size_t cap = 0;

	*n = 0;
	if (!d) {
		snprintf(err, errlen, "cannot open migrations directory %s: %s",
		         migdir, strerror(errno));
		return NULL;
	}
	while ((e = readdir(d)) != NULL) {
		if (!is_migration_name(e->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (*n)
		qsort(names, *n, sizeof(*names), cmp_str);
	return names ? names : xcalloc(1, sizeof(char *));
}

static int
pragma_int(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int
apply_migrations(sqlite3 *h, const char *migdir, char *err, size_t errlen)
{
	size_t n, i;
	char **names = list_migrations(migdir, &n, err, errlen);
	int have, rc = -1;

	if (!names)
		return -1;
	have = pragma_int(h, "PRAGMA user_version");
	if (have < 0) {
		snprintf(err, errlen, "cannot read schema version: %s",
		         sqlite3_errmsg(h));
		goto out;
	}
	/* Files must be numbered 001, 002, ... with no gaps or repeats. */
	for (i = 0; i < n; i++) {
		if (atoi(names[i]) != (int)i + 1) {
			snprintf(err, errlen,
			         "migration %s is out of sequence "
			         "(expected number %03zu)",
			         names[i], i + 1);
			goto out;
		}
	}
	if ((size_t)have > n) {
		snprintf(err, errlen,
		         "database schema version %d is newer "
		         "than this program's %zu migrations",
		         have, n);
		goto out;
	}
	for (i = (size_t)have; i < n; i++) {
		char *path = xasprintf("%s/%s", migdir, names[i]);
		char *sql = util_read_file(path, DB_MIGRATION_BYTES, NULL);
		char pragma[48], *emsg = NULL;

		if (!sql) {
			snprintf(err, errlen, "cannot read %s: %s", path,
			         strerror(errno));
			free(path);
			goto out;
		}
		/* The version is our own counter, not outside input. */
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %zu;",
		         i + 1);
		if (sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, &emsg) !=
		        SQLITE_OK ||
		    sqlite3_exec(h, sql, NULL, NULL, &emsg) != SQLITE_OK ||
		    sqlite3_exec(h, pragma, NULL, NULL, &emsg) != SQLITE_OK ||
		    sqlite3_exec(h, "COMMIT", NULL, NULL, &emsg) != SQLITE_OK) {
			snprintf(err, errlen, "migration %s failed: %s",
			         names[i], emsg ? emsg : sqlite3_errmsg(h));
			sqlite3_free(emsg);
			sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
			free(sql);
			free(path);
			goto out;
		}
		ty_log("db: applied migration %s", names[i]);
		free(sql);
		free(path);
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int
db_migrate(const char *path, const char *migdir, int *version, char *err,
           size_t errlen)
{
	sqlite3 *h = NULL;
	int rc = -1;

	if (sqlite3_open_v2(path, &h,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	                    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s", path,
		         h ? sqlite3_errmsg(h) : "out of memory");
	} else if (apply_migrations(h, migdir, err, errlen) == 0) {
		if (version)
			*version = pragma_int(h, "PRAGMA user_version");
		rc = 0;
	}
	sqlite3_close(h);
	return rc;
}

struct db *
db_open(const char *path, const char *migdir, char *err, size_t errlen)
{
	struct db *db = xcalloc(1, sizeof(*db));
	pthread_mutexattr_t at;
	char *emsg = NULL;

	if (sqlite3_open_v2(path, &db->h,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                        SQLITE_OPEN_FULLMUTEX,
	                    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s", path,
		         db->h ? sqlite3_errmsg(db->h) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db->h, 5000);
	if (sqlite3_exec(
	        db->h,
	        "PRAGMA journal_mode = WAL; "
	        "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
	        NULL, NULL, &emsg) != SQLITE_OK) {
		snprintf(err, errlen, "cannot set up database %s: %s", path,
		         emsg ? emsg : sqlite3_errmsg(db->h));
		sqlite3_free(emsg);
		goto fail;
	}
	if (apply_migrations(db->h, migdir, err, errlen) < 0)
		goto fail;
	for (int i = 0; i < DB__MAX; i++) {
		if (sqlite3_prepare_v3(db->h, db_sql[i], -1,
		                       SQLITE_PREPARE_PERSISTENT, &db->st[i],
		                       NULL) != SQLITE_OK) {
			snprintf(err, errlen,
			         "cannot prepare statement %d "
			         "(%.60s...): %s",
			         i, db_sql[i], sqlite3_errmsg(db->h));
			goto fail;
		}
	}
	pthread_mutexattr_init(&at);
	pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&db->mu, &at);
	pthread_mutexattr_destroy(&at);
	return db;
fail:
	for (int i = 0; i < DB__MAX; i++)
		sqlite3_finalize(db->st[i]);
	sqlite3_close(db->h);
	free(db);
	return NULL;
}

void
db_close(struct db *db)
{
	if (!db)
		return;
	for (int i = 0; i < DB__MAX; i++)
		sqlite3_finalize(db->st[i]);
	if (sqlite3_close(db->h) != SQLITE_OK)
		ty_log("db: close: %s", sqlite3_errmsg(db->h));
	pthread_mutex_destroy(&db->mu);
	free(db);
}

int
db_version(struct db *db)
{
	int v;

	pthread_mutex_lock(&db->mu);
	v = pragma_int(db->h, "PRAGMA user_version");
	pthread_mutex_unlock(&db->mu);
	return v;
}

static sqlite3_stmt *
bind_va(struct db *db, enum db_stmt s, const char *fmt, va_list ap)
{
	sqlite3_stmt *st = db->st[s];
	int i = 1, rc = SQLITE_OK;

	pthread_mutex_lock(&db->mu);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	for (const char *f = fmt; *f && rc == SQLITE_OK; f++, i++) {
		switch (*f) {
		case 'i':
			rc = sqlite3_bind_int64(st, i, va_arg(ap, long long));
			break;
		case 't': {
			const char *t = va_arg(ap, const char *);
			rc = t ? sqlite3_bind_text(st, i, t, -1,
			                           SQLITE_TRANSIENT)
			       : sqlite3_bind_null(st, i);
			break;
		}
		case 'd':
			rc = sqlite3_bind_double(st, i, va_arg(ap, double));
			break;
		case 'b': {
			const void *p = va_arg(ap, const void *);
			int n = va_arg(ap, int);
			rc = sqlite3_bind_blob(st, i, p, n, SQLITE_TRANSIENT);
			break;
		}
		case 'n':
			rc = sqlite3_bind_null(st, i);
			break;
		default:
			abort(); /* a programming error, not input */
		}
	}
	if (rc != SQLITE_OK)
		ty_log("db: bind for statement %d: %s", s,
		       sqlite3_errmsg(db->h));
	return st;
}

sqlite3_stmt *
db_stmt(struct db *db, enum db_stmt s, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;

	va_start(ap, fmt);
	st = bind_va(db, s, fmt, ap);
	va_end(ap);
	return st;
}

int
db_step(struct db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_ROW && rc != SQLITE_DONE &&
	    (rc & 0xff) != SQLITE_CONSTRAINT)
		ty_log("db: %s: %s", sqlite3_sql(st), sqlite3_errmsg(db->h));
	return rc;
}

void
db_done(struct db *db, sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&db->mu);
}

static enum db_err
rc_err(int rc)
{
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return DB_OK;
	return (rc & 0xff) == SQLITE_CONSTRAINT ? DB_CONSTRAINT : DB_ERR;
}

enum db_err
db_exec(struct db *db, enum db_stmt s, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;
	enum db_err e;

	va_start(ap, fmt);
	st = bind_va(db, s, fmt, ap);
	va_end(ap);
	e = rc_err(db_step(db, st));
	db_done(db, st);
	return e;
}

int64_t
db_insert(struct db *db, enum db_stmt s, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;
	enum db_err e;
	int64_t id;

	va_start(ap, fmt);
	st = bind_va(db, s, fmt, ap);
	va_end(ap);
	e = rc_err(db_step(db, st));
	id = e == DB_OK ? sqlite3_last_insert_rowid(db->h) : e;
	db_done(db, st);
	return id;
}

long long
db_int(struct db *db, enum db_stmt s, long long def, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;
	long long v = def;

	va_start(ap, fmt);
	st = bind_va(db, s, fmt, ap);
	va_end(ap);
	if (db_step(db, st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	db_done(db, st);
	return v;
}

int
db_changes(struct db *db)
{
	return sqlite3_changes(db->h);
}

enum db_err
db_tx_begin(struct db *db)
{
	pthread_mutex_lock(&db->mu);
	if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		ty_log("db: begin: %s", sqlite3_errmsg(db->h));
		pthread_mutex_unlock(&db->mu);
		return DB_ERR;
	}
	return DB_OK;
}

enum db_err
db_tx_end(struct db *db, int commit)
{
	enum db_err e = DB_OK;

	if (sqlite3_exec(db->h, commit ? "COMMIT" : "ROLLBACK", NULL, NULL,
	                 NULL) != SQLITE_OK) {
		ty_log("db: %s: %s", commit ? "commit" : "rollback",
		       sqlite3_errmsg(db->h));
		if (commit)
			sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
		e = DB_ERR;
	}
	pthread_mutex_unlock(&db->mu);
	return e;
}

const char *
db_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}
