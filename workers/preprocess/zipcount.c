/*
 * zipcount.c — how many images a zip holds, from its central directory
 * alone; see zipcount.h. Every offset and length comes from the file and
 * is checked against what was read.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "bytes.h"
#include "zipcount.h"

#define EOCD_SIG 0x06054b50u
#define EOCD_LEN 22
#define LOC64_SIG 0x07064b50u
#define LOC64_LEN 20
#define EOCD64_SIG 0x06064b50u
#define EOCD64_LEN 56
#define CDIR_SIG 0x02014b50u
#define CDIR_LEN 46
/* The end record is within the last 22 + 65535 bytes (its comment). */
#define TAIL_MAX (EOCD_LEN + 65535)
/* A larger central directory (over 2M entries) is not looked at. */
#define CDIR_MAX (192u << 20)

int
zipcount_end(const uint8_t *tail, size_t len, struct zipcount_dir *d)
{
	memset(d, 0, sizeof *d);
	if (len < EOCD_LEN)
		return -1;
	for (size_t i = len - EOCD_LEN + 1; i-- > 0;) {
		const uint8_t *e = tail + i;

		if (byte_get_le32(e) != EOCD_SIG)
			continue;
		d->entries = byte_get_le16(e + 10);
		d->size = byte_get_le32(e + 12);
		d->off = byte_get_le32(e + 16);
		/* zip64: the locator just before names the real record */
		if (i >= LOC64_LEN &&
		    byte_get_le32(e - LOC64_LEN) == LOC64_SIG) {
			d->zip64 = 1;
			d->eocd64_off = byte_get_le64(e - LOC64_LEN + 8);
		}
		return 0;
	}
	return -1;
}

int
zipcount_end64(const uint8_t *rec, size_t len, struct zipcount_dir *d)
{
	if (len < EOCD64_LEN || byte_get_le32(rec) != EOCD64_SIG)
		return -1;
	d->entries = byte_get_le64(rec + 32);
	d->size = byte_get_le64(rec + 40);
	d->off = byte_get_le64(rec + 48);
	return 0;
}

uint64_t
zipcount_walk(const uint8_t *cd, size_t len, uint64_t *files)
{
	uint64_t images = 0;
	size_t i = 0;

	*files = 0;
	while (i + CDIR_LEN <= len && byte_get_le32(cd + i) == CDIR_SIG) {
		const uint8_t *e = cd + i;
		size_t nlen = byte_get_le16(e + 28);
		size_t rest =
		    nlen + byte_get_le16(e + 30) + byte_get_le16(e + 32);
		const char *name = (const char *)e + CDIR_LEN;
		const char *cls;
		size_t clslen;
		char buf[1024];

		if (i + CDIR_LEN + rest > len)
			break;
		i += CDIR_LEN + rest;
		if (nlen == 0 || name[nlen - 1] == '/')
			continue;
		(*files)++;
		if (nlen >= sizeof buf)
			continue;
		memcpy(buf, name, nlen);
		buf[nlen] = '\0';
		if (prep_path_classify(buf, &cls, &clslen) == PREP_PATH_IMAGE)
			images++;
	}
	return images;
}

/* n bytes at off, whole; 0 or -1. */
static int
read_at(int fd, void *buf, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pread(fd, (char *)buf + done, n - done,
		                  (off_t)(off + done));

		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

int
zipcount_images(const char *path, uint64_t *images)
{
	struct zipcount_dir d;
	uint8_t *buf = NULL, rec[EOCD64_LEN];
	uint64_t files;
	size_t n;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_size < EOCD_LEN)
		goto out;
	n = (uint64_t)st.st_size < TAIL_MAX ? (size_t)st.st_size : TAIL_MAX;
	buf = xmalloc(n);
	if (read_at(fd, buf, n, (uint64_t)st.st_size - n) ||
	    zipcount_end(buf, n, &d))
		goto out;
	if (d.zip64 && (d.eocd64_off > (uint64_t)st.st_size - EOCD64_LEN ||
	                read_at(fd, rec, sizeof rec, d.eocd64_off) ||
	                zipcount_end64(rec, sizeof rec, &d)))
		goto out;
	if (d.size > CDIR_MAX || d.off > (uint64_t)st.st_size ||
	    d.size > (uint64_t)st.st_size - d.off)
		goto out;
	free(buf);
	buf = xmalloc(d.size + 1);
	if (read_at(fd, buf, d.size, d.off))
		goto out;
	*images = zipcount_walk(buf, d.size, &files);
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}
