/*
 * lane.c — two lanes of fair turns, CPU priority of large requests, and
 * the peer's socket; see lane.h.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <civetweb.h>

#include "connfd.h"
#include "lane.h"
#include "metrics.h"

/* Niceness of a large request's threads: a 1-image request beside two
 * large ones gets most of a core when it needs one. */
#define LARGE_NICE 10
/* How often a waiting request looks at its peer. */
#define WAIT_POLL_MS 100
#define MAX_SLOTS 1024
/* Stack of a large request's thread: decoders, BLAS and cJSON. */
#define RUN_STACK (4u << 20)
/* Users whose last turn is remembered (the oldest is forgotten). */
#define USERS_KEPT 256

struct waiter {
	uint64_t user;
	uint64_t ticket;
	int granted;
	struct waiter *next;
};

struct lane {
	pthread_cond_t cv;
	int busy, max, waiting;
	uint64_t next_ticket;
	struct waiter *q;
	uint64_t running[MAX_SLOTS]; /* user of each computing request */
	uint64_t turns;              /* slots given so far */
	struct {
		uint64_t user, turn; /* when the user last got a slot */
	} last[USERS_KEPT];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct lane lanes[INFER_LANE__MAX];
static const char *const lane_names[INFER_LANE__MAX] = {
    [INFER_LANE_SMALL] = "small",
    [INFER_LANE_LARGE] = "large",
};

const char *
infer_lane_name(enum infer_lane l)
{
	return (unsigned)l < INFER_LANE__MAX ? lane_names[l] : "?";
}

/* The lane's figures on /metrics (called with mu held). */
static void
publish(const struct lane *ln)
{
	char name[96];
	int l = (int)(ln - lanes);

	snprintf(name, sizeof name, "trainyard_infer_lane_busy{lane=\"%s\"}",
	         lane_names[l]);
	metrics_gauge_set(name, ln->busy);
	snprintf(name, sizeof name, "trainyard_infer_lane_waiting{lane=\"%s\"}",
	         lane_names[l]);
	metrics_gauge_set(name, ln->waiting);
}

void
infer_lane_init(enum infer_lane l, int slots)
{
	if (slots < 1)
		slots = 1;
	if (slots > MAX_SLOTS)
		slots = MAX_SLOTS;
	pthread_cond_init(&lanes[l].cv, NULL);
	lanes[l].max = slots;
	publish(&lanes[l]); /* on /metrics from the start, at 0 */
}

static int
running_of(const struct lane *ln, uint64_t user)
{
	int n = 0;

	for (int i = 0; i < ln->busy; i++)
		n += ln->running[i] == user;
	return n;
}

/* When user last got a slot; 0 never (or forgotten). */
static uint64_t
last_turn(const struct lane *ln, uint64_t user)
{
	for (int i = 0; i < USERS_KEPT; i++)
		if (ln->last[i].turn && ln->last[i].user == user)
			return ln->last[i].turn;
	return 0;
}

static void
note_turn(struct lane *ln, uint64_t user)
{
	int at = 0;

	for (int i = 0; i < USERS_KEPT; i++) {
		if (ln->last[i].turn && ln->last[i].user == user) {
			at = i;
			break;
		}
		if (ln->last[i].turn < ln->last[at].turn)
			at = i;
	}
	ln->last[at].user = user;
	ln->last[at].turn = ++ln->turns;
}

static int
key_less(const uint64_t *a, const uint64_t *b)
{
	for (int i = 0; i < 3; i++)
		if (a[i] != b[i])
			return a[i] < b[i];
	return 0;
}

/*
 * Gives free slots to waiters: the user with the fewest requests
 * computing, then the one whose last turn is the oldest (round robin
 * between users), then the earliest arrival.
 */
static void
dispatch(struct lane *ln)
{
	while (ln->busy < ln->max && ln->q) {
		struct waiter **best = NULL;
		uint64_t best_key[3] = {0};

		for (struct waiter **w = &ln->q; *w; w = &(*w)->next) {
			uint64_t key[3] = {(uint64_t)running_of(ln, (*w)->user),
			                   last_turn(ln, (*w)->user),
			                   (*w)->ticket};

			if (!best || key_less(key, best_key)) {
				best = w;
				memcpy(best_key, key, sizeof key);
			}
		}
		(*best)->granted = 1;
		note_turn(ln, (*best)->user);
		ln->running[ln->busy++] = (*best)->user;
		*best = (*best)->next;
		ln->waiting--;
	}
	publish(ln);
	pthread_cond_broadcast(&ln->cv);
}

static void
unlink_waiter(struct lane *ln, struct waiter *me)
{
	for (struct waiter **w = &ln->q; *w; w = &(*w)->next) {
		if (*w == me) {
			*w = me->next;
			ln->waiting--;
			publish(ln);
			return;
		}
	}
}

static void
background(void)
{
	/* Per thread on Linux; raising niceness needs no privilege. */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), LARGE_NICE) <
	    0)
		ty_log("setpriority: %s", strerror(errno));
}

