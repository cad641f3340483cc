/*
 * clientip.h — the address a request comes from, for login throttling.
 *
 * The peer's address, unless the peer is one of TRAINYARD_TRUSTED_PROXIES
 * (addresses or CIDR blocks, IPv4 and IPv6, comma-separated): then the
 * rightmost X-Forwarded-For entry that is not itself a trusted proxy (the
 * one our own proxy appended; whatever a client wrote further left is
 * not believed). An entry that is no address falls back to the peer.
 */
#ifndef TY_CLIENTIP_H
#define TY_CLIENTIP_H

#include <stddef.h>

#include "util.h"

#define CLIENTIP_NETS_MAX 32
#define CLIENTIP_LEN 64 /* holds any textual IPv6 address */

struct clientip_nets {
	size_t n;
	struct {
		int family; /* AF_INET or AF_INET6 */
		unsigned char addr[16];
		int bits;
	} net[CLIENTIP_NETS_MAX];
};

/* Parses spec (NULL or "": none); 0, or -1 with the reason in err. */
int clientip_parse(const char *spec, struct clientip_nets *out, char *err,
                   size_t errlen) TY_WUR;
/* Whether addr (text) is inside one of the blocks. */
int clientip_trusted(const struct clientip_nets *n, const char *addr);
/* The client's address into out (at least CLIENTIP_LEN bytes). */
void clientip_of(const struct clientip_nets *n, const char *peer,
                 const char *xff, char *out, size_t outlen);

#endif
