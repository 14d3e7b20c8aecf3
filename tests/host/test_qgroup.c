/*
 * Quota groups (fs/qgroup*.c) against a brute force: after each commit,
 * every subvolume tree is walked from its root (every tree block, every
 * file extent item's disk extent), each extent's set of reaching
 * subvolumes is built from those walks alone, and from it each qgroup's
 * referenced and exclusive bytes (through the memberships, at every
 * level); ghee's counts must be exactly those. The brute force is
 * test-only code and shares nothing with the accounting (which resolves
 * changed extents upward with the back-reference walker). Images end
 * with `btrfs check --qgroup-report`, which must find no difference.
 *
 * Workloads: writes, overwrites that split extents, reflinks within and
 * across subvolumes, snapshots (writable, read-only, nested, of
 * snapshots), deletion of snapshots dropped by the cleaner from trees
 * three levels tall, higher-level groups with assign and remove, and a
 * random mix of all of them with a seed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>
#include <ghee/task.h>

#include "../../fs/cleaner.h"
#include "../../fs/ctree.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/qgroup.h"
#include "../../fs/subvol.h"
#include "../../fs/tree_check.h"
#include "qgroup_env.h"
#include "shim/fault_dev.h"
#include "test.h"

TEST(qgroup, enable_counts_what_is_there)
{
	struct env e = { 0 };
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };

	e.dev = fault_dev_new(DEV_BYTES);
	CHECK(e.dev && fs_mkfs(fault_dev_blk(e.dev), &o) == 0);
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), 0, &e.fs));
	CHECK_OK(fs_subvol_create(e.fs, "/a"));
	CHECK_OK(put(e.fs, "/a/f", 0, 100000, 1));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/a", "/s", 0));
	CHECK_OK(fs_quota_enable(e.fs));
	CHECK_OK(fs_quota_rescan_wait(e.fs));
	CHECK(e.fs->qgroups && e.fs->qgroups->n == 3);
	CHECK(qgroup_find(e.fs->qgroups, 257)->rfer > 100000);
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

TEST(qgroup, writes_overwrites_reflinks)
{
	struct env e = { 0 };

	CHECK_OK(env_open(&e, 0));
	CHECK_OK(fs_subvol_create(e.fs, "/a"));
	CHECK_OK(fs_subvol_create(e.fs, "/b"));
	CHECK_OK(put(e.fs, "/a/f", 0, 200000, 1));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(put(e.fs, "/a/f", 40960, 8192, 2));	/* splits it */
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(reflink(e.fs, "/a/f", "/a/g", 65536, 0));
	CHECK_OK(reflink(e.fs, "/a/f", "/b/h", 0, 4096));
	CHECK_OK(sync_compare(e.fs));
	CHECK(qgroup_find(e.fs->qgroups, 256)->excl <
	      qgroup_find(e.fs->qgroups, 256)->rfer);
	CHECK_OK(fs_unlink(e.fs, "/a/f"));
	CHECK_OK(fs_unlink(e.fs, "/a/g"));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

TEST(qgroup, snapshots_nested_and_read_only)
{
	struct env e = { 0 };

	CHECK_OK(env_open(&e, 4096));
	CHECK_OK(many_files(e.fs, "/d", 300, 1));
	CHECK_OK(fs_subvol_create(e.fs, "/v"));
	CHECK_OK(many_files(e.fs, "/v/d", 200, 2));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/", "/s1", 0));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/v", "/s1/v2", FS_SNAP_RDONLY));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(put(e.fs, "/d/f00007", 0, 9000, 3));
	CHECK_OK(put(e.fs, "/s1/d/f00100", 100, 3000, 4));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/s1", "/s2", 0));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(put(e.fs, "/s2/d/f00200", 0, 12000, 5));
	CHECK_OK(put(e.fs, "/v/d/f00001", 0, 12000, 6));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

