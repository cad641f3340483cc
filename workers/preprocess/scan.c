/*
 * scan.c — reads a dataset archive entry by entry with libarchive (never
 * extracting to disk), has its images decoded by the pool of
 * scan_pool.c, and gathers classes, labels, pixels, statistics and
 * skipped files.
 *
 * One reader (the job thread) copies entries into a batch; when the batch
 * is full it is handed to the decoders and the reader fills the other
 * batch. Every image gets its slot in the pixel store when it is read, so
 * the result does not depend on the number of threads. Results of a batch
 * are collected by the reader in archive order.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "dups.h"
#include "samples.h"
#include "scan_int.h"
#include "zipcount.h"

enum skip_reason {
	SKIP_HIDDEN,
	SKIP_UNSAFE,
	SKIP_NOCLASS,
	SKIP_TOOLONG,
	SKIP_NOT_FILE,
	SKIP_EMPTY,
	SKIP_TOO_BIG,
	SKIP__MAX
};

static const char *const skip_text[SKIP__MAX] = {
    [SKIP_HIDDEN] = "hidden or system file",
    [SKIP_UNSAFE] = "unsafe path (absolute or with ..); ignored",
    [SKIP_NOCLASS] = "not inside a class folder",
    [SKIP_TOOLONG] = "path too long",
    [SKIP_NOT_FILE] = "not a regular file (link, device or special)",
    [SKIP_EMPTY] = "empty file (0 bytes)",
    [SKIP_TOO_BIG] = "file too large",
};

void scan_add_skip(struct prep_scan *s, const char *name, const char *fmt, ...)
    TY_PRINTF(3, 4);

void
scan_add_skip(struct prep_scan *s, const char *name, const char *fmt, ...)
{
	va_list ap;
	char r[256];

	s->skipped_total++;
	if (s->nskipped >= PREP_SKIP_LIST_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(r, sizeof r, fmt, ap);
	va_end(ap);
	s->skipped[s->nskipped].name = xstrdup(name);
	s->skipped[s->nskipped].reason = xstrdup(r);
	s->nskipped++;
}

void
scan_set_fatal(struct prep_scan *s, const char *fmt, ...)
{
	va_list ap;

	if (s->fatal)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s->fatal, fmt, ap) < 0)
		abort();
	va_end(ap);
}

/* The provisional id of a (clean) class name; -1 over the class limit. */
int
scan_class_id(struct scan_ctx *c, const char *name, int idx_label)
{
	size_t i;

	if (c->ncls * 2 >= c->hashcap) {
		size_t cap = c->hashcap ? c->hashcap * 2 : 64;
		uint32_t *h = xcalloc(cap, sizeof *h);

		for (unsigned k = 0; k < c->ncls; k++) {
			for (i = util_hash_str(c->cls[k].name) & (cap - 1);
			     h[i]; i = (i + 1) & (cap - 1))
				;
			h[i] = k + 1;
		}
		free(c->hash);
		c->hash = h;
		c->hashcap = cap;
	}
	for (i = util_hash_str(name) & (c->hashcap - 1); c->hash[i];
	     i = (i + 1) & (c->hashcap - 1))
		if (!strcmp(c->cls[c->hash[i] - 1].name, name))
			return (int)c->hash[i] - 1;
	if (c->ncls >= 65535)
		return -1;
	if (c->ncls == c->capcls) {
		c->capcls = c->capcls ? c->capcls * 2 : 16;
		c->cls = xrealloc(c->cls, c->capcls * sizeof *c->cls);
	}
	c->cls[c->ncls] =
	    (struct prep_class){.name = xstrdup(name), .idx_label = idx_label};
	c->hash[i] = c->ncls + 1;
	return (int)c->ncls++;
}

