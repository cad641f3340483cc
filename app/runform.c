/* runform.c — the run form: defaults, field rules, JSON; see runform.h. */
#include "runform.h"
#include "recipe.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Optimiser steps a default run aims for (see runform_defaults). */
#define RUNFORM_MIN_STEPS 1500.0

/*
 * Defaults measured on Fashion-MNIST (docs/pipeline.md, "Time to model"):
 * this CNN with Adam 0.003 decayed to 0 by a cosine over 2 epochs reaches
 * 0.9037, 0.9042, 0.9064 val accuracy (seeds 1-3) where constant 0.002
 * needed 3 epochs for 0.910 (2 epochs: 0.8986-0.9017); 2 epochs keep the
 * 60k-image run within 8 s on 2 cores. Batch 128 is no faster per image
 * here and less accurate (0.894-0.902). conv 8,16 is twice as fast but
 * stays under 0.90 (0.891 after 4 epochs).
 */
static const struct runform defaults = {
    .arch = ARCH_CNN,
    .hidden = {64},
    .nhidden = 1,
    .conv = {16, 32},
    .nconv = 2,
    .epochs = 2,
    .batch_size = 64,
    .optimizer = NN_OPT_ADAM,
    .lr = 0.003,
    .lr_schedule = SCHED_COSINE,
    .width = 28,
    .height = 28,
    .channels = 1,
    .val_fraction = 0.1,
    .seed = 42,
    .augment = 0,
    .early_stopping = 1,
    .workers = 1,
    .local_steps = 0,
};

void
runform_widths(const int *v, int n, char *out, size_t outlen)
{
	size_t len = 0;

	out[0] = '\0';
	for (int i = 0; i < n && len < outlen; i++) {
		int k = snprintf(out + len, outlen - len, "%s%d", i ? "," : "",
		                 v[i]);
		if (k < 0)
			break;
		len += (size_t)k;
	}
}

/* The most common "WxH" of the report's sizes, or 0. */
static int
common_size(const cJSON *rep, int *w, int *h)
{
	const cJSON *sizes = cJSON_GetObjectItemCaseSensitive(rep, "sizes");
	double best = 0;
	const cJSON *it;

	cJSON_ArrayForEach(it, sizes)
	{
		int a, b;
		char tail;
		if (!cJSON_IsNumber(it) || !it->string ||
		    sscanf(it->string, "%dx%d%c", &a, &b, &tail) != 2 ||
		    a < 1 || b < 1)
			continue;
		if (it->valuedouble > best) {
			best = it->valuedouble;
			*w = a, *h = b;
		}
	}
	return best > 0;
}

void
runform_defaults(struct runform *rf, const char *report_json)
{
	cJSON *rep;
	int w = 0, h = 0;

	*rf = defaults;
	if (!report_json || !(rep = cJSON_Parse(report_json)))
		return;
	if (common_size(rep, &w, &h)) {
		/* Big photos train slowly on a CPU: shrink the longer side to
		 * 64 pixels, keeping the aspect ratio. */
		int big = w > h ? w : h;
		if (big > 64) {
			w = (int)lround((double)w * 64 / big);
			h = (int)lround((double)h * 64 / big);
		}
		rf->width = w < 4 ? 4 : w;
		rf->height = h < 4 ? 4 : h;
	}
	const cJSON *ch = cJSON_GetObjectItemCaseSensitive(rep, "channels");
	const cJSON *it;
	int colour = 0;
	cJSON_ArrayForEach(it, ch)
	{
		if (it->string && strcmp(it->string, "1") != 0 &&
		    cJSON_IsNumber(it) && it->valuedouble > 0)
			colour = 1;
	}
	rf->channels = colour ? 3 : 1;
	/*
	 * A small dataset gives few optimiser steps per epoch: ask for about
	 * RUNFORM_MIN_STEPS in all (early stopping ends it sooner when it
	 * stops improving), between the default and 30 epochs.
	 */
	const cJSON *imgs = cJSON_GetObjectItemCaseSensitive(rep, "images");
	if (cJSON_IsNumber(imgs) && imgs->valuedouble >= 1) {
		double train = imgs->valuedouble * (1 - rf->val_fraction);
		double steps = ceil(train / rf->batch_size);
		double e = ceil(RUNFORM_MIN_STEPS / steps);
		rf->epochs = e < defaults.epochs ? defaults.epochs
		             : e > 30            ? 30
		                                 : (int)e;
	}
	recipe_choose(rf, rep);
	cJSON_Delete(rep);
}

