/*
 * Power cuts during a shrink (fs/resize.c on the fault device,
 * shim/fault_dev.h): a 512 MiB filesystem whose files lie in chunks past
 * 300 MiB (a preallocated file filled the space below, then went) is
 * shrunk to 300 MiB and cut at sampled writes, in each cut mode. Every
 * survivor must pass btrfs check, hold every file as before, and have
 * either size, old or new; an old-sized one must then finish the shrink
 * (and pass btrfs check again). GHEE_CRASH_ALL=1 (make crash) samples
 * ALL_CUTS cut points per mode, GHEE_CRASH_CUT=N cuts at write N only.
 * Each mode prints its `# crash` summary line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "balance_fixture.h"
#include "crash_model.h"
#include "shim/fault_dev.h"
#include "test.h"

#define MIB (1ull << 20)
#define DEV_SIZE (512 * MIB)
#define NEW_SIZE (300 * MIB)
#define PREALLOC (290 * MIB)
#define NFILES 8
#define CUTS 4			/* sampled cut points per mode (default) */
#define ALL_CUTS 60		/* with GHEE_CRASH_ALL */

/* The device size fs says it has, or 0. */
static uint64_t size_of(struct fs_info *fs)
{
	struct fs_ident id;

	return fs_ident(fs, &id) ? 0 : id.dev_size;
}

/* The filesystem every cut starts from, unmounted; its files' hashes
 * and its groups' starts. */
static struct fault_dev *template_dev(uint64_t *hash, uint64_t *groups,
				      uint32_t *ngroups)
{
	struct fs_mkfs_opts o = { NULL, 4096, 0, NULL };
	struct fault_dev *dev = fault_dev_new(DEV_SIZE);
	struct fs_info *fs = NULL;
	struct fs_ino pre;
	int ret = dev ? fs_mkfs(fault_dev_blk(dev), &o) : -ENOMEM;

	if (ret == 0)
		ret = fs_mount(fault_dev_blk(dev), 0, &fs);
	if (ret == 0)
		ret = fs_create(fs, "/pre", 0100644, &pre);
	if (ret == 0)
		ret = fs_fallocate(fs, pre, 0, PREALLOC, 0);
	if (ret == 0)
		ret = bal_populate(fs, NFILES, 1024);
	if (ret == 0)
		ret = fs_unlink(fs, "/pre");
	if (ret == 0)
		ret = fs_sync(fs);
	if (ret == 0)
		ret = bal_hash_files(fs, NFILES, hash);
	if (ret == 0)
		*ngroups = bal_groups(fs, groups);
	fs_umount(fs);
	if (ret && dev) {
		fault_dev_free(dev);
		dev = NULL;
	}
	return dev;
}

/* Mount dev, shrink it to NEW_SIZE, unmount. */
static int shrink_once(struct fault_dev *dev)
{
	struct fs_info *fs = NULL;
	int ret = fs_mount(fault_dev_blk(dev), 0, &fs);

	if (ret == 0)
		ret = fs_resize(fs, NEW_SIZE);
	if (ret == 0 && size_of(fs) != NEW_SIZE)
		ret = -EIO;
	fs_umount(fs);
	return ret;
}

/* Judge one survivor; NULL when good, else what was wrong. *old: it
 * kept the old size; *checks counts the btrfs checks run. */
static const char *judge(struct fault_dev *c, const uint64_t *want,
			 int *old, uint64_t *checks)
{
	static uint64_t got[NFILES];
	struct fs_info *fs = NULL;
	const char *why = NULL;
	uint64_t size;

	++*checks;
	if (fault_dev_btrfs_check(c) == BTRFS_CHECK_ERRORS)
		return "btrfs check failed on the survivor";
	if (fs_mount(fault_dev_blk(c), 0, &fs))
		return "the survivor does not mount";
	size = size_of(fs);
	*old = size == DEV_SIZE;
	if (bal_hash_files(fs, NFILES, got) || memcmp(got, want, sizeof(got)))
		why = "a file differs after the cut";
	else if (size != DEV_SIZE && size != NEW_SIZE)
		why = "the survivor has neither size";
	else if (*old && (fs_resize(fs, NEW_SIZE) || size_of(fs) != NEW_SIZE))
		why = "the shrink does not finish after the cut";
	else if (bal_hash_files(fs, NFILES, got) ||
		 memcmp(got, want, sizeof(got)))
		why = "a file differs after the shrink finished";
	fs_umount(fs);
	if (!why && *old && ++*checks &&
	    fault_dev_btrfs_check(c) == BTRFS_CHECK_ERRORS)
		why = "btrfs check failed after the shrink finished";
	return why;
}

static uint64_t cut_count(uint64_t total)
{
	uint64_t n = getenv("GHEE_CRASH_ALL") ? ALL_CUTS : CUTS;

	if (getenv("GHEE_CRASH_CUT"))
		n = 1;
	return n < total ? n : total - 1;
}

static void cuts(enum fault_mode mode)
{
	static uint64_t want[NFILES];
	uint64_t total, ncuts, i, cut, checks = 0, found = 0;
	uint64_t groups[BAL_MAX_GROUPS];
	uint32_t ngroups = 0;
	struct fs_info *fs = NULL;
	const char *why, *one = getenv("GHEE_CRASH_CUT");
	struct fault_dev *tmpl, *d, *c;
	int old, olds = 0;

	tmpl = template_dev(want, groups, &ngroups);
	CHECK(tmpl);
	if (fault_dev_btrfs_check(tmpl) == BTRFS_CHECK_MISSING) {
		fault_dev_free(tmpl);
		test_skip("btrfs-progs not installed");
		return;
	}
	d = fault_dev_clone(tmpl);	/* the uncut run: its writes */
	CHECK(d);
	fault_dev_arm(d, 0, mode, 0);
	CHECK_OK(shrink_once(d));
	total = fault_dev_writes(d);
	/* the shrink moved groups (the test cuts relocation, not only
	 * the size's commit) */
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	CHECK(bal_groups_left(fs, groups, ngroups) < ngroups);
	fs_umount(fs);
	fault_dev_free(d);
	ncuts = cut_count(total);
	CHECK(ncuts > 0);
	for (i = 1; i <= ncuts; i++) {
		cut = one ? strtoull(one, NULL, 0) : total * i / (ncuts + 1);
		d = fault_dev_clone(tmpl);
		CHECK(d);
		/* The seed follows the cut, so GHEE_CRASH_CUT replays it. */
		fault_dev_arm(d, cut, mode, test_seed() + cut);
		shrink_once(d);		/* fails at the cut */
		c = fault_dev_crash_image(d);
		why = c && fault_dev_is_cut(d) ? judge(c, want, &old, &checks) :
		      "no cut or no survivor";
		olds += !why && old;
		if (why && ++found <= 5)
			crash_finding("resize", mode, cut, total, why);
		fault_dev_free(c);
		fault_dev_free(d);
	}
	fault_dev_free(tmpl);
	crash_summary("resize", mode, total, ncuts, checks, found);
	CHECK_EQ(found, 0);
	CHECK(one || olds > 0);
}

TEST(resize_crash, cut)
{
	cuts(FAULT_CUT);
}

TEST(resize_crash, reorder)
{
	cuts(FAULT_REORDER);
}

TEST(resize_crash, torn)
{
	cuts(FAULT_TORN);
}
