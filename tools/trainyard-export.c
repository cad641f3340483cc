/*
 * trainyard-export — a .tym model file as ONNX or as one C file, the same
 * bytes the web app's download routes send (lib/export/export.h):
 *	trainyard-export onnx|c MODEL.tym OUT
 * OUT "-" writes to stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "model.h"
#include "util.h"

int
main(int argc, char **argv)
{
	char err[256];
	const struct export_format *f =
	    argc == 4 ? export_format_find(argv[1]) : NULL;
	if (!f) {
		fprintf(stderr, "usage: %s onnx|c MODEL.tym OUT|-\n", argv[0]);
		return 2;
	}
	model *m = model_load(argv[2], NULL, err, sizeof(err));
	if (!m) {
		fprintf(stderr, "%s: %s\n", argv[2], err);
		return 1;
	}
	struct export_info info = {.name = argv[2], .accuracy = -1};
	uint8_t *out;
	size_t len;
	int rc = f->fn(m, &info, &out, &len, err, sizeof(err));
	model_free(m);
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", argv[2], err);
		return 1;
	}
	FILE *fp = strcmp(argv[3], "-") == 0 ? stdout : fopen(argv[3], "wb");
	if (!fp || fwrite(out, 1, len, fp) != len ||
	    (fp != stdout ? fclose(fp) : fflush(fp)) != 0) {
		fprintf(stderr, "%s: cannot write\n", argv[3]);
		free(out);
		return 1;
	}
	free(out);
	return 0;
}
