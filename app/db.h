/*
 * db.h — the web app's SQLite database: opening it, applying
 * migrations/NNN_name.sql in order (tracked by PRAGMA user_version), and
 * running the fixed statements of db_stmts.h.
 *
 * One connection is shared by all request threads behind a recursive
 * mutex: db_stmt() takes it and db_done() gives it back, so a statement's
 * rows are read by one thread at a time. A transaction (db_tx_begin ..
 * db_tx_end) holds the mutex throughout.
 */
#ifndef TY_DB_H
#define TY_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum db_stmt {
#define DB_STMT(name, sql) DB_##name,
#include "db_stmts.h"
#undef DB_STMT
	DB__MAX
};

struct db;

/*
 * Opens (creating if needed) the database at path, applies every migration
 * in migdir newer than the file's user_version, and prepares all
 * statements. NULL on failure, with a message in err.
 */
struct db *db_open(const char *path, const char *migdir, char *err,
                   size_t errlen) TY_WUR;
void db_close(struct db *db);
/*
 * Only the migration step of db_open, on a plain connection (no statements
 * prepared): for tests and tools. 0 with *version set, or -1 and err.
 */
int db_migrate(const char *path, const char *migdir, int *version, char *err,
               size_t errlen) TY_WUR;
/* The schema version now in force (PRAGMA user_version). */
int db_version(struct db *db);

/*
 * Locks the database, resets statement s and binds its parameters from
 * fmt: 'i' long long, 't' const char * (NULL binds NULL), 'd' double,
 * 'b' const void *, int length, 'n' NULL. Release with db_done().
 */
sqlite3_stmt *db_stmt(struct db *db, enum db_stmt s, const char *fmt, ...);
/* SQLITE_ROW, SQLITE_DONE, or an error code (logged). */
int db_step(struct db *db, sqlite3_stmt *st);
void db_done(struct db *db, sqlite3_stmt *st);

enum db_err {
	DB_OK = 0,
	DB_ERR = -1,        /* I/O, corruption, busy past the timeout */
	DB_CONSTRAINT = -2, /* UNIQUE / CHECK / FOREIGN KEY */
};

/* Runs s to completion (no rows wanted). */
enum db_err db_exec(struct db *db, enum db_stmt s, const char *fmt, ...) TY_WUR;
/* Runs s and returns column 0 of its first row as an integer (or def). */
long long db_int(struct db *db, enum db_stmt s, long long def, const char *fmt,
                 ...);
/* Runs an INSERT; returns the new rowid (> 0) or an enum db_err. */
int64_t db_insert(struct db *db, enum db_stmt s, const char *fmt, ...) TY_WUR;
/* Rows changed by the last db_exec of this thread (under a transaction). */
int db_changes(struct db *db);

/* BEGIN IMMEDIATE .. COMMIT (commit=1) or ROLLBACK (commit=0). */
enum db_err db_tx_begin(struct db *db) TY_WUR;
enum db_err db_tx_end(struct db *db, int commit) TY_WUR;

/* Text of column i of the current row, never NULL. */
const char *db_col_text(sqlite3_stmt *st, int i);

#endif
