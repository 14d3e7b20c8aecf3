/*
 * Mutexes and reader/writer semaphores, with the semantics include/ghee/sync.h
 * promises: writer-fair (a waiting writer blocks new readers) and
 * rwsem_is_contended. Waiting spins for now (no scheduler yet).
 */
#include <ghee/sync.h>

#include "../arch/x86_64/cpu.h"

void mutex_init(struct mutex *m, const char *name)
{
	spin_init(&m->lock, name);
}

void mutex_lock(struct mutex *m)
{
	spin_lock(&m->lock);
}

void mutex_unlock(struct mutex *m)
{
	spin_unlock(&m->lock);
}

void rwsem_init(struct rwsem *s, const char *name)
{
	spin_init(&s->lock, name);
	s->readers = 0;
	s->writers_waiting = 0;
	s->name = name;
}

int down_read_trylock(struct rwsem *s)
{
	int ok;

	spin_lock(&s->lock);
	ok = s->readers >= 0 && s->writers_waiting == 0;
	if (ok)
		s->readers++;
	spin_unlock(&s->lock);
	return ok;
}

void down_read(struct rwsem *s)
{
	while (!down_read_trylock(s))
		cpu_relax();
}

void up_read(struct rwsem *s)
{
	spin_lock(&s->lock);
	s->readers--;
	spin_unlock(&s->lock);
}

void down_write(struct rwsem *s)
{
	spin_lock(&s->lock);
	s->writers_waiting++;
	while (s->readers != 0) {
		spin_unlock(&s->lock);
		cpu_relax();
		spin_lock(&s->lock);
	}
	s->writers_waiting--;
	s->readers = -1;
	spin_unlock(&s->lock);
}

void up_write(struct rwsem *s)
{
	spin_lock(&s->lock);
	s->readers = 0;
	spin_unlock(&s->lock);
}

void downgrade_write(struct rwsem *s)
{
	spin_lock(&s->lock);
	s->readers = 1;
	spin_unlock(&s->lock);
}

int rwsem_is_contended(struct rwsem *s)
{
	return __atomic_load_n(&s->writers_waiting, __ATOMIC_RELAXED) != 0;
}
