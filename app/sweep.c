/* sweep.c — run forms with lists; see sweep.h. */
#include "sweep.h"

#include "db.h"
#include "runrow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Not hidden/conv: their values hold commas of their own ("128,64"). */
const char *const sweep_fields[] = {
    "lr", "arch", "epochs", "optimizer", "batch_size", "augment", "seed"};
const size_t sweep_nfields = TY_ARRAY_LEN(sweep_fields);

int
sweep_is_field(const char *name)
{
	for (size_t i = 0; i < sweep_nfields; i++)
		if (!strcmp(name, sweep_fields[i]))
			return 1;
	return 0;
}

/* Items of a list: up to max, trimmed; -1 when one is empty. */
static int
split(const char *v, char items[][64], int max)
{
	int n = 0;
	const char *p = v;

	for (;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (!len || len >= 64 || n >= max)
			return -1;
		memcpy(items[n], p, len);
		items[n++][len] = '\0';
		if (!e)
			return n;
		p = e + 1;
	}
}

static void
copy_form(const struct form *f, struct form *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < f->n; i++) {
		out->f[i].name = xstrdup(f->f[i].name);
		out->f[i].value = xstrdup(f->f[i].value);
	}
	out->n = f->n;
}

/*
 * The form's "sweep" field ("arch=cnn,mlp lr=0.001,0.003", pairs split
 * by spaces or ';'): each pair sets (or adds) that field's value in g, a
 * copy of f. 0, or -1 with err.
 */
static int
apply_sweep_field(const struct form *f, struct form *g, char *err,
                  size_t errlen)
{
	const char *v = form_get(f, "sweep");
	char *copy, *save = NULL;
	int rc = 0;

	copy_form(f, g);
	if (!v || !*v)
		return 0;
	copy = xstrdup(v);
	for (char *t = strtok_r(copy, " ;\t\r\n", &save); t && !rc;
	     t = strtok_r(NULL, " ;\t\r\n", &save)) {
		char *eq = strchr(t, '=');
		size_t i;
		if (eq)
			*eq = '\0';
		if (!eq || !sweep_is_field(t) || !eq[1]) {
			snprintf(err, errlen,
			         "sweep: write name=values for lr, arch, "
			         "epochs, optimizer, batch_size, augment or "
			         "seed (\"%.40s\" is not one)",
			         t);
			rc = -1;
			break;
		}
		for (i = 0; i < g->n && strcmp(g->f[i].name, t); i++)
			;
		if (i == g->n) {
			if (g->n >= FORM_FIELDS_MAX) {
				snprintf(err, errlen, "sweep: too many fields");
				rc = -1;
				break;
			}
			g->f[i].name = xstrdup(t);
			g->f[i].value = NULL;
			g->n++;
		}
		free(g->f[i].value);
		g->f[i].value = xstrdup(eq + 1);
	}
	free(copy);
	return rc;
}

static size_t expand(const struct form *f0, struct form *g, struct form *out,
                     size_t max, char *spec, size_t speclen, char *err,
                     size_t errlen);

size_t
sweep_expand(const struct form *f0, struct form *out, size_t max, char *spec,
             size_t speclen, char *err, size_t errlen)
{
	struct form g;
	size_t k = expand(f0, &g, out, max, spec, speclen, err, errlen);

	form_free(&g);
	return k;
}

static size_t
expand(const struct form *f0, struct form *g, struct form *out, size_t max,
       char *spec, size_t speclen, char *err, size_t errlen)
{
	const struct form *f = g;
	char(*items)[SWEEP_MAX][64] = xcalloc(FORM_FIELDS_MAX, sizeof(*items));
	int nitems[FORM_FIELDS_MAX] = {0};
	size_t k = 1, len = 0;

	if (spec && speclen)
		spec[0] = '\0';
	if (apply_sweep_field(f0, g, err, errlen)) {
		free(items);
		return 0;
	}
	for (size_t i = 0; i < f->n; i++) {
		if (!sweep_is_field(f->f[i].name) ||
		    !strchr(f->f[i].value, ','))
			continue;
		nitems[i] = split(f->f[i].value, items[i], SWEEP_MAX);
		if (nitems[i] < 0) {
			snprintf(err, errlen,
			         "%s: a list is up to %d values separated by "
			         "commas, none empty",
			         f->f[i].name, SWEEP_MAX);
			free(items);
			return 0;
		}
		k *= (size_t)nitems[i];
		if (k > max) {
			snprintf(err, errlen,
			         "these lists make more than %zu runs; a sweep "
			         "is at most %zu",
			         max, max);
			free(items);
			return 0;
		}
		if (spec && len < speclen)
			len += (size_t)snprintf(spec + len, speclen - len,
			                        "%s%s=%s", len ? " " : "",
			                        f->f[i].name, f->f[i].value);
	}
	for (size_t c = 0; c < k; c++) {
		size_t rest = c;
		copy_form(f, &out[c]);
		/* combination c: mixed-radix digits over the lists */
		for (size_t i = 0; i < f->n; i++) {
			if (nitems[i] <= 0)
				continue;
			free(out[c].f[i].value);
			out[c].f[i].value =
			    xstrdup(items[i][rest % (size_t)nitems[i]]);
			rest /= (size_t)nitems[i];
		}
	}
	free(items);
	return k;
}

void
sweep_label(const struct form *f, const struct form *combo, char *out,
            size_t outlen)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < combo->n && len < outlen; i++) {
		const char *was = form_get(f, combo->f[i].name);
		if (!strcmp(combo->f[i].name, "sweep") ||
		    (was && !strcmp(was, combo->f[i].value)))
			continue;
		len += (size_t)snprintf(out + len, outlen - len, "%s%s=%s",
		                        len ? ", " : "", combo->f[i].name,
		                        combo->f[i].value);
	}
}

int
sweep_runs(struct db *db, long long sid, long long pid, struct runrow *v,
           size_t max, char *spec, size_t speclen)
{
	sqlite3_stmt *st = db_stmt(db, DB_SWEEP_GET, "ii", sid, pid);
	long long ids[SWEEP_MAX];
	size_t n = 0, m = 0;
	int found = 0;

	if (db_step(db, st) == SQLITE_ROW) {
		snprintf(spec, speclen, "%s", db_col_text(st, 0));
		found = 1;
	}
	db_done(db, st);
	if (!found)
		return -1;
	st = db_stmt(db, DB_SWEEP_RUN_IDS, "ii", sid, pid);
	while (n < max && n < SWEEP_MAX && db_step(db, st) == SQLITE_ROW)
		ids[n++] = sqlite3_column_int64(st, 0);
	db_done(db, st);
	for (size_t k = 0; k < n; k++)
		if (runrow_load(db, ids[k], pid, &v[m]) == 0)
			m++;
	return (int)m;
}

int
sweep_best(const struct runrow *v, size_t n)
{
	int best = -1;
	double acc, loss, bacc = -1, bloss = 0;
	int ep;

	for (size_t i = 0; i < n; i++) {
		if (v[i].st != RUNROW_SUCCEEDED ||
		    runrow_kept(&v[i], &acc, &loss, &ep) < 0)
			continue;
		if (best < 0 || acc > bacc || (acc == bacc && loss < bloss)) {
			best = (int)i;
			bacc = acc;
			bloss = loss;
		}
	}
	return best;
}
