/* Kernel layouts of the locks declared in include/ghee/sync.h. */
#ifndef KERNEL_SYNC_IMPL_H
#define KERNEL_SYNC_IMPL_H

#include <stdint.h>

/* Ticket spinlock: next is taken by each locker, owner is served. */
struct spinlock {
	volatile uint32_t next;		/* [a] next ticket to hand out */
	volatile uint32_t owner;	/* [a] ticket being served */
	const char *name;		/* [I] for debug messages */
};

#define SPINLOCK_INIT(n) { 0, 0, n }

/*
 * Until the scheduler exists there is one flow of control per CPU and
 * nothing to sleep on, so waiters spin; the kernel-core work replaces the
 * waiting with wait queues behind the same fields' meaning.
 */
struct mutex {
	struct spinlock lock;	/* held by the owner */
};

struct rwsem {
	struct spinlock lock;	/* protects the two counts */
	int32_t readers;	/* [lock] active readers; -1: a writer holds it */
	int32_t writers_waiting; /* [lock] writers waiting to get in */
	const char *name;	/* [I] */
};

#endif
