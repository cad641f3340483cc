/*
 * store.c — the pixel store: chunks in memory, then in a mapped file on
 * the data volume; see store.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store.h"

/* A chunk holds about this many bytes of images. */
#define CHUNK_BYTES (32u << 20)
/* Chunks are asked for in 2 MB pages (see chunk_new). */
#define HUGE_PAGE (2u << 20)

struct store {
	size_t image_bytes;
	uint32_t chunk_images; /* images per chunk */
	size_t chunk_cap;      /* bytes a chunk spans, 2 MB aligned */
	uint8_t **chunks;      /* allocated once: decoders read it unlocked */
	size_t nchunks, maxchunks;
	size_t nram; /* chunks in memory; the rest are in the file */
	char *dir;   /* where the file goes; NULL: memory only */
	int fd;
	uint64_t file_len; /* bytes of the file mapped so far */
	uint64_t released; /* file bytes below this left our memory */
};

/*
 * A chunk of memory in 2 MB pages (transparent huge pages in "madvise"
 * mode). Decoders touch each byte once: with 4 KB pages that was a page
 * fault per 5 images of 28x28, a third of a prepare's CPU time in a VM.
 * Only whole 2 MB pages the chunk (nearly) fills are advised, so memory
 * stays the output size; the first 2 MB keep small pages, so a small
 * dataset does not wait for a whole huge page to be zeroed.
 */
static uint8_t *
chunk_new(size_t len, int first)
{
	size_t cap = (len + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
	size_t from = first ? HUGE_PAGE : 0;
	uint8_t *p;

	if (posix_memalign((void **)&p, HUGE_PAGE, cap))
		abort();
	if (cap - len > len / 64)
		cap = len & ~(size_t)(HUGE_PAGE - 1);
	if (cap > from) /* a hint; may fail */
		(void)madvise(p + from, cap - from, MADV_HUGEPAGE);
	return p;
}

struct store *
store_new(size_t image_bytes, uint64_t max_bytes, uint64_t ram_bytes,
          const char *dir)
{
	struct store *st = xcalloc(1, sizeof *st);

	st->image_bytes = image_bytes ? image_bytes : 1;
	st->chunk_images = 1;
	if (st->image_bytes < CHUNK_BYTES)
		st->chunk_images = (uint32_t)(CHUNK_BYTES / st->image_bytes);
	st->chunk_cap =
	    ((size_t)st->chunk_images * st->image_bytes + HUGE_PAGE - 1) &
	    ~(size_t)(HUGE_PAGE - 1);
	/* Room for every chunk the limit allows, up front: growing the
	 * table while decoders index it is a race. */
	st->maxchunks =
	    (size_t)((max_bytes / st->image_bytes) / st->chunk_images + 1);
	if (st->maxchunks > UINT32_MAX / st->chunk_images + 1)
		st->maxchunks = UINT32_MAX / st->chunk_images + 1;
	st->chunks = xcalloc(st->maxchunks, sizeof *st->chunks);
	st->nram = dir ? (size_t)(ram_bytes / st->chunk_cap) : st->maxchunks;
	st->dir = dir ? xstrdup(dir) : NULL;
	st->fd = -1;
	return st;
}

/* An unnamed file in dir: nothing is left behind, even after kill -9. */
static int
file_open(const char *dir, char *err, size_t errlen)
{
	char *path;
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0)
		return fd;
	/* a file system without O_TMPFILE: a name, removed at once */
	path = xasprintf("%s/.pixels-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	else
		snprintf(err, errlen,
		         "cannot create the pixel store in %s: "
		         "%s",
		         dir, strerror(errno));
	free(path);
	return fd;
}

/* One more chunk in the file, its blocks allocated: a full disk must be
 * an error here, not a SIGBUS when a decoder writes the mapping. */
static uint8_t *
file_chunk(struct store *st, char *err, size_t errlen)
{
	void *p;
	int rc;

	if (st->fd < 0 && (st->fd = file_open(st->dir, err, errlen)) < 0)
		return NULL;
	rc = posix_fallocate(st->fd, (off_t)st->file_len, (off_t)st->chunk_cap);
	if (rc != 0) {
		snprintf(
		    err, errlen,
		    "the pixel store in %s cannot grow to "
		    "%llu MB: %s",
		    st->dir,
		    (unsigned long long)((st->file_len + st->chunk_cap) >> 20),
		    strerror(rc));
		return NULL;
	}
	p = mmap(NULL, st->chunk_cap, PROT_READ | PROT_WRITE, MAP_SHARED,
	         st->fd, (off_t)st->file_len);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the pixel store: %s",
		         strerror(errno));
		return NULL;
	}
	st->file_len += st->chunk_cap;
	return p;
}

