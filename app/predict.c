/* predict.c — model lookup, the infer call, history; see predict.h. */
#include "predict.h"
#include "modelrow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "wk.h"

#define INFER_TIMEOUT_MS 120000L
#define INFER_ANSWER_MAX (96u << 20)
#define SUMMARY_LABELS 4

int
predict_model_get(struct db *db, long long pid, long long mid,
                  struct predict_model *m)
{
	sqlite3_stmt *st = db_stmt(db, DB_MODEL_GET, "ii", mid, pid);
	int found = 0;

	memset(m, 0, sizeof(*m));
	if (db_step(db, st) == SQLITE_ROW) {
		struct modelrow r;
		found = 1;
		modelrow_read(st, &r);
		m->id = r.id;
		m->run_id = r.run_id;
		m->has_acc = r.has_acc;
		m->val_acc = r.val_acc;
		m->run_number = r.run_number;
		/* taken from r */
		m->arch = r.arch, m->classes_json = r.classes_json;
		m->path = r.path;
	}
	db_done(db, st);
	return found;
}

void
predict_model_free(struct predict_model *m)
{
	free(m->arch);
	free(m->classes_json);
	free(m->path);
	memset(m, 0, sizeof(*m));
}

cJSON *
predict_model_json(const struct predict_model *m)
{
	cJSON *o = cJSON_CreateObject(), *cl = cJSON_Parse(m->classes_json);

	cJSON_AddNumberToObject(o, "id", (double)m->id);
	cJSON_AddNumberToObject(o, "run_id", (double)m->run_id);
	cJSON_AddNumberToObject(o, "run_number", (double)m->run_number);
	cJSON_AddStringToObject(o, "arch", m->arch);
	if (m->has_acc)
		cJSON_AddNumberToObject(o, "val_acc", m->val_acc);
	else
		cJSON_AddNullToObject(o, "val_acc");
	cJSON_AddItemToObject(
	    o, "classes",
	    cJSON_IsArray(cl) ? cl : (cJSON_Delete(cl), cJSON_CreateArray()));
	return o;
}

int
predict_call(struct web *w, long long uid, const char *model_path, int top_k,
             int thumbnail, int tta, cJSON *images, long *status,
             cJSON **answer, char *err, size_t errlen)
{
	cJSON *req = cJSON_CreateObject();
	struct wk_resp resp;
	enum wk_err e;
	char *body;

	*status = 0;
	*answer = NULL;
	cJSON_AddStringToObject(req, "model", model_path);
	cJSON_AddNumberToObject(req, "top_k", top_k);
	cJSON_AddNumberToObject(req, "thumbnail", thumbnail);
	if (tta)
		cJSON_AddBoolToObject(req, "tta", 1);
	/* the worker takes turns between users (docs/infer.md) */
	cJSON_AddNumberToObject(req, "user", (double)uid);
	cJSON_AddItemToObject(req, "images", images);
	body = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!body) {
		snprintf(err, errlen,
		         "the request to the infer service "
		         "could not be built");
		return -1;
	}
	e = wk_request("infer", w->infer_url, "POST", "/predict", body,
	               strlen(body), INFER_TIMEOUT_MS, INFER_ANSWER_MAX, &resp);
	free(body);
	if (e != WK_OK) {
		snprintf(err, errlen, "%s", resp.err);
		wk_resp_free(&resp);
		return -1;
	}
	*status = resp.status;
	*answer = cJSON_ParseWithLength(resp.body, resp.len);
	wk_resp_free(&resp);
	return 0;
}

