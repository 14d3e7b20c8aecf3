/*
 * A quota-accounted subvolume drop over many commits: a snapshot sharing
 * a tall tree with its source, and holding a tall tree of its own, is
 * deleted and the cleaner drops it over about 8 commits, with quotas on.
 *  - Step by step: the test drives the cleaner one commit at a time; at
 *    each commit ghee's counts must be those of the brute force
 *    (test_qgroup_env.c; the dead tree reaches what its drop has not
 *    freed yet), ghee's fsck must be clean and dump-tree must read the
 *    half-dropped tree; `btrfs check --qgroup-report` judges the end
 *    (see judge_survivor for why not the commits between).
 *  - Power cuts at several points of the drop: each image that survives
 *    must pass `btrfs check --qgroup-report` as it is (every commit holds
 *    the counts of its own state), and, mounted again, the drop resumes
 *    and the counts stay those of the brute force.
 * The accounting walks the half-dropped tree upward, where the blocks
 * left of its drop_progress are freed and may be reused.
 */
#include <stdio.h>
#include <stdlib.h>

#include <ghee/errno.h>

#include "../../fs/cleaner.h"
#include "../../fs/ctree.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/transaction.h"
#include "crash_model.h"
#include "qgroup_env.h"
#include "shim/fault_dev.h"
#include "shim/host.h"
#include "test.h"

#define CUTS 4
#define ALL_CUTS 40	/* per mode, with GHEE_CRASH_ALL */

/* The filesystem before the drop: /v of many files, its snapshot /s,
 * each changed since, /s with many files of its own (a tall tree only
 * the snapshot holds, so the drop frees blocks over many commits). */
static int make_base(struct env *e)
{
	int ret = env_open(e, 4096);

	/* no commit on the wall clock: the same base, and so the same
	 * writes of the drop, however slow the run (GHEE_CRASH_CUT) */
	if (ret == 0)
		trans_stop_committer(e->fs);
	if (ret == 0)
		ret = fs_subvol_create(e->fs, "/v");
	if (ret == 0)
		ret = many_files(e->fs, "/v/d", 1500, 1);
	if (ret == 0)
		ret = fs_subvol_snapshot(e->fs, "/v", "/s", 0);
	if (ret == 0)
		ret = put(e->fs, "/s/d/f00010", 0, 7000, 2);
	if (ret == 0)
		ret = put(e->fs, "/v/d/f01010", 0, 7000, 3);
	if (ret == 0)
		ret = many_files(e->fs, "/s/e", 2500, 4);
	if (ret == 0)
		ret = sync_compare(e->fs);
	return ret;
}

TEST(qgroup_crash, drop_exact_at_every_commit)
{
	struct env e = { 0 };
	struct fs_check_report rep;
	u64 last = 0;
	int steps = 0, gone = 0, ret;

	CHECK_OK(make_base(&e));
	/* Mounted afresh, as a user would find it: blocks the drop frees
	 * are reused soon, and no cached copy of them stays. */
	fs_umount(e.fs);
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), 0, &e.fs));
	cleaner_stop(e.fs);	/* the test drops, one commit at a time */
	CHECK_OK(fs_subvol_delete(e.fs, "/s", 0));
	CHECK_OK(fs_sync(e.fs));
	while ((ret = cleaner_step(e.fs, &last)) == 1) {
		printf("# commit %d of the drop\n", ++steps);
		CHECK_OK(compare_counts(e.fs));
		CHECK_OK(fs_check(e.fs, &rep));
		/* dump-tree reads the half-dropped tree too (gone after
		 * the last commit) */
		host_console_capture(1);
		ret = fs_dump_tree(e.fs, "257");
		host_console_capture(0);
		CHECK(ret == 0 || ret == -ENOENT);
		gone += ret == -ENOENT;
	}
	CHECK_OK(ret);
	CHECK_EQ(gone, 1);
	printf("# the drop took %d commits\n", steps);
	CHECK(steps >= 6);
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

/* Delete /s on a copy of base, cut the power after cut writes (0:
 * never) in mode and give back what survived. */
static struct fault_dev *drop_and_cut(const struct fault_dev *base,
				      enum fault_mode mode, uint64_t cut,
				      uint64_t *writes)
{
	struct fault_dev *d = fault_dev_clone(base), *crashed = NULL;
	struct fs_info *fs;
	u64 gen;

	if (!d || fs_mount(fault_dev_blk(d), 0, &fs)) {
		fault_dev_free(d);
		return NULL;
	}
	trans_stop_committer(fs);	/* as in make_base */
	fault_dev_arm(d, cut, mode, 1 + cut);
	gen = fs->generation;
	if (fs_subvol_delete(fs, "/s", 0) == 0 && fs_subvol_sync(fs) == 0)
		fs_sync(fs);
	*writes = fault_dev_writes(d);
	if (!cut)
		printf("# the drop: %llu writes, %llu commits\n",
		       (unsigned long long)*writes,
		       (unsigned long long)(fs->generation - gen));
	crashed = fault_dev_crash_image(d);
	fs_umount(fs);
	fault_dev_free(d);
	return crashed;
}