int
store_reserve(struct store *st, uint32_t slot, char *err, size_t errlen)
{
	size_t k = slot / st->chunk_images;

	if (k < st->nchunks)
		return 0;
	if (k >= st->maxchunks) {
		snprintf(err, errlen, "too many images");
		return -1;
	}
	if (k < st->nram)
		st->chunks[k] = chunk_new(
		    (size_t)st->chunk_images * st->image_bytes, k == 0);
	else if (!(st->chunks[k] = file_chunk(st, err, errlen)))
		return -1;
	st->nchunks = k + 1;
	return 0;
}

uint8_t *
store_at(const struct store *st, uint32_t slot)
{
	return st->chunks[slot / st->chunk_images] +
	       (size_t)(slot % st->chunk_images) * st->image_bytes;
}

/* Where slot starts in the file; 0 for slots in memory. */
static uint64_t
file_off(const struct store *st, uint32_t slot)
{
	size_t k = slot / st->chunk_images;

	if (k < st->nram)
		return 0;
	return (uint64_t)(k - st->nram) * st->chunk_cap +
	       (uint64_t)(slot % st->chunk_images) * st->image_bytes;
}

void
store_written_below(struct store *st, uint32_t end)
{
	uint64_t to = file_off(st, end) & ~(uint64_t)(getpagesize() - 1);

	if (to > st->file_len)
		to = st->file_len;
	if (to <= st->released)
		return;
	/* start writing them back now: dirty pages count against a pod */
	(void)sync_file_range(st->fd, (off_t)st->released,
	                      (off_t)(to - st->released),
	                      SYNC_FILE_RANGE_WRITE);
	while (st->released < to) {
		size_t k = (size_t)(st->released / st->chunk_cap);
		uint64_t start = (uint64_t)k * st->chunk_cap;
		uint64_t upto =
		    to < start + st->chunk_cap ? to : start + st->chunk_cap;

		/* A shared mapping keeps the data in the file. */
		(void)madvise(st->chunks[st->nram + k] + (st->released - start),
		              (size_t)(upto - st->released), MADV_DONTNEED);
		st->released = upto;
	}
}

int
store_read(const struct store *st, uint32_t slot, uint8_t *out)
{
	size_t done = 0;
	off_t off;

	if (slot / st->chunk_images < st->nram) {
		memcpy(out, store_at(st, slot), st->image_bytes);
		return 0;
	}
	/* Not through the mapping: that would fault it all back in. */
	off = (off_t)file_off(st, slot);
	while (done < st->image_bytes) {
		ssize_t n = pread(st->fd, out + done, st->image_bytes - done,
		                  off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

uint64_t
store_file_bytes(const struct store *st)
{
	return st->file_len;
}

void
store_free(struct store *st)
{
	if (!st)
		return;
	for (size_t k = 0; k < st->nchunks; k++) {
		if (k < st->nram)
			free(st->chunks[k]);
		else
			munmap(st->chunks[k], st->chunk_cap);
	}
	if (st->fd >= 0)
		close(st->fd);
	free(st->chunks);
	free(st->dir);
	free(st);
}
