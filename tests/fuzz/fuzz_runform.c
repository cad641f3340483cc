/*
 * fuzz_runform.c — libFuzzer harness for what the pipeline reads from
 * outside: the run form (urlencoded body) through its rules, the JSON
 * round trip and the job bodies; the same bytes as an inspection report
 * (defaults) and as epochs JSON (charts).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "runcharts.h"
#include "runform.h"
#include "jobs.h"
#include "util.h"
#include "wb.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct runform rf, back;
	struct runform_err errs[RUNFORM_ERRS_MAX];
	struct form f;
	struct wbuf b;
	char *s = xmalloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	runform_defaults(&rf, s);
	if (rf.width < 1 || rf.width > RUNFORM_MAX_SIDE || rf.epochs < 1)
		abort();
	memset(&f, 0, sizeof(f));
	if (form_parse(&f, (const char *)data, size) == FORM_OK &&
	    runform_parse(&f, &rf, errs, RUNFORM_ERRS_MAX) == 0) {
		/* whatever passes the rules must survive storage */
		char *js = runform_to_json(&rf);
		if (runform_from_json(js, &back) != 0)
			abort();
		char *p = jobs_prep_body(&back, 1, "uploads/1/x.zip");
		char *t = jobs_train_body(&back, 1);
		free(p);
		free(t);
		free(js);
	}
	form_free(&f);
	wb_init(&b, 1 << 20);
	if (runcharts_run(&b, s, 0) < 0)
		abort(); /* any epochs list fits in 1 MiB: at most 1000 */
	wb_free(&b);
	free(s);
	return 0;
}
