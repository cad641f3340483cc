/*
 * urls.c — a list of service replicas from one setting: comma-separated
 * base URLs, or one DNS name[:port] whose every A/AAAA record is a
 * replica (on Kubernetes a headless Service). Used by the train worker
 * for its peers (TRAINYARD_TRAIN_PEERS) and by the web app for placing
 * runs (TRAINYARD_TRAIN_URL). Resolved at each call, so replicas that
 * came or went since are seen.
 */
#include "urls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define URLS_MAX 256

void
urls_free(char **urls, int n)
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
	if (n >= URLS_MAX_LEN || n < 9)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)u[i]) || u[i] == '?' || u[i] == '#')
			return 0;
	return 1;
}

static int
add(const char *var, char ***urls, int *n, const char *u, char *err,
    size_t errlen)
{
	for (int i = 0; i < *n; i++)
		if (strcmp((*urls)[i], u) == 0)
			return 0;
	if (*n >= URLS_MAX) {
		snprintf(err, errlen, "%s: more than %d addresses", var,
		         URLS_MAX);
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
from_list(const char *var, const char *spec, char ***urls, int *n, char *err,
          size_t errlen)
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
			         "%s: \"%.80s\" is not an http:// URL", var, t);
			rc = -1;
			break;
		}
		rc = add(var, urls, n, t, err, errlen);
	}
	free(copy);
	return rc;
}

static int
from_dns(const char *var, const char *spec, int port, char ***urls, int *n,
         char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	size_t hl = colon ? (size_t)(colon - spec) : strlen(spec);
	if (hl == 0 || hl >= sizeof(host)) {
		snprintf(err, errlen, "%s: bad host name", var);
		return -1;
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	for (size_t i = 0; i < hl; i++)
		if (!isalnum((unsigned char)host[i]) && host[i] != '-' &&
		    host[i] != '.' && host[i] != '_') {
			snprintf(err, errlen, "%s: bad host name \"%.80s\"",
			         var, host);
			return -1;
		}
	if (colon) {
		char *end;
		long v = strtol(colon + 1, &end, 10);
		if (*end || v < 1 || v > 65535) {
			snprintf(err, errlen, "%s: bad port", var);
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
		snprintf(err, errlen, "%s: cannot resolve %s: %s", var, host,
		         gai_strerror(g));
		return -1;
	}
	int rc = 0;
	for (struct addrinfo *a = res; a && !rc; a = a->ai_next) {
		char ip[INET6_ADDRSTRLEN], u[URLS_MAX_LEN];
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
		rc = add(var, urls, n, u, err, errlen);
	}
	freeaddrinfo(res);
	return rc;
}

int
urls_parse(const char *var, const char *spec, int default_port, char ***urls,
           int *n, char *err, size_t errlen)
{
	*urls = NULL;
	*n = 0;
	int rc = 0;
	if (!spec || !*spec)
		return 0;
	if (strstr(spec, "://") || strchr(spec, ','))
		rc = from_list(var, spec, urls, n, err, errlen);
	else
		rc = from_dns(var, spec, default_port, urls, n, err, errlen);
	if (rc) {
		urls_free(*urls, *n);
		*urls = NULL;
		*n = 0;
	}
	return rc;
}
