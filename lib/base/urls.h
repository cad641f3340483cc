/*
 * urls.h — replicas of a service from one setting (see urls.c).
 */
#ifndef TY_URLS_H
#define TY_URLS_H

#include <stddef.h>

#include "util.h"

#define URLS_MAX_LEN 256 /* longest base URL */

/*
 * The base URLs of spec: "http://a:8082,http://b:8082" (trailing slashes
 * dropped, duplicates once) or a DNS name[:port] (port default_port), all
 * its addresses. var names the setting in messages. 0 with *urls (n
 * strings, free with urls_free; NULL when spec is empty), or -1 with err.
 */
int urls_parse(const char *var, const char *spec, int default_port,
               char ***urls, int *n, char *err, size_t errlen) TY_WUR;
void urls_free(char **urls, int n);

#endif
