/*
 * page_predict.c — GET/POST /projects/{id}/predict: choose one of the
 * project's models and some image files; the files are read (bounded),
 * base64-encoded into the infer worker's JSON request, and the answer is
 * rendered: a thumbnail, the label, a confidence bar and the top-k per
 * image, or that image's own error. Works without JavaScript.
 */
#include <civetweb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp.h"
#include "modelrow.h"
#include "pages.h"
#include "predict.h"
#include "view.h"

#define FILE_MAX (16LL << 20)  /* bytes of one image file */
#define TOTAL_MAX (64LL << 20) /* bytes of all files of one batch */
#define FIELD_MAX 128
#define NAME_MAX_ 255

enum part { P_NONE, P_CSRF, P_MODEL, P_TOPK, P_TTA, P_IMAGE, P_OTHER };

struct image {
	char name[NAME_MAX_ + 1];
	unsigned char *data;
	size_t len, cap;
};

struct form_in {
	struct req *r;
	enum part part;
	char field[FIELD_MAX + 1];
	size_t field_len;
	char csrf[FIELD_MAX + 1], model[FIELD_MAX + 1], topk[FIELD_MAX + 1];
	char tta[FIELD_MAX + 1];
	int csrf_ok;
	struct image img[PREDICT_IMAGES_MAX];
	int nimg;
	long long total;
	int status; /* set with msg when a callback stops the parse */
	const char *msg;
};

static int
stop(struct form_in *f, int status, const char *msg)
{
	f->status = status;
	f->msg = msg;
	return 1;
}

static int
on_begin(void *ud, const char *name, const char *filename)
{
	struct form_in *f = ud;

	f->field_len = 0;
	f->part = P_OTHER;
	if (!filename) {
		if (!strcmp(name, "csrf"))
			f->part = P_CSRF;
		else if (!strcmp(name, "model_id"))
			f->part = P_MODEL;
		else if (!strcmp(name, "top_k"))
			f->part = P_TOPK;
		else if (!strcmp(name, "tta"))
			f->part = P_TTA;
		return 0;
	}
	if (strcmp(name, "images") != 0)
		return 0;
	/* No byte of a forged request is kept: csrf comes first. */
	if (!f->csrf_ok)
		return stop(f, 403, web_csrf_expired);
	if (!*filename) /* an empty file input sends a nameless part */
		return 0;
	if (f->nimg == PREDICT_IMAGES_MAX)
		return stop(f, 413,
		            "Too many images: choose at most 64 at "
		            "a time.");
	f->part = P_IMAGE;
	{
		const char *base = strrchr(filename, '/');
		const char *b2 = strrchr(filename, '\\');
		if (b2 && (!base || b2 > base))
			base = b2;
		snprintf(f->img[f->nimg].name, NAME_MAX_ + 1, "%s",
		         base ? base + 1 : filename);
	}
	f->nimg++;
	return 0;
}

static int
on_data(void *ud, const char *p, size_t n)
{
	struct form_in *f = ud;
	struct image *im;

	switch (f->part) {
	case P_CSRF:
	case P_MODEL:
	case P_TOPK:
	case P_TTA:
		if (f->field_len + n > FIELD_MAX)
			return stop(f, 400, "A form field is too long.");
		memcpy(f->field + f->field_len, p, n);
		f->field_len += n;
		return 0;
	case P_IMAGE:
		im = &f->img[f->nimg - 1];
		f->total += (long long)n;
		if ((long long)(im->len + n) > FILE_MAX)
			return stop(f, 413, "An image is larger than 16 MB.");
		if (f->total > TOTAL_MAX)
			return stop(f, 413,
			            "The images are larger than 64 MB "
			            "together; send fewer at a time.");
		if (im->len + n > im->cap) {
			size_t cap = im->cap ? im->cap : 64 * 1024;
			while (cap < im->len + n)
				cap *= 2;
			im->data = xrealloc(im->data, cap);
			im->cap = cap;
		}
		memcpy(im->data + im->len, p, n);
		im->len += n;
		return 0;
	default:
		return 0;
	}
}

static int
on_end(void *ud)
{
	struct form_in *f = ud;
	char *dst = NULL;

	f->field[f->field_len] = '\0';
	switch (f->part) {
	case P_CSRF:
		dst = f->csrf;
		break;
	case P_MODEL:
		dst = f->model;
		break;
	case P_TOPK:
		dst = f->topk;
		break;
	case P_TTA:
		dst = f->tta;
		break;
	default:
		break;
	}
	if (dst)
		memcpy(dst, f->field, f->field_len + 1);
	if (f->part == P_CSRF)
		f->csrf_ok = web_csrf_ok(f->r, f->csrf);
	f->part = P_NONE;
	return 0;
}

static const struct mp_callbacks callbacks = {on_begin, on_data, on_end};

