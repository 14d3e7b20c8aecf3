/*
 * Balance as a whole (fs/balance*.c): a background balance paused keeps
 * its item across unmount (Linux's layout, btrfs check clean), a
 * skip_balance mount leaves it paused for resume, a plain mount resumes
 * it as a task, cancel drops it; pause, resume and cancel with no
 * balance say -ENOTCONN; a foreground balance whose task is stopped
 * (Ctrl-C, kill) is cancelled; a group that fits nowhere is refused with
 * -ENOSPC before anything moves; the stripes filter picks groups by
 * their stripe count; relocation trees Linux left (a root item of tree
 * -8) make the mount read-only.
 */
#include <string.h>

#include <unistd.h>

#include <ghee/errno.h>
#include <ghee/task.h>

#include "../../fs/balance.h"
#include "../../fs/ctree_write.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/subvol.h"
#include "../../fs/transaction.h"
#include "balance_fixture.h"
#include "shim/fault_dev.h"
#include "test.h"

#define NFILES 40
#define FILE_KIB 1024

/* A filesystem of NFILES files on a new device, mounted. */
static struct fault_dev *setup(uint64_t size, struct fs_info **fs)
{
	struct fs_mkfs_opts o = { NULL, 4096, 0, NULL };
	struct fault_dev *dev = fault_dev_new(size);

	*fs = NULL;
	if (!dev || fs_mkfs(fault_dev_blk(dev), &o) ||
	    fs_mount(fault_dev_blk(dev), 0, fs)) {
		test_fail(__FILE__, __LINE__, "mkfs or mount failed");
		if (dev)
			fault_dev_free(dev);
		return NULL;
	}
	return dev;
}

static int remount(struct fault_dev *dev, struct fs_info **fs, unsigned fl)
{
	fs_umount(*fs);
	*fs = NULL;
	return fs_mount(fault_dev_blk(dev), fl, fs);
}

/* Start a full balance in the background and pause it at once. */
static int start_and_pause(struct fs_info *fs)
{
	struct fs_balance b;
	int ret;

	memset(&b, 0, sizeof(b));
	b.types = 7;
	ret = fs_balance_start(fs, &b, 1);
	return ret ? ret : fs_balance_pause(fs);
}

static void pause_skip_resume(struct fault_dev *dev, struct fs_info **fsp)
{
	static uint64_t before[NFILES], after[NFILES];
	uint64_t old[BAL_MAX_GROUPS];
	struct fs_balance b, rec;
	uint32_t n;

	CHECK_OK(bal_populate(*fsp, NFILES, FILE_KIB));
	CHECK_OK(bal_hash_files(*fsp, NFILES, before));
	n = bal_groups(*fsp, old);
	CHECK_OK(start_and_pause(*fsp));
	CHECK_OK(fs_balance_status(*fsp, &b));
	CHECK_EQ(b.state & FS_BAL_RUNNING, 0);
	CHECK(b.relocated < b.expected);	/* stopped before its end */
	CHECK_EQ(fs_balance_pause(*fsp), -ENOTCONN);	/* not running */
	CHECK_OK(remount(dev, fsp, FS_MOUNT_SKIP_BALANCE));
	CHECK_OK(balance_item_read(*fsp, &rec));
	CHECK_EQ(rec.types, 7);
	CHECK_OK(fs_balance_status(*fsp, &b));
	CHECK_EQ(b.state, 0);			/* paused */
	CHECK_EQ(b.resumed, 1);
	CHECK_EQ(fs_balance_start(*fsp, &rec, 0), -EINPROGRESS);
	memset(&b, 0, sizeof(b));
	CHECK_OK(fs_balance_resume(*fsp, &b));
	CHECK(b.relocated > 0);
	CHECK_EQ(fs_balance_status(*fsp, &b), -ENOTCONN);
	CHECK_EQ(balance_item_read(*fsp, &rec), -ENOENT);
	CHECK_EQ(bal_groups_left(*fsp, old, n), 0);
	CHECK_OK(bal_hash_files(*fsp, NFILES, after));
	CHECK(memcmp(before, after, sizeof(before)) == 0);
}

TEST(balance, paused_item_kept_then_resumed)
{
	struct fs_info *fs;
	struct fault_dev *dev = setup(256ull << 20, &fs);

	if (!dev)
		return;
	pause_skip_resume(dev, &fs);
	if (fs)
		fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}

