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
