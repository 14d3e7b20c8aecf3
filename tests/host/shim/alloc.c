/* Host kmalloc: the C library's allocator (so ASan sees every object),
 * with a failure switch for the unit tests (host.h). */
#include <stdlib.h>

#include <ghee/alloc.h>

#include "host.h"

/* Allocations left before they fail; -1: none fails. Atomic: any task
 * may allocate. */
static long fail_after = -1;

void host_alloc_fail_after(long n)
{
	__atomic_store_n(&fail_after, n, __ATOMIC_SEQ_CST);
}

/* Whether this allocation is one the switch makes fail. */
static int injected_failure(void)
{
	long n = __atomic_load_n(&fail_after, __ATOMIC_SEQ_CST);

	while (n > 0 && !__atomic_compare_exchange_n(&fail_after, &n, n - 1,
						     0, __ATOMIC_SEQ_CST,
						     __ATOMIC_SEQ_CST))
		;
	return n == 0;
}

void *kmalloc(size_t n)
{
	return n && !injected_failure() ? malloc(n) : NULL;
}

void *kzalloc(size_t n)
{
	return n && !injected_failure() ? calloc(1, n) : NULL;
}

void kfree(void *p)
{
	free(p);
}
