/*
 * blas.h — choosing OpenBLAS's kernel for this CPU.
 *
 * Debian's OpenBLAS 0.3.21 is built for many CPUs and picks one at load
 * time; on AVX-512 AMD Zen 4/5 it falls back to its Haswell (AVX2) kernels,
 * about half the speed of its SkylakeX (AVX-512) ones. It reads
 * OPENBLAS_CORETYPE only while the library initialises, i.e. before main,
 * so blas_select_core() sets it and re-executes the program once. A value
 * the user set is always left alone.
 */
#ifndef TY_BLAS_H
#define TY_BLAS_H

/* The core type this CPU should use, or NULL to let OpenBLAS decide. */
const char *blas_best_core(void);

/*
 * Call first thing in main: when OPENBLAS_CORETYPE is unset and a better
 * core exists, sets it and execs /proc/self/exe with the same argv. Returns
 * only when nothing had to change (or the exec failed: then it logs and
 * carries on with OpenBLAS's own choice).
 */
void blas_select_core(char **argv);

/* OpenBLAS's name for the kernel in use ("Haswell", "SkylakeX", ...). */
const char *blas_core_name(void);

#endif
