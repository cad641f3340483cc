/*
 * prep.c — the inspect and prepare job kinds: parameters, the health
 * report, the split, and the atomic output directory.
 */
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dups.h"
#include "job.h"
#include "confine.h"
#include "prep.h"
#include "split.h"
#include "svc.h"
#include "tensor.h"

/* Pixels gathered per write of a .tyd file (more saves no time). */
#define WRITE_RUN (256u << 10)

/* Report thresholds. */
#define FEW_IMAGES 10
#define IMBALANCE 5.0

static const struct {
	const char *var;
	long def;
	uint64_t mul;
	size_t off;
} limit_vars[] = {
    {"TRAINYARD_MAX_ENTRIES", 1000000, 1,
     offsetof(struct prep_limits, max_entries)},
    {"TRAINYARD_MAX_TOTAL_MB", 4096, 1 << 20,
     offsetof(struct prep_limits, max_total)},
    {"TRAINYARD_MAX_ENTRY_MB", 64, 1 << 20,
     offsetof(struct prep_limits, max_entry)},
    {"TRAINYARD_MAX_PIXELS", 40000000, 1,
     offsetof(struct prep_limits, max_pixels)},
    {"TRAINYARD_MAX_OUTPUT_MB", 8192, 1 << 20,
     offsetof(struct prep_limits, max_output)},
    /* the rest of the pixels go to a file on the data volume (store.h) */
    {"TRAINYARD_PREP_RAM_MB", 64, 1 << 20,
     offsetof(struct prep_limits, max_ram)},
};

void
prep_limits_init(int argc, char **argv, struct prep_limits *l)
{
	for (size_t i = 0; i < TY_ARRAY_LEN(limit_vars); i++) {
		long v =
		    cfg_long(argc, argv, limit_vars[i].var, limit_vars[i].def);

		if (v <= 0)
			v = limit_vars[i].def;
		*(uint64_t *)((char *)l + limit_vars[i].off) =
		    (uint64_t)v * limit_vars[i].mul;
	}
	l->max_ratio = (double)cfg_long(argc, argv, "TRAINYARD_MAX_RATIO", 100);
	if (l->max_ratio < 1)
		l->max_ratio = 100;
}

static cJSON *
prep_warnings(const struct prep_scan *s, const char **unusable)
{
	cJSON *w = cJSON_CreateArray();
	uint32_t lo = UINT32_MAX, hi = 0;
	char msg[400];

	*unusable = NULL;
	if (s->fatal)
		*unusable = s->fatal;
	else if (s->entries == 0)
		*unusable = "the archive is empty";
	else if (s->count == 0)
		*unusable = "no usable images in the archive";
	else if (s->nclasses == 1)
		*unusable = "only one class: a classifier needs at least two "
		            "class folders";
	for (unsigned i = 0; i < s->nclasses; i++) {
		const struct prep_class *c = &s->classes[i];

		if (c->count < lo)
			lo = c->count;
		if (c->count > hi)
			hi = c->count;
		if (c->count < FEW_IMAGES) {
			snprintf(msg, sizeof msg,
			         "class \"%s\" has only %u "
			         "image%s (fewer than %d)",
			         c->name, c->count, c->count == 1 ? "" : "s",
			         FEW_IMAGES);
			cJSON_AddItemToArray(w, cJSON_CreateString(msg));
		}
	}
	if (s->nclasses == 1)
		cJSON_AddItemToArray(w, cJSON_CreateString("a single class"));
	if (s->nclasses > 1 && lo > 0 && (double)hi / lo > IMBALANCE) {
		/* the run form's recipe turns class weights on for this
		 * warning (app/recipe.c) */
		snprintf(
		    msg, sizeof msg,
		    "class imbalance: the largest class "
		    "has %u images, the smallest %u (compensated: runs weight "
		    "the loss by class by default)",
		    hi, lo);
		cJSON_AddItemToArray(w, cJSON_CreateString(msg));
	}
	if (s->ngroups > 0) {
		snprintf(
		    msg, sizeof msg,
		    "%u images are copies or near-copies "
		    "of another (%u group%s): split at random, copies would "
		    "land in both train and validation (leakage) and overstate "
		    "validation accuracy; each group is kept on one side",
		    s->dup_images, s->ngroups, s->ngroups == 1 ? "" : "s");
		cJSON_AddItemToArray(w, cJSON_CreateString(msg));
	}
	if (s->cross_groups > 0) {
		snprintf(msg, sizeof msg,
		         "%u group%s of copies sit in "
		         "different class folders: the same picture has two "
		         "labels; check them",
		         s->cross_groups, s->cross_groups == 1 ? "" : "s");
		cJSON_AddItemToArray(w, cJSON_CreateString(msg));
	}
	if (s->skipped_total > 0) {
		snprintf(msg, sizeof msg, "%llu file%s skipped",
		         (unsigned long long)s->skipped_total,
		         s->skipped_total == 1 ? "" : "s");
		cJSON_AddItemToArray(w, cJSON_CreateString(msg));
	}
	return w;
}

