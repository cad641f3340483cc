/* modelrow.c — reading models rows; see modelrow.h. */
#include "modelrow.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"

void
modelrow_read(sqlite3_stmt *st, struct modelrow *m)
{
	int c = 0; /* the order of MODEL_COLS */

	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(st, c++);
	m->project_id = sqlite3_column_int64(st, c++);
	m->run_id = sqlite3_column_int64(st, c++);
	m->arch = xstrdup(db_col_text(st, c++));
	m->has_acc = sqlite3_column_type(st, c) != SQLITE_NULL;
	m->val_acc = sqlite3_column_double(st, c++);
	m->classes_json = xstrdup(db_col_text(st, c++));
	m->path = xstrdup(db_col_text(st, c++));
	m->bytes = sqlite3_column_int64(st, c++);
	m->created_at = sqlite3_column_int64(st, c++);
	m->run_number = sqlite3_column_int64(st, c++);
}

void
modelrow_free(struct modelrow *m)
{
	free(m->arch);
	free(m->classes_json);
	free(m->path);
	memset(m, 0, sizeof(*m));
}
