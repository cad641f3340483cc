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

static const char *const arch_names[RUNFORM_ARCH__MAX] = {"linear", "mlp",
                                                          "cnn"};
static const char *const opt_names[RUNFORM_OPT__MAX] = {"adam", "sgd"};

/*
 * Defaults measured on Fashion-MNIST (docs/pipeline.md): this CNN with
 * Adam 0.002 reaches 0.9005 test accuracy after 3 epochs and 0.9076 after
 * 4; 3 keeps the 60k-image run near 30 s on 2 cores. conv 8,16 is twice
 * as fast but stays under 0.90 (0.891 after 4 epochs).
 */
static const struct runform defaults = {
    .arch = RUNFORM_CNN,
    .hidden = {64},
    .nhidden = 1,
    .conv = {16, 32},
    .nconv = 2,
    .epochs = 3,
    .batch_size = 64,
    .optimizer = RUNFORM_ADAM,
    .lr = 0.002,
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

const char *
runform_arch_name(enum runform_arch a)
{
	return a < RUNFORM_ARCH__MAX ? arch_names[a] : "?";
}

const char *
runform_opt_name(enum runform_opt o)
{
	return o < RUNFORM_OPT__MAX ? opt_names[o] : "?";
}

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

/* ---- field rules: each parses v into rf or writes a message ---- */

typedef int (*field_fn)(const char *v, struct runform *rf, char *msg,
                        size_t len);

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

/* A whole decimal integer in [lo, hi]; surrounding spaces allowed. */
static int
int_in(const char *v, long long lo, long long hi, long long *out)
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
	if (errno || *end || n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}

/* An int field in [lo, hi] into *out, or the message naming it. */
static int
whole(const char *v, long long lo, long long hi, int *out, char *msg,
      size_t len, const char *what)
{
	long long n;

	if (int_in(v, lo, hi, &n) < 0)
		return say(msg, len, "%s must be a whole number from %lld to %lld.",
		           what, lo, hi);
	*out = (int)n;
	return 0;
}

/* A finite decimal number (no hex, no inf/nan). */
static int
num(const char *v, double *out)
{
	char *end;
	const char *p;

	while (*v == ' ')
		v++;
	for (p = v; *p; p++)
		if (!strchr("0123456789.eE+- ", *p))
			return -1;
	if (!*v)
		return -1;
	errno = 0;
	*out = strtod(v, &end);
	while (*end == ' ')
		end++;
	return errno || *end || !isfinite(*out) ? -1 : 0;
}

static int
f_dataset(const char *v, struct runform *rf, char *msg, size_t len)
{
	long long n;

	if (int_in(v, 1, 9007199254740991LL, &n) < 0)
		return say(msg, len, "Choose a dataset.");
	rf->dataset_id = n;
	return 0;
}

static int
f_arch(const char *v, struct runform *rf, char *msg, size_t len)
{
	for (int i = 0; i < RUNFORM_ARCH__MAX; i++)
		if (strcmp(v, arch_names[i]) == 0) {
			rf->arch = (enum runform_arch)i;
			return 0;
		}
	return say(msg, len, "Architecture must be linear, mlp or cnn.");
}

static int
widths(const char *v, int lo, int hi, int *out, int *n)
{
	char buf[128], *tok, *save = NULL;
	long long w;

	if (strlen(v) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", v);
	*n = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (*n >= RUNFORM_MAX_LAYERS || int_in(tok, lo, hi, &w) < 0)
			return -1;
		out[(*n)++] = (int)w;
	}
	return 0;
}

static int
f_hidden(const char *v, struct runform *rf, char *msg, size_t len)
{
	int w[RUNFORM_MAX_LAYERS], n;

	if (widths(v, 1, 4096, w, &n) < 0)
		return say(
		    msg, len,
		    "Hidden layers: up to %d widths from 1 "
		    "to 4096, separated by commas (e.g. 128,64), or empty.",
		    RUNFORM_MAX_LAYERS);
	memcpy(rf->hidden, w, sizeof(w));
	rf->nhidden = n;
	return 0;
}

static int
f_conv(const char *v, struct runform *rf, char *msg, size_t len)
{
	int w[RUNFORM_MAX_LAYERS], n;

	if (widths(v, 1, 256, w, &n) < 0 || n < 1)
		return say(
		    msg, len,
		    "Convolution layers: 1 to %d channel "
		    "counts from 1 to 256, separated by commas (e.g. 16,32).",
		    RUNFORM_MAX_LAYERS);
	memcpy(rf->conv, w, sizeof(w));
	rf->nconv = n;
	return 0;
}

static int
f_epochs(const char *v, struct runform *rf, char *msg, size_t len)
{
	return whole(v, 1, 200, &rf->epochs, msg, len, "Epochs");
}

static int
f_batch(const char *v, struct runform *rf, char *msg, size_t len)
{
	return whole(v, 1, 4096, &rf->batch_size, msg, len, "Batch size");
}

static int
f_opt(const char *v, struct runform *rf, char *msg, size_t len)
{
	for (int i = 0; i < RUNFORM_OPT__MAX; i++)
		if (strcmp(v, opt_names[i]) == 0) {
			rf->optimizer = (enum runform_opt)i;
			return 0;
		}
	return say(msg, len, "Optimiser must be adam or sgd.");
}

static int
f_lr(const char *v, struct runform *rf, char *msg, size_t len)
{
	double d;

	if (num(v, &d) < 0 || !(d > 0) || d > 10)
		return say(msg, len,
		           "Learning rate must be a number above 0 "
		           "and at most 10 (e.g. 0.001).");
	rf->lr = d;
	return 0;
}

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

static int
f_val(const char *v, struct runform *rf, char *msg, size_t len)
{
	double d;

	if (num(v, &d) < 0 || d < 0 || d > 0.5)
		return say(msg, len,
		           "Validation fraction must be from 0 to "
		           "0.5 (e.g. 0.1 keeps a tenth of the images aside).");
	rf->val_fraction = d;
	return 0;
}

static int
f_seed(const char *v, struct runform *rf, char *msg, size_t len)
{
	long long n;

	if (int_in(v, 0, 9007199254740991LL, &n) < 0)
		return say(msg, len,
		           "Seed must be a whole number from 0 to "
		           "2^53.");
	rf->seed = n;
	return 0;
}

/* > 1: federated averaging across train replicas (docs/parallel.md) */
static int
f_workers(const char *v, struct runform *rf, char *msg, size_t len)
{
	return whole(v, 1, 64, &rf->workers, msg, len, "Workers");
}

/* batches per averaging round; 0: an epoch of each replica's share */
static int
f_local_steps(const char *v, struct runform *rf, char *msg, size_t len)
{
	return whole(v, 0, 1000000, &rf->local_steps, msg, len,
	             "Local steps");
}

/* Checkboxes: present and "1"/"on" means yes. */
static int
f_augment(const char *v, struct runform *rf, char *msg, size_t len)
{
	if (strcmp(v, "1") && strcmp(v, "on") && strcmp(v, "0"))
		return say(msg, len, "Augmentation is a yes/no box.");
	rf->augment = strcmp(v, "0") != 0;
	return 0;
}

static int
f_early(const char *v, struct runform *rf, char *msg, size_t len)
{
	if (strcmp(v, "1") && strcmp(v, "on") && strcmp(v, "0"))
		return say(msg, len, "Early stopping is a yes/no box.");
	rf->early_stopping = strcmp(v, "0") != 0;
	return 0;
}

static const struct {
	const char *name;
	field_fn fn;
	int required;
} fields[] = {
    {"dataset_id", f_dataset, 1}, {"arch", f_arch, 0},
    {"hidden", f_hidden, 0},      {"conv", f_conv, 0},
    {"epochs", f_epochs, 0},      {"batch_size", f_batch, 0},
    {"optimizer", f_opt, 0},      {"lr", f_lr, 0},
    {"image_size", f_image, 0},   {"val_fraction", f_val, 0},
    {"seed", f_seed, 0},          {"workers", f_workers, 0},
    {"local_steps", f_local_steps, 0},
    {"augment", f_augment, 0},    {"early_stopping", f_early, 0},
};

size_t
runform_parse(const struct form *f, struct runform *rf,
              struct runform_err *errs, size_t maxerrs)
{
	size_t n = 0;
	int has_boxes = form_get(f, "boxes") != NULL;

	/*
	 * A browser leaves an unticked box out. The form sends boxes=1 so
	 * that "absent" means "off"; a client without it gets the defaults.
	 */
	if (has_boxes) {
		rf->augment = 0;
		rf->early_stopping = 0;
	}
	for (size_t i = 0; i < TY_ARRAY_LEN(fields); i++) {
		const char *v = form_get(f, fields[i].name);
		char msg[160];

		if (!v || (!*v && strcmp(fields[i].name, "hidden") != 0)) {
			if (!fields[i].required)
				continue;
			v = "";
		}
		if (fields[i].fn(v, rf, msg, sizeof(msg)) == 0 || n >= maxerrs)
			continue;
		errs[n].field = fields[i].name;
		snprintf(errs[n].msg, sizeof(errs[n].msg), "%s", msg);
		n++;
	}
	/* Each conv layer halves the image: it must stay at least 1 pixel. */
	if (rf->arch == RUNFORM_CNN && n < maxerrs) {
		int side = rf->width < rf->height ? rf->width : rf->height;
		if ((side >> rf->nconv) < 1) {
			errs[n].field = "conv";
			snprintf(
			    errs[n].msg, sizeof(errs[n].msg),
			    "%d convolution layers halve the image %d times; "
			    "a %dx%d image needs fewer layers or a larger "
			    "size.",
			    rf->nconv, rf->nconv, rf->width, rf->height);
			n++;
		}
	}
	return n;
}

/* ---- JSON ---- */

static cJSON *
model_json(const struct runform *rf)
{
	cJSON *m = cJSON_CreateObject();

	cJSON_AddStringToObject(m, "arch", arch_names[rf->arch]);
	if (rf->arch != RUNFORM_LINEAR)
		cJSON_AddItemToObject(
		    m, "hidden", cJSON_CreateIntArray(rf->hidden, rf->nhidden));
	if (rf->arch == RUNFORM_CNN)
		cJSON_AddItemToObject(
		    m, "conv", cJSON_CreateIntArray(rf->conv, rf->nconv));
	return m;
}

static cJSON *
image_json(const struct runform *rf)
{
	cJSON *im = cJSON_CreateObject();

	cJSON_AddNumberToObject(im, "width", rf->width);
	cJSON_AddNumberToObject(im, "height", rf->height);
	cJSON_AddNumberToObject(im, "channels", rf->channels);
	return im;
}

static char *
print_free(cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);

	cJSON_Delete(j);
	if (!s)
		abort(); /* cJSON only fails on OOM */
	return s;
}

