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
#include <time.h>
#include <unistd.h>

#include <ghee/errno.h>

#include "../../fs/cleaner.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/subvol.h"
#include "shim/fault_dev.h"
#include "test.h"
#include "test_env.h"

#define CUTS 12		/* power cuts, spread over the workload */
#define CUT_FAILED_IMAGE "/tmp/ghee-subvol-cut-failed.img"	/* to debug */

static int env_remount(struct env *e)
{
	fs_umount(e->fs);
	e->fs = NULL;
	return fs_mount(fault_dev_blk(e->dev), 0, &e->fs);
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

	CHECK_OK(env_mkfs_mount(&e, 0));
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
	CHECK_OK(env_umount_check(&e, 0));
}

TEST(subvol, delete_refuses_what_it_must)
{
	struct env e = { 0 };
	struct fs_ino ino;
	uint64_t id;

	CHECK_OK(env_mkfs_mount(&e, 0));
	CHECK_OK(fs_subvol_create(e.fs, "/sv"));
	CHECK_OK(fs_subvol_create(e.fs, "/sv/inner"));
	CHECK_OK(fs_mkdir(e.fs, "/sv/dir", 0755));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/sv/inner", "/sv/dir/ro",
				    FS_SNAP_RDONLY));
	CHECK_EQ(fs_subvol_delete(e.fs, "/", 0), -EPERM);
	CHECK_EQ(fs_subvol_delete(e.fs, NULL, 5), -EPERM);
	CHECK_EQ(fs_subvol_delete(e.fs, "/sv", 0), -ENOTEMPTY);
	CHECK_EQ(fs_subvol_delete(e.fs, "/sv/dir", 0), -EINVAL);
	CHECK_EQ(fs_subvol_delete(e.fs, "/nothing", 0), -ENOENT);
	CHECK_OK(fs_subvol_snapshot(e.fs, "/sv", "/snap", FS_SNAP_RDONLY));
	/* A subvolume linked inside a read-only one stays. */
	CHECK_OK(fs_subvol_create(e.fs, "/rw"));
	CHECK_OK(fs_subvol_create(e.fs, "/rw/in"));
	CHECK_OK(fs_subvol_set_ro(e.fs, "/rw", 1));
	CHECK_EQ(fs_subvol_delete(e.fs, "/rw/in", 0), -EROFS);
	CHECK_OK(fs_subvol_set_ro(e.fs, "/rw", 0));
	/* The default subvolume (on disk: for the next mount) stays. */
	CHECK_OK(fs_lookup(e.fs, "/rw/in", 0, &ino));
	CHECK_OK(fs_subvol_set_default(e.fs, ino.root));
	CHECK_OK(fs_subvol_default_get(e.fs, &id));
	CHECK_EQ(id, ino.root);
	CHECK_EQ(fs_subvol_delete(e.fs, "/rw/in", 0), -EPERM);
	CHECK_OK(fs_subvol_set_default(e.fs, 5));
	CHECK_OK(fs_subvol_delete(e.fs, "/rw/in", 0));
	CHECK_OK(fs_subvol_delete(e.fs, "/sv/dir/ro", 0));
	CHECK_OK(fs_subvol_delete(e.fs, "/sv/inner", 0));
	CHECK_OK(fs_subvol_delete(e.fs, "/sv", 0));
	CHECK_EQ(fs_subvol_delete(e.fs, "/sv", 0), -ENOENT);
	CHECK_OK(fs_subvol_sync(e.fs));
	CHECK(holds(e.fs, "/snap/a", 0, 0) == 0);
	CHECK_OK(env_umount_check(&e, 0));
}

/* Bytes used by data and metadata now (after a commit). */
static uint64_t used_bytes(struct fs_info *fs)
{
	struct fs_df df;

	if (fs_sync(fs) || fs_df(fs, &df))
		return 0;
	return df.bytes_used;
}

TEST(subvol, delete_drops_trees_and_returns_space)
{
	struct env e = { 0 };
	uint64_t before, full;

	CHECK_OK(env_mkfs_mount(&e, 0));
	before = used_bytes(e.fs);
	CHECK_OK(fs_subvol_create(e.fs, "/sv"));
	CHECK_OK(make_files(e.fs, "/sv/d", 1600, 'x'));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/sv", "/snap", 0));
	CHECK_OK(put(e.fs, "/sv/d/f00010", 0, 5000, 'y'));
	CHECK_OK(put(e.fs, "/snap/d/f01500", 0, 5000, 'z'));
	full = used_bytes(e.fs);
	/* The origin first: the blocks it made and shares change to
	 * full back-references before its references go. */
	CHECK_OK(fs_subvol_delete(e.fs, "/sv", 0));
	CHECK_EQ(fs_lookup(e.fs, "/sv", 0, &(struct fs_ino){ 0, 0 }), -ENOENT);
	CHECK_OK(fs_subvol_sync(e.fs));
	CHECK(used_bytes(e.fs) < full);
	CHECK(holds(e.fs, "/snap/d/f00010", 5000, 'x'));
	CHECK(holds(e.fs, "/snap/d/f01500", 5000, 'z'));
	CHECK(holds(e.fs, "/snap/d/f01599", 5000, 'x'));
	CHECK_OK(put(e.fs, "/snap/d/f00020", 0, 5000, 'w'));
	CHECK_OK(env_remount(&e));
	CHECK(holds(e.fs, "/snap/d/f00020", 5000, 'w'));
	CHECK_OK(fs_subvol_delete(e.fs, "/snap", 0));
	CHECK_OK(fs_subvol_sync(e.fs));
	/* All back but the UUID tree's leaf, made with the first subvolume. */
	CHECK_EQ(used_bytes(e.fs), before + 16384);
	CHECK_OK(env_umount_check(&e, 0));
}

