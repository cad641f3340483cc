/* connfd.c — the socket of a CivetWeb connection; see connfd.h. */
#include "connfd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <civetweb.h>

#define SCAN_FDS 4096

/* The port and text address of a socket address; -1 if not IP. */
static int
addr_text(const struct sockaddr_storage *sa, char *buf, size_t len)
{
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)sa;

		inet_ntop(AF_INET, &a->sin_addr, buf, (socklen_t)len);
		return ntohs(a->sin_port);
	}
	if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)sa;

		inet_ntop(AF_INET6, &a->sin6_addr, buf, (socklen_t)len);
		return ntohs(a->sin6_port);
	}
	return -1;
}

int
connfd_find(struct mg_connection *c)
{
	const struct mg_request_info *ri = mg_get_request_info(c);
	char got[INET6_ADDRSTRLEN];

	if (!ri || !ri->remote_addr[0])
		return -1;
	for (int fd = 3; fd < SCAN_FDS; fd++) {
		struct sockaddr_storage sa;
		socklen_t sl = sizeof sa;

		if (getpeername(fd, (struct sockaddr *)&sa, &sl) < 0)
			continue;
		if (addr_text(&sa, got, sizeof got) != ri->remote_port ||
		    strcmp(got, ri->remote_addr))
			continue;
		sl = sizeof sa;
		if (getsockname(fd, (struct sockaddr *)&sa, &sl) < 0 ||
		    addr_text(&sa, got, sizeof got) != ri->server_port)
			continue;
		return fd;
	}
	return -1;
}
