/* Host layouts of the locks declared in include/ghee/sync.h (pthreads). */
#ifndef HOST_SYNC_IMPL_H
#define HOST_SYNC_IMPL_H

#include <pthread.h>
#include <stdint.h>

struct spinlock {
	pthread_mutex_t m;
	pthread_t holder;	/* [m] valid while held */
	int held;		/* [m] */
	const char *name;
};

#define SPINLOCK_INIT(n) { PTHREAD_MUTEX_INITIALIZER, 0, 0, n }

struct mutex {
	pthread_mutex_t m;
	pthread_t owner;	/* [m] valid while held */
	int held;		/* [m] */
	const char *name;
};

struct rwsem_waiter;

/* Writer-fair rwsem with the kernel's algorithm: a FIFO of waiters that
 * release hands the lock to (see tests/host/shim/sync.c). */
struct rwsem {
	pthread_mutex_t m;
	pthread_cond_t cv;		/* broadcast when a waiter is granted */
	int count;			/* [m] readers inside; -1: a writer */
	int nr_waiting;			/* [m] waiters queued */
	pthread_t writer;		/* [m] valid while count == -1 */
	struct rwsem_waiter *head;	/* [m] oldest waiter */
	struct rwsem_waiter *tail;	/* [m] newest waiter */
	const char *name;
};

struct completion {
	pthread_mutex_t m;
	pthread_cond_t cv;
	uint32_t done;			/* [m] events not yet taken */
};

#endif
