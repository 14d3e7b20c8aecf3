/*
 * Task commands: ps, cpus, kill, sleep, spin (a busy background task, to
 * watch the scheduler), test (the kernel's built-in self tests) and
 * bench (its micro-benchmarks). They use
 * only include/ghee services, so the host tool has them too (its tasks
 * are threads; it has no built-in tests).
 */
#include <errno.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>
#include <ghee/progress.h>
#include <ghee/selftest.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "cmd_task.h"
#include "progress_view.h"
#include "shell.h"

#define PS_MAX 256	/* tasks listed at most */
#define CPUS_MAX 64	/* CPUs listed at most */

static const char *const prio_names[] = { "inter", "normal", "backgr" };

int cmd_ps(int argc, char **argv)
{
	struct task_info *ti = kmalloc(PS_MAX * sizeof(*ti));
	char line[PROGRESS_LINE_MAX];
	int n, i;

	(void)argc;
	(void)argv;
	if (!ti) {
		con_eprintf("ps: out of memory\n");
		return -ENOMEM;
	}
	n = task_list(ti, PS_MAX);
	con_printf("%5s %-15s %-5s %-6s %3s %12s  %s\n", "ID", "NAME",
		   "STATE", "CLASS", "CPU", "TIME(ms)", "PROGRESS");
	for (i = 0; i < n && i < PS_MAX; i++) {
		progress_view_line(ti[i].id, line, sizeof(line));
		con_printf("%5d %-15s %-5c %-6s %3d %8lu.%03lu%s%s%s\n",
			   ti[i].id, ti[i].name, ti[i].state,
			   ti[i].prio < 0 ? "idle" : prio_names[ti[i].prio],
			   ti[i].cpu,
			   (unsigned long)(ti[i].cpu_ns / 1000000),
			   (unsigned long)(ti[i].cpu_ns / 1000 % 1000),
			   ti[i].stop ? " (stopping)" : "",
			   line[0] ? "  " : "", line);
	}
	if (n > PS_MAX)
		con_printf("(%d more)\n", n - PS_MAX);
	kfree(ti);
	return 0;
}

int cmd_cpus(int argc, char **argv)
{
	struct cpu_info ci[CPUS_MAX];
	int n, i, parked;

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
	parked = cpu_parked_count();
	if (parked)
		con_printf("%d CPU%s came up too late: halted, never used\n",
			   parked, parked == 1 ? "" : "s");
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
		con_eprintf("kill: no task %s\n", argv[1]);
	return ret;
}

#define SLEEP_SLICE_MS 100	/* progress is counted this often */

/* sleep MS: a long operation in miniature (progress in ms; kill or
 * Ctrl-C ends it early, saying how long it slept). */
int cmd_sleep(int argc, char **argv)
{
	uint64_t ms, done = 0, step;
	int ret;

	(void)argc;
	ret = shell_parse_u64(argv[1], "MS", &ms);
	if (ret < 0)
		return ret;
	if (ms > 24ull * 3600 * 1000) {
		con_eprintf("sleep: %s ms is more than a day\n", argv[1]);
		return -EINVAL;
	}
	progress_phase("sleeping", ms, "ms");
	while (done < ms) {
		step = ms - done < SLEEP_SLICE_MS ? ms - done : SLEEP_SLICE_MS;
		ret = msleep(step);
		if (ret == 0) {
			done += step;
			ret = progress_add(step);
		}
		if (ret) {
			con_eprintf("sleep: cancelled after about %llu of %llu "
				    "ms\n", (unsigned long long)done,
				    (unsigned long long)ms);
			return -ECANCELED;
		}
	}
	return 0;
}

/* Busy-loop for arg seconds, or until asked to stop; its progress in
 * milliseconds. */
static int spin_fn(void *arg)
{
	uint64_t ms = (uint64_t)(uintptr_t)arg * 1000, start = time_ns(), now;
	uint64_t done = 0;

	progress_phase("spinning", ms, "ms");
	while ((now = (time_ns() - start) / 1000000) < ms)
		if (progress_add(now - done) < 0)
			return -ECANCELED;
		else
			done = now;
	return 0;
}

/* spin SECONDS: a busy task of its own, BACKGROUND, detached. spin -f
 * SECONDS: busy in the command's own task (NORMAL, a foreground command
 * or a `&` job), then the CPU time it got: how commands share the CPU. */
int cmd_spin(int argc, char **argv)
{
	int here = argc == 3 && !strcmp(argv[1], "-f");
	uint64_t s, cpu_ns, ns;
	struct task *t;
	int ret;

	if (argc == 3 && !here)
		return -EINVAL;
	ret = shell_parse_u64(argv[argc - 1], "SECONDS", &s);
	if (ret < 0)
		return ret;
	if (s > 24ull * 3600) {
		con_eprintf("spin: %s s is more than a day\n", argv[argc - 1]);
		return -EINVAL;
	}
	if (here) {
		cpu_ns = task_cpu_ns();
		ns = time_ns();
		ret = spin_fn((void *)(uintptr_t)s);
		con_printf("spin: %llu ms of CPU in %llu ms\n",
			   (unsigned long long)(task_cpu_ns() - cpu_ns) /
				   1000000,
			   (unsigned long long)(time_ns() - ns) / 1000000);
		return ret;
	}
	t = task_create("spin", spin_fn, (void *)(uintptr_t)s,
			TASK_PRIO_BACKGROUND);
	if (!t) {
		con_eprintf("spin: out of memory\n");
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
		con_eprintf("bench: no kernel benchmarks here\n");
	else if (ret < 0)
		con_eprintf("bench: failed (%d)\n", ret);
	return ret;
}

int cmd_test(int argc, char **argv)
{
	return selftest_run(argc > 1 ? argv[1] : NULL);
}
