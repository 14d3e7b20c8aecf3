/*
 * Sleeping mutex. A task that finds it held by a task running on another
 * CPU spins until it is free; otherwise it queues FIFO and sleeps.
 * mutex_unlock wakes the first waiter to take the mutex itself, and a
 * running task may take it first until that waiter has waited
 * HANDOFF_NS; from then on unlock makes the waiter the owner before
 * waking it, so a task that keeps re-locking cannot starve the waiters
 * (owner_spin.h says why not always hand over).
 *
 * Waiters are records on their own stacks, queued on m->waiters; only
 * the first one takes a free mutex from the queue. wait_lock (a
 * spinlock, irqsave so that its callers may run with interrupts in any
 * state) is ranked just above sched_lock, which task_wake takes inside
 * it. owner and owner_cpu are also read without it, atomically, by
 * spinners and mutex_assert_held.
 *
 * Debug checks: locking a mutex the task already owns, and unlocking one
 * it does not own, panic; lockdep.c checks the order and that the caller
 * may sleep.
 */
#include <ghee/sync.h>
#include <ghee/time.h>

#include "../panic.h"
#include "../sched/sched.h"
#include "lockdep.h"
#include "owner_spin.h"

struct mutex_waiter {
	struct task *task;		/* [I] */
	struct list_head node;		/* [wait_lock] on m->waiters */
	int granted;			/* [wait_lock] now the owner */
	uint64_t since;			/* [I] time_ns() when it queued */
};

void mutex_init(struct mutex *m, const char *name)
{
	spin_init(&m->wait_lock, name);
	m->owner = NULL;
	m->owner_cpu = -1;
	list_init(&m->waiters);
	m->name = name;
	m->class = 0;
}

/* Make t the owner, running on cpu (-1: not known yet). Caller holds
 * wait_lock. */
static void set_owner(struct mutex *m, struct task *t, int cpu)
{
	__atomic_store_n(&m->owner, t, __ATOMIC_RELAXED);
	__atomic_store_n(&m->owner_cpu, (int16_t)cpu, __ATOMIC_RELAXED);
}

/* Spin while the owner runs. Caller holds wait_lock (flags from its
 * irqsave); returns with it held and the new flags. */
static unsigned long spin_on_holder(struct mutex *m, unsigned long flags)
{
	struct task *owner = m->owner;
	int cpu = m->owner_cpu;

	spin_unlock_irqrestore(&m->wait_lock, flags);
	spin_on_owner(&m->owner, owner, cpu);
	return spin_lock_irqsave(&m->wait_lock);
}

void mutex_lock(struct mutex *m)
{
	struct task *me = current_task();
	struct mutex_waiter w = { me, { NULL, NULL }, 0, 0 };
	unsigned long flags;

	lockdep_might_sleep("mutex_lock");
	lockdep_acquire(m, &m->class, m->name, LOCKDEP_MUTEX, 0, 0);
	flags = spin_lock_irqsave(&m->wait_lock);
	if (m->owner == me)
		panic("mutex %s: task %s locks it twice", m->name, me->name);
	if (m->owner)
		flags = spin_on_holder(m, flags);
	if (!m->owner) {
		set_owner(m, me, this_cpu()->id);
		spin_unlock_irqrestore(&m->wait_lock, flags);
		return;
	}
	w.since = time_ns();
	list_add_tail(&w.node, &m->waiters);
	while (!w.granted) {
		if (!m->owner && m->waiters.next == &w.node) {
			list_del_init(&w.node);
			break;
		}
		sched_set_sleeping();
		spin_unlock_irqrestore(&m->wait_lock, flags);
		schedule();
		flags = spin_lock_irqsave(&m->wait_lock);
	}
	set_owner(m, me, this_cpu()->id);
	spin_unlock_irqrestore(&m->wait_lock, flags);
	sched_set_running();
}

void mutex_unlock(struct mutex *m)
{
	struct mutex_waiter *w;
	unsigned long flags;

	lockdep_release(m, m->name, LOCKDEP_MUTEX);
	flags = spin_lock_irqsave(&m->wait_lock);
	if (m->owner != current_task())
		panic("mutex %s: unlocked by %s, which does not own it",
		      m->name, current_task()->name);
	set_owner(m, NULL, -1);
	if (!list_empty(&m->waiters)) {
		w = list_entry(m->waiters.next, struct mutex_waiter, node);
		if (time_ns() - w->since >= HANDOFF_NS) {
			list_del_init(&w->node);
			set_owner(m, w->task, -1);
			w->granted = 1;
		}
		task_wake(w->task);
	}
	spin_unlock_irqrestore(&m->wait_lock, flags);
}

void mutex_assert_held(struct mutex *m)
{
	if (__atomic_load_n(&m->owner, __ATOMIC_RELAXED) != current_task())
		panic("mutex %s: not held by %s", m->name,
		      current_task()->name);
}
