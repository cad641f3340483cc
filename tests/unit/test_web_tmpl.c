/* Unit tests of the template engine (app/tmpl.c): escaping, sections,
 * loops, inverted sections, missing keys, raw output, syntax errors. */
#include <stdlib.h>
#include <string.h>

#include "../th.h"
#include "tmpl.h"
#include "wb.h"

/* Renders src with d; returns a malloc'd string, or NULL on failure. */
static char *
render(const char *src, const struct td *d, char *err, size_t errlen)
{
	struct tmpl *t = tmpl_parse(src, strlen(src), err, errlen);
	struct wbuf b;

	if (!t)
		return NULL;
	wb_init(&b, 1 << 20);
	if (tmpl_render(t, d, &b) < 0) {
		tmpl_free(t);
		wb_free(&b);
		return NULL;
	}
	tmpl_free(t);
	return wb_take(&b, NULL);
}

int
main(void)
{
	char err[200];
	struct td *d = td_new();

	td_set(d, "name", "Ada");
	td_set(d, "evil", "<a href=\"x\">&'</a>");
	td_set(d, "empty", "");
	td_set_bool(d, "yes", 1);
	td_set_bool(d, "no", 0);
	td_set_html_UNESCAPED(d, "trusted", "<b>bold</b>");
	td_set_int(d, "n", -42);
	for (int i = 0; i < 3; i++) {
		struct td *row = td_add_row(d, "rows");
		td_setf(row, "i", "%d", i);
		if (i == 1)
			td_set(row, "name", "inner<");
	}
	td_add_row(d, "none"); /* then emptied below by td_set */
	td_set(d, "none", "");

	static const struct {
		const char *src, *want;
	} ok[] = {
	    {"plain text", "plain text"},
	    {"", ""},
	    {"Hi {{name}}!", "Hi Ada!"},
	    {"{{ name }}", "Ada"},
	    {"{{evil}}", "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"},
	    {"{{missing}}|", "|"},
	    {"{{n}}", "-42"},
	    {"{{#yes}}Y{{/yes}}{{#no}}N{{/no}}", "Y"},
	    {"{{^yes}}Y{{/yes}}{{^no}}N{{/no}}", "N"},
	    {"{{#missing}}M{{/missing}}{{^missing}}not{{/missing}}", "not"},
	    {"{{#empty}}E{{/empty}}{{^empty}}e{{/empty}}", "e"},
	    {"{{#name}}[{{name}}]{{/name}}", "[Ada]"},
	    {"{{#rows}}{{i}},{{/rows}}", "0,1,2,"},
	    {"{{#rows}}{{name}} {{/rows}}", "Ada inner&lt; Ada "},
	    {"{{^rows}}none{{/rows}}", ""},
	    {"{{#none}}x{{/none}}{{^none}}empty list{{/none}}", "empty list"},
	    {"{{#rows}}{{#yes}}{{i}}{{/yes}}{{/rows}}", "012"},
	    {"{{trusted}}", "&lt;b&gt;bold&lt;/b&gt;"},
	    {"{{{trusted}}}", "<b>bold</b>"},
	    {"{{{evil}}}", "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"},
	    {"{{! a comment }}x", "x"},
	    {"{{yes}}", "true"},
	    {"a { b } c {x}", "a { b } c {x}"},
	    {"{{rows}}", ""},
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(ok); i++) {
		TH_TEST(ok[i].src)
		{
			char *out = render(ok[i].src, d, err, sizeof(err));
			CHECK_STR(out, ok[i].want);
			free(out);
		}
	}

	static const struct {
		const char *src, *err;
	} bad[] = {
	    {"{{name", "unclosed"},
	    {"{{{name}}", "unclosed"},
	    {"{{#a}}x", "never closed"},
	    {"{{/a}}", "closes nothing"},
	    {"{{#a}}{{/b}}", "closes nothing"},
	    {"{{}}", "bad name"},
	    {"{{a b}}", "bad name"},
	    {"{{<script>}}", "bad name"},
	    {"line1\nline2 {{#x}}\n{{/y}}", "line 3"},
	    {"{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}"
	     "{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}",
	     "too deep"},
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(bad); i++) {
		TH_TEST(bad[i].src)
		{
			err[0] = '\0';
			char *out = render(bad[i].src, d, err, sizeof(err));
			CHECK(out == NULL);
			CHECK(strstr(err, bad[i].err) != NULL);
			if (!strstr(err, bad[i].err))
				fprintf(stderr, "  error was: %s\n", err);
			free(out);
		}
	}

	TH_TEST("render stops at the buffer's maximum")
	{
		struct tmpl *t = tmpl_parse("{{#rows}}{{evil}}{{/rows}}", 26,
		                            err, sizeof(err));
		struct wbuf b;
		wb_init(&b, 40);
		CHECK(t != NULL);
		CHECK(tmpl_render(t, d, &b) < 0);
		CHECK(b.len <= 40);
		wb_free(&b);
		tmpl_free(t);
	}

	TH_TEST("td_set replaces a value and a list")
	{
		struct td *x = td_new();
		td_set(x, "k", "one");
		td_set(x, "k", "two");
		CHECK_STR(td_get(x, "k"), "two");
		td_add_row(x, "k");
		CHECK(td_get(x, "k") == NULL);
		td_set(x, "k", "three");
		CHECK_STR(td_get(x, "k"), "three");
		td_free(x);
	}

	TH_TEST("wb_add_html escapes exactly the five characters")
	{
		struct wbuf b;
		wb_init(&b, 1024);
		CHECK(wb_add_html(&b, "a&b<c>d\"e'f/g`h=", 17) == 0);
		CHECK_STR(b.data, "a&amp;b&lt;c&gt;d&quot;e&#39;f/g`h=");
		wb_free(&b);
	}
	td_free(d);
	return th_done();
}
