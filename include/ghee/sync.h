/*
 * Locks. The struct layouts come from the platform's <sync_impl.h>
 * (kernel/include on bare metal, tests/host/include on the host); the
 * semantics below hold on both.
 *
 * spinlock: short critical sections; never held across sleep or I/O. The
 *   _irqsave variants also disable interrupts (IRQ paths use only those).
 * mutex:    sleeping lock, one owner.
 * rwsem:    sleeping reader/writer lock. Many readers or one writer. Writer
 *   fair: once a writer waits, new readers wait behind it (down_read blocks,
 *   down_read_trylock fails), so a stream of readers cannot starve a writer.
 *   rwsem_is_contended() tells a long reader that someone is waiting.
 *   Waiters are served in arrival order: a writer, or every reader queued
 *   before the next writer. A running writer may take a free lock before
 *   a woken writer waiter runs, for the first 4 ms of that waiter's wait
 *   (on bare metal; the host shim keeps plain arrival order).
 * completion: a count of events; wait_for_completion sleeps until one is
 *   there and takes it; complete_all makes every present and future wait
 *   return.
 *
 * assert_held(lock) stops the kernel (or the host test) when the lock is
 *   not held: by this CPU for a spinlock, by this task for a mutex or a
 *   write-held rwsem, by anyone for a read-held rwsem.
 */
#ifndef GHEE_SYNC_H
#define GHEE_SYNC_H

#include <stdint.h>

#include <sync_impl.h>

void spin_init(struct spinlock *l, const char *name);
void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
unsigned long spin_lock_irqsave(struct spinlock *l);
void spin_unlock_irqrestore(struct spinlock *l, unsigned long flags);

void mutex_init(struct mutex *m, const char *name);
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);

void rwsem_init(struct rwsem *s, const char *name);
void down_read(struct rwsem *s);
/* 1 when taken, 0 when a writer holds or waits for the lock. */
int down_read_trylock(struct rwsem *s);
void up_read(struct rwsem *s);
void down_write(struct rwsem *s);
/* 1 when taken, 0 when anyone holds or waits for the lock. */
int down_write_trylock(struct rwsem *s);
void up_write(struct rwsem *s);
/* Turn a held write lock into a read lock without letting a writer in. */
void downgrade_write(struct rwsem *s);
/* Nonzero when a task waits for this rwsem (reader or writer). */
int rwsem_is_contended(struct rwsem *s);

void completion_init(struct completion *c);
void complete(struct completion *c);
void complete_all(struct completion *c);
void wait_for_completion(struct completion *c);
/* 0 when an event was taken, -ETIMEDOUT after timeout_ns without one. */
int wait_for_completion_timeout(struct completion *c, uint64_t timeout_ns);

void spin_assert_held(struct spinlock *l);
void mutex_assert_held(struct mutex *m);
void rwsem_assert_held(struct rwsem *s);
#define assert_held(l)                                                     \
	_Generic((l), struct spinlock *: spin_assert_held,                 \
		 struct mutex *: mutex_assert_held,                        \
		 struct rwsem *: rwsem_assert_held)(l)

#endif
