/* auth.c — the shared service token; see auth.h. */
#include "auth.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *service_token;

/*
 * Hashing both sides first makes the comparison independent of where
 * they differ and of their lengths (a plain memcmp of unequal lengths
 * would leak the length).
 */
static int
same_secret(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char ha[32], hb[32];

	if (sodium_init() < 0)
		return 0;
	crypto_generichash(ha, sizeof ha, (const unsigned char *)a, alen, NULL,
	                   0);
	crypto_generichash(hb, sizeof hb, (const unsigned char *)b, blen, NULL,
	                   0);
	return sodium_memcmp(ha, hb, sizeof ha) == 0;
}

int
auth_bearer_ok(const char *header, const char *want)
{
	if (!header || !want || !*want || strncasecmp(header, "Bearer ", 7))
		return 0;
	header += 7;
	while (*header == ' ')
		header++;
	return same_secret(header, strlen(header), want, strlen(want));
}

void
auth_set_service_token(const char *token)
{
	free(service_token);
	service_token = token && *token ? xstrdup(token) : NULL;
}

const char *
auth_service_token(void)
{
	return service_token;
}

const char *
auth_header_line(char *buf, size_t len)
{
	int n;

	if (!service_token)
		return NULL;
	n = snprintf(buf, len, "Authorization: Bearer %s", service_token);
	return n > 0 && (size_t)n < len ? buf : NULL;
}