/* ---- the form: the table's F_FORM rows, and what only the form has ---- */

static int say(char *msg, size_t len, const char *fmt, ...) TY_PRINTF(3, 4);

static int
say(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int
f_dataset(const char *v, struct runform *rf, char *msg, size_t len)
{
	char *end;
	long long n;

	while (*v == ' ')
		v++;
	errno = 0;
	n = *v >= '0' && *v <= '9' ? strtoll(v, &end, 10) : 0;
	if (n >= 1 && !errno) {
		while (*end == ' ')
			end++;
		if (!*end && n <= 9007199254740991LL) {
			rf->dataset_id = n;
			return 0;
		}
	}
	return say(msg, len, "Choose a dataset.");
}

/* The three image rows as one field, "WxHxC". */
static int
f_image(const char *v, struct runform *rf, char *msg, size_t len)
{
	int w, h, c, k = 0;

	if (sscanf(v, "%4dx%4dx%1d%n", &w, &h, &c, &k) != 3 || v[k] || w < 1 ||
	    h < 1 || w > RUNFORM_MAX_SIDE || h > RUNFORM_MAX_SIDE ||
	    (c != 1 && c != 3))
		return say(
		    msg, len,
		    "Image size must be WxHxC with sides from "
		    "1 to %d pixels and 1 (gray) or 3 (colour) channels, e.g. "
		    "28x28x1.",
		    RUNFORM_MAX_SIDE);
	rf->width = w, rf->height = h, rf->channels = c;
	return 0;
}

/* Checkboxes: present and "1"/"on" means yes. */
static int
box(const char *v, int *out, const char *what, char *msg, size_t len)
{
	if (strcmp(v, "1") && strcmp(v, "on") && strcmp(v, "0"))
		return say(msg, len, "%s is a yes/no box.", what);
	*out = strcmp(v, "0") != 0;
	return 0;
}

static void
add_err(struct runform_err *errs, size_t *n, size_t maxerrs, const char *field,
        const char *msg)
{
	if (*n >= maxerrs)
		return;
	errs[*n].field = field;
	snprintf(errs[*n].msg, sizeof(errs[*n].msg), "%s", msg);
	(*n)++;
}

size_t
runform_parse(const struct form *f, struct runform *rf,
              struct runform_err *errs, size_t maxerrs)
{
	size_t n = 0;
	const char *v;
	char msg[160];

	/*
	 * A browser leaves an unticked box out. The form sends boxes=1 so
	 * that "absent" means "off"; a client without it gets the defaults.
	 */
	if (form_get(f, "boxes")) {
		rf->augment = 0;
		rf->early_stopping = 0;
		rf->class_weights = 0;
	}
	v = form_get(f, "dataset_id");
	if (f_dataset(v ? v : "", rf, msg, sizeof(msg)) < 0)
		add_err(errs, &n, maxerrs, "dataset_id", msg);
	for (int i = 0; i < PARAM__MAX; i++) {
		const struct param *r = &params_table[i];

		if (!(r->flags & F_FORM))
			continue;
		if (r->group == PARAM_IMAGE && r->type != PARAM_FIT) {
			/* the first image row stands for "image_size" */
			if (r->off != offsetof(struct params, width))
				continue;
			v = form_get(f, "image_size");
			if (v && *v && f_image(v, rf, msg, sizeof(msg)) < 0)
				add_err(errs, &n, maxerrs, "image_size", msg);
			continue;
		}
		v = form_get(f, r->name);
		/* empty is "the default", except for a list: no layers */
		if (!v || (!*v && r->type != PARAM_WIDTHS))
			continue;
		if (params_from_text(r, v, &rf->run, msg, sizeof(msg)) < 0)
			add_err(errs, &n, maxerrs, r->name, msg);
	}
	if ((v = form_get(f, "augment")) && *v &&
	    box(v, &rf->augment, "Augmentation", msg, sizeof(msg)) < 0)
		add_err(errs, &n, maxerrs, "augment", msg);
	if ((v = form_get(f, "early_stopping")) && *v &&
	    box(v, &rf->early_stopping, "Early stopping", msg, sizeof(msg)) < 0)
		add_err(errs, &n, maxerrs, "early_stopping", msg);
	if (params_arch_reads(rf->arch, "conv") && rf->nconv < 1) {
		snprintf(msg, sizeof(msg),
		         "A cnn needs at least one "
		         "convolution layer (e.g. 16,32).");
		add_err(errs, &n, maxerrs, "conv", msg);
	}
	if (rf->arch == ARCH_LSTM && (rf->nhidden < 1 || rf->nhidden > 2)) {
		snprintf(msg, sizeof(msg),
		         "An lstm has 1 or 2 layers: give "
		         "1 or 2 widths (e.g. 128).");
		add_err(errs, &n, maxerrs, "hidden", msg);
	}
	/* Each conv layer halves the image: it must stay at least 1 pixel. */
	if (params_arch_reads(rf->arch, "conv") && rf->nconv >= 1) {
		int side = rf->width < rf->height ? rf->width : rf->height;
		if ((side >> rf->nconv) < 1) {
			snprintf(
			    msg, sizeof(msg),
			    "%d convolution layers halve the image %d times; "
			    "a %dx%d image needs fewer layers or a larger "
			    "size.",
			    rf->nconv, rf->nconv, rf->width, rf->height);
			add_err(errs, &n, maxerrs, "conv", msg);
		}
	}
	return n;
}

/* ---- JSON: the stored params and the job bodies ---- */

char *
runform_to_json(const struct runform *rf)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "dataset_id", (double)rf->dataset_id);
	params_to_json(&rf->run, F_FORM, j);
	cJSON_AddBoolToObject(j, "augment", rf->augment);
	cJSON_AddBoolToObject(j, "early_stopping", rf->early_stopping);
	if (rf->recipe[0])
		cJSON_AddStringToObject(j, "recipe", rf->recipe);
	return util_json_text(j);
}

int
runform_from_json(const char *json, struct runform *rf)
{
	cJSON *j = json ? cJSON_Parse(json) : NULL;
	const cJSON *s;
	char err[192];
	int rc = -1;

	*rf = defaults;
	/* runs saved before local_steps existed have none: an epoch */
	rf->local_steps = 0;
	if (!cJSON_IsObject(j))
		goto out;
	s = cJSON_GetObjectItemCaseSensitive(j, "dataset_id");
	if (!cJSON_IsNumber(s) || s->valuedouble < 1 ||
	    s->valuedouble > 9007199254740991.0)
		goto out;
	rf->dataset_id = (long long)s->valuedouble;
	/* what the model does not read is not stored: no layers */
	rf->nhidden = rf->nconv = 0;
	if (params_from_json(j, F_FORM, 1, &rf->run, err, sizeof(err)) < 0)
		goto out;
	rf->augment =
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "augment"));
	rf->early_stopping =
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "early_stopping"));
	s = cJSON_GetObjectItemCaseSensitive(j, "recipe");
	if (cJSON_IsString(s))
		snprintf(rf->recipe, sizeof(rf->recipe), "%s", s->valuestring);
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}
