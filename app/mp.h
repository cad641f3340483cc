/*
 * mp.h — a streaming multipart/form-data parser. Bytes go in as they come
 * off the socket, in pieces of any size; part contents come out through
 * callbacks in pieces, so an upload of any size needs only this parser's
 * fixed buffer (about 64 KiB).
 */
#ifndef TY_MP_H
#define TY_MP_H

#include <stddef.h>

#include "util.h"

#define MP_NAME_MAX 128
#define MP_FILENAME_MAX 1024
#define MP_BOUNDARY_MAX 70 /* RFC 2046 */
#define MP_PARTS_MAX 64

enum mp_err {
	MP_OK = 0,
	MP_BAD_BOUNDARY,    /* no/invalid boundary in the Content-Type */
	MP_BAD_FRAMING,     /* junk after a boundary line */
	MP_HEADERS_TOO_BIG, /* a part's headers exceed 16 KiB */
	MP_BAD_DISPOSITION, /* no Content-Disposition: form-data; name=".." */
	MP_TOO_MANY_PARTS,
	MP_TRUNCATED, /* the body ended before the closing boundary */
	MP_ABORTED,   /* a callback said stop */
};

struct mp_callbacks {
	/* filename is NULL for a plain field. Non-zero return aborts. */
	int (*part_begin)(void *ud, const char *name, const char *filename);
	int (*part_data)(void *ud, const char *p, size_t n);
	int (*part_end)(void *ud);
};

struct mp;

/* Copies the boundary parameter of a Content-Type header; 0 or -1. */
int mp_boundary(const char *content_type, char *out, size_t outlen) TY_WUR;

struct mp *mp_new(const char *boundary, const struct mp_callbacks *cb,
                  void *ud);
void mp_free(struct mp *m);
/* Feeds n more bytes. After an error every later call returns it again. */
enum mp_err mp_feed(struct mp *m, const char *p, size_t n) TY_WUR;
/* The body has ended: MP_OK only if the closing boundary was seen. */
enum mp_err mp_finish(struct mp *m) TY_WUR;
const char *mp_strerror(enum mp_err e);

#endif