cJSON *
prep_report(const struct prep_scan *s)
{
	cJSON *r = cJSON_CreateObject(), *a, *o;
	const char *unusable;
	char key[32];

	cJSON_AddStringToObject(r, "archive_format", s->archive_format);
	cJSON_AddNumberToObject(r, "entries", (double)s->entries);
	cJSON_AddNumberToObject(r, "bytes", (double)s->bytes);
	cJSON_AddNumberToObject(r, "images", s->count);
	a = cJSON_AddArrayToObject(r, "classes");
	for (unsigned i = 0; i < s->nclasses; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", s->classes[i].name);
		cJSON_AddNumberToObject(o, "count", s->classes[i].count);
		cJSON_AddItemToArray(a, o);
	}
	/* inspect: "samples"[class] = base64 PNG thumbnails (samples.c) */
	for (unsigned i = 0; i < s->nclasses; i++) {
		if (!s->classes[i].nsamples)
			continue;
		if (!(a = cJSON_GetObjectItemCaseSensitive(r, "samples"))) {
			a = cJSON_AddArrayToObject(r, "samples");
			for (unsigned k = 0; k < s->nclasses; k++)
				cJSON_AddItemToArray(a, cJSON_CreateArray());
		}
		cJSON_ReplaceItemInArray(
		    a, (int)i,
		    cJSON_CreateStringArray(
		        (const char *const *)s->classes[i].samples,
		        (int)s->classes[i].nsamples));
	}
	o = cJSON_AddObjectToObject(r, "formats");
	for (int f = 0; f < IMG_FMT__MAX; f++)
		if (s->formats[f])
			cJSON_AddNumberToObject(o, img_format_name(f),
			                        (double)s->formats[f]);
	if (s->idx_images)
		cJSON_AddNumberToObject(o, "idx", (double)s->idx_images);
	o = cJSON_AddObjectToObject(r, "channels");
	for (int c = 1; c <= 4; c++) {
		snprintf(key, sizeof key, "%d", c);
		if (s->channels[c])
			cJSON_AddNumberToObject(o, key, (double)s->channels[c]);
	}
	o = cJSON_AddObjectToObject(r, "sizes");
	for (unsigned i = 0; i < s->nsizes; i++) {
		snprintf(key, sizeof key, "%dx%d", s->sizes[i].w,
		         s->sizes[i].h);
		cJSON_AddNumberToObject(o, key, (double)s->sizes[i].n);
	}
	if (s->sizes_other)
		cJSON_AddNumberToObject(o, "other", (double)s->sizes_other);
	if (s->count) {
		int mn[2] = {s->min_w, s->min_h}, mx[2] = {s->max_w, s->max_h};

		cJSON_AddItemToObject(r, "min_size",
		                      cJSON_CreateIntArray(mn, 2));
		cJSON_AddItemToObject(r, "max_size",
		                      cJSON_CreateIntArray(mx, 2));
	}
	a = cJSON_AddArrayToObject(r, "skipped");
	for (unsigned i = 0; i < s->nskipped; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", s->skipped[i].name);
		cJSON_AddStringToObject(o, "reason", s->skipped[i].reason);
		cJSON_AddItemToArray(a, o);
	}
	cJSON_AddNumberToObject(r, "skipped_total", (double)s->skipped_total);
	cJSON_AddItemToObject(r, "duplicates", dups_report(s));
	cJSON_AddItemToObject(r, "warnings", prep_warnings(s, &unusable));
	cJSON_AddBoolToObject(r, "usable", unusable == NULL);
	if (unusable)
		cJSON_AddStringToObject(r, "unusable_reason", unusable);
	else
		cJSON_AddNullToObject(r, "unusable_reason");
	return r;
}

