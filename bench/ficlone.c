/*
 * `ficlone SRC DST`: make DST (created or emptied) share all of SRC's
 * data (the FICLONE ioctl), for the Linux guest of bench/reflink.sh,
 * which has busybox (whose cp cannot reflink) and no C library: built
 * -static -nostdlib, it makes its three system calls itself. Exit 0 when
 * the clone is done, 1 when a call failed, 2 on bad usage.
 */
#define SYS_OPEN 2
#define SYS_IOCTL 16
#define SYS_EXIT 60
#define O_WRONLY_CREAT_TRUNC 01101
#define FICLONE 0x40049409

static long sys3(long n, long a, long b, long c)
{
	long r;

	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}

/* Entered from _start with the initial stack: argc, then argv. */
void ficlone_main(long *sp)
{
	char **argv = (char **)(sp + 1);
	long src, dst, ret = 2;

	if (sp[0] == 3) {
		src = sys3(SYS_OPEN, (long)argv[1], 0, 0);
		dst = sys3(SYS_OPEN, (long)argv[2], O_WRONLY_CREAT_TRUNC, 0644);
		ret = src < 0 || dst < 0 || sys3(SYS_IOCTL, dst, FICLONE, src);
	}
	sys3(SYS_EXIT, ret, 0, 0);
}

__asm__(".globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n"
	"\tcall ficlone_main\n\thlt\n");
