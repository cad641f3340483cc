/*
 * pace.h — a body must keep coming: a request body that delivers less
 * than min_rate bytes/s over a window of window_s seconds is cut (the
 * caller answers 408). Per-read timeouts alone let a client that sends
 * one byte every few seconds hold a server thread forever.
 *
 * CivetWeb's mg_read() returns only once its buffer is full, so a check
 * after each read comes too late against a drip: a watchdog thread looks
 * at every watched body twice a second and shuts the reading side of a
 * socket that fell behind, which ends the blocked read.
 *
 *	struct pace p;
 *	pace_start(&p, rate, window, connfd_find(conn));
 *	while ((n = mg_read(conn, buf, pace_chunk(&p, sizeof buf))) > 0)
 *		if (pace_add(&p, n) < 0) -> 408
 *	if (pace_cut(&p)) -> 408
 *	pace_stop(&p);
 */
#ifndef TY_PACE_H
#define TY_PACE_H

#include <stddef.h>

#include "util.h"

struct pace {
	double min_rate, window; /* bytes/s; seconds (<= 0: never cut) */
	double since;            /* start of the current window */
	double bytes;            /* received in it */
	int fd;                  /* the socket, or -1: no watchdog */
	volatile int cut;        /* the watchdog shut the socket */
	struct pace *next;       /* watched list */
};

/* fd may be -1: then only pace_add checks, after each read. */
void pace_start(struct pace *p, double min_rate, double window_s, int fd);
/* Unregisters from the watchdog; call before p goes away. */
void pace_stop(struct pace *p);
/*
 * How much to ask of the next read: at most half of what the window
 * needs, so a client at the minimum rate completes reads in time.
 */
size_t pace_chunk(const struct pace *p, size_t want);
/* After n more bytes; 0 while fast enough, -1 when too slow. */
int pace_add(struct pace *p, size_t n) TY_WUR;
/* Whether the body was cut (by pace_add or the watchdog). */
int pace_cut(const struct pace *p);

/*
 * The limits from TRAINYARD_BODY_MIN_RATE (bytes/s, 1024) and
 * TRAINYARD_BODY_RATE_WINDOW_S (30).
 */
void pace_config(int argc, char **argv, double *min_rate, double *window_s);

#endif
