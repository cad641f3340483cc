/*
 * tmpl.h — the escape-by-default template engine over the views/ directory, and
 * dictionaries that fill it.
 *
 * Syntax (a small Mustache):
 *	{{name}}            the value, HTML-escaped (& < > " ')
 *	{{#name}}..{{/name}} a list: once per row (the row's keys shadow outer
 *	                    ones); a string/flag: once when non-empty/true
 *	{{^name}}..{{/name}} once when name is missing, empty, false, or []
 *	{{! comment }}
 *	{{{name}}}          raw output: ONLY a value set with
 *	                    td_set_html_UNESCAPED() comes out unescaped; any
 *	                    other value is escaped here too.
 * A missing key renders as nothing.
 */
#ifndef TY_TMPL_H
#define TY_TMPL_H

#include <stddef.h>

#include "util.h"
#include "wb.h"

struct tmpl;
struct td;

/*
 * Parses src (len bytes). Returns NULL on a syntax error and writes a
 * message with the line number into err.
 */
struct tmpl *tmpl_parse(const char *src, size_t len, char *err,
                        size_t errlen) TY_WUR;
void tmpl_free(struct tmpl *t);
/* Renders t with data d, appending to out; -1 when out reaches its max. */
int tmpl_render(const struct tmpl *t, const struct td *d,
                struct wbuf *out) TY_WUR;

/* Dictionaries: keys and values are copied; a dict owns its rows. */
struct td *td_new(void);
void td_free(struct td *d);
void td_set(struct td *d, const char *key, const char *val);
void td_setf(struct td *d, const char *key, const char *fmt, ...)
    TY_PRINTF(3, 4);
void td_set_int(struct td *d, const char *key, long long v);
void td_set_bool(struct td *d, const char *key, int v);
/* "1 class", "3 classes": n and the noun in the right number. */
void td_set_count(struct td *d, const char *key, long long n, const char *one,
                  const char *many);
/* Appends an empty row to list key (created on first use); returns it. */
struct td *td_add_row(struct td *d, const char *key);
/*
 * The only way to get unescaped output: the value must already be safe
 * HTML (e.g. another rendered template), and the template must ask for it
 * with {{{key}}}.
 */
void td_set_html_UNESCAPED(struct td *d, const char *key, const char *html);
/* The string value of key in d (not its parents), or NULL. */
const char *td_get(const struct td *d, const char *key);

#endif
