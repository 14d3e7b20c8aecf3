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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/balance.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "balance_fixture.h"
#include "crash_model.h"
#include "shim/fault_dev.h"
#include "test.h"

#define DEV_SIZE (128ull << 20)
#define NFILES 24
#define FILE_KIB 1024
#define CUTS 4			/* sampled cut points per mode (default) */
#define ALL_CUTS 70		/* with GHEE_CRASH_ALL: every third write */

/* The filesystem every cut starts from, unmounted; its hashes. */
static struct fault_dev *template_dev(uint64_t *hash, uint64_t *old,
				      uint32_t *nold)
{
	struct fs_mkfs_opts o = { NULL, 4096, 0, NULL };
	struct fault_dev *dev = fault_dev_new(DEV_SIZE);
	struct fs_info *fs = NULL;
	int ret = dev ? fs_mkfs(fault_dev_blk(dev), &o) : -ENOMEM;

	if (ret == 0)
		ret = fs_mount(fault_dev_blk(dev), 0, &fs);
	if (ret == 0)
		ret = bal_populate(fs, NFILES, FILE_KIB);
	if (ret == 0)
		ret = bal_hash_files(fs, NFILES, hash);
	if (ret == 0)
		*nold = bal_groups(fs, old);
	fs_umount(fs);
	if (ret && dev) {
		fault_dev_free(dev);
		dev = NULL;
	}
	return dev;
}

/* Mount dev, run a full balance in the foreground, unmount. */
static int balance_once(struct fault_dev *dev)
{
	struct fs_info *fs = NULL;
	struct fs_balance b;
	int ret = fs_mount(fault_dev_blk(dev), 0, &fs);

	memset(&b, 0, sizeof(b));
	b.types = 7;
	if (ret == 0)
		ret = fs_balance_start(fs, &b, 0);
	fs_umount(fs);
	return ret;
}

/* Judge one survivor; NULL when good, else what was wrong. *had_item:
 * its balance item survived; *checks counts the btrfs checks run. */
static const char *judge(struct fault_dev *c, const uint64_t *want,
			 const uint64_t *old, uint32_t nold, int *had_item,
			 uint64_t *checks)
{
	static uint64_t got[NFILES];
	struct fs_info *fs = NULL;
	struct fs_balance b;
	const char *why = NULL;

	*had_item = 0;
	++*checks;
	if (fault_dev_btrfs_check(c) == BTRFS_CHECK_ERRORS)
		return "btrfs check failed on the survivor";
	if (fs_mount(fault_dev_blk(c), FS_MOUNT_SKIP_BALANCE, &fs))
		return "the survivor does not mount";
	if (bal_hash_files(fs, NFILES, got) ||
	    memcmp(got, want, sizeof(got)))
		why = "a file differs after the cut";
	*had_item = fs_balance_status(fs, &b) == 0;
	if (!why && *had_item && (b.state || fs_balance_resume(fs, &b)))
		why = "the surviving balance is not paused, or its resume "
		      "failed";
	if (!why && *had_item && bal_groups_left(fs, old, nold))
		why = "the resumed balance left a group from before";
	if (!why && (bal_hash_files(fs, NFILES, got) ||
		     memcmp(got, want, sizeof(got))))
		why = "a file differs after the resume";
	fs_umount(fs);
	if (!why && ++*checks &&
	    fault_dev_btrfs_check(c) == BTRFS_CHECK_ERRORS)
		why = "btrfs check failed after the resume";
	return why;
}

/* How many cut points to sample (see the head comment). */
static uint64_t cut_count(uint64_t total)
{
	const char *env = getenv("GHEE_BALANCE_CUTS");
	uint64_t n = getenv("GHEE_CRASH_ALL") ? ALL_CUTS : CUTS;

	if (env && atoi(env) > 0)
		n = (uint64_t)atoi(env);
	if (getenv("GHEE_CRASH_CUT"))
		n = 1;
	return n < total ? n : total - 1;
}

/* Cut a balance of a copy of tmpl at write cut and judge the survivor:
 * NULL when good, else what was wrong. */
static const char *cut_once(struct fault_dev *tmpl, enum fault_mode mode,
			    uint64_t cut, const uint64_t *want,
			    const uint64_t *old, uint32_t nold, int *had,
			    uint64_t *checks)
{
	struct fault_dev *d = fault_dev_clone(tmpl), *c;
	const char *why;

	if (!d)
		return "no memory for the copy";
	/* The seed follows the cut, so GHEE_CRASH_CUT replays it. */
	fault_dev_arm(d, cut, mode, test_seed() + cut);
	balance_once(d);	/* fails at the cut */
	c = fault_dev_crash_image(d);
	why = c && fault_dev_is_cut(d) ?
		judge(c, want, old, nold, had, checks) :
		"no cut or no survivor";
	fault_dev_free(c);
	fault_dev_free(d);
	return why;
}

static void cuts(enum fault_mode mode)
{
	static uint64_t want[NFILES];
	uint64_t old[BAL_MAX_GROUPS], total, ncuts, i, cut;
	uint64_t checks = 0, found = 0;
	struct fault_dev *tmpl, *d;
	uint32_t nold = 0;
	int had, items = 0;
	const char *why, *one = getenv("GHEE_CRASH_CUT");

	tmpl = template_dev(want, old, &nold);
	CHECK(tmpl);
	if (fault_dev_btrfs_check(tmpl) == BTRFS_CHECK_MISSING) {
		fault_dev_free(tmpl);
		test_skip("btrfs-progs not installed");
		return;
	}
	d = fault_dev_clone(tmpl);	/* the uncut run: its writes */
	CHECK(d);
	fault_dev_arm(d, 0, mode, 0);
	CHECK_OK(balance_once(d));
	total = fault_dev_writes(d);
	fault_dev_free(d);
	ncuts = cut_count(total);
	CHECK(ncuts > 0);
	for (i = 1; i <= ncuts; i++) {
		cut = one ? strtoull(one, NULL, 0) : total * i / (ncuts + 1);
		why = cut_once(tmpl, mode, cut, want, old, nold, &had, &checks);
		items += !why && had;
		if (why && ++found <= 5)
			crash_finding("balance", mode, cut, total, why);
	}
	fault_dev_free(tmpl);
	crash_summary("balance", mode, total, ncuts, checks, found);
	CHECK_EQ(found, 0);
	CHECK(one || items > 0);
}

TEST(balance_crash, cut)
{
	cuts(FAULT_CUT);
}

TEST(balance_crash, reorder)
{
	cuts(FAULT_REORDER);
}

TEST(balance_crash, torn)
{
	cuts(FAULT_TORN);
}
