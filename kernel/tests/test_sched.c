/*
 * Scheduler tests: wakeups under stress (a lost one hangs a waiter, which
 * the timeout catches), also between CPUs, context-switch cost,
 * preemption (busy tasks on every CPU neither starve an interactive one
 * nor each other), a starved task of a worse class getting slices, tasks
 * spread over every CPU, task churn (stack guard pages mapped and
 * unmapped on all CPUs at once), sleep length, and timer order and
 * cancellation.
 *
 * Bounds on time are generous: under TCG a guest with more CPUs than the
 * host has cores waits for the host's scheduler too (tens of ms), and a
 * starved task would wait for seconds.
 */
#include <errno.h>

#include <ghee/sync.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "../sched/sched.h"
#include "../sched/timer.h"
#include "../sched/wait.h"
#include "ktest.h"

#define PINGPONG_ROUNDS	2000
#define TIMEOUT_NS	(10ull * 1000000000ull)

static struct completion ping, pong;

static int pong_fn(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < PINGPONG_ROUNDS; i++) {
		if (wait_for_completion_timeout(&ping, TIMEOUT_NS) < 0)
			return -1;
		complete(&pong);
	}
	return 0;
}

KTEST(wakeup, pingpong)
{
	struct task *t;
	uint64_t start, ns, switches;
	int i, lost = 0;

	completion_init(&ping);
	completion_init(&pong);
	t = task_create("t_pong", pong_fn, NULL, TASK_PRIO_INTERACTIVE);
	KEXPECT(t != NULL);
	if (!t)
		return;
	switches = sched_switches();
	start = time_ns();
	for (i = 0; i < PINGPONG_ROUNDS && !lost; i++) {
		complete(&ping);
		lost = wait_for_completion_timeout(&pong, TIMEOUT_NS) < 0;
	}
	ns = time_ns() - start;
	switches = sched_switches() - switches;
	KEXPECT(!lost);
	KEXPECT_EQ(task_join(t), 0);
	ktest_note("context switch: %lu ns (%lu switches in %lu us)",
		   (unsigned long)(ns / (switches ? switches : 1)),
		   (unsigned long)switches, (unsigned long)(ns / 1000));
}

#define PAIRS		4
#define PAIR_ROUNDS	300

struct pair {
	struct completion to_b, to_a;
};

static struct pair pairs[PAIRS];

/* One side of a ping-pong pair: wait for a turn, give the other one. */
static int pair_fn(void *arg)
{
	uintptr_t v = (uintptr_t)arg;
	struct pair *p = &pairs[v >> 1];
	int i, b = v & 1;

	for (i = 0; i < PAIR_ROUNDS; i++) {
		if (b && wait_for_completion_timeout(&p->to_b, TIMEOUT_NS) < 0)
			return -1;
		complete(b ? &p->to_a : &p->to_b);
		if (!b && wait_for_completion_timeout(&p->to_a, TIMEOUT_NS) < 0)
			return -1;
	}
	return 0;
}

KTEST(wakeup, pairs_across_cpus)
{
	struct task *t[2 * PAIRS];
	int i;

	for (i = 0; i < PAIRS; i++) {
		completion_init(&pairs[i].to_a);
		completion_init(&pairs[i].to_b);
	}
	for (i = 0; i < 2 * PAIRS; i++) {
		t[i] = task_create("t_pair", pair_fn, (void *)(uintptr_t)i,
				   i % 4 < 2 ? TASK_PRIO_BACKGROUND
					     : TASK_PRIO_INTERACTIVE);
		KEXPECT(t[i] != NULL);
	}
	for (i = 0; i < 2 * PAIRS; i++)
		if (t[i])
			KEXPECT_EQ(task_join(t[i]), 0);
}

#define STRESS_WAITERS	4
#define STRESS_ITEMS	4000

static struct wait_queue stress_wq =
	WAIT_QUEUE_INIT(stress_wq, "stress_wq");
static int stress_items;	/* [a] produced, not yet consumed */
static int stress_consumed;	/* [a] */
static int stress_produced;	/* [a] */

