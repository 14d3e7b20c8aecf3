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
 * The state word says who is inside (RWSEM_WRITER, or RWSEM_READER times
 * the readers) and whether anyone waits (RWSEM_WAITERS): a lock nobody
 * waits for is taken and released by one atomic operation on it, without
 * s->lock. Four writers of one tree take its root block's rwsem for read
 * on every search; through s->lock that spinlock was the hottest one
 * (bench/fs_writers.sh, PROFILE=1).
 *
 * Waiters queue FIFO on s->waiters as records on their stacks, under
 * s->lock; RWSEM_WAITERS is set while the queue is not empty, so the
 * lock-free paths step aside for it and only holders of s->lock take the
 * lock then. A release that sees RWSEM_WAITERS takes s->lock and serves
 * the head of the queue (grant): every reader at the head up to the
 * first writer is counted in before it wakes, so nobody overtakes them.
 * A writer at the head is woken to take the lock itself, and may be
 * overtaken by a running writer (under s->lock) until it has waited
 * HANDOFF_NS; a writer or a reader (when nobody waits) finding the lock
 * held by a running writer spins (owner_spin.h says why). Only a
 * write-held lock is spun on for long: readers have no owner to watch, so
 * a commit's down_write behind send's read lock queues and is seen by
 * rwsem_is_contended().
 *
 * The queue's changes of RWSEM_WAITERS and a release's change of the
 * count are atomic operations on the one state word, so one sees the
 * other: a waiter that queued checks the lock again before it sleeps,
 * and a release after that finds RWSEM_WAITERS and grants.
 *
 * s->lock protects the queue; sched_lock is taken inside it. It leaves
 * interrupts on: no interrupt handler takes an rwsem, and under TCG every
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

#define RWSEM_WRITER	1u		/* a writer is inside */
#define RWSEM_WAITERS	2u		/* s->waiters is not empty */
#define RWSEM_READER	4u		/* one reader inside */
#define RWSEM_HELD	(~RWSEM_WAITERS) /* anyone inside */

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
	s->state = 0;
	spin_init(&s->lock, name);
	s->writer = NULL;
	list_init(&s->waiters);
	s->name = name;
	s->class = 0;
	s->writer_cpu = -1;
}

static uint32_t state_of(struct rwsem *s)
{
	return __atomic_load_n(&s->state, __ATOMIC_RELAXED);
}

/* Count a reader in unless a state bit in blocked is set. Returns
 * whether it did. */