static void mount_resumes(struct fault_dev *dev, struct fs_info **fsp)
{
	uint64_t old[BAL_MAX_GROUPS];
	struct fs_balance rec;
	uint32_t n;

	CHECK_OK(bal_populate(*fsp, NFILES, FILE_KIB));
	n = bal_groups(*fsp, old);
	CHECK_OK(start_and_pause(*fsp));
	fs_umount(*fsp);
	*fsp = NULL;
	/* What a paused balance leaves on disk is clean. */
	if (test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev)))
		return;
	CHECK_OK(fs_mount(fault_dev_blk(dev), 0, fsp));
	CHECK_OK(bal_wait_none(*fsp, 120));
	CHECK_EQ(balance_item_read(*fsp, &rec), -ENOENT);
	CHECK_EQ(bal_groups_left(*fsp, old, n), 0);
}

TEST(balance, mount_resumes_the_item)
{
	struct fs_info *fs;
	struct fault_dev *dev = setup(256ull << 20, &fs);

	if (!dev)
		return;
	mount_resumes(dev, &fs);
	if (fs)
		fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}

static void cancel_drops(struct fault_dev *dev, struct fs_info **fsp)
{
	struct fs_balance b, rec;

	CHECK_EQ(fs_balance_pause(*fsp), -ENOTCONN);
	CHECK_EQ(fs_balance_cancel(*fsp), -ENOTCONN);
	CHECK_EQ(fs_balance_resume(*fsp, &b), -ENOTCONN);
	CHECK_EQ(fs_balance_status(*fsp, &b), -ENOTCONN);
	CHECK_OK(bal_populate(*fsp, NFILES, FILE_KIB));
	CHECK_OK(start_and_pause(*fsp));
	CHECK_OK(fs_balance_cancel(*fsp));	/* a paused one */
	CHECK_EQ(fs_balance_status(*fsp, &b), -ENOTCONN);
	memset(&b, 0, sizeof(b));
	b.types = 7;
	CHECK_OK(fs_balance_start(*fsp, &b, 1));
	CHECK_OK(fs_balance_cancel(*fsp));	/* a running one */
	CHECK_EQ(fs_balance_status(*fsp, &b), -ENOTCONN);
	CHECK_OK(remount(dev, fsp, FS_MOUNT_SKIP_BALANCE));
	CHECK_EQ(balance_item_read(*fsp, &rec), -ENOENT);
}

TEST(balance, cancel_drops_the_item)
{
	struct fs_info *fs;
	struct fault_dev *dev = setup(256ull << 20, &fs);

	if (!dev)
		return;
	cancel_drops(dev, &fs);
	if (fs)
		fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}

/* A foreground full balance, as `balance start` runs it. */
static int foreground(void *arg)
{
	struct fs_balance b;

	memset(&b, 0, sizeof(b));
	b.types = 7;
	return fs_balance_start(arg, &b, 0);
}

static void stop_cancels(struct fs_info *fs)
{
	struct fs_balance b, rec;
	struct task *t;
	int i;

	CHECK_OK(bal_populate(fs, NFILES, FILE_KIB));
	t = task_create("fg-balance", foreground, fs, TASK_PRIO_BACKGROUND);
	CHECK(t);
	for (i = 0; i < 2000 && fs_balance_status(fs, &b); i++)
		usleep(1000);		/* until it started */
	task_stop(task_id(t));
	CHECK_EQ(task_join(t), -ECANCELED);
	CHECK_EQ(fs_balance_status(fs, &b), -ENOTCONN);
	CHECK_EQ(balance_item_read(fs, &rec), -ENOENT);
}

TEST(balance, stopped_foreground_is_cancelled)
{
	struct fs_info *fs;
	struct fault_dev *dev = setup(256ull << 20, &fs);

	if (!dev)
		return;
	stop_cancels(fs);
	fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}

/* Fill the filesystem with 1 MiB files until it is full. */
static int fill_up(struct fs_info *fs, int *nfiles)
{
	int ret;

	for (*nfiles = 0; *nfiles < 1000; (*nfiles)++) {
		ret = bal_populate_one(fs, *nfiles);
		if (ret == -ENOSPC)
			return fs_sync(fs);
		if (ret)
			return ret;
	}
	return -EFBIG;
}

