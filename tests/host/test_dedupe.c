/*
 * Dedupe (fs/dedupe.c, fs/dedupe_scan.c) through the public API. The rules
 * against Linux's own answers are tests/interop/dedupe.sh; here: a
 * read-only snapshot as the destination (deduped, its times and bytes
 * kept, every other change still refused), a scan of a tree with known
 * duplicates (the space saved is the duplicates, a second scan finds
 * nothing, the bytes stay), scans beside a writer (no byte lost), and
 * dedupe into a snapshot while a send reads it (the stream is the one made
 * while nothing ran but for the snapshot's ctransid, which dedupe moves as
 * on Linux, and the send searched again after the dedupe commits). Images
 * are judged by ghee's fsck and `btrfs check`.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "../../lib/crc32c.h"
#include "send_sink.h"
#include "shim/fault_dev.h"
#include "test.h"

#define DEV_BYTES (256ull << 20)

/* Bytes of file "number" seed at offset off: equal seeds, equal bytes. */
static void fill(unsigned char *buf, size_t n, unsigned seed, uint64_t off)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t x = (off + i) / 8 * 0x9e3779b97f4a7c15ull + seed;

		x ^= x >> 29;
		buf[i] = (unsigned char)(x * 0xbf58476d1ce4e5b9ull >> 56);
	}
}

/* Make path holding n bytes of seed. */
static int put(struct fs_info *fs, const char *path, unsigned seed,
	       size_t n, struct fs_ino *ino)
{
	unsigned char *buf = malloc(n ? n : 1);
	int ret = buf ? fs_create(fs, path, 0644, ino) : -ENOMEM;

	if (ret == 0) {
		fill(buf, n, seed, 0);
		ret = fs_write(fs, *ino, 0, buf, n);
	}
	free(buf);
	return ret;
}

/* Whether path holds exactly n bytes of seed: 0 when it does. */
static int holds(struct fs_info *fs, const char *path, unsigned seed,
		 size_t n)
{
	unsigned char *want = malloc(n + 1), *got = malloc(n + 1);
	struct fs_ino ino;
	size_t done = 0;
	int ret = want && got ? fs_lookup(fs, path, 0, &ino) : -ENOMEM;

	if (ret == 0)
		ret = fs_read(fs, ino, 0, got, n + 1, &done);
	if (ret == 0) {
		fill(want, n, seed, 0);
		ret = done != n || memcmp(want, got, n) ? 1 : 0;
	}
	free(want);
	free(got);
	return ret;
}

static uint64_t data_used(struct fs_info *fs)
{
	struct fs_df df;
	uint32_t i;

	if (fs_sync(fs) || fs_df(fs, &df))
		return 0;
	for (i = 0; i < df.nspace; i++)
		if (df.space[i].type & 1)	/* BTRFS_BLOCK_GROUP_DATA */
			return df.space[i].used;
	return 0;
}

static int open_fs(struct fault_dev **dev, struct fs_info **fs)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	int ret;

	*dev = fault_dev_new(DEV_BYTES);
	if (!*dev)
		return -ENOMEM;
	ret = fs_mkfs(fault_dev_blk(*dev), &o);
	return ret ? ret : fs_mount(fault_dev_blk(*dev), 0, fs);
}

/* Unmount, then ghee's fsck and btrfs check. */
static void close_fs(struct fault_dev *dev, struct fs_info *fs)
{
	struct fs_check_report rep;

	fs_umount(fs);
	if (fs_mount(fault_dev_blk(dev), FS_MOUNT_RO, &fs) == 0) {
		if (fs_check(fs, &rep))
			test_fail(__FILE__, __LINE__, "fsck found %llu errors",
				  (unsigned long long)rep.errors);
		fs_umount(fs);
	}
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}

