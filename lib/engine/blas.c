/* blas.c — see blas.h. */
#include "blas.h"

#include <cblas.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static int
has_skylakex(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") &&
	       __builtin_cpu_supports("avx512dq") &&
	       __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vl");
}

const char *
blas_best_core(void)
{
	/* Intel parts with AVX-512 are found by OpenBLAS itself; the gap
	 * is AMD (Zen 4 and later), which it treats as Haswell. */
	return has_skylakex() ? "SKYLAKEX" : NULL;
}

void
blas_select_core(char **argv)
{
	const char *best;
	if (getenv("OPENBLAS_CORETYPE") || getenv("TRAINYARD_BLAS_REEXEC"))
		return;
	best = blas_best_core();
	if (!best)
		return;
	const char *now = openblas_get_corename();
	if (now && strcasecmp(now, best) == 0)
		return;
	setenv("OPENBLAS_CORETYPE", best, 1);
	setenv("TRAINYARD_BLAS_REEXEC", "1", 1); /* never loop */
	execv("/proc/self/exe", argv);
	ty_log("re-exec for OPENBLAS_CORETYPE=%s failed: %s", best,
	       strerror(errno));
}

const char *
blas_core_name(void)
{
	return openblas_get_corename();
}
