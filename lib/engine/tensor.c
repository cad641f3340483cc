/*
 * tensor.c — reading (mmap) and writing (streamed, atomic) .tyd files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tensor.h"
#include "bytes.h"

struct tensor_writer {
	char *path, *tmp;
	FILE *f;
	uint64_t want, written; /* pixel bytes */
};

size_t
tensor_pixel_offset(uint32_t count)
{
	size_t lab = 2 * (size_t)count;

	return TENSOR_HEADER_SIZE + (lab + 63) / 64 * 64;
}

static int
shape_ok(uint32_t h, uint32_t w, uint32_t c, uint32_t classes, char *err,
         size_t errlen)
{
	if (h == 0 || w == 0 || h > TENSOR_MAX_SIDE || w > TENSOR_MAX_SIDE) {
		snprintf(err, errlen, "image size %ux%u out of range 1..%d", w,
		         h, TENSOR_MAX_SIDE);
		return 0;
	}
	if (c == 0 || c > TENSOR_MAX_CHANNELS) {
		snprintf(err, errlen, "channels %u out of range 1..%d", c,
		         TENSOR_MAX_CHANNELS);
		return 0;
	}
	if (classes == 0 || classes > TENSOR_MAX_CLASSES) {
		snprintf(err, errlen, "class count %u out of range 1..%d",
		         classes, TENSOR_MAX_CLASSES);
		return 0;
	}
	return 1;
}

int
tensor_parse(const void *buf, size_t len, struct tensor *t, char *err,
             size_t errlen)
{
	const uint8_t *p = buf;
	uint64_t need;

	memset(t, 0, sizeof *t);
	if (len < TENSOR_HEADER_SIZE) {
		snprintf(err, errlen,
		         "not a .tyd file: %zu bytes is shorter "
		         "than the header",
		         len);
		return -1;
	}
	if (memcmp(p, TENSOR_MAGIC, 4)) {
		snprintf(err, errlen, "not a .tyd file: bad magic");
		return -1;
	}
	if (byte_get_le32(p + 4) != TENSOR_VERSION) {
		snprintf(err, errlen,
		         ".tyd version %u is not supported "
		         "(want %d)",
		         byte_get_le32(p + 4), TENSOR_VERSION);
		return -1;
	}
	t->count = byte_get_le32(p + 8);
	t->height = byte_get_le32(p + 12);
	t->width = byte_get_le32(p + 16);
	t->channels = byte_get_le32(p + 20);
	t->classes = byte_get_le32(p + 24);
	if (!shape_ok(t->height, t->width, t->channels, t->classes, err,
	              errlen))
		return -1;
	t->image_bytes = (size_t)t->height * t->width * t->channels;
	/* At most 2^32 * 2^28: fits in 64 bits without overflow. */
	need =
	    tensor_pixel_offset(t->count) + (uint64_t)t->count * t->image_bytes;
	if (need != len) {
		snprintf(err, errlen,
		         ".tyd file is %zu bytes but its header "
		         "says %llu (truncated or corrupt)",
		         len, (unsigned long long)need);
		return -1;
	}
	t->labels = (const uint16_t *)(p + TENSOR_HEADER_SIZE);
	t->pixels = p + tensor_pixel_offset(t->count);
	for (uint32_t i = 0; i < t->count; i++) {
		if (t->labels[i] >= t->classes) {
			snprintf(err, errlen,
			         ".tyd label %u of image %u is "
			         "not below the class count %u",
			         t->labels[i], i, t->classes);
			return -1;
		}
	}
	return 0;
}

int
tensor_open(const char *path, struct tensor *t, char *err, size_t errlen)
{
	struct stat st;
	void *map;
	int fd;

	memset(t, 0, sizeof *t);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_size < TENSOR_HEADER_SIZE) {
		snprintf(err, errlen, "%s: not a .tyd file (%lld bytes)", path,
		         (long long)st.st_size);
		close(fd);
		return -1;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
		return -1;
	}
	if (tensor_parse(map, (size_t)st.st_size, t, err, errlen) < 0) {
		munmap(map, (size_t)st.st_size);
		memset(t, 0, sizeof *t);
		return -1;
	}
	t->map = map;
	t->map_len = (size_t)st.st_size;
	return 0;
}

void
tensor_close(struct tensor *t)
{
	if (t->map)
		munmap(t->map, t->map_len);
	memset(t, 0, sizeof *t);
}

