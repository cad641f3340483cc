/*
 * modelrow.h — one row of the models table (columns MODEL_COLS of
 * db_stmts.h), read by name like runrow.h and dsrow.h.
 */
#ifndef TY_MODELROW_H
#define TY_MODELROW_H

#include <sqlite3.h>

#include "util.h"

struct modelrow {
	long long id, project_id, run_id;
	char *arch, *classes_json, *path; /* "" when none */
	double val_acc;
	int has_acc; /* val_acc is not NULL */
	long long bytes, created_at;
	long long run_number; /* the run's "#n" in its project */
};

/* Copies the current row of a MODEL_COLS statement; free with
 * modelrow_free. */
void modelrow_read(sqlite3_stmt *st, struct modelrow *m);
void modelrow_free(struct modelrow *m);

#endif
