/*
 * fuzz_clientip.c — libFuzzer harness for the client address behind
 * trusted proxies (app/clientip.c): the input is split at the first NUL
 * into TRAINYARD_TRUSTED_PROXIES and an X-Forwarded-For header. The
 * answer is always the peer or a valid address no longer than the buffer.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clientip.h"
#include "util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clientip_nets n;
	char err[128], out[CLIENTIP_LEN], *s = xmalloc(size + 2);
	const char *spec, *xff;
	unsigned char a[16];

	memcpy(s, data, size);
	s[size] = s[size + 1] = '\0';
	spec = s;
	xff = s + strlen(s) + 1;
	if (clientip_parse(spec, &n, err, sizeof err) < 0 &&
	    clientip_parse("127.0.0.1, 10.0.0.0/8, ::1", &n, err, sizeof err) <
	        0)
		abort();
	clientip_of(&n, "127.0.0.1", xff, out, sizeof out);
	if (strcmp(out, "127.0.0.1") && inet_pton(AF_INET, out, a) != 1 &&
	    inet_pton(AF_INET6, out, a) != 1)
		abort();
	free(s);
	return 0;
}
