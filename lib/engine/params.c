/*
 * params.c — the run-parameter table and its walkers; see params.h. The
 * rows are in params_list.h.
 */
#include "params.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most widths the run form takes in one list (the workers take more). */
#define FORM_MAX_WIDTHS 4

const struct arch_def params_archs[ARCH__MAX] = {
#define ARCH_ROW(id, name, lists) {name, lists},
    PARAMS_ARCHS(ARCH_ROW)
#undef ARCH_ROW
};

const char *const params_opts[NN_OPT__MAX] = {
    [NN_OPT_SGD] = "sgd",
    [NN_OPT_ADAM] = "adam",
    [NN_OPT_ADAMW] = "adamw",
};

const char *const params_schedules[SCHED__MAX] = {
    [SCHED_CONSTANT] = "constant",
    [SCHED_COSINE] = "cosine",
};

int
params_arch_reads(enum arch_kind a, const char *list)
{
	const char *l = params_archs[a < ARCH__MAX ? a : 0].lists;
	size_t n = strlen(list);

	for (; (l = strstr(l, list)); l += n)
		if ((l[n] == ',' || l[n] == '\0') &&
		    (l == params_archs[a < ARCH__MAX ? a : 0].lists ||
		     l[-1] == ','))
			return 1;
	return 0;
}

#define NOFF_INT(n) 0
#define NOFF_NUM(n) 0
#define NOFF_F32(n) 0
#define NOFF_BOOL(n) 0
#define NOFF_SEED(n) 0
#define NOFF_ARCH(n) 0
#define NOFF_OPT(n) 0
#define NOFF_SCHED(n) 0
#define NOFF_FIT(n) 0
#define NOFF_WIDTHS(f) offsetof(struct params, n##f)