/* Member name of p, *out: what (a path...) relative to the data volume. */
static int
rel_path(const cJSON *p, const char *name, const char *what, const char **out,
         char *err, size_t errlen)
{
	char *path;

	*out = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, name));
	if (!*out) {
		snprintf(err, errlen,
		         "%s (%s relative to the data volume) "
		         "is required",
		         name, what);
		return -1;
	}
	if (!(path = svc_volume_path(".", *out, err, errlen)))
		return -1;
	free(path);
	return 0;
}

/*
 * A job's params into o (the table's F_PREP rows) and the two paths,
 * relative to the data volume (*output only when need_output).
 */
static int
params_parse(const cJSON *p, int need_output, struct prep_opts *o,
             const char **dataset, const char **output, char *err,
             size_t errlen)
{
	params_defaults(&o->run);
	*output =
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "output"));
	if (rel_path(p, "dataset", "a path", dataset, err, errlen) ||
	    (need_output &&
	     rel_path(p, "output", "a directory", output, err, errlen)))
		return -1;
	if (params_from_json(p, F_PREP, 0, &o->run, err, errlen))
		return -1;
	if (o->channels == 2) {
		snprintf(err, errlen, "channels must be 1 (gray) or 3 (RGB)");
		return -1;
	}
	return 0;
}

/* The only paths a preprocess job reads and writes (confine.h). */
static const struct confine_field paths[] = {
    {"dataset", CONFINE_UPLOAD},
    {"output", CONFINE_PREPARED_OUT},
};

static int
is_prepare(const cJSON *params)
{
	const char *kind = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(params, "kind"));

	return kind && !strcmp(kind, "prepare");
}

int
prep_validate(const cJSON *params, char *err, size_t errlen)
{
	int prepare = is_prepare(params);
	struct prep_opts o = {0};
	const char *dataset, *output;
	struct stat st;
	char *path;
	int rc;

	/* inspect reads only: its "output" is ignored, not checked */
	if (params_parse(params, prepare, &o, &dataset, &output, err, errlen) ||
	    confine_params(params, paths, prepare ? 2 : 1, err, errlen))
		return -1;
	if (prepare && confine_owner_ok(svc_data_dir(), output,
	                                cJSON_GetStringValue(
	                                    cJSON_GetObjectItemCaseSensitive(
	                                        params, "job_id")),
	                                err, errlen))
		return -1;
	/* A missing upload is the caller's mistake: say so now, not later. */
	path = svc_volume_path(svc_data_dir(), dataset, err, errlen);
	if (!path)
		return -1;
	rc = stat(path, &st);
	free(path);
	if (rc < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen,
		         "dataset \"%s\" not found on the data "
		         "volume",
		         dataset);
		return -1;
	}
	return 0;
}

static struct prep_limits the_limits;
static int limits_set;

void
prep_limits_use(const struct prep_limits *l)
{
	the_limits = *l;
	limits_set = 1;
}

static const struct prep_limits *
limits(void)
{
	/* main() sets them from flags and env; else env only. */
	if (!limits_set)
		prep_limits_init(0, NULL, &the_limits);
	limits_set = 1;
	return &the_limits;
}

static int
job_cancel_cb(void *ctx)
{
	return job_cancelled(ctx);
}

static void
job_progress_cb(void *ctx, double f)
{
	job_progress(ctx, f, "reading the archive");
}

