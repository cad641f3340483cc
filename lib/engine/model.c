/* model.c — the .tym file; see model.h. */
#include "model.h"
#include "bytes.h"
#include "nn_int.h"

#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct model {
	nn_net *net;
	nn_net *infer; /* net with BN folded in (NULL: net itself) */
	int chunk;     /* images per forward pass in model_predict_u8 */
	struct model_meta meta;
	cJSON *header;
	float *state;
	size_t nstate;
};

static const char *const errs[MODEL_ERR__MAX] = {
    [MODEL_OK] = "ok",
    [MODEL_EIO] = "cannot read or write the model file",
    [MODEL_ETRUNC] = "model file is truncated or has trailing bytes",
    [MODEL_EMAGIC] = "not a trainyard model file (bad magic)",
    [MODEL_EVERSION] = "unsupported model file version",
    [MODEL_ECHECKSUM] = "model file is corrupted (checksum mismatch)",
    [MODEL_EHEADER] = "model header is invalid",
    [MODEL_ETOOBIG] = "model file is too large",
};

const char *
model_strerror(enum model_err e)
{
	return (unsigned)e < MODEL_ERR__MAX ? errs[e] : "unknown error";
}

static enum model_err fail(enum model_err e, char *err, size_t errlen,
                           const char *fmt, ...) TY_PRINTF(4, 5);

static enum model_err
fail(enum model_err e, char *err, size_t errlen, const char *fmt, ...)
{
	char detail[200] = "";
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	if (err && errlen)
		snprintf(err, errlen, "%s%s%s", model_strerror(e),
		         *detail ? ": " : "", detail);
	return e;
}

/* float32 arrays are stored little-endian; this build is x86-64/arm64. */
_Static_assert(sizeof(float) == 4, "float must be 32 bits");

/*
 * The spec fields a layer's row stores (nn_op.fields), with the ranges a
 * file may hold; "in" (bit 0) is stored only when not the default.
 */
static const struct field {
	unsigned bit;
	const char *name;
	size_t off;
	double lo, hi;
	int real; /* a float in [lo, hi); else an int in [lo, hi] */
} fields[] = {
    {NN_F_OUT, "out", offsetof(struct nn_spec, out), 1, 65536, 0},
    {NN_F_K, "k", offsetof(struct nn_spec, k), 1, 15, 0},
    {NN_F_STRIDE, "stride", offsetof(struct nn_spec, stride), 1, 8, 0},
    {NN_F_PAD, "pad", offsetof(struct nn_spec, pad), 0, 14, 0},
    {NN_F_P, "p", offsetof(struct nn_spec, p), 0, 1, 1},
    {NN_F_SKIP, "skip", offsetof(struct nn_spec, skip), 1, 256, 0},
    {NN_F_SEQ, "seq", offsetof(struct nn_spec, seq), 0, 1, 0},
    {0, "in", offsetof(struct nn_spec, in), 0, 257, 0},
};

static double
field_get(const struct nn_spec *s, const struct field *f)
{
	const char *p = (const char *)s + f->off;
	if (f->real)
		return *(const float *)(const void *)p;
	return *(const int *)(const void *)p;
}

/* 0, or -1 when the member is absent (and required) or out of range. */
static int
field_parse(const cJSON *l, struct nn_spec *s, const struct field *f)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(l, f->name);
	char *p = (char *)s + f->off;
	if (!v && !f->bit)
		return 0; /* "in" is optional */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= f->lo) ||
	    !(f->real ? v->valuedouble < f->hi : v->valuedouble <= f->hi))
		return -1;
	if (f->real) {
		*(float *)(void *)p = (float)v->valuedouble;
		return 0;
	}
	if (v->valuedouble != floor(v->valuedouble))
		return -1;
	*(int *)(void *)p = (int)v->valuedouble;
	return 0;
}

