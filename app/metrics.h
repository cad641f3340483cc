/*
 * metrics.h — request counters for GET /metrics (Prometheus text format
 * 0.0.4): requests by route and status, a request-duration histogram per
 * route, and process uptime.
 */
#ifndef TY_METRICS_H
#define TY_METRICS_H

#include "util.h"
#include "wb.h"

/* route: an enum route value, or ROUTE_UNMATCHED. */
void metrics_observe(int route, int status, double seconds);
/* Appends the exposition; -1 if out is full. */
int metrics_render(struct wbuf *out, double uptime_s) TY_WUR;

#endif
