/*
 * Pause and cancel inside a big group: a balance asked to stop while it
 * copies a data group's extents stops after the extent in hand, and one
 * inside a metadata group after the batch of tree blocks in hand (the
 * group holds blocks of a subvolume and of snapshots sharing them), not
 * at the group's end. The extents moved so far stay moved, the group
 * stays (writable) with the rest, every file reads the same, btrfs check
 * is clean, and a resume (or a new balance after a cancel) finishes the
 * group. With quotas on, every qgroup's counts equal a brute-force
 * count at the stop and at the end (a group half moved changes none).
 * The relocation is stopped at a known extent (or, in a metadata group,
 * a subvolume leaf of a middle batch, read first by that batch) by
 * holding the device's reads of it (fault_dev_hold_reads), so the
 * verdict never depends on timing.
 */
#include <string.h>

#include <unistd.h>

#include <ghee/errno.h>
#include <ghee/task.h>

#include "../../fs/balance.h"
#include "../../fs/block_group.h"
#include "../../fs/ctree.h"
#include "../../fs/format.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/volumes.h"
#include "balance_fixture.h"
#include "qgroup_env.h"
#include "shim/fault_dev.h"
#include "test.h"

#define NFILES 40
#define FILE_KIB 1024
#define WAIT_MS 120000
#define BATCH 256		/* fs/relocation_blocks.c's batch */

/* The group at start: its used bytes and read-only flag; -ENOENT when
 * it is gone. */
static int group_state(struct fs_info *fs, uint64_t start, uint64_t *used,
		       int *ro)
{
	struct block_group *bg;
	int ret = -ENOENT;

	mutex_lock(&fs->alloc_lock);
	bg = bg_lookup(fs, start);
	if (bg && bg->start == start) {
		*used = bg->used;
		*ro = bg->ro;
		ret = 0;
	}
	mutex_unlock(&fs->alloc_lock);
	return ret;
}

/* The device offset of the first data extent at or after logical from. */
static int extent_device_offset(struct fs_info *fs, uint64_t from,
				uint64_t *off)
{
	struct key k = { from, 0, 0 };
	const struct chunk_mapping *m;
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_ge(&fs->extent_root, &k, &p);
	while (ret == 0) {
		ctree_item_key(&p, &k);
		if (k.type == BTRFS_EXTENT_ITEM_KEY)
			break;
		ret = ctree_next_item(&p);
	}
	ctree_path_release(&p);
	if (ret)
		return ret < 0 ? ret : -ENOENT;
	m = volumes_lookup(fs, k.objectid, 1);
	if (!m)
		return -ENOENT;
	*off = m->physical[0] + (k.objectid - m->logical);
	return 0;
}

struct stopper {
	struct fs_info *fs;
	int cancel;
};

static int stop_task(void *arg)
{
	struct stopper *s = arg;

	return s->cancel ? fs_balance_cancel(s->fs) : fs_balance_pause(s->fs);
}

/* Wait until cond(fs, dev) or WAIT_MS pass; 0 or -ETIMEDOUT. */
static int wait_until(int (*cond)(struct fs_info *, struct fault_dev *),
		      struct fs_info *fs, struct fault_dev *dev)
{
	int ms;

