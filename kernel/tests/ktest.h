/*
 * In-kernel test cases. KTEST(suite, name) defines and registers a case
 * in the .ktests section (boot/linker.ld collects them); kernel/tests/
 * ktest.c runs them for the `test` command. A case runs in the shell's
 * task and may create tasks; it must join them before it returns, so
 * KEXPECT records a failure and carries on (cleanup still runs).
 */
#ifndef KERNEL_TESTS_KTEST_H
#define KERNEL_TESTS_KTEST_H

#include <stdint.h>

struct ktest {
	const char *suite;
	const char *name;
	void (*fn)(void);
};

#define KTEST(suite, name)                                                 \
	static void ktest_fn_##suite##_##name(void);                       \
	static const struct ktest ktest_##suite##_##name                   \
		__attribute__((used, section(".ktests"), aligned(8))) = {  \
			#suite, #name, ktest_fn_##suite##_##name };        \
	static void ktest_fn_##suite##_##name(void)

/* Record a failure of the running case (the first one is reported). */
void ktest_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Mark the running case skipped, with the reason shown after "# SKIP"
 * (a failure recorded too still fails it). */
void ktest_skip(const char *reason);
/* Print a "# ..." diagnostic line (measurements). */
void ktest_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A pseudo-random number from the running case's seed. */
uint64_t ktest_rand(void);

#define KEXPECT(cond)                                                      \
	do {                                                               \
		if (!(cond))                                               \
			ktest_fail(__FILE__, __LINE__, "%s", #cond);       \
	} while (0)

#define KEXPECT_EQ(got, want)                                              \
	do {                                                               \
		long long g_ = (long long)(got), w_ = (long long)(want);   \
		if (g_ != w_)                                              \
			ktest_fail(__FILE__, __LINE__,                     \
				   "%s: want %lld got %lld", #got, w_, g_);\
	} while (0)

#endif
