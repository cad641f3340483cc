/*
 * nn_sync.h — how the engine's threads wait for each other (the pool's
 * start and end of a run, the MLP team's barriers).
 *
 * A waiter spins for up to NN_SYNC_SPIN_NS, then sleeps on a futex. The
 * threads of a training step arrive within microseconds of each other,
 * while a futex sleep and wake costs tens of them in a VM (the sleeping
 * vCPU halts and the host must wake it). The budget is time, not a count
 * of PAUSE instructions, because PAUSE takes ~3 ns on some x86 cores and
 * ~45 ns on others (Zen 4, Skylake-X); the old plain-load spin of the
 * pool gave up after ~6 us, so the main thread slept at the end of most
 * MLP steps. After the budget the waiter sleeps, so a thread whose
 * partner lost its core (a busy machine, a CPU quota) does not burn the
 * time the partner needs.
 *
 * Waker: change the word (seq_cst), then nn_sync_wake. Waiter:
 * nn_sync_wait(word, the value it saw). The sleepers count is raised
 * before the word is read again and the futex re-checks the value, so no
 * wake is lost.
 */
#ifndef TY_NN_SYNC_H
#define TY_NN_SYNC_H

#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NN_SYNC_SPIN_NS 100000L

static inline void
nn_sync_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline long
nn_sync_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Returns when *w != old. */
static inline void
nn_sync_wait(atomic_uint *w, unsigned old, atomic_int *sleepers)
{
	long until = 0;
	for (unsigned i = 1;; i++) {
		if (atomic_load_explicit(w, memory_order_acquire) != old)
			return;
		nn_sync_relax();
		if (i % 32 == 0) { /* a clock read is ~20 ns: not every turn */
			long now = nn_sync_ns();
			if (!until)
				until = now + NN_SYNC_SPIN_NS;
			else if (now > until)
				break;
		}
	}
	atomic_fetch_add(sleepers, 1);
	while (atomic_load(w) == old)
		syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, old, NULL, NULL, 0);
	atomic_fetch_sub(sleepers, 1);
}

/* After changing *w: wakes every thread asleep on it. */
static inline void
nn_sync_wake(atomic_uint *w, atomic_int *sleepers)
{
	if (atomic_load(sleepers))
		syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL,
		        0);
}

#endif
