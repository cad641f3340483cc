/*
 * fed_wire.c — the bytes replicas exchange (layout in fed.h) and the
 * weighted average. A body is refused before any weight is copied unless
 * its length, magic, version, checksum, parameter count and structure
 * fingerprint all agree with the net it is meant for.
 */
#include <string.h>

#include <sodium.h>

#include "fed.h"
#include "bytes.h"

static const char *const errs[FED_ERR__MAX] = {
    [FED_OK] = "ok",
    [FED_ETRUNC] = "truncated or overlong weights",
    [FED_EMAGIC] = "not a trainyard weights body",
    [FED_EVERSION] = "unsupported weights version",
    [FED_ECHECKSUM] = "weights checksum mismatch",
    [FED_ESHAPE] = "weights are for another model shape",
    [FED_EJSON] = "bad round request JSON",
};

const char *
fed_strerror(enum fed_err e)
{
	return (unsigned)e < FED_ERR__MAX ? errs[e] : "unknown error";
}

static uint64_t
fnv(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (v >> (8 * i)) & 0xff;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t
fed_fingerprint(const nn_net *net)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	h = fnv(h, (uint64_t)nn_in_size(net));
	h = fnv(h, nn_nparams(net));
	for (int i = 0; i < nn_nlayers(net); i++) {
		const struct nn_spec *s = nn_layer_spec(net, i);
		int a, b, c;
		nn_layer_shape(net, i, &a, &b, &c);
		h = fnv(h, (uint64_t)s->kind);
		h = fnv(h, (uint64_t)a << 42 | (uint64_t)b << 21 | (uint64_t)c);
	}
	return h;
}

/* Floats are sent as their bytes: every machine we run on is
 * little-endian IEEE 754, as the .tym file already assumes. */
void
fed_wire_encode(const nn_net *net, const struct fed_stats *st, uint8_t **out,
                size_t *outlen)
{
	size_t np = nn_nparams(net);
	size_t len = FED_WIRE_HEADER + np * sizeof(float) + FED_WIRE_SUMLEN;
	uint8_t *b = xcalloc(1, len);
	memcpy(b, FED_WIRE_MAGIC, 4);
	byte_put_le32(b + 4, 1);
	byte_put_le64(b + 8, np);
	byte_put_le64(b + 16, fed_fingerprint(net));
	if (st) {
		uint64_t lb;
		memcpy(&lb, &st->loss, 8);
		byte_put_le64(b + 24, st->samples);
		byte_put_le64(b + 32, lb);
		byte_put_le64(b + 40, st->correct);
	}
	memcpy(b + FED_WIRE_HEADER, nn_params_c(net), np * sizeof(float));
	size_t body = len - FED_WIRE_SUMLEN;
	crypto_generichash(b + body, FED_WIRE_SUMLEN, b, body, NULL, 0);
	*out = b;
	*outlen = len;
}

enum fed_err
fed_wire_decode(const void *buf, size_t len, const nn_net *net, float *dst,
                struct fed_stats *st)
{
	const uint8_t *b = buf;
	if (len < FED_WIRE_HEADER + FED_WIRE_SUMLEN)
		return len >= 4 && memcmp(b, FED_WIRE_MAGIC, 4) != 0
		           ? FED_EMAGIC
		           : FED_ETRUNC;
	if (memcmp(b, FED_WIRE_MAGIC, 4) != 0)
		return FED_EMAGIC;
	if (byte_get_le32(b + 4) != 1)
		return FED_EVERSION;
	uint64_t np = byte_get_le64(b + 8);
	size_t room = (len - FED_WIRE_HEADER - FED_WIRE_SUMLEN);
	if (np > room / sizeof(float) || np * sizeof(float) != room)
		return FED_ETRUNC;
	uint8_t sum[FED_WIRE_SUMLEN];
	size_t body = len - FED_WIRE_SUMLEN;
	crypto_generichash(sum, sizeof(sum), b, body, NULL, 0);
	if (sodium_memcmp(sum, b + body, FED_WIRE_SUMLEN) != 0)
		return FED_ECHECKSUM;
	if (np != nn_nparams(net) ||
	    byte_get_le64(b + 16) != fed_fingerprint(net))
		return FED_ESHAPE;
	memcpy(dst, b + FED_WIRE_HEADER, np * sizeof(float));
	if (st) {
		uint64_t lb = byte_get_le64(b + 32);
		st->samples = byte_get_le64(b + 24);
		memcpy(&st->loss, &lb, 8);
		st->correct = byte_get_le64(b + 40);
	}
	return FED_OK;
}

enum fed_err
fed_request_split(const void *buf, size_t len, cJSON **json,
                  const uint8_t **wbuf, size_t *wlen)
{
	const uint8_t *b = buf;
	*json = NULL;
	if (len < 8)
		return FED_ETRUNC;
	if (memcmp(b, FED_REQ_MAGIC, 4) != 0)
		return FED_EMAGIC;
	uint32_t jl = byte_get_le32(b + 4);
	if (jl > FED_MAX_JSON || jl > len - 8)
		return FED_ETRUNC;
	/* cJSON_ParseWithLength stops at the given length: no NUL needed */
	cJSON *j = cJSON_ParseWithLength((const char *)b + 8, jl);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return FED_EJSON;
	}
	*json = j;
	*wbuf = b + 8 + jl;
	*wlen = len - 8 - jl;
	return FED_OK;
}

void
fed_request_encode(const cJSON *json, const uint8_t *w, size_t wlen,
                   uint8_t **out, size_t *outlen)
{
	char *s = cJSON_PrintUnformatted(json);
	size_t jl = strlen(s);
	uint8_t *b = xmalloc(8 + jl + wlen);
	memcpy(b, FED_REQ_MAGIC, 4);
	byte_put_le32(b + 4, (uint32_t)jl);
	memcpy(b + 8, s, jl);
	memcpy(b + 8 + jl, w, wlen);
	free(s);
	*out = b;
	*outlen = 8 + jl + wlen;
}

int
fed_average(const float *const *w, const double *n, int k, size_t np,
            float *out)
{
	double total = 0;
	for (int i = 0; i < k; i++)
		if (n[i] > 0)
			total += n[i];
	if (!(total > 0))
		return -1;
	for (size_t j = 0; j < np; j++) {
		double s = 0;
		for (int i = 0; i < k; i++)
			if (n[i] > 0)
				s += (double)w[i][j] * n[i];
		out[j] = (float)(s / total);
	}
	return 0;
}
