/*
 * nn_sync.h — how the engine's threads wait for each other (the pool's
 * start and end of a run, the MLP team's barriers).
 *
 * A waiter spins, then sleeps on a futex. How long it spins adapts to
 * how long its waits have been. On a quiet machine the threads of a step
 * arrive within microseconds of each other, and a futex sleep and wake
 * costs tens of them in a VM (the sleeping vCPU halts and the host must
 * wake it): spinning up to NN_SYNC_SPIN_NS (100 us) ran the 2-thread MLP
 * at 275-311k images/s, 5 us at 202-262k. On a machine busy with other
 * work the partner is often preempted for milliseconds, and spinning
 * takes the core it needs: 100 us ran at 64-78k, 5 us at 153-167k
 * (interleaved --run pairs, 2026-12-07 13:36). So each thread keeps the
 * share of its recent waits whose partner came more than NN_SYNC_SLOW_NS
 * (20 us) after it, and spins the long budget while that share is under a
 * quarter, NN_SYNC_SHORT_NS (5 us) otherwise. Lateness is the partner's
 * release time (stamped by the waker) less the waiter's arrival, not how
 * long the waiter took to return: a first version counted that, and once
 * it had gone short on a slow start its own futex wakes (tens of us) kept
 * it short on a quiet machine (162k images/s with 15 % of the samples in
 * the scheduler); at load 3.4-4.2 that first rule ran 1.58x the old
 * fixed spins. This one, against the code before both (interleaved --run
 * pairs, 14:39-14:44): quiet 1.14x, beside two CPU hogs 1.29x (a fixed 5
 * us spin 1.01x there, a fixed 100 us 1.14x quiet). The budget is time,
 * not a count of PAUSE instructions: PAUSE takes ~3 ns on some x86 cores,
 * ~45 ns on others.
 *
 * Waker: nn_sync_stamp(at), change the word (seq_cst), nn_sync_wake.
 * Waiter: nn_sync_wait(word, the value it saw, ..., at). The sleepers
 * count is raised before the word is read again and the futex re-checks
 * the value, so no wake is lost.
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
#define NN_SYNC_SHORT_NS 5000L
#define NN_SYNC_SLOW_NS 20000L

/* One thread's record of its waits at one kind of meeting. */
struct nn_spin {
	float slow; /* moving share of partners later than NN_SYNC_SLOW_NS */
};

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

/* Before releasing a meeting: when it was released (the latest of the
 * stamps, when several threads release together). */
static inline void
nn_sync_stamp(_Atomic long *at)
{
	long now = nn_sync_ns(),
	     was = atomic_load_explicit(at, memory_order_relaxed);
	while (was < now &&
	       !atomic_compare_exchange_weak_explicit(
	           at, &was, now, memory_order_relaxed, memory_order_relaxed))
		;
}

/* Returns when *w != old; at: the releaser's nn_sync_stamp. */
static inline void
nn_sync_wait(atomic_uint *w, unsigned old, atomic_int *sleepers,
             const _Atomic long *at, struct nn_spin *sp)
{
	long budget = sp->slow < 0.25f ? NN_SYNC_SPIN_NS : NN_SYNC_SHORT_NS;
	long t0 = 0, until = 0;
	for (unsigned i = 1;; i++) {
		if (atomic_load_explicit(w, memory_order_acquire) != old)
			goto done;
		nn_sync_relax();
		if (i % 32 == 0) { /* a clock read is ~20 ns: not every turn */
			long now = nn_sync_ns();
			if (!t0)
				t0 = now, until = now + budget;
			else if (now > until)
				break;
		}
	}
	atomic_fetch_add(sleepers, 1);
	while (atomic_load(w) == old)
		syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, old, NULL, NULL, 0);
	atomic_fetch_sub(sleepers, 1);
done:;
	/* how late the partner came; waits that ended before the first
	 * clock read count as prompt */
	float slow = t0 && atomic_load_explicit(at, memory_order_relaxed) - t0 >
	                       NN_SYNC_SLOW_NS;
	sp->slow += (slow - sp->slow) * (1.0f / 16);
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
