/*
 * Host unit-test framework. A case is a void function registered with
 * TEST(suite, name); CHECK* macros record the first failure (file:line and
 * what was wanted) and return from the case. Run all cases with
 * build/tests/host_tests, or some by naming "suite" or "suite.name".
 * Output is KTAP ("ok 1 suite.name", "not ok 2 ... # file:line ...",
 * "ok 3 ... # SKIP reason") ending with "N passed, N failed, N skipped".
 */
#ifndef TESTS_HOST_TEST_H
#define TESTS_HOST_TEST_H

#include <stdint.h>

struct test_case {
	const char *suite;
	const char *name;
	void (*fn)(void);
	struct test_case *next;
};

void test_register(struct test_case *tc);
/* Record a failure of the running case (the first one is reported). */
void test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Mark the running case skipped, with the reason shown after "# SKIP". */
void test_skip(const char *reason);
/* Seed for the running case's random choices (printed on failure). */
uint64_t test_seed(void);
/* Judge a btrfs check result (enum btrfs_check_result, shim/fault_dev.h):
 * fail the case on errors or when it could not run, mark it skipped
 * (saying why) when btrfs-progs is not installed. 0 when clean. */
int test_btrfs_check(const char *file, int line, int result);

#define TEST(suite, name)                                                  \
	static void test_fn_##suite##_##name(void);                        \
	static struct test_case test_case_##suite##_##name = {             \
		#suite, #name, test_fn_##suite##_##name, 0 };              \
	__attribute__((constructor)) static void                           \
	test_reg_##suite##_##name(void)                                    \
	{                                                                  \
		test_register(&test_case_##suite##_##name);                \
	}                                                                  \
	static void test_fn_##suite##_##name(void)

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			test_fail(__FILE__, __LINE__, "%s", #cond);        \
			return;                                            \
		}                                                          \
	} while (0)

#define CHECK_EQ(got, want)                                                \
	do {                                                               \
		long long g_ = (long long)(got), w_ = (long long)(want);   \
		if (g_ != w_) {                                            \
			test_fail(__FILE__, __LINE__,                      \
				  "%s: want %lld got %lld", #got, w_, g_); \
			return;                                            \
		}                                                          \
	} while (0)

#define CHECK_STR(got, want)                                               \
	do {                                                               \
		const char *g_ = (got), *w_ = (want);                      \
		if (!g_ || strcmp(g_, w_) != 0) {                          \
			test_fail(__FILE__, __LINE__,                      \
				  "%s: want \"%s\" got \"%s\"", #got, w_,  \
				  g_ ? g_ : "(null)");                     \
			return;                                            \
		}                                                          \
	} while (0)

/* A call that must return 0. */
#define CHECK_OK(call) CHECK_EQ((call), 0)

#endif
