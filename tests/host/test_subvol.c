/*
 * Subvolumes and snapshots (fs/subvol_create.c) through the public API:
 * create, snapshot (writable and read-only, of snapshots, of the top
 * level), what each tree holds afterwards when either side changes, the
 * read-only guard, and the references the four cases of copying a shared
 * block leave in the extent tree (extent_update_ref_for_cow). Each case
 * ends with `btrfs check` (btrfs-progs) on the image when it is installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "shim/fault_dev.h"
#include "test.h"

#define DEV_BYTES (256ull << 20)

struct env {
	struct fault_dev *dev;
	struct fs_info *fs;
};

static int env_open(struct env *e)
{
	struct fs_mkfs_opts o = { NULL, 0, 0 };

	e->dev = fault_dev_new(DEV_BYTES);
	if (!e->dev || fs_mkfs(fault_dev_blk(e->dev), &o))
		return -EIO;
	return fs_mount(fault_dev_blk(e->dev), 0, &e->fs);
}

static int env_remount(struct env *e)
{
	fs_umount(e->fs);
	e->fs = NULL;
	return fs_mount(fault_dev_blk(e->dev), 0, &e->fs);
}

/* Unmount, run btrfs check; 0 when clean or not installed. */
static int env_close(struct env *e)
{
	int bad = 0;

	if (e->fs)
		fs_umount(e->fs);
	if (e->dev)
		bad = fault_dev_btrfs_check(e->dev) == 1;
	fault_dev_free(e->dev);
	return bad ? -EUCLEAN : 0;
}

/* Write len bytes of byte c at off of path (made when missing). */
static int put(struct fs_info *fs, const char *path, uint64_t off, size_t len,
	       int c)
{
	static char buf[1 << 16];
	struct fs_ino ino;
	int ret = fs_lookup(fs, path, 0, &ino);

	if (ret == -ENOENT)
		ret = fs_create(fs, path, 0644, &ino);
	if (ret)
		return ret;
	memset(buf, c, len);
	return fs_write(fs, ino, off, buf, len);
}

/* Whether path holds exactly len bytes of c. */
static int holds(struct fs_info *fs, const char *path, size_t len, int c)
{
	static char buf[1 << 16];
	struct fs_ino ino;
	size_t done, i;

	if (fs_lookup(fs, path, 0, &ino) ||
	    fs_read(fs, ino, 0, buf, sizeof(buf), &done) || done != len)
		return 0;
	for (i = 0; i < len; i++)
		if (buf[i] != (char)c)
			return 0;
	return 1;
}

TEST(subvol, create_and_snapshot_keep_contents_apart)
{
	struct env e = { 0 };

	CHECK_OK(env_open(&e));
	CHECK_OK(fs_subvol_create(e.fs, "/sv"));
	CHECK_EQ(fs_subvol_create(e.fs, "/sv"), -EEXIST);
	CHECK_OK(put(e.fs, "/sv/a", 0, 5000, 'a'));
	CHECK_OK(fs_mkdir(e.fs, "/sv/d", 0755));
	CHECK_OK(put(e.fs, "/sv/d/b", 0, 100, 'b'));
	/* Not synced: the snapshot is made at the commit and has them. */
	CHECK_OK(fs_subvol_snapshot(e.fs, "/sv", "/snap", 0));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/sv", "/ro", FS_SNAP_RDONLY));
	CHECK_EQ(fs_subvol_snapshot(e.fs, "/sv/d", "/x", 0), -EINVAL);
	CHECK(holds(e.fs, "/snap/a", 5000, 'a'));
	CHECK(holds(e.fs, "/snap/d/b", 100, 'b'));
	CHECK_OK(put(e.fs, "/sv/a", 0, 5000, 'A'));
	CHECK_OK(put(e.fs, "/snap/d/b", 0, 100, 'B'));
	CHECK(holds(e.fs, "/sv/a", 5000, 'A'));
	CHECK(holds(e.fs, "/sv/d/b", 100, 'b'));
	CHECK(holds(e.fs, "/snap/a", 5000, 'a'));
	CHECK(holds(e.fs, "/snap/d/b", 100, 'B'));
	CHECK(holds(e.fs, "/ro/a", 5000, 'a'));
	CHECK_EQ(put(e.fs, "/ro/a", 0, 10, 'x'), -EROFS);
	CHECK_EQ(fs_mkdir(e.fs, "/ro/n", 0755), -EROFS);
	CHECK_EQ(fs_rename(e.fs, "/ro/a", "/ro/b"), -EROFS);
	CHECK_EQ(fs_rename(e.fs, "/sv/a", "/ro/b"), -EROFS);
	CHECK_EQ(fs_unlink(e.fs, "/ro/a"), -EROFS);
	/* A snapshot of a snapshot, and of the top level. */
	CHECK_OK(fs_subvol_snapshot(e.fs, "/snap", "/sv/snap2", 0));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/", "/top", 0));
	CHECK(holds(e.fs, "/sv/snap2/d/b", 100, 'B'));
	CHECK(holds(e.fs, "/top/snap/a", 5000, 'a') == 0);
	CHECK_OK(env_remount(&e));
	CHECK(holds(e.fs, "/sv/a", 5000, 'A'));
	CHECK(holds(e.fs, "/snap/a", 5000, 'a'));
	CHECK(holds(e.fs, "/ro/d/b", 100, 'b'));
	CHECK(holds(e.fs, "/sv/snap2/d/b", 100, 'B'));
	CHECK_EQ(put(e.fs, "/ro/a", 0, 10, 'x'), -EROFS);
	CHECK_OK(env_close(&e));
}
