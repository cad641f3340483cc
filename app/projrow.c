/* projrow.c — reading projects rows; see projrow.h. */
#include "projrow.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"

void
projrow_read(sqlite3_stmt *st, struct projrow *p)
{
	int c = 0; /* the order of PROJECT_COLS */

	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(st, c++);
	p->name = xstrdup(db_col_text(st, c++));
	p->description = xstrdup(db_col_text(st, c++));
	p->created_at = sqlite3_column_int64(st, c++);
	p->datasets = sqlite3_column_int64(st, c++);
	p->owner_id = sqlite3_column_int64(st, c++);
}

void
projrow_free(struct projrow *p)
{
	free(p->name);
	free(p->description);
	memset(p, 0, sizeof(*p));
}
