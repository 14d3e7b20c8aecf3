/*
 * Sleeping mutex with FIFO hand-off: mutex_unlock gives the mutex
 * directly to the first waiter (sets it as owner before waking it), so a
 * task that keeps re-locking cannot starve the waiters, and a woken
 * waiter never has to compete again.
 *
 * Waiters are records on their own stacks, queued on m->waiters; a
 * waiter sleeps until its `granted` flag is set. wait_lock (a spinlock,
 * irqsave so that its callers may run with interrupts in any state) is
 * ranked just above sched_lock, which task_wake takes inside it.
 *
 * Debug checks: locking a mutex the task already owns, and unlocking one
 * it does not own, panic; lockdep.c checks the order and that the caller
 * may sleep.
 */
#include <ghee/sync.h>

#include "../panic.h"
#include "../sched/sched.h"
#include "lockdep.h"

struct mutex_waiter {
	struct task *task;		/* [I] */
	struct list_head node;		/* [wait_lock] on m->waiters */
	int granted;			/* [wait_lock] now the owner */
};

void mutex_init(struct mutex *m, const char *name)
{
	spin_init(&m->wait_lock, name);
	m->owner = NULL;
	list_init(&m->waiters);
	m->name = name;
	m->class = 0;
}

void mutex_lock(struct mutex *m)
{
	struct task *me = current_task();
	struct mutex_waiter w = { me, { NULL, NULL }, 0 };
	unsigned long flags;

	lockdep_might_sleep("mutex_lock");
	lockdep_acquire(m, &m->class, m->name, LOCKDEP_MUTEX, 0, 0);
	flags = spin_lock_irqsave(&m->wait_lock);
	if (m->owner == me)
		panic("mutex %s: task %s locks it twice", m->name, me->name);
	if (!m->owner) {
		m->owner = me;
		spin_unlock_irqrestore(&m->wait_lock, flags);
		return;
	}
	list_add_tail(&w.node, &m->waiters);
	while (!w.granted) {
		sched_set_sleeping();
		spin_unlock_irqrestore(&m->wait_lock, flags);
		schedule();
		flags = spin_lock_irqsave(&m->wait_lock);
	}
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
	if (list_empty(&m->waiters)) {
		m->owner = NULL;
	} else {
		w = list_entry(m->waiters.next, struct mutex_waiter, node);
		list_del_init(&w->node);
		m->owner = w->task;
		w->granted = 1;
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