	for (ms = 0; ms < WAIT_MS; ms++) {
		if (cond(fs, dev))
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

static int read_held(struct fs_info *fs, struct fault_dev *dev)
{
	(void)fs;
	return fault_dev_held(dev) > 0;
}

static int stop_requested(struct fs_info *fs, struct fault_dev *dev)
{
	struct fs_balance b;

	(void)dev;
	return fs_balance_status(fs, &b) == 0 &&
	       (b.state & (FS_BAL_PAUSE_REQ | FS_BAL_CANCEL_REQ));
}

/* Start a background balance of the group at start only, of type
 * (FS_BAL_DATA, FS_BAL_META). */
static int balance_group(struct fs_info *fs, int type, uint64_t start)
{
	struct fs_balance b;

	memset(&b, 0, sizeof(b));
	b.types = 1u << type;
	b.f[type].flags = FS_BAL_VRANGE;
	b.f[type].vstart = start;
	b.f[type].vend = start + 1;
	return fs_balance_start(fs, &b, 1);
}

/*
 * Hold the reads of device bytes [off, off + 4096) of the group at start
 * (of type), balance that group in the background, ask it to stop
 * (pause or cancel) while the read waits, let the read go: the run must
 * stop with the group partly moved, and a resume (or a new balance
 * after a cancel) must finish it.
 */
static void stop_and_finish(struct fault_dev *dev, struct fs_info *fs,
			    int type, uint64_t start, uint64_t off,
			    int cancel, int quota)
{
	struct stopper s = { fs, cancel };
	uint64_t used0, used;
	struct fs_balance b;
	struct task *t;
	int ro;

	CHECK_OK(group_state(fs, start, &used0, &ro));
	fault_dev_hold_reads(dev, off, 4096);
	CHECK_OK(balance_group(fs, type, start));
	CHECK_OK(wait_until(read_held, fs, dev));
	t = task_create("stopper", stop_task, &s, TASK_PRIO_BACKGROUND);
	CHECK(t);
	CHECK_OK(wait_until(stop_requested, fs, dev));
	fault_dev_hold_reads(dev, 0, 0);
	CHECK_OK(task_join(t));

	CHECK_OK(group_state(fs, start, &used, &ro));
	CHECK(used > 0 && used < used0);	/* partly moved */
	CHECK_EQ(ro, 0);
	if (quota)
		CHECK_OK(sync_compare(fs));
	if (cancel) {
		CHECK_EQ(fs_balance_status(fs, &b), -ENOTCONN);
		CHECK_OK(balance_group(fs, type, start));
		CHECK_OK(bal_wait_none(fs, 120));
	} else {
		CHECK_OK(fs_balance_status(fs, &b));
		CHECK_EQ(b.state, 0);		/* paused */
		CHECK_EQ(b.relocated, 0);
		memset(&b, 0, sizeof(b));
		CHECK_OK(fs_balance_resume(fs, &b));
		CHECK_EQ(b.relocated, 1);
	}
	CHECK_EQ(group_state(fs, start, &used, &ro), -ENOENT);
}

/* Stop inside the fullest data group, at an extent in its middle. */
static void stop_mid_data_group(struct fault_dev *dev, struct fs_info *fs,
				int cancel, int quota)
{
	static uint64_t before[NFILES], after[NFILES];
	uint64_t start, used0, off;

	CHECK_OK(bal_populate(fs, NFILES, FILE_KIB));
	CHECK_OK(bal_hash_files(fs, NFILES, before));
	bal_fullest_group(fs, BTRFS_BLOCK_GROUP_DATA, &start, &used0);
	CHECK(used0 >= 16u << 20);
	CHECK_OK(extent_device_offset(fs, start + used0 / 2, &off));
	stop_and_finish(dev, fs, FS_BAL_DATA, start, off, cancel, quota);
	CHECK_OK(bal_hash_files(fs, NFILES, after));
	CHECK(memcmp(before, after, sizeof(before)) == 0);
	if (quota)
		CHECK_OK(sync_compare(fs));
}

/*
 * The device offset of a subvolume leaf of the metadata group at
 * [start, start + len) past its first batch and with more than a batch
 * after it: a middle batch reads it first (a leaf is on no other
 * block's path, and nothing else reads a subvolume's leaf meanwhile).
 */
static int middle_subvol_leaf(struct fs_info *fs, uint64_t start,
			      uint64_t *off)
{
	static uint64_t v[8192];
	struct key k = { start, 0, 0 };
	const struct chunk_mapping *m;
	uint64_t len, n = 0, i;
	struct ctree_path p;
	int ret;

	mutex_lock(&fs->alloc_lock);
	len = bg_lookup(fs, start)->length;
	mutex_unlock(&fs->alloc_lock);
	ctree_path_init(&p);
	ret = ctree_search_ge(&fs->extent_root, &k, &p);
	while (ret == 0 && n < 8192) {
		uint32_t size;
		const uint8_t *item = ctree_item_ptr(&p, &size);
		uint8_t type;
		uint64_t root;

		ctree_item_key(&p, &k);
		if (k.objectid >= start + len)
			break;
		if (k.type == BTRFS_METADATA_ITEM_KEY) {
			type = item[sizeof(struct d_extent_item)];
			root = get_le64(item + sizeof(struct d_extent_item) +
					1);
			/* a subvolume leaf: v[n] with the top bit clear */
			v[n++] = k.objectid | (k.offset == 0 &&
				(type == BTRFS_SHARED_BLOCK_REF_KEY ||
				 (type == BTRFS_TREE_BLOCK_REF_KEY &&
				  root >= BTRFS_FIRST_FREE_OBJECTID)) ?
				0 : 1ull << 63);
		}
		ret = ctree_next_item(&p);
	}
	ctree_path_release(&p);
	if (ret < 0)
		return ret;
	for (i = BATCH + 20; i + BATCH + 20 < n; i++)
		if (!(v[i] >> 63))
			break;
	if (i + BATCH + 20 >= n)
		return -ENOENT;
	m = volumes_lookup(fs, v[i], 1);
	if (!m)
		return -ENOENT;
	*off = m->physical[0] + (v[i] - m->logical);
	return 0;
}

/* Stop inside the fullest metadata group, in a middle batch. The
 * filesystem is mounted again first, so no leaf is cached. */
static void stop_mid_meta_group(struct fault_dev *dev, struct fs_info **fs,
				int cancel)
{
	uint64_t before[BAL_META_HASHES], after[BAL_META_HASHES];
	uint64_t start, used0, off = 0;

	CHECK_OK(bal_populate_meta(*fs));
	CHECK_OK(bal_hash_meta(*fs, before));
	fs_umount(*fs);
	*fs = NULL;
	CHECK_OK(fs_mount(fault_dev_blk(dev), 0, fs));
	if (!*fs)
		return;
	bal_fullest_group(*fs, BTRFS_BLOCK_GROUP_METADATA, &start, &used0);
	CHECK_OK(middle_subvol_leaf(*fs, start, &off));
	stop_and_finish(dev, *fs, FS_BAL_META, start, off, cancel, 0);
	CHECK_OK(bal_hash_meta(*fs, after));
	CHECK(memcmp(before, after, sizeof(before)) == 0);
}

static void run(int meta, int cancel, int quota)
{
	struct fs_mkfs_opts o = { NULL, 4096, 0, NULL };
	struct fault_dev *dev = fault_dev_new(512ull << 20);
	struct fs_info *fs = NULL;

	if (!dev || fs_mkfs(fault_dev_blk(dev), &o) ||
	    fs_mount(fault_dev_blk(dev), 0, &fs)) {
		test_fail(__FILE__, __LINE__, "mkfs or mount failed");
		if (dev)
			fault_dev_free(dev);
		return;
	}
	if (quota)
		CHECK_OK(fs_quota_enable(fs));
	if (meta)
		stop_mid_meta_group(dev, &fs, cancel);
	else
		stop_mid_data_group(dev, fs, cancel, quota);
	fault_dev_hold_reads(dev, 0, 0);	/* a failed check left it */
	if (fs)
		fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, quota ?
			 fault_dev_btrfs_check_qgroups(dev) :
			 fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}

TEST(balance, pause_inside_a_data_group)
{
	run(0, 0, 0);
}

TEST(balance, cancel_inside_a_data_group)
{
	run(0, 1, 0);
}

TEST(balance, pause_inside_a_data_group_with_quotas)
{
	run(0, 0, 1);
}

TEST(balance, pause_inside_a_metadata_group_with_snapshots)
{
	run(1, 0, 0);
}

TEST(balance, cancel_inside_a_metadata_group_with_snapshots)
{
	run(1, 1, 0);
}
