/*
 * Host implementation of include/ghee/sync.h on pthreads, with the same
 * semantics as the kernel's: spinlocks are plain mutexes (the host has no
 * interrupts to disable), rwsems are writer-fair.
 */
#include <ghee/sync.h>

void spin_init(struct spinlock *l, const char *name)
{
	pthread_mutex_init(&l->m, NULL);
	l->name = name;
}

void spin_lock(struct spinlock *l)
{
	pthread_mutex_lock(&l->m);
}

void spin_unlock(struct spinlock *l)
{
	pthread_mutex_unlock(&l->m);
}

unsigned long spin_lock_irqsave(struct spinlock *l)
{
	pthread_mutex_lock(&l->m);
	return 0;
}

void spin_unlock_irqrestore(struct spinlock *l, unsigned long flags)
{
	(void)flags;
	pthread_mutex_unlock(&l->m);
}

void mutex_init(struct mutex *m, const char *name)
{
	pthread_mutex_init(&m->m, NULL);
	m->name = name;
}

void mutex_lock(struct mutex *m)
{
	pthread_mutex_lock(&m->m);
}

void mutex_unlock(struct mutex *m)
{
	pthread_mutex_unlock(&m->m);
}

void rwsem_init(struct rwsem *s, const char *name)
{
	pthread_mutex_init(&s->m, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->readers = 0;
	s->writers_waiting = 0;
	s->name = name;
}

void down_read(struct rwsem *s)
{
	pthread_mutex_lock(&s->m);
	while (s->readers < 0 || s->writers_waiting)
		pthread_cond_wait(&s->cv, &s->m);
	s->readers++;
	pthread_mutex_unlock(&s->m);
}

int down_read_trylock(struct rwsem *s)
{
	int ok;

	pthread_mutex_lock(&s->m);
	ok = s->readers >= 0 && !s->writers_waiting;
	if (ok)
		s->readers++;
	pthread_mutex_unlock(&s->m);
	return ok;
}

void up_read(struct rwsem *s)
{
	pthread_mutex_lock(&s->m);
	if (--s->readers == 0)
		pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->m);
}

void down_write(struct rwsem *s)
{
	pthread_mutex_lock(&s->m);
	s->writers_waiting++;
	while (s->readers != 0)
		pthread_cond_wait(&s->cv, &s->m);
	s->writers_waiting--;
	s->readers = -1;
	pthread_mutex_unlock(&s->m);
}

void up_write(struct rwsem *s)
{
	pthread_mutex_lock(&s->m);
	s->readers = 0;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->m);
}

void downgrade_write(struct rwsem *s)
{
	pthread_mutex_lock(&s->m);
	s->readers = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->m);
}

int rwsem_is_contended(struct rwsem *s)
{
	int waiting;

	pthread_mutex_lock(&s->m);
	waiting = s->writers_waiting;
	pthread_mutex_unlock(&s->m);
	return waiting != 0;
}
