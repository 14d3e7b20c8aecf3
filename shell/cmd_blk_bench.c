/*
 * `blk bench DISK seq|rand read|write BS QD SECONDS`: keep QD bios of BS
 * bytes in flight for SECONDS, over the first GiB of the disk (like the
 * Linux side of `make bench`), and print MiB/s, IOPS and latency
 * percentiles.
 *
 * Each of the QD slots owns a bio and a BS-byte buffer. end_io (interrupt
 * context on the kernel) stamps the latency, marks the slot done and
 * signals one completion; the shell task waits on it, resubmits the done
 * slots at the next offset (sequential: one after another, wrapping;
 * random: uniform BS-aligned) and, when the time is up, waits for the
 * ones still in flight. Write data is whatever the buffers hold. A write
 * bench ends with a flush inside the timed span (as dd conv=fsync does):
 * a write counts once it is durable, not once a volatile cache took it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/blk.h>
#include <ghee/console.h>
#include <ghee/sync.h>
#include <ghee/time.h>

#include "cmd_blk.h"
#include "shell.h"

#define BENCH_SPAN	(1ull << 30)	/* offsets: the first GiB */
#define BENCH_MAX_QD	256
#define BENCH_MAX_BS	(16u << 20)
#define LAT_MAX		(1u << 20)	/* latencies kept for percentiles */

struct bench;

struct bench_slot {
	struct bio bio;
	struct bio_vec vec;
	uint64_t start_ns;	/* submission time */
	volatile int done;	/* end_io ran; the slot waits for the task */
	struct bench *b;
};

struct bench {
	struct completion wake;		/* one event per end_io */
	uint32_t *lat;			/* ns, LAT_MAX entries */
	uint32_t nr_lat;		/* [a] entries filled */
	uint64_t ios;			/* finished without error */
	int error;			/* first error, or 0 */
};

