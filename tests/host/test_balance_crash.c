/*
 * Power cuts during a balance (fs/balance*.c on the fault device,
 * shim/fault_dev.h): a full balance of a filesystem with a few data
 * groups is cut at sampled writes, from the item's commit to the item's
 * removal, in each cut mode. Every survivor must pass btrfs check, hold
 * every file as before, and, when its balance item survived, mount with
 * the balance paused (skip_balance) and finish it by resume, after
 * which no group from before is left and btrfs check passes again.
 * Some cuts must have left the item (the resume path is exercised).
 * GHEE_CRASH_ALL=1 (make crash) samples ALL_CUTS cut points per mode,
 * GHEE_BALANCE_CUTS=N samples N, GHEE_CRASH_CUT=N cuts at write N only
 * (a finding's replay). Each mode prints its `# crash` summary line.
 * A second case balances only the metadata of a filesystem with a
 * subvolume and snapshots sharing its blocks, which relocates its
 * metadata group in several commits (fs/relocation_blocks.c): some cut
 * must land between them, leaving the group partly moved. A third
 * balances only the data, with batches of DATA_BATCH (fs/relocation_data.c),
 * less than its fullest group holds: some cut must
 * leave that group partly moved too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/balance.h"
#include "../../fs/block_group.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/relocation.h"
#include "balance_fixture.h"
#include "crash_model.h"
#include "shim/fault_dev.h"
#include "test.h"

#define DEV_SIZE (128ull << 20)
#define DATA_DEV_SIZE (384ull << 20)	/* the data case: every file in one
					 * data group (chunks of a tenth) */
#define DATA_BATCH (8ull << 20)		/* its batches (reloc_batch_bytes):
					 * the group holds more than one */
#define NFILES 24
#define FILE_KIB 1024
#define CUTS 4			/* sampled cut points per mode (default) */
#define ALL_CUTS 70		/* with GHEE_CRASH_ALL: every third write */
#define GROUP_CUTS 12		/* cases of one type: some must land
				 * between two batches of its group */

/* What one case starts from and expects. */
struct bcase {
	uint64_t type;			/* BTRFS_BLOCK_GROUP_DATA or _METADATA:
					 * balance that type alone; 0: all */
	int meta;			/* populated for the metadata case */
	uint64_t want[NFILES];		/* bal_hash_files */
	uint64_t meta_want[BAL_META_HASHES];	/* bal_hash_meta */
	uint64_t old[BAL_MAX_GROUPS];	/* groups before */
	uint32_t nold;
	uint64_t gstart, gused;		/* the fullest group of type */
};

/* The used bytes of the group at start; 0 when it is gone. */
static uint64_t group_used(struct fs_info *fs, uint64_t start)
{
	struct block_group *bg;
	uint64_t used = 0;

	mutex_lock(&fs->alloc_lock);
	bg = bg_lookup(fs, start);
	if (bg && bg->start == start)
		used = bg->used;
	mutex_unlock(&fs->alloc_lock);
	return used;
}

/* The filesystem every cut starts from, unmounted; bc filled. */
static struct fault_dev *template_dev(struct bcase *bc)
{
	struct fs_mkfs_opts o = { NULL, 4096, 0, NULL };
	struct fault_dev *dev = fault_dev_new(
		bc->type == BTRFS_BLOCK_GROUP_DATA ? DATA_DEV_SIZE : DEV_SIZE);
	struct fs_info *fs = NULL;
	int ret = dev ? fs_mkfs(fault_dev_blk(dev), &o) : -ENOMEM;

