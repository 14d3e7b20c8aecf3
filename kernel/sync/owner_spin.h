/*
 * What the sleeping locks (mutex.c, rwsem.c) share to avoid convoys:
 *
 * - Spinning on a running owner: a task that finds the lock held by a
 *   task running on another CPU waits without sleeping until it lets go.
 *   Filesystem locks (tree blocks, the allocator) are held for
 *   microseconds, less than a sleep and a wake-up cost.
 * - Steals with a handoff: release wakes the first waiter to take the
 *   free lock itself, and until it runs a running task may take it first;
 *   once the waiter has waited HANDOFF_NS, release hands the lock to it
 *   before waking it, so steals cannot starve it. Handing the lock to a
 *   sleeping task at once leaves it idle for a wake-up, and its last
 *   holder, wanting it again a moment later, queues and sleeps too: once
 *   two tasks meet, every later taking costs a context switch.
 *
 * Four writers of one tree at -smp 2 spent a quarter of their time
 * switching before these (bench/fs_writers.sh, PROFILE=1).
 */
#ifndef KERNEL_SYNC_OWNER_SPIN_H
#define KERNEL_SYNC_OWNER_SPIN_H

#include "../arch/x86_64/cpu.h"
#include "../sched/sched.h"

/* How long a waiter may be overtaken before it is handed the lock
 * (Linux's mutex and rwsem: about 4 ms). */
#define HANDOFF_NS 4000000ull

/*
 * Spin while *holder is owner and owner runs on CPU cpu (where it took
 * the lock; -1: unknown), and this task's slice lasts. The owner is
 * compared with what that CPU runs, never dereferenced: it may have let
 * go and ended meanwhile. Call with no spinlock held.
 */
static inline void spin_on_owner(struct task *const *holder,
				 struct task *owner, int cpu)
{
	if (!owner || cpu < 0 || cpu == this_cpu()->id)
		return;
	preempt_disable();
	while (__atomic_load_n(holder, __ATOMIC_RELAXED) == owner &&
	       __atomic_load_n(&cpus[cpu].current, __ATOMIC_RELAXED) == owner &&
	       !__atomic_load_n(&this_cpu()->need_resched, __ATOMIC_RELAXED))
		cpu_relax();
	preempt_enable();
}

#endif
