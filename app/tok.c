/* tok.c — API tokens; see tok.h. */
#include "tok.h"
#include "tokrow.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define RAW_BYTES 32

static const char *const err_texts[] = {
    [0] = "ok",
    [1] = "no Authorization header: send \"Authorization: Bearer "
          "<token>\"",
    [2] = "the Authorization header is not \"Bearer <token>\" with a "
          "trainyard token",
    [3] = "unknown token",
    [4] = "this token has been revoked",
    [5] = "the server could not check the token",
};

const char *
tok_strerror(enum tok_err e)
{
	int i = -(int)e;

	return i >= 0 && i < (int)TY_ARRAY_LEN(err_texts) ? err_texts[i]
	                                                  : "unknown error";
}

static void
hash_of(const char *tok, size_t n, unsigned char out[32])
{
	crypto_generichash(out, 32, (const unsigned char *)tok, n, NULL, 0);
}

long long
tok_create(struct db *db, long long user_id, const char *name,
           char out[TOK_LEN + 1])
{
	unsigned char raw[RAW_BYTES], h[32];
	char prefix[TOK_SHOWN + 1];
	int64_t id;

	randombytes_buf(raw, sizeof(raw));
	memcpy(out, TOK_PREFIX, 3);
	sodium_bin2base64(out + 3, TOK_LEN + 1 - 3, raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	hash_of(out, TOK_LEN, h);
	memcpy(prefix, out, TOK_SHOWN);
	prefix[TOK_SHOWN] = '\0';
	id = db_insert(db, DB_TOKEN_INSERT, "itbti", user_id, name, h, 32,
	               prefix, (long long)util_wall());
	if (id <= 0) {
		sodium_memzero(out, TOK_LEN + 1);
		return TOK_DB;
	}
	return id;
}

static int
is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

enum tok_err
tok_parse_bearer(const char *hdr, const char **tok)
{
	const char *p;
	size_t i;

	*tok = NULL;
	if (!hdr)
		return TOK_MISSING;
	p = hdr + strspn(hdr, " \t");
	if (!*p)
		return TOK_MISSING;
	if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
		return TOK_MALFORMED;
	p += 6;
	p += strspn(p, " \t");
	if (strncmp(p, TOK_PREFIX, 3) != 0)
		return TOK_MALFORMED;
	for (i = 3; i < TOK_LEN; i++)
		if (!is_b64url(p[i]))
			return TOK_MALFORMED;
	if (p[strspn(p + TOK_LEN, " \t") + TOK_LEN] != '\0')
		return TOK_MALFORMED;
	*tok = p;
	return TOK_OK;
}

enum tok_err
tok_authenticate(struct db *db, const char *hdr, long long *user_id,
                 char *username, size_t ulen)
{
	unsigned char h[32];
	const char *tok;
	sqlite3_stmt *st;
	enum tok_err e;
	long long id = 0, revoked = 0;
	int rc;

	*user_id = 0;
	if ((e = tok_parse_bearer(hdr, &tok)) != TOK_OK)
		return e;
	hash_of(tok, TOK_LEN, h);
	/* An exact match on a 256-bit hash: nothing for a timing attack
	 * to learn that would help guess another token. */
	st = db_stmt(db, DB_TOKEN_LOOKUP, "b", h, 32);
	rc = db_step(db, st);
	if (rc == SQLITE_ROW) {
		struct tokrow t;
		tokrow_read(st, &t);
		id = t.id;
		*user_id = t.user_id;
		snprintf(username, ulen, "%s", t.username);
		revoked = t.revoked_at;
		tokrow_free(&t);
	}
	db_done(db, st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return TOK_DB;
	if (!id)
		return TOK_UNKNOWN;
	if (revoked) {
		*user_id = 0;
		return TOK_REVOKED;
	}
	if (db_exec(db, DB_TOKEN_TOUCH, "ii", (long long)util_wall(), id) !=
	    DB_OK)
		ty_log("tokens: last use of token %lld not recorded", id);
	return TOK_OK;
}