	if (ret == 0)
		ret = fs_mount(fault_dev_blk(dev), 0, &fs);
	if (ret == 0)
		ret = bal_populate(fs, NFILES, FILE_KIB);
	if (ret == 0 && bc->meta)
		ret = bal_populate_meta(fs);
	if (ret == 0)
		ret = bal_hash_files(fs, NFILES, bc->want);
	if (ret == 0 && bc->meta)
		ret = bal_hash_meta(fs, bc->meta_want);
	if (ret == 0) {
		bc->nold = bal_groups(fs, bc->old);
		bal_fullest_group(fs, bc->type, &bc->gstart, &bc->gused);
	}
	fs_umount(fs);
	if (ret && dev) {
		fault_dev_free(dev);
		dev = NULL;
	}
	return dev;
}

/* Mount dev, run a full balance (of bc's type alone when it has one)
 * in the foreground, unmount. */
static int balance_once(struct fault_dev *dev, const struct bcase *bc)
{
	struct fs_info *fs = NULL;
	struct fs_balance b;
	int ret = fs_mount(fault_dev_blk(dev), 0, &fs);

	memset(&b, 0, sizeof(b));
	b.types = bc->type == BTRFS_BLOCK_GROUP_METADATA ? 1u << FS_BAL_META :
		  bc->type == BTRFS_BLOCK_GROUP_DATA ? 1u << FS_BAL_DATA : 7;
	reloc_batch_bytes = bc->type == BTRFS_BLOCK_GROUP_DATA ?
			    DATA_BATCH : RELOC_BATCH_BYTES;
	if (ret == 0)
		ret = fs_balance_start(fs, &b, 0);
	reloc_batch_bytes = RELOC_BATCH_BYTES;
	fs_umount(fs);
	return ret;
}

/* Whether every file of fs is as bc wants. */
static int files_same(struct fs_info *fs, const struct bcase *bc)
{
	static uint64_t got[NFILES];
	uint64_t meta[BAL_META_HASHES];

	if (bal_hash_files(fs, NFILES, got) ||
	    memcmp(got, bc->want, sizeof(got)))
		return 0;
	return !bc->meta || (bal_hash_meta(fs, meta) == 0 &&
			     !memcmp(meta, bc->meta_want, sizeof(meta)));
}

/* Judge one survivor; NULL when good, else what was wrong. *had_item:
 * its balance item survived; *partial: the fullest group of the case's
 * type was partly moved; *checks counts the btrfs checks run. */
static const char *judge(struct fault_dev *c, const struct bcase *bc,
			 int *had_item, int *partial, uint64_t *checks)
{
	struct fs_info *fs = NULL;
	struct fs_balance b;
	const char *why = NULL;
	uint64_t used;

	*had_item = *partial = 0;
	++*checks;
	if (fault_dev_btrfs_check(c) == BTRFS_CHECK_ERRORS)
		return "btrfs check failed on the survivor";
	if (fs_mount(fault_dev_blk(c), FS_MOUNT_SKIP_BALANCE, &fs))
		return "the survivor does not mount";
	if (!files_same(fs, bc))
		why = "a file differs after the cut";
	used = bc->type ? group_used(fs, bc->gstart) : 0;
	*partial = used && used < bc->gused;
	*had_item = fs_balance_status(fs, &b) == 0;
	if (!why && *had_item && (b.state || fs_balance_resume(fs, &b)))
		why = "the surviving balance is not paused, or its resume "
		      "failed";
	if (!why && *had_item && bc->type && group_used(fs, bc->gstart))
		why = "the resumed balance left the group";
	if (!why && *had_item && !bc->type &&
	    bal_groups_left(fs, bc->old, bc->nold))
		why = "the resumed balance left a group from before";
	if (!why && !files_same(fs, bc))
		why = "a file differs after the resume";
	fs_umount(fs);
	if (!why && ++*checks &&
	    fault_dev_btrfs_check(c) == BTRFS_CHECK_ERRORS)
		why = "btrfs check failed after the resume";
	return why;
}

/* How many cut points to sample (see the head comment); a case of one
 * type samples at least GROUP_CUTS. */
