/*
 * dsrow.h — one row of the datasets table (columns DATASET_COLS of
 * db_stmts.h), read by name: the pattern of kcgi-framework's
 * db_user_fill, as runrow.h is for runs. No page reads a dataset's
 * columns by number.
 */
#ifndef TY_DSROW_H
#define TY_DSROW_H

#include <sqlite3.h>

#include "util.h"

struct dsrow {
	long long id, project_id;
	char *filename, *report_json, *error, *path; /* "" when none */
	long long bytes;
	char sha256[65];
	char status[16]; /* uploaded, inspecting, ready, unusable */
	long long created_at;
	long long inspect_attempt;
};

/* Copies the current row of a DATASET_COLS statement; free with
 * dsrow_free. */
void dsrow_read(sqlite3_stmt *st, struct dsrow *d);
void dsrow_free(struct dsrow *d);

#endif