struct tensor_writer *
tensor_create(const char *path, uint32_t count, uint32_t height, uint32_t width,
              uint32_t channels, uint32_t classes, const uint16_t *labels,
              char *err, size_t errlen)
{
	struct tensor_writer *w;
	uint8_t hdr[TENSOR_HEADER_SIZE] = {0};
	static const uint8_t zeros[64];
	size_t pad;
	int fd;

	if (!shape_ok(height, width, channels, classes, err, errlen))
		return NULL;
	for (uint32_t i = 0; i < count; i++) {
		if (labels[i] >= classes) {
			snprintf(err, errlen,
			         "label %u of image %u is not "
			         "below the class count %u",
			         labels[i], i, classes);
			return NULL;
		}
	}
	w = xcalloc(1, sizeof *w);
	w->path = xstrdup(path);
	w->tmp = xasprintf("%s.tmp.%ld.XXXXXX", path, (long)getpid());
	w->want = (uint64_t)count * height * width * channels;
	fd = mkostemp(w->tmp, O_CLOEXEC);
	if (fd < 0 || !(w->f = fdopen(fd, "wb"))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(w->tmp);
		}
		free(w->tmp);
		free(w->path);
		free(w);
		return NULL;
	}
	memcpy(hdr, TENSOR_MAGIC, 4);
	byte_put_le32(hdr + 4, TENSOR_VERSION);
	byte_put_le32(hdr + 8, count);
	byte_put_le32(hdr + 12, height);
	byte_put_le32(hdr + 16, width);
	byte_put_le32(hdr + 20, channels);
	byte_put_le32(hdr + 24, classes);
	fwrite(hdr, 1, sizeof hdr, w->f);
	for (uint32_t i = 0; i < count; i++) {
		/* Little-endian on any host. */
		uint8_t b[2] = {(uint8_t)labels[i], (uint8_t)(labels[i] >> 8)};
		fwrite(b, 1, 2, w->f);
	}
	pad =
	    tensor_pixel_offset(count) - TENSOR_HEADER_SIZE - 2 * (size_t)count;
	fwrite(zeros, 1, pad, w->f);
	if (ferror(w->f)) {
		snprintf(err, errlen, "%s: write: %s", path, strerror(errno));
		tensor_abort(w);
		return NULL;
	}
	return w;
}

int
tensor_write_pixels(struct tensor_writer *w, const uint8_t *px, size_t nbytes)
{
	if (w->written + nbytes > w->want)
		return -1;
	if (fwrite(px, 1, nbytes, w->f) != nbytes)
		return -1;
	w->written += nbytes;
	return 0;
}

void
tensor_abort(struct tensor_writer *w)
{
	if (!w)
		return;
	if (w->f)
		fclose(w->f);
	unlink(w->tmp);
	free(w->tmp);
	free(w->path);
	free(w);
}

int
tensor_commit(struct tensor_writer *w, char *err, size_t errlen)
{
	int rc;

	if (w->written != w->want) {
		snprintf(err, errlen, "%s: %llu of %llu pixel bytes written",
		         w->path, (unsigned long long)w->written,
		         (unsigned long long)w->want);
		tensor_abort(w);
		return -1;
	}
	if (fflush(w->f) || fchmod(fileno(w->f), 0644) || fsync(fileno(w->f))) {
		snprintf(err, errlen, "%s: write: %s", w->path,
		         strerror(errno));
		tensor_abort(w);
		return -1;
	}
	rc = fclose(w->f);
	w->f = NULL;
	if (rc || rename(w->tmp, w->path)) {
		snprintf(err, errlen, "%s: %s", w->path, strerror(errno));
		tensor_abort(w);
		return -1;
	}
	free(w->tmp);
	free(w->path);
	free(w);
	return 0;
}

int
tensor_write(const char *path, uint32_t count, uint32_t height, uint32_t width,
             uint32_t channels, uint32_t classes, const uint16_t *labels,
             const uint8_t *pixels, char *err, size_t errlen)
{
	struct tensor_writer *w;

	w = tensor_create(path, count, height, width, channels, classes, labels,
	                  err, errlen);
	if (!w)
		return -1;
	if (tensor_write_pixels(w, pixels,
	                        (size_t)count * height * width * channels)) {
		snprintf(err, errlen, "%s: write: %s", path, strerror(errno));
		tensor_abort(w);
		return -1;
	}
	return tensor_commit(w, err, errlen);
}
