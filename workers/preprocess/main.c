/*
 * trainyard-preprocess — archives in, tensors out (DESIGN.md).
 */
#include "job.h"
#include "prep.h"
#include "svc.h"

static const struct job_kind kinds[] = {
	{"inspect", prep_validate, prep_run_inspect, NULL},
	{"prepare", prep_validate, prep_run_prepare, NULL},
};

static const struct svc_def def = {
	.name = "preprocess",
	.default_port = 8081,
	.kinds = kinds,
	.nkinds = TY_ARRAY_LEN(kinds),
};

int
main(int argc, char **argv)
{
	return svc_main(argc, argv, &def);
}
