/* export_c.c — a model as one self-contained C99 file; see export.h. */
#include "export.h"

#include <stdio.h>

int
export_c(const model *m, const struct export_info *info, uint8_t **out,
         size_t *len, char *err, size_t errlen)
{
	snprintf(err, errlen, "C export is not built yet");
	return -1;
}
