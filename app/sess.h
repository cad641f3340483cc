/*
 * sess.h — sign-in sessions and CSRF tokens.
 *
 * A session is 32 random bytes, sent to the browser as a hex cookie
 * (HttpOnly, SameSite=Lax, Max-Age, Secure when configured); the database
 * keeps only its BLAKE2b hash, so a copy of the database cannot be used to
 * sign in. Each session has its own CSRF token. Before sign-in, a random
 * "ty_csrf" cookie carries the token the login and sign-up forms must echo
 * (double submit).
 */
#ifndef TY_SESS_H
#define TY_SESS_H

#include "util.h"
#include "web.h"

#define SESS_COOKIE "ty_session"
#define SESS_CSRF_COOKIE "ty_csrf"

/* Reads the cookies: sets r->user_id/username/csrf, or r->expired. */
void sess_load(struct req *r);
/* Starts a session for user: Set-Cookie, r->user_id, r->csrf. 0 or -1. */
int sess_create(struct req *r, long long user_id, const char *username) TY_WUR;
/* Ends the current session (if any) and clears its cookie. */
void sess_destroy(struct req *r);

#endif