TEST(qgroup, cleaner_drops_tall_snapshots)
{
	struct env e = { 0 };

	CHECK_OK(env_open(&e, 4096));
	CHECK_OK(fs_subvol_create(e.fs, "/v"));
	CHECK_OK(many_files(e.fs, "/v/d", 1500, 1));
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/v", "/s1", 0));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/v", "/s2", 0));
	CHECK_OK(put(e.fs, "/s1/d/f00010", 0, 7000, 2));
	CHECK_OK(put(e.fs, "/v/d/f01010", 0, 7000, 3));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(fs_subvol_delete(e.fs, "/s2", 0));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(fs_subvol_delete(e.fs, "/v", 0));
	CHECK_OK(sync_compare(e.fs));
	/* s1 (257) alone now: everything it reaches is its own; the
	 * deleted ones' qgroups stay, empty (Linux 6.1 keeps them). */
	CHECK_EQ(qgroup_find(e.fs->qgroups, 257)->excl,
		 qgroup_find(e.fs->qgroups, 257)->rfer);
	CHECK_EQ(qgroup_find(e.fs->qgroups, 256)->rfer, 0);
	CHECK_EQ(qgroup_find(e.fs->qgroups, 258)->rfer, 0);
	CHECK_OK(env_close(&e));
}

TEST(qgroup, higher_level_groups)
{
	struct env e = { 0 };
	const u64 g1 = 1ULL << 48 | 1, g2 = 2ULL << 48 | 1;

	CHECK_OK(env_open(&e, 0));
	CHECK_OK(fs_subvol_create(e.fs, "/a"));
	CHECK_OK(fs_subvol_create(e.fs, "/b"));
	CHECK_OK(put(e.fs, "/a/f", 0, 100000, 1));
	CHECK_OK(reflink(e.fs, "/a/f", "/b/g", 0, 0));
	CHECK_OK(put(e.fs, "/b/h", 0, 50000, 2));
	CHECK_OK(fs_qgroup_create(e.fs, g1));
	CHECK_OK(fs_qgroup_create(e.fs, g2));
	CHECK_EQ(fs_qgroup_create(e.fs, g1), -EEXIST);
	CHECK_OK(fs_qgroup_relation(e.fs, 256, g1, 1));
	CHECK_OK(fs_qgroup_relation(e.fs, g1, g2, 1));
	CHECK_EQ(fs_qgroup_relation(e.fs, g2, g1, 1), -EINVAL);
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(fs_qgroup_relation(e.fs, 257, g1, 1));
	CHECK_OK(sync_compare(e.fs));
	/* a and b together hold the shared extent exclusively. */
	CHECK_EQ(qgroup_find(e.fs->qgroups, g1)->excl,
		 qgroup_find(e.fs->qgroups, g1)->rfer);
	CHECK_OK(put(e.fs, "/a/f", 0, 4096, 3));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/a", "/s", 0));
	CHECK_OK(sync_compare(e.fs));
	CHECK_EQ(fs_qgroup_destroy(e.fs, g1), -EBUSY);
	CHECK_OK(fs_qgroup_relation(e.fs, 256, g1, 0));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(fs_qgroup_limit(e.fs, g2, BTRFS_QGROUP_LIMIT_MAX_RFER,
				 1 << 20));
	CHECK_OK(env_close(&e));
}

