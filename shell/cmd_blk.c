/*
 * Block device commands: `blk` lists the disks; `blk read|write|verify`
 * move data through the synchronous calls; `blk flush|discard|zero` issue
 * those operations; `blk bench` keeps QD asynchronous bios in flight for
 * a while and reports throughput and latency percentiles.
 *
 * write and verify use a deterministic pattern: the 8-byte word at disk
 * byte offset o is blk_pattern_word(seed, o / 8), so verify can check any part of what
 * write wrote (in another run, or after a reboot) without storing it.
 *
 * Only include/ghee services are used, so the host tool has these
 * commands too (over image files, synchronously).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/blk.h>
#include <ghee/console.h>
#include <ghee/sync.h>
#include <ghee/time.h>

#include "../lib/sha256.h"
#include "cmd_blk.h"
#include "shell.h"

#define CHUNK		(1u << 20)	/* bytes per read/write/verify step */
#define DUMP_BYTES	256		/* bytes `blk read` shows */

/* Page-aligned buffer of n bytes (QEMU copies misaligned buffers when
 * the disk is opened O_DIRECT); free with kfree(*raw). */
void *blk_alloc_aligned(size_t n, void **raw)
{
	*raw = kmalloc(n + 4096);
	if (!*raw)
		return NULL;
	return (void *)(((uintptr_t)*raw + 4095) & ~(uintptr_t)4095);
}

uint64_t blk_pattern_word(uint64_t seed, uint64_t word)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ull + word + 1;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Fill buf (len bytes, for disk offset off, both 8-aligned). */
void blk_pattern_fill(uint64_t *buf, uint64_t off, size_t len,
			 uint64_t seed)
{
	size_t i;

	for (i = 0; i < len / 8; i++)
		buf[i] = blk_pattern_word(seed, off / 8 + i);
}

struct blkdev *blk_disk_arg(const char *name)
{
	struct blkdev *dev = blk_lookup(name);

	if (!dev)
		con_printf("blk: no disk '%s' (`blk` lists them)\n", name);
	return dev;
}

