/*
 * tokrow.h — one row of the api_tokens table with its owner's name
 * (columns TOKEN_COLS of db_stmts.h), read by name like runrow.h.
 */
#ifndef TY_TOKROW_H
#define TY_TOKROW_H

#include <sqlite3.h>

#include "util.h"

struct tokrow {
	long long id, user_id;
	char *name, *prefix, *username;
	long long created_at;
	long long last_used_at, revoked_at; /* 0: never */
};

/* Copies the current row of a TOKEN_COLS statement; free with
 * tokrow_free. */
void tokrow_read(sqlite3_stmt *st, struct tokrow *t);
void tokrow_free(struct tokrow *t);

#endif
