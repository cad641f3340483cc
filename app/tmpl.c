/*
 * tmpl.c — parse a template once into a flat node array, render it many
 * times. Sections store the index just past their closing tag, so
 * rendering is a walk with no searching.
 */
#include "tmpl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TMPL_NAME_MAX 64
#define TMPL_DEPTH_MAX 16

enum node_kind { N_TEXT, N_VAR, N_RAW, N_SECTION, N_INVERTED };

struct node {
	enum node_kind kind;
	const char *text; /* N_TEXT: into t->src */
	size_t len;
	char name[TMPL_NAME_MAX + 1];
	size_t end; /* sections: index of the first node after the section */
};

struct tmpl {
	char *src;
	struct node *nodes;
	size_t n, cap;
};

enum tv_kind { TV_STR, TV_HTML, TV_BOOL, TV_LIST };

struct tv {
	char *key;
	enum tv_kind kind;
	char *str;
	int flag;
	struct td **rows;
	size_t nrows, caprows;
};

struct td {
	struct tv *v;
	size_t n, cap;
};

/* ---- dictionaries ---- */

struct td *
td_new(void)
{
	return xcalloc(1, sizeof(struct td));
}

static void
tv_clear(struct tv *v)
{
	size_t i;

	free(v->str);
	v->str = NULL;
	for (i = 0; i < v->nrows; i++)
		td_free(v->rows[i]);
	free(v->rows);
	v->rows = NULL;
	v->nrows = v->caprows = 0;
}

void
td_free(struct td *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n; i++) {
		tv_clear(&d->v[i]);
		free(d->v[i].key);
	}
	free(d->v);
	free(d);
}

static struct tv *
td_find(const struct td *d, const char *key)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->v[i].key, key) == 0)
			return &d->v[i];
	return NULL;
}

/* The slot for key, emptied; created when missing. */
static struct tv *
td_slot(struct td *d, const char *key)
{
	struct tv *v = td_find(d, key);

	if (v) {
		tv_clear(v);
		return v;
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->v = xrealloc(d->v, d->cap * sizeof(*d->v));
	}
	v = &d->v[d->n++];
	memset(v, 0, sizeof(*v));
	v->key = xstrdup(key);
	return v;
}

void
td_set(struct td *d, const char *key, const char *val)
{
	struct tv *v = td_slot(d, key);

	v->kind = TV_STR;
	v->str = xstrdup(val ? val : "");
}

void
td_setf(struct td *d, const char *key, const char *fmt, ...)
{
	struct tv *v;
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	v = td_slot(d, key);
	v->kind = TV_STR;
	v->str = s;
}

void
td_set_int(struct td *d, const char *key, long long n)
{
	td_setf(d, key, "%lld", n);
}

void
td_set_count(struct td *d, const char *key, long long n, const char *one,
             const char *many)
{
	td_setf(d, key, "%lld %s", n, n == 1 ? one : many);
}

void
td_set_bool(struct td *d, const char *key, int flag)
{
	struct tv *v = td_slot(d, key);

	v->kind = TV_BOOL;
	v->flag = flag != 0;
}

void
td_set_html_UNESCAPED(struct td *d, const char *key, const char *html)
{
	struct tv *v = td_slot(d, key);

	v->kind = TV_HTML;
	v->str = xstrdup(html ? html : "");
}

struct td *
td_add_row(struct td *d, const char *key)
{
	struct tv *v = td_find(d, key);

	if (!v || v->kind != TV_LIST) {
		v = td_slot(d, key);
		v->kind = TV_LIST;
	}
	if (v->nrows == v->caprows) {
		v->caprows = v->caprows ? v->caprows * 2 : 8;
		v->rows = xrealloc(v->rows, v->caprows * sizeof(*v->rows));
	}
	v->rows[v->nrows] = td_new();
	return v->rows[v->nrows++];
}

const char *
td_get(const struct td *d, const char *key)
{
	const struct tv *v = td_find(d, key);

	return v && (v->kind == TV_STR || v->kind == TV_HTML) ? v->str : NULL;
}

/* ---- parsing ---- */

static struct node *
add_node(struct tmpl *t, enum node_kind kind)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		t->nodes = xrealloc(t->nodes, t->cap * sizeof(*t->nodes));
	}
	memset(&t->nodes[t->n], 0, sizeof(struct node));
	t->nodes[t->n].kind = kind;
	return &t->nodes[t->n++];
}

static int
line_of(const char *src, const char *p)
{
	int line = 1;

	for (; src < p; src++)
		if (*src == '\n')
			line++;
	return line;
}

