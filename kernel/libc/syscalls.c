/*
 * The system-call layer newlib expects underneath it. The kernel uses only
 * newlib's string and formatting functions and keeps its own allocator; of
 * newlib's system calls only sbrk is linked in (by newlib's malloc, which
 * the formatting code references). It refuses, so newlib's malloc would
 * fail cleanly with ENOMEM should anything ever reach it.
 */
#include <errno.h>
#include <stddef.h>

#undef errno
extern int errno;

void *sbrk(ptrdiff_t incr)
{
	(void)incr;
	errno = ENOMEM;
	return (void *)-1;
}
