/*
 * page_mistakes.c — the images behind a run's confusion matrix. The train
 * worker writes predictions.json beside the model (one row per validation
 * image: its index in the prepared split, true and predicted class, top
 * probabilities; workers/train/preds.c) and preprocess writes names.json
 * (each image's path in the archive). From those and the prepared tensors:
 *
 *   GET …/runs/{rid}/mistakes[?true=&pred=&page=]  the gallery: wrong
 *       predictions (or one confusion cell, diagonal too), most confident
 *       first — likely label errors — 48 to a page
 *   GET …/runs/{rid}/mistakes/{n}     one image larger, its archive path
 *   GET …/runs/{rid}/images/{n}       image n (1-based) as a PNG, from the
 *       prepared .tyd (what the model saw)
 *   GET …/runs/{rid}/images/{n}/original  the file itself, read from the
 *       uploaded archive by its name (PNG, JPEG, GIF, BMP or WebP)
 */
#include <archive.h>
#include <archive_entry.h>
#include <civetweb.h>
#include <cjson/cJSON.h>
#include <stb/stb_image_write.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page_run.h"
#include "pages.h"
#include "runrow.h"
#include "tensor.h"
#include "view.h"

#define PER_PAGE 48
#define PREDS_MAX (256u << 20)
#define SIDE_JSON_MAX (64u << 20)

struct gallery {
	cJSON *preds;   /* predictions.json */
	cJSON *classes; /* meta.json "classes": names by index */
	cJSON *names;   /* names.json [split], may be NULL */
	const cJSON *rows;
	const char *split;
	int nrows;
};

static cJSON *
read_json(const char *path, size_t max)
{
	size_t len;
	char *s = util_read_file(path, max, &len);
	cJSON *j = s ? cJSON_ParseWithLength(s, len) : NULL;

	free(s);
	return j;
}

static void
gallery_free(struct gallery *g)
{
	cJSON_Delete(g->preds);
	cJSON_Delete(g->classes);
	cJSON_Delete(g->names);
	memset(g, 0, sizeof(*g));
}

/* 0, or -1 when the run has no per-image predictions (g freed). */
static int
gallery_load(struct web *w, long long rid, struct gallery *g)
{
	char *p =
	    xasprintf("%s/runs/%lld/predictions.json", w->models_dir, rid);
	cJSON *meta, *names;
	const cJSON *s;

	memset(g, 0, sizeof(*g));
	g->preds = read_json(p, PREDS_MAX);
	free(p);
	g->rows = cJSON_GetObjectItemCaseSensitive(g->preds, "rows");
	s = cJSON_GetObjectItemCaseSensitive(g->preds, "split");
	if (!cJSON_IsArray(g->rows) || !cJSON_IsString(s) ||
	    (strcmp(s->valuestring, "val") &&
	     strcmp(s->valuestring, "train"))) {
		gallery_free(g);
		return -1;
	}
	g->split = s->valuestring;
	g->nrows = cJSON_GetArraySize(g->rows);
	p = xasprintf("%s/prepared/%lld/meta.json", w->data_dir, rid);
	meta = read_json(p, SIDE_JSON_MAX);
	free(p);
	g->classes = cJSON_DetachItemFromObjectCaseSensitive(meta, "classes");
	cJSON_Delete(meta);
	p = xasprintf("%s/prepared/%lld/names.json", w->data_dir, rid);
	names = read_json(p, SIDE_JSON_MAX);
	free(p);
	g->names = cJSON_DetachItemFromObjectCaseSensitive(names, g->split);
	cJSON_Delete(names);
	return 0;
}

static const char *
class_name(const struct gallery *g, int c)
{
	const char *s = cJSON_GetStringValue(cJSON_GetArrayItem(g->classes, c));
	return s ? s : "?";
}

/* One row [index, true, pred, [[class, p], ...]]; 0 or -1 if malformed. */
struct pred {
	int index, truth, pred;
	double conf;
	const cJSON *top;
};

