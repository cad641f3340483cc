/*
 * wb.h — a growable byte buffer with a hard maximum (after curl's dynbuf).
 * Every buffer is created with the largest size it may reach; an append
 * past it fails instead of growing without bound.
 */
#ifndef TY_WB_H
#define TY_WB_H

#include <stddef.h>

#include "util.h"

struct wbuf {
	char *data; /* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	size_t max;
	int toobig; /* set once an append failed */
};

void wb_init(struct wbuf *b, size_t max);
void wb_free(struct wbuf *b);
/* Append; -1 (and toobig set) when the result would exceed max. */
int wb_add(struct wbuf *b, const void *p, size_t n) TY_WUR;
int wb_adds(struct wbuf *b, const char *s) TY_WUR;
int wb_printf(struct wbuf *b, const char *fmt, ...) TY_PRINTF(2, 3) TY_WUR;
/* Append s with & < > " ' turned into entities: the one HTML escaper. */
int wb_add_html(struct wbuf *b, const char *s, size_t n) TY_WUR;
/* Hands the bytes to the caller (who frees them); the buffer is empty after. */
char *wb_take(struct wbuf *b, size_t *len);
void wb_reset(struct wbuf *b);

#endif
