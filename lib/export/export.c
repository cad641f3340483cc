/* export.c — the table of export formats; see export.h. */
#include "export.h"

#include <string.h>

#include "util.h"

static const struct export_format formats[] = {
    {"onnx", "application/octet-stream", ".onnx", export_onnx},
    {"c", "text/x-c; charset=utf-8", ".c", export_c},
};

const struct export_format *
export_format_find(const char *name)
{
	for (size_t i = 0; name && i < TY_ARRAY_LEN(formats); i++)
		if (strcmp(formats[i].name, name) == 0)
			return &formats[i];
	return NULL;
}

static const char *const fit_texts[IMG_FIT__MAX] = {
    [IMG_FIT_STRETCH] = "stretching (each axis scaled on its own)",
    [IMG_FIT_LETTERBOX] = "letterbox (scaled by the smaller ratio so all "
                          "of it fits, centred, the rest gray 128)",
    [IMG_FIT_CROP] = "centre crop (scaled by the larger ratio, centred, "
                     "what sticks out cut off)",
};

const char *
export_fit_text(enum img_fit f)
{
	return (unsigned)f < IMG_FIT__MAX ? fit_texts[f] : fit_texts[0];
}