/* A new store slot for an image of class cls; -1 over the output limit. */
int
scan_slot_new(struct scan_ctx *c, uint16_t cls, const char *name,
              uint32_t *slot)
{
	struct prep_scan *s = c->s;

	if (s->image_bytes && (uint64_t)(c->nslots + 1) * s->image_bytes >
	                          c->o->lim->max_output) {
		scan_set_fatal(
		    s,
		    "the prepared tensors would be larger than %llu "
		    "MB (TRAINYARD_MAX_OUTPUT_MB); choose a smaller image "
		    "size",
		    (unsigned long long)(c->o->lim->max_output >> 20));
		return -1;
	}
	if (c->nslots == UINT32_MAX - 1) {
		scan_set_fatal(s, "too many images");
		return -1;
	}
	if (c->nslots == c->capslots) {
		c->capslots = c->capslots ? c->capslots * 2 : 4096;
		c->slot_cls =
		    xrealloc(c->slot_cls, c->capslots * sizeof *c->slot_cls);
		c->slot_ok = xrealloc(c->slot_ok, c->capslots);
		c->slot_name =
		    xrealloc(c->slot_name, c->capslots * sizeof *c->slot_name);
		c->slot_hash =
		    xrealloc(c->slot_hash, c->capslots * sizeof *c->slot_hash);
		c->slot_dhash = xrealloc(c->slot_dhash,
		                         c->capslots * sizeof *c->slot_dhash);
		if (s->store_ch) {
			s->px_sum =
			    xrealloc(s->px_sum, c->capslots * s->store_ch *
			                            sizeof *s->px_sum);
			s->px_sq =
			    xrealloc(s->px_sq, c->capslots * s->store_ch *
			                           sizeof *s->px_sq);
		}
	}
	if (s->store) {
		char err[300];

		if (store_reserve(s->store, c->nslots, err, sizeof err)) {
			scan_set_fatal(s, "%s", err);
			return -1;
		}
	}
	c->slot_cls[c->nslots] = cls;
	c->slot_ok[c->nslots] = 0;
	c->slot_name[c->nslots] = xstrdup(name);
	c->slot_hash[c->nslots] = c->slot_dhash[c->nslots] = 0;
	*slot = c->nslots++;
	return 0;
}

uint8_t *
scan_slot_pixels(const struct prep_scan *s, uint32_t slot)
{
	return store_at(s->store, slot);
}

int
prep_scan_copy(const struct prep_scan *s, uint32_t i, uint8_t *out)
{
	return store_read(s->store, s->slot[i], out);
}

/*
 * Sums for the mean and std of the train split (prep.c), taken by the
 * decoder while the image is in its cache rather than in a second pass
 * over the store on one thread. Exact integers: the result does not
 * depend on who added what.
 */
void
scan_pixel_sums(const struct prep_scan *s, const uint8_t *px, uint32_t *sum,
                uint64_t *sq)
{
	int ch = s->store_ch;

	for (int c = 0; c < ch; c++) {
		uint32_t a = 0;
		uint64_t q = 0;

		for (size_t k = (size_t)c; k < s->image_bytes;
		     k += (size_t)ch) {
			a += px[k];
			q += (uint32_t)px[k] * px[k];
		}
		sum[c] = a;
		sq[c] = q;
	}
}

void
prep_scan_sums(const struct prep_scan *s, uint32_t i, uint64_t *sum,
               uint64_t *sq)
{
	size_t at = (size_t)s->slot[i] * (size_t)s->store_ch;

	for (int c = 0; c < s->store_ch; c++) {
		sum[c] += s->px_sum[at + (size_t)c];
		sq[c] += s->px_sq[at + (size_t)c];
	}
}

void
scan_size_stat(struct prep_scan *s, int w, int h)
{
	if (!s->min_w || w < s->min_w)
		s->min_w = w;
	if (!s->min_h || h < s->min_h)
		s->min_h = h;
	if (w > s->max_w)
		s->max_w = w;
	if (h > s->max_h)
		s->max_h = h;
	for (unsigned i = 0; i < s->nsizes; i++) {
		if (s->sizes[i].w == w && s->sizes[i].h == h) {
			s->sizes[i].n++;
			return;
		}
	}
	if (s->nsizes < TY_ARRAY_LEN(s->sizes))
		s->sizes[s->nsizes++] = (struct prep_size){w, h, 1};
	else
		s->sizes_other++;
}

/* Ensures room for need more bytes in the arena (offsets stay valid). */
static void
arena_reserve(struct batch *b, size_t need)
{
	if (b->used + need <= b->cap)
		return;
	while (b->used + need > b->cap)
		b->cap *= 2;
	b->arena = xrealloc(b->arena, b->cap);
}

/*
 * Reads the current entry's data into the arena at b->used (not yet
 * committed). Returns the length, -1 when over max bytes (rest skipped),
 * -2 on an archive error (fatal set).
 */
