/*
 * Host implementation of include/ghee/sync.h on pthreads, with the same
 * semantics as the kernel's: spinlocks are plain mutexes (the host has no
 * interrupts to disable); rwsems use the kernel's algorithm (a FIFO of
 * waiters, release grants the first writer or every reader up to the next
 * writer, newcomers queue behind any waiter), so writer fairness and
 * rwsem_is_contended behave alike on both sides; misuse aborts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <ghee/sync.h>

struct rwsem_waiter {
	struct rwsem_waiter *next;	/* [s->m] younger waiter */
	int writer;			/* [I] */
	pthread_t thread;		/* [I] the waiting thread */
	int granted;			/* [s->m] */
};

static void die(const char *what, const char *name)
{
	fprintf(stderr, "sync: %s (%s)\n", what, name ? name : "?");
	abort();
}

void spin_init(struct spinlock *l, const char *name)
{
	pthread_mutex_init(&l->m, NULL);
	l->held = 0;
	l->name = name;
}

void spin_lock(struct spinlock *l)
{
	pthread_mutex_lock(&l->m);
	l->holder = pthread_self();
	l->held = 1;
}

void spin_unlock(struct spinlock *l)
{
	if (!l->held || !pthread_equal(l->holder, pthread_self()))
		die("spinlock unlocked but not held", l->name);
	l->held = 0;
	pthread_mutex_unlock(&l->m);
}

unsigned long spin_lock_irqsave(struct spinlock *l)
{
	spin_lock(l);
	return 0;
}

void spin_unlock_irqrestore(struct spinlock *l, unsigned long flags)
{
	(void)flags;
	spin_unlock(l);
}

void spin_assert_held(struct spinlock *l)
{
	if (!__atomic_load_n(&l->held, __ATOMIC_RELAXED) ||
	    !pthread_equal(l->holder, pthread_self()))
		die("spinlock not held", l->name);
}

void mutex_init(struct mutex *m, const char *name)
{
	pthread_mutex_init(&m->m, NULL);
	m->held = 0;
	m->name = name;
}

void mutex_lock(struct mutex *m)
{
	pthread_mutex_lock(&m->m);
	m->owner = pthread_self();
	m->held = 1;
}

void mutex_unlock(struct mutex *m)
{
	if (!m->held || !pthread_equal(m->owner, pthread_self()))
		die("mutex unlocked by a thread that does not own it", m->name);
	m->held = 0;
	pthread_mutex_unlock(&m->m);
}

void mutex_assert_held(struct mutex *m)
{
	if (!__atomic_load_n(&m->held, __ATOMIC_RELAXED) ||
	    !pthread_equal(m->owner, pthread_self()))
		die("mutex not held", m->name);
}

