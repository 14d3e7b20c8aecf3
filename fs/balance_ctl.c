/*
 * The balance of a filesystem as a whole: started in the foreground or
 * as a task of its own, paused, resumed, cancelled, resumed at mount;
 * as Linux's balance control.
 *
 * A balance exists from its start to its end or cancel (fs->balance);
 * while it exists its item is in the root tree (balance_item.c). It is
 * running (a run of balance_groups() in some task: the command's, its
 * own "balance" task, the mount's resume task) or paused (no run; the
 * item kept; a pause, an unmount, a skip_balance or read-only mount).
 * A run stops when asked (between groups, or inside a group between
 * its data extents or batches of tree blocks: balance.c); then a pause keeps the balance and anything
 * else (cancel, the task's stop: Ctrl-C or kill, an error, the end)
 * deletes the item and forgets it. Pause and cancel wait for
 * the run to stop, as Linux's do: each waiter queues itself on the run
 * (c->waiters, a completion on its stack) in the same hold of
 * balance_lock that saw it running, and the run completes every queued
 * waiter in the hold that ends it; so no end is missed and no waiter
 * polls.
 *
 * Locking: fs->balance_lock guards fs->balance, its running field and
 * fs->balance_task; the item's commits run under it. The run itself
 * holds it only at its end; pause_req and cancel_req are atomics it
 * reads between groups and data extents. A background task is joined
 * under the lock once its run ended (it takes the lock for the last
 * time to say so).
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>
#include <ghee/progress.h>
#include <ghee/task.h>

#include "balance.h"
#include "fs_info.h"
#include "transaction.h"

/* Join the background task once its run ended. Holding balance_lock. */
static void reap_locked(struct fs_info *fs)
{
	struct task *t = fs->balance_task;

	if (t && (!fs->balance || !fs->balance->running)) {
		fs->balance_task = NULL;
		task_join(t);
	}
}

/* The figures of c's last run into *out, with its state. Holding
 * balance_lock. */
static void copy_out(const struct balance_ctl *c, struct fs_balance *out)
{
	*out = c->req;
	out->expected = __atomic_load_n(&c->expected, __ATOMIC_ACQUIRE);
	out->considered = __atomic_load_n(&c->considered, __ATOMIC_ACQUIRE);
	out->relocated = __atomic_load_n(&c->relocated, __ATOMIC_ACQUIRE);
	out->state = (c->running ? FS_BAL_RUNNING : 0) |
		     (__atomic_load_n(&c->pause_req, __ATOMIC_ACQUIRE) ?
		      FS_BAL_PAUSE_REQ : 0) |
		     (__atomic_load_n(&c->cancel_req, __ATOMIC_ACQUIRE) ?
		      FS_BAL_CANCEL_REQ : 0);
}

/* Wake every task waiting for c's run to end. Holding balance_lock. */
static void wake_waiters(struct balance_ctl *c)
{
	while (c->waiters) {
		struct balance_waiter *w = c->waiters;

		c->waiters = w->next;	/* w may be gone once completed */
		complete(&w->done);
	}
}

/*
 * Run c (running set by the caller) to its end or stop; keep it paused
 * or forget it with its item. out (may be NULL) gets its figures.
 */
static int run(struct fs_info *fs, struct balance_ctl *c,
	       struct fs_balance *out)
{
	int ret = balance_groups(fs, c), paused, del = 0;

	mutex_lock(&fs->balance_lock);
	c->running = 0;
	wake_waiters(c);
	paused = ret == -ECANCELED &&
		 __atomic_load_n(&c->pause_req, __ATOMIC_ACQUIRE) &&
		 !__atomic_load_n(&c->cancel_req, __ATOMIC_ACQUIRE);
	if (out)
		copy_out(c, out);
	if (paused) {
		__atomic_store_n(&c->pause_req, 0, __ATOMIC_RELEASE);
	} else {
		if (!fs_aborted(fs))
			del = balance_item_delete(fs);
		fs->balance = NULL;
		kfree(c);
	}
	mutex_unlock(&fs->balance_lock);
	return ret ? ret : del;
}

/* The background task: run the balance fs->balance holds. */
static int balance_task(void *arg)
{
	struct fs_info *fs = arg;
	struct balance_ctl *c;
	int ret;

	mutex_lock(&fs->balance_lock);
	c = fs->balance;
	mutex_unlock(&fs->balance_lock);
	ret = run(fs, c, NULL);
	progress_end();
	if (ret && ret != -ECANCELED)
		pr_err("%s: balance failed: error %d", fs->dev->name, -ret);
	return ret;
}

/* Start c's run in a task of its own. Holding balance_lock. */
static int start_task(struct fs_info *fs)
{
	fs->balance_task = task_create("balance", balance_task, fs,
				       TASK_PRIO_NORMAL);
	return fs->balance_task ? 0 : -ENOMEM;
}