/* Waits for a slot: 0, or -1 when the peer left first. */
static int
enter(enum infer_lane l, const char *user, int peer_fd)
{
	struct lane *ln = &lanes[l];
	struct waiter me = {.user = util_hash_str(user)};
	struct timespec until;

	pthread_mutex_lock(&mu);
	me.ticket = ln->next_ticket++;
	/* at the tail: arrival order among equals */
	{
		struct waiter **w = &ln->q;

		while (*w)
			w = &(*w)->next;
		*w = &me;
	}
	ln->waiting++;
	dispatch(ln);
	while (!me.granted) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += WAIT_POLL_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ln->cv, &mu, &until);
		if (!me.granted && infer_peer_gone(peer_fd)) {
			unlink_waiter(ln, &me);
			pthread_mutex_unlock(&mu);
			return -1;
		}
	}
	pthread_mutex_unlock(&mu);
	return 0;
}

static void
leave(enum infer_lane l, const char *user)
{
	struct lane *ln = &lanes[l];
	uint64_t key = util_hash_str(user);

	pthread_mutex_lock(&mu);
	for (int i = 0; i < ln->busy; i++) {
		if (ln->running[i] == key) {
			ln->running[i] = ln->running[--ln->busy];
			break;
		}
	}
	dispatch(ln);
	pthread_mutex_unlock(&mu);
}

struct run {
	enum infer_lane l;
	const char *user;
	int peer_fd, rc;
	void (*fn)(void *);
	void *arg;
};

static void *
run_turn(void *p)
{
	struct run *r = p;

	r->rc = enter(r->l, r->user, r->peer_fd);
	if (r->rc == 0) {
		r->fn(r->arg);
		leave(r->l, r->user);
	}
	return NULL;
}

/* Set on the threads infer_background made (their priority is low). */
static __thread int in_background;

struct bg {
	void (*fn)(void *);
	void *arg;
};

static void *
bg_thread(void *p)
{
	struct bg *b = p;

	in_background = 1;
	background();
	b->fn(b->arg);
	return NULL;
}

void
infer_background(void (*fn)(void *), void *arg)
{
	struct bg b = {fn, arg};
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (in_background) {
		fn(arg);
		return;
	}
	/* Niceness is per thread and cannot be lowered back without
	 * privilege: a thread of its own, as roomy as CivetWeb's (stack.h). */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, RUN_STACK);
	rc = pthread_create(&t, &attr, bg_thread, &b);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		fn(arg); /* at full priority: still answered */
	else
		pthread_join(t, NULL);
}

static void
run_turn_void(void *p)
{
	run_turn(p);
}

int
infer_lane_run(enum infer_lane l, const char *user, int peer_fd,
               void (*fn)(void *), void *arg)
{
	struct run r = {l, user, peer_fd, 0, fn, arg};

	if (l == INFER_LANE_LARGE)
		infer_background(run_turn_void, &r);
	else
		run_turn(&r);
	return r.rc;
}

/* The lookup lives in lib/base (connfd.h): the web app needs it too. */
int
infer_peer_fd(struct mg_connection *c)
{
	return connfd_find(c);
}

int
infer_peer_gone(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};

	if (fd < 0)
		return 0;
	if (poll(&p, 1, 0) <= 0)
		return 0;
	/* The body was read whole before: anything now is the end. */
	return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}