/* A drop of many steps commits every few steps, not after each (a
 * commit per step of 1,024 reference changes made dropping a snapshot of
 * 100,000 files about 100 commits, their flushes most of its time). */
TEST(subvol, drop_steps_share_commits)
{
	struct fs_commit_stats a, b;
	struct env e = { 0 };
	struct key k;
	struct fs_ino ino;
	uint64_t before;
	time_t t0;
	int gone;

	CHECK_OK(env_mkfs_mount(&e, 0));
	before = used_bytes(e.fs);
	CHECK_OK(fs_subvol_create(e.fs, "/sv"));
	/* 9,000 files: some 45,000 items in leaves, 45 steps (a leaf's
	 * items count one each) */
	CHECK_OK(make_files(e.fs, "/sv/d", 9000, 'x'));
	CHECK_OK(fs_sync(e.fs));
	fs_commit_stats(e.fs, &a, 0);
	CHECK_OK(fs_lookup(e.fs, "/sv", 0, &ino));
	CHECK_OK(fs_subvol_delete(e.fs, "/sv", 0));
	/* Unkicked (subvolume sync wakes the cleaner every 10 ms), the
	 * drop goes on from commit to commit: a cleaner that went idle for
	 * its second after each commit took 10.4 s here, against 0.35 s. */
	t0 = time(NULL);
	do {
		usleep(10000);
		down_read(&e.fs->ns_lock);
		gone = dead_progress(e.fs, ino.root, &k) == -ENOENT;
		up_read(&e.fs->ns_lock);
	} while (!gone && time(NULL) - t0 < 60);
	CHECK(time(NULL) - t0 <= 5);
	CHECK_OK(fs_subvol_sync(e.fs));
	fs_commit_stats(e.fs, &b, 0);
	/* the commit before the first step, one after every four steps
	 * and one after the last: 12, where a commit per step made 42 */
	CHECK(b.commits - a.commits <= 14);
	CHECK_EQ(used_bytes(e.fs), before + 16384);
	CHECK_OK(env_umount_check(&e, 0));
}

/* The power-cut workload: snapshot the subvolume, change it, delete the
 * snapshot and a subvolume of its own blocks (a drop of several steps),
 * and wait for the drops. */
static void cut_workload(struct fs_info *fs)
{
	/* Errors are expected once the power is cut. */
	if (fs_subvol_snapshot(fs, "/sv", "/snap", 0) == 0 &&
	    put(fs, "/sv/d/f00003", 0, 5000, 'y') == 0 &&
	    fs_subvol_delete(fs, "/big", 0) == 0 &&
	    fs_subvol_delete(fs, "/snap", 0) == 0)
		fs_subvol_sync(fs);
}

/* Check a survivor: read-only first (fsck of the image as the cut left
 * it, the subvolume's files), then read-write: the cleaner finishes the
 * drop, and the snapshot (when its commit landed) can be deleted too.
 * (fsck reads the running trees: it runs when no change is in flight.)
 * NULL or why it failed. */
static const char *cut_verify(struct fault_dev *c, int btrfs_check)
{
	struct fs_check_report rep;
	struct fs_info *fs;
	struct fs_ino ino;
	const char *why = NULL;

	if (fs_mount(fault_dev_blk(c), FS_MOUNT_RO, &fs))
		return "the image does not mount";
	if (fs_check(fs, &rep))
		why = "fsck found errors in the survivor";
	else if (!holds(fs, "/sv/d/f01000", 5000, 'x') ||
		 (!holds(fs, "/sv/d/f00003", 5000, 'x') &&
		  !holds(fs, "/sv/d/f00003", 5000, 'y')))
		why = "a synced file is wrong";
	fs_umount(fs);
	if (!why && btrfs_check &&
	    test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(c)))
		why = "btrfs check failed on the survivor";
	if (why)
		return why;
	if (fs_mount(fault_dev_blk(c), 0, &fs))
		return "the image does not mount read-write";
	if (fs_subvol_sync(fs))
		why = "the drop does not finish";
	else if ((fs_lookup(fs, "/snap", 0, &ino) == 0 &&
		  (fs_subvol_delete(fs, "/snap", 0) || fs_subvol_sync(fs))) ||
		 (fs_lookup(fs, "/big", 0, &ino) == 0 &&
		  (fs_subvol_delete(fs, "/big", 0) || fs_subvol_sync(fs))))
		why = "a subvolume cannot be deleted after the cut";
	else if (fs_check(fs, &rep))
		why = "fsck found errors after the drop";
	fs_umount(fs);
	if (!why && btrfs_check &&
	    test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(c)))
		why = "btrfs check failed after the drop";
	return why;
}

