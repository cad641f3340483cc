/*
 * fuzz_fedwire.c — libFuzzer harness for what a train worker reads from
 * peers: the round request (fed_request_split, then the task and params
 * as fed_http.c reads them) and the weights body (fed_wire_decode). Each
 * weights body is tried as it is and with its checksum repaired, so the
 * fuzzer gets past BLAKE2b into the length, shape and stats checks.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../workers/train/fed.h"

static nn_net *net;

static void
try_weights(const uint8_t *data, size_t size)
{
	float *dst = malloc(sizeof(float) * nn_nparams(net));
	struct fed_stats st;
	if (fed_wire_decode(data, size, net, dst, &st) == FED_OK) {
		/* a body that decodes is exactly one net's weights */
		if (size !=
		    FED_WIRE_HEADER + nn_nparams(net) * 4 + FED_WIRE_SUMLEN)
			abort();
	}
	free(dst);
	if (size < FED_WIRE_HEADER + FED_WIRE_SUMLEN)
		return;
	uint8_t *c = malloc(size);
	memcpy(c, data, size);
	crypto_generichash(c + size - FED_WIRE_SUMLEN, FED_WIRE_SUMLEN, c,
	                   size - FED_WIRE_SUMLEN, NULL, 0);
	dst = malloc(sizeof(float) * nn_nparams(net));
	(void)fed_wire_decode(c, size, net, dst, &st);
	free(dst);
	free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!net) {
		struct nn_spec s[] = {{.kind = NN_DENSE, .out = 3},
		                      {.kind = NN_RELU},
		                      {.kind = NN_DENSE, .out = 2}};
		char err[64];
		net = nn_new(1, 1, 2, s, 3, NN_LOSS_XENT, err, sizeof(err));
		if (!net || sodium_init() < 0)
			abort();
	}
	cJSON *j;
	const uint8_t *w;
	size_t wl;
	if (fed_request_split(data, size, &j, &w, &wl) == FED_OK) {
		struct train_params p;
		char err[256];
		(void)train_params_parse(
		    cJSON_GetObjectItemCaseSensitive(j, "params"), &p, err,
		    sizeof(err));
		cJSON_Delete(j);
		try_weights(w, wl);
	}
	try_weights(data, size);
	return 0;
}
