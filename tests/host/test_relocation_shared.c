/*
 * Relocation under shared nodes: a subvolume whose tree is three levels
 * tall (4 KiB nodes, thousands of files), read-only snapshots sharing its
 * level-1 nodes, a writable snapshot that COWed some of them (and the
 * subvolume itself changed after, so some shared nodes carry
 * FULL_BACKREF), quotas on. Every metadata group, then every data group
 * (in small batches), is relocated; after every relocation commit the
 * image must pass plain `btrfs check` and its qgroup report, and the
 * quota counts must equal the brute force's.
 *
 * Why: defrag's bottom-up walk once left a leaf with one reference of
 * its own, under a level-1 node the snapshots share, holding references
 * of a tree that no longer reached it (defrag.cancelled_under_a_shared_
 * node); every in-between commit then failed btrfs check. Relocation
 * copies blocks bottom-up too, so this holds it to the same judge at the
 * same points.
 */
#include <stdio.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/block_group.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/relocation.h"
#include "../../fs/subvol.h"
#include "balance_fixture.h"
#include "qgroup_env.h"
#include "shim/fault_dev.h"
#include "test.h"

#define NFILES 3000
#define SMALL_BATCH (1ull << 20)	/* data batches: several per group */

/* Judges the image after each relocation commit (asked as a stop
 * function: the first call after a commit is between batches). */
struct judge {
	struct fault_dev *dev;
	struct fs_info *fs;
	const struct reloc_stats *st;
	u64 seen;		/* commits of this group judged */
	int checks, bad;
};

static void judge_now(struct judge *j)
{
	j->checks++;
	if (fault_dev_btrfs_check_qgroups(j->dev) != BTRFS_CHECK_CLEAN ||
	    compare_counts(j->fs)) {
		printf("# after relocation commit %llu: image or counts "
		       "wrong\n", (unsigned long long)j->st->commits);
		j->bad++;
	}
}

static int judge_commit(void *arg)
{
	struct judge *j = arg;

	if (j->st->commits > j->seen) {
		j->seen = j->st->commits;
		judge_now(j);
	}
	return 0;
}

/* The subvolume, its snapshots, and changes after them on both sides. */
static int populate(struct fs_info *fs)
{
	char name[64];
	int i, ret = fs_subvol_create(fs, "/sv");

	if (ret == 0)
		ret = many_files(fs, "/sv/d", NFILES, 1);
	if (ret == 0)
		ret = fs_sync(fs);
	if (ret == 0)
		ret = fs_subvol_snapshot(fs, "/sv", "/s1", FS_SNAP_RDONLY);
	if (ret == 0)
		ret = fs_subvol_snapshot(fs, "/sv", "/rw", 0);
	if (ret == 0)
		ret = fs_sync(fs);
	for (i = 0; i < NFILES && ret == 0; i += 97) {	/* rw COWs some */
		snprintf(name, sizeof(name), "/rw/d/f%05d", i);
		ret = put(fs, name, 0, 6000, 'r');
	}
	if (ret == 0)
		ret = fs_subvol_snapshot(fs, "/sv", "/s2", FS_SNAP_RDONLY);
	for (i = 40; i < NFILES && ret == 0; i += 251) {	/* sv too */
		snprintf(name, sizeof(name), "/sv/d/f%05d", i);
		ret = put(fs, name, 0, 7000, 's');
	}
	return ret ? ret : fs_sync(fs);
}

/* The flags of the group starting at start (0: none). */
static u64 group_flags(struct fs_info *fs, u64 start)
{
	const struct block_group *bg;
	u64 flags;

	mutex_lock(&fs->alloc_lock);
	bg = bg_lookup(fs, start);
	flags = bg && bg->start == start ? bg->flags : 0;
	mutex_unlock(&fs->alloc_lock);
	return flags;
}

/* Relocate every group of type (BTRFS_BLOCK_GROUP_*) of those in
 * start[0..n), judging after each commit. */
static void relocate_type(struct judge *j, const u64 *start, u32 n,
			  u64 type)
{
	struct reloc_stats st;
	u32 i;

	for (i = 0; i < n; i++) {
		if (!(group_flags(j->fs, start[i]) & type))
			continue;
		j->st = &st;
		j->seen = 0;
		CHECK_OK(reloc_block_group(j->fs, start[i], judge_commit, j,
					   &st));
		printf("# group %llu: %llu commits, %llu blocks, %llu data "
		       "extents\n", (unsigned long long)start[i],
		       (unsigned long long)st.commits,
		       (unsigned long long)st.tree_blocks,
		       (unsigned long long)st.data_extents);
		judge_now(j);	/* after its removal commit */
	}
}

TEST(relocation, under_shared_nodes_every_commit_checks)
{
	struct env e = { NULL, NULL };
	const struct subvol_root *sv;
	struct fs_ino ino;
	u64 start[BAL_MAX_GROUPS];
	struct judge j = { 0 };
	u32 n;

	CHECK_OK(env_open(&e, 4096));
	CHECK_OK(populate(e.fs));
	CHECK_OK(fs_lookup(e.fs, "/sv", 0, &ino));
	CHECK_OK(subvol_get(e.fs, ino.root, &sv));
	CHECK(sv->root.level >= 2);
	CHECK_OK(sync_compare(e.fs));
	j.dev = e.dev;
	j.fs = e.fs;
	n = bal_groups(e.fs, start);
	reloc_batch_bytes = SMALL_BATCH;
	relocate_type(&j, start, n, BTRFS_BLOCK_GROUP_METADATA);
	relocate_type(&j, start, n, BTRFS_BLOCK_GROUP_DATA);
	reloc_batch_bytes = RELOC_BATCH_BYTES;
	printf("# %d images judged, %d bad\n", j.checks, j.bad);
	CHECK(j.checks >= 4);
	CHECK_EQ(j.bad, 0);
	CHECK_EQ(bal_groups_left(e.fs, start, n), 0);
	CHECK_OK(env_close(&e));
}
