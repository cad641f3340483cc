/*
 * trainyard-preprocess — archives in, tensors out (DESIGN.md).
 */
#include <stdlib.h>

#include "job.h"
#include "prep.h"
#include "svc.h"

static const struct job_kind kinds[] = {
    {"inspect", prep_validate, prep_run_inspect, NULL},
    {"prepare", prep_validate, prep_run_prepare, NULL},
};

static int
init(int argc, char **argv)
{
	struct prep_limits l;

	/*
	 * libarchive turns every zip entry's DOS time into a time_t with
	 * mktime(), and glibc re-reads /etc/localtime on each call when TZ
	 * is unset: a third of the CPU time on small images. The times are
	 * never used, so any fixed zone will do.
	 */
	setenv("TZ", "UTC", 0);
	prep_limits_init(argc, argv, &l);
	prep_limits_use(&l);
	ty_log("limits: %llu entries, %llu MB total, %llu MB per file, "
	       "%llu pixels per image, %llu MB of tensors, ratio %g",
	       (unsigned long long)l.max_entries,
	       (unsigned long long)(l.max_total >> 20),
	       (unsigned long long)(l.max_entry >> 20),
	       (unsigned long long)l.max_pixels,
	       (unsigned long long)(l.max_output >> 20), l.max_ratio);
	return 0;
}

static const struct svc_mount jobs = JOB_MOUNT(kinds);

static const struct svc_def def = {
    .name = "preprocess",
    .default_port = 8081,
    .mount = &jobs,
    .init = init,
};

int
main(int argc, char **argv)
{
	return svc_main(argc, argv, &def);
}