static cJSON *
header_json(const nn_net *net, const struct model_meta *mm, const cJSON *extra)
{
	cJSON *h = cJSON_CreateObject();
	cJSON_AddStringToObject(h, "format", "trainyard model");
	cJSON *in = cJSON_AddObjectToObject(h, "input");
	cJSON_AddNumberToObject(in, "width", mm->width);
	cJSON_AddNumberToObject(in, "height", mm->height);
	cJSON_AddNumberToObject(in, "channels", mm->channels);
	/* stretch is what a file without it means: those stay as they were */
	if (mm->fit != IMG_FIT_STRETCH && (unsigned)mm->fit < IMG_FIT__MAX)
		cJSON_AddStringToObject(in, "fit", img_fit_names[mm->fit]);
	cJSON *mean = cJSON_AddArrayToObject(h, "mean");
	cJSON *sd = cJSON_AddArrayToObject(h, "std");
	for (int i = 0; i < mm->channels; i++) {
		cJSON_AddItemToArray(mean, cJSON_CreateNumber(mm->mean[i]));
		cJSON_AddItemToArray(sd, cJSON_CreateNumber(mm->std[i]));
	}
	cJSON *cl = cJSON_AddArrayToObject(h, "classes");
	for (int i = 0; i < mm->nclasses; i++)
		cJSON_AddItemToArray(cl, cJSON_CreateString(mm->classes[i]));
	cJSON_AddStringToObject(
	    h, "loss", nn_loss_kind(net) == NN_LOSS_XENT ? "xent" : "mse");
	cJSON *ls = cJSON_AddArrayToObject(h, "layers");
	for (int i = 0; i < nn_nlayers(net); i++) {
		const struct nn_spec *s = nn_layer_spec(net, i);
		cJSON *l = cJSON_CreateObject();
		cJSON_AddStringToObject(l, "type", nn_kind_name(s->kind));
		for (size_t f = 0; f < TY_ARRAY_LEN(fields); f++)
			if (fields[f].bit & nn_ops[s->kind]->fields ||
			    (!fields[f].bit && field_get(s, &fields[f])))
				cJSON_AddNumberToObject(
				    l, fields[f].name,
				    field_get(s, &fields[f]));
		int oh, ow, oc;
		nn_layer_shape(net, i, &oh, &ow, &oc);
		int shp[3] = {oh, ow, oc};
		cJSON_AddItemToObject(l, "shape", cJSON_CreateIntArray(shp, 3));
		cJSON_AddItemToArray(ls, l);
	}
	cJSON_AddNumberToObject(h, "nparams", (double)nn_nparams(net));
	if (extra)
		for (const cJSON *e = extra->child; e; e = e->next)
			if (e->string && !cJSON_HasObjectItem(h, e->string))
				cJSON_AddItemToObject(h, e->string,
				                      cJSON_Duplicate(e, 1));
	return h;
}

enum model_err
model_serialize(const nn_net *net, const struct model_meta *mm,
                const cJSON *extra, const float *state, size_t nstate,
                uint8_t **out, size_t *outlen)
{
	cJSON *h = header_json(net, mm, extra);
	char *js = cJSON_PrintUnformatted(h);
	cJSON_Delete(h);
	if (!js)
		return MODEL_EHEADER;
	size_t hl = strlen(js), np = nn_nparams(net);
	size_t len = MODEL_PREFIX + hl + 4 * (np + nstate) + MODEL_SUMLEN;
	uint8_t *b = xmalloc(len), *p = b;
	memcpy(p, MODEL_MAGIC, 4);
	byte_put_le32(p + 4, MODEL_VERSION);
	byte_put_le32(p + 8, 0);
	byte_put_le32(p + 12, (uint32_t)hl);
	byte_put_le64(p + 16, np);
	byte_put_le64(p + 24, nstate);
	p += MODEL_PREFIX;
	memcpy(p, js, hl);
	p += hl;
	free(js);
	memcpy(p, nn_params_c(net), 4 * np);
	p += 4 * np;
	if (nstate)
		memcpy(p, state, 4 * nstate);
	p += 4 * nstate;
	if (sodium_init() < 0)
		abort();
	crypto_generichash(p, MODEL_SUMLEN, b, len - MODEL_SUMLEN, NULL, 0);
	*out = b;
	*outlen = len;
	return MODEL_OK;
}

enum model_err
model_save(const char *path, const nn_net *net, const struct model_meta *mm,
           const cJSON *extra, const float *state, size_t nstate, char *err,
           size_t errlen)
{
	uint8_t *b;
	size_t len;
	enum model_err e =
	    model_serialize(net, mm, extra, state, nstate, &b, &len);
	if (e != MODEL_OK)
		return fail(e, err, errlen, NULL);
	int rc = util_write_atomic(path, b, len);
	int saved = errno;
	free(b);
	if (rc != 0)
		return fail(MODEL_EIO, err, errlen, "%s: %s", path,
		            strerror(saved));
	return MODEL_OK;
}