/* Frees f and its files. */
static void
form_in_free(struct form_in *f)
{
	for (int i = 0; i < f->nimg; i++)
		free(f->img[i].data);
	free(f);
}

/* The models list and the form; results (may be NULL) go above it. */
static void
render(struct req *r, int status, const char *error, long long chosen,
       struct td *d)
{
	struct db *db = r->w->db;
	sqlite3_stmt *st;
	char when[32];
	int n = 0;

	td_set_int(d, "id", r->project.id);
	td_set(d, "project_name", r->project.name);
	st = db_stmt(db, DB_MODEL_LIST, "i", r->project.id);
	while (db_step(db, st) == SQLITE_ROW) {
		struct td *row = td_add_row(d, "models");
		struct modelrow m;

		modelrow_read(st, &m);
		td_set_int(row, "model_id", m.id);
		td_set_int(row, "run_id", m.run_id);
		td_set_int(row, "run_number", m.run_number);
		td_set(row, "arch", m.arch);
		if (m.has_acc)
			td_setf(row, "acc", "%.1f%%", 100 * m.val_acc);
		web_fmt_time(when, sizeof(when), m.created_at);
		td_set(row, "created", when);
		/* newest first: the first is the default choice */
		td_set_bool(row, "selected", chosen ? m.id == chosen : n == 0);
		modelrow_free(&m);
		n++;
	}
	db_done(db, st);
	td_set_bool(d, "has_models", n > 0);
	td_set_int(d, "images_max", PREDICT_IMAGES_MAX);
	if (error)
		td_set(d, "error", error);
	view_page(r, status, "predict", "Predict", d);
}

void
page_predict_form(struct req *r)
{
	struct td *d = td_new();
	char q[24];
	long long chosen = 0;

	/* "Predict with this model" links name the model: honour it */
	if (web_query(r, "model_id", q, sizeof(q)) == 0)
		chosen = atoll(q);
	render(r, 200, NULL, chosen > 0 ? chosen : 0, d);
	td_free(d);
}

static void
fail(struct req *r, int status, const char *msg, long long chosen)
{
	struct td *d = td_new();

	render(r, status, msg, chosen, d);
	td_free(d);
}

/* Reads the multipart body into f; 0, or -1 after answering. */
static int
read_body(struct req *r, struct form_in *f)
{
	const char *ct = mg_get_header(r->conn, "Content-Type");
	long long cl = r->ri->content_length, total = 0;
	char boundary[MP_BOUNDARY_MAX + 1], *buf;
	enum mp_err e = MP_OK;
	struct mp *m;
	int n;

	if (mp_boundary(ct, boundary, sizeof(boundary)) < 0) {
		r->close = 1;
		fail(r, 400,
		     "Send the images as multipart/form-data with "
		     "files in a field named \"images\".",
		     0);
		return -1;
	}
	if (cl > TOTAL_MAX + (1LL << 20)) {
		r->close = 1;
		fail(r, 413,
		     "The images are larger than 64 MB together; "
		     "send fewer at a time.",
		     0);
		return -1;
	}
	m = mp_new(boundary, &callbacks, f);
	buf = xmalloc(64 * 1024);
	while ((n = web_read(r, buf, 64 * 1024)) > 0) {
		total += n;
		if ((e = mp_feed(m, buf, (size_t)n)) != MP_OK)
			break;
	}
	if (r->too_slow) {
		mp_free(m);
		free(buf);
		fail(r, 408, web_too_slow, 0);
		return -1;
	}
	if (e == MP_OK)
		e = mp_finish(m);
	if (e == MP_OK && cl >= 0 && total < cl)
		e = MP_TRUNCATED;
	mp_free(m);
	if (e != MP_OK)
		r->close = 1; /* the rest of the body is not read */
	free(buf);
	if (e == MP_ABORTED) {
		fail(r, f->status, f->msg, 0);
		return -1;
	}
	if (e != MP_OK) {
		char msg[160];
		snprintf(msg, sizeof(msg), "The form could not be read: %s.",
		         mp_strerror(e));
		fail(r, 400, msg, 0);
		return -1;
	}
	return 0;
}

