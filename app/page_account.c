/*
 * page_account.c — GET /account, POST /account/tokens (field name),
 * POST /account/tokens/{tid}/revoke: the signed-in user's API tokens.
 * A new token is shown once, in the answer to the POST that made it
 * (never stored, never in a URL); the list shows names and prefixes.
 */
#include <civetweb.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "pages.h"
#include "projrow.h"
#include "tokrow.h"
#include "tok.h"
#include "view.h"

static const char *
valid_token_name(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || strspn(v, " ") == n)
		return "Give the token a name, e.g. the program that will use "
		       "it.";
	if (n > TOK_NAME_MAX)
		return "The token name must be at most 64 characters.";
	return form_valid_utf8_line(v);
}

static const struct form_rule token_rules[] = {
    {"name", valid_token_name, 0},
};

/* This server's address as the browser reached it, for the curl lines;
 * a Host header with anything unusual in it gets a placeholder. */
static void
base_url(struct req *r, char *out, size_t len)
{
	const char *host = mg_get_header(r->conn, "Host");

	if (!host || !*host || strlen(host) > 200 ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789.-:[]") != strlen(host))
		host = "<host>";
	snprintf(out, len, "%s://%s", r->w->cookie_secure ? "https" : "http",
	         host);
}

/*
 * Ready-to-copy curl lines with the user's real ids: the newest model and
 * its project (the template escapes every value, the project's name too).
 */
static void
api_examples_td(struct req *r, struct td *d)
{
	struct db *db = r->w->db;
	sqlite3_stmt *st;
	char url[256];
	long long pid = 0, mid = 0;

	base_url(r, url, sizeof(url));
	td_set(d, "base_url", url);
	/* the newest model's project, else the newest project */
	st = db_stmt(db, DB_MODEL_NEWEST_OF_USER, "i", r->user_id);
	if (db_step(db, st) == SQLITE_ROW) {
		mid = sqlite3_column_int64(st, 0);
		pid = sqlite3_column_int64(st, 1);
		td_set(d, "ex_project", db_col_text(st, 2));
	}
	db_done(db, st);
	if (!pid) {
		st = db_stmt(db, DB_PROJECT_LIST, "i", r->user_id);
		if (db_step(db, st) == SQLITE_ROW) {
			struct projrow p;
			projrow_read(st, &p);
			pid = p.id;
			td_set(d, "ex_project", p.name);
			projrow_free(&p);
		}
		db_done(db, st);
	}
	if (pid)
		td_set_int(d, "ex_pid", pid);
	else
		td_set(d, "ex_pid", "<project id>");
	if (mid)
		td_set_int(d, "ex_mid", mid);
	else
		td_set(d, "ex_mid", "<model id>");
}

static void
account_page(struct req *r, int status, const char *error,
             const char *new_token, const char *new_name)
{
	struct db *db = r->w->db;
	struct td *d = td_new();
	sqlite3_stmt *st;
	char when[32];

	st = db_stmt(db, DB_TOKEN_LIST, "i", r->user_id);
	while (db_step(db, st) == SQLITE_ROW) {
		struct td *row = td_add_row(d, "tokens");
		struct tokrow t;

		tokrow_read(st, &t);
		td_set_int(row, "tid", t.id);
		td_set(row, "name", t.name);
		td_set(row, "prefix", t.prefix);
		web_fmt_time(when, sizeof(when), t.created_at);
		td_set(row, "created", when);
		if (t.last_used_at) {
			web_fmt_time(when, sizeof(when), t.last_used_at);
			td_set(row, "last_used", when);
		}
		if (t.revoked_at) {
			web_fmt_time(when, sizeof(when), t.revoked_at);
			td_set(row, "revoked", when);
		}
		tokrow_free(&t);
	}
	db_done(db, st);
	td_set(d, "account", r->username);
	api_examples_td(r, d);
	if (error) {
		td_set(d, "error", error);
		td_set(d, "name", form_get(&r->form, "name"));
	}
	if (new_token) {
		td_set(d, "new_token", new_token);
		td_set(d, "new_name", new_name);
	}
	view_page(r, status, "account", "Account", d);
	td_free(d);
}

void
page_account(struct req *r)
{
	account_page(r, 200, NULL, NULL, NULL);
}

void
page_token_create(struct req *r)
{
	const char *msg =
	    form_check(&r->form, token_rules, TY_ARRAY_LEN(token_rules), NULL);
	char tok[TOK_LEN + 1];
	long long id;

	if (msg) {
		account_page(r, 400, msg, NULL, NULL);
		return;
	}
	id = tok_create(r->w->db, r->user_id, form_get(&r->form, "name"), tok);
	if (id <= 0) {
		account_page(r, 500,
		             "The token could not be created; try "
		             "again.",
		             NULL, NULL);
		return;
	}
	ty_log("tokens: user %lld created token %lld", r->user_id, id);
	account_page(r, 200, NULL, tok, form_get(&r->form, "name"));
	sodium_memzero(tok, sizeof(tok));
}

void
page_token_revoke(struct req *r)
{
	long long tid = r->ids[0];

	if (db_int(r->w->db, DB_TOKEN_OWNED, 0, "ii", tid, r->user_id) < 1) {
		view_error_page(r, 404, "There is no such token.", "/account",
		                "Your account");
		return;
	}
	if (db_exec(r->w->db, DB_TOKEN_REVOKE, "iii", (long long)util_wall(),
	            tid, r->user_id) != DB_OK) {
		view_error_page(r, 500,
		                "The token could not be revoked; try "
		                "again.",
		                "/account", "Your account");
		return;
	}
	ty_log("tokens: user %lld revoked token %lld", r->user_id, tid);
	web_redirect(r, "/account");
}