TEST(dedupe, into_read_only_snapshot_keeps_times_and_guard)
{
	struct fault_dev *dev;
	struct fs_info *fs;
	struct fs_ino a, s, t;
	struct fs_stat before, after;
	unsigned char c = 1;

	CHECK_OK(open_fs(&dev, &fs));
	CHECK_OK(fs_subvol_create(fs, "/sv"));
	CHECK_OK(put(fs, "/sv/a", 3, 70000, &a));
	CHECK_OK(fs_subvol_snapshot(fs, "/sv", "/ro", FS_SNAP_RDONLY));
	CHECK_OK(put(fs, "/t", 3, 70000, &t));
	CHECK_OK(fs_lookup(fs, "/ro/a", 0, &s));
	CHECK_OK(fs_stat(fs, s, &before));
	CHECK_OK(fs_dedupe_range(fs, t, 0, 70000, s, 0));
	CHECK_OK(fs_sync(fs));
	CHECK_OK(fs_stat(fs, s, &after));
	CHECK_EQ(after.mtime.sec, before.mtime.sec);
	CHECK_EQ(after.mtime.nsec, before.mtime.nsec);
	CHECK_EQ(after.ctime.sec, before.ctime.sec);
	CHECK_EQ(after.ctime.nsec, before.ctime.nsec);
	CHECK_EQ(after.size, 70000);
	CHECK_OK(holds(fs, "/ro/a", 3, 70000));
	/* Everything else still refused in the snapshot. */
	CHECK_EQ(fs_write(fs, s, 0, &c, 1), -EROFS);
	CHECK_EQ(fs_clone_range(fs, t, 0, 4096, s, 0), -EROFS);
	CHECK_EQ(fs_truncate(fs, s, 0), -EROFS);
	CHECK_EQ(fs_dedupe_range(fs, a, 0, 4096, s, 4096), -EBADE);
	CHECK_EQ(fs_is_read_only(fs), 0);
	close_fs(dev, fs);
}

/* A tree with known duplicates: a, b, d/e and sv/g are one 1 MiB file;
 * d/f is its first 300000 bytes (73 whole blocks equal); c differs. */
TEST(dedupe, scan_saves_the_duplicates)
{
	struct fs_dedupe_scan_report rep;
	struct fault_dev *dev;
	struct fs_info *fs;
	struct fs_ino v[6];
	uint64_t used0, used1, dup = 3 * 1048576ull + 73 * 4096;

	CHECK_OK(open_fs(&dev, &fs));
	CHECK_OK(fs_mkdir(fs, "/d", 0755));
	CHECK_OK(fs_subvol_create(fs, "/sv"));
	CHECK_OK(put(fs, "/a", 7, 1048576, &v[0]));
	CHECK_OK(put(fs, "/b", 7, 1048576, &v[1]));
	CHECK_OK(put(fs, "/c", 8, 1048576, &v[2]));
	CHECK_OK(put(fs, "/d/e", 7, 1048576, &v[3]));
	CHECK_OK(put(fs, "/sv/g", 7, 1048576, &v[4]));
	CHECK_OK(put(fs, "/d/f", 7, 300000, &v[5]));
	used0 = data_used(fs);
	CHECK_OK(fs_dedupe_scan(fs, v, 6, 4096, &rep));
	CHECK_EQ(rep.files, 6);
	CHECK_EQ(rep.deduped, dup);
	CHECK_EQ(rep.differed, 0);
	used1 = data_used(fs);
	/* d/f's last, partial block keeps its extent referenced. */
	CHECK(used0 - used1 >= 3 * 1048576ull);
	CHECK(used0 - used1 <= dup);
	CHECK_OK(fs_dedupe_scan(fs, v, 6, 4096, &rep));
	CHECK_EQ(rep.deduped, 0);
	CHECK_EQ(data_used(fs), used1);
	CHECK_OK(holds(fs, "/a", 7, 1048576));
	CHECK_OK(holds(fs, "/b", 7, 1048576));
	CHECK_OK(holds(fs, "/c", 8, 1048576));
	CHECK_OK(holds(fs, "/d/e", 7, 1048576));
	CHECK_OK(holds(fs, "/sv/g", 7, 1048576));
	CHECK_OK(holds(fs, "/d/f", 7, 300000));
	close_fs(dev, fs);
}

/* A data block's checksum as the csum tree holds it (crc32c). */
static uint32_t block_sum(const unsigned char *blk)
{
	return ~crc32c(~0u, blk, 4096);
}

/* Set the last 4 bytes of the 4 KiB block blk so that its checksum is
 * want: the checksum is affine in those 32 bits (and one to one), so
 * the bits are found by elimination over GF(2). */
static void forge_sum(unsigned char *blk, uint32_t want)
{
	uint32_t val[32] = { 0 }, comb[32] = { 0 }, base, v = 0, t, x, c;
	int j, b;

	memset(blk + 4092, 0, 4);
	base = block_sum(blk);
	for (j = 0; j < 32; j++) {
		x = 1u << j;
		c = x;
		memcpy(blk + 4092, &x, 4);
		x = block_sum(blk) ^ base;
		for (b = 31; b >= 0 && x; b--) {
			if (!(x >> b & 1))
				continue;
			if (!val[b]) {
				val[b] = x;
				comb[b] = c;
				break;
			}
			x ^= val[b];
			c ^= comb[b];
		}
	}
	t = want ^ base;
	for (b = 31; b >= 0; b--)
		if (t >> b & 1 && val[b]) {
			t ^= val[b];
			v ^= comb[b];
		}
	memcpy(blk + 4092, &v, 4);
}