static int
pred_of(const cJSON *row, struct pred *p)
{
	const cJSON *a = cJSON_GetArrayItem(row, 0),
	            *b = cJSON_GetArrayItem(row, 1),
	            *c = cJSON_GetArrayItem(row, 2);
	const cJSON *first;

	p->top = cJSON_GetArrayItem(row, 3);
	first = cJSON_GetArrayItem(cJSON_GetArrayItem(p->top, 0), 1);
	if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b) || !cJSON_IsNumber(c) ||
	    a->valuedouble < 0)
		return -1;
	p->index = a->valueint, p->truth = b->valueint, p->pred = c->valueint;
	p->conf = cJSON_IsNumber(first) ? first->valuedouble : 0;
	return 0;
}

static int
query_int(struct req *r, const char *name, int def)
{
	char q[24];

	if (web_query(r, name, q, sizeof(q)) < 0 || !*q)
		return def;
	return atoi(q);
}

static int
cmp_conf(const void *a, const void *b)
{
	const struct pred *x = a, *y = b;
	if (x->conf != y->conf)
		return x->conf < y->conf ? 1 : -1;
	return x->index - y->index;
}

static void
no_predictions(struct req *r, const struct runrow *run)
{
	char back[96];

	snprintf(back, sizeof(back), "/projects/%lld/runs/%lld", r->project.id,
	         run->id);
	view_error_page(r, 404,
	                "This run has no per-image predictions: it has not "
	                "finished, or it was trained before trainyard kept "
	                "them. Train it again to see its images.",
	                back, "Back to the run");
}

/* The run of ids[1] and its gallery data; -1 after answering 404. */
static int
load_both(struct req *r, struct runrow *run, struct gallery *g)
{
	if (runrow_load(r->w->db, r->ids[1], r->project.id, run) < 0) {
		web_error(r, 404, "There is no such run in this project.");
		return -1;
	}
	if (gallery_load(r->w, run->id, g) < 0) {
		no_predictions(r, run);
		runrow_free(run);
		return -1;
	}
	return 0;
}

void
page_run_mistakes(struct req *r)
{
	struct runrow run;
	struct gallery g;
	struct pred *v;
	struct td *d;
	int truth = query_int(r, "true", -1), pred = query_int(r, "pred", -1);
	int page = query_int(r, "page", 1), n = 0, pages;
	char title[160];

	if (load_both(r, &run, &g) < 0)
		return;
	v = xcalloc((size_t)g.nrows + 1, sizeof(*v));
	for (int i = 0; i < g.nrows; i++) {
		struct pred p;
		if (pred_of(cJSON_GetArrayItem(g.rows, i), &p) < 0)
			continue;
		/* a cell (diagonal too), or else every mistake */
		if (truth >= 0 || pred >= 0 ? p.truth == truth && p.pred == pred
		                            : p.truth != p.pred)
			v[n++] = p;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_conf);
	pages = n ? (n + PER_PAGE - 1) / PER_PAGE : 1;
	page = page < 1 ? 1 : page > pages ? pages : page;
	d = td_new();
	td_set_int(d, "pid", r->project.id);
	td_set(d, "project", r->project.name);
	td_set_int(d, "rid", run.id);
	td_set_int(d, "rnum", run.number);
	td_set_count(d, "count_text", n, "image", "images");
	td_set_int(d, "count", n);
	if (truth >= 0 || pred >= 0) {
		td_set(d, "cell_true", class_name(&g, truth));
		td_set(d, "cell_pred", class_name(&g, pred));
		td_set_bool(d, "cell_diag", truth == pred);
		td_setf(d, "cell_q", "true=%d&pred=%d&", truth, pred);
	}
	for (int i = (page - 1) * PER_PAGE; i < n && i < page * PER_PAGE; i++) {
		struct td *row = td_add_row(d, "items");
		td_set_int(row, "n", v[i].index + 1);
		td_set(row, "true_name", class_name(&g, v[i].truth));
		td_set(row, "pred_name", class_name(&g, v[i].pred));
		td_setf(row, "conf", "%.1f", 100 * v[i].conf);
		td_set_bool(row, "wrong", v[i].truth != v[i].pred);
		td_set(row, "file",
		       cJSON_GetStringValue(
		           cJSON_GetArrayItem(g.names, v[i].index)));
	}
	if (pages > 1) {
		td_setf(d, "page_text", "page %d of %d", page, pages);
		if (page > 1)
			td_set_int(d, "prev_page", page - 1);
		if (page < pages)
			td_set_int(d, "next_page", page + 1);
	}
	snprintf(title, sizeof(title), "Run #%lld · images", run.number);
	view_page(r, 200, "mistakes", title, d);
	td_free(d);
	free(v);
	gallery_free(&g);
	runrow_free(&run);
}

