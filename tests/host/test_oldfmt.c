/*
 * Writing on the formats mkfs.btrfs made by default before btrfs-progs
 * 5.15 (fs/file_holes.c, the non-skinny extent items of extent_tree.c):
 * without no-holes, without skinny metadata, and without both. Each case
 * makes the image with ghee's mkfs -O, mounts it read-write (refused
 * before these formats were written), and runs one workload: sparse
 * writes past the end, truncates up and down, punched holes, a clone of a
 * sparse file past the destination's end, enough files for multi-level
 * trees, a snapshot written on both sides (shared blocks, full backrefs),
 * an unlink, then a full balance, or (another case) quota accounting.
 * Every byte is read back and the image is judged by ghee's fsck (which
 * refuses a METADATA_ITEM without skinny metadata, as Linux does) and
 * `btrfs check --qgroup-report` (which finds a missing hole item: "file
 * extent discount").
 */
#include <stdio.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/format.h"
#include "../../fs/fs.h"
#include "shim/fault_dev.h"
#include "test.h"

#define KIB 1024ull

/* The bytes [off, off + n) of path must be v (0: a hole). */
static int bytes_are(struct fs_info *fs, const char *path, uint64_t off,
		     size_t n, int v)
{
	static char buf[64 * 1024];
	struct fs_ino ino;
	size_t done, i, want;
	int ret = fs_lookup(fs, path, 0, &ino);

	for (; ret == 0 && n; n -= want, off += want) {
		want = n < sizeof(buf) ? n : sizeof(buf);
		ret = fs_read(fs, ino, off, buf, want, &done);
		if (ret == 0 && done != want)
			ret = -EIO;
		for (i = 0; ret == 0 && i < want; i++)
			if (buf[i] != (char)v)
				ret = 1;
	}
	return ret;
}

/* Write n bytes of value v at off of ino. */
static int fill(struct fs_info *fs, struct fs_ino ino, uint64_t off,
		size_t n, int v)
{
	static char buf[256 * 1024];

	memset(buf, v, n);
	return fs_write(fs, ino, off, buf, n);
}

/* The files of the workload and what each must read. */
static void files(struct fs_info *fs)
{
	struct fs_ino a, b, c;

	CHECK_OK(fs_create(fs, "/a", 0644, &a));
	CHECK_OK(fill(fs, a, 0, 5000, 1));		/* unaligned end */
	CHECK_OK(fill(fs, a, 100 * KIB + 7, 3000, 2));	/* past the end */
	CHECK_OK(fill(fs, a, 400 * KIB, 8192, 3));
	CHECK_OK(fs_truncate(fs, a, 600 * KIB + 5));	/* up */
	CHECK_OK(fs_punch_hole(fs, a, 400 * KIB, 4096));
	CHECK_OK(fs_punch_hole(fs, a, 200 * KIB, 8192));	/* in a hole */
	CHECK_OK(fs_create(fs, "/b", 0644, &b));
	CHECK_OK(fill(fs, b, 0, 4096, 4));
	CHECK_OK(fs_truncate(fs, b, 1 << 20));
	CHECK_OK(fs_truncate(fs, b, 300 * KIB + 1));	/* down, in a hole */
	CHECK_OK(fs_create(fs, "/c", 0644, &c));
	CHECK_OK(fill(fs, c, 0, 4096, 5));
	CHECK_OK(fs_clone_range(fs, a, 0, 0, c, 64 * KIB));
	CHECK_OK(fs_clone_range(fs, a, 0, 8 * KIB, c, 4 * KIB));
}

static void files_read(struct fs_info *fs, const char *dir)
{
	char p[64];

	snprintf(p, sizeof(p), "%s/a", dir);
	CHECK_OK(bytes_are(fs, p, 0, 5000, 1));
	CHECK_OK(bytes_are(fs, p, 5000, 100 * KIB + 7 - 5000, 0));
	CHECK_OK(bytes_are(fs, p, 100 * KIB + 7, 3000, 2));
	CHECK_OK(bytes_are(fs, p, 400 * KIB, 4096, 0));
	CHECK_OK(bytes_are(fs, p, 404 * KIB, 4096, 3));
	CHECK_OK(bytes_are(fs, p, 408 * KIB, 192 * KIB + 5, 0));
	snprintf(p, sizeof(p), "%s/b", dir);
	CHECK_OK(bytes_are(fs, p, 0, 4096, 4));
	CHECK_OK(bytes_are(fs, p, 4096, 296 * KIB + 1, 0));
	snprintf(p, sizeof(p), "%s/c", dir);
	CHECK_OK(bytes_are(fs, p, 0, 4096, 5));
	CHECK_OK(bytes_are(fs, p, 4096, 5000, 1));	/* the 8 KiB clone */
	CHECK_OK(bytes_are(fs, p, 4096 + 5000, 3192, 0));
	CHECK_OK(bytes_are(fs, p, 12 * KIB, 52 * KIB, 0));
	CHECK_OK(bytes_are(fs, p, 64 * KIB, 5000, 1));
	CHECK_OK(bytes_are(fs, p, 164 * KIB + 7, 3000, 2));
	CHECK_OK(bytes_are(fs, p, 468 * KIB, 4096, 3));
}

