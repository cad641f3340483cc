/*
 * metrics.c — a fixed table of Prometheus series (counters, gauges,
 * histograms) and its text rendering for GET /metrics; see metrics.h.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define MAX_SERIES METRICS_MAX_SERIES
#define NAME_MAX_LEN 200

enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM };

static const char *const mtype_names[] = {"counter", "gauge", "histogram"};

/* # HELP lines of the series every binary has. */
static const struct {
	const char *name, *help;
} helps[] = {
    {"trainyard_http_requests_total", "HTTP requests by route and status."},
    {"trainyard_http_request_duration_seconds", "Time to answer a request."},
    {"trainyard_jobs", "Jobs by status."},
};

/*
 * Seconds; the last bucket is +Inf. The union of the web app's (5 ms..10
 * s, pages) and the workers' (1 ms..10 min, jobs) former sets, so every
 * dashboard query still finds its bucket.
 */
static const double buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05,
                                 0.1,   0.25,  0.5,  1,     2.5,
                                 5,     10,    30,   120,   600};
#define NBUCKETS TY_ARRAY_LEN(buckets)

struct series {
	char name[NAME_MAX_LEN]; /* base{labels} */
	enum mtype type;
	double value, sum;
	unsigned long long count, bucket[NBUCKETS];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct series table[MAX_SERIES];
static size_t nseries;
/* Open addressing over table: index + 1, 0 = empty. The web app looks
 * up two series per request, so a scan of up to 1024 names is avoided. */
#define NSLOTS (2 * MAX_SERIES)
static unsigned short slots[NSLOTS];

static size_t
hash(const char *s, enum mtype type)
{
	uint32_t h = 2166136261u ^ (uint32_t)type;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % NSLOTS;
}

/* Finds or adds a series; NULL when the table is full. Under mu. */
static struct series *
lookup(const char *name, enum mtype type)
{
	size_t i = hash(name, type);

	for (; slots[i]; i = (i + 1) % NSLOTS) {
		struct series *s = &table[slots[i] - 1];
		if (s->type == type && !strcmp(s->name, name))
			return s;
	}
	if (nseries == MAX_SERIES || strlen(name) >= NAME_MAX_LEN)
		return NULL;
	snprintf(table[nseries].name, NAME_MAX_LEN, "%s", name);
	table[nseries].type = type;
	slots[i] = (unsigned short)(nseries + 1);
	return &table[nseries++];
}

void
metrics_counter_add(const char *name, double v)
{
	struct series *s;

	pthread_mutex_lock(&mu);
	if ((s = lookup(name, M_COUNTER)))
		s->value += v;
	pthread_mutex_unlock(&mu);
}

void
metrics_gauge_set(const char *name, double v)
{
	struct series *s;

	pthread_mutex_lock(&mu);
	if ((s = lookup(name, M_GAUGE)))
		s->value = v;
	pthread_mutex_unlock(&mu);
}

void
metrics_observe(const char *name, double seconds)
{
	struct series *s;

	pthread_mutex_lock(&mu);
	if ((s = lookup(name, M_HISTOGRAM))) {
		s->sum += seconds;
		s->count++;
		for (size_t i = 0; i < NBUCKETS; i++)
			if (seconds <= buckets[i])
				s->bucket[i]++;
	}
	pthread_mutex_unlock(&mu);
}

/* Length of the base name (before '{'). */
static size_t
base_len(const char *name)
{
	return strcspn(name, "{");
}

/* "a,b" labels inside the braces, or "". */
static void
labels_of(const char *name, char *out, size_t outlen)
{
	const char *b = strchr(name, '{');
	size_t n;

	out[0] = '\0';
	if (!b)
		return;
	n = strlen(b + 1);
	if (n && b[n] == '}')
		n--;
	snprintf(out, outlen, "%.*s", (int)n, b + 1);
}

static int
render_one(struct wbuf *o, const struct series *s)
{
	char labels[NAME_MAX_LEN];
	int bl = (int)base_len(s->name), rc = 0;
	const char *sep;

	if (s->type != M_HISTOGRAM)
		return wb_printf(o, "%s %.17g\n", s->name, s->value);
	labels_of(s->name, labels, sizeof labels);
	sep = labels[0] ? "," : "";
	for (size_t i = 0; i < NBUCKETS; i++)
		rc |= wb_printf(o, "%.*s_bucket{%s%sle=\"%g\"} %llu\n", bl,
		                s->name, labels, sep, buckets[i], s->bucket[i]);
	rc |= wb_printf(o, "%.*s_bucket{%s%sle=\"+Inf\"} %llu\n", bl, s->name,
	                labels, sep, s->count);
	rc |= wb_printf(o, "%.*s_sum%s%s%s %.17g\n", bl, s->name,
	                labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
	                s->sum);
	rc |= wb_printf(o, "%.*s_count%s%s%s %llu\n", bl, s->name,
	                labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
	                s->count);
	return rc;
}

static const char *
help_of(const char *name, size_t bl)
{
	for (size_t i = 0; i < TY_ARRAY_LEN(helps); i++)
		if (strlen(helps[i].name) == bl &&
		    !strncmp(helps[i].name, name, bl))
			return helps[i].help;
	return NULL;
}

int
metrics_render(struct wbuf *o, double uptime_s)
{
	unsigned char done[MAX_SERIES] = {0};
	int rc = 0;

	pthread_mutex_lock(&mu);
	/* Prometheus wants every series of one metric together. */
	for (size_t i = 0; i < nseries; i++) {
		size_t bl = base_len(table[i].name);
		const char *help = help_of(table[i].name, bl);

		if (done[i])
			continue;
		if (help)
			rc |= wb_printf(o, "# HELP %.*s %s\n", (int)bl,
			                table[i].name, help);
		rc |= wb_printf(o, "# TYPE %.*s %s\n", (int)bl, table[i].name,
		                mtype_names[table[i].type]);
		for (size_t k = i; k < nseries; k++) {
			if (done[k] || table[k].type != table[i].type ||
			    base_len(table[k].name) != bl ||
			    strncmp(table[k].name, table[i].name, bl))
				continue;
			rc |= render_one(o, &table[k]);
			done[k] = 1;
		}
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

void
metrics_http(const char *route, const char *method, int status, double seconds)
{
	char name[NAME_MAX_LEN];

	snprintf(
	    name, sizeof name,
	    "trainyard_http_requests_total{route=\"%s\"%s%s%s,status=\"%d\"}",
	    route, method ? ",method=\"" : "", method ? method : "",
	    method ? "\"" : "", status);
	metrics_counter_add(name, 1);
	snprintf(name, sizeof name,
	         "trainyard_http_request_duration_seconds{route=\"%s\"}",
	         route);
	metrics_observe(name, seconds);
}