static int read_take(struct rwsem *s, uint32_t blocked)
{
	uint32_t v = state_of(s);

	while (!(v & blocked))
		if (__atomic_compare_exchange_n(&s->state, &v, v + RWSEM_READER,
						1, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return 1;
	return 0;
}

/* Take the lock for write if nobody is inside, whoever waits. Returns
 * whether it did. */
static int write_take(struct rwsem *s)
{
	uint32_t v = state_of(s);

	while (!(v & RWSEM_HELD))
		if (__atomic_compare_exchange_n(&s->state, &v, v | RWSEM_WRITER,
						1, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return 1;
	return 0;
}

/* Take a lock that is free and that nobody waits for. */
static int write_take_uncontended(struct rwsem *s)
{
	uint32_t free = 0;

	return __atomic_compare_exchange_n(&s->state, &free, RWSEM_WRITER, 0,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* Record task t, running on cpu (-1: not known yet), as the writer
 * inside. */
static void set_writer(struct rwsem *s, struct task *t, int cpu)
{
	__atomic_store_n(&s->writer, t, __ATOMIC_RELAXED);
	__atomic_store_n(&s->writer_cpu, (int16_t)cpu, __ATOMIC_RELAXED);
}

/* Spin, before queueing, while a running writer is inside, or (a writer
 * only) for at most READERS_SPIN_NS while readers are: a search holds a
 * tree block only to find and lock the child below, and a writer that
 * queued would hold back every later reader behind it. Nobody spins once
 * anyone waits (a reader could not take the lock then anyway), nor on
 * readers on one CPU (they are not running then). */
static void spin_before_queueing(struct rwsem *s, int writer)
{
	uint32_t v = state_of(s);
	uint64_t start;

	if (v & RWSEM_WAITERS)
		return;
	if (v & RWSEM_WRITER) {
		spin_on_owner(&s->writer,
			      __atomic_load_n(&s->writer, __ATOMIC_RELAXED),
			      __atomic_load_n(&s->writer_cpu,
					      __ATOMIC_RELAXED));
		return;
	}
	if (!writer || nr_cpus < 2 || v < RWSEM_READER)
		return;
	preempt_disable();
	start = time_ns();
	while ((v = state_of(s)) >= RWSEM_READER && !(v & RWSEM_WAITERS) &&
	       time_ns() - start < READERS_SPIN_NS &&
	       !__atomic_load_n(&this_cpu()->need_resched, __ATOMIC_RELAXED))
		cpu_relax();
	preempt_enable();
}

static struct rwsem_waiter *first_waiter(struct rwsem *s)
{
	return list_empty(&s->waiters)
		       ? NULL
		       : list_entry(s->waiters.next, struct rwsem_waiter, node);
}

/* Take the lock for a writer that is not queued, if it may: the lock is
 * free, and nobody waits or the head of the queue is a writer woken to
 * take it itself that has not run yet (the steal owner_spin.h explains).
 * Returns whether it did. Caller holds s->lock. */
static int write_steal(struct rwsem *s)
{
	struct rwsem_waiter *w = first_waiter(s);

	return (!w || w->writer) && write_take(s);
}

static void enqueue(struct rwsem *s, struct rwsem_waiter *w)
{
	if (list_empty(&s->waiters))
		__atomic_fetch_or(&s->state, RWSEM_WAITERS, __ATOMIC_SEQ_CST);
	list_add_tail(&w->node, &s->waiters);
}

static void dequeue(struct rwsem *s, struct rwsem_waiter *w)
{
	list_del_init(&w->node);
	if (list_empty(&s->waiters))
		__atomic_fetch_and(&s->state, ~RWSEM_WAITERS, __ATOMIC_SEQ_CST);
}

/* Serve the head of the queue now that the lock changed hands: count in
 * every reader up to the first writer, or wake a writer to take a free
 * lock itself (counted in instead once it has waited HANDOFF_NS). While
 * anyone waits only holders of s->lock take the lock, so what is free
 * here stays free. Caller holds s->lock. */
static void grant(struct rwsem *s)
{
	struct rwsem_waiter *w;

	while ((w = first_waiter(s))) {
		if (w->writer) {
			if (state_of(s) & RWSEM_HELD)
				return;
			if (time_ns() - w->since < HANDOFF_NS) {
				task_wake(w->task);
				return;
			}
			if (!write_take(s))
				return;
			set_writer(s, w->task, -1);
		} else if (!read_take(s, RWSEM_WRITER)) {
			return;
		}
		dequeue(s, w);
		w->granted = 1;
		task_wake(w->task);
		if (w->writer)
			return;
	}
}

/* Serve the queue after a release that saw waiters. */
static void grant_locked(struct rwsem *s)
{
	spin_lock(&s->lock);
	grant(s);
	spin_unlock(&s->lock);
}

/* Queue as a waiter and sleep until granted or, at the head, until the
 * lock is free to take (readers behind a reader that took it are counted
 * in with it). Caller holds s->lock; returns with it released. */
static void wait_granted(struct rwsem *s, int writer)
{
	struct rwsem_waiter w = { current_task(), { NULL, NULL }, writer, 0,
				  time_ns() };

	enqueue(s, &w);
	while (!w.granted) {
		if (first_waiter(s) == &w &&
		    (writer ? write_take(s) : read_take(s, RWSEM_WRITER))) {
			dequeue(s, &w);
			if (!writer)
				grant(s);
			break;
		}
		sched_set_sleeping();
		spin_unlock(&s->lock);
		schedule();
		spin_lock(&s->lock);
	}
	if (writer)
		set_writer(s, current_task(), this_cpu()->id);
	spin_unlock(&s->lock);
	sched_set_running();
}

int down_read_trylock(struct rwsem *s)
{
	if (!read_take(s, RWSEM_WRITER | RWSEM_WAITERS))
		return 0;
	lockdep_acquire(s, &s->class, s->name, LOCKDEP_RWSEM, 1, 1);
	return 1;
}

void down_read(struct rwsem *s)
{
	lockdep_might_sleep("down_read");
	lockdep_acquire(s, &s->class, s->name, LOCKDEP_RWSEM, 1, 0);
	if (read_take(s, RWSEM_WRITER | RWSEM_WAITERS))
		return;
	spin_before_queueing(s, 0);
	if (read_take(s, RWSEM_WRITER | RWSEM_WAITERS))
		return;
	spin_lock(&s->lock);
	wait_granted(s, 0);
}

void up_read(struct rwsem *s)
{
	uint32_t old;

	lockdep_release(s, s->name, LOCKDEP_RWSEM);
	old = __atomic_fetch_sub(&s->state, RWSEM_READER, __ATOMIC_RELEASE);
	if (old < RWSEM_READER)
		panic("rwsem %s: up_read without a reader inside", s->name);
	if (old - RWSEM_READER == RWSEM_WAITERS)
		grant_locked(s);
}

void down_write(struct rwsem *s)
{
	lockdep_might_sleep("down_write");
	lockdep_acquire(s, &s->class, s->name, LOCKDEP_RWSEM, 0, 0);
	if (__atomic_load_n(&s->writer, __ATOMIC_RELAXED) == current_task())
		panic("rwsem %s: task %s takes it for write twice", s->name,
		      current_task()->name);
	if (write_take_uncontended(s))
		goto taken;
	spin_before_queueing(s, 1);
	if (write_take_uncontended(s))
		goto taken;
	spin_lock(&s->lock);
	if (!write_steal(s)) {
		wait_granted(s, 1);
		return;
	}
	spin_unlock(&s->lock);
taken:
	set_writer(s, current_task(), this_cpu()->id);
}

int down_write_trylock(struct rwsem *s)
{
	int ok = write_take_uncontended(s);

	if (!ok) {
		spin_lock(&s->lock);
		ok = write_steal(s);
		spin_unlock(&s->lock);
	}
	if (!ok)
		return 0;
	set_writer(s, current_task(), this_cpu()->id);
	lockdep_acquire(s, &s->class, s->name, LOCKDEP_RWSEM, 0, 1);
	return 1;
}

/* Check that the current task is the writer inside, and forget it. */
static void writer_leaves(struct rwsem *s, const char *what)
{
	if (!(state_of(s) & RWSEM_WRITER) || s->writer != current_task())
		panic("rwsem %s: %s by %s, which does not hold it", s->name,
		      what, current_task()->name);
	__atomic_store_n(&s->writer, NULL, __ATOMIC_RELAXED);
}

void up_write(struct rwsem *s)
{
	lockdep_release(s, s->name, LOCKDEP_RWSEM);
	writer_leaves(s, "up_write");
	if (__atomic_fetch_and(&s->state, ~RWSEM_WRITER, __ATOMIC_RELEASE) &
	    RWSEM_WAITERS)
		grant_locked(s);
}

void downgrade_write(struct rwsem *s)
{
	writer_leaves(s, "downgrade");
	if (__atomic_fetch_add(&s->state, RWSEM_READER - RWSEM_WRITER,
			       __ATOMIC_RELEASE) &
	    RWSEM_WAITERS)
		grant_locked(s);
	lockdep_downgrade(s);
}

int rwsem_is_contended(struct rwsem *s)
{
	return (state_of(s) & RWSEM_WAITERS) != 0;
}

void rwsem_assert_held(struct rwsem *s)
{
	if (state_of(s) < RWSEM_READER &&
	    __atomic_load_n(&s->writer, __ATOMIC_RELAXED) != current_task())
		panic("rwsem %s: not held (by %s)", s->name,
		      current_task()->name);
}
