/*
 * Power cuts during a quota-accounted subvolume drop: a snapshot sharing
 * a tall tree with its source is deleted and the cleaner drops it over
 * many commits, with quotas on; the power is cut at several points of
 * the drop. Each image that survives must pass `btrfs check
 * --qgroup-report` as it is (every commit holds the counts of its own
 * state), and, mounted again, the drop resumes and the counts stay
 * those of the brute force (test_qgroup_env.c).
 */
#include <stdio.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "qgroup_env.h"
#include "shim/fault_dev.h"
#include "test.h"

#define CUTS 4

/* The filesystem before the drop: /v of many files, its snapshot /s,
 * each changed since. */
static int make_base(struct env *e)
{
	int ret = env_open(e, 4096);

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
		ret = sync_compare(e->fs);
	return ret;
}

/* Delete /s on a copy of base, cut the power after cut writes (0:
 * never) and give back what survived. */
static struct fault_dev *drop_and_cut(const struct fault_dev *base,
				      uint64_t cut, uint64_t *writes)
{
	struct fault_dev *d = fault_dev_clone(base), *crashed = NULL;
	struct fs_info *fs;
	u64 gen;

	if (!d || fs_mount(fault_dev_blk(d), 0, &fs)) {
		fault_dev_free(d);
		return NULL;
	}
	fault_dev_arm(d, cut, FAULT_CUT, 1);
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

TEST(qgroup_crash, power_cut_during_accounted_drop)
{
	struct env e = { 0 };
	struct fault_dev *base, *crashed;
	uint64_t total = 0, w, i;

	CHECK_OK(make_base(&e));
	fs_umount(e.fs);
	e.fs = NULL;
	base = e.dev;
	/* The whole drop's writes, to spread the cuts over. */
	crashed = drop_and_cut(base, 0, &total);
	CHECK(crashed && total > 20);
	fault_dev_free(crashed);
	for (i = 1; i <= CUTS; i++) {
		uint64_t cut = total * (2 * i - 1) / (2 * CUTS);

		crashed = drop_and_cut(base, cut, &w);
		CHECK(crashed);
		printf("# cut at write %llu of %llu\n", (unsigned long long)cut,
		       (unsigned long long)total);
		CHECK_OK(test_btrfs_check(__FILE__, __LINE__,
				fault_dev_btrfs_check_qgroups(crashed)));
		e.dev = crashed;
		CHECK_OK(fs_mount(fault_dev_blk(e.dev), 0, &e.fs));
		CHECK_OK(sync_compare(e.fs));
		CHECK_OK(env_close(&e));
		e.fs = NULL;
	}
	fault_dev_free(base);
}
