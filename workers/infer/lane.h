/*
 * lane.h — whose request computes next, and noticing a client that left.
 *
 * Requests wait in one of two lanes, each with its own slots: a small
 * request (few pixels) never queues behind a large one. Inside a lane the
 * next slot goes to the waiting user with the fewest requests computing,
 * then to the earliest arrival, so one user's stream of large requests
 * takes turns with everyone else's. Large requests also compute at a
 * lower CPU priority (see infer_lane_enter). /metrics shows
 * trainyard_infer_lane_busy and _waiting per lane.
 */
#ifndef TY_INFER_LANE_H
#define TY_INFER_LANE_H

#include <stdint.h>

#include "util.h"

struct mg_connection;

enum infer_lane { INFER_LANE_SMALL, INFER_LANE_LARGE, INFER_LANE__MAX };

/* Slots of lane l (requests computing at once); before any request. */
void infer_lane_init(enum infer_lane l, int slots);
const char *infer_lane_name(enum infer_lane l);

/*
 * The connection's socket, found once by its addresses, so that a long
 * request can ask whether its client is still there; -1 if not found.
 */
int infer_peer_fd(struct mg_connection *c);
/* Non-zero when the client behind fd closed its side (never for -1). */
int infer_peer_gone(int fd);

/*
 * Runs fn(arg) in a slot of lane l for user ("" is one anonymous user),
 * after waiting for one. While it waits it polls the peer (fd from
 * infer_peer_fd, may be -1): 0 when fn ran, -1 when the client left
 * first. A large request runs on a thread of its own at a lower CPU
 * priority (the threads fn starts inherit it), so a small one gets a
 * core at once; CivetWeb's thread keeps its own priority.
 */
int infer_lane_run(enum infer_lane l, const char *user, int peer_fd,
                   void (*fn)(void *), void *arg) TY_WUR;

/*
 * Runs fn(arg) on a thread of its own at a lower CPU priority (inherited
 * by the threads fn starts), and waits for it; on such a thread already,
 * calls fn directly.
 */
void infer_background(void (*fn)(void *), void *arg);

#endif
