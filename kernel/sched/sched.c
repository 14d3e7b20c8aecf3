/*
 * The scheduler: preemptive, strict priority between classes, round-robin
 * with time slices inside a class.
 *
 * Each class (enum task_prio) has a FIFO run queue of ready tasks; the
 * idle task of a CPU runs when all are empty. A task runs until it sleeps,
 * yields, or is preempted: when its SLICE_TICKS-tick slice is used up and
 * another task of its class (or a better one) is ready, or at once when a
 * task of a better class wakes up (the shell, woken by the serial
 * interrupt, preempts a busy background task within the interrupt).
 *
 * Preemption points: the way out of every interrupt (sched_irq_exit, on
 * the interrupted task's stack: isr.S saved all of its registers there)
 * and preempt_enable() when the last spinlock is dropped. Nothing switches
 * while preempt_count is nonzero.
 *
 * Switching (xv6's scheme): schedule() takes sched_lock with interrupts
 * off and holds it across ctx_switch; the task switched to releases it.
 * So a task's saved context is complete before any other CPU can pick it,
 * and a wakeup cannot slip between "decide to sleep" and "switched out".
 * New tasks release it in task_start().
 *
 * Sleeping without lost wakeups: a sleeper sets TASK_SLEEPING (under
 * sched_lock), then re-checks its condition, then calls schedule(). A
 * waker makes the condition true first, then calls task_wake(), which
 * sets TASK_RUNNING; schedule() only parks tasks still TASK_SLEEPING.
 * Preemption never parks a task (it sets it TASK_RUNNING again): a task
 * preempted between setting TASK_SLEEPING and its re-check would
 * otherwise sleep on a condition that is already true.
 *
 * sched_lock (irqsave) protects run queues, task states, all_tasks and
 * task reference counts. Rank: innermost but for the console and
 * allocator locks; callers may hold wait-queue and lock-internal
 * spinlocks when they take it.
 */
#include <ghee/console.h>
#include <ghee/time.h>

#include "../arch/x86_64/arch.h"
#include "../arch/x86_64/cpu.h"
#include "../panic.h"
#include "sched.h"
#include "task_internal.h"
#include "timer.h"

struct cpu cpus[1];
struct spinlock sched_lock = SPINLOCK_INIT("sched");
static struct list_head run_queue[TASK_NR_PRIO];	/* [sched_lock] */
static struct task boot_task;	/* CPU 0's idle task: the boot flow */

void preempt_disable(void)
{
	this_cpu()->preempt_count++;
	__asm__ volatile("" : : : "memory");
}

static int irqs_on(void)
{
	unsigned long flags;

	__asm__ volatile("pushfq; popq %0" : "=r"(flags));
	return flags & RFLAGS_IF;
}

static void schedule_preempt(void);

void preempt_enable(void)
{
	struct cpu *c = this_cpu();

	__asm__ volatile("" : : : "memory");
	if (--c->preempt_count == 0 &&
	    __atomic_load_n(&c->need_resched, __ATOMIC_RELAXED) && irqs_on())
		schedule_preempt();
}

/* Next task to run on c: the head of the best non-empty queue, else idle.
 * Caller holds sched_lock. */
static struct task *pick_next(struct cpu *c)
{
	struct task *t;
	int p;

	for (p = 0; p < TASK_NR_PRIO; p++) {
		if (list_empty(&run_queue[p]))
			continue;
		t = list_entry(run_queue[p].next, struct task, run_node);
		list_del_init(&t->run_node);
		return t;
	}
	return c->idle;
}

/* Caller holds sched_lock. */
static void enqueue(struct task *t)
{
	if (t->prio < TASK_NR_PRIO && list_empty(&t->run_node))
		list_add_tail(&t->run_node, &run_queue[t->prio]);
}

/* The resumed side of a switch: account, and drop the alive reference of
 * a task that ended. Caller holds sched_lock; returns a task to free
 * after it is released. */
static struct task *finish_switch(struct cpu *c)
{
	struct task *last = c->last;

	c->last = NULL;
	if (last && last->state == TASK_DEAD && --last->refs == 0) {
		list_del_init(&last->all_node);
		return last;
	}
	return NULL;
}

/* Switch to the next task. preempt: called from a preemption point. */
static void __schedule(int preempt)
{
	struct cpu *c = this_cpu();
	struct task *prev = c->current, *next, *dead;
	unsigned long flags;
	uint64_t now;

	flags = spin_lock_irqsave(&sched_lock);
	if (preempt && prev->state == TASK_SLEEPING)
		prev->state = TASK_RUNNING;
	c->need_resched = 0;
	if (prev->state == TASK_RUNNING && prev != c->idle)
		enqueue(prev);
	next = pick_next(c);
	if (next == prev) {
		spin_unlock_irqrestore(&sched_lock, flags);
		return;
	}
	now = time_ns();
	prev->cpu_ns += now - prev->run_start;
	prev->on_cpu = 0;
	next->run_start = now;
	next->on_cpu = 1;
	next->cpu = c->id;
	next->slice = SLICE_TICKS;
	c->current = next;
	c->last = prev;
	c->switches++;
	ctx_switch(&prev->rsp, next->rsp, prev->fx, next->fx);
	/* Running as prev again, maybe much later. */
	dead = finish_switch(this_cpu());
	spin_unlock_irqrestore(&sched_lock, flags);
	if (dead)
		task_free(dead);
}

