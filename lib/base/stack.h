/*
 * stack.h — the thread-stack floor of every binary.
 *
 * Debian's CivetWeb is built to give each of its worker threads a 100 KiB
 * stack, and glibc places static TLS at the top of a thread's stack
 * (OpenBLAS alone takes 60 KB of it; under AddressSanitizer about 14 KiB
 * are left for a request): not enough for SQLite, argon2, image decoders,
 * BLAS and cJSON. stack.c defines pthread_attr_setstacksize, which
 * interposes the C library's for libcivetweb, and raises every request
 * below the floor to it. The web app and the svc shell both set the floor
 * before they start CivetWeb; handlers then run on CivetWeb's own threads.
 */
#ifndef TY_STACK_H
#define TY_STACK_H

#include <stddef.h>

/* Threads created from now on get at least bytes of stack. */
void stack_floor_set(size_t bytes);

#endif
