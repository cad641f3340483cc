/* metrics.c — see metrics.h. */
#include "metrics.h"

#include <pthread.h>
#include <string.h>

#include "route.h"

#define STATUS_SLOTS 12

static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                 0.5,   1,    2.5,   5,    10};
#define NBUCKETS TY_ARRAY_LEN(buckets)

static struct route_stats {
	struct {
		int status;
		unsigned long long n;
	} by_status[STATUS_SLOTS];
	unsigned long long hist[NBUCKETS]; /* cumulative at render */
	unsigned long long count;
	double sum;
} stats[ROUTE__MAX + 1];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

void
metrics_observe(int route, int status, double seconds)
{
	struct route_stats *s;

	if (route < 0 || route > ROUTE__MAX)
		route = ROUTE_UNMATCHED;
	pthread_mutex_lock(&mu);
	s = &stats[route];
	for (size_t i = 0; i < STATUS_SLOTS; i++) {
		if (s->by_status[i].status == status ||
		    s->by_status[i].status == 0) {
			s->by_status[i].status = status;
			s->by_status[i].n++;
			break;
		}
		/* more distinct statuses than slots: counted in the last */
		if (i == STATUS_SLOTS - 1)
			s->by_status[i].n++;
	}
	for (size_t b = 0; b < NBUCKETS; b++)
		if (seconds <= buckets[b]) {
			s->hist[b]++;
			break;
		}
	s->count++;
	s->sum += seconds;
	pthread_mutex_unlock(&mu);
}

int
metrics_render(struct wbuf *o, double uptime_s)
{
	int rc = 0;

	pthread_mutex_lock(&mu);
	rc |= wb_adds(o, "# HELP trainyard_http_requests_total HTTP requests "
	                 "by route and status.\n"
	                 "# TYPE trainyard_http_requests_total counter\n");
	for (int r = 0; r <= ROUTE__MAX; r++)
		for (size_t i = 0; i < STATUS_SLOTS; i++)
			if (stats[r].by_status[i].n)
				rc |= wb_printf(
				    o,
				    "trainyard_http_requests_"
				    "total{route=\"%s\",status=\"%d\"} %llu\n",
				    route_label(r),
				    stats[r].by_status[i].status,
				    stats[r].by_status[i].n);
	rc |= wb_adds(
	    o, "# HELP trainyard_http_request_duration_seconds "
	       "Time to answer a request.\n"
	       "# TYPE trainyard_http_request_duration_seconds histogram\n");
	for (int r = 0; r <= ROUTE__MAX; r++) {
		unsigned long long cum = 0;
		if (!stats[r].count)
			continue;
		for (size_t b = 0; b < NBUCKETS; b++) {
			cum += stats[r].hist[b];
			rc |= wb_printf(
			    o,
			    "trainyard_http_request_duration_"
			    "seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
			    route_label(r), buckets[b], cum);
		}
		rc |= wb_printf(o,
		                "trainyard_http_request_duration_seconds_"
		                "bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
		                "trainyard_http_request_duration_seconds_sum"
		                "{route=\"%s\"} %.6f\n"
		                "trainyard_http_request_duration_seconds_count"
		                "{route=\"%s\"} %llu\n",
		                route_label(r), stats[r].count, route_label(r),
		                stats[r].sum, route_label(r), stats[r].count);
	}
	pthread_mutex_unlock(&mu);
	rc |= wb_printf(
	    o,
	    "# HELP trainyard_uptime_seconds Seconds since "
	    "the process started.\n# TYPE trainyard_uptime_seconds gauge\n"
	    "trainyard_uptime_seconds %.3f\n",
	    uptime_s);
	return rc ? -1 : 0;
}
