/*
 * peer.c — finding the other train replicas and talking to them.
 *
 * TRAINYARD_TRAIN_PEERS is either a list of base URLs or one DNS name:
 * on Kubernetes the headless Service "train-peers" resolves to the
 * address of every ready train pod, so scaling the Deployment changes the
 * peers without touching configuration. The name is resolved again for
 * every job, so pods that came or went since are seen.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fed.h"
#include "urls.h"
#include "wk.h"

/* an answer is at most the weights of NN_MAX_PARAMS plus a header */
#define PEER_MAX_RESP (NN_MAX_PARAMS * sizeof(float) + 4096)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char instance[33];

static void
init(void)
{
	if (sodium_init() < 0)
		ty_log("peer: sodium_init failed");
	uint8_t r[16];
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(instance, sizeof(instance), r, sizeof(r));
}

const char *
peer_instance(void)
{
	pthread_once(&once, init);
	return instance;
}

void
peer_list_free(char **urls, int n)
{
	urls_free(urls, n);
}

int
peer_list(const char *spec, int default_port, char ***urls, int *n, char *err,
          size_t errlen)
{
	return urls_parse("TRAINYARD_TRAIN_PEERS", spec, default_port, urls, n,
	                  err, errlen);
}

/* ---- HTTP ---- */

/*
 * One request through the shared client; 0 with the answer in out, or -1
 * with err. Messages keep this module's form: "<url>: timed out".
 */
static int
call(const char *base, const char *path, const uint8_t *body, size_t len,
     double timeout_s, int (*cancelled)(void *), void *arg, size_t max,
     struct wk_resp *out, char *err, size_t errlen)
{
	struct wk_call k = {
	    .service = "train peer",
	    .base = base,
	    .method = body ? "POST" : "GET",
	    .path = path,
	    .body = body,
	    .body_len = len,
	    .ctype = "application/octet-stream",
	    .connect_ms = 3000,
	    .timeout_ms = (long)(timeout_s * 1000),
	    .max_resp = max,
	    .cancelled = cancelled,
	    .arg = arg,
	};
	enum wk_err e = wk_call(&k, out);

	if (e == WK_OK)
		return 0;
	snprintf(err, errlen, "%s%s: %s", base, path,
	         e == WK_CANCELLED ? "cancelled"
	         : e == WK_TIMEOUT ? "timed out"
	                           : out->err);
	return -1;
}

int
peer_hello(const char *url, double timeout_s, char *inst, char *err,
           size_t errlen)
{
	struct wk_resp s;
	int rc = call(url, "/fed/hello", NULL, 0, timeout_s, NULL, NULL,
	              1 << 16, &s, err, errlen);
	if (rc == 0 && s.status != 200) {
		snprintf(err, errlen, "%s: /fed/hello answered %ld", url,
		         s.status);
		rc = -1;
	}
	if (rc == 0) {
		cJSON *j = cJSON_ParseWithLength(s.body, s.len);
		const cJSON *i =
		    cJSON_GetObjectItemCaseSensitive(j, "instance");
		if (cJSON_IsString(i) && strlen(i->valuestring) == 32) {
			memcpy(inst, i->valuestring, 33);
		} else {
			snprintf(err, errlen, "%s: /fed/hello: no instance",
			         url);
			rc = -1;
		}
		cJSON_Delete(j);
	}
	wk_resp_free(&s);
	return rc;
}

int
peer_round(const char *url, const uint8_t *body, size_t len, double timeout_s,
           int (*cancelled)(void *), void *arg, uint8_t **resp, size_t *resplen,
           char *err, size_t errlen)
{
	struct wk_resp s;
	int rc = call(url, "/fed/round", body, len, timeout_s, cancelled, arg,
	              PEER_MAX_RESP, &s, err, errlen);
	if (rc == 0 && s.status != 200) {
		/* errors are JSON {"error": ...}: pass the reason on */
		cJSON *j = cJSON_ParseWithLength(s.body, s.len);
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
		snprintf(err, errlen, "%s answered %ld: %.200s", url, s.status,
		         cJSON_IsString(e) ? e->valuestring : "no reason");
		cJSON_Delete(j);
		rc = -1;
	}
	if (rc) {
		wk_resp_free(&s);
		return -1;
	}
	*resp = (uint8_t *)s.body;
	*resplen = s.len;
	return 0;
}
