/*
 * test_blas.c — the start-up self-check of OpenBLAS's kernels and the
 * decision that follows it: a kernel that computes wrong results, or
 * crashes, makes the check fail and the program fall back to OpenBLAS's
 * own choice; an explicit OPENBLAS_CORETYPE is respected.
 */
#include <signal.h>
#include <strings.h>

#include "../th.h"
#include "blas.h"

/* Wrong only when k == 0 (C must become beta C; this one leaves C). */
static void
gemm_bad_k0(CBLAS_ORDER o, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m,
            blasint n, blasint k, float al, const float *a, blasint lda,
            const float *b, blasint ldb, float be, float *c, blasint ldc)
{
	if (k == 0)
		return;
	cblas_sgemm(o, ta, tb, m, n, k, al, a, lda, b, ldb, be, c, ldc);
}

/* Off by a little in one element of every product. */
static void
gemm_off(CBLAS_ORDER o, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m,
         blasint n, blasint k, float al, const float *a, blasint lda,
         const float *b, blasint ldb, float be, float *c, blasint ldc)
{
	cblas_sgemm(o, ta, tb, m, n, k, al, a, lda, b, ldb, be, c, ldc);
	c[(m - 1) * ldc + n - 1] += 0.05f;
}

/* An illegal instruction, as a kernel for another CPU would raise. */
static void
gemm_sigill(CBLAS_ORDER o, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m,
            blasint n, blasint k, float al, const float *a, blasint lda,
            const float *b, blasint ldb, float be, float *c, blasint ldc)
{
	raise(SIGILL);
}

/* Wrong for a single-row matrix-vector product only. */
static void
gemv_bad_m1(CBLAS_ORDER o, CBLAS_TRANSPOSE t, blasint m, blasint n, float al,
            const float *a, blasint lda, const float *x, blasint incx, float be,
            float *y, blasint incy)
{
	cblas_sgemv(o, t, m, n, al, a, lda, x, incx, be, y, incy);
	if (m == 1)
		y[0] = -y[0] + 1.0f;
}

