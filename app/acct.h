/*
 * acct.h — user accounts: the rules for names and passwords, sign-up,
 * sign-in with throttling, and the first user from the environment.
 * Passwords are hashed with argon2id (crypto_pwhash_str); at most
 * ACCT_HASH_PARALLEL hashes run at once, since each takes 64 MiB.
 */
#ifndef TY_ACCT_H
#define TY_ACCT_H

#include "util.h"
#include "web.h"

#define ACCT_USER_MIN 3
#define ACCT_USER_MAX 32
#define ACCT_PASS_MIN 8
#define ACCT_PASS_MAX 128
/*
 * Throttling (docs/web.md). Every attempt is recorded, atomically with
 * the check, before the password is hashed; a success removes the
 * attempts of that username from that address. Within the window:
 * - ACCT_FAIL_MAX_USER attempts for one username from one address lock
 *   that pair (the same username from another address is not locked);
 * - ACCT_FAIL_MAX_IP attempts from one address, any usernames, lock that
 *   address (the client address: X-Forwarded-For only from a trusted
 *   proxy, clientip.h);
 * - from ACCT_USER_SLOW attempts on one username from all addresses
 *   together, each further attempt waits 2^k seconds after the last one,
 *   at most ACCT_USER_SLOW_MAX: a guessing botnet slows to a crawl, the
 *   owner is never walled off.
 */
#define ACCT_FAIL_WINDOW 900  /* seconds looked back for failures */
#define ACCT_FAIL_MAX_USER 5  /* per username and address */
#define ACCT_FAIL_MAX_IP 100  /* per address */
#define ACCT_USER_SLOW 20     /* per username, all addresses */
#define ACCT_USER_SLOW_MAX 60 /* longest wait between those, seconds */
#define ACCT_HASH_PARALLEL 2

enum acct_result {
	ACCT_OK = 0,
	ACCT_BAD_INPUT, /* *msg says why */
	ACCT_TAKEN,     /* username exists */
	ACCT_WRONG,     /* unknown user or wrong password */
	ACCT_THROTTLED, /* too many failures; *retry_s says how long */
	ACCT_ERROR,     /* database or hashing failed */
};

enum acct_result acct_create(struct web *w, const char *user, const char *pass,
                             long long *id, const char **msg) TY_WUR;
/*
 * ip is the client address (clientip_of). On ACCT_OK fills id and the
 * stored spelling of the name.
 */
enum acct_result acct_login(struct web *w, const char *user, const char *pass,
                            const char *ip, long long *id,
                            char name[WEB_NAME_MAX + 1], long *retry_s) TY_WUR;
/*
 * Creates user with pass unless that user exists (then nothing changes).
 * For deployments: TRAINYARD_ADMIN_USER / TRAINYARD_ADMIN_PASSWORD.
 * 0, or -1 with a message logged.
 */
int acct_bootstrap(struct web *w, const char *user, const char *pass) TY_WUR;

#endif
