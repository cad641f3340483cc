/* pace.c — minimum body rate with a watchdog; see pace.h. */
#include "pace.h"

#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct pace *watched;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/*
 * Called with mu held. A read in flight may hold up to one chunk not
 * counted yet: only a body short of even that is behind.
 */
static int
behind(const struct pace *p, double now)
{
	double owed = p->min_rate * (now - p->since);

	return p->window > 0 && now - p->since >= p->window &&
	       p->bytes + p->min_rate * p->window / 2 < owed;
}

static void *
watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		double now = util_now();

		pthread_mutex_lock(&mu);
		for (struct pace *p = watched; p; p = p->next) {
			if (!p->cut && behind(p, now)) {
				p->cut = 1;
				/* the blocked mg_read sees end of input;
				 * the answer can still be written */
				shutdown(p->fd, SHUT_RD);
			}
		}
		pthread_mutex_unlock(&mu);
		usleep(500 * 1000);
	}
	return NULL;
}

static void
start_watchdog(void)
{
	pthread_t t;
	pthread_attr_t a;

	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, watchdog, NULL) != 0)
		ty_log("pace: no watchdog thread; slow bodies are cut late");
	pthread_attr_destroy(&a);
}

void
pace_start(struct pace *p, double min_rate, double window_s, int fd)
{
	p->min_rate = min_rate;
	p->window = window_s;
	p->since = util_now();
	p->bytes = 0;
	p->fd = fd;
	p->cut = 0;
	p->next = NULL;
	if (fd < 0 || window_s <= 0)
		return;
	pthread_once(&once, start_watchdog);
	pthread_mutex_lock(&mu);
	p->next = watched;
	watched = p;
	pthread_mutex_unlock(&mu);
}

void
pace_stop(struct pace *p)
{
	pthread_mutex_lock(&mu);
	for (struct pace **q = &watched; *q; q = &(*q)->next) {
		if (*q == p) {
			*q = p->next;
			break;
		}
	}
	pthread_mutex_unlock(&mu);
	p->fd = -1;
}

size_t
pace_chunk(const struct pace *p, size_t want)
{
	double most = p->min_rate * p->window / 2;

	if (p->window <= 0 || most >= (double)want)
		return want;
	return most < 1 ? 1 : (size_t)most;
}

int
pace_add(struct pace *p, size_t n)
{
	double now = util_now();
	int rc = 0;

	pthread_mutex_lock(&mu);
	p->bytes += (double)n;
	if (p->cut || behind(p, now)) {
		p->cut = 1;
		rc = -1;
	} else if (p->window > 0 && now - p->since >= p->window) {
		p->since = now;
		p->bytes = 0;
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

int
pace_cut(const struct pace *p)
{
	return p->cut;
}

void
pace_config(int argc, char **argv, double *min_rate, double *window_s)
{
	*min_rate =
	    (double)cfg_long(argc, argv, "TRAINYARD_BODY_MIN_RATE", 1024);
	*window_s =
	    (double)cfg_long(argc, argv, "TRAINYARD_BODY_RATE_WINDOW_S", 30);
}
