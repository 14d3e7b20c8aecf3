/*
 * fs_read of a file of many extents: fs/file.c keeps pieces of the next
 * extents in flight while one is checked, across extent boundaries and
 * holes. The file is written in EXTENT_BYTES pieces alternating with a
 * second file (so no two of its extents are contiguous on disk), with a
 * hole every HOLE_EVERY pieces; a read of it whole has more extents in
 * flight than one at a time. Also run under TSan (reads beside a writer).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>
#include <ghee/log.h>

#include "../../fs/fs.h"
#include "../../lib/crc32c.h"
#include "../../fs/fs_info.h"
#include "../../fs/volumes.h"
#include "shim/host.h"
#include "shim/fault_dev.h"
#include "test.h"

#define DEV_BYTES (256ull << 20)
#define EXTENT_BYTES (64u << 10)
#define NPIECES 48		/* file bytes: NPIECES * EXTENT_BYTES */
#define HOLE_EVERY 5		/* piece i % HOLE_EVERY == 3 is a hole */
#define FILE_BYTES ((size_t)NPIECES * EXTENT_BYTES)

struct read_env {
	struct fault_dev *dev;
	struct fs_info *fs;
	struct fs_ino ino;
	unsigned char *want;	/* the file's bytes, holes as zeros */
};

static int is_hole(unsigned i)
{
	return i % HOLE_EVERY == 3;
}

static int env_open(struct read_env *e)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	struct fs_ino other;
	size_t k;
	unsigned i;
	int ret;

	memset(e, 0, sizeof(*e));
	e->dev = fault_dev_new(DEV_BYTES);
	e->want = calloc(1, FILE_BYTES);
	if (!e->dev || !e->want)
		return -ENOMEM;
	for (i = 0; i < NPIECES; i++)
		for (k = 0; k < EXTENT_BYTES && !is_hole(i); k++)
			e->want[(size_t)i * EXTENT_BYTES + k] =
				(unsigned char)(k * 7 + i * 131 + 1);
	ret = fs_mkfs(fault_dev_blk(e->dev), &o);
	if (ret == 0)
		ret = fs_mount(fault_dev_blk(e->dev), 0, &e->fs);
	if (ret == 0)
		ret = fs_create(e->fs, "/f", 0644, &e->ino);
	if (ret == 0)
		ret = fs_create(e->fs, "/other", 0644, &other);
	for (i = 0; i < NPIECES && ret == 0; i++) {
		size_t at = (size_t)i * EXTENT_BYTES;

		if (!is_hole(i))
			ret = fs_write(e->fs, e->ino, at, e->want + at,
				       EXTENT_BYTES);
		if (ret == 0)
			ret = fs_write(e->fs, other, at, e->want, 4096);
		if (ret == 0)
			ret = fs_sync(e->fs);
	}
	/* The last piece is data, so the file ends at FILE_BYTES. */
	return ret;
}

static void env_close(struct read_env *e)
{
	if (e->fs)
		fs_umount(e->fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(e->dev));
	fault_dev_free(e->dev);
	free(e->want);
}

struct nth_extent {
	unsigned n;		/* which one (0: the first) */
	uint64_t file_off, logical;
};

static int take_nth(void *ctx, const struct fs_fiemap_extent *x)
{
	struct nth_extent *w = ctx;

	if (w->n--)
		return 0;
	w->file_off = x->logical;
	w->logical = x->physical;
	return 1;
}

TEST(fs_read, across_extents_and_holes)
{
	struct read_env e;
	unsigned char *buf = malloc(FILE_BYTES + 1);
	size_t n;
	int ret = env_open(&e);

	CHECK_OK(ret);
	if (ret == 0) {
		memset(buf, 0xee, FILE_BYTES + 1);
		CHECK_OK(fs_read(e.fs, e.ino, 0, buf, FILE_BYTES + 1, &n));
		CHECK_EQ(n, FILE_BYTES);
		CHECK(memcmp(buf, e.want, FILE_BYTES) == 0);
		/* Unaligned ends, starting in a hole's neighbour. */
		CHECK_OK(fs_read(e.fs, e.ino, 2 * EXTENT_BYTES + 100, buf,
				 20 * EXTENT_BYTES + 333, &n));
		CHECK_EQ(n, 20 * EXTENT_BYTES + 333);
		CHECK(memcmp(buf, e.want + 2 * EXTENT_BYTES + 100, n) == 0);
	}
	free(buf);
	env_close(&e);
}

/* fs_read_crcs hands back the checksum of every whole sector it read
 * and verified in the caller's buffer (send's stream CRC uses them), and
 * none for holes, nor for a sector read only in part. */
TEST(fs_read, crcs_of_verified_sectors)
{
	struct read_env e;
	uint32_t n_sec = FILE_BYTES / 4096, i, at;
	unsigned char *buf = malloc(FILE_BYTES);
	uint32_t *crc = calloc(n_sec, sizeof(*crc));
	uint8_t *have = malloc(n_sec);
	struct fs_read_crcs out = { n_sec, crc, have };
	size_t n;
	int ret = env_open(&e);

	CHECK_OK(ret);
	if (ret == 0) {
		CHECK_OK(fs_read_crcs(e.fs, e.ino, 0, buf, FILE_BYTES, &n,
				      &out));
		CHECK_EQ(n, FILE_BYTES);
		for (i = 0; i < n_sec; i++) {
			at = i * 4096;
			CHECK_EQ(have[i], !is_hole(at / EXTENT_BYTES));
			if (have[i])
				CHECK_EQ(crc[i], ~crc32c(~0u, buf + at, 4096));
		}
		/* From byte 100: the first sector's read is a part (a bounce
		 * buffer); the ones after, straight, are shifted in buf */
		CHECK_OK(fs_read_crcs(e.fs, e.ino, 100, buf, 3 * 4096, &n,
				      &out));
		for (i = 0; i < n_sec; i++)
			CHECK_EQ(have[i], 0);
	}
	free(buf);
	free(crc);
	free(have);
	env_close(&e);
}