static void bench_end_io(struct bio *bio)
{
	struct bench_slot *s = bio->private;
	struct bench *b = s->b;
	uint64_t ns = time_ns() - s->start_ns;
	uint32_t i = __atomic_fetch_add(&b->nr_lat, 1, __ATOMIC_RELAXED);

	if (i < LAT_MAX)
		b->lat[i] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
	s->done = 1;
	complete(&b->wake);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Latency at permille p of the sorted samples, in microseconds. */
static unsigned long pct(const uint32_t *lat, uint32_t n, unsigned p)
{
	uint64_t i = (uint64_t)n * p / 1000;

	return n ? lat[i < n ? i : n - 1] / 1000 : 0;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Submit slot s at the next offset. */
static int bench_submit(struct bench_slot *s, int rand, uint64_t span,
			uint64_t bs, uint64_t *next, uint64_t *rng)
{
	s->bio.off = rand ? xorshift(rng) % (span / bs) * bs : *next;
	*next = (*next + bs) % span;
	s->done = 0;
	s->start_ns = time_ns();
	return blk_submit(&s->bio);
}

static void bench_report(struct blkdev *dev, char **argv, struct bench *b,
			 uint64_t bs, uint64_t ns)
{
	uint32_t n = b->nr_lat < LAT_MAX ? b->nr_lat : LAT_MAX;
	uint64_t us = ns / 1000;
	uint64_t iops = us ? b->ios * 1000000 / us : 0;
	/* in KiB and us: bytes times 10^9 overflowed past 17 GiB */
	uint64_t kib_s = us ? b->ios * bs / 1024 * 1000000 / us : 0;

	uint64_t sum = 0;
	uint32_t i;

	for (i = 0; i < n; i++)
		sum += b->lat[i];
	qsort(b->lat, n, sizeof(*b->lat), cmp_u32);
	con_printf("bench %s %s %s bs=%llu qd=%s: %llu IOs in %llu ms, "
		   "%llu.%02llu MiB/s, %llu IOPS\n",
		   dev->name, argv[3], argv[4], (unsigned long long)bs,
		   argv[6], (unsigned long long)b->ios,
		   (unsigned long long)(ns / 1000000),
		   (unsigned long long)(kib_s / 1024),
		   (unsigned long long)(kib_s % 1024 * 100 / 1024),
		   (unsigned long long)iops);
	con_printf("latency us: avg %lu.%lu p50 %lu p90 %lu p99 %lu p99.9 %lu "
		   "max %lu\n", (unsigned long)(n ? sum / n / 1000 : 0),
		   (unsigned long)(n ? sum / n / 100 % 10 : 0),
		   pct(b->lat, n, 500), pct(b->lat, n, 900),
		   pct(b->lat, n, 990), pct(b->lat, n, 999),
		   pct(b->lat, n, 1000));
}

/* Parse and check BS QD SECONDS. */
static int bench_args(struct blkdev *dev, char **argv, uint64_t *bs,
		      uint64_t *qd, uint64_t *secs)
{
	int ret = shell_parse_u64(argv[5], "BS", bs);

	if (!ret)
		ret = shell_parse_u64(argv[6], "QD", qd);
	if (!ret)
		ret = shell_parse_u64(argv[7], "SECONDS", secs);
	if (ret)
		return ret;
	if ((strcmp(argv[3], "seq") && strcmp(argv[3], "rand")) ||
	    (strcmp(argv[4], "read") && strcmp(argv[4], "write"))) {
		con_eprintf("blk bench: want seq|rand and read|write\n");
		return -EINVAL;
	}
	if (!*bs || *bs % dev->block_size || *bs > BENCH_MAX_BS ||
	    *bs > dev->size) {
		con_eprintf("blk bench: BS must be a multiple of %u up to "
			    "%u MiB and the disk size\n", dev->block_size,
			    BENCH_MAX_BS >> 20);
		return -EINVAL;
	}
	if (!*qd || *qd > BENCH_MAX_QD || !*secs) {
		con_eprintf("blk bench: QD 1..%d, SECONDS at least 1\n",
			    BENCH_MAX_QD);
		return -EINVAL;
	}
	return 0;
}

int blk_bench(char **argv)
{
	struct blkdev *dev = blk_disk_arg(argv[2]);
	uint64_t bs, qd, secs, span, next = 0, rng = 0x2545f4914f6cdd1dull;
	uint64_t t0, end;
	struct bench b;
	struct bench_slot *slots;
	void *raw = NULL;
	char *bufs;
	uint64_t i, inflight = 0;
	int ret, rand;

	if (!dev)
		return -ENODEV;
	ret = bench_args(dev, argv, &bs, &qd, &secs);
	if (ret)
		return ret;
	rand = strcmp(argv[3], "rand") == 0;
	span = dev->size < BENCH_SPAN ? dev->size : BENCH_SPAN;
	span -= span % bs;
	memset(&b, 0, sizeof(b));
	completion_init(&b.wake);
	slots = kzalloc(qd * sizeof(*slots));
	b.lat = kmalloc(LAT_MAX * sizeof(*b.lat));
	bufs = blk_alloc_aligned(qd * bs, &raw);
	if (!slots || !b.lat || !bufs) {
		con_eprintf("blk bench: out of memory for QD x BS\n");
		ret = -ENOMEM;
		goto out_free;
	}
	memset(bufs, 0x5a, qd * bs);
	for (i = 0; i < qd; i++) {
		struct bench_slot *s = &slots[i];

		s->b = &b;
		s->vec.base = bufs + i * bs;
		s->vec.len = bs;
		s->bio.dev = dev;
		s->bio.op = argv[4][0] == 'r' ? BLK_OP_READ : BLK_OP_WRITE;
		s->bio.len = bs;
		s->bio.vecs = &s->vec;
		s->bio.nr_vecs = 1;
		s->bio.end_io = bench_end_io;
		s->bio.private = s;
	}
	t0 = time_ns();
	end = t0 + secs * 1000000000ull;
	for (i = 0; i < qd && !ret; i++) {
		ret = bench_submit(&slots[i], rand, span, bs, &next, &rng);
		inflight += !ret;
	}
	while (inflight) {
		wait_for_completion(&b.wake);
		for (i = 0; i < qd; i++) {
			struct bench_slot *s = &slots[i];

			if (!s->done)
				continue;
			s->done = 0;
			inflight--;
			if (s->bio.status && !b.error)
				b.error = s->bio.status;
			else if (!s->bio.status)
				b.ios++;
			if (ret || b.error || time_ns() >= end)
				continue;
			ret = bench_submit(s, rand, span, bs, &next, &rng);
			if (!ret)
				inflight++;
		}
	}
	ret = ret ? ret : b.error;
	if (!ret && slots[0].bio.op == BLK_OP_WRITE)
		ret = blk_flush(dev);
	if (ret)
		con_eprintf("blk bench: %s: I/O error %d\n", dev->name, ret);
	else
		bench_report(dev, argv, &b, bs, time_ns() - t0);
out_free:
	kfree(raw);
	kfree(b.lat);
	kfree(slots);
	return ret;
}
