/* tokrow.c — reading api_tokens rows; see tokrow.h. */
#include "tokrow.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"

void
tokrow_read(sqlite3_stmt *st, struct tokrow *t)
{
	int c = 0; /* the order of TOKEN_COLS */

	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(st, c++);
	t->user_id = sqlite3_column_int64(st, c++);
	t->name = xstrdup(db_col_text(st, c++));
	t->prefix = xstrdup(db_col_text(st, c++));
	t->created_at = sqlite3_column_int64(st, c++);
	t->last_used_at = sqlite3_column_int64(st, c++);
	t->revoked_at = sqlite3_column_int64(st, c++);
	t->username = xstrdup(db_col_text(st, c++));
}

void
tokrow_free(struct tokrow *t)
{
	free(t->name);
	free(t->prefix);
	free(t->username);
	memset(t, 0, sizeof(*t));
}