int
main(int argc, char **argv)
{
	(void)argc;
	/* the kernels the services run: the best core for this CPU, as
	 * their main picks it (re-executes once; an explicit
	 * OPENBLAS_CORETYPE is kept) */
	blas_select_core(argv);
	TH_TEST("OpenBLAS's own kernels pass the self-check")
	{
		CHECK(blas_selfcheck(NULL) == NULL);
	}
	static const struct {
		const char *name;
		struct blas_impl impl;
		const char *want; /* the product named in the answer */
	} bad[] = {
	    {"sgemm wrong for k=0",
	     {gemm_bad_k0, cblas_sgemv},
	     "sgemm k=0 with beta"},
	    {"sgemm off in one element",
	     {gemm_off, cblas_sgemv},
	     "sgemm NN 7x9x13"},
	    {"sgemm raises SIGILL",
	     {gemm_sigill, cblas_sgemv},
	     "crashed with SIGILL"},
	    {"sgemv wrong for m=1", {cblas_sgemm, gemv_bad_m1}, "sgemv N m=1"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		TH_TEST(bad[i].name)
		{
			const char *why = blas_selfcheck(&bad[i].impl);
			CHECK_STR(why, bad[i].want);
		}
	TH_TEST("after a fault the process carries on (handlers restored)")
	{
		struct blas_impl ill = {gemm_sigill, cblas_sgemv};
		struct sigaction before, after;
		sigaction(SIGILL, NULL, &before);
		CHECK(blas_selfcheck(&ill) != NULL);
		CHECK(blas_selfcheck(NULL) == NULL);
		sigaction(SIGILL, NULL, &after);
		CHECK(after.sa_handler == before.sa_handler);
	}
	static const struct {
		const char *name, *user, *reexec, *best, *now, *check;
		enum blas_action want;
	} rows[] = {
	    {"no better core: keep", NULL, NULL, NULL, "Haswell", NULL,
	     BLAS_KEEP},
	    {"better core: force it", NULL, NULL, "SKYLAKEX", "Haswell", NULL,
	     BLAS_FORCE},
	    {"already the best: keep", NULL, NULL, "SKYLAKEX", "SkylakeX", NULL,
	     BLAS_KEEP},
	    {"user's OPENBLAS_CORETYPE: keep, unchecked", "Haswell", NULL,
	     "SKYLAKEX", "Haswell", "sgemm m=1", BLAS_KEEP},
	    {"forced by us and checked: keep", "SKYLAKEX", "1", "SKYLAKEX",
	     "SkylakeX", NULL, BLAS_KEEP},
	    {"forced by us, check failed: fall back", "SKYLAKEX", "1",
	     "SKYLAKEX", "SkylakeX", "sgemm k=0 with beta", BLAS_FALLBACK},
	    {"after the fallback: keep (never loop)", NULL, "fallback",
	     "SKYLAKEX", "Haswell", NULL, BLAS_KEEP},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		TH_TEST(rows[i].name)
		{
			CHECK(blas_decide(rows[i].user, rows[i].reexec,
			                  rows[i].best, rows[i].now,
			                  rows[i].check) == rows[i].want);
		}
	TH_TEST("column blocks for the small-matrix kernels fit them")
	{
		static const int shapes[][3] = {
		    {64, 128, 392},  {392, 128, 64},   {32, 128, 392},
		    {64, 784, 128},  {64, 10, 128},    {1, 5, 1},
		    {64, 128, 784},  {4096, 64, 4096}, {64, 128, 0},
		    {128, 256, 392}, {7, 1000, 3}};
		size_t ns = sizeof(shapes) / sizeof(shapes[0]);
		for (size_t i = 0; i < ns; i++) {
			int m = shapes[i][0], n = shapes[i][1];
			int k = shapes[i][2], kk = k > 0 ? k : 1;
			CHECK(blas_cols_fit(0, m, n, k) == n);
			int w = blas_cols_fit(1, m, n, k);
			CHECK(w > 0 && w <= n);
			/* a narrower block: of 16s, within the kernels' 1e6
			 * multiply-adds, and the widest such */
			if (w < n)
				CHECK(w % 16 == 0 &&
				      (double)m * w * kk <= 1e6 &&
				      (double)m * (w + 16) * kk > 1e6);
		}
		/* the MLP's halves of 784-128: 32 columns */
		CHECK(blas_cols_fit(1, 64, 128, 392) == 32);
		CHECK(blas_cols_fit(1, 392, 128, 64) == 32);
		/* too big for even 16 columns: whole */
		CHECK(blas_cols_fit(1, 4096, 64, 4096) == 64);
		/* which kernels have them, by OpenBLAS's names */
		CHECK(blas_core_small("SkylakeX"));
		CHECK(blas_core_small("COOPERLAKE"));
		CHECK(blas_core_small("SapphireRapids"));
		CHECK(!blas_core_small("Haswell"));
		CHECK(!blas_core_small("Zen"));
		CHECK(!blas_core_small(NULL));
	}
	TH_TEST("a product in column blocks gives the whole product's bits")
	{
		/* the MLP's shapes, NN and TN, on the kernel in use */
		enum { M = 64, K = 392, N = 128 };
		static float a[M * K], b[K * N], c1[M * N], c2[M * N];
		static float at[K * M], b2[M * N], d1[K * N], d2[K * N];
		for (int i = 0; i < M * K; i++)
			a[i] = at[i] = (float)((i * 7919L) % 201 - 100) / 64.0f;
		for (int i = 0; i < K * N; i++)
			b[i] = (float)((i * 104729L) % 199 - 99) / 32.0f;
		for (int i = 0; i < M * N; i++)
			b2[i] = (float)((i * 31) % 97 - 48) / 16.0f;
		blas_sgemm_cols(CblasNoTrans, M, N, K, a, K, b, N, c1, N);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K,
		            1.0f, a, K, b, N, 0.0f, c2, N);
		CHECK(memcmp(c1, c2, sizeof(c1)) == 0);
		blas_sgemm_cols(CblasTrans, K, N, M, at, K, b2, N, d1, N);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, M,
		            1.0f, at, K, b2, N, 0.0f, d2, N);
		CHECK(memcmp(d1, d2, sizeof(d1)) == 0);
	}
	return th_done();
}
