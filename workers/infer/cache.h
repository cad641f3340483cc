/*
 * cache.h — loaded models, shared by concurrent requests.
 *
 * A model is loaded once and kept (at most `capacity` of them, least
 * recently used evicted). Every lookup stats the file: a different
 * inode, size or mtime means it was replaced on the volume, and the new
 * file is loaded. Entries are reference-counted, so a model that is
 * evicted or replaced while a request uses it is freed only when that
 * request releases it.
 *
 *	struct infer_model *im = infer_cache_get(path, &st, err, sizeof err);
 *	if (!im) reply(st, err);
 *	model_predict_u8(infer_model_get(im), ...);
 *	infer_cache_release(im);
 */
#ifndef TY_INFER_CACHE_H
#define TY_INFER_CACHE_H

#include <stddef.h>

#include "model.h"
#include "util.h"

struct infer_model;

/* Sets the capacity (>= 1); call before any get. */
void infer_cache_init(size_t capacity);
/* Frees every cached model; none may be in use. */
void infer_cache_shutdown(void);

/*
 * The model at path (a full path), loaded if needed. NULL when it cannot
 * be used: *status is 404 (no such file) or 422 (not a valid model; err
 * starts with model_strerror's words, e.g. the checksum).
 */
struct infer_model *infer_cache_get(const char *path, int *status, char *err,
                                    size_t errlen) TY_WUR;
const model *infer_model_get(const struct infer_model *im);
void infer_cache_release(struct infer_model *im);

/* Counters since start, for tests and /metrics. */
struct infer_cache_stats {
	unsigned long long hits, misses, loads_failed, evictions;
	size_t entries;
};
void infer_cache_stats(struct infer_cache_stats *st);

#endif
