/*
 * Runner of the in-kernel test cases (see ktest.h): selects by suite,
 * runs each case in the calling task, prints KTAP and the closing
 * "N passed, N failed[, N skipped]" line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ghee/console.h>
#include <ghee/selftest.h>
#include <ghee/sync.h>

#include "ktest.h"

extern const struct ktest __ktests_start[], __ktests_end[];	/* linker.ld */

static struct spinlock fail_lock = SPINLOCK_INIT("ktest_fail");
static char failure[256];	/* [fail_lock] first failure of the case */
static uint64_t rand_state;	/* the running case's generator */
static const char *skip_reason;	/* the running case's, or NULL */

void ktest_fail(const char *file, int line, const char *fmt, ...)
{
	unsigned long flags = spin_lock_irqsave(&fail_lock);
	va_list ap;
	int n;

	if (!failure[0]) {
		n = snprintf(failure, sizeof(failure), "%s:%d ", file, line);
		va_start(ap, fmt);
		vsnprintf(failure + n, sizeof(failure) - n, fmt, ap);
		va_end(ap);
	}
	spin_unlock_irqrestore(&fail_lock, flags);
}

void ktest_skip(const char *reason)
{
	skip_reason = reason;
}

void ktest_note(const char *fmt, ...)
{
	char buf[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	con_printf("# %s\n", buf);
}

uint64_t ktest_rand(void)
{
	/* xorshift64*: good enough for test inputs, and reproducible. */
	rand_state ^= rand_state >> 12;
	rand_state ^= rand_state << 25;
	rand_state ^= rand_state >> 27;
	return rand_state * 0x2545f4914f6cdd1dull;
}

static int selected(const struct ktest *t, const char *suite)
{
	return !suite || strcmp(suite, t->suite) == 0;
}

int selftest_run(const char *suite)
{
	const struct ktest *t;
	int total = 0, passed = 0, failed = 0, skipped = 0, i = 0;

	for (t = __ktests_start; t < __ktests_end; t++)
		total += selected(t, suite);
	if (!total) {
		con_printf("test: no suite '%s'\n", suite);
		return -ENOENT;
	}
	con_printf("KTAP version 1\n1..%d\n", total);
	for (t = __ktests_start; t < __ktests_end; t++) {
		if (!selected(t, suite))
			continue;
		failure[0] = 0;
		skip_reason = NULL;
		rand_state = 0x9e3779b97f4a7c15ull ^ (uint64_t)++i * 0x100000001b3ull;
		t->fn();
		if (failure[0]) {
			con_printf("not ok %d %s.%s # %s\n", i, t->suite,
				   t->name, failure);
			failed++;
		} else if (skip_reason) {
			con_printf("ok %d %s.%s # SKIP %s\n", i, t->suite,
				   t->name, skip_reason);
			skipped++;
		} else {
			con_printf("ok %d %s.%s\n", i, t->suite, t->name);
			passed++;
		}
	}
	con_printf("%d passed, %d failed", passed, failed);
	if (skipped)
		con_printf(", %d skipped", skipped);
	con_printf("\n");
	return failed ? -EIO : 0;
}
