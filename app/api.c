/* api.c — POST /api/v1/projects/{id}/predict; see api.h. */
#include "api.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pages.h"
#include "predict.h"
#include "tok.h"

static int
project_of(struct req *r, long long pid)
{
	struct db *db = r->w->db;
	sqlite3_stmt *st = db_stmt(db, DB_PROJECT_GET, "ii", pid, r->user_id);
	int found = db_step(db, st) == SQLITE_ROW;

	db_done(db, st);
	return found;
}

/* The whole body, bounded; NULL after answering. */
static char *
read_body(struct req *r, size_t *len)
{
	long long cl = r->ri->content_length;
	size_t cap = cl > 0 ? (size_t)cl + 1 : 64 * 1024, n = 0;
	char *b;
	int got;

	if (cl > API_BODY_MAX) {
		r->close = 1;
		web_error(r, 413, "the body is larger than 64 MB");
		return NULL;
	}
	b = xmalloc(cap);
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > (size_t)API_BODY_MAX) {
				free(b);
				r->close = 1;
				web_error(r, 413,
				          "the body is larger than "
				          "64 MB");
				return NULL;
			}
			cap *= 2;
			b = xrealloc(b, cap);
		}
		got = mg_read(r->conn, b + n, cap - 1 - n);
		if (got <= 0)
			break;
		n += (size_t)got;
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

static void
auth_failed(struct req *r, enum tok_err e)
{
	char msg[200];

	snprintf(r->extra_headers, sizeof(r->extra_headers),
	         "WWW-Authenticate: Bearer realm=\"trainyard\"\r\n");
	snprintf(msg, sizeof(msg), "%s", tok_strerror(e));
	web_error(r, e == TOK_DB ? 500 : 401, msg);
}

void
page_api_predict(struct req *r)
{
	struct api_predict p;
	struct predict_model m;
	enum tok_err te;
	cJSON *answer = NULL;
	char err[400], *body, *out;
	size_t len;
	long status;
	int nimages;

	te = tok_authenticate(r->w->db, mg_get_header(r->conn, "Authorization"),
	                      &r->user_id, r->username, sizeof(r->username));
	if (te != TOK_OK) {
		r->close = 1; /* the body is not read */
		auth_failed(r, te);
		return;
	}
	if (!project_of(r, r->ids[0])) {
		r->close = 1;
		web_error(r, 404, "no such project");
		return;
	}
	if (!(body = read_body(r, &len)))
		return;
	if (api_parse_predict(body, len, &p, err, sizeof(err)) < 0) {
		free(body);
		web_error(r, 400, err);
		return;
	}
	free(body);
	if (!predict_model_get(r->w->db, r->ids[0], p.model_id, &m)) {
		api_predict_free(&p);
		web_error(r, 404, "no such model in this project");
		return;
	}
	nimages = p.nimages;
	if (predict_call(r->w, r->user_id, m.path, p.top_k, p.thumbnail,
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
		if (predict_record(r->w->db, r->ids[0], m.id, r->user_id, "api",
		                   answer, nimages) < 0)
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
