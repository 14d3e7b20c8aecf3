/*
 * `blk stress DISK QD SECONDS SEED`: random asynchronous writes with QD in
 * flight, then a full check, over the first 64 MiB of the disk (or all of
 * a smaller one).
 *
 * The region is first filled with the pattern of seed SEED (see cmd_blk.c:
 * each word is a function of the seed and its disk offset). Then writes of
 * 1..32 blocks at random block offsets carry the pattern of SEED + 1, each
 * from a buffer cut into up to three pieces of uneven, unaligned sizes, so
 * the block layer's segment handling, splitting and merging all run. Two
 * writes in flight may overlap: both carry the same bytes for a block, so
 * the result is still known. A bitmap records the blocks written. At the
 * end every block must hold SEED + 1's pattern if written, else SEED's:
 * a lost, torn or misplaced write shows as a mismatch at its offset.
 */
#include <errno.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/blk.h>
#include <ghee/console.h>
#include <ghee/sync.h>
#include <ghee/time.h>

#include "cmd_blk.h"
#include "shell.h"

#define STRESS_SPAN	(64ull << 20)
#define STRESS_MAX_BLOCKS 32
#define STRESS_MAX_QD	256

struct stress_slot {
	struct bio bio;
	struct bio_vec vecs[3];
	char *buf;		/* STRESS_MAX_BLOCKS blocks */
	volatile int done;	/* end_io ran */
	struct completion *wake;
};

static void stress_end_io(struct bio *bio)
{
	struct stress_slot *s = bio->private;

	s->done = 1;
	complete(s->wake);
}

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Start a random write on slot s; mark its blocks in map. */
static int stress_submit(struct stress_slot *s, struct blkdev *dev,
			 uint64_t nblocks, uint64_t seed, uint8_t *map,
			 uint64_t *rng)
{
	uint32_t bs = dev->block_size;
	uint64_t n = next_rand(rng) % STRESS_MAX_BLOCKS + 1, b, len, cut1, cut2;

	b = next_rand(rng) % (nblocks - n + 1);
	len = n * bs;
	blk_pattern_fill((uint64_t *)s->buf, b * bs, len, seed);
	/* Up to three pieces, cut at 8-byte multiples anywhere. */
	cut1 = next_rand(rng) % (len / 8 + 1) * 8;
	cut2 = cut1 + next_rand(rng) % ((len - cut1) / 8 + 1) * 8;
	s->bio.nr_vecs = 0;
	if (cut1)
		s->vecs[s->bio.nr_vecs++] = (struct bio_vec){ s->buf, cut1 };
	if (cut2 > cut1)
		s->vecs[s->bio.nr_vecs++] =
			(struct bio_vec){ s->buf + cut1, cut2 - cut1 };
	if (len > cut2)
		s->vecs[s->bio.nr_vecs++] =
			(struct bio_vec){ s->buf + cut2, len - cut2 };
	s->bio.off = b * bs;
	s->bio.len = len;
	s->done = 0;
	while (n--)
		map[(b + n) / 8] |= 1 << ((b + n) % 8);
	return blk_submit(&s->bio);
}

/* Check every block against the seed it should hold, reading chunk bytes
 * at a time into buf. */
static int stress_check(struct blkdev *dev, uint64_t nblocks, uint64_t seed,
			const uint8_t *map, uint64_t *buf, uint64_t chunk)
{
	uint64_t words = dev->block_size / 8, off, i, b, want;
	int ret;

	for (off = 0; off < nblocks * dev->block_size; off += chunk) {
		ret = blk_read(dev, off, buf, chunk);
		if (ret) {
			con_eprintf("blk stress: read error %d at byte %llu\n",
				    ret, (unsigned long long)off);
			return ret;
		}
		for (i = 0; i < chunk / 8; i++) {
			b = off / dev->block_size + i / words;
			want = blk_pattern_word(seed + !!(map[b / 8] &
							  (1 << (b % 8))),
						off / 8 + i);
			if (buf[i] == want)
				continue;
			con_printf("stress: MISMATCH at byte %llu (block %s): "
				   "want %016llx got %016llx\n",
				   (unsigned long long)(off + 8 * i),
				   map[b / 8] & (1 << (b % 8)) ?
				   "written" : "untouched",
				   (unsigned long long)want,
				   (unsigned long long)buf[i]);
			return -EIO;
		}
	}
	return 0;
}