static long long
read_data(struct scan_ctx *c, struct archive *a, struct batch *b,
          int64_t declared, uint64_t max)
{
	size_t len = 0;

	arena_reserve(b, declared > 0 && (uint64_t)declared <= max
	                     ? (size_t)declared + 1
	                     : 65536);
	for (;;) {
		la_ssize_t n;

		if (b->used + len == b->cap)
			arena_reserve(b, len + 65536);
		n = archive_read_data(a, b->arena + b->used + len,
		                      b->cap - b->used - len);
		if (n == 0)
			break;
		if (n < 0) {
			scan_set_fatal(c->s,
			               "archive is truncated or corrupt: %s",
			               archive_error_string(a));
			return -2;
		}
		len += (size_t)n;
		c->s->bytes += (uint64_t)n;
		if (c->s->bytes > c->o->lim->max_total) {
			scan_set_fatal(
			    c->s,
			    "archive expands to more than %llu MB "
			    "(TRAINYARD_MAX_TOTAL_MB)",
			    (unsigned long long)(c->o->lim->max_total >> 20));
			return -2;
		}
		if (c->s->bytes > RATIO_MIN_BYTES) {
			double raw = (double)archive_filter_bytes(a, -1);

			if (raw > 0 &&
			    (double)c->s->bytes / raw > c->o->lim->max_ratio) {
				scan_set_fatal(
				    c->s,
				    "archive expands more than "
				    "%g times its size: a decompression bomb? "
				    "(TRAINYARD_MAX_RATIO)",
				    c->o->lim->max_ratio);
				return -2;
			}
		}
		if (len > max)
			return -1;
	}
	return (long long)len;
}

/* Whole entry into a new buffer (IDX files, labels.txt). */
uint8_t *
scan_read_whole(struct scan_ctx *c, struct archive *a, int64_t declared,
                uint64_t max, size_t *lenp, int *too_big)
{
	struct batch tmp = {0};
	long long n;

	*too_big = 0;
	tmp.cap = 65536;
	tmp.arena = xmalloc(tmp.cap);
	n = read_data(c, a, &tmp, declared, max);
	if (n < 0) {
		*too_big = n == -1;
		free(tmp.arena);
		return NULL;
	}
	*lenp = (size_t)n;
	tmp.arena[n] = 0;
	return tmp.arena;
}

/* Compares classes: IDX ones by label value first, then natural order. */
static int
cmp_class(const void *a, const void *b)
{
	const struct prep_class *x = *(struct prep_class *const *)a;
	const struct prep_class *y = *(struct prep_class *const *)b;

	if ((x->idx_label >= 0) != (y->idx_label >= 0))
		return x->idx_label >= 0 ? -1 : 1;
	if (x->idx_label >= 0 && x->idx_label != y->idx_label)
		return x->idx_label - y->idx_label;
	return strverscmp(x->name, y->name);
}

/* Final classes (non-empty, sorted), labels and slots. */
static void
finish(struct scan_ctx *c)
{
	struct prep_scan *s = c->s;
	struct prep_class **order = xmalloc((c->ncls + 1) * sizeof *order);
	int *remap = xmalloc((c->ncls + 1) * sizeof *remap);
	unsigned n = 0;

	for (unsigned i = 0; i < c->ncls; i++) {
		if (c->cls[i].count == 0) {
			char name[NAME_SHOW + 2];

			snprintf(name, sizeof name, "%s/", c->cls[i].name);
			scan_add_skip(s, name, "empty class: no usable images");
			free(c->cls[i].samples); /* none: no usable image */
			continue;
		}
		order[n++] = &c->cls[i];
	}
	qsort(order, n, sizeof *order, cmp_class);
	s->classes = xcalloc(n + 1, sizeof *s->classes);
	for (unsigned i = 0; i < c->ncls; i++)
		remap[i] = -1;
	for (unsigned i = 0; i < n; i++) {
		s->classes[i] = *order[i];
		s->classes[i].name = xstrdup(order[i]->name);
		remap[order[i] - c->cls] = (int)i;
	}
	s->nclasses = n;
	s->labels = xmalloc((c->nslots + 1) * sizeof *s->labels);
	s->names = xcalloc(c->nslots + 1, sizeof *s->names);
	s->hash = xcalloc(c->nslots + 1, sizeof *s->hash);
	s->dhash = xcalloc(c->nslots + 1, sizeof *s->dhash);
	s->slot = xmalloc((c->nslots + 1) * sizeof *s->slot);
	s->count = 0;
	for (uint32_t i = 0; i < c->nslots; i++) {
		if (!c->slot_ok[i]) {
			free(c->slot_name[i]);
			continue;
		}
		s->names[s->count] = c->slot_name[i]; /* handed over */
		s->hash[s->count] = c->slot_hash[i];
		s->dhash[s->count] = c->slot_dhash[i];
		s->labels[s->count] = (uint16_t)remap[c->slot_cls[i]];
		s->slot[s->count++] = i;
	}
	free(order);
	free(remap);
	dups_find(s);
}