char *
runform_to_json(const struct runform *rf)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "dataset_id", (double)rf->dataset_id);
	cJSON_AddItemToObject(j, "model", model_json(rf));
	cJSON_AddNumberToObject(j, "epochs", rf->epochs);
	cJSON_AddNumberToObject(j, "batch_size", rf->batch_size);
	cJSON_AddStringToObject(j, "optimizer", opt_names[rf->optimizer]);
	cJSON_AddNumberToObject(j, "lr", rf->lr);
	cJSON_AddItemToObject(j, "image", image_json(rf));
	cJSON_AddNumberToObject(j, "val_fraction", rf->val_fraction);
	cJSON_AddNumberToObject(j, "seed", (double)rf->seed);
	cJSON_AddBoolToObject(j, "augment", rf->augment);
	cJSON_AddBoolToObject(j, "early_stopping", rf->early_stopping);
	cJSON_AddNumberToObject(j, "workers", rf->workers);
	cJSON_AddNumberToObject(j, "local_steps", rf->local_steps);
	if (rf->recipe[0])
		cJSON_AddStringToObject(j, "recipe", rf->recipe);
	return print_free(j);
}

static int
get_num(const cJSON *o, const char *k, double lo, double hi, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi)
		return -1;
	*out = v->valuedouble;
	return 0;
}