TEST(qgroup, inherit_on_create_and_snapshot)
{
	struct fs_qgroup_inherit qi = { 1, { 1ULL << 48 | 7 } };
	struct fs_qgroup_inherit zero = { 1, { 256 } };
	struct env e = { 0 };
	struct fs_ino ino;

	CHECK_OK(env_open(&e, 4096));
	CHECK_EQ(fs_subvol_create_inherit(e.fs, "/a", &qi), -ENOENT);
	CHECK_EQ(fs_lookup(e.fs, "/a", 0, &ino), -ENOENT);
	CHECK_OK(fs_qgroup_create(e.fs, qi.ids[0]));
	CHECK_OK(fs_subvol_create_inherit(e.fs, "/a", &qi));
	CHECK_EQ(fs_subvol_create_inherit(e.fs, "/b", &zero), -EINVAL);
	CHECK_OK(many_files(e.fs, "/a/d", 300, 1));
	CHECK_OK(sync_compare(e.fs));
	CHECK_EQ(qgroup_find(e.fs->qgroups, qi.ids[0])->rfer,
		 qgroup_find(e.fs->qgroups, 256)->rfer);
	/* The snapshot joins the group: all it shares with a is the
	 * group's own; only the root blocks are each one's. */
	CHECK_OK(fs_subvol_snapshot_inherit(e.fs, "/a", "/s", 0, &qi));
	CHECK_OK(sync_compare(e.fs));
	CHECK_EQ(qgroup_find(e.fs->qgroups, 257)->excl, 4096);
	CHECK_EQ(qgroup_find(e.fs->qgroups, qi.ids[0])->excl,
		 qgroup_find(e.fs->qgroups, qi.ids[0])->rfer);
	CHECK_OK(fs_subvol_snapshot_inherit(e.fs, "/s", "/t", FS_SNAP_RDONLY,
					    NULL));
	CHECK_OK(put(e.fs, "/s/d/f00003", 0, 20000, 9));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

/* A snapshot's counts follow from its source's: its commit resolves the
 * children of its root block, not the source's tree; the counts stay
 * exact, also when the snapshot's entry goes into its source, when it
 * joins its source's groups, and when it joins others (walked). */
TEST(qgroup, snapshot_costs_its_root_not_a_walk)
{
	const u64 g = 1ULL << 48 | 1, h = 1ULL << 48 | 2;
	struct fs_qgroup_inherit qg = { 1, { g } }, qh = { 1, { h } };
	struct env e = { 0 };

	CHECK_OK(env_open(&e, 4096));
	CHECK_OK(fs_subvol_create(e.fs, "/v"));
	CHECK_OK(many_files(e.fs, "/v/d", 1500, 1));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/v", "/s", 0));
	CHECK(e.fs->qgroups->resolved < 200);
	CHECK_OK(compare_counts(e.fs));
	CHECK_OK(put(e.fs, "/v/d/f00007", 0, 9000, 2));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/v", "/v/in", FS_SNAP_RDONLY));
	CHECK(e.fs->qgroups->resolved < 200);
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(fs_qgroup_create(e.fs, g));
	CHECK_OK(fs_qgroup_create(e.fs, h));
	CHECK_OK(fs_qgroup_relation(e.fs, 256, g, 1));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(fs_subvol_snapshot_inherit(e.fs, "/v", "/t", 0, &qg));
	CHECK(e.fs->qgroups->resolved < 200);
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(fs_subvol_snapshot_inherit(e.fs, "/v", "/u", 0, &qh));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(put(e.fs, "/t/d/f00100", 0, 9000, 3));
	CHECK_OK(fs_subvol_delete(e.fs, "/s", 0));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

/* Dropping a snapshot that shares its tree with its source: the drop
 * takes the snapshot's reference off each shared block, and every
 * extent below no longer has the snapshot in its set. Those only one
 * leaf reaches are counted with their leaf, without a walk: the extents
 * walked follow the blocks and the extents whose own references changed
 * (here about 200 blocks, one overwritten file and a reflinked one), not
 * the 1,000 data extents the snapshot shared. Exact at every commit. */
TEST(qgroup, drop_of_a_shared_tree_walks_blocks_not_extents)
{
	struct env e = { 0 };
	u64 last = 0, walked = 0;
	int steps = 0, ret;

	CHECK_OK(env_open(&e, 4096));
	CHECK_OK(fs_subvol_create(e.fs, "/v"));
	CHECK_OK(many_files(e.fs, "/v/d", 1500, 1));	/* 1,000 extents */
	CHECK_OK(fs_subvol_snapshot(e.fs, "/v", "/s", FS_SNAP_RDONLY));
	CHECK_OK(put(e.fs, "/v/d/f00007", 0, 9000, 2));
	CHECK_OK(reflink(e.fs, "/v/d/f00100", "/v/r", 0, 0));	/* 2 refs */
	CHECK_OK(sync_compare(e.fs));
	cleaner_stop(e.fs);	/* the test drops, one commit at a time */
	CHECK_OK(fs_subvol_delete(e.fs, "/s", 0));
	CHECK_OK(fs_sync(e.fs));
	while ((ret = cleaner_step(e.fs, &last)) == 1) {
		walked += e.fs->qgroups->resolved;
		steps++;
		CHECK_OK(compare_counts(e.fs));
	}
	CHECK_OK(ret);
	printf("# the drop took %d commits and walked %llu extents\n", steps,
	       (unsigned long long)walked);
	CHECK(steps >= 1);
	CHECK(walked < 400);
	CHECK_EQ(qgroup_find(e.fs->qgroups, 257)->rfer, 0);
	CHECK_EQ(qgroup_find(e.fs->qgroups, 256)->excl,
		 qgroup_find(e.fs->qgroups, 256)->rfer);
	CHECK_OK(env_close(&e));
}

/* A subvolume and its snapshot dropped while another subvolume's data
 * extents sit between theirs in the extent tree's leaves (files written
 * to /a and /b in turn), some shared with /b (reflinks: the extent
 * stays) and one referenced by 40 files (keyed refs): each commit of
 * the drop passes fsck (extent items, back-references, free space
 * tree) and has exact counts, and /b keeps every extent it shares. */
TEST(qgroup, drop_between_another_subvolumes_extents_stays_exact)
{
	struct fs_check_report rep;
	struct env e = { 0 };
	struct fs_ino ino;
	char a[64], b[64], buf[4096];
	size_t done;
	u64 last = 0;
	int i, steps = 0, ret;

	CHECK_OK(env_open(&e, 4096));
	CHECK_OK(fs_subvol_create(e.fs, "/a"));
	CHECK_OK(fs_subvol_create(e.fs, "/b"));
	for (i = 0; i < 600; i++) {
		snprintf(a, sizeof(a), "/a/f%04d", i);
		snprintf(b, sizeof(b), "/b/f%04d", i);
		CHECK_OK(put(e.fs, a, 0, 4096, 1 + i % 7));
		CHECK_OK(put(e.fs, b, 0, 4096, 2 + i % 5));
		if (i % 10 == 0) {
			snprintf(b, sizeof(b), "/b/r%04d", i);
			CHECK_OK(reflink(e.fs, a, b, 4096, 0));
		}
		if (i % 15 == 0)
			CHECK_OK(fs_sync(e.fs));
	}
	for (i = 0; i < 40; i++) {
		snprintf(a, sizeof(a), "/a/k%04d", i);
		CHECK_OK(reflink(e.fs, "/a/f0001", a, 4096, 0));
	}
	CHECK_OK(fs_subvol_snapshot(e.fs, "/a", "/s", FS_SNAP_RDONLY));
	for (i = 0; i < 600; i += 20) {	/* the snapshot keeps old leaves */
		snprintf(a, sizeof(a), "/a/f%04d", i);
		CHECK_OK(put(e.fs, a, 0, 4096, 9));
	}
	CHECK_OK(sync_compare(e.fs));
	cleaner_stop(e.fs);	/* the test drops, one commit at a time */
	CHECK_OK(fs_subvol_delete(e.fs, "/s", 0));
	CHECK_OK(fs_subvol_delete(e.fs, "/a", 0));
	CHECK_OK(fs_sync(e.fs));
	while ((ret = cleaner_step(e.fs, &last)) == 1) {
		steps++;
		CHECK_OK(compare_counts(e.fs));
		CHECK_OK(fs_check(e.fs, &rep));
	}
	CHECK_OK(ret);
	CHECK(steps >= 2);
	for (i = 0; i < 600; i += 10) {	/* /a's data, as /b shares it */
		snprintf(b, sizeof(b), "/b/r%04d", i);
		CHECK_OK(fs_lookup(e.fs, b, 0, &ino));
		CHECK_OK(fs_read(e.fs, ino, 0, buf, sizeof(buf), &done));
		CHECK_EQ(done, 4096);
		CHECK_EQ(buf[4095], 1 + i % 7);
	}
	CHECK_OK(env_close(&e));
}

/* Drop every snapshot left, one commit at a time, comparing the counts
 * with the brute force at each commit. */
static int drop_compare(struct env *e)
{
	u64 last = 0;
	int ret;

	while ((ret = cleaner_step(e->fs, &last)) == 1) {
		ret = compare_counts(e->fs);
		if (ret)
			return ret;
	}
	return ret;
}

/* Snapshots of one tree dropped one after another: the leaves a drop
 * found holding only single-reference extents are remembered for the
 * next drops (qgroup_account.c, queue_children), and must be forgotten
 * when one of their extents gains a reference (a reflink, a leaf copied
 * by a write) and when they go (overwritten, then the snapshot holding
 * them dropped). Exact at every commit. */
TEST(qgroup, drops_one_after_another_stay_exact)
{
	struct env e = { 0 };

	CHECK_OK(env_open(&e, 4096));
	CHECK_OK(fs_subvol_create(e.fs, "/v"));
	CHECK_OK(many_files(e.fs, "/v/d", 900, 1));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/v", "/s1", FS_SNAP_RDONLY));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/v", "/s2", FS_SNAP_RDONLY));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/v", "/s3", 0));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/v", "/s4", FS_SNAP_RDONLY));
	CHECK_OK(sync_compare(e.fs));
	cleaner_stop(e.fs);	/* the test drops, one commit at a time */
	CHECK_OK(fs_subvol_delete(e.fs, "/s1", 0));
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(drop_compare(&e));
	/* an extent of a remembered leaf gains a reference */
	CHECK_OK(reflink(e.fs, "/v/d/f00301", "/v/r", 0, 0));
	CHECK_OK(fs_subvol_delete(e.fs, "/s2", 0));
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(drop_compare(&e));
	/* leaves copied by writes in /s3, then /s3 dropped */
	CHECK_OK(put(e.fs, "/s3/d/f00010", 0, 7000, 2));
	CHECK_OK(put(e.fs, "/s3/d/f00500", 0, 7000, 3));
	CHECK_OK(fs_unlink(e.fs, "/v/d/f00020"));
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(compare_counts(e.fs));
	CHECK_OK(fs_subvol_delete(e.fs, "/s3", 0));
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(drop_compare(&e));
	/* the last snapshot holding the old leaves goes: they are freed;
	 * new leaves take their addresses, and a drop meets them */
	CHECK_OK(fs_subvol_delete(e.fs, "/s4", 0));
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(drop_compare(&e));
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(many_files(e.fs, "/v/e", 600, 4));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/v", "/s5", FS_SNAP_RDONLY));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(fs_subvol_delete(e.fs, "/s5", 0));
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(drop_compare(&e));
	CHECK_EQ(qgroup_find(e.fs->qgroups, 256)->excl,
		 qgroup_find(e.fs->qgroups, 256)->rfer);
	CHECK_OK(env_close(&e));
}

