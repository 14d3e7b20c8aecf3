/*
 * Task commands: ps, cpus, kill, sleep, spin (a busy background task, to
 * watch the scheduler), test (the kernel's built-in self tests) and
 * bench (its micro-benchmarks). They use
 * only include/ghee services, so the host tool has them too (its tasks
 * are threads; it has no built-in tests).
 */
#include <errno.h>

#include <ghee/alloc.h>
#include <ghee/console.h>
#include <ghee/selftest.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "cmd_task.h"
#include "shell.h"

#define PS_MAX 256	/* tasks listed at most */
#define CPUS_MAX 64	/* CPUs listed at most */

static const char *const prio_names[] = { "inter", "backgr" };

int cmd_ps(int argc, char **argv)
{
	struct task_info *ti = kmalloc(PS_MAX * sizeof(*ti));
	int n, i;

	(void)argc;
	(void)argv;
	if (!ti) {
		con_printf("ps: out of memory\n");
		return -ENOMEM;
	}
	n = task_list(ti, PS_MAX);
	con_printf("%5s %-15s %-5s %-6s %3s %12s\n", "ID", "NAME", "STATE",
		   "CLASS", "CPU", "TIME(ms)");
	for (i = 0; i < n && i < PS_MAX; i++)
		con_printf("%5d %-15s %-5c %-6s %3d %8lu.%03lu%s\n", ti[i].id,
			   ti[i].name, ti[i].state,
			   ti[i].prio < 0 ? "idle" : prio_names[ti[i].prio],
			   ti[i].cpu,
			   (unsigned long)(ti[i].cpu_ns / 1000000),
			   (unsigned long)(ti[i].cpu_ns / 1000 % 1000),
			   ti[i].stop ? " (stopping)" : "");
	if (n > PS_MAX)
		con_printf("(%d more)\n", n - PS_MAX);
	kfree(ti);
	return 0;
}

int cmd_cpus(int argc, char **argv)
{
	struct cpu_info ci[CPUS_MAX];
	int n, i;

	(void)argc;
	(void)argv;
	n = cpu_list(ci, CPUS_MAX);
	con_printf("%3s %5s %-7s %-15s %5s %10s %12s\n", "CPU", "HWID", "STATE",
		   "RUNNING", "TASK", "SWITCHES", "IDLE(ms)");
	for (i = 0; i < n && i < CPUS_MAX; i++)
		con_printf("%3d %5u %-7s %-15s %5d %10lu %8lu.%03lu\n",
			   ci[i].id, (unsigned)ci[i].hw_id,
			   ci[i].online ? "online" : "offline", ci[i].task,
			   ci[i].task_id, (unsigned long)ci[i].switches,
			   (unsigned long)(ci[i].idle_ns / 1000000),
			   (unsigned long)(ci[i].idle_ns / 1000 % 1000));
	if (n > CPUS_MAX)
		con_printf("(%d more)\n", n - CPUS_MAX);
	return 0;
}

int cmd_kill(int argc, char **argv)
{
	uint64_t id;
	int ret;

	(void)argc;
	ret = shell_parse_u64(argv[1], "ID", &id);
	if (ret < 0)
		return ret;
	ret = id > 0x7fffffff ? -ESRCH : task_stop((int)id);
	if (ret == -ESRCH)
		con_printf("kill: no task %s\n", argv[1]);
	return ret;
}

int cmd_sleep(int argc, char **argv)
{
	uint64_t ms;
	int ret;

	(void)argc;
	ret = shell_parse_u64(argv[1], "MS", &ms);
	if (ret < 0)
		return ret;
	if (ms > 24ull * 3600 * 1000) {
		con_printf("sleep: %s ms is more than a day\n", argv[1]);
		return -EINVAL;
	}
	return msleep(ms);
}

/* Busy-loop for arg seconds, or until asked to stop. */
static int spin_fn(void *arg)
{
	uint64_t end = time_ns() + (uint64_t)(uintptr_t)arg * 1000000000ull;

	while (time_ns() < end)
		if (task_should_stop())
			return -ECANCELED;
	return 0;
}

int cmd_spin(int argc, char **argv)
{
	struct task *t;
	uint64_t s;
	int ret;

	(void)argc;
	ret = shell_parse_u64(argv[1], "SECONDS", &s);
	if (ret < 0)
		return ret;
	if (s > 24ull * 3600) {
		con_printf("spin: %s s is more than a day\n", argv[1]);
		return -EINVAL;
	}
	t = task_create("spin", spin_fn, (void *)(uintptr_t)s,
			TASK_PRIO_BACKGROUND);
	if (!t) {
		con_printf("spin: out of memory\n");
		return -ENOMEM;
	}
	con_printf("spin: task %d\n", task_id(t));
	task_detach(t);
	return 0;
}

int cmd_bench(int argc, char **argv)
{
	int ret;

	(void)argc;
	(void)argv;
	ret = selftest_bench();
	if (ret == -EOPNOTSUPP)
		con_printf("bench: no kernel benchmarks here\n");
	else if (ret < 0)
		con_printf("bench: failed (%d)\n", ret);
	return ret;
}

int cmd_test(int argc, char **argv)
{
	return selftest_run(argc > 1 ? argv[1] : NULL);
}
