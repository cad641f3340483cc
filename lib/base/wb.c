/* wb.c — bounded growable buffer; see wb.h. */
#include "wb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
wb_init(struct wbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
wb_free(struct wbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
wb_reset(struct wbuf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
	b->toobig = 0;
}

static int
reserve(struct wbuf *b, size_t n)
{
	size_t want, cap;

	if (b->toobig || n > b->max || b->len > b->max - n) {
		b->toobig = 1;
		return -1;
	}
	want = b->len + n + 1;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
	return 0;
}

int
wb_add(struct wbuf *b, const void *p, size_t n)
{
	if (reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
wb_adds(struct wbuf *b, const char *s)
{
	return wb_add(b, s, strlen(s));
}

int
wb_printf(struct wbuf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return wb_add(b, small, (size_t)n);
	if (reserve(b, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* Entities for the five bytes that can change meaning in HTML. */
static const char *const html_ent[256] = {
    ['&'] = "&amp;",  ['<'] = "&lt;",   ['>'] = "&gt;",
    ['"'] = "&quot;", ['\''] = "&#39;",
};

int
wb_add_html(struct wbuf *b, const char *s, size_t n)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		const char *e = html_ent[(unsigned char)s[i]];
		if (!e)
			continue;
		if (wb_add(b, s + run, i - run) < 0 || wb_adds(b, e) < 0)
			return -1;
		run = i + 1;
	}
	return wb_add(b, s + run, n - run);
}

char *
wb_take(struct wbuf *b, size_t *len)
{
	char *p = b->data;

	if (!p)
		p = xstrdup("");
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
