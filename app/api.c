/* api.c — the API's shared answers and POST /api/v1/projects/{id}/predict;
 * see api.h. */
#include "api.h"
#include "modelrow.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pages.h"
#include "predict.h"

char *
api_read_body(struct req *r, long long max, size_t *len)
{
	long long cl = r->ri->content_length;
	size_t cap = cl > 0 ? (size_t)cl + 1 : 64 * 1024, n = 0;
	char msg[80], *b;
	int got;

	snprintf(msg, sizeof(msg), "the body is larger than %lld %s",
	         max >= (1LL << 20) ? max >> 20 : max >> 10,
	         max >= (1LL << 20) ? "MB" : "KB");
	if (cl > max) {
		r->close = 1;
		web_error(r, 413, msg);
		return NULL;
	}
	b = xmalloc(cap);
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > (size_t)max) {
				free(b);
				r->close = 1;
				web_error(r, 413, msg);
				return NULL;
			}
			cap *= 2;
			b = xrealloc(b, cap);
		}
		got = web_read(r, b + n, cap - 1 - n);
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	if (r->too_slow) {
		free(b);
		web_error(r, 408, web_too_slow);
		return NULL;
	}
	if (cl >= 0 && (long long)n < cl) {
		free(b);
		r->close = 1;
		web_error(r, 400, "the body ended early");
		return NULL;
	}
	b[n] = '\0';
	*len = n;
	return b;
}

void
api_reply(struct req *r, int status, cJSON *j)
{
	char *out = j ? cJSON_PrintUnformatted(j) : NULL;

	web_json(r, status, out ? out : "{}");
	free(out);
	cJSON_Delete(j);
}

void
api_reply_as(struct req *r, int status, const char *key, cJSON *item)
{
	cJSON *root = cJSON_CreateObject();

	cJSON_AddItemToObject(root, key, item);
	api_reply(r, status, root);
}

void
api_reply_rows(struct req *r, const char *key, enum db_stmt stmt, long long id,
               api_row_fn row)
{
	struct db *db = r->w->db;
	sqlite3_stmt *st = db_stmt(db, stmt, "i", id);
	cJSON *list = cJSON_CreateArray();

	while (db_step(db, st) == SQLITE_ROW)
		cJSON_AddItemToArray(list, row(r, st));
	db_done(db, st);
	api_reply_as(r, 200, key, list);
}

int
api_read_form(struct req *r, struct form *f)
{
	char err[160], *body;
	size_t len;
	int rc;

	if (!(body = api_read_body(r, API_FORM_MAX, &len)))
		return -1;
	rc = api_form_from_json(body, len, f, err, sizeof(err));
	free(body);
	if (rc < 0)
		web_error(r, 400, err);
	return rc;
}

/* The id of the project's newest or most accurate model; 0: none. */
static long long
pick_model(struct db *db, long long pid, enum api_model_pick pick)
{
	sqlite3_stmt *st = db_stmt(
	    db, pick == API_MODEL_BEST ? DB_RUN_MODEL_LIST : DB_MODEL_LIST, "i",
	    pid);
	long long id = 0;

	if (db_step(db, st) == SQLITE_ROW) {
		struct modelrow m;
		modelrow_read(st, &m);
		id = m.id;
		modelrow_free(&m);
	}
	db_done(db, st);
	return id;
}

void
page_api_predict(struct req *r)
{
	struct api_predict p;
	struct predict_model m;
	cJSON *answer = NULL;
	char err[400], *body, *out;
	size_t len;
	long status;
	int nimages;

	if (!(body = api_read_body(r, API_BODY_MAX, &len)))
		return;
	if (api_parse_predict(body, len, &p, err, sizeof(err)) < 0) {
		free(body);
		web_error(r, 400, err);
		return;
	}
	free(body);
	if (p.pick != API_MODEL_ID)
		p.model_id = pick_model(r->w->db, r->ids[0], p.pick);
	if (!predict_model_get(r->w->db, r->ids[0], p.model_id, &m)) {
		api_predict_free(&p);
		web_error(r, 404, "no such model in this project");
		return;
	}
	nimages = p.nimages;
	if (predict_call(r->w, r->user_id, m.path, p.top_k, p.thumbnail, p.tta,
	                 p.images, &status, &answer, err, sizeof(err)) < 0) {
		p.images = NULL; /* taken */
		predict_model_free(&m);
		web_error(r, 503, err);
		return;
	}
	p.images = NULL;
	if (!cJSON_IsObject(answer)) {
		predict_model_free(&m);
		cJSON_Delete(answer);
		snprintf(err, sizeof(err),
		         "the infer service sent an answer "
		         "that is not JSON (HTTP %ld)",
		         status);
		web_error(r, 502, err);
		return;
	}
	if (status == 200) {
		/* a row only when asked: a load test is not history */
		if (p.store && predict_record(r->w, r->ids[0], m.id, r->user_id,
		                              "api", answer, nimages) < 0)
			ty_log("api: history not stored");
		cJSON_AddItemToObject(answer, "model", predict_model_json(&m));
	} else if (status != 400 && status != 413 && status != 422) {
		/* the worker's trouble (or a model file gone missing from
		 * the volume), not the caller's */
		const char *e = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(answer, "error"));
		snprintf(err, sizeof(err), "the infer service failed: %.300s",
		         e ? e : "no reason given");
		predict_model_free(&m);
		cJSON_Delete(answer);
		web_error(r, 502, err);
		return;
	}
	out = cJSON_PrintUnformatted(answer);
	web_json(r, status == 200 ? 200 : (int)status, out ? out : "{}");
	free(out);
	cJSON_Delete(answer);
	predict_model_free(&m);
}