static int
get_widths(const cJSON *o, const char *k, int *out, int *n)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, k), *e;

	*n = 0;
	if (!a)
		return 0;
	if (!cJSON_IsArray(a))
		return -1;
	cJSON_ArrayForEach(e, a)
	{
		if (*n >= RUNFORM_MAX_LAYERS || !cJSON_IsNumber(e) ||
		    e->valuedouble < 1 || e->valuedouble > 4096)
			return -1;
		out[(*n)++] = (int)e->valuedouble;
	}
	return 0;
}

int
runform_from_json(const char *json, struct runform *rf)
{
	cJSON *j = json ? cJSON_Parse(json) : NULL;
	const cJSON *m, *im, *s;
	double d[12];
	int rc = -1, i;

	*rf = defaults;
	if (!j)
		return -1;
	m = cJSON_GetObjectItemCaseSensitive(j, "model");
	im = cJSON_GetObjectItemCaseSensitive(j, "image");
	s = cJSON_GetObjectItemCaseSensitive(m, "arch");
	for (i = 0; i < RUNFORM_ARCH__MAX; i++)
		if (cJSON_IsString(s) &&
		    strcmp(s->valuestring, arch_names[i]) == 0)
			break;
	if (i == RUNFORM_ARCH__MAX)
		goto out;
	rf->arch = (enum runform_arch)i;
	s = cJSON_GetObjectItemCaseSensitive(j, "optimizer");
	for (i = 0; i < RUNFORM_OPT__MAX; i++)
		if (cJSON_IsString(s) &&
		    strcmp(s->valuestring, opt_names[i]) == 0)
			break;
	if (i == RUNFORM_OPT__MAX)
		goto out;
	rf->optimizer = (enum runform_opt)i;
	if (get_num(j, "dataset_id", 1, 9007199254740991.0, &d[0]) ||
	    get_num(j, "epochs", 1, 200, &d[1]) ||
	    get_num(j, "batch_size", 1, 4096, &d[2]) ||
	    get_num(j, "lr", 1e-12, 10, &d[3]) ||
	    get_num(im, "width", 1, RUNFORM_MAX_SIDE, &d[4]) ||
	    get_num(im, "height", 1, RUNFORM_MAX_SIDE, &d[5]) ||
	    get_num(im, "channels", 1, 3, &d[6]) ||
	    get_num(j, "val_fraction", 0, 0.5, &d[7]) ||
	    get_num(j, "seed", 0, 9007199254740991.0, &d[8]) ||
	    get_num(j, "workers", 1, 64, &d[9]) ||
	    get_widths(m, "hidden", rf->hidden, &rf->nhidden) ||
	    get_widths(m, "conv", rf->conv, &rf->nconv))
		goto out;
	rf->dataset_id = (long long)d[0];
	rf->epochs = (int)d[1];
	rf->batch_size = (int)d[2];
	rf->lr = d[3];
	rf->width = (int)d[4], rf->height = (int)d[5];
	rf->channels = (int)d[6];
	rf->val_fraction = d[7];
	rf->seed = (long long)d[8];
	rf->workers = (int)d[9];
	/* runs saved before local_steps existed have none: an epoch */
	rf->local_steps = 0;
	if (cJSON_GetObjectItemCaseSensitive(j, "local_steps")) {
		if (get_num(j, "local_steps", 0, 1000000, &d[0]))
			goto out;
		rf->local_steps = (int)d[0];
	}
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

char *
runform_prep_body(const struct runform *rf, long long run_id,
                  const char *dataset_path)
{
	cJSON *j = cJSON_CreateObject();
	char buf[64];

	snprintf(buf, sizeof(buf), "run-%lld-prep", run_id);
	cJSON_AddStringToObject(j, "job_id", buf);
	cJSON_AddStringToObject(j, "kind", "prepare");
	cJSON_AddStringToObject(j, "dataset", dataset_path);
	snprintf(buf, sizeof(buf), "prepared/%lld", run_id);
	cJSON_AddStringToObject(j, "output", buf);
	cJSON_AddItemToObject(j, "image", image_json(rf));
	cJSON_AddNumberToObject(j, "val_fraction", rf->val_fraction);
	cJSON_AddNumberToObject(j, "seed", (double)rf->seed);
	return print_free(j);
}

char *
runform_train_body(const struct runform *rf, long long run_id)
{
	cJSON *j = cJSON_CreateObject();
	char buf[64];

	snprintf(buf, sizeof(buf), "run-%lld-train", run_id);
	cJSON_AddStringToObject(j, "job_id", buf);
	snprintf(buf, sizeof(buf), "prepared/%lld", run_id);
	cJSON_AddStringToObject(j, "data", buf);
	snprintf(buf, sizeof(buf), "runs/%lld", run_id);
	cJSON_AddStringToObject(j, "output", buf);
	cJSON_AddItemToObject(j, "model", model_json(rf));
	cJSON_AddNumberToObject(j, "epochs", rf->epochs);
	cJSON_AddNumberToObject(j, "batch_size", rf->batch_size);
	cJSON_AddStringToObject(j, "optimizer", opt_names[rf->optimizer]);
	cJSON_AddNumberToObject(j, "lr", rf->lr);
	cJSON_AddNumberToObject(j, "seed", (double)rf->seed);
	/* colour pictures get the colour preset (train worker's augment.c),
	 * gray ones the small shifts */
	if (rf->augment && rf->channels == 3)
		cJSON_AddStringToObject(j, "augment", "colour");
	else
		cJSON_AddBoolToObject(j, "augment", rf->augment);
	cJSON_AddBoolToObject(j, "early_stopping", rf->early_stopping);
	cJSON_AddNumberToObject(j, "workers", rf->workers);
	if (rf->local_steps)
		cJSON_AddNumberToObject(j, "local_steps", rf->local_steps);
	return print_free(j);
}