/* A sector gone bad in an extent read while later extents are in flight:
 * the read fails, and the message names that sector's file offset. */
TEST(fs_read, bad_sector_among_extents_in_flight_named_at_its_offset)
{
	struct read_env e;
	struct nth_extent w = { 25, 0, 0 };
	struct chunk_mapping m;
	unsigned char *buf = malloc(FILE_BYTES);
	unsigned char sec[4096];
	char want[96];
	uint64_t phys;
	size_t n;
	int ret = env_open(&e);

	CHECK_OK(ret);
	if (ret == 0)
		ret = fs_fiemap(e.fs, e.ino, take_nth, &w);
	CHECK_OK(ret);
	CHECK(w.logical != 0);
	if (ret == 0 && w.logical &&
	    volumes_map_copy(e.fs, w.logical, 1, &m) == 0) {
		/* Flip a byte of the extent's third sector on the disk. */
		phys = m.physical[0] + (w.logical - m.logical) + 2 * 4096;
		CHECK_OK(blk_read(fault_dev_blk(e.dev), phys, sec, 4096));
		sec[100] ^= 1;
		CHECK_OK(blk_write(fault_dev_blk(e.dev), phys, sec, 4096));
		host_console_capture(1);
		CHECK_EQ(fs_read(e.fs, e.ino, 0, buf, FILE_BYTES, &n), -EIO);
		snprintf(want, sizeof(want), "inode %llu offset %llu ",
			 (unsigned long long)e.ino.ino,
			 (unsigned long long)(w.file_off + 2 * 4096));
		CHECK(strstr(host_console_output(), want) != NULL);
		host_console_capture(0);
		/* The extents before it read whole. */
		CHECK_OK(fs_read(e.fs, e.ino, 0, buf, w.file_off, &n));
		CHECK(memcmp(buf, e.want, w.file_off) == 0);
		/* Put it back for btrfs check. */
		sec[100] ^= 1;
		CHECK_OK(blk_write(fault_dev_blk(e.dev), phys, sec, 4096));
	} else {
		CHECK(0);
	}
	free(buf);
	env_close(&e);
}

struct race {
	struct read_env *e;
	unsigned char *alt;	/* the other contents the writer puts */
	int stop;		/* [a] the writer is done */
	int err;		/* [a] a reader's failure: errno, or 1 */
};

/* Read the file whole until the writer stops: each read must give all
 * of one version, or its first half after a truncate. */
static void *race_reader(void *arg)
{
	struct race *x = arg;
	unsigned char *buf = malloc(FILE_BYTES);
	size_t n;
	int ret;

	while (buf && !__atomic_load_n(&x->err, __ATOMIC_RELAXED) &&
	       !__atomic_load_n(&x->stop, __ATOMIC_ACQUIRE)) {
		ret = fs_read(x->e->fs, x->e->ino, 0, buf, FILE_BYTES, &n);
		if (ret == 0 && ((n != FILE_BYTES && n != FILE_BYTES / 2) ||
				 (memcmp(buf, x->e->want, n) &&
				  memcmp(buf, x->alt, n))))
			ret = 1;
		if (ret)
			__atomic_store_n(&x->err, ret, __ATOMIC_RELAXED);
	}
	free(buf);
	return NULL;
}

/* Reads of many extents in flight beside a writer that overwrites the
 * file whole, truncates it to half and writes it back, committing as it
 * goes: a read holds the file's lock, so it sees one version whole. */
TEST(fs_read, beside_overwrite_and_truncate)
{
	struct read_env e;
	struct race x = { &e, malloc(FILE_BYTES), 0, 0 };
	pthread_t t[2];
	size_t k;
	int i, nt = 0, ret = env_open(&e);

	CHECK_OK(ret);
	for (k = 0; x.alt && k < FILE_BYTES; k++)
		x.alt[k] = e.want[k] ^ 0x5a;
	CHECK(x.alt != NULL);
	while (nt < 2 && ret == 0 && x.alt &&
	       pthread_create(&t[nt], NULL, race_reader, &x) == 0)
		nt++;
	CHECK_EQ(nt, ret == 0 && x.alt ? 2 : 0);
	for (i = 0; i < 12 && ret == 0 && nt &&
	     !__atomic_load_n(&x.err, __ATOMIC_RELAXED); i++) {
		ret = fs_write(e.fs, e.ino, 0, x.alt, FILE_BYTES);
		if (ret == 0 && i % 3 == 0)
			ret = fs_sync(e.fs);
		if (ret == 0)
			ret = fs_truncate(e.fs, e.ino, FILE_BYTES / 2);
		if (ret == 0)
			ret = fs_write(e.fs, e.ino, 0, e.want, FILE_BYTES);
		if (ret == 0)
			ret = fs_sync(e.fs);
	}
	CHECK_OK(ret);
	__atomic_store_n(&x.stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(x.err, 0);
	free(x.alt);
	env_close(&e);
}
