/*
 * Wait queues (kernel/sched/wait.c): tasks sleeping until a condition
 * holds. The struct is in kernel/include/sync_impl.h (completions embed
 * one).
 */
#ifndef KERNEL_SCHED_WAIT_H
#define KERNEL_SCHED_WAIT_H

#include <ghee/sync.h>

#include "sched.h"

/* A sleeping task's entry on a wait queue; lives on its stack. */
struct waiter {
	struct task *task;		/* [I] */
	struct list_head node;		/* [wq lock] on wq->waiters, or empty */
};

void waitq_init(struct wait_queue *wq, const char *name);
/* Queue w (if a wakeup took it off) and mark the task asleep. */
void waitq_prepare(struct wait_queue *wq, struct waiter *w);
/* Leave the queue and mark the task running. */
void waitq_finish(struct wait_queue *wq, struct waiter *w);
/* Wake the first waiter / every waiter, taking them off the queue. */
void waitq_wake_one(struct wait_queue *wq);
void waitq_wake_all(struct wait_queue *wq);

/*
 * Sleep until cond holds. cond is evaluated after the task is queued and
 * marked asleep, so a waker that makes it true and then calls
 * waitq_wake_* is never missed.
 */
#define wait_event(wq, cond)                                               \
	do {                                                               \
		struct waiter w_ = { current_task(), { NULL, NULL } };     \
		list_init(&w_.node);                                       \
		for (;;) {                                                 \
			waitq_prepare((wq), &w_);                          \
			if (cond)                                          \
				break;                                     \
			schedule();                                        \
		}                                                          \
		waitq_finish((wq), &w_);                                   \
	} while (0)

#endif
