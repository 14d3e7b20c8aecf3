/*
 * The scheduler: preemptive, by class, round-robin with time slices inside
 * a class, on every CPU.
 *
 * Three classes (enum task_prio): INTERACTIVE for the shell itself (line
 * editing, Ctrl-C, the prompt), NORMAL for every command, in the
 * foreground or started with `&`, and for the work commands wait for (a
 * command's helper tasks, balance, the transaction commit), BACKGROUND
 * for housekeeping nobody waits for (the cleaner, a polled disk's poller,
 * `spin`). A foreground command and a `&` job are one class, as on Linux
 * (which does not lower `&` jobs): with one CPU they share it in slices,
 * where a lower class for `&` jobs gave a balance started with `&` the CPU
 * only while a foreground send waited for the disk.
 *
 * Inside a class, two levels: a task that woke up (or is new, or yielded)
 * waits on the class's first queue, a task that used up its slice on the
 * second, so a task that gives the CPU up early (for the disk: send and
 * its read-ahead, a balance between its reads) runs at once when it
 * wakes, preempting a task of its class that is only using up slices,
 * and CPU-bound tasks of a class share what is left in slices,
 * round-robin. With plain round-robin, every wakeup of a send waited for
 * the balance's slice: on one CPU send ran 2-3.7x slower beside a
 * balance, the CPU idling while both waited for the disk.
 *
 * Which ready task runs: a ready INTERACTIVE task always runs first, and
 * wakes up preempting anything else (the shell, woken by the serial
 * interrupt, preempts a busy command within the interrupt), so the shell
 * answers under any load. Otherwise the head of the first non-empty queue
 * (classes in order, each first level then second) runs, unless the head
 * of a later queue has waited longer than STARVE_NS (and longer than it):
 * then that one gets a slice. So no ready task of a command or of
 * housekeeping waits longer than about STARVE_NS plus a slice per task
 * ahead of it (a cleaner holding a lock the commit needs cannot be parked
 * behind a busy command, nor a CPU-bound command behind tasks that wake
 * each other all the time). A starved task runs about one slice in
 * STARVE_NS + SLICE when better ones are busy. A task preempted before
 * its slice ends goes back to the head of its queue with its waiting
 * time kept: it did not have its turn, and a starved one keeps its slice
 * when a NORMAL task wakes.
 *
 * Each queue is FIFO and shared by all CPUs: a CPU that switches takes the
 * task chosen above, so ready work spreads over the CPUs by itself and a
 * task runs wherever a CPU is free (it migrates at every switch). The
 * idle task of a CPU runs when all queues are empty. When a task becomes
 * ready, kick() picks a CPU to switch: this one if it idles, else another
 * idle one, else (for a task of an earlier queue) the one running the
 * task of the latest queue; another CPU is told by a reschedule IPI. A
 * task runs until it sleeps, yields, or is preempted: when its
 * SLICE_TICKS-tick slice is used up and another ready task may go first
 * (one of its class or a better one; any, for a task that is not
 * INTERACTIVE, since a worse one may have starved), or at once when a
 * task of an earlier queue becomes ready.
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
#include <ghee/profile.h>
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
#define NR_LEVELS (2 * TASK_NR_PRIO)
static struct list_head run_queue[NR_LEVELS];	/* [sched_lock] */
static struct task boot_task;	/* CPU 0's idle task: the boot flow */

static void schedule_preempt(void);

void preempt_resched(void)
{
	if (irqs_enabled())
		schedule_preempt();
}

/* t's run queue (see the top of the file); the idle task's is past the
 * last. */
static int level(const struct task *t)
{
	return 2 * t->prio + t->rotated;
}

/* Next task to run on c (see the top of the file), taken off its queue;
 * c's idle task when none is ready. Caller holds sched_lock. */
static struct task *pick_next(struct cpu *c, uint64_t now)
{
	struct task *t, *next = NULL;
	int l;

	for (l = 0; l < NR_LEVELS; l++) {
		if (list_empty(&run_queue[l]))
			continue;
		t = list_entry(run_queue[l].next, struct task, run_node);
		if (!next)
			next = t;
		else if (now - t->ready_ns > STARVE_NS &&
			 t->ready_ns < next->ready_ns)
			next = t;	/* starved: its turn */
		if (next->prio == TASK_PRIO_INTERACTIVE)
			break;
	}
	if (!next)
		return c->idle;
	list_del_init(&next->run_node);
	return next;
}

/* Queue t at the tail of its level, waiting from now; rotated: it used up
 * its slice. Caller holds sched_lock. */
static void enqueue(struct task *t, uint64_t now, int rotated)
{
	if (t->prio < TASK_NR_PRIO && list_empty(&t->run_node)) {
		t->ready_ns = now;
		t->rotated = rotated;
		list_add_tail(&t->run_node, &run_queue[level(t)]);
	}
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
		if (level(c->current) > level(worst->current))
			worst = c;
	}
	if (level(t) < level(worst->current))
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
	now = time_ns();
	if (preempt && prev->state == TASK_SLEEPING)
		prev->state = TASK_RUNNING;
	__atomic_store_n(&c->need_resched, 0, __ATOMIC_RELAXED);
	if (prev->state == TASK_RUNNING && prev != c->idle &&
	    list_empty(&prev->run_node)) {
		if (preempt && prev->slice > 0)	/* its turn is not over */
			list_add(&prev->run_node, &run_queue[level(prev)]);
		else
			enqueue(prev, now, prev->slice <= 0);
	}
	next = pick_next(c, now);
	if (next == prev) {
		if (prev->slice <= 0)	/* no rival: a new slice */
			prev->slice = SLICE_TICKS;
		spin_unlock_irqrestore(&sched_lock, flags);
		return;
	}
	next->slice = SLICE_TICKS;
	prev->cpu_ns += now - prev->run_start;
	prev->on_cpu = 0;
	next->run_start = now;
	next->on_cpu = 1;
	next->cpu = c->id;
	__atomic_store_n(&c->current, next, __ATOMIC_RELAXED);
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
	struct profile_wait w;

	if (preempt_count() != 0)
		panic("schedule: task %s sleeps holding a spinlock "
		      "(preempt_count %d)", current_task()->name,
		      preempt_count());
	if (!irqs_enabled())
		panic("schedule: task %s sleeps with interrupts off",
		      current_task()->name);
	profile_wait_begin(&w);
	__schedule(0);
	profile_wait_end(&w);
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
		enqueue(t, time_ns(), 0);
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
	enqueue(t, time_ns(), 0);
	kick(t);
	spin_unlock_irqrestore(&sched_lock, flags);
}

/* Timer interrupt: run due timers (on CPU 0 only, so that callbacks never
 * run in parallel), and end the slice of a task that used it up while
 * another that may go first is ready: of its class or a better one, or of
 * any class when t is not INTERACTIVE (a worse one may have starved;
 * pick_next decides). The queues are only peeked at: a wrong guess costs
 * one needless pass through __schedule, once a slice. */
void sched_tick(void)
{
	struct cpu *c = this_cpu();
	struct task *t = c->current;
	int l, last;

	if (c->id == 0)
		timer_tick(time_ns());
	if (--t->slice > 0 && t != c->idle)
		return;
	last = t->prio == TASK_PRIO_INTERACTIVE ? 1 : NR_LEVELS - 1;
	for (l = 0; l <= last; l++)
		if (__atomic_load_n(&run_queue[l].next, __ATOMIC_RELAXED) !=
		    &run_queue[l])
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

	for (p = 0; p < NR_LEVELS; p++)
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
