/*
 * auth.h — the shared service token between trainyard's services.
 *
 * Every worker endpoint but /healthz and /readyz requires
 * "Authorization: Bearer <TRAINYARD_SERVICE_TOKEN>"; the web app and the
 * train replicas send it on every call they make (docs/jobs.md).
 * Comparisons are constant-time (libsodium) whatever the lengths.
 */
#ifndef TY_AUTH_H
#define TY_AUTH_H

#include <stddef.h>

#include "util.h"

/* Shortest token accepted: 128 bits as hex. */
#define AUTH_TOKEN_MIN 32

/*
 * Whether an Authorization header value is "Bearer <want>" (scheme case
 * insensitive). want NULL or "" never matches. Constant time in the
 * token's bytes: both sides are hashed before a sodium_memcmp.
 */
int auth_bearer_ok(const char *header, const char *want);

/*
 * The token this process sends and requires; NULL when none. Set once at
 * start-up (before any thread uses it); the string is copied.
 */
void auth_set_service_token(const char *token);
const char *auth_service_token(void);

/*
 * "Authorization: Bearer <token>" for an HTTP client's header list, in
 * buf; returns buf, or NULL when this process has no token.
 */
const char *auth_header_line(char *buf, size_t len);

#endif
