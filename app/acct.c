/* acct.c — accounts; see acct.h. */
#include "acct.h"

#include <pthread.h>
#include <semaphore.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "form.h"

static sem_t hash_slots;
static pthread_once_t hash_once = PTHREAD_ONCE_INIT;
/* A hash of a random password: unknown users cost as much as known ones. */
static char dummy_hash[crypto_pwhash_STRBYTES];

static void
hash_init(void)
{
	char pw[33];

	sem_init(&hash_slots, 0, ACCT_HASH_PARALLEL);
	randombytes_buf(pw, 32);
	for (int i = 0; i < 32; i++)
		pw[i] = (char)('a' + ((unsigned char)pw[i] % 26));
	pw[32] = '\0';
	if (crypto_pwhash_str(dummy_hash, pw, 32,
	                      crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		dummy_hash[0] = '\0'; /* verify then fails at once */
}

static int
pw_hash(char out[crypto_pwhash_STRBYTES], const char *pass)
{
	int rc;

	pthread_once(&hash_once, hash_init);
	sem_wait(&hash_slots);
	rc = crypto_pwhash_str(out, pass, strlen(pass),
	                       crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                       crypto_pwhash_MEMLIMIT_INTERACTIVE);
	sem_post(&hash_slots);
	return rc;
}

static int
pw_verify(const char *hash, const char *pass)
{
	int rc;

	pthread_once(&hash_once, hash_init);
	sem_wait(&hash_slots);
	rc = crypto_pwhash_str_verify(hash, pass, strlen(pass));
	sem_post(&hash_slots);
	return rc;
}

static const char *
acct_check_username(const char *u)
{
	size_t n = strlen(u);

	if (n < ACCT_USER_MIN || n > ACCT_USER_MAX)
		return "Username must be 3 to 32 characters long.";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)u[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		            (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '_' && c != '-' && c != '.')))
			return "Username may use letters, digits, and . _ - "
			       "(starting with a letter or digit).";
	}
	return NULL;
}

static const char *
acct_check_password(const char *p, const char *username)
{
	size_t n = strlen(p);

	if (n < ACCT_PASS_MIN)
		return "Password must be at least 8 characters long.";
	if (n > ACCT_PASS_MAX)
		return "Password must be at most 128 characters long.";
	if (form_valid_utf8_line(p))
		return "Password must be printable text (no control "
		       "characters).";
	if (username && strcasecmp(p, username) == 0)
		return "Password must not be the same as the username.";
	return NULL;
}

enum acct_result
acct_create(struct web *w, const char *user, const char *pass, long long *id,
            const char **msg)
{
	char hash[crypto_pwhash_STRBYTES];
	int64_t rid;

	if ((*msg = acct_check_username(user)) != NULL ||
	    (*msg = acct_check_password(pass, user)) != NULL)
		return ACCT_BAD_INPUT;
	if (pw_hash(hash, pass) != 0) {
		*msg = "The password could not be stored; try again.";
		return ACCT_ERROR;
	}
	rid = db_insert(w->db, DB_USER_INSERT, "tti", user, hash,
	                (long long)util_wall());
	sodium_memzero(hash, sizeof(hash));
	if (rid == DB_CONSTRAINT) {
		*msg = "That username is taken. Choose another one.";
		return ACCT_TAKEN;
	}
	if (rid < 0) {
		*msg = "The account could not be created; try again.";
		return ACCT_ERROR;
	}
	*id = rid;
	return ACCT_OK;
}

/* Attempts in the window (count, and the oldest or newest time). */
static long
attempts(struct web *w, enum db_stmt s, const char *fmt, const char *a,
         const char *b, long long since, long long *at)
{
	sqlite3_stmt *st = b ? db_stmt(w->db, s, fmt, a, b, since)
	                     : db_stmt(w->db, s, fmt, a, since);
	long n = 0;

	*at = 0;
	if (db_step(w->db, st) == SQLITE_ROW) {
		n = (long)sqlite3_column_int64(st, 0);
		*at = sqlite3_column_int64(st, 1);
	}
	db_done(w->db, st);
	return n;
}

/*
 * Checks the limits of acct.h and records this attempt, as one step under
 * one lock: concurrent attempts cannot all pass the check before any of
 * them is counted. Returns ACCT_OK (recorded), ACCT_THROTTLED with
 * *retry_s, or ACCT_ERROR.
 */
