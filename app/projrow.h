/*
 * projrow.h — one row of the projects table (columns PROJECT_COLS of
 * db_stmts.h, with its dataset count), read by name like runrow.h.
 */
#ifndef TY_PROJROW_H
#define TY_PROJROW_H

#include <sqlite3.h>

#include "util.h"

struct projrow {
	long long id, owner_id;
	char *name, *description;
	long long created_at;
	long long datasets; /* how many it holds */
};

/* Copies the current row of a PROJECT_COLS statement; free with
 * projrow_free. */
void projrow_read(sqlite3_stmt *st, struct projrow *p);
void projrow_free(struct projrow *p);

#endif
