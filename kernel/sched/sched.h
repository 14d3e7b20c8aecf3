/*
 * Scheduler internals shared by kernel/sched, kernel/sync and the
 * interrupt code. The public task API is include/ghee/task.h.
 *
 * Field legend: [I] immutable after creation, [S] sched_lock,
 * [C] only the CPU the task runs on (with preemption off), [a] atomic.
 */
#ifndef KERNEL_SCHED_SCHED_H
#define KERNEL_SCHED_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include <ghee/progress.h>
#include <ghee/sync.h>
#include <ghee/task.h>

#include "../../lib/list.h"
#include "../sync/lockdep.h"

#define TASK_PRIO_IDLE	TASK_NR_PRIO	/* only the per-CPU idle task */
#define SLICE_TICKS	10		/* time slice, in ticks (10 ms) */
#define STARVE_NS	100000000ull	/* a ready task that waited this long
					 * runs before better classes (but
					 * INTERACTIVE) */
#define STACK_PAGES	8		/* 32 KiB per task, plus a guard page */

enum task_state {
	TASK_RUNNING,	/* on a CPU or ready on a run queue */
	TASK_SLEEPING,	/* waiting for task_wake() */
	TASK_DEAD,	/* ended; waiting for its last reference to go */
};

struct task {
	uint8_t fx[512] __attribute__((aligned(16)));	/* [C] FPU/SSE state
							 * while switched out */
	uint64_t rsp;			/* [S] stack pointer while switched out */
	int id;				/* [I] */
	char name[TASK_NAME_MAX];	/* [I] */
	int prio;			/* [I] enum task_prio, or TASK_PRIO_IDLE */
	enum task_state state;		/* [S] */
	int on_cpu;			/* [S] running now (its stack is live) */
	int cpu;			/* [S] CPU it runs or last ran on */
	int refs;			/* [S] creator's handle + 1 while alive */
	struct list_head run_node;	/* [S] on a run queue while ready */
	struct list_head all_node;	/* [S] on all_tasks */
	int slice;			/* [C] ticks left in this slice */
	uint64_t ready_ns;		/* [S] time_ns() when it began to wait
					 * on its run queue */
	int rotated;			/* [S] last queued for having used up
					 * its slice (sched.c: levels) */
	uint64_t cpu_ns;		/* [S] CPU time up to run_start */
	uint64_t run_start;		/* [S] time_ns() when last switched in */
	int stop;			/* [a] task_stop() was called */
	int exit_code;			/* [S] result, once TASK_DEAD */
	struct wait_queue exit_wait;	/* joiners wait here for TASK_DEAD */
	void *stack;			/* [I] lowest page (the guard), or NULL */
	int (*fn)(void *arg);		/* [I] */
	void *arg;			/* [I] */
	struct lockdep_held lockdep;	/* [C] sleeping locks held */
	struct progress progress;	/* [a] written by the task only */
	void *local;			/* [C] task_local(): the task only */
};

#define NR_CPUS_MAX	16	/* CPUs ghee runs on; more are left halted */

/*
 * Per-CPU state. Each CPU's GS base points at its struct cpu (smp.c), so
 * this_cpu() is one load, and the fields a preemptible task touches
 * (preempt_count, current) are read and changed by single %gs-relative
 * instructions, which an interrupt (and so a migration) cannot split.
 */
struct cpu {
	struct cpu *self;	/* [I] this struct: %gs:0 */
	struct task *current;	/* [S] running task (written under sched_lock,
				 * read by its own CPU at any time, and by
				 * other CPUs atomically as a hint:
				 * kernel/sync/owner_spin.h) */
	int preempt_count;	/* [C] spinlocks held + preempt_disable()s */
	int need_resched;	/* [a] switch at the next preemption point */
	struct task *idle;	/* [I] runs when no task is ready */
	struct task *last;	/* [S] task switched away from (to reap) */
	int id;			/* [I] index in cpus[] */
	uint32_t apic_id;	/* [I] LAPIC ID (IPIs go there) */
	int online;		/* [a] running the scheduler */
	uint64_t switches;	/* [S] context switches on this CPU */
	uint32_t timer_hz;	/* [C] rate its LAPIC timer runs at (0: TICK_HZ,
				 * as started) */
	uint32_t timer_count;	/* [C] timer interrupts since the last
				 * scheduler tick */
	struct lockdep_held lockdep;	/* [C] spinlocks held on this CPU */
};

