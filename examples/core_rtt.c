/*
 * core_rtt.c — how far apart the first two CPUs are: the round trip of
 * one cache line between a thread pinned to each, in nanoseconds (median
 * of 31 runs of 5,000 trips, and the least, which a busy machine hardly
 * lifts). The training bench prints it beside every run: the 2-thread
 * MLP step exchanges rows and meets at barriers several times, and on
 * this VM the host moved the two vCPUs between ~65 ns apart (one CCD) and
 * ~320 ns (two), which moved the same binary between ~290k and ~180k
 * images/s.
 *
 *	bin/core_rtt [cpu_a cpu_b]     prints one JSON line
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

enum { TRIPS = 5000, RUNS = 31 };

static _Alignas(64) atomic_int ball;

static int
pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	return pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

/* The other side: returns every serve (unpinned if it cannot pin:
 * the trips must end either way). */
static void *
partner(void *arg)
{
	(void)pin(*(int *)arg);
	for (int r = 0; r < RUNS; r++)
		for (int i = 0; i < TRIPS; i++) {
			int serve = 2 * (r * TRIPS + i) + 1;
			while (atomic_load_explicit(
			           &ball, memory_order_acquire) != serve)
				;
			atomic_store_explicit(&ball, serve + 1,
			                      memory_order_release);
		}
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	int a = argc > 2 ? atoi(argv[1]) : 0, b = argc > 2 ? atoi(argv[2]) : 1;
	if (util_ncpu() < 2 || pin(a) != 0) {
		printf(
		    "{\"rtt_ns\": null, \"why\": \"fewer than two CPUs\"}\n");
		return 0;
	}
	pthread_t t;
	if (pthread_create(&t, NULL, partner, &b) != 0)
		return 1;
	double ns[RUNS];
	for (int r = 0; r < RUNS; r++) {
		double t0 = util_now();
		for (int i = 0; i < TRIPS; i++) {
			int serve = 2 * (r * TRIPS + i) + 1;
			atomic_store_explicit(&ball, serve,
			                      memory_order_release);
			while (atomic_load_explicit(
			           &ball, memory_order_acquire) != serve + 1)
				;
		}
		ns[r] = (util_now() - t0) * 1e9 / TRIPS;
	}
	pthread_join(t, NULL);
	qsort(ns, RUNS, sizeof(ns[0]), cmp);
	printf("{\"cpus\": [%d, %d], \"rtt_ns\": %.1f, \"min_ns\": %.1f, "
	       "\"max_ns\": %.1f}\n",
	       a, b, ns[RUNS / 2], ns[0], ns[RUNS - 1]);
	return 0;
}