/* Integer member in [lo, hi], or -1 (never in range here). */
static long
int_in(const cJSON *o, const char *name, long lo, long hi)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
	    v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
	    v->valuedouble > hi)
		return -1;
	return (long)v->valuedouble;
}

static enum model_err
parse_layers(const cJSON *ls, struct nn_spec *specs, int *n, char *err,
             size_t errlen)
{
	int i = 0;
	if (!cJSON_IsArray(ls) || cJSON_GetArraySize(ls) < 1 ||
	    cJSON_GetArraySize(ls) > 256)
		return fail(MODEL_EHEADER, err, errlen, "layers");
	for (const cJSON *l = ls->child; l; l = l->next, i++) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(l, "type");
		int k =
		    cJSON_IsString(t) ? nn_kind_from_name(t->valuestring) : -1;
		if (k < 0)
			return fail(MODEL_EHEADER, err, errlen,
			            "layer %d: unknown type", i);
		struct nn_spec *s = &specs[i];
		memset(s, 0, sizeof(*s));
		s->kind = (enum nn_kind)k;
		for (size_t f = 0; f < TY_ARRAY_LEN(fields); f++)
			if ((!fields[f].bit ||
			     fields[f].bit & nn_ops[k]->fields) &&
			    field_parse(l, s, &fields[f]))
				return fail(MODEL_EHEADER, err, errlen,
				            "layer %d: %s", i, fields[f].name);
	}
	*n = i;
	return MODEL_OK;
}

static enum model_err
parse_meta(const cJSON *h, struct model_meta *mm, char *err, size_t errlen)
{
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(h, "input");
	long w = int_in(in, "width", 1, 8192),
	     hh = int_in(in, "height", 1, 8192),
	     c = int_in(in, "channels", 1, MODEL_MAX_CHANNELS);
	if (w < 0 || hh < 0 || c < 0)
		return fail(MODEL_EHEADER, err, errlen, "input size");
	mm->width = (int)w, mm->height = (int)hh, mm->channels = (int)c;
	const cJSON *fit = cJSON_GetObjectItemCaseSensitive(in, "fit");
	int f =
	    fit ? img_fit_parse(cJSON_GetStringValue(fit)) : IMG_FIT_STRETCH;
	if (f < 0)
		return fail(MODEL_EHEADER, err, errlen, "input fit");
	mm->fit = (enum img_fit)f;
	const cJSON *mean = cJSON_GetObjectItemCaseSensitive(h, "mean");
	const cJSON *sd = cJSON_GetObjectItemCaseSensitive(h, "std");
	if (!cJSON_IsArray(mean) || !cJSON_IsArray(sd) ||
	    cJSON_GetArraySize(mean) != c || cJSON_GetArraySize(sd) != c)
		return fail(MODEL_EHEADER, err, errlen, "mean/std");
	for (int i = 0; i < c; i++) {
		const cJSON *a = cJSON_GetArrayItem(mean, i),
		            *b = cJSON_GetArrayItem(sd, i);
		if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b) ||
		    !isfinite(a->valuedouble) || !(b->valuedouble > 1e-6) ||
		    !(b->valuedouble < 1e6) || fabs(a->valuedouble) > 1e6)
			return fail(MODEL_EHEADER, err, errlen, "mean/std");
		mm->mean[i] = (float)a->valuedouble;
		mm->std[i] = (float)b->valuedouble;
	}
	const cJSON *cl = cJSON_GetObjectItemCaseSensitive(h, "classes");
	int nc = cJSON_IsArray(cl) ? cJSON_GetArraySize(cl) : 0;
	if (nc < 1 || nc > 65535)
		return fail(MODEL_EHEADER, err, errlen, "classes");
	mm->classes = xcalloc((size_t)nc, sizeof(char *));
	mm->nclasses = nc;
	int i = 0;
	for (const cJSON *e = cl->child; e; e = e->next, i++) {
		if (!cJSON_IsString(e))
			return fail(MODEL_EHEADER, err, errlen, "class %d", i);
		mm->classes[i] = xstrdup(e->valuestring);
	}
	return MODEL_OK;
}

/*
 * Images per forward pass: as many as keep one pass's activations and
 * im2col buffers within about 256 KB (the L2 cache), 1..64. A CNN's take
 * a few hundred KB an image: one at a time ran 18% more images per
 * CPU-second than 16 (bench/bench_onnx.sh, conv16-conv32-fc10); an MLP's
 * a few KB: 64 at a time ran 25% more than 16 (one GEMM reads the
 * weights for more rows).
 */
