/*
 * Lock debugging tests: each case commits one deliberate offence that
 * lockdep.c must report (a report is a warning with call chains, so the
 * run goes on): an order inversion between spinlocks and one between
 * sleeping locks, a sleeping lock taken with a spinlock held and with
 * interrupts off, an rwsem read lock taken twice, and up_read by a task
 * that holds no read lock. The lock classes are this file's own, so
 * nothing else ever takes them.
 *
 * Each case checks that exactly one report came, of the right kind and
 * naming the right locks; it first makes lockdep forget earlier reports,
 * so that a second `test` run sees them again. With "lockdep=off" the
 * cases pass without checking anything.
 */
#include <string.h>

#include <ghee/sync.h>
#include <ghee/task.h>

#include "../arch/x86_64/cpu.h"
#include "../sync/lockdep.h"
#include "ktest.h"

static struct spinlock order_a = SPINLOCK_INIT("ktest_order_a");
static struct spinlock order_b = SPINLOCK_INIT("ktest_order_b");
static struct spinlock atomic_lock = SPINLOCK_INIT("ktest_atomic");
static struct mutex order_m;
static struct rwsem order_s;

/* Start a case: nothing to do when the checker is off. */
#define LOCKDEP_CASE()                                                     \
	do {                                                               \
		if (!lockdep_enabled())                                    \
			return;                                            \
		lockdep_reset_reports();                                   \
	} while (0)

/* Expect one report of kind naming a (held or message) and b (taken)
 * since reports were `before`. NULL names are not compared. */
static void expect_report(uint64_t before, enum lockdep_report kind,
			  const char *a, const char *b)
{
	const char *ga, *gb;

	KEXPECT_EQ(lockdep_reports(), before + 1);
	KEXPECT_EQ(lockdep_last_report(&ga, &gb), kind);
	if (a)
		KEXPECT(ga && strcmp(ga, a) == 0);
	if (b)
		KEXPECT(gb && strcmp(gb, b) == 0);
}

KTEST(lockdep, spinlock_inversion_reported)
{
	uint64_t before = lockdep_reports();

	LOCKDEP_CASE();
	spin_lock(&order_a);
	spin_lock(&order_b);
	spin_unlock(&order_b);
	spin_unlock(&order_a);
	KEXPECT_EQ(lockdep_reports(), before);
	/* The other order: lockdep reports it (it would deadlock against
	 * the first on two CPUs), once. */
	spin_lock(&order_b);
	spin_lock(&order_a);
	spin_unlock(&order_a);
	spin_unlock(&order_b);
	expect_report(before, LOCKDEP_INVERSION, "ktest_order_b",
		      "ktest_order_a");
	spin_lock(&order_b);
	spin_lock(&order_a);
	spin_unlock(&order_a);
	spin_unlock(&order_b);
	KEXPECT_EQ(lockdep_reports(), before + 1);
}

KTEST(lockdep, sleeping_lock_inversion_reported)
{
	uint64_t before = lockdep_reports();

	LOCKDEP_CASE();
	mutex_init(&order_m, "ktest_order_m");
	rwsem_init(&order_s, "ktest_order_s");
	mutex_lock(&order_m);
	down_read(&order_s);
	up_read(&order_s);
	mutex_unlock(&order_m);
	down_write(&order_s);
	mutex_lock(&order_m);
	mutex_unlock(&order_m);
	up_write(&order_s);
	expect_report(before, LOCKDEP_INVERSION, "ktest_order_s",
		      "ktest_order_m");
}

KTEST(lockdep, mutex_under_spinlock_reported)
{
	uint64_t before = lockdep_reports();

	LOCKDEP_CASE();
	mutex_init(&order_m, "ktest_sleepy_m");
	spin_lock(&atomic_lock);
	mutex_lock(&order_m);	/* free, so it does not actually sleep */
	mutex_unlock(&order_m);
	spin_unlock(&atomic_lock);
	expect_report(before, LOCKDEP_MIGHT_SLEEP, "a spinlock is held",
		      "mutex_lock");
}

KTEST(lockdep, sleep_with_irqs_off_reported)
{
	uint64_t before = lockdep_reports();
	unsigned long flags;

	LOCKDEP_CASE();
	flags = irq_save();
	msleep(0);		/* no time to wait: it does not sleep */
	irq_restore(flags);
	expect_report(before, LOCKDEP_MIGHT_SLEEP, "interrupts are off",
		      "task_sleep_ns");
}

KTEST(lockdep, rwsem_read_recursion_reported)
{
	uint64_t before = lockdep_reports();

	LOCKDEP_CASE();
	rwsem_init(&order_s, "ktest_recursive_s");
	down_read(&order_s);
	down_read(&order_s);	/* no writer waits, so it gets in */
	up_read(&order_s);
	up_read(&order_s);
	expect_report(before, LOCKDEP_RECURSION, NULL, "ktest_recursive_s");
}

static struct completion handed, done;

/* Release the read lock the test task took, then take one of our own
 * for it to release. */
static int foreign_up_read(void *arg)
{
	(void)arg;
	up_read(&order_s);
	down_read(&order_s);
	complete(&handed);
	wait_for_completion(&done);
	return 0;
}

KTEST(lockdep, up_read_not_held_reported)
{
	uint64_t before = lockdep_reports();
	struct task *t;

	LOCKDEP_CASE();
	rwsem_init(&order_s, "ktest_foreign_s");
	completion_init(&handed);
	completion_init(&done);
	down_read(&order_s);
	t = task_create("t_foreign", foreign_up_read, NULL,
			TASK_PRIO_INTERACTIVE);
	KEXPECT(t != NULL);
	if (!t) {
		up_read(&order_s);
		return;
	}
	wait_for_completion(&handed);
	/* Our own record of the read lock goes; the lock's count with it. */
	up_read(&order_s);
	complete(&done);
	task_join(t);
	expect_report(before, LOCKDEP_NOT_HELD, NULL, "ktest_foreign_s");
}