extern struct cpu cpus[NR_CPUS_MAX];
extern int nr_cpus;		/* [I] CPUs started (after smp_wait; CPUs
				 * being started count, offline) */

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;

	__asm__ volatile("mov %%gs:0, %0" : "=r"(c));
	return c;
}

static inline struct task *current_task(void)
{
	struct task *t;

	__asm__ volatile("mov %%gs:%c1, %0"
			 : "=r"(t) : "i"(offsetof(struct cpu, current)));
	return t;
}

static inline int preempt_count(void)
{
	int n;

	__asm__ volatile("movl %%gs:%c1, %0"
			 : "=r"(n) : "i"(offsetof(struct cpu, preempt_count)));
	return n;
}

/* Preemption off on this CPU (they nest). Inline, as every spinlock
 * does it: one %gs-relative instruction costs less than a call and its
 * return (under QEMU's TCG every return is a lookup of where to go). */
static inline void preempt_disable(void)
{
	__asm__ volatile("incl %%gs:%c0"
			 : : "i"(offsetof(struct cpu, preempt_count)) : "memory");
}

/* The switch preempt_enable found due (out of line: it is rare). */
void preempt_resched(void);

/* Re-enable preemption; switch now when a switch is due and interrupts
 * are on. */
static inline void preempt_enable(void)
{
	int due;

	__asm__ volatile("decl %%gs:%c0"
			 : : "i"(offsetof(struct cpu, preempt_count)) : "memory");
	if (preempt_count())
		return;
	__asm__ volatile("movl %%gs:%c1, %0"
			 : "=r"(due) : "i"(offsetof(struct cpu, need_resched)));
	if (due)
		preempt_resched();
}

/* Pages held by freed task stacks kept for reuse (task.c), for
 * allocator leak checks. */
uint64_t task_stack_cache_pages(void);

/* Make the boot flow the idle task of CPU 0 and take the timer tick. */
void sched_init(void);
/* Make c's idle task (c->idle, from task_create_idle) the running task
 * of the calling CPU, c. */
void sched_init_ap(struct cpu *c);
/* Become the idle loop (the boot flow's end, and an AP's). */
__attribute__((noreturn)) void sched_idle(void);
/*
 * Give up the CPU. A task whose state is TASK_SLEEPING stays off the run
 * queues until task_wake(); a TASK_RUNNING one goes to the back of its
 * queue. Must not be called with a spinlock held or interrupts off.
 */
void schedule(void);
/* Mark the calling task asleep; the caller then re-checks its condition
 * and calls schedule(). */
void sched_set_sleeping(void);
/* Undo sched_set_sleeping when the condition held after all. */
void sched_set_running(void);
/* Make a sleeping task ready. 1 when it was asleep, 0 otherwise. Any
 * context, interrupts included. */
int task_wake(struct task *t);

/* Scheduler tick (timer interrupt) and the interrupt-exit hook. */
void sched_tick(void);
void sched_irq_exit(void);
/* Context switches done, for tests and benchmarks. */
uint64_t sched_switches(void);

/* kernel/sched/switch.S: save callee-saved registers and the FPU state
 * of the running task, load next's. */
void ctx_switch(uint64_t *prev_rsp, uint64_t next_rsp, void *prev_fx,
		void *next_fx);
/* First code of a new task (switch.S), calls task_start(). */
void task_entry(void);
void task_start(void);

#endif