/*
 * A drop commit counts the data extents a gone leaf held alone with the
 * leaf, without a walk each (qgroup_account.c, gone_leaves), when an
 * extent lost one reference in all there. Here the extent under the
 * dropped subvolume's last leaf loses its other reference, a reflink in
 * another subvolume, in the same commit: it had two, its set was both
 * subvolumes, and it must be walked. The unlink goes in the commit of
 * the drop's second and last step, the one freeing that leaf.
 */
TEST(qgroup, gone_leaf_extent_losing_its_other_reference_alike)
{
	struct env e = { 0 };
	u64 last = 0;
	int steps = 1, ret;

	CHECK_OK(env_open(&e, 4096));
	CHECK_OK(fs_subvol_create(e.fs, "/a"));
	CHECK_OK(many_files(e.fs, "/a/d", 300, 1));
	CHECK_OK(put(e.fs, "/a/z", 0, 9000, 2));	/* the last leaf */
	CHECK_OK(fs_subvol_create(e.fs, "/b"));
	CHECK_OK(reflink(e.fs, "/a/z", "/b/z", 0, 0));
	CHECK_OK(sync_compare(e.fs));
	cleaner_stop(e.fs);	/* the test drops, one commit at a time */
	CHECK_OK(fs_subvol_delete(e.fs, "/a", 0));
	CHECK_OK(fs_sync(e.fs));
	CHECK_EQ(cleaner_step(e.fs, &last), 1);
	CHECK_OK(compare_counts(e.fs));
	CHECK_OK(fs_unlink(e.fs, "/b/z"));
	while ((ret = cleaner_step(e.fs, &last)) == 1) {
		steps++;
		CHECK_OK(compare_counts(e.fs));
	}
	CHECK_OK(ret);
	CHECK_EQ(steps, 2);
	CHECK_EQ(qgroup_find(e.fs->qgroups, 256)->rfer, 0);
	CHECK_OK(env_close(&e));
}