/* Handles one regular file entry of the archive. */
static struct batch *
take_entry(struct scan_ctx *c, struct archive *a, struct archive_entry *e,
           struct batch *b)
{
	struct prep_scan *s = c->s;
	const char *name = archive_entry_pathname(e);
	int64_t declared =
	    archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
	char clean[NAME_SHOW], clsname[NAME_SHOW];
	const char *cls;
	size_t clslen, nlen;
	long long len;
	struct item *it;
	int id;

	if (!name)
		name = archive_entry_pathname_utf8(e);
	if (!name) {
		scan_add_skip(s, "(unreadable name)",
		              "the entry name cannot be "
		              "read");
		return b;
	}
	prep_name_clean(name, strlen(name), clean, sizeof clean);
	if (archive_entry_filetype(e) != AE_IFREG) {
		scan_add_skip(s, clean, "%s", skip_text[SKIP_NOT_FILE]);
		return b;
	}
	switch (prep_path_classify(name, &cls, &clslen)) {
	case PREP_PATH_HIDDEN:
		scan_add_skip(s, clean, "%s", skip_text[SKIP_HIDDEN]);
		return b;
	case PREP_PATH_UNSAFE:
		scan_add_skip(s, clean, "%s", skip_text[SKIP_UNSAFE]);
		return b;
	case PREP_PATH_NOCLASS:
		scan_add_skip(s, clean, "%s", skip_text[SKIP_NOCLASS]);
		return b;
	case PREP_PATH_TOOLONG:
		scan_add_skip(s, clean, "%s", skip_text[SKIP_TOOLONG]);
		return b;
	case PREP_PATH_IDX:
		scan_idx_take(c, a, name, clean, declared);
		return b;
	case PREP_PATH_LABELS:
		if (!c->labels_txt) {
			int too_big;
			size_t l;

			c->labels_txt = (char *)scan_read_whole(
			    c, a, declared, LABELS_TXT_MAX, &l, &too_big);
			if (too_big)
				scan_add_skip(s, clean, "labels.txt over 1 MB");
		}
		return b;
	case PREP_PATH_IMAGE:
		break;
	}
	/* The folder is a class even if nothing in it is usable: the
	 * report then names it as an empty class. */
	prep_name_clean(cls, clslen, clsname, sizeof clsname);
	id = scan_class_id(c, clsname, -1);
	if (id < 0) {
		scan_set_fatal(s, "more than 65535 classes");
		return b;
	}
	if (declared == 0) {
		scan_add_skip(s, clean, "%s", skip_text[SKIP_EMPTY]);
		return b;
	}
	if (declared > 0 && (uint64_t)declared > c->o->lim->max_entry) {
		scan_add_skip(
		    s, clean, "%s: %lld MB is over the limit of %llu MB",
		    skip_text[SKIP_TOO_BIG], (long long)(declared >> 20),
		    (unsigned long long)(c->o->lim->max_entry >> 20));
		s->bytes += (uint64_t)declared; /* skipping still inflates */
		if (s->bytes > c->o->lim->max_total)
			scan_set_fatal(
			    s,
			    "archive expands to more than %llu MB "
			    "(TRAINYARD_MAX_TOTAL_MB)",
			    (unsigned long long)(c->o->lim->max_total >> 20));
		return b;
	}
	if (b->n == BATCH_ITEMS ||
	    (uint64_t)b->n * s->image_bytes >= BATCH_PIXELS ||
	    (b->n && b->used + (declared > 0 ? (size_t)declared : 65536) +
	                     sizeof clean >
	                 b->cap))
		b = scan_batch_flip(c, b);
	len = read_data(c, a, b, declared, c->o->lim->max_entry);
	if (len == -2)
		return b;
	if (len == -1) {
		scan_add_skip(s, clean, "%s: over the limit of %llu MB",
		              skip_text[SKIP_TOO_BIG],
		              (unsigned long long)(c->o->lim->max_entry >> 20));
		return b;
	}
	if (len == 0) {
		scan_add_skip(s, clean, "%s", skip_text[SKIP_EMPTY]);
		return b;
	}
	/* A non-image is skipped here, without a slot or a decoder trip. */
	{
		struct img_info info;
		enum img_err ie =
		    img_probe(b->arena + b->used, (size_t)len, &c->ilim, &info);

		if (ie == IMG_ERR_TOO_LARGE) {
			scan_add_skip(s, clean,
			              "image too large: %dx%d pixels is "
			              "over the limit of %llu",
			              info.width, info.height,
			              (unsigned long long)c->ilim.max_pixels);
			return b;
		}
		if (ie != IMG_OK) {
			scan_add_skip(s, clean, "%s", img_strerror(ie));
			return b;
		}
	}
	it = &b->items[b->n];
	memset(it, 0, offsetof(struct item, err));
	it->err[0] = '\0';
	if (c->o->mode == PREP_INSPECT && c->nsampled < SAMPLES_MAX &&
	    c->cls[id].sampled < SAMPLES_PER_CLASS) {
		it->want_sample = 1;
		c->cls[id].sampled++;
		c->nsampled++;
	}
	/* Inspect stores no pixels but uses the slot for its verdict. */
	if (scan_slot_new(c, (uint16_t)id, clean, &it->slot) < 0)
		return b;
	it->off = b->used;
	it->len = (size_t)len;
	it->cls = (uint16_t)id;
	b->used += (size_t)len;
	nlen = strlen(clean) + 1;
	arena_reserve(b, nlen);
	it->name_off = b->used;
	memcpy(b->arena + b->used, clean, nlen);
	b->used += nlen;
	b->n++;
	return b;
}

