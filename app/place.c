/* place.c — choosing a train replica; see place.h. */
#include "place.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "urls.h"
#include "wk.h"

#define PLACE_TIMEOUT_MS 3000L
#define PLACE_MAX_RESP 4096

static long
num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
}

static void
ask(struct place_replica *r)
{
	struct wk_resp resp;
	enum wk_err e = wk_request("train", r->url, "GET", "/capacity", NULL, 0,
	                           PLACE_TIMEOUT_MS, PLACE_MAX_RESP, &resp);
	cJSON *o = NULL;
	const char *own;

	snprintf(r->owner, sizeof(r->owner), "%s", r->url);
	if (e == WK_OK && resp.status == 200)
		o = cJSON_ParseWithLength(resp.body, resp.len);
	if (cJSON_IsObject(o) &&
	    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "stopping"))) {
		r->answered = 1;
		r->slots = num(o, "slots");
		r->free = num(o, "free");
		r->busy = num(o, "running") + num(o, "queued");
		own = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(o, "url"));
		if (own && !strncmp(own, "http", 4) &&
		    strlen(own) < sizeof(r->owner))
			snprintf(r->owner, sizeof(r->owner), "%s", own);
	} else {
		ty_log("place: %s: %s", r->url,
		       e != WK_OK ? resp.err : "no capacity answer");
	}
	cJSON_Delete(o);
	wk_resp_free(&resp);
}

int
place_survey(const char *spec, struct place_replica **out, int *n, char *err,
             size_t errlen)
{
	char **urls;
	int nu;

	*out = NULL;
	*n = 0;
	if (urls_parse("TRAINYARD_TRAIN_URL", spec, 8082, &urls, &nu, err,
	               errlen))
		return -1;
	if (nu == 0) {
		snprintf(err, errlen, "TRAINYARD_TRAIN_URL is empty");
		return -1;
	}
	*out = xcalloc((size_t)nu, sizeof(**out));
	for (int i = 0; i < nu; i++) {
		snprintf((*out)[i].url, sizeof((*out)[i].url), "%s", urls[i]);
		ask(&(*out)[i]);
	}
	*n = nu;
	urls_free(urls, nu);
	return 0;
}

/* Non-zero when a is a better home than b. */
static int
better(const struct place_replica *a, const struct place_replica *b)
{
	if (a->free != b->free)
		return a->free > b->free;
	return a->busy < b->busy;
}

int
place_choose(const char *spec, const char *exclude, char *owner,
             size_t ownerlen, char *err, size_t errlen)
{
	struct place_replica *v, *best = NULL;
	char **urls;
	int n;

	if (urls_parse("TRAINYARD_TRAIN_URL", spec, 8082, &urls, &n, err,
	               errlen))
		return -1;
	if (n == 1 && !exclude) {
		snprintf(owner, ownerlen, "%s", urls[0]);
		urls_free(urls, n);
		return 0;
	}
	urls_free(urls, n);
	if (place_survey(spec, &v, &n, err, errlen))
		return -1;
	for (int i = 0; i < n; i++)
		if (v[i].answered &&
		    (!exclude || (strcmp(v[i].owner, exclude) &&
		                  strcmp(v[i].url, exclude))) &&
		    (!best || better(&v[i], best)))
			best = &v[i];
	if (best)
		snprintf(owner, ownerlen, "%s", best->owner);
	else
		snprintf(err, errlen,
		         "no %strain replica answered (%d listed in "
		         "TRAINYARD_TRAIN_URL)",
		         exclude ? "other " : "", n);
	free(v);
	return best ? 0 : -1;
}

int
place_count(const char *spec)
{
	char **urls, err[200];
	int n;

	if (urls_parse("TRAINYARD_TRAIN_URL", spec, 8082, &urls, &n, err,
	               sizeof(err)))
		return 1;
	urls_free(urls, n);
	return n > 0 ? n : 1;
}
