/*
 * Balance with quotas on (fs/balance*.c, fs/relocation*.c beside
 * fs/qgroup*.c): files, reflinks within and across subvolumes, a
 * read-only and a writable snapshot, both changed after, then a full
 * balance (data, metadata and system). Every file reads the same, every
 * qgroup's counts equal a brute-force count before and after (moving an
 * extent changes no count), and ghee's fsck, btrfs check and its qgroup
 * report are clean.
 */
#include <stdio.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "balance_fixture.h"
#include "qgroup_env.h"
#include "test.h"

#define NBIG 6		/* 1 MiB files /bN (balance_fixture.h) */

/* The tree: big files, many small ones, reflinks, two snapshots each
 * changed after it was taken, and a subvolume of its own. */
static int populate(struct fs_info *fs)
{
	int ret = bal_populate(fs, NBIG, 1024);

	if (ret == 0)
		ret = many_files(fs, "/many", 300, 'm');
	if (ret == 0)
		ret = reflink(fs, "/b1", "/r1", 256 << 10, 0);
	if (ret == 0)
		ret = reflink(fs, "/b2", "/r1", 64 << 10, 1 << 20);
	if (ret == 0)
		ret = fs_subvol_create(fs, "/sv");
	if (ret == 0)
		ret = reflink(fs, "/b3", "/sv/r3", 512 << 10, 0);
	if (ret == 0)
		ret = many_files(fs, "/sv/many", 100, 's');
	if (ret == 0)
		ret = fs_subvol_snapshot(fs, "/", "/ro", FS_SNAP_RDONLY);
	if (ret == 0)
		ret = fs_subvol_snapshot(fs, "/sv", "/sv/rw", 0);
	if (ret == 0)
		ret = put(fs, "/b1", 4096, 8192, 'x');	/* unshare a piece */
	if (ret == 0)
		ret = put(fs, "/sv/rw/many/f00007", 0, 5000, 'y');
	if (ret == 0)
		ret = fs_unlink(fs, "/b4");	/* now only in the snapshot */
	if (ret == 0)
		ret = reflink(fs, "/ro/b5", "/sv/rw/r5", 128 << 10, 0);
	return ret ? ret : fs_sync(fs);
}

static int balance_full(struct fs_info *fs, uint64_t *relocated)
{
	struct fs_balance b;
	int ret;

	memset(&b, 0, sizeof(b));
	b.types = (1u << FS_BAL_DATA) | (1u << FS_BAL_META) |
		  (1u << FS_BAL_SYS);
	b.force = 1;
	ret = fs_balance_start(fs, &b, 0);
	*relocated = b.relocated;
	return ret;
}

TEST(balance_quota, full_balance_keeps_counts_exact)
{
	static uint64_t before[NBIG], after[NBIG];
	uint64_t old[BAL_MAX_GROUPS], relocated = 0;
	struct env e;
	uint32_t n;

	CHECK_OK(env_open(&e, 4096));
	if (!e.fs)
		return;
	CHECK_OK(populate(e.fs));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(bal_hash_files(e.fs, NBIG, before));
	n = bal_groups(e.fs, old);
	CHECK_OK(balance_full(e.fs, &relocated));
	CHECK(relocated >= n);
	CHECK_EQ(bal_groups_left(e.fs, old, n), 0);
	CHECK(!fs_is_read_only(e.fs));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(bal_hash_files(e.fs, NBIG, after));
	CHECK(memcmp(before, after, sizeof(before)) == 0);
	CHECK_OK(env_close(&e));
}
