/*
 * util.h — the small things every trainyard binary needs: allocation that
 * aborts on out-of-memory, atomic file writes, directories, time, and
 * configuration read from the environment or the command line.
 */
#ifndef TY_UTIL_H
#define TY_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define TY_WUR __attribute__((warn_unused_result))
#define TY_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define TY_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation: these never return NULL; out of memory aborts the process. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) TY_PRINTF(1, 2);

/* Logs one line to stderr with a UTC timestamp and the program's name. */
void ty_log(const char *fmt, ...) TY_PRINTF(1, 2);
void ty_set_progname(const char *name);

/*
 * Writes len bytes to path atomically: a temporary file in the same
 * directory, fsync, rename, fsync of the directory. A reader sees the old
 * file or the whole new one. Returns 0, or -1 with errno set.
 */
int util_write_atomic(const char *path, const void *buf, size_t len) TY_WUR;
/* j as compact JSON text (the caller frees); j is deleted. Aborts when
 * out of memory, the only way cJSON fails to print. */
struct cJSON;
char *util_json_text(struct cJSON *j);

/* mkdir -p; returns 0 or -1 with errno set. */
int util_mkdirs(const char *path, int mode) TY_WUR;

/* rm -rf of one directory tree (no symlinks followed); 0 or -1. */
int util_rmtree(const char *path) TY_WUR;

/*
 * Reads a whole file of at most max bytes into a NUL-terminated buffer
 * the caller frees. Returns NULL with errno set (EFBIG when larger).
 */
char *util_read_file(const char *path, size_t max, size_t *len) TY_WUR;

/* Seconds from a monotonic clock, and wall-clock seconds since the epoch. */
double util_now(void);
double util_wall(void);

/* Number of online CPUs (at least 1). */
int util_ncpu(void);

/* FNV-1a of a NUL-terminated string: for hash tables, not security. */
uint64_t util_hash_str(const char *s);

/*
 * Configuration: the value of flag "--name=value" / "--name value" on the
 * command line if given, else of the environment variable, else def.
 * Flag names are the variable's name without TRAINYARD_, lower case, with
 * '-' for '_': TRAINYARD_DATA_DIR <-> --data-dir.
 */
const char *cfg_str(int argc, char **argv, const char *var, const char *def);
long cfg_long(int argc, char **argv, const char *var, long def);

#endif