static int
predict_chunk(const nn_net *net)
{
	nn_ctx *c = nn_ctx_new(net, 1, 0);
	size_t per = nn_ctx_bytes(c), k = ((size_t)256 << 10) / (per ? per : 1);
	nn_ctx_free(c);
	return k < 1 ? 1 : k > 64 ? 64 : (int)k;
}

model *
model_parse(const void *buf, size_t len, enum model_err *why, char *err,
            size_t errlen)
{
	const uint8_t *b = buf;
	enum model_err e = MODEL_OK;
	model *m = NULL;
	struct nn_spec *specs = NULL;
#define FAIL(code, ...)                                                        \
	do {                                                                   \
		e = fail((code), err, errlen, __VA_ARGS__);                    \
		goto out;                                                      \
	} while (0)
	if (len > MODEL_MAX_BYTES)
		FAIL(MODEL_ETOOBIG, "%zu bytes", len);
	if (len < 4 || memcmp(b, MODEL_MAGIC, 4) != 0)
		FAIL(len < 4 ? MODEL_ETRUNC : MODEL_EMAGIC, NULL);
	if (len < MODEL_PREFIX + MODEL_SUMLEN)
		FAIL(MODEL_ETRUNC, "%zu bytes", len);
	uint32_t ver = byte_get_le32(b + 4);
	if (ver != MODEL_VERSION)
		FAIL(MODEL_EVERSION, "version %u, this build reads %d", ver,
		     MODEL_VERSION);
	uint64_t hl = byte_get_le32(b + 12), np = byte_get_le64(b + 16),
	         ns = byte_get_le64(b + 24);
	if (hl > MODEL_MAX_HEADER || np > MODEL_MAX_BYTES / 4 ||
	    ns > MODEL_MAX_BYTES / 4)
		FAIL(MODEL_ETRUNC, "sizes in the prefix are impossible");
	uint64_t want = MODEL_PREFIX + hl + 4 * (np + ns) + MODEL_SUMLEN;
	if (want != len)
		FAIL(MODEL_ETRUNC, "%zu bytes, header says %llu", len,
		     (unsigned long long)want);
	uint8_t sum[MODEL_SUMLEN];
	if (sodium_init() < 0)
		abort();
	crypto_generichash(sum, sizeof(sum), b, len - MODEL_SUMLEN, NULL, 0);
	if (sodium_memcmp(sum, b + len - MODEL_SUMLEN, MODEL_SUMLEN) != 0)
		FAIL(MODEL_ECHECKSUM, NULL);

	m = xcalloc(1, sizeof(*m));
	m->header =
	    cJSON_ParseWithLength((const char *)b + MODEL_PREFIX, (size_t)hl);
	if (!cJSON_IsObject(m->header))
		FAIL(MODEL_EHEADER, "not a JSON object");
	if ((e = parse_meta(m->header, &m->meta, err, errlen)) != MODEL_OK)
		goto out;
	const cJSON *lossj =
	    cJSON_GetObjectItemCaseSensitive(m->header, "loss");
	enum nn_loss loss;
	if (cJSON_IsString(lossj) && strcmp(lossj->valuestring, "xent") == 0)
		loss = NN_LOSS_XENT;
	else if (cJSON_IsString(lossj) &&
	         strcmp(lossj->valuestring, "mse") == 0)
		loss = NN_LOSS_MSE;
	else
		FAIL(MODEL_EHEADER, "loss");
	specs = xcalloc(256, sizeof(*specs));
	int nl = 0;
	if ((e = parse_layers(
	         cJSON_GetObjectItemCaseSensitive(m->header, "layers"), specs,
	         &nl, err, errlen)) != MODEL_OK)
		goto out;
	char nerr[160];
	m->net =
	    nn_new_limited(m->meta.height, m->meta.width, m->meta.channels,
	                   specs, nl, loss, (size_t)np, nerr, sizeof(nerr));
	if (!m->net)
		FAIL(MODEL_EHEADER, "%s", nerr);
	if (nn_nparams(m->net) != np)
		FAIL(MODEL_EHEADER, "layers need %zu weights, file has %llu",
		     nn_nparams(m->net), (unsigned long long)np);
	if (loss == NN_LOSS_XENT && nn_out_size(m->net) != m->meta.nclasses)
		FAIL(MODEL_EHEADER, "%d outputs for %d classes",
		     nn_out_size(m->net), m->meta.nclasses);
	const uint8_t *p = b + MODEL_PREFIX + hl;
	memcpy(nn_params(m->net), p, 4 * np);
	for (size_t i = 0; i < np; i++)
		if (!isfinite(nn_params(m->net)[i]))
			FAIL(MODEL_EHEADER, "weight %zu is not finite", i);
	for (int i = 0; i < nl; i++)
		if (specs[i].kind == NN_BN) {
			char ferr[160];
			m->infer = nn_fold_bn(m->net, ferr, sizeof(ferr));
			if (!m->infer)
				FAIL(MODEL_EHEADER, "%s", ferr);
			break;
		}
	m->chunk = predict_chunk(m->infer ? m->infer : m->net);
	m->nstate = ns;
	m->state = xmalloc(ns ? 4 * ns : 1);
	memcpy(m->state, p + 4 * np, 4 * ns);
#undef FAIL
out:
	free(specs);
	if (why)
		*why = e;
	if (e != MODEL_OK) {
		model_free(m);
		return NULL;
	}
	return m;
}

