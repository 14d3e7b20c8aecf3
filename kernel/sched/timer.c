/*
 * Timers: callbacks that run in the tick interrupt once their deadline
 * has passed, so their resolution is one tick (1 ms). Pending timers sit
 * on one list sorted by deadline; the tick only looks at its head, so an
 * idle tick costs one compare, and adding is a walk from the back (new
 * deadlines are usually the latest).
 *
 * timer_lock (irqsave; a leaf but for sched_lock, which callbacks may take
 * after it is dropped) protects the list, each timer's deadline and
 * pending flag, and `running`. A callback runs with timer_lock released;
 * timer_cancel() waits for a running callback of its timer to return, so
 * a caller may free the timer after cancelling it.
 *
 * The LAPIC timer interrupt (timer_interrupt) comes TICK_HZ times a
 * second and is the scheduler tick. While the profiler samples, it comes
 * faster: timer_set_sampling sets the rate and a hook, every CPU
 * reprograms its own timer at its next interrupt (so no IPI is needed),
 * calls the hook at every interrupt and the scheduler tick only at every
 * (rate / TICK_HZ)-th, so slices and timer deadlines keep their length.
 */
#include <ghee/sync.h>

#include "../arch/x86_64/arch.h"
#include "../arch/x86_64/cpu.h"
#include "sched.h"
#include "timer.h"

static struct spinlock timer_lock = SPINLOCK_INIT("timer");
static struct list_head pending = LIST_HEAD_INIT(pending);	/* [timer_lock] */
static struct timer *running;	/* [timer_lock] callback in progress */

static uint32_t timer_hz = TICK_HZ;	/* [a] interrupts a second wanted */
/* [a] called at every timer interrupt, or NULL */
static void (*sample_hook)(const struct trap_frame *f);

void timer_init(struct timer *t, void (*fn)(struct timer *t))
{
	t->fn = fn;
	t->pending = 0;
	t->deadline = 0;
	list_init(&t->node);
}

void timer_add(struct timer *t, uint64_t deadline)
{
	unsigned long flags = spin_lock_irqsave(&timer_lock);
	struct list_head *pos;

	if (t->pending)
		list_del_init(&t->node);
	t->deadline = deadline;
	t->pending = 1;
	for (pos = pending.prev; pos != &pending; pos = pos->prev)
		if (list_entry(pos, struct timer, node)->deadline <= deadline)
			break;
	list_add(&t->node, pos);
	spin_unlock_irqrestore(&timer_lock, flags);
}

int timer_cancel(struct timer *t)
{
	unsigned long flags = spin_lock_irqsave(&timer_lock);
	int was = t->pending;

	if (was) {
		list_del_init(&t->node);
		t->pending = 0;
	}
	while (running == t) {
		spin_unlock_irqrestore(&timer_lock, flags);
		cpu_relax();
		flags = spin_lock_irqsave(&timer_lock);
	}
	spin_unlock_irqrestore(&timer_lock, flags);
	return was;
}

void timer_tick(uint64_t now)
{
	struct timer *t;

	spin_lock(&timer_lock);
	while (!list_empty(&pending)) {
		t = list_entry(pending.next, struct timer, node);
		if (t->deadline > now)
			break;
		list_del_init(&t->node);
		t->pending = 0;
		running = t;
		spin_unlock(&timer_lock);
		t->fn(t);
		spin_lock(&timer_lock);
		running = NULL;
	}
	spin_unlock(&timer_lock);
}

static void wake_fn(struct timer *t)
{
	task_wake(container_of(t, struct wake_timer, timer)->task);
}

void wake_timer_start(struct wake_timer *wt, uint64_t deadline)
{
	wt->task = current_task();
	timer_init(&wt->timer, wake_fn);
	timer_add(&wt->timer, deadline);
}

void timer_set_sampling(void (*hook)(const struct trap_frame *f), uint32_t hz)
{
	__atomic_store_n(&sample_hook, hook, __ATOMIC_RELEASE);
	__atomic_store_n(&timer_hz, hz, __ATOMIC_RELAXED);
}

void timer_interrupt(const struct trap_frame *f)
{
	struct cpu *c = this_cpu();
	uint32_t hz = __atomic_load_n(&timer_hz, __ATOMIC_RELAXED);
	void (*hook)(const struct trap_frame *f) =
		__atomic_load_n(&sample_hook, __ATOMIC_ACQUIRE);

	if ((c->timer_hz ? c->timer_hz : TICK_HZ) != hz) {
		apic_timer_start(hz);
		c->timer_hz = hz;
		c->timer_count = 0;
	}
	if (hook)
		hook(f);
	if (++c->timer_count < hz / TICK_HZ)
		return;
	c->timer_count = 0;
	sched_tick();
}
