/*
 * Reflink rules (fs/reflink.c), each outcome as Linux's FICLONERANGE gave
 * it on a loop mount of the same files (a: 10000 bytes, b: 20000, c
 * empty, 4 KiB sectors): unaligned offsets or lengths, ranges past the
 * source's end, the unaligned end-of-file sector into the middle of the
 * destination, overlap within one file, NODATASUM on one side only,
 * directories, a read-only mount; and the sizes and bytes that the
 * accepted clones leave. The image is judged by ghee's fsck and, when
 * installed, `btrfs check`.
 */
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/write_common.h"
#include "shim/fault_dev.h"
#include "test.h"

/* Make path with n bytes of byte value v; *ino names it. */
static int make(struct fs_info *fs, const char *path, int v, size_t n,
		struct fs_ino *ino)
{
	static char buf[20000];
	int ret = fs_create(fs, path, 0644, ino);

	memset(buf, v, n);
	return ret ? ret : fs_write(fs, *ino, 0, buf, n);
}

static uint64_t size_of(struct fs_info *fs, struct fs_ino ino)
{
	struct fs_stat st;

	return fs_stat(fs, ino, &st) ? (uint64_t)-1 : st.size;
}

/* Bytes [off, off + n) of ino must all be v. */
static int bytes_are(struct fs_info *fs, struct fs_ino ino, uint64_t off,
		     size_t n, int v)
{
	static char buf[65536];
	size_t done, i;
	int ret = fs_read(fs, ino, off, buf, n, &done);

	if (ret || done != n)
		return ret ? ret : -EIO;
	for (i = 0; i < n; i++)
		if (buf[i] != (char)v)
			return 1;
	return 0;
}

/* Set BTRFS_INODE_NODATASUM on ino, as chattr +C does. */
static int set_nodatasum(struct fs_info *fs, struct fs_ino ino)
{
	u8 ii[sizeof(struct d_inode_item)];
	struct ctree_root *root;
	struct wctx w;
	int ret = wctx_begin(fs, &w, 0);

	if (ret)
		return ret;
	ret = wctx_root(&w, ino.root, &root);
	if (ret == 0)
		ret = inode_item_get(root, ino.ino, ii);
	if (ret == 0) {
		D_SET64(struct d_inode_item, ii, flags,
			BTRFS_INODE_NODATASUM);
		ret = inode_item_put(&w, root, ino.ino, ii);
	}
	wctx_end(&w);
	return ret;
}

static void rules(struct fs_info *fs)
{
	struct fs_ino a, b, c, d, n;

	CHECK_OK(make(fs, "/a", 'a', 10000, &a));
	CHECK_OK(make(fs, "/b", 'b', 20000, &b));
	CHECK_OK(make(fs, "/c", 0, 0, &c));
	CHECK_OK(fs_mkdir(fs, "/d", 0755));
	CHECK_OK(fs_lookup(fs, "/d", 0, &d));
	CHECK_EQ(fs_clone_range(fs, a, 1, 4096, b, 0), -EINVAL);
	CHECK_EQ(fs_clone_range(fs, a, 0, 4096, b, 1), -EINVAL);
	CHECK_EQ(fs_clone_range(fs, a, 0, 5000, b, 0), -EINVAL);
	CHECK_EQ(fs_clone_range(fs, a, 8192, 1808, b, 4096), -EINVAL);
	CHECK_EQ(fs_clone_range(fs, a, 8192, 4096, b, 0), -EINVAL);
	CHECK_EQ(fs_clone_range(fs, a, 0, 20000, c, 0), -EINVAL);
	CHECK_EQ(fs_clone_range(fs, b, 0, 8192, b, 4096), -EINVAL);
	CHECK_EQ(fs_clone_range(fs, a, 0, 4096, d, 0), -EISDIR);
	CHECK_EQ(fs_clone_range(fs, d, 0, 4096, a, 0), -EISDIR);
	CHECK_OK(make(fs, "/n", 0, 0, &n));
	CHECK_OK(set_nodatasum(fs, n));
	CHECK_EQ(fs_clone_range(fs, a, 0, 4096, n, 0), -EINVAL);
	CHECK_EQ(size_of(fs, b), 20000);	/* nothing changed so far */
	CHECK_OK(bytes_are(fs, b, 0, 20000, 'b'));
	CHECK_OK(fs_clone_range(fs, a, 8192, 1808, c, 0));
	CHECK_EQ(size_of(fs, c), 1808);
	CHECK_OK(fs_clone_range(fs, a, 4096, 0, c, 8192));
	CHECK_EQ(size_of(fs, c), 14096);
	CHECK_OK(fs_clone_range(fs, b, 0, 4096, b, 8192));
	CHECK_OK(fs_clone_range(fs, a, 0, 4096, c, 65536));
	CHECK_EQ(size_of(fs, c), 69632);
	CHECK_OK(fs_clone_range(fs, a, 8192, 0, b, 20480));
	CHECK_EQ(size_of(fs, b), 20480 + 1808);
	CHECK_OK(bytes_are(fs, c, 0, 1808, 'a'));
	CHECK_OK(bytes_are(fs, c, 1808, 8192 - 1808, 0));
	CHECK_OK(bytes_are(fs, c, 8192, 5904, 'a'));
	CHECK_OK(bytes_are(fs, c, 14096, 65536 - 14096, 0));
	CHECK_OK(bytes_are(fs, c, 65536, 4096, 'a'));
	CHECK_OK(bytes_are(fs, b, 0, 20000, 'b'));
	CHECK_OK(bytes_are(fs, b, 20000, 480, 0));
	CHECK_OK(bytes_are(fs, b, 20480, 1808, 'a'));
}