static void full_refused(struct fs_info *fs)
{
	static uint64_t before[1000], after[1000];
	uint64_t old[BAL_MAX_GROUPS];
	struct fs_balance b;
	uint32_t n;
	int nfiles;

	CHECK_OK(fill_up(fs, &nfiles));
	CHECK_OK(bal_hash_files(fs, nfiles, before));
	n = bal_groups(fs, old);
	memset(&b, 0, sizeof(b));
	b.types = 1u << FS_BAL_DATA;
	CHECK_EQ(fs_balance_start(fs, &b, 0), -ENOSPC);
	CHECK_EQ(b.relocated, 0);
	CHECK(!fs_is_read_only(fs));		/* nothing aborted */
	CHECK_EQ(bal_groups_left(fs, old, n), n);
	CHECK_EQ(fs_balance_status(fs, &b), -ENOTCONN);
	CHECK_OK(bal_hash_files(fs, nfiles, after));
	CHECK(memcmp(before, after, nfiles * sizeof(before[0])) == 0);
}

TEST(balance, group_that_fits_nowhere_refused_before_moving)
{
	struct fs_info *fs;
	struct fault_dev *dev = setup(96ull << 20, &fs);

	if (!dev)
		return;
	full_refused(fs);
	fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}

/* Relocate with one type's stripes filter; how many groups moved. */
static int by_stripes(struct fs_info *fs, int type, uint32_t lo, uint32_t hi,
		      uint64_t *moved)
{
	struct fs_balance b;
	int ret;

	memset(&b, 0, sizeof(b));
	b.types = 1u << type;
	b.f[type].flags = FS_BAL_STRIPES;
	b.f[type].stripes_min = lo;
	b.f[type].stripes_max = hi;
	ret = fs_balance_start(fs, &b, 0);
	*moved = b.relocated;
	return ret;
}

static void stripes(struct fs_info *fs)
{
	uint64_t moved;

	CHECK_OK(bal_populate(fs, 4, 256));
	/* Data is single (1 stripe), metadata dup (2 stripes). */
	CHECK_OK(by_stripes(fs, FS_BAL_DATA, 2, 2, &moved));
	CHECK_EQ(moved, 0);
	CHECK_OK(by_stripes(fs, FS_BAL_META, 1, 1, &moved));
	CHECK_EQ(moved, 0);
	CHECK_OK(by_stripes(fs, FS_BAL_DATA, 1, 2, &moved));
	CHECK(moved > 0);
	CHECK_OK(by_stripes(fs, FS_BAL_META, 2, 2, &moved));
	CHECK(moved > 0);
}

TEST(balance, stripes_filter_by_stripe_count)
{
	struct fs_info *fs;
	struct fault_dev *dev = setup(256ull << 20, &fs);

	if (!dev)
		return;
	stripes(fs);
	fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}

/* In a commit: a relocation tree's root item for subvolume 5, as an
 * interrupted Linux balance leaves one (a copy of tree 5's). */
static int add_reloc_root(struct trans *t, void *arg)
{
	struct fs_info *fs = t->fs;
	struct key k = { BTRFS_TREE_RELOC_OBJECTID, BTRFS_ROOT_ITEM_KEY,
			 BTRFS_FS_TREE_OBJECTID };
	u8 item[sizeof(struct d_root_item)];
	u32 size;
	int ret;

	(void)arg;
	ret = subvol_read_root_item(fs, BTRFS_FS_TREE_OBJECTID, item, &size);
	return ret ? ret : ctree_insert_item(t, &fs->tree_root, &k, item,
					     size);
}

TEST(balance, leftover_relocation_trees_mount_read_only)
{
	struct fs_info *fs;
	struct fault_dev *dev = setup(256ull << 20, &fs);
	int ret;

	if (!dev)
		return;
	ret = trans_commit_with(fs, add_reloc_root, NULL, 0);
	fs_umount(fs);
	fs = NULL;
	if (ret == 0)
		ret = fs_mount(fault_dev_blk(dev), 0, &fs);
	if (ret == 0 && !fs_is_read_only(fs))
		test_fail(__FILE__, __LINE__, "mounted read-write");
	else if (ret)
		test_fail(__FILE__, __LINE__, "error %d", ret);
	if (fs)
		fs_umount(fs);
	fault_dev_free(dev);
}