static void print_size(uint64_t bytes)
{
	static const char units[] = "KMGTP";
	int u = -1;
	uint64_t v = bytes;

	while (v >= 1024 && u < 4 && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		con_printf("%10llu B", (unsigned long long)v);
	else
		con_printf("%8llu %ciB", (unsigned long long)v, units[u]);
}

static int blk_list(void)
{
	int i;

	con_printf("NAME       SIZE  BLOCK  QUEUES DEPTH  FEATURES             "
		   "ID\n");
	for (i = 0; i < blk_count(); i++) {
		struct blkdev *d = blk_get(i);

		con_printf("%-4s ", d->name);
		print_size(d->size);
		con_printf(" %6u %7d %5d  %-3s%-6s%-8s%-4s %s\n",
			   d->block_size, d->nr_queues, d->queue_depth,
			   d->read_only ? "ro" : "rw",
			   d->features & BLK_FEAT_FLUSH ? " flush" : "",
			   d->features & BLK_FEAT_DISCARD ? " discard" : "",
			   d->features & BLK_FEAT_WRITE_ZEROES ? " wz" : "",
			   d->id[0] ? d->id : "-");
	}
	if (!blk_count())
		con_printf("(no disks)\n");
	return 0;
}

/* Parse DISK OFF LEN [PATTERN] from argv[2..]. */
static int io_args(int argc, char **argv, struct blkdev **dev, uint64_t *off,
		   uint64_t *len, uint64_t *seed)
{
	int ret;

	*dev = blk_disk_arg(argv[2]);
	if (!*dev)
		return -ENODEV;
	ret = shell_parse_u64(argv[3], "OFF", off);
	if (!ret)
		ret = shell_parse_u64(argv[4], "LEN", len);
	if (!ret && seed) {
		if (argc < 6) {
			con_eprintf("blk %s: PATTERN (a number) is missing\n",
				    argv[1]);
			return -EINVAL;
		}
		ret = shell_parse_u64(argv[5], "PATTERN", seed);
	}
	return ret;
}

static void print_rate(const char *what, uint64_t bytes, uint64_t ns)
{
	uint64_t kib_s = ns ? bytes * 1000000000ull / 1024 / ns : 0;

	con_printf("%s %llu bytes in %llu.%03llu ms (%llu.%02llu MiB/s)\n",
		   what, (unsigned long long)bytes,
		   (unsigned long long)(ns / 1000000),
		   (unsigned long long)(ns / 1000 % 1000),
		   (unsigned long long)(kib_s / 1024),
		   (unsigned long long)(kib_s % 1024 * 100 / 1024));
}

/* blk read|write|verify DISK OFF LEN [PATTERN], CHUNK bytes at a time. */
static int blk_rw(int argc, char **argv, int op)
{
	struct blkdev *dev;
	uint64_t off, len, seed = 0, done, t0 = time_ns();
	struct sha256_ctx sha;
	uint8_t digest[SHA256_DIGEST_SIZE];
	void *raw;
	uint64_t *buf;
	size_t n, i;
	int ret;

	ret = io_args(argc, argv, &dev, &off, &len, op == 'r' ? NULL : &seed);
	if (ret)
		return ret;
	buf = blk_alloc_aligned(CHUNK, &raw);
	if (!buf) {
		con_eprintf("blk: out of memory\n");
		return -ENOMEM;
	}
	sha256_init(&sha);
	for (done = 0; done < len; done += n) {
		n = len - done < CHUNK ? len - done : CHUNK;
		if (op == 'w') {
			blk_pattern_fill(buf, off + done, n, seed);
			ret = blk_write(dev, off + done, buf, n);
		} else {
			ret = blk_read(dev, off + done, buf, n);
		}
		if (ret)
			break;
		if (op == 'r') {
			if (done == 0)
				for (i = 0; i < n && i < DUMP_BYTES; i += 16)
					con_printf("%08llx: %02x%02x %02x%02x "
						   "%02x%02x %02x%02x %02x%02x "
						   "%02x%02x %02x%02x %02x%02x\n",
						   (unsigned long long)(off + i),
						   ((uint8_t *)buf)[i], ((uint8_t *)buf)[i + 1],
						   ((uint8_t *)buf)[i + 2], ((uint8_t *)buf)[i + 3],
						   ((uint8_t *)buf)[i + 4], ((uint8_t *)buf)[i + 5],
						   ((uint8_t *)buf)[i + 6], ((uint8_t *)buf)[i + 7],
						   ((uint8_t *)buf)[i + 8], ((uint8_t *)buf)[i + 9],
						   ((uint8_t *)buf)[i + 10], ((uint8_t *)buf)[i + 11],
						   ((uint8_t *)buf)[i + 12], ((uint8_t *)buf)[i + 13],
						   ((uint8_t *)buf)[i + 14], ((uint8_t *)buf)[i + 15]);
			sha256_update(&sha, buf, n);
		} else if (op == 'v') {
			for (i = 0; i < n / 8; i++) {
				uint64_t want = blk_pattern_word(seed, (off + done) / 8 + i);

				if (buf[i] == want)
					continue;
				con_printf("verify: MISMATCH at byte %llu: want "
					   "%016llx got %016llx\n",
					   (unsigned long long)(off + done + 8 * i),
					   (unsigned long long)want,
					   (unsigned long long)buf[i]);
				ret = -EIO;
				goto out_free;
			}
		}
	}
	if (ret) {
		con_eprintf("blk %s: %s at byte %llu: error %d\n", argv[1],
			    dev->name, (unsigned long long)(off + done), ret);
		goto out_free;
	}
	if (op == 'r') {
		sha256_final(&sha, digest);
		con_printf("sha256 ");
		for (i = 0; i < sizeof(digest); i++)
			con_printf("%02x", digest[i]);
		con_printf("\n");
	}
	print_rate(op == 'r' ? "read" : op == 'w' ? "wrote" : "verify: OK,",
		   len, time_ns() - t0);
out_free:
	kfree(raw);
	return ret;
}

/* blk flush DISK | blk discard|zero DISK OFF LEN */
static int blk_misc(int argc, char **argv)
{
	struct blkdev *dev;
	uint64_t off = 0, len = 0;
	int ret;

	if (strcmp(argv[1], "flush") == 0) {
		dev = blk_disk_arg(argv[2]);
		ret = dev ? blk_flush(dev) : -ENODEV;
	} else {
		if (argc != 5) {
			con_eprintf("blk %s: want DISK OFF LEN\n", argv[1]);
			return -EINVAL;
		}
		ret = io_args(argc, argv, &dev, &off, &len, NULL);
		if (ret)
			return ret;
		ret = argv[1][0] == 'd' ? blk_discard(dev, off, len) :
		      blk_write_zeroes(dev, off, len);
	}
	if (ret == -EOPNOTSUPP)
		con_printf("blk %s: %s does not offer it\n", argv[1], argv[2]);
	else if (ret)
		con_eprintf("blk %s: %s: error %d\n", argv[1], argv[2], ret);
	else
		con_printf("%s: done\n", argv[1]);
	return ret;
}

int cmd_blk(int argc, char **argv)
{
	if (argc == 1)
		return blk_list();
	if (strcmp(argv[1], "read") == 0 && argc == 5)
		return blk_rw(argc, argv, 'r');
	if (strcmp(argv[1], "write") == 0 && argc == 6)
		return blk_rw(argc, argv, 'w');
	if (strcmp(argv[1], "verify") == 0 && argc == 6)
		return blk_rw(argc, argv, 'v');
	if (strcmp(argv[1], "flush") == 0 && argc == 3)
		return blk_misc(argc, argv);
	if ((strcmp(argv[1], "discard") == 0 || strcmp(argv[1], "zero") == 0))
		return blk_misc(argc, argv);
	if (strcmp(argv[1], "bench") == 0 && argc == 8)
		return blk_bench(argv);
	if (strcmp(argv[1], "stress") == 0 && argc == 6)
		return blk_stress(argv);
	con_eprintf("blk: unknown or incomplete subcommand; one of:\n"
		    "  blk\n  blk read DISK OFF LEN\n"
		    "  blk write DISK OFF LEN PATTERN\n"
		    "  blk verify DISK OFF LEN PATTERN\n"
		    "  blk flush DISK\n  blk discard DISK OFF LEN\n"
		    "  blk zero DISK OFF LEN\n"
		    "  blk bench DISK seq|rand read|write BS QD SECONDS\n"
		    "  blk stress DISK QD SECONDS SEED\n");
	return -EINVAL;
}
