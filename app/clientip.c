/* clientip.c — the client's address behind trusted proxies; see clientip.h. */
#include "clientip.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A textual address (surrounding spaces allowed) into family/bytes. */
static int
parse_addr(const char *s, size_t n, int *family, unsigned char addr[16])
{
	char buf[CLIENTIP_LEN];

	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

int
clientip_parse(const char *spec, struct clientip_nets *out, char *err,
               size_t errlen)
{
	memset(out, 0, sizeof *out);
	for (const char *p = spec; p && *p;) {
		size_t n = strcspn(p, ","), a = strcspn(p, "/");
		int max, bits;

		if (a > n)
			a = n;
		if (out->n == CLIENTIP_NETS_MAX) {
			snprintf(err, errlen, "more than %d trusted proxies",
			         CLIENTIP_NETS_MAX);
			return -1;
		}
		if (parse_addr(p, a, &out->net[out->n].family,
		               out->net[out->n].addr)) {
			snprintf(err, errlen, "\"%.*s\" is not an address",
			         (int)(a > 60 ? 60 : a), p);
			return -1;
		}
		max = out->net[out->n].family == AF_INET ? 32 : 128;
		bits = max;
		if (a < n) {
			char *end;
			long b = strtol(p + a + 1, &end, 10);

			if (end == p + a + 1 || end != p + n || b < 0 ||
			    b > max) {
				snprintf(err, errlen,
				         "bad prefix length in "
				         "\"%.*s\"",
				         (int)(n > 60 ? 60 : n), p);
				return -1;
			}
			bits = (int)b;
		}
		out->net[out->n++].bits = bits;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int
in_net(const unsigned char *a, const unsigned char *net, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, net, (size_t)whole))
		return 0;
	return !rest || ((a[whole] ^ net[whole]) & (0xff << (8 - rest))) == 0;
}

static int
trusted_bytes(const struct clientip_nets *n, int family, const unsigned char *a)
{
	for (size_t i = 0; i < n->n; i++)
		if (n->net[i].family == family &&
		    in_net(a, n->net[i].addr, n->net[i].bits))
			return 1;
	return 0;
}

int
clientip_trusted(const struct clientip_nets *n, const char *addr)
{
	unsigned char a[16];
	int family;

	return addr && !parse_addr(addr, strlen(addr), &family, a) &&
	       trusted_bytes(n, family, a);
}

void
clientip_of(const struct clientip_nets *n, const char *peer, const char *xff,
            char *out, size_t outlen)
{
	unsigned char a[16];
	int family;
	size_t end;

	snprintf(out, outlen, "%s", peer ? peer : "");
	if (!xff || !clientip_trusted(n, peer))
		return;
	/* right to left: the first entry that is not a trusted proxy */
	for (end = strlen(xff); end > 0;) {
		size_t start = end;

		while (start > 0 && xff[start - 1] != ',')
			start--;
		if (parse_addr(xff + start, end - start, &family, a))
			return; /* not an address: keep the peer */
		if (!trusted_bytes(n, family, a)) {
			inet_ntop(family, a, out, (socklen_t)outlen);
			return;
		}
		end = start ? start - 1 : 0;
	}
}