model *
model_load(const char *path, enum model_err *why, char *err, size_t errlen)
{
	size_t len;
	char *b = util_read_file(path, MODEL_MAX_BYTES, &len);
	if (!b) {
		enum model_err e = errno == EFBIG ? MODEL_ETOOBIG : MODEL_EIO;
		if (why)
			*why = e;
		fail(e, err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	model *m = model_parse(b, len, why, err, errlen);
	free(b);
	return m;
}

void
model_meta_free(struct model_meta *mm)
{
	if (mm->classes)
		for (int i = 0; i < mm->nclasses; i++)
			free(mm->classes[i]);
	free(mm->classes);
	mm->classes = NULL;
	mm->nclasses = 0;
}

void
model_free(model *m)
{
	if (!m)
		return;
	nn_free(m->net);
	nn_free(m->infer);
	model_meta_free(&m->meta);
	cJSON_Delete(m->header);
	free(m->state);
	free(m);
}

const struct model_meta *
model_meta(const model *m)
{
	return &m->meta;
}

nn_net *
model_net(model *m)
{
	return m->net;
}

const nn_net *
model_net_c(const model *m)
{
	return m->net;
}

const cJSON *
model_header(const model *m)
{
	return m->header;
}

const float *
model_state(const model *m, size_t *n)
{
	*n = m->nstate;
	return m->state;
}

void
model_normalize_u8(const struct model_meta *mm, const uint8_t *px,
                   size_t nimages, float *out)
{
	int c = mm->channels;
	float sc[MODEL_MAX_CHANNELS], off[MODEL_MAX_CHANNELS];
	/* (p/255 - mean)/std == p*sc + off */
	for (int i = 0; i < c; i++) {
		sc[i] = 1.0f / (255.0f * mm->std[i]);
		off[i] = -mm->mean[i] / mm->std[i];
	}
	size_t n = nimages * (size_t)mm->width * mm->height;
	if (c == 1) {
		for (size_t j = 0; j < n; j++)
			out[j] = px[j] * sc[0] + off[0];
		return;
	}
	for (size_t j = 0; j < n; j++)
		for (int k = 0; k < c; k++, px++, out++)
			*out = *px * sc[k] + off[k];
}

int
model_predict_u8(const model *m, const uint8_t *px, int n, float *probs)
{
	const int chunk = m->chunk;
	const struct model_meta *mm = &m->meta;
	size_t isz = (size_t)mm->width * mm->height * mm->channels;
	const nn_net *net = m->infer ? m->infer : m->net;
	int k = nn_out_size(net), b = n < chunk ? n : chunk;
	if (n <= 0)
		return 0;
	nn_ctx *c = nn_ctx_new(net, b, 0);
	float *x = xmalloc((size_t)b * isz * sizeof(float));
	for (int i = 0; i < n; i += b) {
		int cnt = n - i < b ? n - i : b;
		model_normalize_u8(mm, px + (size_t)i * isz, (size_t)cnt, x);
		const float *y = nn_predict(c, x, cnt);
		memcpy(probs + (size_t)i * k, y,
		       (size_t)cnt * k * sizeof(float));
	}
	free(x);
	nn_ctx_free(c);
	return 0;
}
