/* Shared by sched.c and task.c: the task list and task life cycle. */
#ifndef KERNEL_SCHED_TASK_INTERNAL_H
#define KERNEL_SCHED_TASK_INTERNAL_H

#include "sched.h"

extern struct spinlock sched_lock;
extern struct list_head all_tasks;	/* [sched_lock] every task, by id */

/* Fill in the idle task of a CPU (runs on the stack it is called on). */
void task_init_idle(struct task *t, const char *name);
/* A new idle task for CPU cpu, with a stack but not yet running; NULL
 * when out of memory. */
struct task *task_create_idle(int cpu);
/* The initial stack pointer of a task's stack. */
uint64_t task_stack_top(const struct task *t);
/* Put a new task on all_tasks and its run queue. */
void sched_add(struct task *t);
/* task_wake with sched_lock held. */
int task_wake_locked(struct task *t);
/* Switch away from a task that ended, for good. Interrupts off,
 * preempt_count 0. */
void schedule_final(void);
/* Free a task whose last reference went (its stack is not live). */
void task_free(struct task *t);

#endif
