/*
 * form.h — application/x-www-form-urlencoded bodies and query strings, and
 * the validation tables that forms are checked against before a handler
 * sees them (after kcgi's {validator, "field"} tables).
 */
#ifndef TY_FORM_H
#define TY_FORM_H

#include <stddef.h>

#include "util.h"

#define FORM_FIELDS_MAX 64

struct form_field {
	char *name;
	char *value; /* percent-decoded, NUL-terminated, no NUL inside */
};

struct form {
	struct form_field f[FORM_FIELDS_MAX];
	size_t n;
};

enum form_err {
	FORM_OK = 0,
	FORM_TOO_MANY,   /* more than FORM_FIELDS_MAX fields */
	FORM_BAD_ESCAPE, /* %zz, a truncated %x, or an encoded NUL */
};

/* Parses body (len bytes, need not be NUL-terminated) into f. */
enum form_err form_parse(struct form *f, const char *body, size_t len) TY_WUR;
void form_free(struct form *f);
const char *form_strerror(enum form_err e);
/* The first value of name, or NULL. */
const char *form_get(const struct form *f, const char *name);

/*
 * A validator returns NULL when v is acceptable, else a message for the
 * person filling the form ("Name must be 1 to 100 characters.").
 */
typedef const char *(*form_validator)(const char *v);

struct form_rule {
	const char *name;
	form_validator valid;
	int optional; /* missing is fine (validator still sees "" if present) */
};

/*
 * Checks every rule against f; returns NULL when all pass, else the first
 * message (a missing required field gives "<name> is required.").
 */
const char *form_check(const struct form *f, const struct form_rule *rules,
                       size_t nrules, const char **bad_field);

/* Validators shared by several forms. */
const char *form_valid_utf8_line(const char *v); /* printable, no controls */
/* Lines of form_valid_utf8_line text (line breaks allowed). */
const char *form_valid_utf8_text(const char *v);

#endif