static void
read_archive(struct scan_ctx *c)
{
	const struct prep_opts *o = c->o;
	struct prep_scan *s = c->s;
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct batch *b = &c->b[0];
	double last = 0;
	int r;

	archive_read_support_format_zip(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	archive_read_support_filter_gzip(a);
	if (archive_read_open_filename(a, o->archive, 1 << 20) != ARCHIVE_OK) {
		/* libarchive reads the first blocks here to detect the
		 * format: most failures are about the content, not I/O. */
		if (access(o->archive, R_OK) < 0)
			scan_set_fatal(s, "cannot open the archive: %s",
			               strerror(errno));
		else
			scan_set_fatal(s,
			               "not a zip, tar or tar.gz archive, or "
			               "truncated: %s",
			               archive_error_string(a));
		archive_read_free(a);
		return;
	}
	for (;;) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			if (s->entries == 0)
				scan_set_fatal(
				    s,
				    "not a zip, tar or tar.gz archive, "
				    "or unreadable: %s",
				    archive_error_string(a));
			else
				scan_set_fatal(
				    s,
				    "archive is truncated or corrupt "
				    "after %llu entries: %s",
				    (unsigned long long)s->entries,
				    archive_error_string(a));
			break;
		}
		if (s->entries == 0)
			snprintf(s->archive_format, sizeof s->archive_format,
			         "%s%s%s", archive_format_name(a),
			         archive_filter_count(a) > 1 ? " + " : "",
			         archive_filter_count(a) > 1
			             ? archive_filter_name(a, 0)
			             : "");
		if (archive_entry_filetype(e) == AE_IFDIR)
			continue;
		if (++s->entries > o->lim->max_entries) {
			scan_set_fatal(s,
			               "more than %llu files in the archive "
			               "(TRAINYARD_MAX_ENTRIES)",
			               (unsigned long long)o->lim->max_entries);
			break;
		}
		b = take_entry(c, a, e, b);
		if (s->fatal)
			break;
		if (util_now() - last > 0.2 || atomic_load(&c->stop)) {
			last = util_now();
			if (atomic_load(&c->stop) ||
			    (o->cancelled && o->cancelled(o->ctx))) {
				atomic_store(&c->stop, 1);
				break;
			}
			if (o->progress && c->raw_size)
				o->progress(
				    o->ctx,
				    0.9 * (double)archive_filter_bytes(a, -1) /
				        (double)c->raw_size);
		}
	}
	/* Drain: decode what is left, collect both batches in order. */
	scan_batch_drain(c, b);
	archive_read_free(a);
	if (atomic_load(&c->stop)) {
		s->cancelled = 1;
		free(s->fatal);
		s->fatal = NULL;
		scan_set_fatal(s, "cancelled");
	}
}

/*
 * A zip says how many images it holds before any is read: refuse an
 * output over the limit before decoding anything (a tar is checked
 * image by image in scan_slot_new).
 */