static enum acct_result
admit(struct web *w, const char *user, const char *ip, long long now,
      long *retry_s)
{
	static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
	long long since = now - ACCT_FAIL_WINDOW, t, wait = 0;
	enum acct_result rc = ACCT_OK;
	long n;

	pthread_mutex_lock(&gate);
	if (db_exec(w->db, DB_LOGINFAIL_PURGE, "i", since) != DB_OK) {
		rc = ACCT_ERROR;
		goto out;
	}
	if (attempts(w, DB_LOGINFAIL_COUNT_PAIR, "tti", user, ip, since, &t) >=
	    ACCT_FAIL_MAX_USER)
		wait = t + ACCT_FAIL_WINDOW - now;
	else if (attempts(w, DB_LOGINFAIL_COUNT_IP, "ti", ip, NULL, since,
	                  &t) >= ACCT_FAIL_MAX_IP)
		wait = t + ACCT_FAIL_WINDOW - now;
	else if ((n = attempts(w, DB_LOGINFAIL_LAST_USER, "ti", user, NULL,
	                       since, &t)) >= ACCT_USER_SLOW) {
		long long gap =
		    1LL << (n - ACCT_USER_SLOW < 6 ? n - ACCT_USER_SLOW : 6);
		if (gap > ACCT_USER_SLOW_MAX)
			gap = ACCT_USER_SLOW_MAX;
		if (now - t < gap)
			wait = gap - (now - t);
	}
	if (wait > 0) {
		*retry_s = (long)wait;
		rc = ACCT_THROTTLED;
	} else if (db_exec(w->db, DB_LOGINFAIL_INSERT, "tti", user, ip, now) !=
	           DB_OK) {
		rc = ACCT_ERROR;
	}
out:
	pthread_mutex_unlock(&gate);
	return rc;
}

enum acct_result
acct_login(struct web *w, const char *user, const char *pass, const char *ip,
           long long *id, char name[WEB_NAME_MAX + 1], long *retry_s)
{
	long long now = (long long)util_wall();
	char hash[crypto_pwhash_STRBYTES] = "";
	enum acct_result rc;
	sqlite3_stmt *st;
	long long uid = 0;

	*retry_s = 0;
	if (strlen(user) > ACCT_USER_MAX || strlen(pass) > ACCT_PASS_MAX)
		return ACCT_WRONG;
	if ((rc = admit(w, user, ip, now, retry_s)) != ACCT_OK)
		return rc;
	st = db_stmt(w->db, DB_USER_BY_NAME, "t", user);
	if (db_step(w->db, st) == SQLITE_ROW) {
		uid = sqlite3_column_int64(st, 0);
		snprintf(name, WEB_NAME_MAX + 1, "%s", db_col_text(st, 1));
		snprintf(hash, sizeof(hash), "%s", db_col_text(st, 2));
	}
	db_done(w->db, st);
	if (uid == 0) {
		pthread_once(&hash_once, hash_init);
		(void)pw_verify(dummy_hash, pass);
	}
	/* a failure stays recorded: admit() counted it already */
	if (uid == 0 || pw_verify(hash, pass) != 0)
		return ACCT_WRONG;
	if (db_exec(w->db, DB_LOGINFAIL_CLEAR_PAIR, "tt", user, ip) != DB_OK)
		ty_log("acct: could not clear failures of %s", name);
	*id = uid;
	return ACCT_OK;
}

int
acct_bootstrap(struct web *w, const char *user, const char *pass)
{
	long long id;
	const char *msg = NULL;
	sqlite3_stmt *st = db_stmt(w->db, DB_USER_BY_NAME, "t", user);
	int exists = db_step(w->db, st) == SQLITE_ROW;

	db_done(w->db, st);
	if (exists) {
		ty_log("acct: user %s exists; TRAINYARD_ADMIN_PASSWORD not "
		       "applied",
		       user);
		return 0;
	}
	switch (acct_create(w, user, pass, &id, &msg)) {
	case ACCT_OK:
		ty_log("acct: created user %s", user);
		return 0;
	default:
		ty_log("acct: cannot create user %s: %s", user, msg);
		return -1;
	}
}
