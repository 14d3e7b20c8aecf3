/*
 * Sleeping reader/writer semaphore, writer-fair, with the semantics
 * include/ghee/sync.h promises and the send/relocation design relies on
 * (reference/send-during-relocation.txt): many readers or one writer;
 * once anyone waits, newcomers queue behind (down_read blocks and
 * down_read_trylock fails while a writer waits), so a stream of readers
 * cannot starve a commit's down_write; rwsem_is_contended() is true
 * while anyone waits, which tells a long reader (send) to drop the lock
 * and yield.
 *
 * Waiters queue FIFO on s->waiters as records on their stacks. Release
 * hands the lock over (grant): the first waiter if it is a writer and the
 * lock is free, or every reader at the head of the queue up to the first
 * writer. Granted waiters are counted in before they wake, so nobody can
 * overtake them.
 *
 * s->lock (spinlock) protects every field; sched_lock is taken inside
 * it. nr_waiting is also read without it, atomically. s->lock leaves
 * interrupts on: no interrupt handler takes an rwsem, and under TCG
 * every re-enable costs (kernel/mm/kmalloc.c has the figure for the
 * allocator's locks).
 *
 * Debug checks: write-side misuse panics; lockdep.c checks the order,
 * that the caller may sleep, read-side recursion and up_read by a task
 * that holds no read lock.
 */
#include <ghee/sync.h>

#include "../panic.h"
#include "../sched/sched.h"
#include "lockdep.h"

struct rwsem_waiter {
	struct task *task;		/* [I] */
	struct list_head node;		/* [lock] on s->waiters */
	int writer;			/* [I] wants the write lock */
	int granted;			/* [lock] has the lock now */
};

void rwsem_init(struct rwsem *s, const char *name)
{
	spin_init(&s->lock, name);
	s->count = 0;
	s->nr_waiting = 0;
	s->writer = NULL;
	list_init(&s->waiters);
	s->name = name;
	s->class = 0;
}

/* Hand the lock to the waiters at the head of the queue that can have it
 * now. Caller holds s->lock. */
static void grant(struct rwsem *s)
{
	struct rwsem_waiter *w;

	while (!list_empty(&s->waiters)) {
		w = list_entry(s->waiters.next, struct rwsem_waiter, node);
		if (w->writer) {
			if (s->count != 0)
				return;
			s->count = -1;
			s->writer = w->task;
		} else {
			if (s->count < 0)
				return;
			s->count++;
		}
		list_del_init(&w->node);
		__atomic_store_n(&s->nr_waiting, s->nr_waiting - 1,
				 __ATOMIC_RELAXED);
		w->granted = 1;
		task_wake(w->task);
		if (w->writer)
			return;
	}
}

/* Queue as a waiter and sleep until granted. Caller holds s->lock;
 * returns with it released. */
static void wait_granted(struct rwsem *s, int writer)
{
	struct rwsem_waiter w = { current_task(), { NULL, NULL }, writer, 0 };

	list_add_tail(&w.node, &s->waiters);
	__atomic_store_n(&s->nr_waiting, s->nr_waiting + 1, __ATOMIC_RELAXED);
	while (!w.granted) {
		sched_set_sleeping();
		spin_unlock(&s->lock);
		schedule();
		spin_lock(&s->lock);
	}
	spin_unlock(&s->lock);
	sched_set_running();
}

int down_read_trylock(struct rwsem *s)
{
	int ok;

	spin_lock(&s->lock);
	ok = s->count >= 0 && list_empty(&s->waiters);
	if (ok)
		s->count++;
	spin_unlock(&s->lock);
	if (ok)
		lockdep_acquire(s, &s->class, s->name, LOCKDEP_RWSEM, 1, 1);
	return ok;
}

void down_read(struct rwsem *s)
{
	lockdep_might_sleep("down_read");
	lockdep_acquire(s, &s->class, s->name, LOCKDEP_RWSEM, 1, 0);
	spin_lock(&s->lock);
	if (s->count >= 0 && list_empty(&s->waiters)) {
		s->count++;
		spin_unlock(&s->lock);
		return;
	}
	wait_granted(s, 0);
}

void up_read(struct rwsem *s)
{
	lockdep_release(s, s->name, LOCKDEP_RWSEM);
	spin_lock(&s->lock);
	if (s->count <= 0)
		panic("rwsem %s: up_read without a reader inside", s->name);
	if (--s->count == 0)
		grant(s);
	spin_unlock(&s->lock);
}

void down_write(struct rwsem *s)
{
	lockdep_might_sleep("down_write");
	lockdep_acquire(s, &s->class, s->name, LOCKDEP_RWSEM, 0, 0);
	spin_lock(&s->lock);
	if (s->writer == current_task())
		panic("rwsem %s: task %s takes it for write twice", s->name,
		      s->writer->name);
	if (s->count == 0 && list_empty(&s->waiters)) {
		s->count = -1;
		s->writer = current_task();
		spin_unlock(&s->lock);
		return;
	}
	wait_granted(s, 1);
}

int down_write_trylock(struct rwsem *s)
{
	int ok;

	spin_lock(&s->lock);
	ok = s->count == 0 && list_empty(&s->waiters);
	if (ok) {
		s->count = -1;
		s->writer = current_task();
	}
	spin_unlock(&s->lock);
	if (ok)
		lockdep_acquire(s, &s->class, s->name, LOCKDEP_RWSEM, 0, 1);
	return ok;
}

void up_write(struct rwsem *s)
{
	lockdep_release(s, s->name, LOCKDEP_RWSEM);
	spin_lock(&s->lock);
	if (s->count != -1 || s->writer != current_task())
		panic("rwsem %s: up_write by %s, which does not hold it",
		      s->name, current_task()->name);
	s->count = 0;
	s->writer = NULL;
	grant(s);
	spin_unlock(&s->lock);
}

void downgrade_write(struct rwsem *s)
{
	spin_lock(&s->lock);

	if (s->count != -1 || s->writer != current_task())
		panic("rwsem %s: downgrade by %s, which does not hold it",
		      s->name, current_task()->name);
	s->count = 1;
	s->writer = NULL;
	grant(s);
	spin_unlock(&s->lock);
	lockdep_downgrade(s);
}

int rwsem_is_contended(struct rwsem *s)
{
	return __atomic_load_n(&s->nr_waiting, __ATOMIC_RELAXED) != 0;
}

void rwsem_assert_held(struct rwsem *s)
{
	int ok;

	spin_lock(&s->lock);
	ok = s->count > 0 || s->writer == current_task();
	spin_unlock(&s->lock);
	if (!ok)
		panic("rwsem %s: not held (by %s)", s->name,
		      current_task()->name);
}