void rwsem_init(struct rwsem *s, const char *name)
{
	pthread_mutex_init(&s->m, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->count = 0;
	s->nr_waiting = 0;
	s->head = s->tail = NULL;
	s->name = name;
}

/* Hand the lock to the waiters at the head that can have it. Caller
 * holds s->m. */
static void grant(struct rwsem *s)
{
	struct rwsem_waiter *w;
	int any = 0;

	while ((w = s->head) != NULL) {
		if (w->writer ? s->count != 0 : s->count < 0)
			break;
		s->count = w->writer ? -1 : s->count + 1;
		/* The owner from now on: the last one may take the lock
		 * again before w runs, and must not look like its owner. */
		if (w->writer)
			s->writer = w->thread;
		s->head = w->next;
		if (!s->head)
			s->tail = NULL;
		__atomic_store_n(&s->nr_waiting, s->nr_waiting - 1,
				 __ATOMIC_RELAXED);
		w->granted = 1;
		any = 1;
		if (w->writer)
			break;
	}
	if (any)
		pthread_cond_broadcast(&s->cv);
}

/* Queue and wait until granted. Caller holds s->m; returns with it. */
static void wait_granted(struct rwsem *s, int writer)
{
	struct rwsem_waiter w = { NULL, writer, pthread_self(), 0 };

	if (s->tail)
		s->tail->next = &w;
	else
		s->head = &w;
	s->tail = &w;
	__atomic_store_n(&s->nr_waiting, s->nr_waiting + 1, __ATOMIC_RELAXED);
	while (!w.granted)
		pthread_cond_wait(&s->cv, &s->m);
}

void down_read(struct rwsem *s)
{
	pthread_mutex_lock(&s->m);
	if (s->count >= 0 && !s->head)
		s->count++;
	else
		wait_granted(s, 0);
	pthread_mutex_unlock(&s->m);
}

int down_read_trylock(struct rwsem *s)
{
	int ok;

	pthread_mutex_lock(&s->m);
	ok = s->count >= 0 && !s->head;
	if (ok)
		s->count++;
	pthread_mutex_unlock(&s->m);
	return ok;
}

void up_read(struct rwsem *s)
{
	pthread_mutex_lock(&s->m);
	if (s->count <= 0)
		die("up_read without a reader inside", s->name);
	if (--s->count == 0)
		grant(s);
	pthread_mutex_unlock(&s->m);
}

void down_write(struct rwsem *s)
{
	pthread_mutex_lock(&s->m);
	if (s->count == -1 && pthread_equal(s->writer, pthread_self()))
		die("rwsem taken for write twice", s->name);
	if (s->count == 0 && !s->head)
		s->count = -1;
	else
		wait_granted(s, 1);
	s->writer = pthread_self();
	pthread_mutex_unlock(&s->m);
}

int down_write_trylock(struct rwsem *s)
{
	int ok;

	pthread_mutex_lock(&s->m);
	ok = s->count == 0 && !s->head;
	if (ok) {
		s->count = -1;
		s->writer = pthread_self();
	}
	pthread_mutex_unlock(&s->m);
	return ok;
}

/* Leave write mode as count; caller holds s->m. */
static void write_release(struct rwsem *s, int count, const char *what)
{
	if (s->count != -1 || !pthread_equal(s->writer, pthread_self()))
		die(what, s->name);
	s->count = count;
	grant(s);
}

void up_write(struct rwsem *s)
{
	pthread_mutex_lock(&s->m);
	write_release(s, 0, "up_write by a thread that does not hold it");
	pthread_mutex_unlock(&s->m);
}

void downgrade_write(struct rwsem *s)
{
	pthread_mutex_lock(&s->m);
	write_release(s, 1, "downgrade by a thread that does not hold it");
	pthread_mutex_unlock(&s->m);
}

int rwsem_is_contended(struct rwsem *s)
{
	return __atomic_load_n(&s->nr_waiting, __ATOMIC_RELAXED) != 0;
}

void rwsem_assert_held(struct rwsem *s)
{
	int ok;

	pthread_mutex_lock(&s->m);
	ok = s->count > 0 ||
	     (s->count == -1 && pthread_equal(s->writer, pthread_self()));
	pthread_mutex_unlock(&s->m);
	if (!ok)
		die("rwsem not held", s->name);
}

#define COMPLETE_ALL 0x80000000u

void completion_init(struct completion *c)
{
	pthread_mutex_init(&c->m, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->done = 0;
}

void complete(struct completion *c)
{
	pthread_mutex_lock(&c->m);
	if (c->done != COMPLETE_ALL)
		c->done++;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->m);
}

void complete_all(struct completion *c)
{
	pthread_mutex_lock(&c->m);
	c->done = COMPLETE_ALL;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->m);
}

void wait_for_completion(struct completion *c)
{
	pthread_mutex_lock(&c->m);
	while (!c->done)
		pthread_cond_wait(&c->cv, &c->m);
	if (c->done != COMPLETE_ALL)
		c->done--;
	pthread_mutex_unlock(&c->m);
}

int wait_for_completion_timeout(struct completion *c, uint64_t timeout_ns)
{
	struct timespec ts;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ns / 1000000000ull;
	ts.tv_nsec += timeout_ns % 1000000000ull;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&c->m);
	while (!c->done && ret == 0)
		if (pthread_cond_timedwait(&c->cv, &c->m, &ts) == ETIMEDOUT)
			ret = -ETIMEDOUT;
	if (c->done) {
		ret = 0;
		if (c->done != COMPLETE_ALL)
			c->done--;
	}
	pthread_mutex_unlock(&c->m);
	return ret;
}