/* Write the first seed's pattern over the region. */
static int stress_fill(struct blkdev *dev, uint64_t span, uint64_t seed,
		       uint64_t *buf, uint64_t chunk)
{
	uint64_t off;
	int ret;

	for (off = 0; off < span; off += chunk) {
		blk_pattern_fill(buf, off, chunk, seed);
		ret = blk_write(dev, off, buf, chunk);
		if (ret)
			return ret;
	}
	return 0;
}

int blk_stress(char **argv)
{
	struct blkdev *dev = blk_disk_arg(argv[2]);
	uint64_t qd, secs, seed, span, nblocks, rng, end, i, ios = 0, inflight = 0;
	struct stress_slot *slots = NULL;
	struct completion wake;
	uint8_t *map = NULL;
	void *raw = NULL;
	char *bufs;
	int ret;

	if (!dev)
		return -ENODEV;
	ret = shell_parse_u64(argv[3], "QD", &qd);
	if (!ret)
		ret = shell_parse_u64(argv[4], "SECONDS", &secs);
	if (!ret)
		ret = shell_parse_u64(argv[5], "SEED", &seed);
	if (ret)
		return ret;
	if (!qd || qd > STRESS_MAX_QD) {
		con_eprintf("blk stress: QD 1..%d\n", STRESS_MAX_QD);
		return -EINVAL;
	}
	span = dev->size < STRESS_SPAN ? dev->size : STRESS_SPAN;
	span -= span % (STRESS_MAX_BLOCKS * (uint64_t)dev->block_size);
	nblocks = span / dev->block_size;
	if (!nblocks) {
		con_eprintf("blk stress: %s is too small\n", dev->name);
		return -EINVAL;
	}
	completion_init(&wake);
	rng = seed * 0x9e3779b97f4a7c15ull | 1;
	slots = kzalloc(qd * sizeof(*slots));
	map = kzalloc(nblocks / 8 + 1);
	bufs = blk_alloc_aligned(qd * STRESS_MAX_BLOCKS * dev->block_size,
				 &raw);
	if (!slots || !map || !bufs) {
		con_eprintf("blk stress: out of memory\n");
		ret = -ENOMEM;
		goto out_free;
	}
	ret = stress_fill(dev, span, seed, (uint64_t *)bufs,
			  STRESS_MAX_BLOCKS * (uint64_t)dev->block_size);
	if (ret) {
		con_eprintf("blk stress: fill failed: %d\n", ret);
		goto out_free;
	}
	for (i = 0; i < qd; i++) {
		slots[i].buf = bufs + i * STRESS_MAX_BLOCKS * dev->block_size;
		slots[i].wake = &wake;
		slots[i].bio.dev = dev;
		slots[i].bio.op = BLK_OP_WRITE;
		slots[i].bio.vecs = slots[i].vecs;
		slots[i].bio.end_io = stress_end_io;
		slots[i].bio.private = &slots[i];
	}
	end = time_ns() + secs * 1000000000ull;
	for (i = 0; i < qd && !ret; i++) {
		ret = stress_submit(&slots[i], dev, nblocks, seed + 1, map, &rng);
		inflight += !ret;
	}
	while (inflight) {
		wait_for_completion(&wake);
		for (i = 0; i < qd; i++) {
			struct stress_slot *s = &slots[i];

			if (!s->done)
				continue;
			s->done = 0;
			inflight--;
			ios++;
			if (s->bio.status && !ret)
				ret = s->bio.status;
			if (ret || time_ns() >= end)
				continue;
			ret = stress_submit(s, dev, nblocks, seed + 1, map, &rng);
			inflight += !ret;
		}
	}
	if (ret) {
		con_eprintf("blk stress: write error %d\n", ret);
		goto out_free;
	}
	ret = blk_flush(dev);
	if (!ret)
		ret = stress_check(dev, nblocks, seed, map, (uint64_t *)bufs,
				   STRESS_MAX_BLOCKS * (uint64_t)dev->block_size);
	if (!ret)
		con_printf("stress: OK, %llu writes at QD %llu, %llu blocks "
			   "checked\n", (unsigned long long)ios,
			   (unsigned long long)qd, (unsigned long long)nblocks);
out_free:
	kfree(raw);
	kfree(map);
	kfree(slots);
	return ret;
}