/* Merges the members of src into the job result. */
static void
set_result(struct job *j, cJSON *src)
{
	cJSON *r = job_result_lock(j), *it;

	while ((it = src->child)) {
		cJSON_DetachItemViaPointer(src, it);
		cJSON_DeleteItemFromObjectCaseSensitive(r, it->string);
		cJSON_AddItemToObject(r, it->string, it);
	}
	job_result_unlock(j, 0);
	cJSON_Delete(src);
}

/* How a job runs a scan: its threads, limits, cancel and progress. */
static void
job_opts(struct prep_opts *o, struct job *j)
{
	o->threads = svc_threads();
	o->lim = limits();
	o->cancelled = job_cancel_cb;
	o->progress = job_progress_cb;
	o->ctx = j;
	job_progress(j, 0, "reading the archive");
}

void
prep_run_inspect(struct job *j, const cJSON *params, void *arg)
{
	struct prep_opts o = {0};
	struct prep_scan *s;
	const char *dataset, *output;
	char err[512];
	char *path;

	if (params_parse(params, 0, &o, &dataset, &output, err, sizeof err) ||
	    confine_params(params, paths, 1, err, sizeof err) ||
	    !(path =
	          svc_volume_path(svc_data_dir(), dataset, err, sizeof err))) {
		job_fail(j, "%s", err);
		return;
	}
	o.archive = path;
	o.mode = PREP_INSPECT;
	job_opts(&o, j);
	s = prep_scan_run(&o);
	free(path);
	if (s->cancelled) {
		prep_scan_free(s);
		return;
	}
	/* An unusable archive is a finding, not a failure: the report
	 * says why, for the dataset page. */
	set_result(j, prep_report(s));
	prep_scan_free(s);
	job_progress(j, 1, "done");
}

static void
add_mean_std(cJSON *meta, const struct prep_scan *s, const uint32_t *idx,
             size_t n, int channels)
{
	double mean[4], sd[4];
	uint64_t sum[4] = {0}, sq[4] = {0};
	size_t px = s->image_bytes / (size_t)channels;

	for (size_t i = 0; i < n; i++)
		prep_scan_sums(s, idx[i], sum, sq);
	for (int c = 0; c < channels; c++) {
		double cnt = (double)n * (double)px;
		double m = cnt ? (double)sum[c] / cnt : 0;
		double var = cnt ? (double)sq[c] / cnt - m * m : 0;

		mean[c] = m / 255.0;
		/* A constant channel would divide by zero in training. */
		sd[c] = var > 1e-12 ? sqrt(var) / 255.0 : 1.0;
	}
	cJSON_AddItemToObject(meta, "mean",
	                      cJSON_CreateDoubleArray(mean, channels));
	cJSON_AddItemToObject(meta, "std",
	                      cJSON_CreateDoubleArray(sd, channels));
}

static int
write_split(const char *path, const struct prep_scan *s, const uint32_t *idx,
            size_t n, const struct prep_opts *a, char *err, size_t errlen)
{
	uint16_t *lab = xmalloc((n + 1) * sizeof *lab);
	struct tensor_writer *w;
	uint8_t *run;
	size_t per, k;

	for (size_t i = 0; i < n; i++)
		lab[i] = s->labels[idx[i]];
	w = tensor_create(path, (uint32_t)n, (uint32_t)a->height,
	                  (uint32_t)a->width, (uint32_t)a->channels,
	                  s->nclasses, lab, err, errlen);
	free(lab);
	if (!w)
		return -1;
	/*
	 * Images are gathered into about 256 KB before each write: one
	 * fwrite per 784-byte image went through stdio's 4 KB buffer, a
	 * write(2) every 5 images.
	 */
	per = s->image_bytes < WRITE_RUN ? WRITE_RUN / s->image_bytes : 1;
	run = xmalloc(per * s->image_bytes);
	for (size_t i = 0; i < n; i += k) {
		size_t j = 0;

		k = n - i < per ? n - i : per;
		while (j < k && prep_scan_copy(s, idx[i + j],
		                               run + j * s->image_bytes) == 0)
			j++;
		if (j < k) {
			snprintf(err, errlen, "reading the pixel store: %s",
			         strerror(errno));
			tensor_abort(w);
			free(run);
			return -1;
		}
		if (tensor_write_pixels(w, run, k * s->image_bytes)) {
			snprintf(err, errlen, "%s: write: %s", path,
			         strerror(errno));
			tensor_abort(w);
			free(run);
			return -1;
		}
	}
	free(run);
	return tensor_commit(w, err, errlen);
}