/* A clone into a read-only snapshot fails with EROFS before anything
 * changes: the filesystem stays writable and the snapshot unchanged. */
TEST(reflink, into_read_only_snapshot_refused)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	struct fault_dev *dev = fault_dev_new(128ull << 20);
	struct fs_info *fs;
	struct fs_ino a, s;

	CHECK(dev != NULL);
	CHECK_OK(fs_mkfs(fault_dev_blk(dev), &o));
	CHECK_OK(fs_mount(fault_dev_blk(dev), 0, &fs));
	CHECK_OK(fs_subvol_create(fs, "/sv"));
	CHECK_OK(make(fs, "/sv/a", 'a', 8192, &a));
	CHECK_OK(fs_subvol_snapshot(fs, "/sv", "/ro", FS_SNAP_RDONLY));
	CHECK_OK(fs_lookup(fs, "/ro/a", 0, &s));
	CHECK_EQ(fs_clone_range(fs, a, 0, 0, s, 0), -EROFS);
	CHECK_EQ(fs_is_read_only(fs), 0);
	CHECK_OK(fs_clone_range(fs, a, 0, 0, a, 8192));
	CHECK_OK(fs_sync(fs));
	CHECK_OK(bytes_are(fs, s, 0, 8192, 'a'));
	CHECK_EQ(size_of(fs, s), 8192);
	fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}

TEST(reflink, linux_rules_and_results)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	struct fault_dev *dev = fault_dev_new(128ull << 20);
	struct fs_check_report rep;
	struct fs_info *fs;
	struct fs_ino a;

	CHECK(dev != NULL);
	CHECK_OK(fs_mkfs(fault_dev_blk(dev), &o));
	CHECK_OK(fs_mount(fault_dev_blk(dev), 0, &fs));
	rules(fs);
	fs_umount(fs);
	CHECK_OK(fs_mount(fault_dev_blk(dev), FS_MOUNT_RO, &fs));
	CHECK_OK(fs_check(fs, &rep));
	CHECK_OK(fs_lookup(fs, "/a", 0, &a));
	CHECK_EQ(fs_clone_range(fs, a, 0, 4096, a, 8192), -EROFS);
	fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}

/* A source of more items than one step takes (CLONE_BATCH, 512): 1100
 * 4 KiB extents with holes between; the clone has every byte and the
 * same nbytes. */
TEST(reflink, many_extents_in_steps)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	struct fault_dev *dev = fault_dev_new(128ull << 20);
	struct fs_check_report rep;
	struct fs_stat sst, dst;
	struct fs_info *fs;
	struct fs_ino s, t;
	char block[4096];
	int i;

	CHECK(dev != NULL);
	CHECK_OK(fs_mkfs(fault_dev_blk(dev), &o));
	CHECK_OK(fs_mount(fault_dev_blk(dev), 0, &fs));
	CHECK_OK(fs_create(fs, "/s", 0644, &s));
	for (i = 0; i < 1100; i++) {
		memset(block, 1 + i % 250, sizeof(block));
		CHECK_OK(fs_write(fs, s, (uint64_t)i * 8192, block, 4096));
	}
	CHECK_OK(fs_create(fs, "/t", 0644, &t));
	CHECK_OK(fs_clone_range(fs, s, 0, 0, t, 0));
	CHECK_OK(fs_stat(fs, s, &sst));
	CHECK_OK(fs_stat(fs, t, &dst));
	CHECK_EQ(dst.size, sst.size);
	CHECK_EQ(dst.nbytes, sst.nbytes);
	for (i = 0; i < 1100; i += 7) {
		CHECK_OK(bytes_are(fs, t, (uint64_t)i * 8192, 4096,
				   1 + i % 250));
		CHECK_OK(bytes_are(fs, t, (uint64_t)i * 8192 + 4096,
				   i < 1099 ? 4096 : 0, 0));
	}
	fs_umount(fs);
	CHECK_OK(fs_mount(fault_dev_blk(dev), FS_MOUNT_RO, &fs));
	CHECK_OK(fs_check(fs, &rep));
	fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}
