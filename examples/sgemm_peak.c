/*
 * sgemm_peak.c — the machine's single-precision GEMM peak through
 * OpenBLAS, with the kernel blas_select_core() picks for this CPU (unless
 * OPENBLAS_CORETYPE is set): the yardstick for the training bench.
 *
 *	bin/sgemm_peak [threads] [n]     prints one JSON line
 */
#include <stdio.h>
#include <stdlib.h>

#include <cblas.h>

#include "blas.h"
#include "util.h"

int
main(int argc, char **argv)
{
	blas_select_core(argv);
	int threads = argc > 1 ? atoi(argv[1]) : util_ncpu();
	int n = argc > 2 ? atoi(argv[2]) : 2048;
	openblas_set_num_threads(threads < 1 ? 1 : threads);
	float *a = xmalloc(sizeof(float) * n * n);
	float *b = xmalloc(sizeof(float) * n * n);
	float *c = xmalloc(sizeof(float) * n * n);
	for (long i = 0; i < (long)n * n; i++)
		a[i] = (float)(i % 7) * 0.1f, b[i] = (float)(i % 5) * 0.2f;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n,
	            b, n, 0, c, n);
	double best = 0;
	for (int r = 0; r < 5; r++) {
		double t0 = util_now();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n,
		            1, a, n, b, n, 0, c, n);
		double g = 2.0 * n * n * (double)n / (util_now() - t0) / 1e9;
		best = g > best ? g : best;
	}
	printf("{\"core\": \"%s\", \"best_core\": \"%s\", \"threads\": %d, "
	       "\"n\": %d, \"gflops\": %.1f}\n",
	       blas_core_name(), blas_best_core() ? blas_best_core() : "auto",
	       threads, n, best);
	free(a);
	free(b);
	free(c);
	return 0;
}
