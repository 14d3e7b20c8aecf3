/*
 * Kernel micro-benchmarks, run by the shell's `bench` command (and by
 * bench/kernel.sh): each prints "RESULT name value unit" with the mean
 * cost of one operation in nanoseconds. Printed, never asserted.
 *
 *   ctx_switch          one hand-off between two tasks that wake each
 *                       other through completions (wakeup + switch; on
 *                       more than one CPU it may cross CPUs, with an IPI)
 *   spin_uncontended    spin_lock + spin_unlock, one task
 *   spin_contended      the same on one lock from one task per CPU (at
 *                       least two), per operation of all of them
 *   rwsem_read / rwsem_write   down + up, one task
 *   rwsem_contended     down_write + up_write from one task per CPU (at
 *                       least two): waiters sleep and are handed the lock
 *   kmalloc_kfree_64 / _4096   kmalloc + kfree of that size
 *
 * The lock-order checker adds to every lock operation; bench/kernel.sh
 * boots with "lockdep=off".
 */
#include <errno.h>

#include <ghee/alloc.h>
#include <ghee/console.h>
#include <ghee/selftest.h>
#include <ghee/sync.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "../sched/sched.h"

#define SWITCH_ROUNDS	20000
#define LOCK_OPS	1000000
#define CONTENDED_OPS	100000	/* per task */
#define RWSEM_CONT_OPS	5000	/* per task: each one may sleep */
#define ALLOC_OPS	200000
#define WORKERS_MAX	NR_CPUS_MAX

static struct completion ping, pong;
static struct spinlock bench_spin = SPINLOCK_INIT("bench_spin");
static struct rwsem bench_sem;
static volatile uint64_t bench_counter;	/* [the lock being measured] */

static void result(const char *name, uint64_t ns, uint64_t ops)
{
	con_printf("RESULT %s %lu.%lu ns\n", name,
		   (unsigned long)(ns / ops),
		   (unsigned long)(ns * 10 / ops % 10));
}

static int pong_fn(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < SWITCH_ROUNDS; i++) {
		wait_for_completion(&ping);
		complete(&pong);
	}
	return 0;
}

static int bench_switch(void)
{
	struct task *t;
	uint64_t t0;
	int i;

	completion_init(&ping);
	completion_init(&pong);
	t = task_create("b_pong", pong_fn, NULL, TASK_PRIO_INTERACTIVE);
	if (!t)
		return -ENOMEM;
	t0 = time_ns();
	for (i = 0; i < SWITCH_ROUNDS; i++) {
		complete(&ping);
		wait_for_completion(&pong);
	}
	result("ctx_switch", time_ns() - t0, 2ull * SWITCH_ROUNDS);
	return task_join(t);
}

static int spin_worker(void *arg)
{
	uint64_t i, n = (uintptr_t)arg;

	for (i = 0; i < n; i++) {
		spin_lock(&bench_spin);
		bench_counter++;
		spin_unlock(&bench_spin);
	}
	return 0;
}

static int rwsem_worker(void *arg)
{
	uint64_t i, n = (uintptr_t)arg;

	for (i = 0; i < n; i++) {
		down_write(&bench_sem);
		bench_counter++;
		up_write(&bench_sem);
	}
	return 0;
}

/* Run fn(ops) in one task per CPU (at least two) at once; print the mean
 * time per operation of all of them. */
static int contended(const char *name, int (*fn)(void *arg), uint64_t ops)
{
	struct task *t[WORKERS_MAX];
	int i, n = nr_cpus < 2 ? 2 : nr_cpus, ret = 0;
	uint64_t t0 = time_ns();

	for (i = 0; i < n; i++) {
		t[i] = task_create("b_worker", fn, (void *)(uintptr_t)ops,
				   TASK_PRIO_NORMAL);
		if (!t[i])
			ret = -ENOMEM;
	}
	for (i = 0; i < n; i++)
		if (t[i])
			task_join(t[i]);
	if (!ret)
		result(name, time_ns() - t0, ops * n);
	return ret;
}

static void bench_uncontended(void)
{
	uint64_t t0, i;

	t0 = time_ns();
	spin_worker((void *)(uintptr_t)LOCK_OPS);
	result("spin_uncontended", time_ns() - t0, LOCK_OPS);
	t0 = time_ns();
	for (i = 0; i < LOCK_OPS; i++) {
		down_read(&bench_sem);
		up_read(&bench_sem);
	}
	result("rwsem_read", time_ns() - t0, LOCK_OPS);
	t0 = time_ns();
	rwsem_worker((void *)(uintptr_t)LOCK_OPS);
	result("rwsem_write", time_ns() - t0, LOCK_OPS);
}

/* kmalloc + kfree of size, ops times. 0 or -ENOMEM. */
static int bench_alloc(const char *name, size_t size)
{
	uint64_t t0 = time_ns();
	int i;

	for (i = 0; i < ALLOC_OPS; i++) {
		void *p = kmalloc(size);

		if (!p)
			return -ENOMEM;
		kfree(p);
	}
	result(name, time_ns() - t0, ALLOC_OPS);
	return 0;
}

int selftest_bench(void)
{
	int ret;

	rwsem_init(&bench_sem, "bench_sem");
	con_printf("# bench: %d CPUs\n", nr_cpus);
	ret = bench_switch();
	if (ret < 0)
		return ret;
	bench_uncontended();
	ret = contended("spin_contended", spin_worker, CONTENDED_OPS);
	if (ret < 0)
		return ret;
	ret = contended("rwsem_contended", rwsem_worker, RWSEM_CONT_OPS);
	if (ret < 0)
		return ret;
	ret = bench_alloc("kmalloc_kfree_64", 64);
	if (ret < 0)
		return ret;
	return bench_alloc("kmalloc_kfree_4096", 4096);
}