int fs_balance_start(struct fs_info *fs, struct fs_balance *b,
		     int background)
{
	struct balance_ctl *c;
	int ret;

	if (fs_is_read_only(fs))
		return -EROFS;
	mutex_lock(&fs->balance_lock);
	reap_locked(fs);
	if (fs->balance || fs->resizing) {
		ret = fs->balance ? -EINPROGRESS : -EBUSY;
		mutex_unlock(&fs->balance_lock);
		return ret;
	}
	c = kzalloc(sizeof(*c));
	ret = c ? balance_item_write(fs, b) : -ENOMEM;
	if (ret == 0) {
		c->req = *b;
		c->running = 1;
		fs->balance = c;
		if (background && (ret = start_task(fs)) != 0) {
			fs->balance = NULL;
			balance_item_delete(fs);
		}
	}
	if (ret)
		kfree(c);
	mutex_unlock(&fs->balance_lock);
	if (ret || background)
		return ret;
	return run(fs, c, b);
}

int fs_balance_resume(struct fs_info *fs, struct fs_balance *b)
{
	struct balance_ctl *c;

	if (fs_is_read_only(fs))
		return -EROFS;
	mutex_lock(&fs->balance_lock);
	reap_locked(fs);
	c = fs->balance;
	if (!c || c->running) {
		mutex_unlock(&fs->balance_lock);
		return c ? -EINPROGRESS : -ENOTCONN;
	}
	c->running = 1;
	c->req.resumed = 1;
	mutex_unlock(&fs->balance_lock);
	return run(fs, c, b);
}

/*
 * Wait until the run of c, which is running, ended (paused or gone; c
 * may be freed then), and join its task. Called holding balance_lock,
 * returns holding it.
 */
static void wait_run_end(struct fs_info *fs, struct balance_ctl *c)
{
	struct balance_waiter w;

	completion_init(&w.done);
	w.next = c->waiters;
	c->waiters = &w;
	mutex_unlock(&fs->balance_lock);
	wait_for_completion(&w.done);
	mutex_lock(&fs->balance_lock);
	reap_locked(fs);
}

/* Ask the running balance to stop (field: pause_req or cancel_req). */
static int ask_stop(struct fs_info *fs, int cancel)
{
	struct balance_ctl *c;

	mutex_lock(&fs->balance_lock);
	c = fs->balance;
	if (!c || !c->running) {
		mutex_unlock(&fs->balance_lock);
		return -ENOTCONN;
	}
	__atomic_store_n(cancel ? &c->cancel_req : &c->pause_req, 1,
			 __ATOMIC_RELEASE);
	wait_run_end(fs, c);
	mutex_unlock(&fs->balance_lock);
	return 0;
}

int fs_balance_pause(struct fs_info *fs)
{
	return ask_stop(fs, 0);
}

int fs_balance_cancel(struct fs_info *fs)
{
	struct balance_ctl *c;
	int ret;

	mutex_lock(&fs->balance_lock);
	c = fs->balance;
	if (!c || c->running) {
		mutex_unlock(&fs->balance_lock);
		return c ? ask_stop(fs, 1) : -ENOTCONN;
	}
	/* Paused: nothing runs; drop the item here. */
	ret = fs_is_read_only(fs) ? -EROFS : balance_item_delete(fs);
	if (ret == 0) {
		fs->balance = NULL;
		kfree(c);
	}
	mutex_unlock(&fs->balance_lock);
	return ret;
}

int fs_balance_status(struct fs_info *fs, struct fs_balance *b)
{
	int ret = -ENOTCONN;

	mutex_lock(&fs->balance_lock);
	if (fs->balance) {
		copy_out(fs->balance, b);
		ret = 0;
	}
	mutex_unlock(&fs->balance_lock);
	return ret;
}

/*
 * At mount: a balance item makes a paused balance; a read-write mount
 * without skip_balance resumes it in a task, as Linux does.
 */
int balance_recover(struct fs_info *fs, unsigned mount_flags)
{
	struct balance_ctl *c;
	struct fs_balance b;
	int ret = balance_item_read(fs, &b);

	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	c = kzalloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->req = b;
	c->req.resumed = 1;
	mutex_lock(&fs->balance_lock);
	fs->balance = c;
	if (fs_is_read_only(fs) || (mount_flags & FS_MOUNT_SKIP_BALANCE)) {
		pr_info("%s: balance: paused (resume or cancel it)",
			fs->dev->name);
	} else {
		pr_info("%s: balance: resuming", fs->dev->name);
		c->running = 1;
		ret = start_task(fs);
		if (ret)
			c->running = 0;
	}
	mutex_unlock(&fs->balance_lock);
	return ret;
}

/* At unmount: pause a running balance (its item stays) and forget it. */
void balance_unmount(struct fs_info *fs)
{
	struct balance_ctl *c;

	mutex_lock(&fs->balance_lock);
	c = fs->balance;
	if (c && c->running) {
		__atomic_store_n(&c->pause_req, 1, __ATOMIC_RELEASE);
		wait_run_end(fs, c);
	} else {
		reap_locked(fs);
	}
	c = fs->balance;
	fs->balance = NULL;
	mutex_unlock(&fs->balance_lock);
	kfree(c);
}
