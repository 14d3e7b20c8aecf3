/*
 * `fidedupe SRC DST LEN`: share the first LEN bytes of SRC with the same
 * bytes of DST (the FIDEDUPERANGE ioctl: the kernel compares both ranges
 * and shares them only when they are equal), for the Linux guest of
 * bench/dedupe.sh, which has busybox and no xfs_io or duperemove. Built
 * -static -nostdlib like bench/ficlone.c, it makes its system calls
 * itself. It asks for up to 16 MiB a call (btrfs's old per-call cut) and
 * goes on from where the kernel stopped. Exit 0 when all LEN bytes are
 * shared, 1 when a call failed or the ranges differ, 2 on bad usage.
 */
#define SYS_OPEN 2
#define SYS_IOCTL 16
#define SYS_EXIT 60
#define O_RDWR 2
#define FIDEDUPERANGE 0xC0189436	/* _IOWR(0x94, 54, 24 bytes) */
#define CHUNK (16L << 20)

/* Linux's struct file_dedupe_range with its one destination. */
struct dedupe_one {
	unsigned long src_offset, src_length;
	unsigned short dest_count, reserved1;
	unsigned int reserved2;
	long dest_fd;
	unsigned long dest_offset, bytes_deduped;
	int status;		/* 0 same, 1 differs, < 0 an errno */
	unsigned int reserved;
};

static long sys3(long n, long a, long b, long c)
{
	long r;

	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}

/* The decimal number s, or -1. */
static long number(const char *s)
{
	long n = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (*s - '0');
	}
	return n;
}

static long dedupe(long src, long dst, long len)
{
	struct dedupe_one r;
	long off = 0;

	while (off < len) {
		r = (struct dedupe_one){ 0 };
		r.src_offset = r.dest_offset = off;
		r.src_length = len - off < CHUNK ? len - off : CHUNK;
		r.dest_count = 1;
		r.dest_fd = dst;
		if (sys3(SYS_IOCTL, src, FIDEDUPERANGE, (long)&r) ||
		    r.status != 0 || r.bytes_deduped == 0)
			return 1;
		off += r.bytes_deduped;
	}
	return 0;
}

/* Entered from _start with the initial stack: argc, then argv. */
void fidedupe_main(long *sp)
{
	char **argv = (char **)(sp + 1);
	long src, dst, len, ret = 2;

	if (sp[0] == 4 && (len = number(argv[3])) >= 0) {
		src = sys3(SYS_OPEN, (long)argv[1], 0, 0);
		dst = sys3(SYS_OPEN, (long)argv[2], O_RDWR, 0);
		ret = src < 0 || dst < 0 || dedupe(src, dst, len);
	}
	sys3(SYS_EXIT, ret, 0, 0);
}

__asm__(".globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n"
	"\tcall fidedupe_main\n\thlt\n");
