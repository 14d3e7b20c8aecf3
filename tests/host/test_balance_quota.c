/*
 * Balance with quotas on (fs/balance*.c, fs/relocation*.c beside
 * fs/qgroup*.c), a full balance (data, metadata and system) of:
 *  - files, reflinks within and across subvolumes, a read-only and a
 *    writable snapshot, both changed after;
 *  - a subvolume with 100 read-only snapshots taken between small
 *    changes and reflinks from older snapshots, so that leaves and nodes
 *    are shared by up to 101 trees, many through FULL_BACKREF parents.
 * Every file reads the same, every qgroup's counts equal a brute-force
 * count before and after (moving an extent changes no count), used bytes
 * do not grow (a shared block is copied once), and ghee's fsck, btrfs
 * check and its qgroup report are clean.
 */
#include <stdio.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "balance_fixture.h"
#include "qgroup_env.h"
#include "test.h"
#include "test_env.h"

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

#define NSNAPS 100	/* read-only snapshots of /sv */
#define NSVFILES 200	/* files of /sv */
#define SAMPLE 10	/* every SAMPLEth snapshot's files are hashed */
#define NHASHED ((NSNAPS / SAMPLE + 1) * NSVFILES * 2)

/* /sv with NSVFILES files (inline, and 4 to 16 KiB) and NSNAPS snapshots
 * /s1... of it; before each, one file is rewritten in part and every
 * tenth time a file of the snapshot before is reflinked in as /sv/rN. */
static int populate_snapshots(struct fs_info *fs)
{
	char name[48], src[48];
	int i, ret = fs_subvol_create(fs, "/sv");

	for (i = 0; i < NSVFILES && ret == 0; i++) {
		snprintf(name, sizeof(name), "/sv/f%03d", i);
		ret = put(fs, name, 0, i % 5 ? (size_t)(i % 4 + 1) * 4096 : 100,
			  'a' + i % 26);
	}
	for (i = 1; i <= NSNAPS && ret == 0; i++) {
		snprintf(name, sizeof(name), "/sv/f%03d", i * 7 % NSVFILES);
		ret = put(fs, name, 0, 4096, '0' + i % 10);
		if (ret == 0 && i % 10 == 0) {
			snprintf(src, sizeof(src), "/s%d/f%03d", i - 1,
				 (i * 3 + 1) % NSVFILES);
			snprintf(name, sizeof(name), "/sv/r%03d", i);
			ret = reflink(fs, src, name, 4096, 0);
		}
		snprintf(name, sizeof(name), "/s%d", i);
		if (ret == 0)
			ret = fs_subvol_snapshot(fs, "/sv", name,
						 FS_SNAP_RDONLY);
	}
	return ret ? ret : fs_sync(fs);
}

/* Hashes of the files (fN and rN) of /sv and of every SAMPLEth
 * snapshot. */
static int hash_snapshots(struct fs_info *fs, uint64_t *h)
{
	char tree[16], name[48];
	int s, i, n = 0, ret = 0;

	for (s = 0; s <= NSNAPS && ret == 0; s += SAMPLE) {
		snprintf(tree, sizeof(tree), s ? "/s%d" : "/sv", s);
		for (i = 0; i < NSVFILES && ret == 0; i++) {
			snprintf(name, sizeof(name), "%s/f%03d", tree, i);
			ret = file_hash(fs, name, &h[n++]);
			snprintf(name, sizeof(name), "%s/r%03d", tree, i);
			if (ret == 0)
				ret = file_hash(fs, name, &h[n++]);
		}
	}
	return ret;
}

TEST(balance_quota, hundred_snapshots_stay_shared_and_counted)
{
	static uint64_t before[NHASHED], after[NHASHED];
	uint64_t old[BAL_MAX_GROUPS], relocated = 0, used0, used1;
	struct env e;
	uint32_t n;

	CHECK_OK(env_open(&e, 4096));
	if (!e.fs)
		return;
	CHECK_OK(populate_snapshots(e.fs));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(hash_snapshots(e.fs, before));
	used0 = e.fs->bytes_used;
	n = bal_groups(e.fs, old);
	CHECK_OK(balance_full(e.fs, &relocated));
	CHECK(relocated >= n);
	CHECK_EQ(bal_groups_left(e.fs, old, n), 0);
	CHECK_OK(sync_compare(e.fs));
	used1 = e.fs->bytes_used;
	printf("# %u groups relocated, used %llu -> %llu bytes\n", n,
	       (unsigned long long)used0, (unsigned long long)used1);
	/* An unshared copy of the trees would add thousands of blocks. */
	CHECK(used1 <= used0 + 16ull * e.fs->nodesize);
	CHECK_OK(hash_snapshots(e.fs, after));
	CHECK(memcmp(before, after, sizeof(before)) == 0);
	CHECK_OK(env_close(&e));
}