/* Enough small files for trees of more than one level. */
static void many(struct fs_info *fs, const char *dir, int n)
{
	char p[64];
	struct fs_ino ino;
	int i;

	CHECK_OK(fs_mkdir(fs, dir, 0755));
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/f%d", dir, i);
		CHECK_OK(fs_create(fs, p, 0644, &ino));
		CHECK_OK(fill(fs, ino, (uint64_t)(i % 3) * 8192, 6000, i));
	}
}

static void balance_all(struct fs_info *fs)
{
	struct fs_balance b;

	memset(&b, 0, sizeof(b));
	b.types = (1u << FS_BAL_DATA) | (1u << FS_BAL_META) |
		  (1u << FS_BAL_SYS);
	b.force = 1;
	CHECK_OK(fs_balance_start(fs, &b, 0));
	CHECK(b.relocated > 0);
}

/*
 * The workload on an image made with the features off (incompat bits):
 * with quota accounting (quota), or else a full balance at the end (on
 * main a full balance with quotas on aborts with "no extent item" on
 * every format, the default one too: a bug of its own, left to the
 * relocation and qgroup work).
 */
static void workload(uint64_t off, uint32_t nodesize, int quota)
{
	struct fs_mkfs_opts o = { NULL, nodesize, 0, NULL };
	struct fault_dev *dev = fault_dev_new(256ull << 20);
	struct fs_check_report rep;
	struct fs_info *fs;
	struct fs_stat st;
	struct fs_ino ino;

	CHECK(dev != NULL);
	CHECK_OK(fs_mkfs_features(fault_dev_blk(dev), &o, off));
	CHECK_OK(fs_mount(fault_dev_blk(dev), 0, &fs));
	CHECK(!fs_is_read_only(fs));
	if (quota)
		CHECK_OK(fs_quota_enable(fs));
	files(fs);
	many(fs, "/many", 400);
	CHECK_OK(fs_sync(fs));
	CHECK_OK(fs_subvol_snapshot(fs, "/", "/snap", 0));
	CHECK_OK(fs_lookup(fs, "/many/f7", 0, &ino));
	CHECK_OK(fill(fs, ino, 300 * KIB, 4096, 9));	/* past the end */
	CHECK_OK(fs_lookup(fs, "/snap/a", 0, &ino));
	CHECK_OK(fs_truncate(fs, ino, 2 << 20));
	CHECK_OK(fs_unlink(fs, "/many/f8"));
	if (!quota)
		balance_all(fs);
	files_read(fs, "");
	CHECK_OK(bytes_are(fs, "/snap/a", 600 * KIB + 5,
			   (2 << 20) - 600 * KIB - 5, 0));
	CHECK_OK(bytes_are(fs, "/many/f7", 300 * KIB, 4096, 9));
	CHECK_OK(fs_lookup(fs, "/snap/many/f7", 0, &ino));
	CHECK_OK(fs_stat(fs, ino, &st));
	CHECK(st.size < 300 * KIB);	/* the snapshot's f7 stayed short */
	fs_umount(fs);
	CHECK_OK(fs_mount(fault_dev_blk(dev), FS_MOUNT_RO, &fs));
	files_read(fs, "/snap");
	CHECK_OK(fs_check(fs, &rep));
	fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__,
			 fault_dev_btrfs_check_qgroups(dev));
	fault_dev_free(dev);
}

TEST(oldfmt, no_holes_off)
{
	workload(BTRFS_FEATURE_INCOMPAT_NO_HOLES, 4096, 0);
}

TEST(oldfmt, skinny_metadata_off)
{
	workload(BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA, 4096, 0);
}

TEST(oldfmt, both_off)
{
	workload(BTRFS_FEATURE_INCOMPAT_NO_HOLES |
		 BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA, 16384, 0);
}

TEST(oldfmt, both_off_quotas)
{
	workload(BTRFS_FEATURE_INCOMPAT_NO_HOLES |
		 BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA, 4096, 1);
}
