/*
 * blas.h — choosing OpenBLAS's kernel for this CPU, safely.
 *
 * Debian's OpenBLAS 0.3.21 is built for many CPUs and picks one at load
 * time; on AVX-512 AMD Zen 4/5 it falls back to its Haswell (AVX2) kernels,
 * about half the speed of its SkylakeX (AVX-512) ones. It reads
 * OPENBLAS_CORETYPE only while the library initialises, i.e. before main,
 * so blas_select_core() sets it and re-executes the program once. A value
 * the user set is always left alone.
 *
 * Some OpenBLAS builds compute wrong results, or crash, with a forced core
 * type on some processors. So after the re-exec the forced kernels must
 * pass a self-check (small sgemm/sgemv products against plain C, edge
 * shapes included); if they do not, the program re-executes once more
 * without OPENBLAS_CORETYPE and logs why.
 */
#ifndef TY_BLAS_H
#define TY_BLAS_H

#include <cblas.h>

/* The core type this CPU should use, or NULL to let OpenBLAS decide. */
const char *blas_best_core(void);

/*
 * Call first thing in main: when OPENBLAS_CORETYPE is unset and a better
 * core exists, sets it and execs /proc/self/exe with the same argv; after
 * that exec, checks the forced kernels and, if they fail, execs again with
 * OpenBLAS's own choice. Returns only when nothing (more) has to change (or
 * an exec failed: then it logs and carries on).
 * TRAINYARD_BLAS_SELFCHECK=fail makes the check fail (to try the fallback).
 */
void blas_select_core(char **argv);

/* OpenBLAS's name for the kernel in use ("Haswell", "SkylakeX", ...). */
const char *blas_core_name(void);

/*
 * C (m x n) = op(A) B, row-major, op(A) = A or its transpose (ta), in
 * blocks of columns that OpenBLAS's small-matrix sgemm kernels take.
 * OpenBLAS (0.3.17 on) runs products of at most 1e6 multiply-adds on its
 * SkylakeX-class cores with kernels that read both matrices in place: no
 * packing copies and no separate pass that zeroes C. On the MLP's
 * 64 x 128 x 392 products (one thread's half of the first layer) they
 * did 110 GFLOP/s in blocks of 32 columns against 96 whole (bench in
 * docs/engine.md). Same blocks for the same shapes, so the sums' order
 * is fixed run to run; one whole product on other kernels.
 */
void blas_sgemm_cols(CBLAS_TRANSPOSE ta, int m, int n, int k, const float *a,
                     int lda, const float *b, int ldb, float *c, int ldc);
/* Whether OpenBLAS's kernel `core` (its name) has those small kernels. */
int blas_core_small(const char *core);
/* The widest block of 16s with m x cols x k <= 1e6 on a core that has
 * them (small), at most n; n otherwise (exposed for tests). */
int blas_cols_fit(int small, int m, int n, int k);

/* The two BLAS entry points the engine relies on, as the check sees them. */
struct blas_impl {
	void (*sgemm)(CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, blasint,
	              blasint, blasint, float, const float *, blasint,
	              const float *, blasint, float, float *, blasint);
	void (*sgemv)(CBLAS_ORDER, CBLAS_TRANSPOSE, blasint, blasint, float,
	              const float *, blasint, const float *, blasint, float,
	              float *, blasint);
};

/*
 * Runs impl's sgemm and sgemv (NULL: OpenBLAS's) on small products of
 * every transpose and edge shapes (k = 0, m = 1, n = 1, beta != 0) against
 * a plain C reference. Returns NULL when all agree, else a static text
 * naming the first product that did not (a crash inside — SIGILL,
 * SIGSEGV, SIGBUS, SIGFPE — counts as a failure, not a crash).
 */
const char *blas_selfcheck(const struct blas_impl *impl);

/* What blas_select_core does, given what it sees (exposed for tests). */
enum blas_action {
	BLAS_KEEP,     /* nothing to change */
	BLAS_FORCE,    /* set OPENBLAS_CORETYPE=best and re-exec */
	BLAS_FALLBACK, /* forced kernels failed: unset it and re-exec */
};
/*
 * user_core: OPENBLAS_CORETYPE as found; reexec: TRAINYARD_BLAS_REEXEC as
 * found (set by our own re-exec); best: blas_best_core(); now: the kernel
 * in use; check: blas_selfcheck()'s answer (only consulted after our own
 * re-exec).
 */
enum blas_action blas_decide(const char *user_core, const char *reexec,
                             const char *best, const char *now,
                             const char *check);

#endif