/* Make path holding the n bytes of buf. */
static int put_buf(struct fs_info *fs, const char *path,
		   const unsigned char *buf, size_t n, struct fs_ino *ino)
{
	int ret = fs_create(fs, path, 0644, ino);

	return ret ? ret : fs_write(fs, *ino, 0, buf, n);
}

/* a and b are one 1 MiB file, c and d another, and block 100 of c has
 * the checksum of block 100 of a (other bytes): the checksum group of
 * that block holds both contents and its first block is the wrong
 * source for one of the copies. The scan follows each copy's run from
 * its previous block, so both copies are shared whole; only the
 * colliding single-block pair differs. It failed before (2 MiB - 4 KiB
 * deduped, 2 differed): the run of one copy broke at the collision. */
TEST(dedupe, scan_follows_runs_across_a_checksum_collision)
{
	static unsigned char ab[1048576], cd[1048576], got[1048576];
	size_t n = sizeof(ab), at = 100 * 4096;
	struct fs_dedupe_scan_report rep;
	struct fault_dev *dev;
	struct fs_info *fs;
	struct fs_ino v[4];
	int i;

	fill(ab, n, 7, 0);
	fill(cd, n, 8, 0);
	forge_sum(cd + at, block_sum(ab + at));
	CHECK_EQ(block_sum(cd + at), block_sum(ab + at));
	CHECK(memcmp(cd + at, ab + at, 4096) != 0);
	CHECK_OK(open_fs(&dev, &fs));
	CHECK_OK(put_buf(fs, "/a", ab, n, &v[0]));
	CHECK_OK(put_buf(fs, "/b", ab, n, &v[1]));
	CHECK_OK(put_buf(fs, "/c", cd, n, &v[2]));
	CHECK_OK(put_buf(fs, "/d", cd, n, &v[3]));
	CHECK_OK(fs_sync(fs));
	CHECK_OK(fs_dedupe_scan(fs, v, 4, 4096, &rep));
	CHECK_EQ(rep.deduped, 2 * n);
	CHECK_EQ(rep.differed, 1);
	CHECK_OK(holds(fs, "/a", 7, n));
	CHECK_OK(holds(fs, "/b", 7, n));
	for (i = 2; i < 4; i++) {
		size_t done = 0;

		CHECK_OK(fs_read(fs, v[i], 0, got, n, &done));
		CHECK(done == n && memcmp(got, cd, n) == 0);
	}
	close_fs(dev, fs);
}

/* A file of 16 equal blocks: each of the last 15 is shared with the
 * first, one by one (a run of them would overlap its own source). */
TEST(dedupe, scan_shares_a_file_of_equal_blocks)
{
	static unsigned char buf[16 * 4096];
	struct fs_dedupe_scan_report rep;
	struct fault_dev *dev;
	struct fs_info *fs;
	struct fs_ino v;
	int i;

	fill(buf, 4096, 9, 0);
	for (i = 1; i < 16; i++)
		memcpy(buf + i * 4096, buf, 4096);
	CHECK_OK(open_fs(&dev, &fs));
	CHECK_OK(put_buf(fs, "/z", buf, sizeof(buf), &v));
	CHECK_OK(fs_sync(fs));
	CHECK_OK(fs_dedupe_scan(fs, &v, 1, 4096, &rep));
	CHECK_EQ(rep.differed, 0);
	CHECK_EQ(rep.deduped, 15 * 4096);
	close_fs(dev, fs);
}

/* A writer rewriting files w0..w7 each round, until stopped: w<i> holds
 * seed i (t<i>'s bytes, which the scan finds equal) every other round,
 * seed 8 + i between. */
struct writer {
	struct fs_info *fs;
	int stop, err;
	unsigned seed[8];	/* last seed written to w<i> */
};

static void *write_loop(void *arg)
{
	struct writer *w = arg;
	unsigned char *buf = malloc(65536);
	char path[32];
	struct fs_ino ino;
	unsigned round = 1;
	int i;

	w->err = buf ? 0 : -ENOMEM;
	while (!w->err && !__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		for (i = 0; i < 8 && !w->err; i++) {
			fill(buf, 65536, round % 2 * 8 + i, 0);
			snprintf(path, sizeof(path), "/w%d", i);
			w->err = fs_lookup(w->fs, path, 0, &ino);
			if (!w->err)
				w->err = fs_write(w->fs, ino, 0, buf, 65536);
			w->seed[i] = round % 2 * 8 + i;
		}
		round++;
	}
	free(buf);
	return NULL;
}

/* Scans while a writer rewrites the files: whatever the scan shares,
 * every file ends with the bytes its writer wrote last. */
