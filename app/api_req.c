/* api_req.c — checking the API's JSON request bodies; see api.h. */
#include "api.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "predict.h"

/* An integer-valued JSON number within [lo, hi]. */
static int
int_in(const cJSON *v, double lo, double hi, long long *out)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
	    v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
	    v->valuedouble > hi)
		return 0;
	*out = (long long)v->valuedouble;
	return 1;
}

static int
bad(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -1;
}

/* An optional boolean member v: 0 (absent: *out = 0), or -1 not a bool. */
static int
bool_of(const cJSON *v, int *out)
{
	*out = cJSON_IsTrue(v);
	return !v || cJSON_IsBool(v) ? 0 : -1;
}

int
api_parse_predict(const char *body, size_t len, struct api_predict *out,
                  char *err, size_t errlen)
{
	cJSON *j, *v, *it;
	long long n;
	int i = 0;

	memset(out, 0, sizeof(*out));
	out->top_k = PREDICT_TOPK_DEFAULT;
	j = cJSON_ParseWithLength(body, len);
	if (!j)
		return bad(err, errlen, "the body is not valid JSON");
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return bad(err, errlen, "the body must be a JSON object");
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "model_id");
	if (cJSON_IsString(v) && !strcmp(v->valuestring, "latest")) {
		out->pick = API_MODEL_LATEST;
	} else if (cJSON_IsString(v) && !strcmp(v->valuestring, "best")) {
		out->pick = API_MODEL_BEST;
	} else if (!int_in(v, 1, 1e15, &out->model_id)) {
		cJSON_Delete(j);
		return bad(err, errlen,
		           "model_id must be a positive integer, "
		           "\"latest\" or \"best\"");
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "top_k"))) {
		if (!int_in(v, 1, PREDICT_TOPK_MAX, &n)) {
			cJSON_Delete(j);
			snprintf(err, errlen,
			         "top_k must be an integer from "
			         "1 to %d",
			         PREDICT_TOPK_MAX);
			return -1;
		}
		out->top_k = (int)n;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "thumbnail"))) {
		if (!int_in(v, 0, 256, &n)) {
			cJSON_Delete(j);
			return bad(err, errlen,
			           "thumbnail must be an integer "
			           "from 0 (none) to 256");
		}
		out->thumbnail = (int)n;
	}
	if (bool_of(cJSON_GetObjectItemCaseSensitive(j, "tta"), &out->tta) <
	        0 ||
	    bool_of(cJSON_GetObjectItemCaseSensitive(j, "store"), &out->store) <
	        0) {
		cJSON_Delete(j);
		return bad(err, errlen, "tta and store must be true or false");
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "images");
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1) {
		cJSON_Delete(j);
		return bad(err, errlen,
		           "images must be a non-empty list of "
		           "{\"name\", \"data\"}");
	}
	if (cJSON_GetArraySize(v) > API_IMAGES_MAX) {
		cJSON_Delete(j);
		snprintf(err, errlen,
		         "too many images: at most %d per "
		         "request",
		         API_IMAGES_MAX);
		return -1;
	}
	out->images = cJSON_CreateArray();
	cJSON_ArrayForEach(it, v)
	{
		const cJSON *name =
		    cJSON_GetObjectItemCaseSensitive(it, "name");
		const cJSON *data =
		    cJSON_GetObjectItemCaseSensitive(it, "data");
		cJSON *o;

		if (!cJSON_IsObject(it) || !cJSON_IsString(data) ||
		    (name && !cJSON_IsString(name))) {
			snprintf(
			    err, errlen,
			    "images[%d] must be an object "
			    "with a string \"data\" (base64) and an optional "
			    "string \"name\"",
			    i);
			goto fail;
		}
		if (name && strlen(name->valuestring) > API_NAME_MAX) {
			snprintf(err, errlen,
			         "images[%d].name is longer than "
			         "%d bytes",
			         i, API_NAME_MAX);
			goto fail;
		}
		o = cJSON_CreateObject();
		if (name) {
			cJSON_AddStringToObject(o, "name", name->valuestring);
		} else {
			char def[32];
			snprintf(def, sizeof(def), "image-%d", i + 1);
			cJSON_AddStringToObject(o, "name", def);
		}
		/* moved, not copied: the images are most of a 64 MB body */
		cJSON_AddItemToObject(
		    o, "data", cJSON_DetachItemViaPointer(it, (cJSON *)data));
		cJSON_AddItemToArray(out->images, o);
		i++;
	}
	out->nimages = i;
	cJSON_Delete(j);
	return 0;
fail:
	cJSON_Delete(j);
	api_predict_free(out);
	return -1;
}

void
api_predict_free(struct api_predict *p)
{
	cJSON_Delete(p->images);
	p->images = NULL;
}

/* One value as form text; -1 when it has no form spelling. */
static int
value_text(const cJSON *v, char *out, size_t len)
{
	const cJSON *e;
	size_t n = 0;

	if (cJSON_IsString(v))
		return snprintf(out, len, "%s", v->valuestring) < (int)len ? 0
		                                                           : -1;
	if (cJSON_IsBool(v)) {
		snprintf(out, len, "%s", cJSON_IsTrue(v) ? "1" : "0");
		return 0;
	}
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (!isfinite(d))
			return -1;
		if (d == floor(d) && fabs(d) < 1e15)
			snprintf(out, len, "%lld", (long long)d);
		else
			snprintf(out, len, "%.17g", d);
		return 0;
	}
	if (!cJSON_IsArray(v))
		return -1;
	out[0] = '\0';
	cJSON_ArrayForEach(e, v)
	{
		int k;
		if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
			return -1;
		k = snprintf(out + n, len - n, "%s%.17g", n ? "," : "",
		             e->valuedouble);
		if (k < 0 || (size_t)k >= len - n)
			return -1;
		n += (size_t)k;
	}
	return 0;
}

int
api_form_from_json(const char *body, size_t len, struct form *f, char *err,
                   size_t errlen)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	const cJSON *it;
	char val[1024];

	memset(f, 0, sizeof(*f));
	if (!j)
		return bad(err, errlen, "the body is not valid JSON");
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return bad(err, errlen, "the body must be a JSON object");
	}
	cJSON_ArrayForEach(it, j)
	{
		if (cJSON_IsNull(it))
			continue;
		if (f->n == FORM_FIELDS_MAX) {
			snprintf(err, errlen, "too many keys: at most %d",
			         FORM_FIELDS_MAX);
			goto fail;
		}
		if (value_text(it, val, sizeof(val)) < 0) {
			snprintf(err, errlen,
			         "%.64s must be a string, a number, true/false "
			         "or a list of numbers",
			         it->string);
			goto fail;
		}
		f->f[f->n].name = xstrdup(it->string);
		f->f[f->n].value = xstrdup(val);
		f->n++;
	}
	cJSON_Delete(j);
	return 0;
fail:
	cJSON_Delete(j);
	form_free(f);
	return -1;
}
