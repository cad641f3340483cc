/* blas.c — see blas.h. */
#include "blas.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* ---- the self-check ---------------------------------------------------- */

/* One product: C (m x n) = alpha op(A) op(B) + beta C, row-major. */
struct gemm_case {
	const char *name;
	int ta, tb, m, n, k;
	float beta;
};

static const struct gemm_case gemm_cases[] = {
    {"sgemm NN 7x9x13", 0, 0, 7, 9, 13, 0.0f},
    {"sgemm NT 16x33x40", 0, 1, 16, 33, 40, 0.0f},
    {"sgemm TN 33x16x40", 1, 0, 33, 16, 40, 1.0f},
    {"sgemm TT 5x6x17", 1, 1, 5, 6, 17, 0.5f},
    {"sgemm NN 64x128x392", 0, 0, 64, 128, 392, 0.0f},
    /* blas_sgemm_cols's blocks: the small-matrix kernels */
    {"sgemm NN 64x32x392", 0, 0, 64, 32, 392, 0.0f},
    {"sgemm TN 392x32x64", 1, 0, 392, 32, 64, 0.0f},
    {"sgemm k=0 with beta", 0, 0, 4, 5, 0, 0.5f},
    {"sgemm m=1", 0, 1, 1, 31, 20, 0.0f},
    {"sgemm n=1", 1, 0, 29, 1, 18, 1.0f},
};

struct gemv_case {
	const char *name;
	int trans, m, n;
	float beta;
};

static const struct gemv_case gemv_cases[] = {
    {"sgemv N 37x19", 0, 37, 19, 0.0f},
    {"sgemv T 37x19", 1, 37, 19, 1.0f},
    {"sgemv N m=1", 0, 1, 23, 0.0f},
    {"sgemv T n=1", 1, 17, 1, 0.5f},
};

/* Deterministic values with both signs and a spread of magnitudes. */
static void
fill(float *x, int n, unsigned seed)
{
	for (int i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		x[i] = (float)((int)((seed >> 16) % 2001) - 1000) / 500.0f;
	}
}

static int
close_enough(const float *got, const double *want, int n, int k)
{
	/* float sums of k terms of size <= 4 each: a generous bound that
	 * still catches a wrong kernel (errors there are O(1)) */
	double tol = 1e-4 * (k + 1) * 4.0;
	for (int i = 0; i < n; i++)
		if (!(fabs(got[i] - want[i]) <= tol))
			return 0;
	return 1;
}

/* Scratch for every case, allocated before the check so that a fault
 * inside a BLAS call leaks nothing. */
#define SCRATCH_F 32768
struct scratch {
	float a[SCRATCH_F], b[SCRATCH_F * 2], c[SCRATCH_F / 2];
	double want[SCRATCH_F / 2];
};

static const char *
check_gemm(const struct blas_impl *b, const struct gemm_case *t,
           struct scratch *scr)
{
	int lda = t->ta ? t->m : t->k, ldb = t->tb ? t->k : t->n;
	int na = t->m * t->k, nb = t->k * t->n, nc = t->m * t->n;
	float *a = scr->a, *bb = scr->b, *c = scr->c;
	double *want = scr->want;
	fill(a, na, 1), fill(bb, nb, 2), fill(c, nc, 3);
	for (int i = 0; i < t->m; i++)
		for (int j = 0; j < t->n; j++) {
			double s = 0;
			for (int p = 0; p < t->k; p++) {
				float x =
				    t->ta ? a[p * lda + i] : a[i * lda + p];
				float y =
				    t->tb ? bb[j * ldb + p] : bb[p * ldb + j];
				s += (double)x * y;
			}
			want[i * t->n + j] =
			    0.75 * s + (double)t->beta * c[i * t->n + j];
		}
	b->sgemm(CblasRowMajor, t->ta ? CblasTrans : CblasNoTrans,
	         t->tb ? CblasTrans : CblasNoTrans, t->m, t->n, t->k, 0.75f, a,
	         lda > 0 ? lda : 1, bb, ldb, t->beta, c, t->n);
	return close_enough(c, want, nc, t->k) ? NULL : t->name;
}

static const char *
check_gemv(const struct blas_impl *b, const struct gemv_case *t,
           struct scratch *scr)
{
	int nx = t->trans ? t->m : t->n, ny = t->trans ? t->n : t->m;
	float *a = scr->a, *x = scr->b, *y = scr->c;
	double *want = scr->want;
	fill(a, t->m * t->n, 4), fill(x, nx, 5), fill(y, ny, 6);
	for (int i = 0; i < ny; i++) {
		double s = 0;
		for (int p = 0; p < nx; p++)
			s += (double)(t->trans ? a[p * t->n + i]
			                       : a[i * t->n + p]) *
			     x[p];
		want[i] = 0.75 * s + (double)t->beta * y[i];
	}
	b->sgemv(CblasRowMajor, t->trans ? CblasTrans : CblasNoTrans, t->m,
	         t->n, 0.75f, a, t->n, x, 1, t->beta, y, 1);
	return close_enough(y, want, ny, nx) ? NULL : t->name;
}

