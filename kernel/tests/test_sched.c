/*
 * Scheduler tests: wakeups under stress (a lost one hangs a waiter, which
 * the timeout catches), context-switch cost, preemption (a busy
 * background task neither starves an interactive one nor its background
 * peer), sleep length, and timer order and cancellation.
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

static int spin_fn(void *arg)
{
	uint64_t end = time_ns() + (uint64_t)(uintptr_t)arg * 1000000ull;

	while (time_ns() < end && !task_should_stop())
		;
	return 0;
}

/* CPU time of task id so far. */
static uint64_t cpu_ns_of(int id)
{
	struct task_info ti[32];
	int n = task_list(ti, 32), i;

	for (i = 0; i < n && i < 32; i++)
		if (ti[i].id == id)
			return ti[i].cpu_ns;
	return 0;
}

KTEST(sched, interactive_beats_busy_background)
{
	struct task *a, *b;
	uint64_t worst = 0, t0, late, ca, cb;
	int i;

	a = task_create("t_spin_a", spin_fn, (void *)300ul, TASK_PRIO_BACKGROUND);
	b = task_create("t_spin_b", spin_fn, (void *)300ul, TASK_PRIO_BACKGROUND);
	KEXPECT(a != NULL && b != NULL);
	if (!a || !b)
		return;
	for (i = 0; i < 50; i++) {
		t0 = time_ns();
		msleep(2);
		late = time_ns() - t0 - 2000000;
		if (late > worst)
			worst = late;
	}
	ca = cpu_ns_of(task_id(a));
	cb = cpu_ns_of(task_id(b));
	task_join(a);
	task_join(b);
	ktest_note("worst wakeup lateness %lu us; spinners' CPU %lu/%lu ms",
		   (unsigned long)(worst / 1000), (unsigned long)(ca / 1000000),
		   (unsigned long)(cb / 1000000));
	KEXPECT(worst < 20000000);
	/* Round-robin: each spinner had a fair share of what they got. */
	KEXPECT(ca * 3 > cb && cb * 3 > ca);
}

KTEST(sched, sleep_length)
{
	uint64_t t0 = time_ns(), ns;

	KEXPECT_EQ(msleep(50), 0);
	ns = time_ns() - t0;
	KEXPECT(ns >= 50000000);
	KEXPECT(ns < 70000000);
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
