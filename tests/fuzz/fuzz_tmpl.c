/*
 * libFuzzer harness for the template engine: parse any bytes as a
 * template; when it parses, render it with a dictionary that has strings,
 * flags, lists and a trusted value, into a bounded buffer. Checks that
 * escaped output never contains a raw '<' from a value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl.h"
#include "wbuf.h"

static struct td *
make_dict(void)
{
	struct td *d = td_new();

	td_set(d, "a", "<x>&\"'");
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct td *d;
	char err[200];
	struct tmpl *t;
	struct wbuf out;

	if (!d)
		d = make_dict();
	t = tmpl_parse((const char *)data, size, err, sizeof(err));
	if (!t)
		return 0;
	wb_init(&out, 1 << 20);
	(void)tmpl_render(t, d, &out);
	/* The value of "a" must never appear unescaped. */
	if (out.data && strstr(out.data, "<x>&\"'") &&
	    !memmem(data, size, "<x>", 3))
		abort();
	wb_free(&out);
	tmpl_free(t);
	return 0;
}
