/*
 * Tasks: creation, exit, join, cancellation, sleeping, and the list `ps`
 * shows.
 *
 * A task owns a kmalloc'd struct task and a stack of STACK_PAGES pages
 * from page_alloc, with one more page below it left unmapped (paging.c),
 * so an overflow faults (into the double-fault stack) instead of
 * overwriting whatever lies below; freed stacks are kept for reuse
 * (stack_cache). A new stack is built to look like a
 * task that called ctx_switch: zeroed callee-saved registers under a
 * return address of task_entry (switch.S), and a default FPU state.
 *
 * References: the creator's handle (task_join / task_detach drop it) and
 * one while the task is alive (dropped by the next task on its CPU, once
 * the dead task's stack is no longer in use; see finish_switch). The last
 * one frees the task. Both counts are under sched_lock.
 */
#include <errno.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/time.h>

#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/paging.h"
#include "../mm/page_alloc.h"
#include "../panic.h"
#include "task_internal.h"
#include "timer.h"
#include "wait.h"

#define FCW_DEFAULT	0x037f	/* x87: all exceptions masked, 64-bit */
#define MXCSR_DEFAULT	0x1f80	/* SSE: all exceptions masked */

struct list_head all_tasks = LIST_HEAD_INIT(all_tasks);
static int next_id = 1;		/* [sched_lock] 0 is CPU 0's idle task */

static void task_fields_init(struct task *t, const char *name, int prio)
{
	strncpy(t->name, name, TASK_NAME_MAX - 1);
	t->name[TASK_NAME_MAX - 1] = 0;
	t->prio = prio;
	t->state = TASK_RUNNING;
	t->cpu = -1;
	t->local = NULL;
	list_init(&t->run_node);
	list_init(&t->all_node);
	waitq_init(&t->exit_wait, "task_exit");
	/* fxsave layout: FCW at byte 0, MXCSR at byte 24. */
	*(uint16_t *)&t->fx[0] = FCW_DEFAULT;
	*(uint32_t *)&t->fx[24] = MXCSR_DEFAULT;
}

void task_init_idle(struct task *t, const char *name)
{
	memset(t, 0, sizeof(*t));
	task_fields_init(t, name, TASK_PRIO_IDLE);
	t->id = 0;
	t->refs = 1;
	t->cpu = 0;
}

uint64_t task_stack_top(const struct task *t)
{
	return (uintptr_t)t->stack + (STACK_PAGES + 1) * PAGE_SIZE;
}

/*
 * Freed stacks, their guard pages still unmapped, kept for the next tasks
 * (STACK_CACHE of them, 36 KiB each). Unmapping a guard page takes a TLB
 * shootdown: an IPI to every other CPU and a wait until each has flushed,
 * long when the host has stopped that vCPU. Short-lived tasks (send's
 * read-ahead makes one per buffer, `&` jobs, pipelines) paid it per task:
 * 13% of the CPU samples of a send beside a balance at -smp 2. Mapping a
 * guard page back takes none (paging_set_present).
 */
#define STACK_CACHE 16
static struct spinlock stack_cache_lock = SPINLOCK_INIT("stack_cache");
static void *stack_cache[STACK_CACHE];	/* [stack_cache_lock] */
static int stack_cached;		/* [stack_cache_lock] */

/* STACK_PAGES usable pages above an unmapped guard page; returns the
 * guard page, or NULL. */
static void *stack_alloc(void)
{
	unsigned long flags = spin_lock_irqsave(&stack_cache_lock);
	void *p = stack_cached ? stack_cache[--stack_cached] : NULL;

	spin_unlock_irqrestore(&stack_cache_lock, flags);
	if (p)
		return p;
	p = page_alloc(STACK_PAGES + 1);
	if (!p)
		return NULL;
	if (paging_set_present(p, 0) < 0) {
		page_free(p, STACK_PAGES + 1);
		return NULL;
	}
	return p;
}

uint64_t task_stack_cache_pages(void)
{
	unsigned long flags = spin_lock_irqsave(&stack_cache_lock);
	uint64_t n = (uint64_t)stack_cached * (STACK_PAGES + 1);

	spin_unlock_irqrestore(&stack_cache_lock, flags);
	return n;
}

static void stack_free(void *p)
{
	unsigned long flags = spin_lock_irqsave(&stack_cache_lock);
	int kept = stack_cached < STACK_CACHE;

	if (kept)
		stack_cache[stack_cached++] = p;
	spin_unlock_irqrestore(&stack_cache_lock, flags);
	if (kept)
		return;
	if (paging_set_present(p, 1) < 0)
		panic("task stack %p: cannot map its guard page back", p);
	page_free(p, STACK_PAGES + 1);
}

struct task *task_create(const char *name, int (*fn)(void *arg), void *arg,
			 enum task_prio prio)
{
	struct task *t;
	uint64_t *sp;
	unsigned long flags;

	if (prio < 0 || prio >= TASK_NR_PRIO)
		return NULL;
	t = kzalloc(sizeof(*t));
	if (!t)
		return NULL;
	t->stack = stack_alloc();
	if (!t->stack) {
		kfree(t);
		return NULL;
	}
	task_fields_init(t, name, prio);
	t->fn = fn;
	t->arg = arg;
	t->refs = 2;
	/* Top: a zero return address ends backtraces; then ctx_switch's
	 * frame: return to task_entry, six callee-saved registers. */
	sp = (uint64_t *)(uintptr_t)task_stack_top(t);
	*--sp = 0;
	*--sp = (uint64_t)(uintptr_t)task_entry;
	sp -= 6;
	memset(sp, 0, 6 * sizeof(*sp));
	t->rsp = (uint64_t)(uintptr_t)sp;
	flags = spin_lock_irqsave(&sched_lock);
	t->id = next_id++;
	spin_unlock_irqrestore(&sched_lock, flags);
	sched_add(t);
	return t;
}