/* Begin a rescan of fs counting n extents per commit. */
static int slow_rescan(struct fs_info *fs, u32 n)
{
	fs->qgroups->rescan_batch = n;
	return fs_quota_rescan(fs);
}

TEST(qgroup, rescan_resumes_after_unmount_and_power_cut)
{
	struct env e = { 0 };
	struct fault_dev *crashed;
	uint64_t flags, progress;
	struct fs_info *fs;

	CHECK_OK(env_open(&e, 4096));
	CHECK_OK(many_files(e.fs, "/d", 600, 1));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/", "/s", 0));
	CHECK_OK(sync_compare(e.fs));
	/* Unmounted in the middle: the status says where it was. */
	CHECK_OK(slow_rescan(e.fs, 1));
	fs_umount(e.fs);
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), FS_MOUNT_RO, &fs));
	CHECK(fs_quota_status(fs, &flags, &progress));
	fs_umount(fs);
	CHECK(flags & BTRFS_QGROUP_STATUS_FLAG_RESCAN);
	CHECK(progress > 0);
	/* A read-write mount resumes it, and ends exact. */
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), 0, &e.fs));
	CHECK_OK(sync_compare(e.fs));
	/* Power cut in the middle of another one. */
	CHECK_OK(slow_rescan(e.fs, 3));
	fault_dev_arm(e.dev, 30, FAULT_CUT, 1);
	while (!fault_dev_is_cut(e.dev) &&
	       fs_quota_status(e.fs, &flags, &progress) &&
	       (flags & BTRFS_QGROUP_STATUS_FLAG_RESCAN))
		msleep(1);
	crashed = fault_dev_crash_image(e.dev);
	CHECK(crashed);
	fs_umount(e.fs);
	e.fs = NULL;
	fault_dev_free(e.dev);
	e.dev = crashed;
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), FS_MOUNT_RO, &fs));
	CHECK(fs_quota_status(fs, &flags, &progress));
	fs_umount(fs);
	CHECK(flags & BTRFS_QGROUP_STATUS_FLAG_RESCAN);
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), 0, &e.fs));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

