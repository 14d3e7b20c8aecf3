/*
 * Kernel layouts of the locks declared in include/ghee/sync.h. Waiters of
 * the sleeping locks queue on intrusive lists (lib/list.h) of records on
 * their own stacks; kernel/sync/ and kernel/sched/wait.c explain the
 * protocols.
 */
#ifndef KERNEL_SYNC_IMPL_H
#define KERNEL_SYNC_IMPL_H

#include <stdint.h>

#include "../../lib/list.h"

struct task;

/* Test-and-set spinlock (kernel/sync/spinlock.c says why not tickets). */
struct spinlock {
	uint32_t taken;			/* [a] 1 while held */
	int holder;			/* [lock] CPU id + 1 of the holder, 0 */
	const char *name;		/* [I] for debug messages */
	uint16_t class;			/* [a] lockdep class, 0: not looked up */
};

#define SPINLOCK_INIT(n) { 0, 0, n, 0 }

/* Tasks waiting for a condition (kernel/sched/wait.c). */
struct wait_queue {
	struct spinlock lock;		/* irqsave; ranked just above sched_lock */
	struct list_head waiters;	/* [lock] struct waiter, FIFO */
};

#define WAIT_QUEUE_INIT(wq, n) { SPINLOCK_INIT(n), LIST_HEAD_INIT((wq).waiters) }

/* Sleeping lock with one owner (kernel/sync/mutex.c). */
struct mutex {
	struct spinlock wait_lock;	/* protects the fields below */
	struct task *owner;		/* [wait_lock, read atomically] holder,
					 * NULL: free */
	struct list_head waiters;	/* [wait_lock] FIFO of lock waiters */
	const char *name;		/* [I] */
	uint16_t class;			/* [a] lockdep class, 0: not looked up */
	int16_t owner_cpu;		/* [wait_lock, read atomically] CPU the
					 * owner took it on, -1: unknown (a
					 * hint) */
};

/* Sleeping reader/writer lock, writer-fair (kernel/sync/rwsem.c). */
struct rwsem {
	uint32_t state;			/* [a] RWSEM_* bits and readers inside:
					 * taken and released without lock */
	struct spinlock lock;		/* protects the fields below */
	struct task *writer;		/* [lock or the writer, read
					 * atomically] the writer inside */
	struct list_head waiters;	/* [lock] FIFO of readers and writers */
	const char *name;		/* [I] */
	uint16_t class;			/* [a] lockdep class, 0: not looked up */
	int16_t writer_cpu;		/* [like writer] CPU the writer took it
					 * on, -1: unknown (a hint) */
};

/* A count of events that waiters consume (complete_all: unlimited). */
struct completion {
	uint32_t done;			/* [wait.lock] events not yet taken */
	struct wait_queue wait;		/* waiters for done > 0 */
};

#endif
