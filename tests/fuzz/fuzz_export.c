/*
 * fuzz_export.c — libFuzzer harness for the exporters (lib/export): any
 * model that model_parse accepts (checksum repaired, as fuzz_model does,
 * so inputs reach the layers) must export to ONNX and to C without a
 * crash, or be refused with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "model.h"
#include "tym_fix.h"

static void
try_export(const uint8_t *data, size_t size)
{
	char err[256];
	model *m = model_parse(data, size, NULL, err, sizeof(err));
	if (!m)
		return;
	/* big nets make big files, slowly, and prove nothing more */
	if (nn_nparams(model_net_c(m)) <= (1 << 16)) {
		struct export_info info = {.name = "fuzz", .accuracy = 0.5};
		uint8_t *out;
		size_t len;
		if (export_onnx(m, &info, &out, &len, err, sizeof(err)) == 0)
			free(out);
		else if (!*err)
			abort(); /* refused without saying why */
		err[0] = 0;
		if (export_c(m, &info, &out, &len, err, sizeof(err)) == 0)
			free(out);
		else if (!*err)
			abort();
	}
	model_free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *c = tym_fix(data, size);
	if (!c)
		return 0;
	try_export(c, size);
	free(c);
	return 0;
}
