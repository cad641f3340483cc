/*
 * fuzz_webdata.c — libFuzzer harness for what the dataset-health,
 * predict and API side of the web app reads from outside: an
 * Authorization header, the API's JSON predict body and JSON parameter
 * bodies (api_form_from_json), a preprocess job
 * answer (under every status class) and the inspection report it stores.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "inspect.h"
#include "pages.h"
#include "predict.h"
#include "tmpl.h"
#include "tok.h"
#include "util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {200, 202, 400, 404, 500};
	char *s = xmalloc(size + 1), err[400];
	const char *tok;
	struct api_predict p;
	struct inspect_result r;
	struct td *d;
	struct form f;

	memcpy(s, data, size);
	s[size] = '\0';
	if (tok_parse_bearer(s, &tok) == TOK_OK &&
	    (tok < s || tok + TOK_LEN > s + size ||
	     strncmp(tok, TOK_PREFIX, 3) != 0))
		abort();
	if (api_parse_predict((const char *)data, size, &p, err, sizeof(err)) ==
	    0) {
		if (p.nimages < 1 || p.nimages > API_IMAGES_MAX ||
		    (p.pick == API_MODEL_ID && p.model_id < 1) || p.top_k < 1 ||
		    p.top_k > PREDICT_TOPK_MAX)
			abort();
		api_predict_free(&p);
	} else if (p.images || !err[0]) {
		abort();
	}
	if (api_form_from_json((const char *)data, size, &f, err,
	                       sizeof(err)) == 0) {
		for (size_t i = 0; i < f.n; i++)
			if (!f.f[i].name || !f.f[i].value)
				abort();
		form_free(&f);
	} else if (f.n || !err[0]) {
		abort();
	}
	for (size_t i = 0; i < TY_ARRAY_LEN(statuses); i++) {
		inspect_judge(statuses[i], (const char *)data, size, &r);
		if (r.next == INSPECT_READY && !r.report_json)
			abort();
		if (r.progress < 0 || r.progress > 1)
			abort();
		free(r.report_json);
	}
	d = td_new();
	page_dataset_health_report(d, s);
	td_free(d);
	free(s);
	return 0;
}
