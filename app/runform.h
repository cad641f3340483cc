/*
 * runform.h — the run form (POST /projects/{id}/runs): its defaults, and
 * the JSON it turns into (the stored params and the bodies of the
 * preprocess and train jobs). Its fields and their rules are the rows of
 * the one parameter table (lib/engine/params_list.h) marked F_FORM.
 *
 * A handler never sees an unchecked value: runform_parse() fills a
 * struct runform only from fields that passed their rule, and collects one
 * message per bad field so the page can show them all at once.
 */
#ifndef TY_RUNFORM_H
#define TY_RUNFORM_H

#include <stddef.h>

#include "form.h"
#include "params.h"
#include "util.h"

#define RUNFORM_MAX_SIDE 256 /* pixels per side: image.width's form_max */
#define RUNFORM_ERRS_MAX 16

/*
 * The form's values: every run parameter of the one table (params.h,
 * read as rf->epochs here and as rf->run by the table walkers), plus what
 * only the form has.
 */
struct runform {
	long long dataset_id;
	union {
		struct params run;
		struct {
#define PARAM PARAM_AS_FIELD
#include "params_list.h"
#undef PARAM
		};
	};
	int augment;        /* small random shifts (colour: the preset) */
	int early_stopping; /* stop after 3 epochs without improvement */
	/* which default recipe and why (recipe.c); "" when none */
	char recipe[256];
};

struct runform_err {
	const char *field; /* the form field it is about */
	char msg[160];     /* for the person filling the form */
};

/*
 * The defaults: a CNN sized for the dataset. report_json is the dataset's
 * inspection report (may be NULL): the most common image size sets the
 * image size (capped so training stays quick), and the channels seen set
 * gray (1) or colour (3).
 */
void runform_defaults(struct runform *rf, const char *report_json);

/*
 * Checks every field of f over the defaults already in rf. Returns the
 * number of messages written to errs (0: rf is complete and valid).
 */
size_t runform_parse(const struct form *f, struct runform *rf,
                     struct runform_err *errs, size_t maxerrs) TY_WUR;

/* "128,64" into out. */
void runform_widths(const int *v, int n, char *out, size_t outlen);

/* The stored params (runs.params_json); the caller frees. */
char *runform_to_json(const struct runform *rf);
/* Back from the stored params; 0, or -1 when the JSON is not ours. */
int runform_from_json(const char *json, struct runform *rf) TY_WUR;

#endif