const struct param params_table[PARAM__MAX] = {
#define PARAM(g, name, type, lo, hi, def, fmax, flags, label, help)            \
	{PARAM_##g,                                                            \
	 #name,                                                                \
	 PARAM_##type,                                                         \
	 lo,                                                                   \
	 hi,                                                                   \
	 def,                                                                  \
	 fmax,                                                                 \
	 flags,                                                                \
	 label,                                                                \
	 help,                                                                 \
	 offsetof(struct params, name),                                        \
	 NOFF_##type(name)},
#include "params_list.h"
#undef PARAM
};

const char *
params_group_name(enum param_group g)
{
	return g == PARAM_MODEL ? "model" : g == PARAM_IMAGE ? "image" : NULL;
}

static const char *
params_choice_name(const struct param *r, int i)
{
	if (i < 0)
		return NULL;
	if (r->type == PARAM_ARCH)
		return i < ARCH__MAX ? params_archs[i].name : NULL;
	if (r->type == PARAM_OPT)
		return i < NN_OPT__MAX ? params_opts[i] : NULL;
	if (r->type == PARAM_SCHED)
		return i < SCHED__MAX ? params_schedules[i] : NULL;
	if (r->type == PARAM_FIT)
		return i < IMG_FIT__MAX ? img_fit_names[i] : NULL;
	return NULL;
}

#define AT(p, r, T) ((T *)((char *)(p) + (r)->off))
#define CAT(p, r, T) ((const T *)((const char *)(p) + (r)->off))

/* Stores the number d (already checked) into row r of p. */
static void
store(struct params *p, const struct param *r, double d)
{
	switch (r->type) {
	case PARAM_INT:
	case PARAM_BOOL:
		*AT(p, r, int) = (int)d;
		break;
	case PARAM_NUM:
		*AT(p, r, double) = d;
		break;
	case PARAM_F32:
		*AT(p, r, float) = (float)d;
		break;
	case PARAM_SEED:
		*AT(p, r, uint64_t) = (uint64_t)d;
		break;
	case PARAM_ARCH:
		*AT(p, r, enum arch_kind) = (enum arch_kind)d;
		break;
	case PARAM_OPT:
		*AT(p, r, enum nn_opt_kind) = (enum nn_opt_kind)d;
		break;
	case PARAM_SCHED:
		*AT(p, r, enum lr_schedule) = (enum lr_schedule)d;
		break;
	case PARAM_FIT:
		*AT(p, r, enum img_fit) = (enum img_fit)d;
		break;
	case PARAM_WIDTHS:
		break;
	}
}

static double
load(const struct params *p, const struct param *r)
{
	switch (r->type) {
	case PARAM_INT:
	case PARAM_BOOL:
		return *CAT(p, r, int);
	case PARAM_NUM:
		return *CAT(p, r, double);
	case PARAM_F32:
		return *CAT(p, r, float);
	case PARAM_SEED:
		return (double)*CAT(p, r, uint64_t);
	case PARAM_ARCH:
		return *CAT(p, r, enum arch_kind);
	case PARAM_OPT:
		return *CAT(p, r, enum nn_opt_kind);
	case PARAM_SCHED:
		return *CAT(p, r, enum lr_schedule);
	case PARAM_FIT:
		return *CAT(p, r, enum img_fit);
	case PARAM_WIDTHS:
		break;
	}
	return 0;
}

void
params_defaults(struct params *p)
{
	memset(p, 0, sizeof(*p));
	for (int i = 0; i < PARAM__MAX; i++)
		store(p, &params_table[i], params_table[i].def);
}

static int
whole_type(enum param_type t)
{
	return t == PARAM_INT || t == PARAM_SEED || t == PARAM_WIDTHS;
}

static double
upper(const struct param *r, int form)
{
	return form && r->form_max ? r->form_max : r->max;
}

/* The index of name among r's choices, or -1. */
static int
choice(const struct param *r, const char *name)
{
	const char *c;

	for (int i = 0; (c = params_choice_name(r, i)); i++)
		if (!strcmp(c, name))
			return i;
	return -1;
}

/* "linear, mlp or cnn" */
static void
choices_text(const struct param *r, char *out, size_t len)
{
	size_t n = 0;
	const char *c;
	int k = 0;

	while (params_choice_name(r, k))
		k++;
	out[0] = '\0';
	for (int i = 0; i < k && n < len; i++) {
		int w = snprintf(out + n, len - n, "%s%s",
		                 i == 0       ? ""
		                 : i == k - 1 ? " or "
		                              : ", ",
		                 (c = params_choice_name(r, i)));
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

/* What row r accepts, for messages: "an integer 1..1000". */
static void
accepts(const struct param *r, int form, char *out, size_t len)
{
	char names[128];

	switch (r->type) {
	case PARAM_INT:
	case PARAM_SEED:
		snprintf(out, len, "a whole number from %.17g to %.17g", r->min,
		         upper(r, form));
		break;
	case PARAM_NUM:
	case PARAM_F32:
		snprintf(out, len, "a number from %.17g to %.17g", r->min,
		         upper(r, form));
		break;
	case PARAM_BOOL:
		snprintf(out, len, "true or false");
		break;
	case PARAM_ARCH:
	case PARAM_OPT:
	case PARAM_SCHED:
	case PARAM_FIT:
		choices_text(r, names, sizeof(names));
		snprintf(out, len, "%s", names);
		break;
	case PARAM_WIDTHS:
		snprintf(out, len,
		         "a list of up to %d whole numbers from %.17g "
		         "to %.17g",
		         form ? FORM_MAX_WIDTHS : PARAMS_MAX_WIDTHS, r->min,
		         upper(r, form));
		break;
	}
}

static int
in_range(const struct param *r, int form, double d)
{
	return isfinite(d) && d >= r->min && d <= upper(r, form) &&
	       (!whole_type(r->type) || d == floor(d));
}

static int widths_text(const struct param *r, const char *v, int form,
                       struct params *p);

/* A width list: [256, 128], 256 or "256,128" (as a form sends it). */
static int
widths_json(const cJSON *v, const struct param *r, int form, struct params *p)
{
	int *out = AT(p, r, int), n = 0,
	    most = form ? FORM_MAX_WIDTHS : PARAMS_MAX_WIDTHS;
	const cJSON *e;

	if (cJSON_IsString(v))
		return widths_text(r, v->valuestring, form, p);
	if (cJSON_IsNumber(v)) {
		if (!in_range(r, form, v->valuedouble))
			return -1;
		out[n++] = (int)v->valuedouble;
	} else if (cJSON_IsArray(v)) {
		cJSON_ArrayForEach(e, v)
		{
			if (n >= most || !cJSON_IsNumber(e) ||
			    !in_range(r, form, e->valuedouble))
				return -1;
			out[n++] = (int)e->valuedouble;
		}
	} else {
		return -1;
	}
	*(int *)((char *)p + r->noff) = n;
	return 0;
}

static int
row_json(const cJSON *v, const struct param *r, int form, struct params *p)
{
	int i;

	switch (r->type) {
	case PARAM_BOOL:
		if (!cJSON_IsBool(v))
			return -1;
		store(p, r, cJSON_IsTrue(v));
		return 0;
	case PARAM_ARCH:
	case PARAM_OPT:
	case PARAM_SCHED:
	case PARAM_FIT:
		if (!cJSON_IsString(v) || (i = choice(r, v->valuestring)) < 0)
			return -1;
		store(p, r, i);
		return 0;
	case PARAM_WIDTHS:
		return widths_json(v, r, form, p);
	default:
		if (!cJSON_IsNumber(v) || !in_range(r, form, v->valuedouble))
			return -1;
		store(p, r, v->valuedouble);
		return 0;
	}
}

int
params_from_json(const cJSON *j, unsigned flags, int form, struct params *p,
                 char *err, size_t errlen)
{
	char what[192];

	if (!cJSON_IsObject(j)) {
		snprintf(err, errlen, "params must be a JSON object");
		return -1;
	}
	for (int i = 0; i < PARAM__MAX; i++) {
		const struct param *r = &params_table[i];
		const char *g = params_group_name(r->group);
		const cJSON *o = g ? cJSON_GetObjectItemCaseSensitive(j, g) : j;
		const cJSON *v;

		if ((r->flags & flags) != flags)
			continue;
		if (o && !cJSON_IsObject(o)) {
			snprintf(err, errlen, "%s must be an object", g);
			return -1;
		}
		v = cJSON_GetObjectItemCaseSensitive(o, r->name);
		if (!v || cJSON_IsNull(v))
			continue;
		if (row_json(v, r, form, p) < 0) {
			accepts(r, form, what, sizeof(what));
			snprintf(err, errlen, "%s%s%s must be %s", g ? g : "",
			         g ? "." : "", r->name, what);
			return -1;
		}
	}
	return 0;
}

void
params_to_json(const struct params *p, unsigned flags, cJSON *j)
{
	for (int i = 0; i < PARAM__MAX; i++) {
		const struct param *r = &params_table[i];
		const char *g = params_group_name(r->group);
		cJSON *o = j;

		if ((r->flags & flags) != flags)
			continue;
		if (r->type == PARAM_WIDTHS &&
		    !params_arch_reads(p->arch, r->name))
			continue;
		if (r->type != PARAM_WIDTHS && (r->flags & F_NONZERO) &&
		    load(p, r) == 0)
			continue;
		/* still -1: to be chosen from other rows, nothing to say */
		if (r->type != PARAM_WIDTHS && r->def == -1 &&
		    load(p, r) < r->min)
			continue;
		if (g && !(o = cJSON_GetObjectItemCaseSensitive(j, g)))
			o = cJSON_AddObjectToObject(j, g);
		switch (r->type) {
		case PARAM_BOOL:
			cJSON_AddBoolToObject(o, r->name, load(p, r) != 0);
			break;
		case PARAM_ARCH:
		case PARAM_OPT:
		case PARAM_SCHED:
		case PARAM_FIT:
			cJSON_AddStringToObject(
			    o, r->name, params_choice_name(r, (int)load(p, r)));
			break;
		case PARAM_WIDTHS:
			cJSON_AddItemToObject(
			    o, r->name,
			    cJSON_CreateIntArray(
			        CAT(p, r, int),
			        *(const int *)((const char *)p + r->noff)));
			break;
		default:
			cJSON_AddNumberToObject(o, r->name, load(p, r));
			break;
		}
	}
}

/* ---- text, as a form sends it ---- */

/* A whole decimal number in [lo, hi]; surrounding spaces allowed. */
static int
int_in(const char *v, double lo, double hi, double *out)
{
	char *end;
	long long n;

	while (*v == ' ')
		v++;
	if (!*v || (*v != '-' && (*v < '0' || *v > '9')))
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	while (*end == ' ')
		end++;
	if (errno || *end || (double)n < lo || (double)n > hi)
		return -1;
	*out = (double)n;
	return 0;
}

/* A finite decimal number (no hex, no inf/nan). */
static int
num(const char *v, double *out)
{
	char *end;
	const char *c;

	while (*v == ' ')
		v++;
	for (c = v; *c; c++)
		if (!strchr("0123456789.eE+- ", *c))
			return -1;
	if (!*v)
		return -1;
	errno = 0;
	*out = strtod(v, &end);
	while (*end == ' ')
		end++;
	return errno || *end || !isfinite(*out) ? -1 : 0;
}

/* "128,64": up to the form's or the workers' count of widths. */
static int
widths_text(const struct param *r, const char *v, int form, struct params *p)
{
	char buf[128], *tok, *save = NULL;
	int w[PARAMS_MAX_WIDTHS], n = 0;
	double d;

	if (strlen(v) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n >= (form ? FORM_MAX_WIDTHS : PARAMS_MAX_WIDTHS) ||
		    int_in(tok, r->min, upper(r, form), &d) < 0)
			return -1;
		w[n++] = (int)d;
	}
	memcpy(AT(p, r, int), w, sizeof(w));
	*(int *)((char *)p + r->noff) = n;
	return 0;
}

int
params_from_text(const struct param *r, const char *v, struct params *p,
                 char *msg, size_t len)
{
	char what[192];
	double d;
	int i, rc = -1;

	switch (r->type) {
	case PARAM_INT:
	case PARAM_SEED:
		if ((rc = int_in(v, r->min, upper(r, 1), &d)) == 0)
			store(p, r, d);
		break;
	case PARAM_NUM:
	case PARAM_F32:
		if ((rc = num(v, &d)) == 0 && !in_range(r, 1, d))
			rc = -1;
		if (rc == 0)
			store(p, r, d);
		break;
	case PARAM_BOOL:
		/* a checkbox: present and "1"/"on" means yes */
		if (!strcmp(v, "1") || !strcmp(v, "on") || !strcmp(v, "0")) {
			store(p, r, strcmp(v, "0") != 0);
			rc = 0;
		}
		break;
	case PARAM_ARCH:
	case PARAM_OPT:
	case PARAM_SCHED:
	case PARAM_FIT:
		if ((i = choice(r, v)) >= 0) {
			store(p, r, i);
			rc = 0;
		}
		break;
	case PARAM_WIDTHS:
		rc = widths_text(r, v, 1, p);
		break;
	}
	if (rc < 0) {
		accepts(r, 1, what, sizeof(what));
		snprintf(msg, len, "%s must be %s.", r->label, what);
	}
	return rc;
}
