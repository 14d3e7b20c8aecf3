/*
 * The quota rescan task: counts every qgroup anew, a batch of extents
 * per commit (qgroup_account.c counts them), reporting its progress in
 * extents (include/ghee/progress.h), until the status item's RESCAN flag
 * is clear. Each step is a background change with nothing in it but the
 * commit's batch, so it needs no namespace change and stops between
 * commits; what it counted is on disk with the progress, and an
 * unmount, a crash or `kill` resumes it at the next read-write mount.
 *
 * One task per filesystem at most (fs->qgroup_rescan), started by
 * qgroup_rescan_start when a rescan was asked for (enable, assign,
 * remove, `quota rescan`, a mount finding one in progress or counts
 * marked inconsistent), ended when it finds nothing left to count.
 *
 * Locking: a step holds ns_lock for read around its commit, so the
 * table cannot go (disable holds ns_lock for write) while it looks at
 * it. Starting takes ns_lock for write: a task that saw no work set
 * fs->qgroup_rescan_exiting under ns_lock for read, and a start that
 * finds it set joins it and starts a new one, so work asked for while
 * the old one was leaving is never missed.
 */
#include <ghee/errno.h>

#include <ghee/log.h>
#include <ghee/progress.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "fs_info.h"
#include "qgroup.h"
#include "write_common.h"

/* Is a rescan asked for or in progress? Caller holds ns_lock or
 * trans_sem. */
int qgroup_rescan_busy(const struct qgroup_table *q)
{
	return q && (q->rescan ||
		     (q->status_flags & BTRFS_QGROUP_STATUS_FLAG_RESCAN));
}

/* One step: a commit, which counts a batch. *counted: extents it
 * counted; 1 when there was work, 0 when none, <0 on errors. */
static int rescan_step(struct fs_info *fs, u64 *counted)
{
	struct wctx w;
	u64 before;
	int ret;

	down_read(&fs->ns_lock);
	if (!qgroup_rescan_busy(fs->qgroups)) {
		__atomic_store_n(&fs->qgroup_rescan_exiting, 1,
				 __ATOMIC_RELEASE);
		up_read(&fs->ns_lock);
		return 0;
	}
	before = fs->qgroups->rescan_done;
	ret = wctx_begin_bg(fs, &w);
	if (ret == 0) {
		wctx_end(&w);
		ret = trans_commit(fs);
	}
	*counted = fs->qgroups ? fs->qgroups->rescan_done - before : 0;
	up_read(&fs->ns_lock);
	return ret < 0 ? ret : 1;
}

static int rescan_task(void *arg)
{
	struct fs_info *fs = arg;
	int ret = 1;

	progress_phase("rescanning quota groups", 0, "extents");
	while (ret > 0) {
		u64 n = 0;

		if (task_should_stop())
			break;
		ret = rescan_step(fs, &n);
		if (ret < 0)
			pr_err("%s: quota rescan failed: %d", fs->dev->name,
			       ret);
		else if (progress_add(n))
			break;	/* cancelled: resumes at the next mount */
	}
	if (ret <= 0)
		__atomic_store_n(&fs->qgroup_rescan_exiting, 1,
				 __ATOMIC_RELEASE);
	progress_end();
	return ret < 0 ? ret : 0;
}

/*
 * Make sure a rescan task runs for the rescan asked for (a read-write
 * mount). Caller holds no fs lock. Returns 0, -ENOMEM.
 */
int qgroup_rescan_start(struct fs_info *fs)
{
	int ret = 0;

	down_write(&fs->ns_lock);
	if (fs->qgroup_rescan &&
	    __atomic_load_n(&fs->qgroup_rescan_exiting, __ATOMIC_ACQUIRE)) {
		task_join(fs->qgroup_rescan);
		fs->qgroup_rescan = NULL;
	}
	if (!fs->qgroup_rescan && qgroup_rescan_busy(fs->qgroups)) {
		fs->qgroup_rescan_exiting = 0;
		/* NORMAL: a command asked for it, and `quota rescan -w`
		 * waits for it */
		fs->qgroup_rescan = task_create("btrfs-qgroup-rescan",
						rescan_task, fs,
						TASK_PRIO_NORMAL);
		if (!fs->qgroup_rescan)
			ret = -ENOMEM;
	}
	up_write(&fs->ns_lock);
	return ret;
}

/* Stop the task at the end of its step (umount, disable). Caller holds
 * no fs lock. */
void qgroup_rescan_stop(struct fs_info *fs)
{
	struct task *t;

	down_write(&fs->ns_lock);
	t = fs->qgroup_rescan;
	fs->qgroup_rescan = NULL;
	up_write(&fs->ns_lock);
	if (!t)
		return;
	task_stop(task_id(t));
	task_join(t);
}

/*
 * Wait until no rescan is asked for or running (quota rescan -w).
 * Returns 0, -ENOTCONN when quotas are off, -EROFS when it cannot run
 * (a read-only mount, an aborted transaction), or -EIO when the task
 * failed.
 */
int fs_quota_rescan_wait(struct fs_info *fs)
{
	int busy, ret;

	for (;;) {
		down_read(&fs->ns_lock);
		if (!fs->qgroups) {
			up_read(&fs->ns_lock);
			return -ENOTCONN;
		}
		busy = qgroup_rescan_busy(fs->qgroups);
		up_read(&fs->ns_lock);
		if (!busy)
			return 0;
		if (fs_is_read_only(fs))
			return -EROFS;
		ret = qgroup_rescan_start(fs);
		if (ret)
			return ret;
		msleep(10);
	}
}
