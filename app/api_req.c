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
	if (!int_in(cJSON_GetObjectItemCaseSensitive(j, "model_id"), 1, 1e15,
	            &out->model_id)) {
		cJSON_Delete(j);
		return bad(err, errlen, "model_id must be a positive integer");
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
