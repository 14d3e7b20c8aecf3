/*
 * Progress records of long operations (include/ghee/progress.h): each
 * task's struct progress, written only by the task with relaxed atomic
 * stores, and copied by others (jobs, ps) under sched_lock, which keeps
 * the task from being freed during the copy. The phase pointer is stored
 * last with release order, so a reader that sees a phase sees the unit
 * and start time set with it.
 */
#include <errno.h>

#include <ghee/progress.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "task_internal.h"

#define STORE(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
#define LOAD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

void progress_phase(const char *phase, uint64_t total, const char *unit)
{
	struct progress *p = &current_task()->progress;

	STORE(p->done, 0);
	STORE(p->total, total);
	STORE(p->unit, unit);
	STORE(p->start_ns, time_ns());
	__atomic_store_n(&p->phase, phase, __ATOMIC_RELEASE);
}

void progress_total(uint64_t total)
{
	STORE(current_task()->progress.total, total);
}

int progress_add(uint64_t n)
{
	__atomic_fetch_add(&current_task()->progress.done, n, __ATOMIC_RELAXED);
	return task_should_stop() ? -ECANCELED : 0;
}

void progress_end(void)
{
	__atomic_store_n(&current_task()->progress.phase, NULL,
			 __ATOMIC_RELEASE);
}

int progress_get(int id, struct progress *out)
{
	unsigned long flags = spin_lock_irqsave(&sched_lock);
	struct task *t;
	int ret = -ESRCH;

	list_for_each_entry(t, &all_tasks, struct task, all_node) {
		const struct progress *p = &t->progress;

		if (t->id != id || t->state == TASK_DEAD)
			continue;
		out->phase = __atomic_load_n(&p->phase, __ATOMIC_ACQUIRE);
		out->unit = LOAD(p->unit);
		out->done = LOAD(p->done);
		out->total = LOAD(p->total);
		out->start_ns = LOAD(p->start_ns);
		ret = 0;
		break;
	}
	spin_unlock_irqrestore(&sched_lock, flags);
	return ret;
}
