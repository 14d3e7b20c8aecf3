/*
 * Pause and cancel inside a big data group: a balance asked to stop
 * while it copies a group's extents stops after the extent in hand, not
 * at the group's end. The extents moved so far stay moved, the group
 * stays (writable) with the rest, every file reads the same, btrfs check
 * is clean, and a resume (or a new balance after a cancel) finishes the
 * group. The relocation is stopped at a known extent by holding the
 * device's reads of it (fault_dev_hold_reads), so the verdict never
 * depends on timing.
 */
#include <string.h>

#include <unistd.h>

#include <ghee/errno.h>
#include <ghee/task.h>

#include "../../fs/balance.h"
#include "../../fs/block_group.h"
#include "../../fs/ctree.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/volumes.h"
#include "balance_fixture.h"
#include "shim/fault_dev.h"
#include "test.h"

#define NFILES 40
#define FILE_KIB 1024
#define WAIT_MS 120000

/* The data group with the most used bytes: start and used. */
static void fullest_data_group(struct fs_info *fs, uint64_t *start,
			       uint64_t *used)
{
	uint32_t i;

	*start = *used = 0;
	mutex_lock(&fs->alloc_lock);
	for (i = 0; i < fs->space.nbg; i++) {
		const struct block_group *bg = fs->space.bg[i];

		if ((bg->flags & BTRFS_BLOCK_GROUP_DATA) && bg->used > *used) {
			*start = bg->start;
			*used = bg->used;
		}
	}
	mutex_unlock(&fs->alloc_lock);
}

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

/* Start a background balance of the data group at start only. */
static int balance_group(struct fs_info *fs, uint64_t start)
{
	struct fs_balance b;

	memset(&b, 0, sizeof(b));
	b.types = 1u << FS_BAL_DATA;
	b.f[FS_BAL_DATA].flags = FS_BAL_VRANGE;
	b.f[FS_BAL_DATA].vstart = start;
	b.f[FS_BAL_DATA].vend = start + 1;
	return fs_balance_start(fs, &b, 1);
}

/*
 * Hold the read of an extent in the middle of the fullest data group,
 * balance that group in the background, ask it to stop (pause or
 * cancel) while the read waits, let the read go: the run must stop with
 * the group partly moved.
 */
static void stop_mid_group(struct fault_dev *dev, struct fs_info *fs,
			   int cancel)
{
	static uint64_t before[NFILES], after[NFILES];
	struct stopper s = { fs, cancel };
	uint64_t start, used0, used, off;
	struct fs_balance b;
	struct task *t;
	int ro;

	CHECK_OK(bal_populate(fs, NFILES, FILE_KIB));
	CHECK_OK(bal_hash_files(fs, NFILES, before));
	fullest_data_group(fs, &start, &used0);
	CHECK(used0 >= 16u << 20);
	CHECK_OK(extent_device_offset(fs, start + used0 / 2, &off));
	fault_dev_hold_reads(dev, off, 4096);
	CHECK_OK(balance_group(fs, start));
	CHECK_OK(wait_until(read_held, fs, dev));
	t = task_create("stopper", stop_task, &s, TASK_PRIO_BACKGROUND);
	CHECK(t);
	CHECK_OK(wait_until(stop_requested, fs, dev));
	fault_dev_hold_reads(dev, 0, 0);
	CHECK_OK(task_join(t));

	CHECK_OK(group_state(fs, start, &used, &ro));
	CHECK(used > 0 && used < used0);	/* partly moved */
	CHECK_EQ(ro, 0);
	if (cancel) {
		CHECK_EQ(fs_balance_status(fs, &b), -ENOTCONN);
		CHECK_OK(balance_group(fs, start));
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
	CHECK_OK(bal_hash_files(fs, NFILES, after));
	CHECK(memcmp(before, after, sizeof(before)) == 0);
}

static void run(int cancel)
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
	stop_mid_group(dev, fs, cancel);
	fault_dev_hold_reads(dev, 0, 0);	/* a failed check left it */
	fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}

TEST(balance, pause_inside_a_data_group)
{
	run(0);
}

TEST(balance, cancel_inside_a_data_group)
{
	run(1);
}
