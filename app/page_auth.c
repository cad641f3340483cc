/* page_auth.c — sign-up, sign-in, sign-out. */
#include <civetweb.h>
#include <stdio.h>
#include <string.h>

#include "acct.h"
#include "pages.h"
#include "redir.h"
#include "sess.h"
#include "view.h"

/*
 * Where to go after signing in: a path of this app from ?next= or the
 * form's next field (redir.h), else /projects.
 */
static const char *
next_path(struct req *r, char *buf, size_t len)
{
	const char *n = form_get(&r->form, "next");

	if (!n && web_query(r, "next", buf, len) == 0)
		n = buf;
	if (!redir_local(n) || strlen(n) >= len)
		return "/projects";
	return n;
}

static void
auth_form(struct req *r, int status, const char *view, const char *title,
          const char *error, const char *username)
{
	struct td *d = td_new();
	char next[600];
	const char *np = next_path(r, next, sizeof(next));

	if (strcmp(np, "/projects") != 0)
		td_set(d, "next", np);

	if (error)
		td_set(d, "error", error);
	td_set(d, "username", username ? username : "");
	td_set_int(d, "user_min", ACCT_USER_MIN);
	td_set_int(d, "user_max", ACCT_USER_MAX);
	td_set_int(d, "pass_min", ACCT_PASS_MIN);
	view_page(r, status, view, title, d);
	td_free(d);
}

void
page_signup_form(struct req *r)
{
	if (r->user_id) {
		web_redirect(r, "/projects");
		return;
	}
	if (!r->w->allow_signup) {
		view_error_page(r, 404,
		                "Sign-up is closed on this server. Ask "
		                "its administrator for an account.",
		                "/login", "Sign in");
		return;
	}
	auth_form(r, 200, "signup", "Create an account", NULL, NULL);
}

void
page_signup(struct req *r)
{
	const char *user = form_get(&r->form, "username");
	const char *pass = form_get(&r->form, "password");
	const char *msg = NULL;
	long long id = 0;

	if (!r->w->allow_signup) {
		view_error_page(r, 404, "Sign-up is closed on this server.",
		                "/login", "Sign in");
		return;
	}
	if (!user || !*user || !pass || !*pass) {
		auth_form(r, 400, "signup", "Create an account",
		          "Enter a username and a password.", user);
		return;
	}
	switch (acct_create(r->w, user, pass, &id, &msg)) {
	case ACCT_OK:
		break;
	case ACCT_BAD_INPUT:
		auth_form(r, 400, "signup", "Create an account", msg, user);
		return;
	case ACCT_TAKEN:
		auth_form(r, 409, "signup", "Create an account", msg, user);
		return;
	default:
		auth_form(r, 500, "signup", "Create an account", msg, user);
		return;
	}
	if (sess_create(r, id, user) < 0) {
		view_error_page(r, 500,
		                "Your account was created but you could "
		                "not be signed in. Try signing in.",
		                "/login", "Sign in");
		return;
	}
	web_redirect(r, "/projects");
}

void
page_login_form(struct req *r)
{
	if (r->user_id) {
		web_redirect(r, "/projects");
		return;
	}
	auth_form(r, 200, "login", "Sign in",
	          r->expired ? "Your session has expired. Sign in again."
	                     : NULL,
	          NULL);
}

void
page_login(struct req *r)
{
	const char *user = form_get(&r->form, "username");
	const char *pass = form_get(&r->form, "password");
	char name[WEB_NAME_MAX + 1], msg[128], ip[CLIENTIP_LEN];
	long long id = 0;
	long retry = 0;

	if (!user || !*user || !pass || !*pass) {
		auth_form(r, 400, "login", "Sign in",
		          "Enter your username and password.", user);
		return;
	}
	clientip_of(&r->w->trusted_proxies, r->ri->remote_addr,
	            mg_get_header(r->conn, "X-Forwarded-For"), ip, sizeof(ip));
	switch (acct_login(r->w, user, pass, ip, &id, name, &retry)) {
	case ACCT_OK:
		break;
	case ACCT_THROTTLED:
		snprintf(msg, sizeof(msg),
		         "Too many failed sign-in attempts. "
		         "Try again in %ld minute%s.",
		         (retry + 59) / 60, (retry + 59) / 60 == 1 ? "" : "s");
		snprintf(r->extra_headers, sizeof(r->extra_headers),
		         "Retry-After: %ld\r\n", retry);
		auth_form(r, 429, "login", "Sign in", msg, user);
		return;
	case ACCT_WRONG:
		auth_form(r, 401, "login", "Sign in",
		          "Wrong username or password.", user);
		return;
	default:
		auth_form(r, 500, "login", "Sign in",
		          "Signing in failed on the server; try again.", user);
		return;
	}
	if (sess_create(r, id, name) < 0) {
		auth_form(r, 500, "login", "Sign in",
		          "Signing in failed on the server; try again.", user);
		return;
	}
	char next[600];
	web_redirect(r, next_path(r, next, sizeof(next)));
}

void
page_logout(struct req *r)
{
	sess_destroy(r);
	web_redirect(r, "/login");
}
