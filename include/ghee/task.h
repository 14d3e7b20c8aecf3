/*
 * Task service: threads of control with their own stacks, implemented by
 * the kernel's preemptive scheduler (kernel/sched) and by the host shims
 * on pthreads (tests/host/shim/task.c).
 *
 * A long operation (send, relocation, scrub, a test's spinner) runs as a
 * task. It is cancelled cooperatively: task_stop() (the shell's `kill`)
 * raises a flag, and the task checks task_should_stop() at points where it
 * can stop cleanly, then returns (or calls task_exit) with -ECANCELED.
 *
 * Lifetime: task_create() hands the caller one reference. Drop it with
 * task_join() (waits for the end and returns the task's result) or with
 * task_detach() (the task is freed when it ends). Exactly one of the two.
 */
#ifndef GHEE_TASK_H
#define GHEE_TASK_H

#include <stdint.h>

struct task;

/* Scheduling classes: a ready task of a lower number runs first, except
 * that a ready NORMAL or BACKGROUND task that has waited long gets a slice
 * (kernel/sched/sched.c); tasks of one class share the CPU in time slices,
 * round-robin. */
enum task_prio {
	TASK_PRIO_INTERACTIVE = 0,	/* the shell: line editing, Ctrl-C */
	TASK_PRIO_NORMAL = 1,		/* commands, foreground or `&`, and
					 * the work they wait for (commits) */
	TASK_PRIO_BACKGROUND = 2,	/* housekeeping: the cleaner, polling */
	TASK_NR_PRIO = 3,
};

#define TASK_NAME_MAX 16	/* name bytes kept, NUL included */

/* Start fn(arg) in a new task. NULL when out of memory. */
struct task *task_create(const char *name, int (*fn)(void *arg), void *arg,
			 enum task_prio prio);
/* Wait for t to end, drop the reference, and return fn's result (or the
 * code given to task_exit). */
int task_join(struct task *t);
/* Wait at most ns nanoseconds for t to end, keeping the reference:
 * 0 once it has ended (task_join then returns at once), or -ETIMEDOUT. */
int task_wait_end(struct task *t, uint64_t ns);
/* Drop the reference without waiting; t is freed when it ends. */
void task_detach(struct task *t);
/* End the calling task with result code. */
__attribute__((noreturn)) void task_exit(int code);

/* The calling task, and a task's id (small, unique while it exists). */
struct task *task_current(void);
int task_id(const struct task *t);
/* t's priority class (a task's, never the idle one's). */
enum task_prio task_prio(const struct task *t);
/* Ask task id to stop (sets its flag, wakes it from task_sleep_ns).
 * 0, or -ESRCH when no such task exists. */
int task_stop(int id);
/* Nonzero once the calling task was asked to stop. */
int task_should_stop(void);

/* One pointer of data private to the calling task: NULL when a task
 * starts (not inherited from its creator). The console keeps the task's
 * output redirection there (con_set_output); nothing else uses it. */
void *task_local(void);
void task_set_local(void *p);

/* Let other ready tasks of a better class, or of this one that did not
 * use up their slice, run (kernel/sched/sched.c). */
void task_yield(void);
/* CPU time the calling task has used so far, nanoseconds: the work it
 * did, however many other tasks share the CPUs (time_ns() is not). */
uint64_t task_cpu_ns(void);
/* Sleep at least ns nanoseconds. 0, or -EINTR when task_stop() cut the
 * sleep short. */
int task_sleep_ns(uint64_t ns);

static inline int msleep(uint64_t ms)
{
	return task_sleep_ns(ms * 1000000ull);
}

/* One task as `ps` shows it. */
struct task_info {
	int id;
	char name[TASK_NAME_MAX];
	char state;		/* R running, r ready, S sleeping, Z ended */
	int cpu;		/* CPU it runs or last ran on, -1: unknown */
	int prio;		/* enum task_prio; -1 for an idle task */
	int stop;		/* asked to stop */
	uint64_t cpu_ns;	/* CPU time used, nanoseconds */
};

/* Fill up to max entries, in id order; returns how many tasks exist
 * (which may be more than max). */
int task_list(struct task_info *out, int max);

/* One CPU as `cpus` shows it. */
struct cpu_info {
	int id;			/* index, 0: the boot CPU */
	uint32_t hw_id;		/* LAPIC ID (the host: the same as id) */
	int online;		/* running tasks */
	int task_id;		/* task running now, -1: unknown */
	char task[TASK_NAME_MAX];
	uint64_t switches;	/* context switches so far */
	uint64_t idle_ns;	/* time its idle task ran, nanoseconds */
};

/* Fill up to max entries; returns how many CPUs there are. */
int cpu_list(struct cpu_info *out, int max);
/* CPUs that came up after the boot had given up waiting for them: they
 * halted for good and are not in cpu_list. */
int cpu_parked_count(void);

#endif
