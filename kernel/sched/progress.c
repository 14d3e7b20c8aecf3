/*
 * The kernel's side of the progress records (include/ghee/progress.h;
 * writer and copy in lib/progress.c): each task's struct progress, copied
 * by others (jobs, ps) under sched_lock, which keeps the task from being
 * freed during the copy.
 */
#include <errno.h>

#include <ghee/progress.h>
#include <ghee/task.h>

#include "task_internal.h"

struct progress *progress_self(void)
{
	return &current_task()->progress;
}

int progress_get(int id, struct progress *out)
{
	unsigned long flags = spin_lock_irqsave(&sched_lock);
	struct task *t;
	int ret = -ESRCH;

	list_for_each_entry(t, &all_tasks, struct task, all_node) {
		if (t->id != id || t->state == TASK_DEAD)
			continue;
		progress_copy(&t->progress, out);
		ret = 0;
		break;
	}
	spin_unlock_irqrestore(&sched_lock, flags);
	return ret;
}
