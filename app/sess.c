/* sess.c — sessions and CSRF tokens; see sess.h. */
#include "sess.h"

#include <civetweb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_BYTES 32

static void
sess_random_hex(char out[WEB_TOKEN_HEX + 1])
{
	unsigned char raw[TOKEN_BYTES];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, WEB_TOKEN_HEX + 1, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
}

/* The stored form of a cookie token: BLAKE2b-256 of its 32 raw bytes. */
static int
token_hash(const char *hex, unsigned char out[32])
{
	unsigned char raw[TOKEN_BYTES];
	size_t n = 0;

	if (strlen(hex) != WEB_TOKEN_HEX ||
	    sodium_hex2bin(raw, sizeof(raw), hex, WEB_TOKEN_HEX, NULL, &n,
	                   NULL) != 0 ||
	    n != TOKEN_BYTES)
		return -1;
	crypto_generichash(out, 32, raw, sizeof(raw), NULL, 0);
	return 0;
}

static void
set_cookie(struct req *r, const char *name, const char *value, long max_age)
{
	char c[256];

	if (max_age >= 0)
		snprintf(c, sizeof(c),
		         "%s=%s; Path=/; HttpOnly; "
		         "SameSite=Lax; Max-Age=%ld%s",
		         name, value, max_age,
		         r->w->cookie_secure ? "; Secure" : "");
	else
		snprintf(c, sizeof(c),
		         "%s=%s; Path=/; HttpOnly; "
		         "SameSite=Lax%s",
		         name, value, r->w->cookie_secure ? "; Secure" : "");
	web_add_cookie(r, c);
}

void
sess_load(struct req *r)
{
	const char *cookies = mg_get_header(r->conn, "Cookie");
	char tok[WEB_TOKEN_HEX + 2];
	unsigned char h[32];

	if (cookies &&
	    mg_get_cookie(cookies, SESS_COOKIE, tok, sizeof(tok)) > 0) {
		struct db *db = r->w->db;
		sqlite3_stmt *st;

		if (token_hash(tok, h) == 0) {
			st = db_stmt(db, DB_SESSION_LOOKUP, "bi", h, 32,
			             (long long)util_wall());
			if (db_step(db, st) == SQLITE_ROW) {
				r->user_id = sqlite3_column_int64(st, 0);
				snprintf(r->username, sizeof(r->username), "%s",
				         db_col_text(st, 1));
				snprintf(r->csrf, sizeof(r->csrf), "%s",
				         db_col_text(st, 2));
			}
			db_done(db, st);
		}
		if (!r->user_id) {
			r->expired = 1;
			set_cookie(r, SESS_COOKIE, "", 0);
		}
	}
	if (r->user_id)
		return;
	if (cookies &&
	    mg_get_cookie(cookies, SESS_CSRF_COOKIE, tok, sizeof(tok)) ==
	        WEB_TOKEN_HEX &&
	    token_hash(tok, h) == 0) {
		memcpy(r->csrf, tok, WEB_TOKEN_HEX + 1);
		return;
	}
	sess_random_hex(r->csrf);
	set_cookie(r, SESS_CSRF_COOKIE, r->csrf, -1);
}

int
sess_create(struct req *r, long long user_id, const char *username)
{
	char tok[WEB_TOKEN_HEX + 1], csrf[WEB_TOKEN_HEX + 1];
	unsigned char h[32];
	long long now = (long long)util_wall();
	long life = r->w->session_hours * 3600;

	sess_random_hex(tok);
	sess_random_hex(csrf);
	if (token_hash(tok, h) < 0)
		return -1;
	/* Dead sessions go when new ones come: no cleanup thread needed. */
	if (db_exec(r->w->db, DB_SESSION_PURGE, "i", now) != DB_OK ||
	    db_exec(r->w->db, DB_SESSION_INSERT, "bitii", h, 32, user_id, csrf,
	            now, now + life) != DB_OK)
		return -1;
	/* Drop the pre-sign-in cookie queued by sess_load, if any. */
	for (size_t i = 0; i < r->ncookies; i++)
		free(r->cookies[i]);
	r->ncookies = 0;
	set_cookie(r, SESS_COOKIE, tok, life);
	r->user_id = user_id;
	r->expired = 0;
	snprintf(r->username, sizeof(r->username), "%s", username);
	memcpy(r->csrf, csrf, sizeof(csrf));
	sodium_memzero(tok, sizeof(tok));
	return 0;
}

void
sess_destroy(struct req *r)
{
	const char *cookies = mg_get_header(r->conn, "Cookie");
	char tok[WEB_TOKEN_HEX + 2];
	unsigned char h[32];

	if (cookies &&
	    mg_get_cookie(cookies, SESS_COOKIE, tok, sizeof(tok)) > 0 &&
	    token_hash(tok, h) == 0 &&
	    db_exec(r->w->db, DB_SESSION_DELETE, "b", h, 32) != DB_OK)
		ty_log("sess: could not delete a session");
	set_cookie(r, SESS_COOKIE, "", 0);
	r->user_id = 0;
	r->username[0] = '\0';
}