/* Take one item if there is one. */
static int take(void)
{
	int n = __atomic_load_n(&stress_items, __ATOMIC_ACQUIRE);

	while (n > 0)
		if (__atomic_compare_exchange_n(&stress_items, &n, n - 1, 0,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return 1;
	return 0;
}

/* Nothing more will come. */
static int stress_done(void)
{
	return __atomic_load_n(&stress_produced, __ATOMIC_ACQUIRE) ==
		       STRESS_ITEMS &&
	       __atomic_load_n(&stress_items, __ATOMIC_ACQUIRE) == 0;
}

static int consumer_fn(void *arg)
{
	int got;

	(void)arg;
	for (;;) {
		wait_event(&stress_wq, (got = take()) || stress_done());
		if (!got)
			return 0;
		__atomic_add_fetch(&stress_consumed, 1, __ATOMIC_RELAXED);
	}
}

KTEST(wakeup, stress)
{
	struct task *t[STRESS_WAITERS];
	int i;

	stress_items = stress_consumed = stress_produced = 0;
	for (i = 0; i < STRESS_WAITERS; i++) {
		t[i] = task_create("t_consumer", consumer_fn, NULL,
				   i % 2 ? TASK_PRIO_BACKGROUND :
					   TASK_PRIO_INTERACTIVE);
		KEXPECT(t[i] != NULL);
	}
	for (i = 0; i < STRESS_ITEMS; i++) {
		__atomic_add_fetch(&stress_items, 1, __ATOMIC_RELEASE);
		__atomic_add_fetch(&stress_produced, 1, __ATOMIC_RELEASE);
		waitq_wake_one(&stress_wq);
		if (i % 64 == 0)
			task_yield();
	}
	waitq_wake_all(&stress_wq);
	for (i = 0; i < STRESS_WAITERS; i++)
		if (t[i])
			task_join(t[i]);
	KEXPECT_EQ(stress_consumed, STRESS_ITEMS);
	KEXPECT_EQ(stress_items, 0);
}

/* Busy-loop until asked to stop (at most arg ms). */
static int spin_fn(void *arg)
{
	uint64_t end = time_ns() + (uint64_t)(uintptr_t)arg * 1000000ull;

	while (time_ns() < end && !task_should_stop())
		;
	return 0;
}

/* CPU time of task id so far, and the CPU it is on (-1: not found). */
static uint64_t cpu_ns_of(int id, int *cpu)
{
	struct task_info ti[64];
	int n = task_list(ti, 64), i;

	for (i = 0; i < n && i < 64; i++)
		if (ti[i].id == id) {
			if (cpu)
				*cpu = ti[i].cpu;
			return ti[i].cpu_ns;
		}
	if (cpu)
		*cpu = -1;
	return 0;
}

#define SPINNERS_MAX	(2 * NR_CPUS_MAX + 1)

/* Start n spinners of class prio (at most SPINNERS_MAX); returns how many
 * started. */
static int spinners_start(struct task **t, int n, enum task_prio prio)
{
	int i;

	for (i = 0; i < n; i++) {
		t[i] = task_create("t_spin", spin_fn, (void *)10000ul, prio);
		if (!t[i])
			break;
	}
	return i;
}

static void spinners_stop(struct task **t, int n)
{
	int i;

	for (i = 0; i < n; i++)
		task_stop(task_id(t[i]));
	for (i = 0; i < n; i++)
		task_join(t[i]);
}

/* Sleep 2 ms 50 times; the worst lateness in *arg. */
static int lateness_fn(void *arg)
{
	uint64_t *worst = arg, t0, late;
	int i;

	msleep(20);
	for (i = 0; i < 50; i++) {
		t0 = time_ns();
		msleep(2);
		late = time_ns() - t0 - 2000000;
		if (late > *worst)
			*worst = late;
	}
	return 0;
}

KTEST(sched, interactive_beats_busy_background)
{
	struct task *t[SPINNERS_MAX], *sleeper;
	uint64_t worst = 0;
	int n, want = nr_cpus + 1;

	/* Busy commands and busy housekeeping (which starves, so gets a
	 * slice now and then): the shell's class wakes through both. */
	n = spinners_start(t, want, TASK_PRIO_NORMAL);
	n += spinners_start(t + n, 1, TASK_PRIO_BACKGROUND);
	KEXPECT_EQ(n, want + 1);
	sleeper = task_create("t_late", lateness_fn, &worst,
			      TASK_PRIO_INTERACTIVE);
	KEXPECT(sleeper != NULL);
	if (sleeper)
		task_join(sleeper);
	spinners_stop(t, n);
	ktest_note("worst wakeup lateness %lu us with %d spinners on %d CPUs",
		   (unsigned long)(worst / 1000), n, nr_cpus);
	/* A starved sleeper would wake only when the spinners end (10 s).
	 * The bound is far below that and far above a slice: on TCG with
	 * the host loaded, a vCPU thread itself can be off its CPU for a
	 * few hundred ms (307 ms was seen at load 20 against a 300 ms
	 * bound). */
	KEXPECT(worst < 2000000000ull);
}

KTEST(sched, preemption_fairness)
{
	struct task *t[SPINNERS_MAX];
	uint64_t ns[SPINNERS_MAX], lo = ~0ull, hi = 0;
	int i, n, want = 2 * nr_cpus + 1;

	n = spinners_start(t, want, TASK_PRIO_NORMAL);
	KEXPECT_EQ(n, want);
	msleep(600);
	for (i = 0; i < n; i++) {
		ns[i] = cpu_ns_of(task_id(t[i]), NULL);
		lo = ns[i] < lo ? ns[i] : lo;
		hi = ns[i] > hi ? ns[i] : hi;
	}
	spinners_stop(t, n);
	ktest_note("%d spinners on %d CPUs: CPU time %lu..%lu ms", n, nr_cpus,
		   (unsigned long)(lo / 1000000), (unsigned long)(hi / 1000000));
	/* Round-robin over a shared queue: nobody is starved (a starved
	 * one gets nothing). The bound is loose: on TCG under host load a
	 * vCPU thread itself may be descheduled for a while. */
	KEXPECT(lo * 10 > hi);
}

KTEST(sched, starved_background_gets_slices)
{
	struct task *t[SPINNERS_MAX];
	uint64_t bg, lo = ~0ull, ns;
	int i, n, want = nr_cpus + 1;

	/* A busy command on every CPU, and housekeeping (say the cleaner,
	 * holding a lock the commit waits for) ready beside them. */
	n = spinners_start(t, nr_cpus, TASK_PRIO_NORMAL);
	n += spinners_start(t + n, 1, TASK_PRIO_BACKGROUND);
	KEXPECT_EQ(n, want);
	msleep(1000);
	for (i = 0; i < n - 1; i++) {
		ns = cpu_ns_of(task_id(t[i]), NULL);
		lo = ns < lo ? ns : lo;
	}
	bg = cpu_ns_of(task_id(t[n - 1]), NULL);
	spinners_stop(t, n);
	ktest_note("%d busy NORMAL tasks on %d CPUs: a BACKGROUND one got "
		   "%lu ms of CPU in 1 s (the least NORMAL one %lu ms)",
		   n - 1, nr_cpus, (unsigned long)(bg / 1000000),
		   (unsigned long)(lo / 1000000));
	/* Starved, it would get nothing; it gets about a slice every
	 * STARVE_NS (10 of 110 ms). Loose bound: a loaded host. */
	KEXPECT(bg * 50 > lo);
}

KTEST(sched, tasks_spread_over_cpus)
{
	struct task *t[SPINNERS_MAX];
	uint64_t seen = 0, all = (nr_cpus >= 64) ? ~0ull : (1ull << nr_cpus) - 1;
	int i, n, cpu, round;

	n = spinners_start(t, nr_cpus, TASK_PRIO_NORMAL);
	KEXPECT_EQ(n, nr_cpus);
	for (round = 0; round < 200 && (seen & all) != all; round++) {
		msleep(5);
		for (i = 0; i < n; i++) {
			cpu_ns_of(task_id(t[i]), &cpu);
			if (cpu >= 0)
				seen |= 1ull << cpu;
		}
	}
	spinners_stop(t, n);
	KEXPECT_EQ(seen & all, all);
}

#define CHURN_TASKS	4
#define CHURN_ROUNDS	20
#define CHURN_BATCH	8	/* children alive at once, per churn task */

static int nothing_fn(void *arg)
{
	return (int)(uintptr_t)arg;
}

/* Create and join children, CHURN_BATCH at a time: with CHURN_TASKS
 * churning, more stacks are alive at once than the stack cache keeps, so
 * stacks come and go through it and past it (guard pages unmapped, with
 * a TLB shootdown, and mapped again) on every CPU at once. */
static int churn_fn(void *arg)
{
	struct task *c[CHURN_BATCH];
	int i, j, bad = 0;

	(void)arg;
	for (i = 0; i < CHURN_ROUNDS; i++) {
		for (j = 0; j < CHURN_BATCH; j++)
			c[j] = task_create("t_child", nothing_fn,
					   (void *)(uintptr_t)j,
					   TASK_PRIO_BACKGROUND);
		for (j = 0; j < CHURN_BATCH; j++)
			bad |= !c[j] || task_join(c[j]) != j;
	}
	return bad;
}

/* An ended task's stack is kept, and the next task takes it instead of
 * unmapping a new guard page. */
KTEST(sched, ended_task_stack_is_reused)
{
	struct task *t = task_create("t_child", nothing_fn, NULL,
				     TASK_PRIO_NORMAL);
	/* below the cache's size now: t took a stack from it, or it was
	 * empty */
	uint64_t before = task_stack_cache_pages(), kept = before;
	int i;

	KEXPECT(t != NULL);
	if (!t)
		return;
	KEXPECT_EQ(task_join(t), 0);
	/* freed once its CPU has switched away from it */
	for (i = 0; i < 1000 && kept <= before; i++) {
		msleep(1);
		kept = task_stack_cache_pages();
	}
	KEXPECT(kept > before);
	t = task_create("t_child", nothing_fn, NULL, TASK_PRIO_NORMAL);
	KEXPECT(t != NULL);
	KEXPECT(task_stack_cache_pages() < kept);
	if (t)
		KEXPECT_EQ(task_join(t), 0);
}

KTEST(sched, task_churn_on_all_cpus)
{
	struct task *t[CHURN_TASKS];
	int i;

	for (i = 0; i < CHURN_TASKS; i++) {
		t[i] = task_create("t_churn", churn_fn, NULL,
				   TASK_PRIO_BACKGROUND);
		KEXPECT(t[i] != NULL);
	}
	for (i = 0; i < CHURN_TASKS; i++)
		if (t[i])
			KEXPECT_EQ(task_join(t[i]), 0);
}

KTEST(sched, sleep_length)
{
	uint64_t t0 = time_ns(), ns;

	KEXPECT_EQ(msleep(50), 0);
	ns = time_ns() - t0;
	ktest_note("msleep(50) took %lu us", (unsigned long)(ns / 1000));
	/* Never early; late only within a bound a loaded host running TCG
	 * keeps (how late it is usually is a benchmark's question). */
	KEXPECT(ns >= 50000000);
	KEXPECT(ns < 2000000000);
}

static int sleeper_fn(void *arg)
{
	return msleep((uint64_t)(uintptr_t)arg);
}

KTEST(sched, stop_interrupts_sleep)
{
	struct task *t = task_create("t_sleeper", sleeper_fn,
				     (void *)100000ul, TASK_PRIO_BACKGROUND);
	uint64_t t0 = time_ns();

	KEXPECT(t != NULL);
	if (!t)
		return;
	msleep(5);
	KEXPECT_EQ(task_stop(task_id(t)), 0);
	KEXPECT_EQ(task_join(t), -EINTR);
	KEXPECT(time_ns() - t0 < 1000000000ull);
	KEXPECT_EQ(task_stop(9999999), -ESRCH);
}

static int timer_order[4], timer_fired;	/* written by callbacks */

static void order_fn(struct timer *t)
{
	timer_order[timer_fired++ & 3] = (int)(t->deadline % 1000);
}

KTEST(timer, order_and_cancel)
{
	struct timer t[4];
	uint64_t now = time_ns() / 1000 * 1000;
	int i;

	timer_fired = 0;
	for (i = 0; i < 4; i++)
		timer_init(&t[i], order_fn);
	timer_add(&t[0], now + 30000000 + 3);
	timer_add(&t[1], now + 10000000 + 1);
	timer_add(&t[2], now + 20000000 + 2);
	timer_add(&t[3], now + 15000000 + 4);
	KEXPECT_EQ(timer_cancel(&t[3]), 1);
	msleep(40);
	KEXPECT_EQ(timer_fired, 3);
	KEXPECT(timer_order[0] == 1 && timer_order[1] == 2 &&
		timer_order[2] == 3);
	KEXPECT_EQ(timer_cancel(&t[0]), 0);
}

static uint64_t clock_latest;	/* [a] the latest time any reader saw */
static uint64_t clock_backwards;	/* [a] readings below one seen before */

/* Read the clock for arg ms; count readings below the latest one any
 * reader (on any CPU) published before this one was taken. */
static int clock_reader_fn(void *arg)
{
	uint64_t end = time_ns() + (uint64_t)(uintptr_t)arg * 1000000ull;
	uint64_t seen, now;

	do {
		seen = __atomic_load_n(&clock_latest, __ATOMIC_ACQUIRE);
		now = time_ns();
		if (now < seen)
			__atomic_fetch_add(&clock_backwards, 1,
					   __ATOMIC_RELAXED);
		while (seen < now &&
		       !__atomic_compare_exchange_n(&clock_latest, &seen, now,
						    0, __ATOMIC_RELEASE,
						    __ATOMIC_ACQUIRE))
			;
	} while (now < end);
	return 0;
}

KTEST(timer, clock_never_goes_back_across_cpus)
{
	struct task *t[SPINNERS_MAX];
	int i, n;

	/* One reader more than CPUs, so readers also move between CPUs. */
	__atomic_store_n(&clock_latest, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&clock_backwards, 0, __ATOMIC_RELAXED);
	for (n = 0; n < nr_cpus + 1 && n < SPINNERS_MAX; n++) {
		t[n] = task_create("t_clock", clock_reader_fn, (void *)300ul,
				   TASK_PRIO_NORMAL);
		if (!t[n])
			break;
	}
	KEXPECT_EQ(n, nr_cpus + 1);
	for (i = 0; i < n; i++)
		task_join(t[i]);
	KEXPECT_EQ(__atomic_load_n(&clock_backwards, __ATOMIC_RELAXED), 0);
}