static void
check_estimate(struct scan_ctx *c)
{
	const struct prep_opts *o = c->o;
	uint64_t n;

	if (zipcount_images(o->archive, &n) != 0 || !c->s->image_bytes ||
	    n <= o->lim->max_output / c->s->image_bytes)
		return;
	scan_set_fatal(c->s,
	               "the archive holds %llu images: at %dx%dx%d "
	               "that is %llu MB of tensors, over the limit of %llu MB "
	               "(TRAINYARD_MAX_OUTPUT_MB); choose a smaller image size",
	               (unsigned long long)n, o->width, o->height, o->channels,
	               (unsigned long long)(n * c->s->image_bytes >> 20),
	               (unsigned long long)(o->lim->max_output >> 20));
}

struct prep_scan *
prep_scan_run(const struct prep_opts *o)
{
	struct scan_ctx c = {0};
	struct prep_scan *s = xcalloc(1, sizeof *s);
	struct stat st;

	c.o = o;
	c.s = s;
	c.ilim.max_pixels = o->lim->max_pixels;
	if (o->mode == PREP_PREPARE) {
		s->store_ch = o->channels;
		s->image_bytes = (size_t)o->width * o->height * o->channels;
		s->store = store_new(s->image_bytes, o->lim->max_output,
		                     o->lim->max_ram, o->store_dir);
	}
	if (stat(o->archive, &st) == 0)
		c.raw_size = (uint64_t)st.st_size;
	pthread_mutex_init(&c.mu, NULL);
	pthread_cond_init(&c.go, NULL);
	pthread_cond_init(&c.done, NULL);
	for (int i = 0; i < 2; i++) {
		c.b[i].items = xmalloc(BATCH_ITEMS * sizeof *c.b[i].items);
		c.b[i].cap = BATCH_ARENA;
		c.b[i].arena = xmalloc(c.b[i].cap);
		c.b[i].finished = 1;
	}
	c.nthreads = o->threads < 1 ? 1 : o->threads > 64 ? 64 : o->threads;
	c.threads = xcalloc((size_t)c.nthreads, sizeof *c.threads);
	for (int i = 0; i < c.nthreads; i++)
		if (pthread_create(&c.threads[i], NULL, scan_decoder, &c))
			abort();

	if (o->mode == PREP_PREPARE)
		check_estimate(&c);
	if (!s->fatal)
		read_archive(&c);

	pthread_mutex_lock(&c.mu);
	c.quit = 1;
	pthread_cond_broadcast(&c.go);
	pthread_mutex_unlock(&c.mu);
	for (int i = 0; i < c.nthreads; i++)
		pthread_join(c.threads[i], NULL);
	free(c.threads);
	for (int i = 0; i < 2; i++) {
		free(c.b[i].items);
		free(c.b[i].arena);
	}
	if (!s->fatal)
		scan_idx_pairs(&c);
	finish(&c);

	for (size_t i = 0; i < c.nidx; i++)
		free(c.idx[i].buf);
	free(c.idx);
	free(c.labels_txt);
	for (unsigned i = 0; i < c.ncls; i++)
		free(
		    c.cls[i].name); /* samples: moved to s->classes, or freed */
	free(c.cls);
	free(c.hash);
	free(c.slot_cls);
	free(c.slot_ok);
	free(c.slot_name); /* the strings went to s->names */
	free(c.slot_hash);
	free(c.slot_dhash);
	pthread_mutex_destroy(&c.mu);
	pthread_cond_destroy(&c.go);
	pthread_cond_destroy(&c.done);
	return s;
}

void
prep_scan_free(struct prep_scan *s)
{
	if (!s)
		return;
	free(s->fatal);
	for (unsigned i = 0; i < s->nclasses; i++) {
		free(s->classes[i].name);
		for (unsigned k = 0; k < s->classes[i].nsamples; k++)
			free(s->classes[i].samples[k]);
		free(s->classes[i].samples);
	}
	free(s->classes);
	free(s->labels);
	for (uint32_t i = 0; s->names && i < s->count; i++)
		free(s->names[i]);
	free(s->names);
	free(s->hash);
	free(s->dhash);
	free(s->group);
	free(s->slot);
	store_free(s->store);
	free(s->px_sum);
	free(s->px_sq);
	for (unsigned i = 0; i < s->nskipped; i++) {
		free(s->skipped[i].name);
		free(s->skipped[i].reason);
	}
	free(s);
}
