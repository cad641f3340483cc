/*
 * fuzz_predict.c — libFuzzer harness for the POST /predict request
 * parser: the JSON body through infer_req_parse, then every image's
 * base64 through infer_b64_decode (what the worker does before decoding
 * pixels, which the img fuzzers cover).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../../workers/infer/req.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct infer_limits lim;
	struct infer_req r;
	char err[512] = "";
	cJSON *j;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		ready = 1;
	}
	infer_limits_default(&lim);
	lim.max_images = 64;
	j = cJSON_ParseWithLength((const char *)data, size);
	if (!j)
		return 0;
	if (infer_req_parse(j, &lim, &r, err, sizeof err) == 0) {
		if (!r.model || !*r.model || r.model[0] == '/' ||
		    r.nimages == 0 || r.nimages > lim.max_images ||
		    r.top_k < 1 || r.top_k > INFER_MAX_TOP_K ||
		    r.thumbnail < 0 || r.thumbnail > lim.max_thumbnail)
			abort(); /* accepted something it must refuse */
		for (size_t i = 0; i < r.nimages; i++) {
			uint8_t *bin;
			size_t n;

			if (strlen(r.images[i].name) > INFER_MAX_NAME)
				abort();
			if (infer_b64_decode(r.images[i].b64,
			                     r.images[i].b64len, &bin, &n, err,
			                     sizeof err) == 0) {
				/* decoded size fits base64's 3/4 */
				if (n > r.images[i].b64len / 4 * 3 + 2)
					abort();
				free(bin);
			}
		}
		infer_req_free(&r);
	} else if (!err[0]) {
		abort(); /* a refusal must say why */
	}
	cJSON_Delete(j);
	return 0;
}