/* Finds row n (1-based image number) of g; 0 or -1. */
static int
find(const struct gallery *g, long long n, struct pred *out)
{
	const cJSON *row;

	cJSON_ArrayForEach(row, g->rows)
	{
		if (pred_of(row, out) == 0 && out->index + 1LL == n)
			return 0;
	}
	return -1;
}

void
page_run_mistake(struct req *r)
{
	struct runrow run;
	struct gallery g;
	struct pred p;
	const cJSON *t;
	struct td *d;
	char title[160];

	if (load_both(r, &run, &g) < 0)
		return;
	if (find(&g, r->ids[2], &p) < 0) {
		web_error(r, 404, "This run has no such image.");
		goto out;
	}
	d = td_new();
	td_set_int(d, "pid", r->project.id);
	td_set(d, "project", r->project.name);
	td_set_int(d, "rid", run.id);
	td_set_int(d, "rnum", run.number);
	td_set_int(d, "n", p.index + 1);
	td_set(d, "split", g.split);
	td_set(d, "true_name", class_name(&g, p.truth));
	td_set(d, "pred_name", class_name(&g, p.pred));
	td_set_bool(d, "wrong", p.truth != p.pred);
	td_setf(d, "cell_q", "true=%d&pred=%d", p.truth, p.pred);
	td_set(d, "file",
	       cJSON_GetStringValue(cJSON_GetArrayItem(g.names, p.index)));
	cJSON_ArrayForEach(t, p.top)
	{
		const cJSON *c = cJSON_GetArrayItem(t, 0),
		            *q = cJSON_GetArrayItem(t, 1);
		struct td *row;
		if (!cJSON_IsNumber(c) || !cJSON_IsNumber(q))
			continue;
		row = td_add_row(d, "top");
		td_set(row, "name", class_name(&g, c->valueint));
		td_setf(row, "pct", "%.1f", 100 * q->valuedouble);
	}
	snprintf(title, sizeof(title), "Run #%lld · image %d", run.number,
	         p.index + 1);
	view_page(r, 200, "mistake", title, d);
	td_free(d);
out:
	gallery_free(&g);
	runrow_free(&run);
}

struct png_out {
	struct wbuf b;
};

static void
png_write(void *ctx, void *data, int size)
{
	struct png_out *o = ctx;
	if (size > 0 && wb_add(&o->b, data, (size_t)size) < 0)
		return; /* sticky: checked after */
}

void
page_run_image(struct req *r)
{
	struct tensor t;
	char err[200], *path;
	struct png_out o;
	long long n = r->ids[2];
	int rc;

	/* R_PROJECT checked the project; the run must be in it */
	if (!page_run_in_project(r))
		return;
	/* the validation split, as the train worker judged the model on it
	 * (on the training split when there are no validation images) */
	path = xasprintf("%s/prepared/%lld/val.tyd", r->w->data_dir, r->ids[1]);
	rc = tensor_open(path, &t, err, sizeof(err));
	free(path);
	if (rc == 0 && t.count == 0)
		tensor_close(&t), rc = -1;
	if (rc < 0) {
		path = xasprintf("%s/prepared/%lld/train.tyd", r->w->data_dir,
		                 r->ids[1]);
		rc = tensor_open(path, &t, err, sizeof(err));
		free(path);
	}
	if (rc < 0) {
		web_error(r, 404, "This run's prepared images are gone.");
		return;
	}
	if (n < 1 || n > t.count || t.channels < 1 || t.channels > 4) {
		tensor_close(&t);
		web_error(r, 404, "This run has no such image.");
		return;
	}
	wb_init(&o.b, 64u << 20);
	if (!stbi_write_png_to_func(png_write, &o, (int)t.width, (int)t.height,
	                            (int)t.channels,
	                            t.pixels + (size_t)(n - 1) * t.image_bytes,
	                            (int)(t.width * t.channels)) ||
	    o.b.toobig)
		web_error(r, 500, "The image could not be encoded.");
	else
		web_send(r, 200, "image/png", NULL, o.b.data, o.b.len);
	wb_free(&o.b);
	tensor_close(&t);
}

