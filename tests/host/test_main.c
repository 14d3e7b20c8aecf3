/*
 * Runner for the host unit tests (see test.h), and the helpers cases
 * share. Cases run in registration order, each with its own seed: the
 * base seed (GHEE_TEST_SEED overrides it) mixed with a hash of the case's
 * name, so that a case runs the same workload alone as inside any
 * selection, and a failure's GHEE_TEST_SEED replays it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim/fault_dev.h"
#include "test.h"

static struct test_case *cases, **cases_tail = &cases;
static char failure[512];	/* first failure of the running case */
static const char *skip_reason;
static uint64_t seed;

void test_register(struct test_case *tc)
{
	*cases_tail = tc;
	cases_tail = &tc->next;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (failure[0])
		return;
	n = snprintf(failure, sizeof(failure), "%s:%d ", file, line);
	va_start(ap, fmt);
	vsnprintf(failure + n, sizeof(failure) - n, fmt, ap);
	va_end(ap);
}

void test_skip(const char *reason)
{
	skip_reason = reason;
}

uint64_t test_seed(void)
{
	return seed;
}

int test_btrfs_check(const char *file, int line, int result)
{
	switch (result) {
	case BTRFS_CHECK_CLEAN:
		return 0;
	case BTRFS_CHECK_MISSING:
		test_skip("btrfs-progs not installed: no btrfs check");
		return 0;
	case BTRFS_CHECK_ERRORS:
		test_fail(file, line, "btrfs check found errors");
		return -1;
	default:
		test_fail(file, line, "btrfs check could not run (%d)",
			  result);
		return -1;
	}
}

#ifdef __SANITIZE_THREAD__
/* Called by ThreadSanitizer for each report it prints (a weak hook of its
 * runtime): a data race fails the running case, not just the exit code. */
void __tsan_on_report(const void *report);
void __tsan_on_report(const void *report)
{
	(void)report;
	test_fail(__FILE__, __LINE__, "ThreadSanitizer report (above)");
}
#endif

/* FNV-1a over "suite.name": a case's seed does not depend on which
 * other cases run. */
static uint64_t case_hash(const struct test_case *tc)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const char *parts[] = { tc->suite, ".", tc->name };
	const char *c;
	int i;

	for (i = 0; i < 3; i++)
		for (c = parts[i]; *c; c++)
			h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
	return h;
}

/* A case is selected by "suite" or "suite.name"; no arguments: all. */
static int selected(const struct test_case *tc, int argc, char **argv)
{
	size_t n = strlen(tc->suite);
	int i;

	if (argc < 2)
		return 1;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], tc->suite) == 0)
			return 1;
		if (strncmp(argv[i], tc->suite, n) == 0 && argv[i][n] == '.' &&
		    strcmp(argv[i] + n + 1, tc->name) == 0)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *env = getenv("GHEE_TEST_SEED");
	uint64_t base = env ? strtoull(env, NULL, 0) : 0x9e3779b97f4a7c15ull;
	int total = 0, passed = 0, failed = 0, skipped = 0, i = 0;
	struct test_case *tc;

	for (tc = cases; tc; tc = tc->next)
		total += selected(tc, argc, argv);
	printf("KTAP version 1\n1..%d\n", total);
	for (tc = cases; tc; tc = tc->next) {
		if (!selected(tc, argc, argv))
			continue;
		failure[0] = 0;
		skip_reason = NULL;
		seed = base ^ case_hash(tc);
		i++;
		tc->fn();
		if (failure[0]) {
			printf("not ok %d %s.%s # %s (GHEE_TEST_SEED=%#llx)\n",
			       i, tc->suite, tc->name, failure,
			       (unsigned long long)base);
			failed++;
		} else if (skip_reason) {
			printf("ok %d %s.%s # SKIP %s\n", i, tc->suite,
			       tc->name, skip_reason);
			skipped++;
		} else {
			printf("ok %d %s.%s\n", i, tc->suite, tc->name);
			passed++;
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed", passed, failed);
	if (skipped)
		printf(", %d skipped", skipped);
	printf("\n");
	return failed ? 1 : 0;
}
