/*
 * samples.h — per-class sample thumbnails for the health report
 * (samples.c).
 */
#ifndef TY_SAMPLES_H
#define TY_SAMPLES_H

#include <stdint.h>

#include "img.h"

#define SAMPLES_PER_CLASS 24 /* the page shows 8, "show more" the rest */
#define SAMPLES_MAX 480      /* in one report */
#define SAMPLES_SIDE 48      /* pixels, the longer side */

/* A base64 PNG of w x h x c pixels, longer side SAMPLES_SIDE at most,
 * gray or RGB; NULL when it cannot be made. The caller frees. */
char *samples_thumb(const uint8_t *px, int w, int h, int c);

#endif
