/*
 * Test-and-set spinlocks, not fair on purpose. ghee always runs as a
 * guest, whose virtual CPUs the host runs and stops as it likes. A fair
 * (ticket) lock goes to the next waiter in line even when its vCPU is
 * stopped, and every other CPU then spins until the host runs that vCPU
 * again: under QEMU on a busy host that is milliseconds per contended
 * lock. With tickets, four writers of small files on -smp 2 at host load
 * 10-13 ran 6-16 times slower than one writer (the profile: over 90% of
 * the samples spinning in spin_lock, CPUs not idle); with test-and-set,
 * any running CPU takes a free lock. (Linux does the same in a guest
 * without paravirtual spinlocks.) Waiters spin reading the lock and try
 * the exchange only when it looks free.
 *
 * Holding one disables preemption on this CPU (a preempted holder would
 * make every other CPU spin for a whole time slice, and a task switched
 * in on this CPU could deadlock on it); the last unlock is a preemption
 * point. The _irqsave variants also
 * turn interrupts off on this CPU, so a lock shared with an interrupt
 * handler cannot deadlock against it.
 *
 * Debug checks, always on (they cost one compare): taking a lock this CPU
 * already holds (recursion, or an interrupt handler taking a lock without
 * irqsave) and releasing a lock this CPU does not hold both panic. The
 * lock-order checker (lockdep.c) sees every acquire and release.
 */
#include <ghee/sync.h>

#include "../arch/x86_64/cpu.h"
#include "../panic.h"
#include "../sched/sched.h"
#include "lockdep.h"

void spin_init(struct spinlock *l, const char *name)
{
	l->taken = 0;
	l->holder = 0;
	l->name = name;
	l->class = 0;
}

void spin_lock(struct spinlock *l)
{
	int me;

	preempt_disable();
	me = this_cpu()->id + 1;
	if (__atomic_load_n(&l->holder, __ATOMIC_RELAXED) == me)
		panic("spinlock %s: recursive lock on cpu %d", l->name, me - 1);
	lockdep_acquire(l, &l->class, l->name, LOCKDEP_SPIN, 0, 0);
	while (__atomic_exchange_n(&l->taken, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->taken, __ATOMIC_RELAXED))
			cpu_relax();
	l->holder = me;
}

/* Release without the preemption point (for spin_unlock_irqrestore). */
static void unlock(struct spinlock *l)
{
	if (l->holder != this_cpu()->id + 1)
		panic("spinlock %s: unlocked but not held by cpu %d", l->name,
		      this_cpu()->id);
	lockdep_release(l, l->name, LOCKDEP_SPIN);
	l->holder = 0;
	__atomic_store_n(&l->taken, 0, __ATOMIC_RELEASE);
}

void spin_unlock(struct spinlock *l)
{
	unlock(l);
	preempt_enable();
}

unsigned long spin_lock_irqsave(struct spinlock *l)
{
	unsigned long flags = irq_save();

	spin_lock(l);
	return flags;
}

void spin_unlock_irqrestore(struct spinlock *l, unsigned long flags)
{
	unlock(l);
	irq_restore(flags);
	preempt_enable();
}

void spin_assert_held(struct spinlock *l)
{
	if (__atomic_load_n(&l->holder, __ATOMIC_RELAXED) != this_cpu()->id + 1)
		panic("spinlock %s: not held by cpu %d", l->name,
		      this_cpu()->id);
}
