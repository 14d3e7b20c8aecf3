/* Timers with callbacks (kernel/sched/timer.c). */
#ifndef KERNEL_SCHED_TIMER_H
#define KERNEL_SCHED_TIMER_H

#include <stdint.h>

#include "../../lib/list.h"

struct task;

struct timer {
	uint64_t deadline;		/* [timer_lock] time_ns() to fire at */
	void (*fn)(struct timer *t);	/* [I] runs in interrupt context */
	struct list_head node;		/* [timer_lock] on the pending list */
	int pending;			/* [timer_lock] queued, not yet run */
};

/* A timer that wakes a task (timed sleeps and waits). */
struct wake_timer {
	struct timer timer;
	struct task *task;		/* [I] task to wake */
};

/* Arm wt to wake the calling task at deadline; timer_cancel(&wt->timer)
 * before wt goes out of scope. */
void wake_timer_start(struct wake_timer *wt, uint64_t deadline);

void timer_init(struct timer *t, void (*fn)(struct timer *t));
/* Queue t to fire at deadline (re-queues a pending timer). */
void timer_add(struct timer *t, uint64_t deadline);
/* Take t off the queue; once this returns, fn is not running and will
 * not run. 1 when it was pending. */
int timer_cancel(struct timer *t);
/* Run the callbacks of timers due at now (the tick interrupt). */
void timer_tick(uint64_t now);

struct trap_frame;
/* The LAPIC timer interrupt of every CPU (interrupts off). */
void timer_interrupt(const struct trap_frame *f);
/* Make every CPU's timer interrupt hz times a second (a multiple of
 * TICK_HZ) and call hook (NULL: none) with the interrupted state at each
 * one; the scheduler tick stays at TICK_HZ. Each CPU follows at its next
 * interrupt. For the profiler; hook NULL and TICK_HZ end it. */
void timer_set_sampling(void (*hook)(const struct trap_frame *f),
			uint32_t hz);

#endif
