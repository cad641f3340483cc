/*
 * cache.c — a small LRU of loaded models keyed by path and checked
 * against the file's identity (inode, size, mtime) on every lookup.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "metrics.h"
#include "svc.h"

struct infer_model {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	model *m;
	/* Requests holding it, plus one while it is in the table. */
	int refs;
	unsigned long long used; /* LRU clock */
	struct infer_model *next;
};

static struct {
	pthread_mutex_t mu;
	struct infer_model *head; /* the table: cached entries only */
	size_t n, cap;
	unsigned long long clock;
	struct infer_cache_stats st;
} C = {.mu = PTHREAD_MUTEX_INITIALIZER, .cap = 4};

void
infer_cache_init(size_t capacity)
{
	pthread_mutex_lock(&C.mu);
	C.cap = capacity ? capacity : 1;
	pthread_mutex_unlock(&C.mu);
}

static void
entry_free(struct infer_model *e)
{
	model_free(e->m);
	free(e->path);
	free(e);
}

void
infer_cache_shutdown(void)
{
	struct infer_model *e, *next;

	pthread_mutex_lock(&C.mu);
	for (e = C.head; e; e = next) {
		next = e->next;
		entry_free(e);
	}
	C.head = NULL;
	C.n = 0;
	pthread_mutex_unlock(&C.mu);
}

static int
same_file(const struct infer_model *e, const struct stat *sb)
{
	return e->dev == sb->st_dev && e->ino == sb->st_ino &&
	       e->size == sb->st_size &&
	       e->mtime.tv_sec == sb->st_mtim.tv_sec &&
	       e->mtime.tv_nsec == sb->st_mtim.tv_nsec;
}

/* Takes e out of the table; returns it when nobody holds it. Under mu. */
static struct infer_model *
unlink_entry(struct infer_model *e)
{
	struct infer_model **pp;

	for (pp = &C.head; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			e->next = NULL;
			C.n--;
			break;
		}
	}
	return --e->refs == 0 ? e : NULL;
}

/* The table's entry for path, or NULL. Under mu. */
static struct infer_model *
find(const char *path)
{
	for (struct infer_model *e = C.head; e; e = e->next)
		if (!strcmp(e->path, path))
			return e;
	return NULL;
}

/*
 * Reads and parses through one descriptor so the identity recorded is
 * that of the bytes parsed, even if the file is replaced meanwhile.
 */
static struct infer_model *
load(const char *path, int *status, char *err, size_t errlen)
{
	struct infer_model *e;
	struct stat sb;
	enum model_err why;
	char why_s[256];
	uint8_t *buf;
	size_t got = 0;
	model *m;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb)) {
		*status = errno == ENOENT || errno == ENOTDIR ? 404 : 422;
		snprintf(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(sb.st_mode) || (size_t)sb.st_size > MODEL_MAX_BYTES) {
		*status = S_ISREG(sb.st_mode) ? 422 : 404;
		snprintf(err, errlen, "%s",
		         S_ISREG(sb.st_mode) ? model_strerror(MODEL_ETOOBIG)
		                             : "not a regular file");
		close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	m = model_parse(buf, got, &why, why_s, sizeof why_s);
	free(buf);
	if (!m) {
		*status = 422;
		snprintf(err, errlen, "%s", why_s);
		return NULL;
	}
	e = xcalloc(1, sizeof *e);
	e->path = xstrdup(path);
	e->dev = sb.st_dev;
	e->ino = sb.st_ino;
	e->size = sb.st_size;
	e->mtime = sb.st_mtim;
	e->m = m;
	return e;
}

struct infer_model *
infer_cache_get(const char *path, int *status, char *err, size_t errlen)
{
	struct infer_model *e, *dead = NULL, *mine, *x;
	struct stat sb;

	if (stat(path, &sb)) {
		*status = errno == ENOENT || errno == ENOTDIR ? 404 : 422;
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	pthread_mutex_lock(&C.mu);
	if ((e = find(path)) && same_file(e, &sb)) {
		e->refs++;
		e->used = ++C.clock;
		C.st.hits++;
		pthread_mutex_unlock(&C.mu);
		metrics_counter_add("trainyard_infer_model_cache_hits_total",
		                    1);
		return e;
	}
	if (e)
		dead = unlink_entry(e); /* replaced on disk */
	C.st.misses++;
	pthread_mutex_unlock(&C.mu);
	metrics_counter_add("trainyard_infer_model_cache_misses_total", 1);
	if (dead)
		entry_free(dead);
	dead = NULL;

	/* Loading can take a while: other requests go on meanwhile. */
	if (!(mine = load(path, status, err, errlen))) {
		pthread_mutex_lock(&C.mu);
		C.st.loads_failed++;
		pthread_mutex_unlock(&C.mu);
		metrics_counter_add("trainyard_infer_model_load_failures_total",
		                    1);
		return NULL;
	}
	pthread_mutex_lock(&C.mu);
	if ((e = find(path))) {
		if (e->dev == mine->dev && e->ino == mine->ino &&
		    e->size == mine->size &&
		    e->mtime.tv_sec == mine->mtime.tv_sec &&
		    e->mtime.tv_nsec == mine->mtime.tv_nsec) {
			/* Another request loaded the same file first. */
			e->refs++;
			e->used = ++C.clock;
			pthread_mutex_unlock(&C.mu);
			entry_free(mine);
			return e;
		}
		if ((x = unlink_entry(e)))
			x->next = dead, dead = x;
	}
	mine->refs = 2;
	mine->used = ++C.clock;
	mine->next = C.head;
	C.head = mine;
	C.n++;
	while (C.n > C.cap) {
		struct infer_model *lru = NULL;

		for (e = C.head; e; e = e->next)
			if (e != mine && (!lru || e->used < lru->used))
				lru = e;
		if (!lru)
			break;
		C.st.evictions++;
		metrics_counter_add(
		    "trainyard_infer_model_cache_evictions_total", 1);
		if ((x = unlink_entry(lru)))
			x->next = dead, dead = x;
	}
	metrics_gauge_set("trainyard_infer_model_cache_entries", (double)C.n);
	pthread_mutex_unlock(&C.mu);
	/* Unlinked entries nobody holds: freed outside the lock. */
	for (; dead; dead = x) {
		x = dead->next;
		entry_free(dead);
	}
	return mine;
}

const model *
infer_model_get(const struct infer_model *im)
{
	return im->m;
}

void
infer_cache_release(struct infer_model *im)
{
	int last;

	if (!im)
		return;
	pthread_mutex_lock(&C.mu);
	last = --im->refs == 0;
	pthread_mutex_unlock(&C.mu);
	/* Zero only once out of the table: nobody can find it any more. */
	if (last)
		entry_free(im);
}

void
infer_cache_stats(struct infer_cache_stats *st)
{
	pthread_mutex_lock(&C.mu);
	*st = C.st;
	st->entries = C.n;
	pthread_mutex_unlock(&C.mu);
}