/* Whether a subvolume of fs is half dropped: a dead root whose drop has
 * begun (drop_progress set). */
static int half_dropped(struct fs_info *fs, int *half)
{
	struct key k = { BTRFS_FS_TREE_OBJECTID, BTRFS_ROOT_ITEM_KEY, 0 };
	struct key zero = { 0, 0, 0 }, drop;
	struct ctree_path p;
	const u8 *item;
	u32 size;
	int ret;

	*half = 0;
	ctree_path_init(&p);
	for (ret = ctree_search_ge(&fs->tree_root, &k, &p); ret == 0;
	     ret = ctree_next_item(&p)) {
		ctree_item_key(&p, &k);
		if (k.type != BTRFS_ROOT_ITEM_KEY)
			continue;
		item = ctree_item_ptr(&p, &size);
		key_from_disk(&drop, D_PTR(struct d_root_item, item,
					   drop_progress));
		if (D_GET32(struct d_root_item, item, refs) == 0 &&
		    key_cmp(&drop, &zero))
			*half = 1;
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : 0;
}

/*
 * Judge a survivor as it is, before a mount resumes its drop: mounted
 * read-only (no cleaner), its counts must be the brute force's and
 * ghee's fsck clean; then `btrfs check --qgroup-report`, unless a drop
 * has begun in it: btrfs-progs 6.2 counts a half-dropped tree as
 * reaching every block its remaining nodes point to, the subtrees its
 * drop already released included (its verifier ignores drop_progress),
 * where Linux's and ghee's counts move with the drop.
 */
static int judge_survivor(struct fault_dev *d, uint64_t *checks)
{
	struct fs_check_report rep;
	struct fs_info *fs;
	int half = 0, ret = fs_mount(fault_dev_blk(d), FS_MOUNT_RO, &fs);

	if (ret)
		return ret;
	ret = compare_counts(fs);
	if (ret == 0)
		ret = fs_check(fs, &rep);
	if (ret == 0)
		ret = half_dropped(fs, &half);
	fs_umount(fs);
	if (ret == 0 && half)
		printf("# a drop has begun: btrfs check after it ends\n");
	else if (ret == 0 && ++*checks)
		ret = test_btrfs_check(__FILE__, __LINE__,
				       fault_dev_btrfs_check_qgroups(d));
	return ret;
}

/* Cut the drop at write cut in mode and judge the survivor as it is,
 * then mounted with the drop resumed: 0 when good. */
static int cut_once(const struct fault_dev *base, enum fault_mode mode,
		    uint64_t cut, uint64_t *checks)
{
	struct env e = { 0 };
	uint64_t w;
	int ret;

	e.dev = drop_and_cut(base, mode, cut, &w);
	if (!e.dev)
		return -ENOMEM;
	ret = judge_survivor(e.dev, checks);
	if (ret == 0)
		ret = fs_mount(fault_dev_blk(e.dev), 0, &e.fs);
	if (ret == 0)
		ret = sync_compare(e.fs);
	++*checks;		/* env_close's btrfs check */
	return env_close(&e) ? -EUCLEAN : ret;
}

/* The cuts of one mode, spread over the drop's total writes. */
static void cuts(const struct fault_dev *base, enum fault_mode mode,
		 uint64_t total, int *failed)
{
	const char *one = getenv("GHEE_CRASH_CUT");
	uint64_t n = getenv("GHEE_CRASH_ALL") ? ALL_CUTS : CUTS;
	uint64_t i, cut, checks = 0, found = 0;
	int ret;

	n = one ? 1 : n < total ? n : total - 1;
	for (i = 1; i <= n; i++) {
		cut = one ? strtoull(one, NULL, 0) :
			    total * (2 * i - 1) / (2 * n);
		printf("# cut at write %llu of %llu (%s)\n",
		       (unsigned long long)cut, (unsigned long long)total,
		       crash_mode_names[mode]);
		ret = cut_once(base, mode, cut, &checks);
		if (ret && ++found <= 5) {
			char why[24];

			snprintf(why, sizeof(why), "%d", ret);
			crash_finding("qgroup drop", mode, cut, total, why);
		}
	}
	crash_summary("qgroup-drop", mode, total, n, checks, found);
	*failed |= found > 0;
}

TEST(qgroup_crash, power_cut_during_accounted_drop)
{
	struct env e = { 0 };
	struct fault_dev *base, *crashed;
	uint64_t total = 0;
	int failed = 0;

	CHECK_OK(make_base(&e));
	fs_umount(e.fs);
	base = e.dev;
	/* The whole drop's writes, to spread the cuts over. */
	crashed = drop_and_cut(base, FAULT_CUT, 0, &total);
	CHECK(crashed && total > 20);
	fault_dev_free(crashed);
	cuts(base, FAULT_CUT, total, &failed);
	if (getenv("GHEE_CRASH_ALL"))
		cuts(base, FAULT_REORDER, total, &failed);
	fault_dev_free(base);
	CHECK(!failed);
}
