/*
 * libFuzzer harness for the template engine: parse any bytes as a
 * template; when it parses, render it with a dictionary that has strings,
 * flags, lists and a trusted value, into a bounded buffer. Checks that
 * a value never reaches the output unescaped: the same template rendered
 * with a harmless value in place of "<x>&\"'" must show that string as
 * often (the template's own text may spell it, e.g. around a comment).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl.h"
#include "wb.h"

#define RAW "<x>&\"'"

static struct td *
make_dict(const char *a)
{
	struct td *d = td_new();

	td_set(d, "a", a);
	td_set(d, "name", "Ada");
	td_set(d, "empty", "");
	td_set_bool(d, "yes", 1);
	td_set_bool(d, "no", 0);
	td_set_html_UNESCAPED(d, "html", "<b>ok</b>");
	for (int i = 0; i < 3; i++) {
		struct td *r = td_add_row(d, "rows");
		td_set_int(r, "i", i);
		struct td *in = td_add_row(r, "rows");
		td_set(in, "a", "inner<");
	}
	return d;
}

static size_t
count(const struct wbuf *b, const char *s)
{
	size_t n = 0, k = strlen(s);
	const char *p = b->data, *end = b->data + b->len;

	while (p && (p = memmem(p, (size_t)(end - p), s, k)) != NULL)
		n++, p += k;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct td *d, *safe;
	char err[200];
	struct tmpl *t;
	struct wbuf out, ref;

	if (!d) {
		d = make_dict(RAW);
		safe = make_dict("harmless");
	}
	t = tmpl_parse((const char *)data, size, err, sizeof(err));
	if (!t)
		return 0;
	wb_init(&out, 1 << 20);
	wb_init(&ref, 1 << 20);
	int r1 = tmpl_render(t, d, &out), r2 = tmpl_render(t, safe, &ref);
	/* The value of "a" must never appear unescaped. (A render cut short
	 * by the buffer's bound is not comparable.) */
	if (r1 == 0 && r2 == 0 && count(&out, RAW) > count(&ref, RAW))
		abort();
	wb_free(&out);
	wb_free(&ref);
	tmpl_free(t);
	return 0;
}
