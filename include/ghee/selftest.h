/*
 * Self tests built into the kernel (kernel/tests), run by the shell's
 * `test` command. Output is KTAP on the console: "ok N suite.name",
 * "not ok N suite.name # file:line why", closing "N passed, N failed".
 */
#ifndef GHEE_SELFTEST_H
#define GHEE_SELFTEST_H

/* Run every case of suite (NULL: all suites). Returns 0 when all passed,
 * -EIO when some failed, -ENOENT when no suite has that name,
 * -EOPNOTSUPP where there are no built-in tests (the host). */
int selftest_run(const char *suite);
/* Run the kernel micro-benchmarks, printing "RESULT name value unit"
 * lines. 0, -ENOMEM, or -EOPNOTSUPP on the host. */
int selftest_bench(void);

#endif
