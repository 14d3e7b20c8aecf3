/* Host side of include/ghee/selftest.h: the kernel's self tests and
 * benchmarks exist only in the kernel; host unit tests are build/tests/host_tests. */
#include <errno.h>

#include <ghee/console.h>
#include <ghee/selftest.h>

int selftest_run(const char *suite)
{
	(void)suite;
	con_printf("test: the built-in tests run in the kernel; on the host "
		   "run build/tests/host_tests\n");
	return -EOPNOTSUPP;
}

int selftest_bench(void)
{
	return -EOPNOTSUPP;
}
