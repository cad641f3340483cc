/*
 * metrics_sys.c — what the kernel knows about this process and its
 * volumes, as gauges of the metrics table (metrics.h): resident memory
 * (the name Prometheus client libraries use, so dashboards built for
 * them work) and the free and total bytes of each volume.
 */
#include <stdio.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "metrics.h"

/* Resident set size in bytes from /proc/self/statm; -1 if unreadable. */
static double
rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long long size, resident;
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	if (n != 2)
		return -1;
	return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

void
metrics_sys_update(const char *const *names, const char *const *dirs, size_t n)
{
	double rss = rss_bytes();
	char key[160];

	if (rss >= 0)
		metrics_gauge_set("process_resident_memory_bytes", rss);
	for (size_t i = 0; i < n; i++) {
		struct statvfs sv;

		if (!dirs[i] || statvfs(dirs[i], &sv) < 0)
			continue;
		snprintf(key, sizeof(key),
		         "trainyard_volume_free_bytes{volume=\"%s\"}",
		         names[i]);
		metrics_gauge_set(key, (double)sv.f_bavail * sv.f_frsize);
		snprintf(key, sizeof(key),
		         "trainyard_volume_size_bytes{volume=\"%s\"}",
		         names[i]);
		metrics_gauge_set(key, (double)sv.f_blocks * sv.f_frsize);
	}
}
