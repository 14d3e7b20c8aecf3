/*
 * The system-call layer newlib expects underneath it. The kernel uses only
 * newlib's string and formatting functions (and keeps its own allocator),
 * so these stubs exist to satisfy the link: file I/O goes nowhere and
 * sbrk refuses, which makes newlib's own malloc fail cleanly with ENOMEM
 * should anything ever reach it.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/stat.h>

#include <ghee/console.h>

#include "../panic.h"

#undef errno
extern int errno;

void *sbrk(ptrdiff_t incr)
{
	(void)incr;
	errno = ENOMEM;
	return (void *)-1;
}

int write(int fd, const void *buf, size_t n)
{
	if (fd != 1 && fd != 2) {
		errno = EBADF;
		return -1;
	}
	con_write(buf, n);
	return n;
}

int read(int fd, void *buf, size_t n)
{
	(void)fd;
	(void)buf;
	(void)n;
	errno = EBADF;
	return -1;
}

int close(int fd)
{
	(void)fd;
	errno = EBADF;
	return -1;
}

int fstat(int fd, struct stat *st)
{
	(void)fd;
	st->st_mode = S_IFCHR;
	return 0;
}

int isatty(int fd)
{
	(void)fd;
	return 1;
}

long lseek(int fd, long off, int whence)
{
	(void)fd;
	(void)off;
	(void)whence;
	errno = ESPIPE;
	return -1;
}

int getpid(void)
{
	return 1;
}

int kill(int pid, int sig)
{
	(void)pid;
	(void)sig;
	errno = EINVAL;
	return -1;
}

void _exit(int status)
{
	panic("C library called exit(%d)", status);
}