TEST(dedupe, scan_beside_writer_loses_nothing)
{
	struct fs_dedupe_scan_report rep;
	struct writer w = { 0 };
	struct fault_dev *dev;
	struct fs_info *fs;
	struct fs_ino v[16];
	char path[32];
	uint64_t deduped = 0;
	pthread_t t;
	int i, ret = 0;

	CHECK_OK(open_fs(&dev, &fs));
	for (i = 0; i < 8; i++) {
		snprintf(path, sizeof(path), "/w%d", i);
		CHECK_OK(put(fs, path, i, 65536, &v[i]));
		snprintf(path, sizeof(path), "/t%d", i);
		CHECK_OK(put(fs, path, i, 65536, &v[8 + i]));
		w.seed[i] = i;
	}
	w.fs = fs;
	CHECK_OK(pthread_create(&t, NULL, write_loop, &w));
	for (i = 0; i < 30 && ret == 0; i++) {
		ret = fs_dedupe_scan(fs, v, 16, 4096, &rep);
		deduped += rep.deduped;
		if (ret == 0)
			ret = fs_sync(fs);
	}
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	CHECK_OK(ret);
	CHECK_OK(w.err);
	CHECK(deduped > 0);
	for (i = 0; i < 8; i++) {
		snprintf(path, sizeof(path), "/w%d", i);
		CHECK_OK(holds(fs, path, w.seed[i], 65536));
		snprintf(path, sizeof(path), "/t%d", i);
		CHECK_OK(holds(fs, path, i, 65536));
	}
	close_fs(dev, fs);
}

#define NFILES 200

/* Dedupe every snapshot file with its twin outside, and back, until
 * stopped, committing after each. */
struct deduper {
	struct fs_info *fs;
	int stop, err;
	unsigned rounds;
};

static void *dedupe_loop(void *arg)
{
	struct deduper *d = arg;
	char path[64];
	struct fs_ino src, dst;
	int i;

	while (!d->err && !__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE)) {
		for (i = 0; i < NFILES && !d->err; i++) {
			snprintf(path, sizeof(path), "/twin%s/f%03d",
				 d->rounds % 2 ? "b" : "a", i);
			d->err = fs_lookup(d->fs, path, 0, &src);
			snprintf(path, sizeof(path), "/snap/f%03d", i);
			if (!d->err)
				d->err = fs_lookup(d->fs, path, 0, &dst);
			if (!d->err)
				d->err = fs_dedupe_range(d->fs, src, 0, 12288,
							 dst, 0);
			if (!d->err && i % 20 == 0)
				d->err = fs_sync(d->fs);
		}
		d->rounds++;
	}
	return NULL;
}

TEST(dedupe, beside_send_keeps_the_stream)
{
	struct sink base = { 0 }, busy = { 0 };
	struct deduper d = { 0 };
	struct fault_dev *dev;
	struct fs_info *fs;
	struct fs_ino ino;
	uint64_t restarts = 0;
	char path[64];
	pthread_t t;
	int i, ret, tries;

	CHECK_OK(open_fs(&dev, &fs));
	CHECK_OK(fs_subvol_create(fs, "/s"));
	CHECK_OK(fs_mkdir(fs, "/twina", 0755));
	CHECK_OK(fs_mkdir(fs, "/twinb", 0755));
	for (i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "/s/f%03d", i);
		CHECK_OK(put(fs, path, 100 + i, 12288, &ino));
		snprintf(path, sizeof(path), "/twina/f%03d", i);
		CHECK_OK(put(fs, path, 100 + i, 12288, &ino));
		snprintf(path, sizeof(path), "/twinb/f%03d", i);
		CHECK_OK(put(fs, path, 100 + i, 12288, &ino));
	}
	CHECK_OK(fs_subvol_snapshot(fs, "/s", "/snap", FS_SNAP_RDONLY));
	CHECK_OK(sink_send(fs, "/snap", &base, &restarts));
	d.fs = fs;
	CHECK_OK(pthread_create(&t, NULL, dedupe_loop, &d));
	/* Send until one ran while a dedupe commit landed. */
	for (tries = 0, ret = 0; tries < 20 && ret == 0; tries++) {
		ret = sink_send(fs, "/snap", &busy, &restarts);
		if (ret || sink_streams_differ(&busy, &base) || restarts)
			break;
	}
	__atomic_store_n(&d.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	if (ret == 0 && sink_streams_differ(&busy, &base))
		ret = 1;
	free(base.buf);
	free(busy.buf);
	close_fs(dev, fs);
	CHECK_EQ(ret, 0);	/* 1: the stream changed */
	CHECK_OK(d.err);
	CHECK(d.rounds > 0);
	CHECK(restarts > 0);
}
