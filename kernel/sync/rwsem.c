/*
 * Sleeping reader/writer semaphore, writer-fair, with the semantics
 * include/ghee/sync.h promises and the send/relocation design relies on
 * (reference/send-during-relocation.txt): many readers or one writer;
 * once anyone waits, new readers queue behind (down_read blocks and
 * down_read_trylock fails while a writer waits), so a stream of readers
 * cannot starve a commit's down_write; rwsem_is_contended() is true
 * while anyone waits, which tells a long reader (send) to drop the lock
 * and yield.
 *
 * Waiters queue FIFO on s->waiters as records on their stacks. Release
 * serves the head of the queue (grant): every reader at the head up to
 * the first writer is counted in before it wakes, so nobody overtakes
 * them. A writer at the head is woken to take the lock itself, and may
 * be overtaken by a running writer until it has waited HANDOFF_NS; a
 * writer or a reader (when nobody waits) finding the lock held by a
 * running writer spins (owner_spin.h says why). Only a write-held lock
 * is spun on: readers have no owner to watch, so a commit's down_write
 * behind send's read lock queues and is seen by rwsem_is_contended().
 *
 * s->lock (spinlock) protects every field; sched_lock is taken inside
 * it. nr_waiting, count, writer and writer_cpu are also read without
 * it, atomically (spinners, rwsem_is_contended). s->lock leaves interrupts
 * on: no interrupt handler takes an rwsem, and under TCG every
 * re-enable costs (kernel/mm/kmalloc.c has the figure for the
 * allocator's locks).
 *
 * Debug checks: write-side misuse panics; lockdep.c checks the order,
 * that the caller may sleep, read-side recursion and up_read by a task
 * that holds no read lock.
 */
#include <ghee/sync.h>
#include <ghee/time.h>

#include "../panic.h"
#include "../sched/sched.h"
#include "lockdep.h"
#include "owner_spin.h"

/* How long a writer spins on readers before it queues (Linux's rwsem
 * spins on readers for about 25 us too). */
#define READERS_SPIN_NS 25000ull

struct rwsem_waiter {
	struct task *task;		/* [I] */
	struct list_head node;		/* [lock] on s->waiters */
	int writer;			/* [I] wants the write lock */
	int granted;			/* [lock] has the lock now */
	uint64_t since;			/* [I] time_ns() when it queued */
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
	s->writer_cpu = -1;
}

/* Make the current task the writer inside. Caller holds s->lock. */
static void set_writer(struct rwsem *s)
{
	__atomic_store_n(&s->writer, current_task(), __ATOMIC_RELAXED);
	__atomic_store_n(&s->writer_cpu, (int16_t)this_cpu()->id,
			 __ATOMIC_RELAXED);
}

static void clear_writer(struct rwsem *s)
{
	__atomic_store_n(&s->writer, NULL, __ATOMIC_RELAXED);
}

/* Spin while the writer inside runs; a reader only when nobody is queued
 * (it could not take the lock then anyway). Caller holds s->lock;
 * returns with it held. */
static void spin_on_writer(struct rwsem *s, int writer)
{
	struct task *owner = s->writer;
	int cpu = s->writer_cpu;

	if (!writer && !list_empty(&s->waiters))
		return;
	spin_unlock(&s->lock);
	spin_on_owner(&s->writer, owner, cpu);
	spin_lock(&s->lock);
}

/* Spin, for at most READERS_SPIN_NS, while readers are inside and
 * nobody is queued: a search holds a tree block only to find and lock
 * the child below. A writer that queued instead would hold back every
 * later reader behind it. Not on one CPU: the readers are not running
 * then. Caller holds s->lock; returns with it held. */
static void spin_on_readers(struct rwsem *s)
{
	uint64_t start;

	if (nr_cpus < 2 || !list_empty(&s->waiters))
		return;
	spin_unlock(&s->lock);
	preempt_disable();
	start = time_ns();
	while (__atomic_load_n(&s->count, __ATOMIC_RELAXED) > 0 &&
	       time_ns() - start < READERS_SPIN_NS &&
	       !__atomic_load_n(&this_cpu()->need_resched, __ATOMIC_RELAXED))
		cpu_relax();
	preempt_enable();
	spin_lock(&s->lock);
}

static struct rwsem_waiter *first_waiter(struct rwsem *s)
{
	return list_empty(&s->waiters)
		       ? NULL
		       : list_entry(s->waiters.next, struct rwsem_waiter, node);
}

/* Whether a writer not queued may take the lock now: it is free and
 * nobody waits, or the head of the queue is a writer woken to take it
 * itself that has not run yet. Caller holds s->lock. */
static int write_free(struct rwsem *s)
{
	struct rwsem_waiter *w = first_waiter(s);

	return s->count == 0 && (!w || w->writer);
}

static void dequeue(struct rwsem *s, struct rwsem_waiter *w)
{
	list_del_init(&w->node);
	__atomic_store_n(&s->nr_waiting, s->nr_waiting - 1, __ATOMIC_RELAXED);
}

/* Serve the head of the queue now that the lock changed hands: count in
 * every reader up to the first writer, or wake a writer to take a free
 * lock itself (counted in instead once it has waited HANDOFF_NS). Caller
 * holds s->lock. */
static void grant(struct rwsem *s)
{
	struct rwsem_waiter *w;

	while ((w = first_waiter(s))) {
		if (w->writer) {
			if (s->count != 0)
				return;
			if (time_ns() - w->since < HANDOFF_NS) {
				task_wake(w->task);
				return;
			}
			s->count = -1;
			__atomic_store_n(&s->writer, w->task, __ATOMIC_RELAXED);
			/* where it runs is known once it wakes */
			__atomic_store_n(&s->writer_cpu, -1, __ATOMIC_RELAXED);
		} else {
			if (s->count < 0)
				return;
			s->count++;
		}
		dequeue(s, w);
		w->granted = 1;
		task_wake(w->task);
		if (w->writer)
			return;
	}
}

/* Queue as a waiter and sleep until granted, or, as a writer at the
 * head, until the lock is free to take. Caller holds s->lock; returns
 * with it released. */
static void wait_granted(struct rwsem *s, int writer)
{
	struct rwsem_waiter w = { current_task(), { NULL, NULL }, writer, 0,
				  time_ns() };

	list_add_tail(&w.node, &s->waiters);
	__atomic_store_n(&s->nr_waiting, s->nr_waiting + 1, __ATOMIC_RELAXED);
	while (!w.granted) {
		if (writer && s->count == 0 && first_waiter(s) == &w) {
			dequeue(s, &w);
			s->count = -1;
			break;
		}
		sched_set_sleeping();
		spin_unlock(&s->lock);
		schedule();
		spin_lock(&s->lock);
	}
	if (writer)
		set_writer(s);
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
	if (s->count < 0)
		spin_on_writer(s, 0);
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
	if (s->count < 0)
		spin_on_writer(s, 1);
	else if (s->count > 0)
		spin_on_readers(s);
	if (write_free(s)) {
		s->count = -1;
		set_writer(s);
		spin_unlock(&s->lock);
		return;
	}
	wait_granted(s, 1);
}

int down_write_trylock(struct rwsem *s)
{
	int ok;

	spin_lock(&s->lock);
	ok = write_free(s);
	if (ok) {
		s->count = -1;
		set_writer(s);
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
	clear_writer(s);
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
	clear_writer(s);
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