static void
add_results(struct td *d, const cJSON *answer)
{
	const cJSON *preds =
	                cJSON_GetObjectItemCaseSensitive(answer, "predictions"),
	            *p, *ms;

	cJSON_ArrayForEach(p, preds)
	{
		struct td *row = td_add_row(d, "results");
		const char *name = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(p, "name"));
		const char *label = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(p, "label"));
		const char *err = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(p, "error"));
		const char *thumb = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(p, "thumbnail"));
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(p,
		                                                  "confidence"),
		            *t;

		td_set(row, "name", name ? name : "");
		if (err || !label) {
			td_set(row, "img_error",
			       err ? err
			           : "no label came "
			             "back for this image");
			continue;
		}
		td_set(row, "label", label);
		if (cJSON_IsNumber(c)) {
			td_setf(row, "conf_pct", "%.1f", 100 * c->valuedouble);
			td_setf(row, "conf_bar", "%.1f", 100 * c->valuedouble);
		}
		/* base64 only: safe inside the data: URL once escaped */
		if (thumb && *thumb &&
		    strspn(thumb, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                  "abcdefghijklmnopqrstuvwxyz0123456789+/=") ==
		        strlen(thumb))
			td_set(row, "thumbnail", thumb);
		cJSON_ArrayForEach(t,
		                   cJSON_GetObjectItemCaseSensitive(p, "top"))
		{
			const char *tl = cJSON_GetStringValue(
			    cJSON_GetObjectItemCaseSensitive(t, "label"));
			const cJSON *tp =
			    cJSON_GetObjectItemCaseSensitive(t, "p");
			struct td *tr;

			if (!tl || !cJSON_IsNumber(tp))
				continue;
			tr = td_add_row(row, "top");
			td_set(tr, "top_label", tl);
			td_setf(tr, "top_pct", "%.1f", 100 * tp->valuedouble);
		}
	}
	ms = cJSON_GetObjectItemCaseSensitive(answer, "ms");
	if (cJSON_IsNumber(ms))
		td_setf(d, "ms", "%.1f", ms->valuedouble);
}

void
page_predict(struct req *r)
{
	struct form_in *f;
	struct predict_model m;
	cJSON *images, *answer = NULL;
	struct td *d;
	char err[400], *b64;
	long long mid;
	long status;
	int topk = PREDICT_TOPK_DEFAULT;

	/* ~20 KB of file slots: on the heap, not a worker thread's stack */
	f = xcalloc(1, sizeof(*f));
	f->r = r;
	if (read_body(r, f) < 0) {
		form_in_free(f);
		return;
	}
	if (!f->csrf_ok) {
		form_in_free(f);
		view_error_page(r, 403, web_csrf_expired, NULL, NULL);
		return;
	}
	mid = atoll(f->model);
	if (f->topk[0])
		topk = atoi(f->topk);
	if (topk < 1 || topk > PREDICT_TOPK_MAX)
		topk = PREDICT_TOPK_DEFAULT;
	if (mid <= 0 || !predict_model_get(r->w->db, r->project.id, mid, &m)) {
		form_in_free(f);
		fail(r, 400, "Choose one of this project's models.", 0);
		return;
	}
	if (f->nimg == 0) {
		form_in_free(f);
		predict_model_free(&m);
		fail(r, 400, "Choose one or more image files.", mid);
		return;
	}
	images = cJSON_CreateArray();
	for (int i = 0; i < f->nimg; i++) {
		cJSON *o = cJSON_CreateObject();
		size_t blen = sodium_base64_ENCODED_LEN(
		    f->img[i].len, sodium_base64_VARIANT_ORIGINAL);

		b64 = xmalloc(blen);
		sodium_bin2base64(b64, blen, f->img[i].data, f->img[i].len,
		                  sodium_base64_VARIANT_ORIGINAL);
		free(f->img[i].data);
		f->img[i].data = NULL;
		cJSON_AddStringToObject(o, "name", f->img[i].name);
		cJSON_AddStringToObject(o, "data", b64);
		free(b64);
		cJSON_AddItemToArray(images, o);
	}
	if (predict_call(r->w, r->user_id, m.path, topk, PREDICT_THUMB_PAGE,
	                 !strcmp(f->tta, "1"), images, &status, &answer, err,
	                 sizeof(err)) < 0) {
		char msg[480];
		snprintf(msg, sizeof(msg), "%s. Try again when it is back.",
		         err);
		fail(r, 503, msg, mid);
		goto out;
	}
	if (status != 200 || !cJSON_IsObject(answer)) {
		const char *e = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(answer, "error"));
		char msg[480];
		snprintf(msg, sizeof(msg),
		         "The infer service could not "
		         "classify these images (HTTP %ld): %.300s",
		         status, e ? e : "no reason given");
		fail(r, status >= 400 && status < 500 ? 400 : 502, msg, mid);
		goto out;
	}
	if (predict_record(r->w, r->project.id, mid, r->user_id, "page", answer,
	                   f->nimg) < 0)
		ty_log("predict: history not stored");
	d = td_new();
	td_set_bool(d, "has_results", 1);
	td_setf(d, "nimages_text", "%d image%s", f->nimg,
	        f->nimg == 1 ? "" : "s");
	td_setf(d, "model_label", "model #%lld (%s, run #%lld)", m.id, m.arch,
	        m.run_number);
	add_results(d, answer);
	render(r, 200, NULL, mid, d);
	td_free(d);
out:
	cJSON_Delete(answer);
	predict_model_free(&m);
	form_in_free(f);
}
