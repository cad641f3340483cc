/* runrow.c — reading runs rows; see runrow.h. */
#include "runrow.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const runrow_status_names[RUNROW_STATUS__MAX] = {
    [RUNROW_QUEUED] = "queued",     [RUNROW_PREPROCESSING] = "preprocessing",
    [RUNROW_TRAINING] = "training", [RUNROW_SUCCEEDED] = "succeeded",
    [RUNROW_FAILED] = "failed",     [RUNROW_CANCELLED] = "cancelled",
};

static enum runrow_status
runrow_status_of(const char *s)
{
	for (int i = 0; i < RUNROW_STATUS__MAX; i++)
		if (!strcmp(s, runrow_status_names[i]))
			return (enum runrow_status)i;
	return RUNROW_FAILED;
}

void
runrow_read(sqlite3_stmt *st, struct runrow *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->project_id = sqlite3_column_int64(st, 1);
	r->dataset_id = sqlite3_column_int64(st, 2);
	snprintf(r->status, sizeof(r->status), "%s", db_col_text(st, 3));
	r->st = runrow_status_of(r->status);
	r->params_json = xstrdup(db_col_text(st, 4));
	r->progress = sqlite3_column_double(st, 5);
	r->message = xstrdup(db_col_text(st, 6));
	r->error = xstrdup(db_col_text(st, 7));
	r->prep_json = xstrdup(db_col_text(st, 8));
	r->epochs_json = xstrdup(db_col_text(st, 9));
	r->metrics_json = xstrdup(db_col_text(st, 10));
	r->cancel_requested = sqlite3_column_int(st, 11);
	r->created_at = sqlite3_column_double(st, 12);
	r->started_at = sqlite3_column_double(st, 13);
	r->prep_seconds = sqlite3_column_double(st, 14);
	r->train_seconds = sqlite3_column_double(st, 15);
	r->finished_at = sqlite3_column_double(st, 16);
	r->number = sqlite3_column_int64(st, 17);
	r->name = xstrdup(db_col_text(st, 18));
	r->note = xstrdup(db_col_text(st, 19));
	r->owner = xstrdup(db_col_text(st, 20));
}

void
runrow_free(struct runrow *r)
{
	free(r->params_json);
	free(r->name);
	free(r->note);
	free(r->owner);
	free(r->message);
	free(r->error);
	free(r->prep_json);
	free(r->epochs_json);
	free(r->metrics_json);
	memset(r, 0, sizeof(*r));
}

int
runrow_load(struct db *db, long long id, long long project_id, struct runrow *r)
{
	sqlite3_stmt *st = db_stmt(db, DB_RUN_GET, "ii", id, project_id);
	int rc = -1;

	if (db_step(db, st) == SQLITE_ROW) {
		runrow_read(st, r);
		rc = 0;
	}
	db_done(db, st);
	return rc;
}

int
runrow_active(const struct runrow *r)
{
	return r->st == RUNROW_QUEUED || r->st == RUNROW_PREPROCESSING ||
	       r->st == RUNROW_TRAINING;
}

void
runrow_best(const struct runrow *r, double *acc, double *loss, int *epochs)
{
	cJSON *eps = cJSON_Parse(r->epochs_json), *e;

	*acc = -1, *loss = -1, *epochs = 0;
	cJSON_ArrayForEach(e, eps)
	{
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "val_acc");
		const cJSON *l =
		    cJSON_GetObjectItemCaseSensitive(e, "val_loss");
		(*epochs)++;
		if (cJSON_IsNumber(a) && a->valuedouble > *acc) {
			*acc = a->valuedouble;
			*loss = cJSON_IsNumber(l) ? l->valuedouble : -1;
		}
	}
	cJSON_Delete(eps);
}

int
runrow_kept(const struct runrow *r, double *acc, double *loss, int *epoch)
{
	cJSON *m = cJSON_Parse(r->metrics_json);
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(m, "val_acc");
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(m, "val_loss");
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(m, "best_epoch");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(m, "epochs_trained");
	int rc = cJSON_IsNumber(a) ? 0 : -1;

	*acc = rc == 0 ? a->valuedouble : -1;
	*loss = rc == 0 && cJSON_IsNumber(l) ? l->valuedouble : -1;
	*epoch = rc < 0                                    ? 0
	         : cJSON_IsNumber(b) && b->valuedouble > 0 ? (int)b->valuedouble
	         : cJSON_IsNumber(n)                       ? (int)n->valuedouble
	                                                   : 0;
	cJSON_Delete(m);
	return rc;
}
