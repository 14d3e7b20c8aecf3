/*
 * Lock debugging (lockdep.c): the lock-order checker and the checks for
 * sleeping in atomic context and releasing a lock not held. The lock
 * code calls these hooks; the self tests read the report counters.
 */
#ifndef KERNEL_SYNC_LOCKDEP_H
#define KERNEL_SYNC_LOCKDEP_H

#include <stdint.h>

#define LOCKDEP_HELD_MAX	32	/* locks one task or CPU holds at once */

enum lockdep_kind {
	LOCKDEP_SPIN,		/* spinlock */
	LOCKDEP_MUTEX,		/* mutex */
	LOCKDEP_RWSEM,		/* rwsem, either side */
	LOCKDEP_NR_KINDS,
};

/* What a report was about (lockdep_last_report). */
enum lockdep_report {
	LOCKDEP_NONE,
	LOCKDEP_INVERSION,	/* lock order inversion */
	LOCKDEP_MIGHT_SLEEP,	/* sleeping lock taken in atomic context */
	LOCKDEP_NOT_HELD,	/* release of a lock not held */
	LOCKDEP_RECURSION,	/* taking an rwsem already held */
};

struct held_lock {
	const void *lock;	/* the lock object */
	uint16_t class;		/* its class */
	uint16_t read;		/* rwsem held for read */
};

/* Locks held: spinlocks per CPU (struct cpu), sleeping locks per task
 * (struct task). Only their owner touches them, with interrupts off. */
struct lockdep_held {
	int n;				/* entries in use */
	int lost;			/* pushes that found the array full */
	struct held_lock h[LOCKDEP_HELD_MAX];
};

/* Turn the checker on or off (command line "lockdep=off"); at boot, while
 * no lock is held. */
void lockdep_set_enabled(int on);
/* Nonzero unless turned off. The hooks below test it inline: with the
 * checker off, a lock pays a load and a branch, not a call (under QEMU's
 * TCG every return is a lookup of where to go, and every spinlock made
 * three calls of hooks that did nothing). */
extern int lockdep_on;

static inline int lockdep_enabled(void)
{
	return lockdep_on;
}

/* Record that the caller is about to take lock (of the given kind, class
 * cached in *class, named name); report an order inversion or recursion
 * first. read: an rwsem's read side. trylock: cannot block, so it adds
 * no order. */
void lockdep_check_acquire(const void *lock, uint16_t *class,
			   const char *name, enum lockdep_kind kind, int read,
			   int trylock);

static inline void lockdep_acquire(const void *lock, uint16_t *class,
				   const char *name, enum lockdep_kind kind,
				   int read, int trylock)
{
	if (lockdep_on)
		lockdep_check_acquire(lock, class, name, kind, read, trylock);
}

/* Record the release; report it if the caller does not hold lock. */
void lockdep_check_release(const void *lock, const char *name,
			   enum lockdep_kind kind);

static inline void lockdep_release(const void *lock, const char *name,
				   enum lockdep_kind kind)
{
	if (lockdep_on)
		lockdep_check_release(lock, name, kind);
}

/* An rwsem held for write is now held for read. */
void lockdep_downgrade(const void *lock);
/* Report when the caller may not sleep (spinlock held, interrupts off).
 * what names the sleeping call. */
void lockdep_check_might_sleep(const char *what);

static inline void lockdep_might_sleep(const char *what)
{
	if (lockdep_on)
		lockdep_check_might_sleep(what);
}

/* The scheduler runs: from now on the boot flow is an idle task and
 * might_sleep checks apply. */
void lockdep_sched_started(void);
/* Forget which inversions were reported and how many might_sleep
 * reports were printed, so that they are reported again (self tests). */
void lockdep_reset_reports(void);
/* Reports made so far, and the kind and class names of the last one. */
uint64_t lockdep_reports(void);
enum lockdep_report lockdep_last_report(const char **a, const char **b);

#endif
