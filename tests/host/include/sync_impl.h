/* Host layouts of the locks declared in include/ghee/sync.h (pthreads). */
#ifndef HOST_SYNC_IMPL_H
#define HOST_SYNC_IMPL_H

#include <pthread.h>

struct spinlock {
	pthread_mutex_t m;
	const char *name;
};

#define SPINLOCK_INIT(n) { PTHREAD_MUTEX_INITIALIZER, n }

struct mutex {
	pthread_mutex_t m;
	const char *name;
};

/* Writer-fair rwsem from a mutex and a condition variable. */
struct rwsem {
	pthread_mutex_t m;
	pthread_cond_t cv;
	int readers;		/* [m] active readers; -1: a writer holds it */
	int writers_waiting;	/* [m] writers waiting to get in */
	const char *name;
};

#endif
