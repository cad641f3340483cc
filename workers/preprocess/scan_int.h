/*
 * scan_int.h — what the archive reader (scan.c), its decoder pool
 * (scan_pool.c) and its IDX support (scan_idx.c) share; private to
 * workers/preprocess/.
 */
#ifndef TY_SCAN_INT_H
#define TY_SCAN_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <archive.h>

#include "idx.h"
#include "prep.h"
#include "store.h"

#define BATCH_ITEMS 2048
#define BATCH_ARENA (1u << 20) /* grows for a large entry */
/* Pixels one batch may decode at once: with the other batch, what the
 * pixel store holds in memory before store_written_below lets go. */
#define BATCH_PIXELS (32u << 20)
#define NAME_SHOW 256
/* The ratio check starts after this much output: tiny archives of
 * blank images legitimately compress very well. */
#define RATIO_MIN_BYTES (1u << 20)
#define LABELS_TXT_MAX (1u << 20)

struct item {
	size_t off, len; /* data in the arena */
	size_t name_off; /* NUL-terminated clean name in the arena */
	uint32_t slot;   /* pixel store slot */
	uint16_t cls;    /* provisional class id */
	int8_t status;   /* enum img_err */
	struct img_info info;
	uint32_t sum[3];      /* per channel, of the stored pixels */
	uint64_t hash, dhash; /* dups_hash of the decoded source */
	int want_sample;      /* inspect: make a thumbnail of it */
	char *thumb;          /* that thumbnail (samples_thumb) */
	uint64_t sq[3];
	char err[120];
};

struct batch {
	struct item *items;
	size_t n;
	uint8_t *arena;
	size_t used, cap;
	atomic_size_t next, remaining;
	int finished, inside;
};

struct idxfile {
	char stem[128];
	enum idx_role role;
	uint8_t *buf;
	size_t len;
	struct idx idx;
	char name[NAME_SHOW];
};

struct scan_ctx {
	const struct prep_opts *o;
	unsigned nsampled; /* thumbnails asked for (SAMPLES_MAX) */
	struct prep_scan *s;
	struct img_limits ilim;
	/* provisional classes, hashed by name */
	struct prep_class *cls;
	unsigned ncls, capcls;
	uint32_t *hash; /* cls index + 1, 0 empty */
	size_t hashcap;
	/* per slot */
	uint16_t *slot_cls;
	uint8_t *slot_ok;
	char **slot_name;                 /* the image's path in the archive */
	uint64_t *slot_hash, *slot_dhash; /* dups_hash of its pixels */
	uint32_t nslots, capslots;
	/* pool */
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	struct batch *cur;
	unsigned gen;
	int quit;
	pthread_t *threads;
	int nthreads;
	atomic_int stop; /* cancelled: decoders skip the rest */
	struct batch b[2];
	/* IDX */
	struct idxfile *idx;
	size_t nidx;
	char *labels_txt;
	uint64_t raw_size;
};

void scan_add_skip(struct prep_scan *s, const char *name, const char *fmt, ...)
    TY_PRINTF(3, 4);
void scan_set_fatal(struct prep_scan *s, const char *fmt, ...) TY_PRINTF(2, 3);
/* The provisional id of a (clean) class name; -1 over the class limit. */
int scan_class_id(struct scan_ctx *c, const char *name, int idx_label);
/* A new pixel-store slot for an image of class cls named name (its path
 * in the archive, kept when preparing); -1 over a limit. */
int scan_slot_new(struct scan_ctx *c, uint16_t cls, const char *name,
                  uint32_t *slot);
uint8_t *scan_slot_pixels(const struct prep_scan *s, uint32_t slot);
/* Per-channel sum and sum of squares of a stored image's pixels. */
void scan_pixel_sums(const struct prep_scan *s, const uint8_t *px,
                     uint32_t *sum, uint64_t *sq);
void scan_size_stat(struct prep_scan *s, int w, int h);
/* A whole entry into a new NUL-terminated buffer, at most max bytes. */
uint8_t *scan_read_whole(struct scan_ctx *c, struct archive *a,
                         int64_t declared, uint64_t max, size_t *lenp,
                         int *too_big);

/* The decoder pool (scan_pool.c): the threads' body; hand the filling
 * batch to the decoders and get the other one, collected, to fill; at
 * the end, decode and collect what is left. */
void *scan_decoder(void *arg);
struct batch *scan_batch_flip(struct scan_ctx *c, struct batch *b);
void scan_batch_drain(struct scan_ctx *c, struct batch *b);

/* IDX (scan_idx.c): keep an IDX or labels.txt entry for later; once the
 * archive is read, pair images with labels by stem and store them. */
void scan_idx_take(struct scan_ctx *c, struct archive *a, const char *name,
                   const char *clean, int64_t declared);
void scan_idx_pairs(struct scan_ctx *c);

#endif