TEST(qgroup, changes_while_a_rescan_runs)
{
	struct env e = { 0 };

	CHECK_OK(env_open(&e, 4096));
	CHECK_OK(many_files(e.fs, "/d", 300, 1));
	CHECK_OK(fs_subvol_create(e.fs, "/v"));
	CHECK_OK(put(e.fs, "/v/a", 0, 200000, 2));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(slow_rescan(e.fs, 4));
	/* New roots at high addresses above blocks the rescan counted. */
	CHECK_OK(fs_subvol_snapshot(e.fs, "/", "/s", 0));
	CHECK_OK(put(e.fs, "/s/d/f00009", 0, 9000, 3));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/v", "/w", FS_SNAP_RDONLY));
	CHECK_OK(put(e.fs, "/v/a", 4096, 8192, 4));
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(fs_subvol_delete(e.fs, "/v", 0));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

TEST(qgroup, disable_drops_a_tall_quota_tree)
{
	struct env e = { 0 };
	uint64_t flags, progress;
	u64 i;

	CHECK_OK(env_open(&e, 4096));
	CHECK_OK(put(e.fs, "/f", 0, 50000, 1));
	for (i = 1; i <= 400; i++)
		CHECK_OK(fs_qgroup_create(e.fs, 1ULL << 48 | i));
	CHECK_OK(fs_sync(e.fs));
	CHECK(e.fs->quota_root.level > 0);
	CHECK_OK(fs_quota_disable(e.fs));
	CHECK(!fs_quota_status(e.fs, &flags, &progress));
	CHECK_EQ(fs_qgroup_create(e.fs, 1ULL << 48 | 1), -ENOTCONN);
	CHECK_OK(put(e.fs, "/f", 4096, 4096, 2));
	/* On again: counted anew. */
	CHECK_OK(fs_quota_enable(e.fs));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

TEST(qgroup, random_workload)
{
	static const char *const subs[] = { "", "/a", "/b", "/s1", "/s2",
					    "/s3" };
	struct env e = { 0 };
	char path[128], other[128];
	u64 seed = test_seed();
	int live[6] = { 1, 0, 0, 0, 0, 0 }, step;

	CHECK_OK(env_open(&e, 4096));
	for (step = 0; step < 60; step++) {
		struct fs_ino ino;
		int s, t, op, ret;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		op = (int)(seed >> 33) % 10;
		s = (int)(seed >> 40) % 6;
		t = (int)(seed >> 48) % 6;
		if (live[s] != 1)	/* gone, or read-only */
			s = 0;
		snprintf(path, sizeof(path), "%s/f%d", subs[s],
			 (int)(seed >> 20) % 8);
		if (op < 4) {
			CHECK_OK(put(e.fs, path, (seed >> 8) % 300000,
				     1 + (seed >> 24) % 60000, step));
		} else if (op == 4 && live[t] == 1) {
			snprintf(other, sizeof(other), "%s/r%d", subs[t], step);
			if (fs_lookup(e.fs, path, 0, &ino) == 0)
				CHECK_OK(reflink(e.fs, path, other, 0, 0));
		} else if (op == 5 && t >= 1 && t <= 2 && !live[t]) {
			CHECK_OK(fs_subvol_create(e.fs, subs[t]));
			live[t] = 1;
		} else if (op == 6 && t >= 3 && !live[t]) {
			CHECK_OK(fs_subvol_snapshot(e.fs, subs[s][0] ?
						    subs[s] : "/", subs[t],
						    seed & 1 ? FS_SNAP_RDONLY
							     : 0));
			live[t] = seed & 1 ? 2 : 1;
		} else if (op == 7 && t >= 1 && live[t]) {
			CHECK_OK(fs_subvol_delete(e.fs, subs[t], 0));
			live[t] = 0;
		} else if (op == 8) {
			ret = fs_unlink(e.fs, path);
			CHECK(ret == 0 || ret == -ENOENT);
		} else {
			snprintf(other, sizeof(other), "%s/m%d", subs[s], step);
			CHECK_OK(many_files(e.fs, other, 40, step));
		}
		if (step % 3 == 2) {
			ret = sync_compare(e.fs);
			if (ret)
				printf("# step %d seed %llu\n", step,
				       (unsigned long long)test_seed());
			CHECK_OK(ret);
		}
	}
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}