long long
predict_record(struct web *w, long long pid, long long mid, long long uid,
               const char *source, const cJSON *answer, int nimages)
{
	struct db *db = w->db;
	const cJSON *preds =
	                cJSON_GetObjectItemCaseSensitive(answer, "predictions"),
	            *p, *ms;
	cJSON *out = cJSON_CreateArray();
	char *json;
	int64_t id;

	cJSON_ArrayForEach(p, preds)
	{
		cJSON *o = cJSON_CreateObject();
		const char *k[] = {"name", "label", "error"};

		for (size_t i = 0; i < TY_ARRAY_LEN(k); i++) {
			const char *v = cJSON_GetStringValue(
			    cJSON_GetObjectItemCaseSensitive(p, k[i]));
			if (v)
				cJSON_AddStringToObject(o, k[i], v);
			else
				cJSON_AddNullToObject(o, k[i]);
		}
		{
			const cJSON *c =
			    cJSON_GetObjectItemCaseSensitive(p, "confidence");
			if (cJSON_IsNumber(c))
				cJSON_AddNumberToObject(o, "confidence",
				                        c->valuedouble);
			else
				cJSON_AddNullToObject(o, "confidence");
		}
		cJSON_AddItemToArray(out, o);
	}
	json = cJSON_PrintUnformatted(out);
	cJSON_Delete(out);
	ms = cJSON_GetObjectItemCaseSensitive(answer, "ms");
	id = db_insert(
	    db, DB_PREDICTION_INSERT,
	    "iiitit"
	    "di",
	    pid, mid, uid, source, (long long)nimages, json ? json : "[]",
	    cJSON_IsNumber(ms) ? ms->valuedouble : 0.0, (long long)util_wall());
	free(json);
	if (id < 0)
		ty_log("predict: the batch for project %lld was not recorded",
		       pid);
	else if (db_exec(db, DB_PREDICTION_PRUNE, "ii", pid,
	                 (long long)w->predictions_keep) != DB_OK)
		ty_log("predict: old rows of project %lld were not removed",
		       pid);
	return id;
}

/* "cat ×3, dog, 1 error" from the stored results. */
static void
summary(const char *json, char *out, size_t outlen)
{
	cJSON *a = cJSON_Parse(json), *p;
	struct {
		const char *label;
		int n;
	} seen[SUMMARY_LABELS];
	size_t nseen = 0, len = 0;
	int errors = 0, other = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(p, a)
	{
		const char *l = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(p, "label"));
		size_t i;

		if (!l) {
			errors++;
			continue;
		}
		for (i = 0; i < nseen && strcmp(seen[i].label, l); i++)
			;
		if (i < nseen)
			seen[i].n++;
		else if (nseen < SUMMARY_LABELS)
			seen[nseen].label = l, seen[nseen++].n = 1;
		else
			other++;
	}
	for (size_t i = 0; i < nseen && len < outlen; i++) {
		int n = seen[i].n > 1
		            ? snprintf(out + len, outlen - len, "%s%s ×%d",
		                       i ? ", " : "", seen[i].label, seen[i].n)
		            : snprintf(out + len, outlen - len, "%s%s",
		                       i ? ", " : "", seen[i].label);
		if (n > 0)
			len += (size_t)n;
	}
	if (other && len < outlen)
		len += (size_t)snprintf(out + len, outlen - len, ", %d more",
		                        other);
	if (errors && len < outlen)
		snprintf(out + len, outlen - len, "%s%d error%s",
		         len ? ", " : "", errors, errors == 1 ? "" : "s");
	cJSON_Delete(a);
}

/* One PREDICTION_COLS row into the page's row (sum: scratch). */
static void
history_row(sqlite3_stmt *st, struct td *row, char *sum, size_t sumlen)
{
	char when[32];
	int c = 0; /* the order of PREDICTION_COLS */

	td_set_int(row, "pred_id", sqlite3_column_int64(st, c++));
	if (sqlite3_column_type(st, c) != SQLITE_NULL)
		td_set_int(row, "model_id", sqlite3_column_int64(st, c));
	c++;
	td_set(row, "source", db_col_text(st, c++));
	td_set_int(row, "images", sqlite3_column_int64(st, c++));
	summary(db_col_text(st, c++), sum, sumlen);
	td_set(row, "summary", sum);
	td_setf(row, "ms", "%.1f", sqlite3_column_double(st, c++));
	web_fmt_time(when, sizeof(when), sqlite3_column_int64(st, c++));
	td_set(row, "when", when);
}

void
predict_history(struct db *db, long long pid, struct td *d)
{
	sqlite3_stmt *st;
	char sum[256];
	int n = 0;

	st = db_stmt(db, DB_PREDICTION_RECENT, "ii", pid,
	             (long long)PREDICT_HISTORY_ROWS);
	while (db_step(db, st) == SQLITE_ROW) {
		history_row(st, td_add_row(d, "predictions"), sum, sizeof(sum));
		n++;
	}
	db_done(db, st);
	td_set_bool(d, "has_predictions", n > 0);
}
