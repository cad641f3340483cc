/* form.c — urlencoded form parsing and validation tables; see form.h. */
#include "form.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static long
form_urldecode(const char *src, size_t len, char *dst)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c == '+') {
			dst[o++] = ' ';
		} else if (c == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return -1;
			hi = hexval((unsigned char)src[i + 1]);
			lo = hexval((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			dst[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '\0') {
			return -1;
		} else {
			dst[o++] = (char)c;
		}
	}
	dst[o] = '\0';
	return (long)o;
}

void
form_free(struct form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->f[i].name);
		free(f->f[i].value);
	}
	f->n = 0;
}

static char *
decode_dup(const char *s, size_t n, enum form_err *err)
{
	char *d = xmalloc(n + 1);

	if (form_urldecode(s, n, d) < 0) {
		free(d);
		*err = FORM_BAD_ESCAPE;
		return NULL;
	}
	return d;
}

enum form_err
form_parse(struct form *f, const char *body, size_t len)
{
	const char *p = body, *end = body + len;
	enum form_err err = FORM_OK;

	f->n = 0;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pe = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pe - p));
		struct form_field *ff;

		if (pe == p) { /* empty pair: "a=1&&b=2" */
			p = pe + 1;
			continue;
		}
		if (f->n == FORM_FIELDS_MAX) {
			err = FORM_TOO_MANY;
			break;
		}
		ff = &f->f[f->n];
		ff->name = decode_dup(p, (size_t)((eq ? eq : pe) - p), &err);
		if (!ff->name)
			break;
		ff->value = eq ? decode_dup(eq + 1, (size_t)(pe - eq - 1), &err)
		               : xstrdup("");
		if (!ff->value) {
			free(ff->name);
			break;
		}
		f->n++;
		p = amp ? amp + 1 : end;
	}
	if (err != FORM_OK)
		form_free(f);
	return err;
}

static const char *const form_errs[] = {
    [FORM_OK] = "ok",
    [FORM_TOO_MANY] = "too many form fields",
    [FORM_BAD_ESCAPE] = "malformed form encoding",
};

const char *
form_strerror(enum form_err e)
{
	return (unsigned)e < TY_ARRAY_LEN(form_errs) ? form_errs[e] : "?";
}

const char *
form_get(const struct form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->f[i].name, name) == 0)
			return f->f[i].value;
	return NULL;
}

const char *
form_check(const struct form *f, const struct form_rule *rules, size_t nrules,
           const char **bad_field)
{
	static __thread char msg[128];

	for (size_t i = 0; i < nrules; i++) {
		const char *v = form_get(f, rules[i].name);
		const char *m;
		if (!v) {
			if (rules[i].optional)
				continue;
			if (bad_field)
				*bad_field = rules[i].name;
			snprintf(msg, sizeof(msg), "%s is required.",
			         rules[i].name);
			return msg;
		}
		if ((m = rules[i].valid(v)) != NULL) {
			if (bad_field)
				*bad_field = rules[i].name;
			return m;
		}
	}
	return NULL;
}

/* Valid UTF-8 with no control characters (tabs included). */
const char *
form_valid_utf8_line(const char *v)
{
	const unsigned char *s = (const unsigned char *)v;

	while (*s) {
		int n;
		unsigned cp;
		if (*s < 0x80) {
			if (*s < 0x20 || *s == 0x7f)
				return "Use printable characters only.";
			s++;
			continue;
		}
		if ((*s & 0xe0) == 0xc0) {
			n = 1;
			cp = *s & 0x1f;
		} else if ((*s & 0xf0) == 0xe0) {
			n = 2;
			cp = *s & 0x0f;
		} else if ((*s & 0xf8) == 0xf0) {
			n = 3;
			cp = *s & 0x07;
		} else {
			return "Text must be valid UTF-8.";
		}
		for (int k = 1; k <= n; k++) {
			if ((s[k] & 0xc0) != 0x80)
				return "Text must be valid UTF-8.";
			cp = (cp << 6) | (s[k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return "Text must be valid UTF-8.";
		if (cp >= 0x80 && cp < 0xa0)
			return "Use printable characters only.";
		s += n + 1;
	}
	return NULL;
}

const char *
form_valid_utf8_text(const char *v)
{
	char *copy = xstrdup(v), *line, *save = NULL;
	const char *msg = NULL;

	for (line = strtok_r(copy, "\r\n", &save); line && !msg;
	     line = strtok_r(NULL, "\r\n", &save))
		msg = form_valid_utf8_line(line);
	free(copy);
	return msg;
}