static int
name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* Copies the trimmed name in [p, e) to out; -1 when empty/bad/too long. */
static int
take_name(const char *p, const char *e, char *out)
{
	size_t n;

	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	n = (size_t)(e - p);
	if (n == 0 || n > TMPL_NAME_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!name_char((unsigned char)p[i]))
			return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

struct tmpl *
tmpl_parse(const char *src, size_t len, char *err, size_t errlen)
{
	struct tmpl *t = xcalloc(1, sizeof(*t));
	size_t open[TMPL_DEPTH_MAX];
	size_t depth = 0;
	const char *p, *end, *tag, *close;

	t->src = xmalloc(len + 1);
	memcpy(t->src, src, len);
	t->src[len] = '\0';
	p = t->src;
	end = t->src + len;
	while (p < end) {
		struct node *nd;
		int raw = 0;
		char sigil;

		tag = memmem(p, (size_t)(end - p), "{{", 2);
		if (!tag)
			tag = end;
		if (tag > p) {
			nd = add_node(t, N_TEXT);
			nd->text = p;
			nd->len = (size_t)(tag - p);
		}
		if (tag == end)
			break;
		if (tag + 2 < end && tag[2] == '{') {
			raw = 1;
			close =
			    memmem(tag + 3, (size_t)(end - tag - 3), "}}}", 3);
		} else {
			close =
			    memmem(tag + 2, (size_t)(end - tag - 2), "}}", 2);
		}
		if (!close) {
			snprintf(err, errlen, "line %d: unclosed tag",
			         line_of(t->src, tag));
			goto fail;
		}
		p = close + (raw ? 3 : 2);
		if (raw) {
			nd = add_node(t, N_RAW);
			if (take_name(tag + 3, close, nd->name) < 0)
				goto badname;
			continue;
		}
		sigil = tag[2];
		if (sigil == '!') {
			continue;
		} else if (sigil == '#' || sigil == '^') {
			if (depth == TMPL_DEPTH_MAX) {
				snprintf(err, errlen,
				         "line %d: sections nested "
				         "too deep",
				         line_of(t->src, tag));
				goto fail;
			}
			nd = add_node(t, sigil == '#' ? N_SECTION : N_INVERTED);
			if (take_name(tag + 3, close, nd->name) < 0)
				goto badname;
			open[depth++] = t->n - 1;
		} else if (sigil == '/') {
			char name[TMPL_NAME_MAX + 1];
			if (take_name(tag + 3, close, name) < 0)
				goto badname;
			if (depth == 0 ||
			    strcmp(t->nodes[open[depth - 1]].name, name) != 0) {
				snprintf(err, errlen,
				         "line %d: {{/%s}} closes "
				         "nothing open",
				         line_of(t->src, tag), name);
				goto fail;
			}
			t->nodes[open[--depth]].end = t->n;
		} else {
			nd = add_node(t, N_VAR);
			if (take_name(tag + 2, close, nd->name) < 0)
				goto badname;
		}
	}
	if (depth) {
		snprintf(err, errlen, "section {{#%s}} is never closed",
		         t->nodes[open[depth - 1]].name);
		goto fail;
	}
	return t;
badname:
	snprintf(err, errlen,
	         "line %d: bad name in tag (letters, digits, "
	         "_ - . only, at most %d)",
	         line_of(t->src, tag), TMPL_NAME_MAX);
fail:
	tmpl_free(t);
	return NULL;
}

void
tmpl_free(struct tmpl *t)
{
	if (!t)
		return;
	free(t->nodes);
	free(t->src);
	free(t);
}

/* ---- rendering ---- */

struct ctx {
	const struct td *stack[TMPL_DEPTH_MAX + 1];
	size_t depth;
};

/* Innermost dict first, like Mustache's context stack. */
static const struct tv *
lookup(const struct ctx *c, const char *name)
{
	for (size_t i = c->depth; i-- > 0;) {
		const struct tv *v = td_find(c->stack[i], name);
		if (v)
			return v;
	}
	return NULL;
}

static int
truthy(const struct tv *v)
{
	if (!v)
		return 0;
	switch (v->kind) {
	case TV_STR:
	case TV_HTML:
		return v->str[0] != '\0';
	case TV_BOOL:
		return v->flag;
	case TV_LIST:
		return v->nrows > 0;
	}
	return 0;
}

static int
render_range(const struct tmpl *t, size_t from, size_t to, struct ctx *c,
             struct wbuf *out)
{
	size_t i = from;

	while (i < to) {
		const struct node *nd = &t->nodes[i];
		const struct tv *v;

		switch (nd->kind) {
		case N_TEXT:
			if (wb_add(out, nd->text, nd->len) < 0)
				return -1;
			i++;
			break;
		case N_VAR:
		case N_RAW:
			v = lookup(c, nd->name);
			i++;
			if (!v || v->kind == TV_LIST)
				break;
			if (v->kind == TV_BOOL) {
				if (wb_adds(out, v->flag ? "true" : "") < 0)
					return -1;
				break;
			}
			if (nd->kind == N_RAW && v->kind == TV_HTML) {
				if (wb_adds(out, v->str) < 0)
					return -1;
			} else if (wb_add_html(out, v->str, strlen(v->str)) <
			           0) {
				return -1;
			}
			break;
		case N_SECTION:
			v = lookup(c, nd->name);
			if (v && v->kind == TV_LIST) {
				for (size_t r = 0; r < v->nrows; r++) {
					c->stack[c->depth++] = v->rows[r];
					int rc = render_range(t, i + 1, nd->end,
					                      c, out);
					c->depth--;
					if (rc < 0)
						return -1;
				}
			} else if (truthy(v) && render_range(t, i + 1, nd->end,
			                                     c, out) < 0) {
				return -1;
			}
			i = nd->end;
			break;
		case N_INVERTED:
			v = lookup(c, nd->name);
			if (!truthy(v) &&
			    render_range(t, i + 1, nd->end, c, out) < 0)
				return -1;
			i = nd->end;
			break;
		}
	}
	return 0;
}

int
tmpl_render(const struct tmpl *t, const struct td *d, struct wbuf *out)
{
	struct ctx c = {.depth = 0};

	if (d)
		c.stack[c.depth++] = d;
	return render_range(t, 0, t->n, &c, out);
}
