/* dsrow.c — reading datasets rows; see dsrow.h. */
#include "dsrow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

void
dsrow_read(sqlite3_stmt *st, struct dsrow *d)
{
	int c = 0; /* the order of DATASET_COLS */

	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(st, c++);
	d->project_id = sqlite3_column_int64(st, c++);
	d->filename = xstrdup(db_col_text(st, c++));
	d->bytes = sqlite3_column_int64(st, c++);
	snprintf(d->sha256, sizeof(d->sha256), "%s", db_col_text(st, c++));
	snprintf(d->status, sizeof(d->status), "%s", db_col_text(st, c++));
	d->created_at = sqlite3_column_int64(st, c++);
	d->report_json = xstrdup(db_col_text(st, c++));
	d->error = xstrdup(db_col_text(st, c++));
	d->path = xstrdup(db_col_text(st, c++));
	d->inspect_attempt = sqlite3_column_int64(st, c++);
}

void
dsrow_free(struct dsrow *d)
{
	free(d->filename);
	free(d->report_json);
	free(d->error);
	free(d->path);
	memset(d, 0, sizeof(*d));
}
