/*
 * The scheduler: preemptive, strict priority between classes, round-robin
 * with time slices inside a class, on every CPU.
 *
 * Each class (enum task_prio) has one FIFO run queue of ready tasks,
 * shared by all CPUs: a CPU that switches takes the head of the best
 * non-empty queue, so ready work spreads over the CPUs by itself and a
 * task runs wherever a CPU is free (it migrates at every switch). The
 * idle task of a CPU runs when all queues are empty. When a task becomes
 * ready, kick() picks a CPU to switch: this one if it idles, else
 * another idle one, else (for a task of a better class) the one running
 * the worst task; another CPU is told by a reschedule IPI. A task runs until it sleeps,
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
 * The switch path runs under the one sched_lock on every CPU; it is short
 * and ghee has few CPUs. Per-CPU fields a preemptible task reads
 * (current, preempt_count) are single %gs-relative accesses (sched.h).
 *
 * sched_lock (irqsave) protects run queues, task states, all_tasks,
 * task reference counts and each CPU's current task. Rank: innermost but
 * for the paging, console and allocator locks; callers may hold
 * wait-queue and lock-internal spinlocks when they take it.
 */
#include <string.h>

#include <ghee/console.h>
#include <ghee/time.h>

#include "../arch/x86_64/arch.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/smp.h"
#include "../panic.h"
#include "sched.h"
#include "task_internal.h"
#include "timer.h"

struct cpu cpus[NR_CPUS_MAX];
int nr_cpus = 1;
struct spinlock sched_lock = SPINLOCK_INIT("sched");
static struct list_head run_queue[TASK_NR_PRIO];	/* [sched_lock] */
static struct task boot_task;	/* CPU 0's idle task: the boot flow */

void preempt_disable(void)
{
	__asm__ volatile("incl %%gs:%c0"
			 : : "i"(offsetof(struct cpu, preempt_count)) : "memory");
}

static void schedule_preempt(void);

void preempt_enable(void)
{
	__asm__ volatile("decl %%gs:%c0"
			 : : "i"(offsetof(struct cpu, preempt_count)) : "memory");
	if (preempt_count() == 0 &&
	    __atomic_load_n(&this_cpu()->need_resched, __ATOMIC_RELAXED) &&
	    irqs_enabled())
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

/* Ask CPU c to switch at its next preemption point. Caller holds
 * sched_lock. */
static void resched(struct cpu *c)
{
	__atomic_store_n(&c->need_resched, 1, __ATOMIC_RELAXED);
	if (c != this_cpu())
		smp_send_resched(c);
}

/* t just became ready: find it a CPU (see the top of the file). Caller
 * holds sched_lock. */
static void kick(struct task *t)
{
	struct cpu *self = this_cpu(), *c, *worst = self;
	int i;

	if (self->current == self->idle) {
		resched(self);
		return;
	}
	for (i = 0; i < nr_cpus; i++) {
		c = &cpus[i];
		if (!__atomic_load_n(&c->online, __ATOMIC_ACQUIRE))
			continue;
		if (c->current == c->idle &&
		    !__atomic_load_n(&c->need_resched, __ATOMIC_RELAXED)) {
			resched(c);
			return;
		}
		if (c->current->prio > worst->current->prio)
			worst = c;
	}
	if (t->prio < worst->current->prio)
		resched(worst);
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
	struct task *prev, *next, *dead;
	unsigned long flags;
	struct cpu *c;
	uint64_t now;

	/* Only now, with interrupts off, does the task stay on this CPU:
	 * read earlier, c could be a CPU it was preempted away from. */
	flags = spin_lock_irqsave(&sched_lock);
	c = this_cpu();
	prev = c->current;
	if (preempt && prev->state == TASK_SLEEPING)
		prev->state = TASK_RUNNING;
	__atomic_store_n(&c->need_resched, 0, __ATOMIC_RELAXED);
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
	if (preempt_count() != 0)
		panic("schedule: task %s sleeps holding a spinlock "
		      "(preempt_count %d)", current_task()->name,
		      preempt_count());
	if (!irqs_enabled())
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
	if (t->state != TASK_SLEEPING)
		return 0;
	t->state = TASK_RUNNING;
	if (!t->on_cpu) {
		enqueue(t);
		kick(t);
	}
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
	kick(t);
	spin_unlock_irqrestore(&sched_lock, flags);
}

/* Timer interrupt: run due timers (on CPU 0 only, so that callbacks never
 * run in parallel), and end the slice of a task that used it up while
 * another of its class (or a better one) is ready. The queues are only
 * peeked at: a wrong guess costs one needless pass through __schedule. */
void sched_tick(void)
{
	struct cpu *c = this_cpu();
	struct task *t = c->current;
	int p;

	if (c->id == 0)
		timer_tick(time_ns());
	if (--t->slice > 0 && t != c->idle)
		return;
	for (p = 0; p < TASK_NR_PRIO && p <= t->prio; p++)
		if (__atomic_load_n(&run_queue[p].next, __ATOMIC_RELAXED) !=
		    &run_queue[p])
			__atomic_store_n(&c->need_resched, 1, __ATOMIC_RELAXED);
}

void sched_irq_exit(void)
{
	if (__atomic_load_n(&this_cpu()->need_resched, __ATOMIC_RELAXED) &&
	    preempt_count() == 0)
		__schedule(1);
}

void task_yield(void)
{
	schedule();
}

uint64_t sched_switches(void)
{
	unsigned long flags = spin_lock_irqsave(&sched_lock);
	uint64_t n = 0;
	int i;

	for (i = 0; i < nr_cpus; i++)
		n += cpus[i].switches;
	spin_unlock_irqrestore(&sched_lock, flags);
	return n;
}

void sched_init(void)
{
	struct cpu *c = &cpus[0];
	int p;

	for (p = 0; p < TASK_NR_PRIO; p++)
		list_init(&run_queue[p]);
	task_init_idle(&boot_task, "idle");
	c->idle = &boot_task;
	c->current = &boot_task;
	boot_task.on_cpu = 1;
	boot_task.run_start = time_ns();
	list_add_tail(&boot_task.all_node, &all_tasks);
	irq_set_tick_handler(timer_interrupt);
	irq_set_exit_hook(sched_irq_exit);
}

void sched_init_ap(struct cpu *c)
{
	unsigned long flags = spin_lock_irqsave(&sched_lock);
	struct task *idle = c->idle;

	idle->on_cpu = 1;
	idle->cpu = c->id;
	idle->run_start = time_ns();
	c->current = idle;
	list_add_tail(&idle->all_node, &all_tasks);
	spin_unlock_irqrestore(&sched_lock, flags);
}

int cpu_list(struct cpu_info *out, int max)
{
	unsigned long flags = spin_lock_irqsave(&sched_lock);
	uint64_t now = time_ns();
	int i;

	for (i = 0; i < nr_cpus && i < max; i++) {
		struct cpu *c = &cpus[i];
		struct task *idle = c->idle, *cur = c->current;

		out[i].id = c->id;
		out[i].hw_id = c->apic_id;
		out[i].online = __atomic_load_n(&c->online, __ATOMIC_ACQUIRE);
		out[i].task_id = cur->id;
		memcpy(out[i].task, cur->name, TASK_NAME_MAX);
		out[i].switches = c->switches;
		out[i].idle_ns = idle->cpu_ns +
				 (idle->on_cpu ? now - idle->run_start : 0);
	}
	spin_unlock_irqrestore(&sched_lock, flags);
	return nr_cpus;
}

void sched_idle(void)
{
	struct cpu *c = this_cpu();

	if (c->id == 0)
		lockdep_sched_started();
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