void schedule(void)
{
	if (this_cpu()->preempt_count != 0)
		panic("schedule: task %s sleeps holding a spinlock "
		      "(preempt_count %d)", current_task()->name,
		      this_cpu()->preempt_count);
	if (!irqs_on())
		panic("schedule: task %s sleeps with interrupts off",
		      current_task()->name);
	__schedule(0);
}

void schedule_final(void)
{
	__schedule(0);
}

static void schedule_preempt(void)
{
	__schedule(1);
}

void task_start(void)
{
	struct task *dead;
	struct task *self;

	dead = finish_switch(this_cpu());
	self = current_task();
	/* sched_lock was taken with interrupts off by the task that switched
	 * here; a new task starts with them on. */
	spin_unlock_irqrestore(&sched_lock, RFLAGS_IF);
	if (dead)
		task_free(dead);
	task_exit(self->fn(self->arg));
}

void sched_set_sleeping(void)
{
	unsigned long flags = spin_lock_irqsave(&sched_lock);

	current_task()->state = TASK_SLEEPING;
	spin_unlock_irqrestore(&sched_lock, flags);
}

void sched_set_running(void)
{
	unsigned long flags = spin_lock_irqsave(&sched_lock);

	current_task()->state = TASK_RUNNING;
	spin_unlock_irqrestore(&sched_lock, flags);
}

/* Caller holds sched_lock. */
int task_wake_locked(struct task *t)
{
	struct cpu *c = this_cpu();

	if (t->state != TASK_SLEEPING)
		return 0;
	t->state = TASK_RUNNING;
	if (!t->on_cpu)
		enqueue(t);
	if (t->prio < c->current->prio)
		__atomic_store_n(&c->need_resched, 1, __ATOMIC_RELAXED);
	return 1;
}

int task_wake(struct task *t)
{
	unsigned long flags = spin_lock_irqsave(&sched_lock);
	int ret = task_wake_locked(t);

	spin_unlock_irqrestore(&sched_lock, flags);
	return ret;
}

/* Queue a newly created task. */
void sched_add(struct task *t)
{
	unsigned long flags = spin_lock_irqsave(&sched_lock);

	t->state = TASK_RUNNING;
	list_add_tail(&t->all_node, &all_tasks);
	enqueue(t);
	if (t->prio < this_cpu()->current->prio)
		this_cpu()->need_resched = 1;
	spin_unlock_irqrestore(&sched_lock, flags);
}

/* Timer interrupt: run due timers, and end the slice of a task that used
 * it up while another of its class (or a better one) is ready. */
void sched_tick(void)
{
	struct cpu *c = this_cpu();
	struct task *t = c->current;
	int p;

	timer_tick(time_ns());
	if (--t->slice > 0 && t != c->idle)
		return;
	spin_lock(&sched_lock);
	for (p = 0; p < TASK_NR_PRIO && p <= t->prio; p++)
		if (!list_empty(&run_queue[p]))
			c->need_resched = 1;
	spin_unlock(&sched_lock);
}

void sched_irq_exit(void)
{
	struct cpu *c = this_cpu();

	if (c->need_resched && c->preempt_count == 0)
		__schedule(1);
}

void task_yield(void)
{
	schedule();
}

uint64_t sched_switches(void)
{
	return this_cpu()->switches;
}

void sched_init(void)
{
	struct cpu *c = &cpus[0];
	int p;

	for (p = 0; p < TASK_NR_PRIO; p++)
		list_init(&run_queue[p]);
	task_init_idle(&boot_task, "idle");
	c->id = 0;
	c->idle = &boot_task;
	c->current = &boot_task;
	boot_task.on_cpu = 1;
	boot_task.run_start = time_ns();
	list_add_tail(&boot_task.all_node, &all_tasks);
	irq_set_tick_handler(sched_tick);
	irq_set_exit_hook(sched_irq_exit);
}

void sched_idle(void)
{
	struct cpu *c = this_cpu();

	for (;;) {
		__asm__ volatile("cli" : : : "memory");
		if (__atomic_load_n(&c->need_resched, __ATOMIC_RELAXED)) {
			irq_enable();
			schedule();
		} else {
			/* sti;hlt is atomic: a wakeup from an interrupt taken
			 * right after the check still ends the halt. */
			irq_enable_and_halt();
		}
	}
}
