/*
 * conv_vec.h — the vector type and load-time clones shared by the
 * convolution kernels (conv_kern.c, conv_wino.c). Include it from a .c
 * file only: it sets the file's optimisation flags.
 */
#ifndef CONV_VEC_H
#define CONV_VEC_H

#if defined(__GNUC__) && !defined(__clang__)
/* a*b + c into one FMA instruction where the clone has FMA (-std=c11
 * turns contraction off) */
#pragma GCC optimize("O3", "fp-contract=fast")
#endif

typedef float vf __attribute__((vector_size(64)));
/* the same, at any float's address */
typedef float vfu __attribute__((vector_size(64), aligned(4), may_alias));

/*
 * Three copies of each kernel, chosen at load time by what the CPU has:
 * AVX-512, x86-64-v3 (AVX2 with FMA: NN_SIMD's "avx2" has no FMA, which
 * halves these loops) and the baseline. NN_CONV_ONE_TARGET builds one
 * copy for the compiler's own -m flags (tests of each variant).
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&         \
    !defined(NN_CONV_ONE_TARGET)
#define CONV_SIMD                                                              \
	__attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
#else
#define CONV_SIMD
#endif

#define VL 16 /* floats a vector */

#define INLINE static inline __attribute__((always_inline))

/* (macros: a function returning a vector draws GCC's ABI notes) */
#define ld(p) (*(const vfu *)(p))
#define st(p, v) (*(vfu *)(p) = (v))

#endif