/* subvolume sync ID waits for that subvolume only; a live one is no wait. */
TEST(subvol, sync_waits_for_one_subvolume)
{
	struct env e = { 0 };
	struct fs_ino a, b;
	uint64_t full;

	CHECK_OK(env_mkfs_mount(&e, 0));
	CHECK_OK(fs_subvol_create(e.fs, "/a"));
	CHECK_OK(fs_subvol_create(e.fs, "/b"));
	CHECK_OK(make_files(e.fs, "/a/d", 800, 'x'));
	CHECK_OK(fs_lookup(e.fs, "/a", 0, &a));
	CHECK_OK(fs_lookup(e.fs, "/b", 0, &b));
	full = used_bytes(e.fs);
	CHECK_OK(fs_subvol_delete(e.fs, "/a", 0));
	CHECK_OK(fs_subvol_sync_id(e.fs, a.root));
	CHECK(used_bytes(e.fs) < full);
	CHECK_OK(fs_subvol_sync_id(e.fs, b.root));
	CHECK_OK(fs_lookup(e.fs, "/b", 0, &b));
	CHECK_OK(env_umount_check(&e, 0));
}

TEST(subvol, power_cut_during_snapshot_and_drop)
{
	struct fs_mkfs_opts o = { NULL, 4096, 0, NULL };
	struct fault_dev *tmpl = fault_dev_new(ENV_DEV_BYTES), *f, *c;
	struct fs_info *fs;
	const char *why = NULL;
	uint64_t total, cut = 0;
	int k;

	CHECK(tmpl != NULL);
	CHECK_OK(fs_mkfs(fault_dev_blk(tmpl), &o));
	CHECK_OK(fs_mount(fault_dev_blk(tmpl), 0, &fs));
	CHECK_OK(fs_subvol_create(fs, "/sv"));
	CHECK_OK(make_files(fs, "/sv/d", 1001, 'x'));
	CHECK_OK(fs_subvol_create(fs, "/big"));
	CHECK_OK(make_files(fs, "/big/d", 1300, 'b'));
	fs_umount(fs);
	f = fault_dev_clone(tmpl);
	CHECK(f != NULL);
	fault_dev_arm(f, 0, FAULT_CUT, 0);
	CHECK_OK(fs_mount(fault_dev_blk(f), 0, &fs));
	cut_workload(fs);
	fs_umount(fs);
	total = fault_dev_writes(f);
	fault_dev_free(f);
	for (k = 1; k < CUTS && !why; k++) {
		cut = total * (uint64_t)k / CUTS;
		f = fault_dev_clone(tmpl);
		fault_dev_arm(f, cut, FAULT_CUT, cut);
		if (fs_mount(fault_dev_blk(f), 0, &fs) == 0) {
			cut_workload(fs);
			fs_umount(fs);
		}
		c = fault_dev_crash_image(f);
		fault_dev_free(f);
		why = c ? cut_verify(c, k % 3 == 0) : "no memory";
		if (why && fault_dev_save(c, CUT_FAILED_IMAGE) == 0)
			printf("# the failing image is %s\n", CUT_FAILED_IMAGE);
		fault_dev_free(c);
	}
	fault_dev_free(tmpl);
	printf("# %llu writes, %d cuts\n", (unsigned long long)total, CUTS - 1);
	if (why)
		test_fail(__FILE__, __LINE__, "cut at write %llu of %llu: %s",
			  (unsigned long long)cut, (unsigned long long)total,
			  why);
}

TEST(subvol, drop_resumes_after_unmount)
{
	struct env e = { 0 };
	struct key k = { 0, 0, 0 };
	struct fs_ino ino;
	u64 last = 0;

	CHECK_OK(env_mkfs_mount(&e, 0));
	CHECK_OK(fs_subvol_create(e.fs, "/big"));
	CHECK_OK(fs_lookup(e.fs, "/big", 0, &ino));
	CHECK_OK(make_files(e.fs, "/big/d", 1500, 'b'));
	/* One step of the drop, committed, then unmount: by hand, as the
	 * cleaner task could drop it all before a poll saw the first step
	 * on a loaded machine. */
	cleaner_stop(e.fs);
	CHECK_OK(fs_subvol_delete(e.fs, "/big", 0));
	CHECK_OK(fs_sync(e.fs));
	CHECK_EQ(cleaner_step(e.fs, &last), 1);
	fs_umount(e.fs);
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), FS_MOUNT_RO, &e.fs));
	CHECK_OK(dead_progress(e.fs, ino.root, &k));	/* half dropped */
	CHECK(k.objectid != 0);
	fs_umount(e.fs);
	e.fs = NULL;
	if (test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(e.dev)))
		return;
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), 0, &e.fs));
	CHECK_OK(fs_subvol_sync(e.fs));
	CHECK_EQ(dead_progress(e.fs, ino.root, &k), -ENOENT);
	CHECK_OK(env_umount_check(&e, 0));
}
