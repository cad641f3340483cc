/*
 * tok.h — API tokens for programs. A token is "ty_" and 32 random
 * bytes in URL-safe base64 (43 characters); it is shown to its owner
 * once, and the database keeps only its BLAKE2b-256 hash and its first
 * characters (to tell tokens apart in a list). A request presents it as
 * "Authorization: Bearer ty_...".
 */
#ifndef TY_TOK_H
#define TY_TOK_H

#include <stddef.h>

#include "db.h"
#include "util.h"

#define TOK_PREFIX "ty_"
#define TOK_LEN 46   /* "ty_" + 43 base64url characters */
#define TOK_SHOWN 10 /* characters kept for the list */
#define TOK_NAME_MAX 64

enum tok_err {
	TOK_OK = 0,
	TOK_MISSING = -1,   /* no Authorization header */
	TOK_MALFORMED = -2, /* not "Bearer ty_..." of the right form */
	TOK_UNKNOWN = -3,   /* no such token */
	TOK_REVOKED = -4,
	TOK_DB = -5, /* the database failed */
};
const char *tok_strerror(enum tok_err e);

/*
 * Makes a new token for user named name: writes it to out (TOK_LEN + 1
 * bytes) and returns its id (> 0), or TOK_DB.
 */
long long tok_create(struct db *db, long long user_id, const char *name,
                     char out[TOK_LEN + 1]) TY_WUR;

/*
 * Finds the token in an Authorization header value ("Bearer <token>",
 * scheme case-insensitive, spaces around): on success *tok points into
 * hdr at the TOK_LEN token characters. TOK_MISSING for NULL/empty,
 * TOK_MALFORMED otherwise.
 */
enum tok_err tok_parse_bearer(const char *hdr, const char **tok) TY_WUR;

/*
 * Checks an Authorization header against the database: fills *user_id
 * and username (at least 65 bytes) and records the use.
 */
enum tok_err tok_authenticate(struct db *db, const char *hdr,
                              long long *user_id, char *username,
                              size_t ulen) TY_WUR;

#endif