/* A split written on a thread of its own, beside the other one. */
/* names.json: each split's images by their path in the archive, in the
 * order of their .tyd, so a prediction for row i names its file. */
static int
write_names(const char *dir, const struct prep_scan *s, const uint32_t *train,
            size_t ntrain, const uint32_t *val, size_t nval, char *err,
            size_t errlen)
{
	cJSON *o = cJSON_CreateObject();
	const uint32_t *idx[2] = {train, val};
	size_t n[2] = {ntrain, nval};
	char *path, *text;
	int rc = 0;

	for (int k = 0; k < 2; k++) {
		cJSON *a = cJSON_AddArrayToObject(o, k ? "val" : "train");
		for (size_t i = 0; i < n[k]; i++)
			cJSON_AddItemToArray(
			    a, cJSON_CreateString(s->names ? s->names[idx[k][i]]
			                                   : ""));
	}
	text = cJSON_PrintUnformatted(o);
	path = xasprintf("%s/names.json", dir);
	if (util_write_atomic(path, text, strlen(text))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	free(path);
	cJSON_free(text);
	cJSON_Delete(o);
	return rc;
}

struct split_job {
	const char *path;
	const struct prep_scan *s;
	const uint32_t *idx;
	size_t n;
	const struct prep_opts *a;
	int rc;
	char err[512];
};

static void *
split_thread(void *arg)
{
	struct split_job *j = arg;

	j->rc = write_split(j->path, j->s, j->idx, j->n, j->a, j->err,
	                    sizeof j->err);
	return NULL;
}

/*
 * Writes train.tyd and val.tyd into dir at the same time: each ends with
 * an fsync, and on one thread val's copy waited for train's disk flush.
 */
static int
write_splits(const char *dir, const struct prep_scan *s, const uint32_t *train,
             size_t ntrain, const uint32_t *val, size_t nval,
             const struct prep_opts *a, char *err, size_t errlen)
{
	char *tpath = xasprintf("%s/train.tyd", dir);
	char *vpath = xasprintf("%s/val.tyd", dir);
	struct split_job v = {vpath, s, val, nval, a, 0, ""};
	pthread_t th;
	int threaded, rc;

	threaded = pthread_create(&th, NULL, split_thread, &v) == 0;
	if (!threaded)
		split_thread(&v);
	rc = write_split(tpath, s, train, ntrain, a, err, errlen);
	if (threaded)
		pthread_join(th, NULL);
	if (rc == 0 && v.rc) {
		snprintf(err, errlen, "%s", v.err);
		rc = -1;
	}
	free(tpath);
	free(vpath);
	return rc;
}

static cJSON *
counts_array(const struct prep_scan *s, const uint32_t *idx, size_t n)
{
	int *cnt = xcalloc(s->nclasses + 1, sizeof *cnt);
	cJSON *a;

	for (size_t i = 0; i < n; i++)
		cnt[s->labels[idx[i]]]++;
	a = cJSON_CreateIntArray(cnt, (int)s->nclasses);
	free(cnt);
	return a;
}

/* Replaces dir by tmp: rename the old one away, move, remove the old. */
static int
swap_dir(const char *tmp, const char *dir, char *err, size_t errlen)
{
	char *old = xasprintf("%s.old.%ld", dir, (long)getpid());
	int had_old = rename(dir, old) == 0;

	if (rename(tmp, dir) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		if (had_old && rename(old, dir) < 0)
			ty_log("cannot restore %s", dir);
		free(old);
		return -1;
	}
	if (had_old && util_rmtree(old) < 0)
		ty_log("cannot remove %s: %s", old, strerror(errno));
	free(old);
	return 0;
}

/*
 * A worker killed while writing leaves <out>.tmp.<pid> (or .old.<pid>)
 * behind; the next prepare of the same output removes them.
 */
static void
remove_leftovers(const char *outdir)
{
	static const char *const pats[] = {".tmp.*", ".old.*"};

	for (size_t i = 0; i < TY_ARRAY_LEN(pats); i++) {
		char *pat = xasprintf("%s%s", outdir, pats[i]);
		glob_t g;

		if (glob(pat, GLOB_NOSORT, NULL, &g) == 0) {
			for (size_t k = 0; k < g.gl_pathc; k++)
				if (util_rmtree(g.gl_pathv[k]) < 0)
					ty_log("cannot remove %s: %s",
					       g.gl_pathv[k], strerror(errno));
			globfree(&g);
		}
		free(pat);
	}
}

/* The directory path holds ("." for a bare name), to free. */
static char *
parent_dir(const char *path)
{
	char *p = xstrdup(path), *slash;
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	slash = strrchr(p, '/');
	if (!slash) {
		free(p);
		return xstrdup(".");
	}
	*slash = '\0';
	return p;
}

int
prep_prepare(const struct prep_opts *a, cJSON **result, char *err,
             size_t errlen)
{
	struct prep_opts o = *a;
	struct prep_scan *s;
	uint32_t *train = NULL, *val = NULL;
	size_t ntrain, nval;
	const char *unusable;
	cJSON *report, *meta = NULL, *x;
	char *tmp = NULL, *path = NULL, *text, *store_dir;
	int rc = -1;

	if (result)
		*result = NULL;
	o.mode = PREP_PREPARE;
	/* The pixel store's file goes beside the output, on its volume. */
	store_dir = parent_dir(a->outdir);
	if (util_mkdirs(store_dir, 0755) < 0)
		ty_log("cannot create %s: %s", store_dir, strerror(errno));
	o.store_dir = store_dir;
	s = prep_scan_run(&o);
	free(store_dir);
	report = prep_report(s);
	cJSON_Delete(prep_warnings(s, &unusable));
	if (unusable) {
		snprintf(err, errlen, "%s", unusable);
		goto out;
	}
	train = xmalloc((s->count + 1) * sizeof *train);
	val = xmalloc((s->count + 1) * sizeof *val);
	split_stratified(s->labels, s->count, s->nclasses, a->val_fraction,
	                 a->seed, train, &ntrain, val, &nval);
	/* copies of one picture on one side: no leakage */
	if (s->group)
		split_keep_groups(s->group, s->count, train, &ntrain, val,
		                  &nval);
	if (a->progress)
		a->progress(a->ctx, 0.92);

	meta = cJSON_CreateObject();
	x = cJSON_AddArrayToObject(meta, "classes");
	for (unsigned i = 0; i < s->nclasses; i++)
		cJSON_AddItemToArray(x, cJSON_CreateString(s->classes[i].name));
	x = cJSON_AddObjectToObject(meta, "image");
	cJSON_AddNumberToObject(x, "width", a->width);
	cJSON_AddNumberToObject(x, "height", a->height);
	cJSON_AddNumberToObject(x, "channels", a->channels);
	/* the train worker copies it into the model: infer fits new
	 * pictures the same way (docs/preprocess.md, "Square input");
	 * left out, stretch, as before it existed */
	if (a->fit != IMG_FIT_STRETCH)
		cJSON_AddStringToObject(x, "fit", img_fit_names[a->fit]);
	x = cJSON_AddObjectToObject(meta, "counts");
	cJSON_AddItemToObject(x, "train", counts_array(s, train, ntrain));
	cJSON_AddItemToObject(x, "val", counts_array(s, val, nval));
	add_mean_std(meta, s, train, ntrain, a->channels);
	cJSON_AddItemToObject(meta, "source", cJSON_Duplicate(report, 1));
	cJSON_AddNumberToObject(meta, "seed", (double)a->seed);
	cJSON_AddNumberToObject(meta, "val_fraction", a->val_fraction);

	/* Everything goes to a fresh directory first: a reader sees the
	 * old output or the new one, never a mix. */
	remove_leftovers(a->outdir);
	tmp = xasprintf("%s.tmp.%ld", a->outdir, (long)getpid());
	if (util_rmtree(tmp) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (util_mkdirs(tmp, 0755) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_splits(tmp, s, train, ntrain, val, nval, a, err, errlen) ||
	    write_names(tmp, s, train, ntrain, val, nval, err, errlen))
		goto out_rm;
	/* the new directory keeps saying which job made it (confine.h) */
	if (a->owner && confine_mark(tmp, a->owner) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out_rm;
	}
	path = xasprintf("%s/meta.json", tmp);
	text = cJSON_Print(meta);
	if (util_write_atomic(path, text, strlen(text))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		cJSON_free(text);
		goto out_rm;
	}
	cJSON_free(text);
	if (a->cancelled && a->cancelled(a->ctx)) {
		snprintf(err, errlen, "cancelled");
		goto out_rm;
	}
	if (swap_dir(tmp, a->outdir, err, errlen))
		goto out_rm;
	rc = 0;
	if (result) {
		*result = report;
		report = NULL;
		cJSON_AddNumberToObject(*result, "train", (double)ntrain);
		cJSON_AddNumberToObject(*result, "val", (double)nval);
		cJSON_AddItemToObject(
		    *result, "counts",
		    cJSON_Duplicate(
		        cJSON_GetObjectItemCaseSensitive(meta, "counts"), 1));
		cJSON_AddItemToObject(
		    *result, "mean",
		    cJSON_Duplicate(
		        cJSON_GetObjectItemCaseSensitive(meta, "mean"), 1));
		cJSON_AddItemToObject(
		    *result, "std",
		    cJSON_Duplicate(
		        cJSON_GetObjectItemCaseSensitive(meta, "std"), 1));
		cJSON_AddItemToObject(
		    *result, "class_names",
		    cJSON_Duplicate(
		        cJSON_GetObjectItemCaseSensitive(meta, "classes"), 1));
	}
	goto out;
out_rm:
	if (util_rmtree(tmp) < 0)
		ty_log("cannot remove %s", tmp);
out:
	if (rc < 0 && result && s->cancelled)
		snprintf(err, errlen, "cancelled");
	free(path);
	free(tmp);
	free(train);
	free(val);
	cJSON_Delete(meta);
	cJSON_Delete(report);
	prep_scan_free(s);
	return rc;
}

void
prep_run_prepare(struct job *j, const cJSON *params, void *arg)
{
	struct prep_opts a = {0};
	const char *dataset, *output;
	char err[512], *archive = NULL, *outdir = NULL;
	const char *id = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(params, "job_id"));
	cJSON *result;

	/* Checked again at run time: a record may predate the rules. */
	if (params_parse(params, 1, &a, &dataset, &output, err, sizeof err) ||
	    confine_params(params, paths, 2, err, sizeof err) ||
	    confine_owner_ok(svc_data_dir(), output, id, err, sizeof err) ||
	    !(archive =
	          svc_volume_path(svc_data_dir(), dataset, err, sizeof err)) ||
	    !(outdir =
	          svc_volume_path(svc_data_dir(), output, err, sizeof err))) {
		free(archive);
		job_fail(j, "%s", err);
		return;
	}
	a.archive = archive;
	a.outdir = outdir;
	a.owner = id;
	job_opts(&a, j);
	if (prep_prepare(&a, &result, err, sizeof err) < 0) {
		/* A cancelled/stopping job just returns: the job layer
		 * decides between cancelled and resume-at-restart. */
		if (!job_cancelled(j))
			job_fail(j, "%s", err);
	} else {
		cJSON_AddStringToObject(result, "output", output);
		set_result(j, result);
		job_progress(j, 1, "done");
	}
	free(archive);
	free(outdir);
}
