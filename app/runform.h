/*
 * runform.h — the run form (POST /projects/{id}/runs): its defaults, its
 * validation table, and the JSON it turns into (the stored params and the
 * bodies of the preprocess and train jobs).
 *
 * A handler never sees an unchecked value: runform_parse() fills a
 * struct runform only from fields that passed their rule, and collects one
 * message per bad field so the page can show them all at once.
 */
#ifndef TY_RUNFORM_H
#define TY_RUNFORM_H

#include <stddef.h>

#include "form.h"
#include "util.h"

#define RUNFORM_MAX_LAYERS 4
#define RUNFORM_MAX_SIDE 256 /* pixels per side of the training image */
#define RUNFORM_ERRS_MAX 16

enum runform_arch {
	RUNFORM_LINEAR,
	RUNFORM_MLP,
	RUNFORM_CNN,
	RUNFORM_ARCH__MAX
};
enum runform_opt { RUNFORM_ADAM, RUNFORM_SGD, RUNFORM_OPT__MAX };

struct runform {
	long long dataset_id;
	enum runform_arch arch;
	int hidden[RUNFORM_MAX_LAYERS], nhidden;
	int conv[RUNFORM_MAX_LAYERS], nconv;
	int epochs, batch_size;
	enum runform_opt optimizer;
	double lr;
	int width, height, channels;
	double val_fraction;
	long long seed;
	int augment;        /* small random shifts */
	int early_stopping; /* stop after 3 epochs without improvement */
	int workers;
	/* with workers > 1: batches per round on each replica, 0 = an epoch
	 * of its shard (docs/parallel.md) */
	int local_steps;
	/* which default recipe and why (recipe.c); "" when none */
	char recipe[200];
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

/* Names for pages and JSON. */
const char *runform_arch_name(enum runform_arch a);
const char *runform_opt_name(enum runform_opt o);
/* "128,64" into out. */
void runform_widths(const int *v, int n, char *out, size_t outlen);

/* The stored params (runs.params_json); the caller frees. */
char *runform_to_json(const struct runform *rf);
/* Back from the stored params; 0, or -1 when the JSON is not ours. */
int runform_from_json(const char *json, struct runform *rf) TY_WUR;

/* Job bodies, with job ids derived from the run id; the caller frees. */
char *runform_prep_body(const struct runform *rf, long long run_id,
                        const char *dataset_path);
char *runform_train_body(const struct runform *rf, long long run_id);

#endif
