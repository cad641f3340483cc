/*
 * svc_int.h — pieces shared by the svc and job modules only.
 */
#ifndef TY_SVC_INT_H
#define TY_SVC_INT_H

#include <stddef.h>

#include "util.h"

/* A growable text buffer (aborts on OOM like xmalloc). */
struct svc_buf {
	char *p;
	size_t len, cap;
};
void svc_buf_printf(struct svc_buf *b, const char *fmt, ...) TY_PRINTF(2, 3);
void svc_buf_free(struct svc_buf *b);

void svc_metrics_render(struct svc_buf *o);

#endif
