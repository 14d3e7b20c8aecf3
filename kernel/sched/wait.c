/*
 * Wait queues and completions.
 *
 * A waiter record lives on the sleeping task's stack and is on the queue
 * while the task waits. Wakers take records off the queue as they wake
 * them (so waitq_wake_one never wakes the same task twice while others
 * wait); a woken task that finds its condition still false queues again.
 * The protocol against lost wakeups is the scheduler's (see sched.c):
 * queue and mark asleep, check, then schedule().
 *
 * Each queue's lock (irqsave) protects its list; sched_lock is taken
 * inside it (task_wake), nothing else.
 */
#include <errno.h>

#include <ghee/time.h>

#include "task_internal.h"
#include "timer.h"
#include "wait.h"

void waitq_init(struct wait_queue *wq, const char *name)
{
	spin_init(&wq->lock, name);
	list_init(&wq->waiters);
}

void waitq_prepare(struct wait_queue *wq, struct waiter *w)
{
	unsigned long flags;

	lockdep_might_sleep("wait_event");
	flags = spin_lock_irqsave(&wq->lock);
	if (list_empty(&w->node))
		list_add_tail(&w->node, &wq->waiters);
	sched_set_sleeping();
	spin_unlock_irqrestore(&wq->lock, flags);
}

void waitq_finish(struct wait_queue *wq, struct waiter *w)
{
	unsigned long flags;

	sched_set_running();
	flags = spin_lock_irqsave(&wq->lock);
	if (!list_empty(&w->node))
		list_del_init(&w->node);
	spin_unlock_irqrestore(&wq->lock, flags);
}

/* Caller holds wq->lock. */
static void wake_first(struct wait_queue *wq)
{
	struct waiter *w = list_entry(wq->waiters.next, struct waiter, node);

	list_del_init(&w->node);
	task_wake(w->task);
}

void waitq_wake_one(struct wait_queue *wq)
{
	unsigned long flags = spin_lock_irqsave(&wq->lock);

	if (!list_empty(&wq->waiters))
		wake_first(wq);
	spin_unlock_irqrestore(&wq->lock, flags);
}

void waitq_wake_all(struct wait_queue *wq)
{
	unsigned long flags = spin_lock_irqsave(&wq->lock);

	while (!list_empty(&wq->waiters))
		wake_first(wq);
	spin_unlock_irqrestore(&wq->lock, flags);
}

#define COMPLETE_ALL 0x80000000u	/* done value after complete_all */

void completion_init(struct completion *c)
{
	c->done = 0;
	waitq_init(&c->wait, "completion");
}

void complete(struct completion *c)
{
	unsigned long flags = spin_lock_irqsave(&c->wait.lock);

	if (c->done != COMPLETE_ALL)
		c->done++;
	if (!list_empty(&c->wait.waiters))
		wake_first(&c->wait);
	spin_unlock_irqrestore(&c->wait.lock, flags);
}

void complete_all(struct completion *c)
{
	unsigned long flags = spin_lock_irqsave(&c->wait.lock);

	c->done = COMPLETE_ALL;
	while (!list_empty(&c->wait.waiters))
		wake_first(&c->wait);
	spin_unlock_irqrestore(&c->wait.lock, flags);
}

/* Take one event from c, sleeping until there is one or until deadline
 * (0: none). 0 or -ETIMEDOUT. */
static int completion_take(struct completion *c, uint64_t deadline)
{
	struct waiter w = { current_task(), { NULL, NULL } };
	struct wake_timer wt;
	unsigned long flags;
	int ret = 0;

	lockdep_might_sleep("wait_for_completion");
	list_init(&w.node);
	if (deadline)
		wake_timer_start(&wt, deadline);
	flags = spin_lock_irqsave(&c->wait.lock);
	while (!c->done) {
		if (deadline && time_ns() >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		if (list_empty(&w.node))
			list_add_tail(&w.node, &c->wait.waiters);
		sched_set_sleeping();
		spin_unlock_irqrestore(&c->wait.lock, flags);
		schedule();
		flags = spin_lock_irqsave(&c->wait.lock);
	}
	if (!ret && c->done != COMPLETE_ALL)
		c->done--;
	if (!list_empty(&w.node))
		list_del_init(&w.node);
	spin_unlock_irqrestore(&c->wait.lock, flags);
	sched_set_running();
	if (deadline)
		timer_cancel(&wt.timer);
	return ret;
}

void wait_for_completion(struct completion *c)
{
	completion_take(c, 0);
}

int wait_for_completion_timeout(struct completion *c, uint64_t timeout_ns)
{
	return completion_take(c, time_ns() + timeout_ns + 1);
}
