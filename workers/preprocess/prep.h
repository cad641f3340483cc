/*
 * prep.h — reading a dataset archive into classes, labels and pixels
 * (scan.c), and the inspect/prepare jobs built on it (prep.c).
 */
#ifndef TY_PREP_H
#define TY_PREP_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "img.h"
#include "params.h"
#include "util.h"

struct job;

/* Limits against hostile archives; env names in prep_limits_init. */
struct prep_limits {
	uint64_t max_entries; /* TRAINYARD_MAX_ENTRIES, 1000000 */
	uint64_t max_total;   /* TRAINYARD_MAX_TOTAL_MB, 4096 MB uncompressed */
	uint64_t max_entry;   /* TRAINYARD_MAX_ENTRY_MB, 64 MB per file */
	uint64_t max_pixels;  /* TRAINYARD_MAX_PIXELS, 40000000 per image */
	uint64_t max_output;  /* TRAINYARD_MAX_OUTPUT_MB, 8192 MB of tensors */
	uint64_t max_ram;     /* TRAINYARD_PREP_RAM_MB, 64: pixels in memory */
	double max_ratio; /* TRAINYARD_MAX_RATIO, 100 (uncompressed/packed) */
};

void prep_limits_init(int argc, char **argv, struct prep_limits *l);
/* The limits the job kinds use (before any job runs). */
void prep_limits_use(const struct prep_limits *l);

/* What an archive path is. */
enum prep_path {
	PREP_PATH_IMAGE,   /* a file in a class folder */
	PREP_PATH_IDX,     /* an IDX images/labels file */
	PREP_PATH_LABELS,  /* labels.txt (IDX class names) */
	PREP_PATH_HIDDEN,  /* __MACOSX/, .DS_Store, dot files, Thumbs.db */
	PREP_PATH_UNSAFE,  /* absolute or with ".." */
	PREP_PATH_NOCLASS, /* at the archive root */
	PREP_PATH_TOOLONG,
};

/*
 * Classifies an entry name; for PREP_PATH_IMAGE, cls and clslen give
 * the class folder (the immediate parent), for PREP_PATH_IDX the stem and
 * role come from idx_role_of on the base name.
 */
enum prep_path prep_path_classify(const char *name, const char **cls,
                                  size_t *clslen);

/*
 * Copies n bytes of a name to out (NUL-terminated, at most outlen-1
 * bytes) with invalid UTF-8 and control characters replaced by '?', so
 * every name is safe in JSON and HTML.
 */
void prep_name_clean(const char *in, size_t n, char *out, size_t outlen);

enum prep_mode { PREP_INSPECT, PREP_PREPARE };

/*
 * One job's options, from its params to the scan: the run parameters of
 * the one table (params.h; F_PREP rows: image.width/height/channels,
 * val_fraction, seed, read as o->width) and how to run.
 */
struct prep_opts {
	const char *archive; /* file path */
	const char *outdir;  /* prepare: the directory written */
	const char *owner;   /* prepare: job id for outdir/.owner, or NULL */
	/* prepare: where pixels beyond lim->max_ram go (store.h); NULL:
	 * all in memory. prep_prepare sets it to outdir's parent. */
	const char *store_dir;
	enum prep_mode mode;
	union {
		struct params run;
		struct {
#define PARAM PARAM_AS_FIELD
#include "params_list.h"
#undef PARAM
		};
	};
	int threads;
	const struct prep_limits *lim;
	/* Polled between batches; may be NULL. */
	int (*cancelled)(void *ctx);
	void (*progress)(void *ctx, double fraction);
	void *ctx;
};

#define PREP_SKIP_LIST_MAX 200

struct prep_class {
	char *name;
	uint32_t count; /* usable images */
	int idx_label;  /* label value for IDX classes, else -1 */
	/* inspect: base64 PNG thumbnails of its first images (samples.h) */
	char **samples;
	unsigned nsamples, sampled; /* sampled: asked for so far */
};

/* The outcome of reading an archive. */
struct prep_scan {
	/* Set when the archive as a whole is unusable (not an archive,
	 * truncated, over a limit, cancelled); the rest is what was read. */
	char *fatal;
	int cancelled;
	char archive_format[64];
	uint64_t entries, bytes; /* entries seen, uncompressed bytes read */

	/* Classes, final order (natural sort; IDX by label value). */
	struct prep_class *classes;
	unsigned nclasses;

	/* Usable images in archive order: labels[i] < nclasses; pixels of
	 * image i (prepare) via prep_scan_copy. */
	uint32_t count;
	uint16_t *labels;
	char **names; /* image i's path in the archive */
	/* copies (dups.c): fingerprints of image i, its group or
	 * DUPS_NONE, and the counts */
	uint64_t *hash, *dhash;
	uint32_t *group;
	uint32_t ngroups, exact_groups, cross_groups, dup_images;

	/* Statistics over usable images. */
	uint64_t formats[IMG_FMT__MAX], idx_images;
	uint64_t channels[5];
	int min_w, min_h, max_w, max_h;
	struct prep_size {
		int w, h;
		uint64_t n;
	} sizes[32];
	unsigned nsizes;
	uint64_t sizes_other;

	/* Skipped files: the first PREP_SKIP_LIST_MAX, and the total. */
	struct prep_skip {
		char *name, *reason;
	} skipped[PREP_SKIP_LIST_MAX];
	unsigned nskipped;
	uint64_t skipped_total;

	/* private: pixel store (store.h) */
	size_t image_bytes;
	struct store *store;
	uint32_t *slot; /* usable image -> store slot */
	/* per slot and channel: sum and sum of squares of the pixels */
	int store_ch;
	uint32_t *px_sum;
	uint64_t *px_sq;
};

/* Reads the archive; never NULL. */
struct prep_scan *prep_scan_run(const struct prep_opts *o);
/* Copies image i's pixels (image_bytes) to out; 0, or -1 (errno set). */
int prep_scan_copy(const struct prep_scan *s, uint32_t i, uint8_t *out) TY_WUR;
/* Adds image i's per-channel pixel sums and sums of squares (prepare). */
void prep_scan_sums(const struct prep_scan *s, uint32_t i, uint64_t *sum,
                    uint64_t *sq);
void prep_scan_free(struct prep_scan *s);

/* The report shared by inspect and prepare results. */
cJSON *prep_report(const struct prep_scan *s);

/* The job kinds. */
int prep_validate(const cJSON *params, char *err, size_t errlen);
void prep_run_inspect(struct job *j, const cJSON *params, void *arg);
void prep_run_prepare(struct job *j, const cJSON *params, void *arg);

/*
 * Prepare without the job layer (tests, benchmark): writes train.tyd,
 * val.tyd and meta.json into outdir (created; replaced atomically as a
 * whole). Returns 0, or -1 with a message in err. *result (may be NULL)
 * gets the result object.
 */
int prep_prepare(const struct prep_opts *o, cJSON **result, char *err,
                 size_t errlen) TY_WUR;

#endif
