/*
 * metrics.h — the process's Prometheus series (text format 0.0.4): one
 * table for the web app and every worker. Code registers a series by
 * using it; GET /metrics renders the table.
 *
 * name is a metric name, optionally with labels:
 * "trainyard_infer_images_total{result=\"error\"}". Label values must
 * not hold '"' or '\\' (they are route patterns and fixed words here).
 * Thread-safe; a fixed table (METRICS_MAX_SERIES; more are dropped).
 */
#ifndef TY_METRICS_H
#define TY_METRICS_H

#include "util.h"
#include "wb.h"

#define METRICS_MAX_SERIES 1024

void metrics_counter_add(const char *name, double v);
void metrics_gauge_set(const char *name, double v);
/* Histogram with buckets 1 ms .. 10 min (seconds). */
void metrics_observe(const char *name, double seconds);

/*
 * One answered HTTP request: trainyard_http_requests_total{route,
 * method,status} and trainyard_http_request_duration_seconds{route}.
 * route is a route pattern or label, never a path (ids would explode the
 * series); method may be NULL (the web app's labels hold it).
 */
void metrics_http(const char *route, const char *method, int status,
                  double seconds);

/*
 * metrics_sys.c: sets process_resident_memory_bytes and, for each of the
 * n volumes (names[i] mounted at dirs[i]), trainyard_volume_free_bytes
 * and trainyard_volume_size_bytes{volume="<name>"}. Called before a
 * render, so the figures are those of the scrape.
 */
void metrics_sys_update(const char *const *names, const char *const *dirs,
                        size_t n);

/*
 * Appends every series, then trainyard_uptime_seconds; -1 when out
 * reached its maximum.
 */
int metrics_render(struct wbuf *out, double uptime_s) TY_WUR;

#endif
