/*
 * Balance of SYSTEM block groups (`balance start -s -f`): the chunk
 * tree's blocks move to a new SYSTEM chunk, the superblock's
 * sys_chunk_array names exactly the SYSTEM chunks after each commit (so
 * the next mount finds the chunk tree), convert=single and back to dup
 * change the SYSTEM profile, files read the same, and btrfs check finds
 * the image clean after each step.
 */
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/block_group.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/volumes.h"
#include "balance_fixture.h"
#include "shim/fault_dev.h"
#include "test.h"

#define NFILES 8
#define FILE_KIB 256
#define MAX_SYS 8

/* The SYSTEM groups: starts and flags; how many. */
static uint32_t sys_groups(struct fs_info *fs, uint64_t *start,
			   uint64_t *flags)
{
	uint32_t i, n = 0;

	mutex_lock(&fs->alloc_lock);
	for (i = 0; i < fs->space.nbg && n < MAX_SYS; i++)
		if (fs->space.bg[i]->flags & BTRFS_BLOCK_GROUP_SYSTEM) {
			start[n] = fs->space.bg[i]->start;
			flags[n++] = fs->space.bg[i]->flags;
		}
	mutex_unlock(&fs->alloc_lock);
	return n;
}

/* The chunks the superblock's sys_chunk_array names (their logical
 * starts and stripe counts), in array order; how many, or -1 when the
 * array is malformed. */
static int sys_array(struct fs_info *fs, uint64_t *start, uint32_t *stripes)
{
	const uint8_t *a = fs->super->sys_chunk_array;
	uint32_t size = get_le32(&fs->super->sys_chunk_array_size), pos = 0;
	int n = 0;

	while (pos < size && n < MAX_SYS) {
		struct key k;

		key_from_disk(&k, a + pos);
		pos += sizeof(struct d_key);
		if (k.type != BTRFS_CHUNK_ITEM_KEY)
			return -1;
		start[n] = k.offset;
		stripes[n] = D_GET16(struct d_chunk, a + pos, num_stripes);
		pos += sizeof(struct d_chunk) +
		       stripes[n] * sizeof(struct d_stripe);
		n++;
	}
	return pos == size ? n : -1;
}

/* Balance the SYSTEM groups, converting to target when not 0. */
static int balance_sys(struct fs_info *fs, uint64_t target, uint64_t *moved)
{
	struct fs_balance b;
	int ret;

	memset(&b, 0, sizeof(b));
	b.types = 1u << FS_BAL_SYS;
	b.force = 1;
	if (target) {
		b.f[FS_BAL_SYS].flags = FS_BAL_CONVERT;
		b.f[FS_BAL_SYS].target = target;
	}
	ret = fs_balance_start(fs, &b, 0);
	*moved = b.relocated;
	return ret;
}

/* The SYSTEM groups are one of profile prof, not at old, and the
 * superblock names exactly them. */
static void sys_moved_to(struct fs_info *fs, uint64_t old, uint64_t prof)
{
	uint64_t start[MAX_SYS], flags[MAX_SYS], astart[MAX_SYS];
	uint32_t stripes[MAX_SYS];
	uint32_t n = sys_groups(fs, start, flags);
	int an = sys_array(fs, astart, stripes);

	CHECK_EQ(n, 1);
	CHECK(start[0] != old);
	CHECK_EQ(flags[0] & BTRFS_BLOCK_GROUP_PROFILE_MASK, prof);
	CHECK_EQ(an, 1);
	CHECK_EQ(astart[0], start[0]);
	CHECK_EQ(stripes[0], prof & BTRFS_BLOCK_GROUP_DUP ? 2u : 1u);
}

/* Check the image, remount it, and compare the files with want. */
static int check_remount(struct fault_dev *dev, struct fs_info **fs,
			 const uint64_t *want)
{
	uint64_t got[NFILES];
	int ret;

	fs_umount(*fs);
	*fs = NULL;
	if (test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev)))
		return -EUCLEAN;
	ret = fs_mount(fault_dev_blk(dev), 0, fs);
	if (ret == 0)
		ret = bal_hash_files(*fs, NFILES, got);
	if (ret == 0 && memcmp(want, got, sizeof(got)))
		ret = -EIO;
	return ret;
}

static void system_steps(struct fault_dev *dev, struct fs_info **fs)
{
	uint64_t want[NFILES], start[MAX_SYS], flags[MAX_SYS], moved;

	CHECK_OK(bal_populate(*fs, NFILES, FILE_KIB));
	CHECK_OK(bal_hash_files(*fs, NFILES, want));
	CHECK_EQ(sys_groups(*fs, start, flags), 1);

	/* mkfs made it DUP: moved, it stays DUP. */
	CHECK_OK(balance_sys(*fs, 0, &moved));
	CHECK_EQ(moved, 1);
	sys_moved_to(*fs, start[0], BTRFS_BLOCK_GROUP_DUP);
	CHECK_OK(check_remount(dev, fs, want));

	sys_groups(*fs, start, flags);
	CHECK_OK(balance_sys(*fs, FS_BAL_SINGLE, &moved));
	CHECK_EQ(moved, 1);
	sys_moved_to(*fs, start[0], 0);
	CHECK_OK(check_remount(dev, fs, want));

	sys_groups(*fs, start, flags);
	CHECK_OK(balance_sys(*fs, BTRFS_BLOCK_GROUP_DUP, &moved));
	CHECK_EQ(moved, 1);
	sys_moved_to(*fs, start[0], BTRFS_BLOCK_GROUP_DUP);
	CHECK_OK(check_remount(dev, fs, want));
}

TEST(balance, system_chunks_relocated_and_converted)
{
	struct fs_mkfs_opts o = { NULL, 4096, 0, NULL };
	struct fault_dev *dev = fault_dev_new(256ull << 20);
	struct fs_info *fs = NULL;

	if (!dev || fs_mkfs(fault_dev_blk(dev), &o) ||
	    fs_mount(fault_dev_blk(dev), 0, &fs)) {
		test_fail(__FILE__, __LINE__, "mkfs or mount failed");
		if (dev)
			fault_dev_free(dev);
		return;
	}
	system_steps(dev, &fs);
	if (fs)
		fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}