static sigjmp_buf check_jmp;
static volatile sig_atomic_t check_sig;

static void
on_fault(int sig)
{
	check_sig = sig;
	siglongjmp(check_jmp, 1);
}

static const char *
run_checks(const struct blas_impl *b, struct scratch *scr)
{
	const char *why = NULL;
	for (size_t i = 0; !why && i < TY_ARRAY_LEN(gemm_cases); i++)
		why = check_gemm(b, &gemm_cases[i], scr);
	for (size_t i = 0; !why && i < TY_ARRAY_LEN(gemv_cases); i++)
		why = check_gemv(b, &gemv_cases[i], scr);
	return why;
}

const char *
blas_selfcheck(const struct blas_impl *impl)
{
	static const int sigs[] = {SIGILL, SIGSEGV, SIGBUS, SIGFPE};
	static const char *const sig_names[] = {
	    "crashed with SIGILL", "crashed with SIGSEGV",
	    "crashed with SIGBUS", "crashed with SIGFPE"};
	static const struct blas_impl lib = {cblas_sgemm, cblas_sgemv};
	const struct blas_impl *volatile b = impl ? impl : &lib;
	struct scratch *volatile scr = xmalloc(sizeof(*scr));
	struct sigaction sa, old[4];
	const char *volatile why = NULL;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 4; i++)
		sigaction(sigs[i], &sa, &old[i]);
	check_sig = 0;
	/* A fault leaves the BLAS call half done, possibly with memory
	 * leaked or a lock held: the caller re-executes right after. */
	if (sigsetjmp(check_jmp, 1) == 0) {
		why = run_checks(b, scr);
	} else {
		why = "a BLAS call";
		for (int i = 0; i < 4; i++)
			if (check_sig == sigs[i])
				why = sig_names[i];
	}
	for (int i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
	free(scr);
	return why;
}

/* ---- choosing, re-executing --------------------------------------------- */

enum blas_action
blas_decide(const char *user_core, const char *reexec, const char *best,
            const char *now, const char *check)
{
	if (reexec && strcmp(reexec, "1") == 0 && user_core)
		return check ? BLAS_FALLBACK : BLAS_KEEP;
	if (user_core || reexec || !best)
		return BLAS_KEEP;
	if (now && strcasecmp(now, best) == 0)
		return BLAS_KEEP;
	return BLAS_FORCE;
}

static void
reexec(char **argv, const char *what)
{
	execv("/proc/self/exe", argv);
	ty_log("re-exec %s failed: %s", what, strerror(errno));
}

void
blas_select_core(char **argv)
{
	const char *user = getenv("OPENBLAS_CORETYPE");
	const char *again = getenv("TRAINYARD_BLAS_REEXEC");
	const char *best = blas_best_core();
	const char *check = NULL;
	if (again && strcmp(again, "1") == 0 && user) {
		const char *force = getenv("TRAINYARD_BLAS_SELFCHECK");
		check = force && strcmp(force, "fail") == 0
		            ? "TRAINYARD_BLAS_SELFCHECK=fail"
		            : blas_selfcheck(NULL);
	}
	switch (
	    blas_decide(user, again, best, openblas_get_corename(), check)) {
	case BLAS_KEEP:
		return;
	case BLAS_FORCE:
		setenv("OPENBLAS_CORETYPE", best, 1);
		setenv("TRAINYARD_BLAS_REEXEC", "1", 1); /* never loop */
		reexec(argv, "for OPENBLAS_CORETYPE");
		return;
	case BLAS_FALLBACK:
		ty_log(
		    "OpenBLAS kernel %s failed the start-up self-check (%s): "
		    "falling back to OpenBLAS's own choice",
		    user, check);
		unsetenv("OPENBLAS_CORETYPE");
		setenv("TRAINYARD_BLAS_REEXEC", "fallback", 1);
		reexec(argv, "without OPENBLAS_CORETYPE");
		return;
	}
}

int
blas_cols_fit(int small, int m, int n, int k)
{
	double mk = (double)m * (k > 0 ? k : 1);
	if (!small || mk * 16 > 1e6)
		return n;
	int w = (int)(1e6 / mk) & ~15;
	return w >= n ? n : w;
}

int
blas_core_small(const char *core)
{
	return core && (!strcasecmp(core, "skylakex") ||
	                !strcasecmp(core, "cooperlake") ||
	                !strcasecmp(core, "sapphirerapids"));
}

void
blas_sgemm_cols(CBLAS_TRANSPOSE ta, int m, int n, int k, const float *a,
                int lda, const float *b, int ldb, float *c, int ldc)
{
	static _Atomic int small = -1;
	if (small < 0)
		small = blas_core_small(openblas_get_corename());
	int w = blas_cols_fit(small, m, n, k);
	for (int j = 0; j < n; j += w)
		cblas_sgemm(CblasRowMajor, ta, CblasNoTrans, m,
		            n - j < w ? n - j : w, k, 1.0f, a, lda, b + j, ldb,
		            0.0f, c + j, ldc);
}

const char *
blas_core_name(void)
{
	return openblas_get_corename();
}