#define ORIGINAL_MAX (16LL << 20)

/* The archive entry's name as preprocess shows it ("./a/b" is "a/b"). */
static int
same_name(const char *raw, const char *clean)
{
	while (raw[0] == '.' && raw[1] == '/')
		raw += 2;
	while (*raw == '/')
		raw++;
	return !strcmp(raw, clean);
}

static const char *
image_type(const unsigned char *p, size_t n)
{
	static const struct {
		const char *magic, *type;
		size_t len, off;
	} t[] = {
	    {"\x89PNG", "image/png", 4, 0},
	    {"\xff\xd8\xff", "image/jpeg", 3, 0},
	    {"GIF8", "image/gif", 4, 0},
	    {"BM", "image/bmp", 2, 0},
	    {"WEBP", "image/webp", 4, 8},
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(t); i++)
		if (n >= t[i].off + t[i].len &&
		    !memcmp(p + t[i].off, t[i].magic, t[i].len))
			return t[i].type;
	return NULL;
}

/* Reads entry `name` of the archive at path into *buf (*len bytes);
 * 0, or -1 with why set. */
static int
read_entry(const char *path, const char *name, unsigned char **buf, size_t *len,
           const char **why)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int rc = -1;

	*buf = NULL, *len = 0;
	*why = "The file is not in the uploaded archive any more.";
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	if (archive_read_open_filename(a, path, 64 * 1024) != ARCHIVE_OK) {
		*why = "The uploaded archive is gone.";
		goto out;
	}
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(e);
		size_t cap = 64 * 1024;
		la_ssize_t n;

		if (!p || !same_name(p, name))
			continue;
		*buf = xmalloc(cap);
		while ((n = archive_read_data(a, *buf + *len, cap - *len)) >
		       0) {
			*len += (size_t)n;
			if ((long long)*len >= ORIGINAL_MAX) {
				*why = "The file is larger than 16 MB.";
				goto out;
			}
			if (*len == cap)
				*buf = xrealloc(*buf, cap *= 2);
		}
		rc = n < 0 ? -1 : 0;
		break;
	}
out:
	archive_read_free(a);
	if (rc < 0) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}

void
page_run_original(struct req *r)
{
	struct runrow run;
	struct gallery g;
	sqlite3_stmt *st;
	char *path = NULL;
	const char *name, *why = "This run has no such image.", *type;
	unsigned char *buf = NULL;
	size_t len;

	if (load_both(r, &run, &g) < 0)
		return;
	name = cJSON_GetStringValue(
	    cJSON_GetArrayItem(g.names, (int)r->ids[2] - 1));
	st = db_stmt(r->w->db, DB_RUN_DATASET_GET, "ii", run.dataset_id,
	             r->project.id);
	if (db_step(r->w->db, st) == SQLITE_ROW)
		path = xasprintf("%s/%s", r->w->data_dir, db_col_text(st, 0));
	db_done(r->w->db, st);
	if (name && *name && path &&
	    read_entry(path, name, &buf, &len, &why) == 0) {
		if ((type = image_type(buf, len)))
			web_send(r, 200, type, NULL, buf, len);
		else
			web_error(r, 415,
			          "This file's format cannot be shown in a "
			          "browser; open it from your folders.");
	} else {
		web_error(r, 404, why);
	}
	free(buf);
	free(path);
	gallery_free(&g);
	runrow_free(&run);
}
