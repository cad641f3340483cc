/*
 * scan_idx.c — MNIST-style IDX pairs inside a dataset archive: the files
 * are kept whole (gunzipped when needed) while the archive is read, then
 * images are paired with labels by file stem, named from labels.txt or
 * 0..9, converted and resized like any other image.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive_entry.h>

#include "dups.h"
#include "scan_int.h"

/* Gunzips an in-memory .gz with libarchive's raw format, bounded. */
static uint8_t *
gunzip(const uint8_t *in, size_t len, uint64_t max, size_t *outlen, char *err,
       size_t errlen)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t cap = 1 << 20, n = 0;
	uint8_t *out = NULL;

	archive_read_support_filter_gzip(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_memory(a, in, len) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		snprintf(err, errlen, "not a gzip file: %s",
		         archive_error_string(a));
		goto fail;
	}
	out = xmalloc(cap);
	for (;;) {
		la_ssize_t r;

		if (n == cap) {
			if (cap > max) {
				snprintf(err, errlen,
				         "expands to more than "
				         "%llu MB",
				         (unsigned long long)(max >> 20));
				goto fail;
			}
			cap *= 2;
			out = xrealloc(out, cap);
		}
		r = archive_read_data(a, out + n, cap - n);
		if (r == 0)
			break;
		if (r < 0) {
			snprintf(err, errlen, "corrupt gzip data: %s",
			         archive_error_string(a));
			goto fail;
		}
		n += (size_t)r;
		if (n > max) {
			snprintf(err, errlen, "expands to more than %llu MB",
			         (unsigned long long)(max >> 20));
			goto fail;
		}
	}
	archive_read_free(a);
	*outlen = n;
	return out;
fail:
	free(out);
	archive_read_free(a);
	return NULL;
}

void
scan_idx_take(struct scan_ctx *c, struct archive *a, const char *name,
              const char *clean, int64_t declared)
{
	const char *base = strrchr(name, '/');
	struct idxfile f = {0};
	char err[200];
	int too_big;
	uint8_t *buf;
	size_t len;

	base = base ? base + 1 : name;
	f.role = idx_role_of(base, f.stem, sizeof f.stem);
	snprintf(f.name, sizeof f.name, "%s", clean);
	buf = scan_read_whole(c, a, declared, c->o->lim->max_entry, &len,
	                      &too_big);
	if (!buf) {
		if (too_big)
			scan_add_skip(
			    c->s, clean, "IDX file over %llu MB",
			    (unsigned long long)(c->o->lim->max_entry >> 20));
		return;
	}
	if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
		uint8_t *u = gunzip(buf, len, c->o->lim->max_entry, &len, err,
		                    sizeof err);

		free(buf);
		if (!u) {
			scan_add_skip(c->s, clean, "bad IDX .gz: %s", err);
			return;
		}
		buf = u;
	}
	if (idx_parse(buf, len, &f.idx, err, sizeof err) < 0 ||
	    f.idx.ndims != (f.role == IDX_IMAGES ? 3 : 1)) {
		scan_add_skip(c->s, clean, "bad IDX file: %s",
		              f.idx.ndims
		                  ? "wrong number of dimensions for its name"
		                  : err);
		free(buf);
		return;
	}
	f.buf = buf;
	f.len = len;
	c->idx = xrealloc(c->idx, (c->nidx + 1) * sizeof *c->idx);
	c->idx[c->nidx++] = f;
}

/* The name of IDX class value v: labels.txt line v, else "v". */
static void
idx_class_name(struct scan_ctx *c, unsigned v, char *out, size_t outlen)
{
	const char *p = c->labels_txt;

	for (unsigned line = 0; p && *p; line++) {
		size_t n = strcspn(p, "\r\n");

		if (line == v && n > 0) {
			prep_name_clean(p, n, out, outlen);
			return;
		}
		p += n;
		if (*p == '\r')
			p++;
		if (*p == '\n')
			p++;
	}
	snprintf(out, outlen, "%u", v);
}

/* Pairs IDX image and label files by stem and stores their images. */
void
scan_idx_pairs(struct scan_ctx *c)
{
	const struct prep_opts *o = c->o;
	struct prep_scan *s = c->s;
	uint8_t *conv = NULL;

	for (size_t i = 0; i < c->nidx && !s->fatal; i++) {
		struct idxfile *im = &c->idx[i], *lb = NULL;
		uint32_t n, rows, cols;

		if (im->role != IDX_IMAGES)
			continue;
		for (size_t k = 0; k < c->nidx; k++)
			if (c->idx[k].role == IDX_LABELS &&
			    !strcmp(c->idx[k].stem, im->stem))
				lb = &c->idx[k];
		if (!lb) {
			scan_add_skip(s, im->name,
			              "IDX images without a matching "
			              "%s-labels-idx1-ubyte file",
			              im->stem);
			continue;
		}
		n = im->idx.dims[0], rows = im->idx.dims[1];
		cols = im->idx.dims[2];
		if (lb->idx.dims[0] != n) {
			scan_add_skip(s, im->name,
			              "IDX images (%u) and labels (%u) "
			              "differ in count",
			              n, lb->idx.dims[0]);
			continue;
		}
		if ((uint64_t)rows * cols > c->ilim.max_pixels) {
			scan_add_skip(s, im->name,
			              "IDX images of %ux%u pixels are "
			              "over the limit",
			              cols, rows);
			continue;
		}
		if (o->mode == PREP_PREPARE && o->channels != 1)
			conv =
			    xrealloc(conv, (size_t)rows * cols * o->channels);
		for (uint32_t k = 0; k < n; k++) {
			char name[64], src[NAME_SHOW + 16], why[64];
			uint32_t slot;
			int id;

			idx_class_name(c, lb->idx.data[k], name, sizeof name);
			id = scan_class_id(c, name, lb->idx.data[k]);
			/* an IDX image is named by its file and position */
			snprintf(src, sizeof src, "%s#%u", im->name, k);
			if (id < 0 ||
			    scan_slot_new(c, (uint16_t)id, src, &slot) < 0) {
				scan_set_fatal(s, "too many classes or images");
				break;
			}
			if (o->mode == PREP_PREPARE) {
				const uint8_t *px =
				    im->idx.data + (size_t)k * rows * cols;

				if (conv)
					img_convert(px, (int)cols, (int)rows, 1,
					            conv, o->channels);
				if (img_fit_as(conv ? conv : px, (int)cols,
				               (int)rows, o->channels, o->width,
				               o->height, o->channels, o->fit,
				               scan_slot_pixels(s, slot), why,
				               sizeof why) != IMG_OK) {
					scan_add_skip(s, im->name,
					              "resize failed");
					continue;
				}
				scan_pixel_sums(
				    s, scan_slot_pixels(s, slot),
				    s->px_sum + (size_t)slot * s->store_ch,
				    s->px_sq + (size_t)slot * s->store_ch);
			}
			dups_hash(im->idx.data + (size_t)k * rows * cols,
			          (int)cols, (int)rows, 1, &c->slot_hash[slot],
			          &c->slot_dhash[slot]);
			c->slot_ok[slot] = 1;
			/* written on this thread: let go as it goes */
			if (s->store && slot % 256 == 255)
				store_written_below(s->store, slot + 1);
			c->cls[id].count++;
			s->idx_images++;
			s->channels[1]++;
			scan_size_stat(s, (int)cols, (int)rows);
		}
	}
	free(conv);
}
