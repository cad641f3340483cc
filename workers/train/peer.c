/*
 * peer.c — finding the other train replicas and talking to them.
 *
 * TRAINYARD_TRAIN_PEERS is either a list of base URLs or one DNS name:
 * on Kubernetes the headless Service "train-peers" resolves to the
 * address of every ready train pod, so scaling the Deployment changes the
 * peers without touching configuration. The name is resolved again for
 * every job, so pods that came or went since are seen.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "fed.h"
#include "wk.h"

#define PEER_MAX 256
#define PEER_MAX_URL 256
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
	for (int i = 0; i < n; i++)
		free(urls[i]);
	free(urls);
}

/* A base URL we are willing to call: http(s)://, printable, no spaces. */
static int
url_ok(const char *u)
{
	if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
		return 0;
	size_t n = strlen(u);
	if (n >= PEER_MAX_URL || n < 9)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)u[i]) || u[i] == '?' || u[i] == '#')
			return 0;
	return 1;
}

static int
add(char ***urls, int *n, const char *u, char *err, size_t errlen)
{
	for (int i = 0; i < *n; i++)
		if (strcmp((*urls)[i], u) == 0)
			return 0;
	if (*n >= PEER_MAX) {
		snprintf(err, errlen, "more than %d train peers", PEER_MAX);
		return -1;
	}
	*urls = xrealloc(*urls, sizeof(char *) * (size_t)(*n + 1));
	char *s = xstrdup(u);
	size_t l = strlen(s);
	while (l > 0 && s[l - 1] == '/')
		s[--l] = '\0';
	(*urls)[(*n)++] = s;
	return 0;
}

static int
from_list(const char *spec, char ***urls, int *n, char *err, size_t errlen)
{
	char *copy = xstrdup(spec), *save = NULL;
	int rc = 0;
	for (char *t = strtok_r(copy, ",", &save); t && !rc;
	     t = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*t))
			t++;
		char *e = t + strlen(t);
		while (e > t && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (!*t)
			continue;
		if (!url_ok(t)) {
			snprintf(err, errlen,
			         "TRAINYARD_TRAIN_PEERS: \"%.80s\" "
			         "is not an http:// URL",
			         t);
			rc = -1;
			break;
		}
		rc = add(urls, n, t, err, errlen);
	}
	free(copy);
	return rc;
}

static int
from_dns(const char *spec, int port, char ***urls, int *n, char *err,
         size_t errlen)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	size_t hl = colon ? (size_t)(colon - spec) : strlen(spec);
	if (hl == 0 || hl >= sizeof(host)) {
		snprintf(err, errlen, "TRAINYARD_TRAIN_PEERS: bad host name");
		return -1;
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	for (size_t i = 0; i < hl; i++)
		if (!isalnum((unsigned char)host[i]) && host[i] != '-' &&
		    host[i] != '.' && host[i] != '_') {
			snprintf(err, errlen,
			         "TRAINYARD_TRAIN_PEERS: bad host "
			         "name \"%.80s\"",
			         host);
			return -1;
		}
	if (colon) {
		char *end;
		long v = strtol(colon + 1, &end, 10);
		if (*end || v < 1 || v > 65535) {
			snprintf(err, errlen,
			         "TRAINYARD_TRAIN_PEERS: bad port");
			return -1;
		}
		port = (int)v;
	}
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	int g = getaddrinfo(host, NULL, &hints, &res);
	if (g != 0) {
		snprintf(err, errlen,
		         "TRAINYARD_TRAIN_PEERS: cannot resolve "
		         "%s: %s",
		         host, gai_strerror(g));
		return -1;
	}
	int rc = 0;
	for (struct addrinfo *a = res; a && !rc; a = a->ai_next) {
		char ip[INET6_ADDRSTRLEN], u[PEER_MAX_URL];
		if (a->ai_family == AF_INET) {
			inet_ntop(AF_INET,
			          &((struct sockaddr_in *)a->ai_addr)->sin_addr,
			          ip, sizeof(ip));
			snprintf(u, sizeof(u), "http://%s:%d", ip, port);
		} else if (a->ai_family == AF_INET6) {
			inet_ntop(
			    AF_INET6,
			    &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr, ip,
			    sizeof(ip));
			snprintf(u, sizeof(u), "http://[%s]:%d", ip, port);
		} else {
			continue;
		}
		rc = add(urls, n, u, err, errlen);
	}
	freeaddrinfo(res);
	return rc;
}

int
peer_list(const char *spec, int default_port, char ***urls, int *n, char *err,
          size_t errlen)
{
	*urls = NULL;
	*n = 0;
	int rc = 0;
	if (!spec || !*spec)
		return 0;
	if (strstr(spec, "://") || strchr(spec, ','))
		rc = from_list(spec, urls, n, err, errlen);
	else
		rc = from_dns(spec, default_port, urls, n, err, errlen);
	if (rc) {
		peer_list_free(*urls, *n);
		*urls = NULL;
		*n = 0;
	}
	return rc;
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