struct task *task_create_idle(int cpu)
{
	struct task *t = kmalloc(sizeof(*t));

	if (!t)
		return NULL;
	task_init_idle(t, "idle");
	t->cpu = cpu;
	t->stack = stack_alloc();
	if (!t->stack) {
		kfree(t);
		return NULL;
	}
	return t;
}

void task_free(struct task *t)
{
	stack_free(t->stack);
	kfree(t);
}

/* Drop a reference; free the task with the last one. */
static void task_put(struct task *t)
{
	unsigned long flags = spin_lock_irqsave(&sched_lock);
	int last = --t->refs == 0;

	if (last)
		list_del_init(&t->all_node);
	spin_unlock_irqrestore(&sched_lock, flags);
	if (last)
		task_free(t);
}

static int task_dead(struct task *t)
{
	return __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == TASK_DEAD;
}

int task_join(struct task *t)
{
	int code;

	wait_event(&t->exit_wait, task_dead(t));
	code = t->exit_code;
	task_put(t);
	return code;
}

int task_wait_end(struct task *t, uint64_t ns)
{
	uint64_t deadline = time_ns() + ns;
	struct wake_timer wt;

	lockdep_might_sleep("task_wait_end");
	wake_timer_start(&wt, deadline);
	wait_event(&t->exit_wait, task_dead(t) || time_ns() >= deadline);
	timer_cancel(&wt.timer);
	return task_dead(t) ? 0 : -ETIMEDOUT;
}

void task_detach(struct task *t)
{
	task_put(t);
}

void task_exit(int code)
{
	struct task *t = current_task();
	unsigned long flags;

	if (t->prio == TASK_PRIO_IDLE)
		panic("task_exit: the idle task cannot end");
	/* No preemption from here: once TASK_DEAD, a preempted task would
	 * never run again to wake its joiners. */
	preempt_disable();
	flags = spin_lock_irqsave(&sched_lock);
	t->exit_code = code;
	__atomic_store_n(&t->state, TASK_DEAD, __ATOMIC_RELEASE);
	spin_unlock_irqrestore(&sched_lock, flags);
	waitq_wake_all(&t->exit_wait);
	irq_save();
	this_cpu()->preempt_count--;
	schedule_final();
	panic("task_exit: dead task %s ran again", t->name);
}

struct task *task_current(void)
{
	return current_task();
}

/* See task.h. The scheduler lock keeps cpu_ns and run_start of one
 * switch together. */
uint64_t task_cpu_ns(void)
{
	unsigned long flags = spin_lock_irqsave(&sched_lock);
	struct task *t = current_task();
	uint64_t ns = t->cpu_ns + time_ns() - t->run_start;

	spin_unlock_irqrestore(&sched_lock, flags);
	return ns;
}

int task_id(const struct task *t)
{
	return t->id;
}

enum task_prio task_prio(const struct task *t)
{
	return (enum task_prio)t->prio;
}

void *task_local(void)
{
	return current_task()->local;
}

void task_set_local(void *p)
{
	current_task()->local = p;
}

int task_stop(int id)
{
	unsigned long flags = spin_lock_irqsave(&sched_lock);
	struct task *t;
	int ret = -ESRCH;

	list_for_each_entry(t, &all_tasks, struct task, all_node) {
		if (t->id != id || t->state == TASK_DEAD || t->id == 0)
			continue;
		__atomic_store_n(&t->stop, 1, __ATOMIC_RELAXED);
		task_wake_locked(t);
		ret = 0;
		break;
	}
	spin_unlock_irqrestore(&sched_lock, flags);
	return ret;
}

int task_should_stop(void)
{
	return __atomic_load_n(&current_task()->stop, __ATOMIC_RELAXED);
}

int task_sleep_ns(uint64_t ns)
{
	uint64_t deadline = time_ns() + ns;
	struct wake_timer wt;

	lockdep_might_sleep("task_sleep_ns");
	wake_timer_start(&wt, deadline);
	for (;;) {
		sched_set_sleeping();
		if (time_ns() >= deadline || task_should_stop())
			break;
		schedule();
	}
	sched_set_running();
	timer_cancel(&wt.timer);
	return time_ns() >= deadline ? 0 : -EINTR;
}

int task_list(struct task_info *out, int max)
{
	unsigned long flags = spin_lock_irqsave(&sched_lock);
	uint64_t now = time_ns();
	struct task *t;
	int n = 0;

	list_for_each_entry(t, &all_tasks, struct task, all_node) {
		struct task_info *ti;

		if (n >= max) {
			n++;
			continue;
		}
		ti = &out[n++];
		ti->id = t->id;
		memcpy(ti->name, t->name, TASK_NAME_MAX);
		ti->state = t->state == TASK_DEAD ? 'Z' :
			    t->state == TASK_SLEEPING ? 'S' :
			    t->on_cpu ? 'R' : 'r';
		ti->cpu = t->cpu;
		ti->prio = t->prio == TASK_PRIO_IDLE ? -1 : t->prio;
		ti->stop = t->stop;
		ti->cpu_ns = t->cpu_ns + (t->on_cpu ? now - t->run_start : 0);
	}
	spin_unlock_irqrestore(&sched_lock, flags);
	return n;
}