static uint64_t cut_count(uint64_t total, uint64_t type)
{
	const char *env = getenv("GHEE_BALANCE_CUTS");
	uint64_t n = getenv("GHEE_CRASH_ALL") ? ALL_CUTS :
		     type ? GROUP_CUTS : CUTS;

	if (env && atoi(env) > 0)
		n = (uint64_t)atoi(env);
	if (getenv("GHEE_CRASH_CUT"))
		n = 1;
	return n < total ? n : total - 1;
}

/* Cut a balance of a copy of tmpl at write cut and judge the survivor:
 * NULL when good, else what was wrong. */
static const char *cut_once(struct fault_dev *tmpl, enum fault_mode mode,
			    uint64_t cut, const struct bcase *bc, int *had,
			    int *partial, uint64_t *checks)
{
	struct fault_dev *d = fault_dev_clone(tmpl), *c;
	const char *why;

	if (!d)
		return "no memory for the copy";
	/* The seed follows the cut, so GHEE_CRASH_CUT replays it. */
	fault_dev_arm(d, cut, mode, test_seed() + cut);
	balance_once(d, bc);	/* fails at the cut */
	c = fault_dev_crash_image(d);
	why = c && fault_dev_is_cut(d) ?
		judge(c, bc, had, partial, checks) :
		"no cut or no survivor";
	fault_dev_free(c);
	fault_dev_free(d);
	return why;
}

static void cuts(enum fault_mode mode, uint64_t type)
{
	static struct bcase bc;
	uint64_t total, ncuts, i, cut, checks = 0, found = 0;
	struct fault_dev *tmpl, *d;
	int had, partial, items = 0, partials = 0;
	const char *why, *one = getenv("GHEE_CRASH_CUT");

	memset(&bc, 0, sizeof(bc));
	bc.type = type;
	bc.meta = type == BTRFS_BLOCK_GROUP_METADATA;
	tmpl = template_dev(&bc);
	CHECK(tmpl);
	if (!tmpl)
		return;
	if (fault_dev_btrfs_check(tmpl) == BTRFS_CHECK_MISSING) {
		fault_dev_free(tmpl);
		test_skip("btrfs-progs not installed");
		return;
	}
	CHECK(!type || bc.gused);
	/* the data case's group takes more than one batch */
	CHECK(type != BTRFS_BLOCK_GROUP_DATA || bc.gused > DATA_BATCH);
	d = fault_dev_clone(tmpl);	/* the uncut run: its writes */
	CHECK(d);
	fault_dev_arm(d, 0, mode, 0);
	CHECK_OK(balance_once(d, &bc));
	total = fault_dev_writes(d);
	fault_dev_free(d);
	ncuts = cut_count(total, type);
	CHECK(ncuts > 0);
	for (i = 1; i <= ncuts; i++) {
		cut = one ? strtoull(one, NULL, 0) : total * i / (ncuts + 1);
		why = cut_once(tmpl, mode, cut, &bc, &had, &partial, &checks);
		items += !why && had;
		partials += !why && partial;
		if (why && ++found <= 5)
			crash_finding("balance", mode, cut, total, why);
	}
	fault_dev_free(tmpl);
	crash_summary("balance", mode, total, ncuts, checks, found);
	CHECK_EQ(found, 0);
	CHECK(one || items > 0);
	CHECK(one || !type || partials > 0);
}

TEST(balance_crash, cut)
{
	cuts(FAULT_CUT, 0);
}

TEST(balance_crash, reorder)
{
	cuts(FAULT_REORDER, 0);
}

TEST(balance_crash, torn)
{
	cuts(FAULT_TORN, 0);
}

TEST(balance_crash, cut_inside_a_metadata_group)
{
	cuts(FAULT_CUT, BTRFS_BLOCK_GROUP_METADATA);
}

TEST(balance_crash, cut_between_batches_of_a_data_group)
{
	cuts(FAULT_CUT, BTRFS_BLOCK_GROUP_DATA);
}
