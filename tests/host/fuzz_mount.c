/*
 * libFuzzer target: mount + walk + read of an in-memory btrfs image.
 *
 * A btrfs image is mostly zeros, so the input describes a sparse image:
 * records of a little-endian u32 block number followed by that 4 KiB block.
 * Blocks not given read as zeros; the image is FUZZ_IMAGE_SIZE bytes. This
 * keeps inputs small (a mkfs.btrfs image is ~100 such blocks) and lets the
 * fuzzer mutate metadata directly. tests/host/fuzz_seed.py turns real
 * images into seed inputs.
 *
 * Checksums would stop almost every mutation at the first block read, so by
 * default the device "repairs" them: a 4 KiB read at a superblock offset, or
 * a read of a whole tree block (it carries the superblock's fsid at byte
 * 32), gets a freshly computed crc32c, and the mutated structure reaches the
 * tree checker and the code behind it. An input whose size is not a whole
 * number of records keeps its checksums as they are.
 *
 * Each input is mounted; on success every directory is walked (bounded
 * entries and depth), every file read (bounded bytes), links read, and
 * subvolume list and df run. Any crash, sanitizer report, leak or hang is a bug:
 * bad input must only ever produce errors.
 *
 * Build with clang (Debian package clang; its libFuzzer runtime ships with
 * it) from the repository root, linking every .c file of fs/, lib/ and
 * tests/host/shim/:
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined
 *     -Iinclude -Itests/host/include -D_GNU_SOURCE -DGHEE_VERSION='"fuzz"'
 *     tests/host/fuzz_mount.c FS_C LIB_C SHIM_C -lpthread
 *     -o build/fuzz_mount
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/blk.h>
#include <ghee/log.h>

#include "../../fs/fs.h"
#include "../../lib/crc32c.h"

#define FUZZ_BLOCK 4096
#define FUZZ_IMAGE_SIZE (300ULL << 20)	/* what the seeds were made with */
#define FUZZ_MAX_ENTRIES 2000		/* directory entries walked */
#define FUZZ_MAX_DEPTH 16
#define FUZZ_MAX_READ (1u << 20)	/* bytes read per file */

struct sparse_img {
	const uint8_t *data;	/* the fuzz input */
	size_t nrec;		/* records in it */
	int fix_csums;		/* recompute metadata checksums on read */
	uint8_t fsid[16];	/* fsid of the first superblock read */
	int have_fsid;
};

/* Store a fresh crc32c over buf[32..len) in buf[0..4). */
static void put_csum(uint8_t *buf, size_t len)
{
	uint32_t c = ~crc32c(~0u, buf + 32, len - 32);

	buf[0] = (uint8_t)c;
	buf[1] = (uint8_t)(c >> 8);
	buf[2] = (uint8_t)(c >> 16);
	buf[3] = (uint8_t)(c >> 24);
}

/* Give superblocks and tree blocks valid checksums (see the top). */
static void fix_csums(struct sparse_img *s, uint64_t off, uint8_t *buf,
		      size_t len)
{
	if (len == 4096 && (off == 65536 || off == 64ULL << 20)) {
		put_csum(buf, len);
		memcpy(s->fsid, buf + 32, 16);
		s->have_fsid = 1;
	} else if (s->have_fsid && len >= 4096 && !(len & (len - 1)) &&
		   !memcmp(buf + 32, s->fsid, 16)) {
		put_csum(buf, len);
	}
}

/* The last record for block b wins, like writing the blocks in order. */
static const uint8_t *find_block(const struct sparse_img *s, uint64_t b)
{
	const uint8_t *hit = NULL;
	size_t i;

	for (i = 0; i < s->nrec; i++) {
		const uint8_t *r = s->data + i * (4 + FUZZ_BLOCK);
		uint32_t n = (uint32_t)r[0] | (uint32_t)r[1] << 8 |
			     (uint32_t)r[2] << 16 | (uint32_t)r[3] << 24;

		if (n == b)
			hit = r + 4;
	}
	return hit;
}

static int sparse_read(struct blkdev *d, uint64_t off, void *buf, size_t len)
{
	struct sparse_img *s = d->priv;
	uint8_t *out = buf;
	uint64_t start = off;
	size_t total = len;

	while (len) {
		uint64_t b = off / FUZZ_BLOCK;
		size_t in = off % FUZZ_BLOCK, n = FUZZ_BLOCK - in;
		const uint8_t *blk = find_block(s, b);

		if (n > len)
			n = len;
		if (blk)
			memcpy(out, blk + in, n);
		else
			memset(out, 0, n);
		out += n;
		off += n;
		len -= n;
	}
	if (s->fix_csums)
		fix_csums(s, start, buf, total);
	return 0;
}

static const struct blkdev_ops sparse_ops = { sparse_read, NULL, NULL };

struct walk_ctx {
	struct fs_info *fs;
	int entries;
	int depth;
	char *buf;
};

static int visit(void *ctx, const char *name, size_t len, struct fs_ino ino,
		 unsigned type)
{
	struct walk_ctx *w = ctx;
	size_t done;

	(void)name;
	(void)len;
	if (++w->entries > FUZZ_MAX_ENTRIES)
		return 1;
	if (type == 2 && w->depth < FUZZ_MAX_DEPTH) {
		w->depth++;
		/* Errors are expected on damaged images: only crashes count. */
		(void)fs_readdir(w->fs, ino, visit, w);
		w->depth--;
	} else if (type == 1) {
		(void)fs_read(w->fs, ino, 0, w->buf, FUZZ_MAX_READ, &done);
		(void)fs_read(w->fs, ino, 4095, w->buf, 8193, &done);
	} else if (type == 7) {
		(void)fs_readlink(w->fs, ino, w->buf, 4096, &done);
	}
	return 0;
}

static int subvol_cb(void *ctx, const struct fs_subvol *sv)
{
	(void)ctx;
	(void)sv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sparse_img s = { data, size / (4 + FUZZ_BLOCK),
				size % (4 + FUZZ_BLOCK) == 0, { 0 }, 0 };
	struct blkdev dev;
	struct fs_info *fs;
	struct walk_ctx w;
	struct fs_ino root;
	struct fs_df df;

	log_set_level(LOG_ERR);
	memset(&dev, 0, sizeof(dev));
	memcpy(dev.name, "fuzz", 5);
	dev.size = FUZZ_IMAGE_SIZE;
	dev.block_size = 512;
	dev.read_only = 1;
	dev.ops = &sparse_ops;
	dev.priv = &s;
	if (fs_mount(&dev, FS_MOUNT_RO, &fs))
		return 0;
	w.fs = fs;
	w.entries = 0;
	w.depth = 0;
	w.buf = malloc(FUZZ_MAX_READ);
	if (w.buf && fs_lookup(fs, "/", 0, &root) == 0)
		(void)fs_readdir(fs, root, visit, &w);
	(void)fs_subvol_list(fs, subvol_cb, NULL);
	(void)fs_df(fs, &df);
	free(w.buf);
	fs_umount(fs);
	return 0;
}
