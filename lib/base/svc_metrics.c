/*
 * svc_metrics.c — a fixed table of Prometheus series (counters, gauges,
 * histograms) and its text rendering for GET /metrics.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc.h"
#include "svc_int.h"

#define MAX_SERIES 256
#define NAME_MAX_LEN 200

enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM };

static const char *const mtype_names[] = {"counter", "gauge", "histogram"};

/* Seconds; the last bucket is +Inf. */
static const double buckets[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5,
	30, 120, 600};
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

/* Finds or adds a series; NULL when the table is full. Under mu. */
static struct series *
lookup(const char *name, enum mtype type)
{
	for (size_t i = 0; i < nseries; i++)
		if (table[i].type == type && !strcmp(table[i].name, name))
			return &table[i];
	if (nseries == MAX_SERIES || strlen(name) >= NAME_MAX_LEN)
		return NULL;
	snprintf(table[nseries].name, NAME_MAX_LEN, "%s", name);
	table[nseries].type = type;
	return &table[nseries++];
}

void
svc_counter_add(const char *name, double v)
{
	struct series *s;

	pthread_mutex_lock(&mu);
	if ((s = lookup(name, M_COUNTER)))
		s->value += v;
	pthread_mutex_unlock(&mu);
}

void
svc_gauge_set(const char *name, double v)
{
	struct series *s;

	pthread_mutex_lock(&mu);
	if ((s = lookup(name, M_GAUGE)))
		s->value = v;
	pthread_mutex_unlock(&mu);
}

void
svc_histogram_observe(const char *name, double seconds)
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

static void
render_one(struct svc_buf *o, const struct series *s)
{
	char labels[NAME_MAX_LEN];
	int bl = (int)base_len(s->name);
	const char *sep;
	unsigned long long cum;

	if (s->type != M_HISTOGRAM) {
		svc_buf_printf(o, "%s %.17g\n", s->name, s->value);
		return;
	}
	labels_of(s->name, labels, sizeof labels);
	sep = labels[0] ? "," : "";
	for (size_t i = 0; i < NBUCKETS; i++) {
		cum = s->bucket[i];
		svc_buf_printf(o, "%.*s_bucket{%s%sle=\"%g\"} %llu\n", bl,
		    s->name, labels, sep, buckets[i], cum);
	}
	svc_buf_printf(o, "%.*s_bucket{%s%sle=\"+Inf\"} %llu\n", bl, s->name,
	    labels, sep, s->count);
	svc_buf_printf(o, "%.*s_sum%s%s%s %.17g\n", bl, s->name,
	    labels[0] ? "{" : "", labels, labels[0] ? "}" : "", s->sum);
	svc_buf_printf(o, "%.*s_count%s%s%s %llu\n", bl, s->name,
	    labels[0] ? "{" : "", labels, labels[0] ? "}" : "", s->count);
}

void
svc_metrics_render(struct svc_buf *o)
{
	unsigned char done[MAX_SERIES] = {0};

	pthread_mutex_lock(&mu);
	/* Prometheus wants every series of one metric together. */
	for (size_t i = 0; i < nseries; i++) {
		size_t bl = base_len(table[i].name);

		if (done[i])
			continue;
		svc_buf_printf(o, "# TYPE %.*s %s\n", (int)bl, table[i].name,
		    mtype_names[table[i].type]);
		for (size_t k = i; k < nseries; k++) {
			if (done[k] || table[k].type != table[i].type ||
			    base_len(table[k].name) != bl ||
			    strncmp(table[k].name, table[i].name, bl))
				continue;
			render_one(o, &table[k]);
			done[k] = 1;
		}
	}
	pthread_mutex_unlock(&mu);
}
