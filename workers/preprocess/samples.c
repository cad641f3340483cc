/*
 * samples.c — what each class folder holds, at a glance: the inspection
 * keeps small thumbnails of the first SAMPLES_PER_CLASS images of every
 * class (at most SAMPLES_MAX in all, so a report with many classes stays
 * small) as base64 PNGs in the health report; the health page shows 8
 * per class and the rest on a "show more" page.
 */
#include <sodium.h>
#include <stb/stb_image_write.h>
#include <stdlib.h>
#include <string.h>

#include "samples.h"
#include "wb.h"

static void
png_out(void *ctx, void *data, int size)
{
	if (size > 0 && wb_add(ctx, data, (size_t)size) < 0)
		return; /* sticky: checked after */
}

char *
samples_thumb(const uint8_t *px, int w, int h, int c)
{
	int tc = c <= 2 ? 1 : 3, tw, th;
	uint8_t t[SAMPLES_SIDE * SAMPLES_SIDE * 3];
	char err[80], *b64 = NULL;
	struct wbuf out;

	/* the longer side SAMPLES_SIDE, the aspect kept */
	if (w >= h) {
		tw = w < SAMPLES_SIDE ? w : SAMPLES_SIDE;
		th = (int)((long)h * tw / w);
	} else {
		th = h < SAMPLES_SIDE ? h : SAMPLES_SIDE;
		tw = (int)((long)w * th / h);
	}
	tw = tw < 1 ? 1 : tw;
	th = th < 1 ? 1 : th;
	if (img_fit(px, w, h, c, tw, th, tc, t, err, sizeof err) != IMG_OK)
		return NULL;
	wb_init(&out, 64 * 1024);
	if (stbi_write_png_to_func(png_out, &out, tw, th, tc, t, tw * tc) &&
	    !out.toobig) {
		size_t n = sodium_base64_ENCODED_LEN(
		    out.len, sodium_base64_VARIANT_ORIGINAL);
		b64 = xmalloc(n);
		sodium_bin2base64(b64, n, (const unsigned char *)out.data,
		                  out.len, sodium_base64_VARIANT_ORIGINAL);
	}
	wb_free(&out);
	return b64;
}
