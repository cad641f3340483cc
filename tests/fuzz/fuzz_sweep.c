/*
 * fuzz_sweep.c — libFuzzer harness for sweeps (app/sweep.c): any
 * urlencoded run form through sweep_expand. Whatever it accepts is at
 * most max combinations, each a form with the same fields as the input,
 * where a listed field holds one non-empty item without a comma and
 * every other field is unchanged (a "sweep" field may rewrite and add
 * fields: then only the bounds); the label of each fits its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "sweep.h"
#include "util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct form f, *out = xcalloc(SWEEP_MAX, sizeof(*out));
	char spec[512], err[160], label[200];
	size_t k;

	memset(&f, 0, sizeof(f));
	if (form_parse(&f, (const char *)data, size) != FORM_OK) {
		form_free(&f);
		free(out);
		return 0;
	}
	k = sweep_expand(&f, out, SWEEP_MAX, spec, sizeof(spec), err,
	                 sizeof(err));
	if (k > SWEEP_MAX || (k == 0 && !err[0]))
		abort();
	/* a "sweep" field rewrites and adds fields: bounds only */
	for (size_t c = 0; c < k && form_get(&f, "sweep"); c++) {
		if (out[c].n < f.n)
			abort();
		sweep_label(&f, &out[c], label, sizeof(label));
	}
	for (size_t c = 0; c < k && !form_get(&f, "sweep"); c++) {
		if (out[c].n != f.n)
			abort();
		for (size_t i = 0; i < f.n; i++) {
			const char *v = out[c].f[i].value;
			if (strcmp(out[c].f[i].name, f.f[i].name))
				abort();
			if (sweep_is_field(f.f[i].name) &&
			    strchr(f.f[i].value, ',')) {
				if (!*v || strchr(v, ',') || strlen(v) >= 64)
					abort();
			} else if (strcmp(v, f.f[i].value)) {
				abort();
			}
		}
		sweep_label(&f, &out[c], label, sizeof(label));
		if (strlen(label) >= sizeof(label))
			abort();
	}
	for (size_t c = 0; c < SWEEP_MAX; c++)
		form_free(&out[c]);
	free(out);
	form_free(&f);
	return 0;
}
