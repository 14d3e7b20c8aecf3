/*
 * The locks of a change of names (create, mkdir, symlink, mknod, link,
 * unlink, rmdir, rename, chmod, chown, utimes), so that changes in
 * different directories run at once.
 *
 * Such a change holds ns_lock for read (the subvolume-wide changes,
 * which take it for write, still exclude it) and, for write, the inode
 * locks (rank 1b) of every directory whose entries it changes and of
 * every existing inode whose items it changes. Lookups hold a
 * directory's lock for read while they read its entries (inode.c,
 * dir.c, dentry_get), so no lookup sees half of a change of that
 * directory; data writes and reads of a file hold its lock, so an unlink
 * that evicts the file waits for them.
 *
 * Order: the locks are hashed (two inodes may share one), so a change
 * takes each distinct lock once, in address order, after ns_lock and
 * before joining the transaction; nobody takes an inode lock while
 * holding another one except here, so two changes cannot wait for each
 * other. A change resolves its names first, holding no inode lock
 * (each lookup takes and drops them one directory at a time), then
 * locks, then checks under the locks that every name still leads where
 * it did and its directory still exists; if not, it lets go and resolves
 * again (names_lock returns -EAGAIN). Inode numbers never come back, so
 * "the same inode" is a safe test.
 *
 * A rename that moves a directory to another parent first takes
 * fs->rename_lock (a mutex, after ns_lock, before the inode locks), so
 * no two such renames run at once: the check that the directory is not
 * moved below itself walks up from the new parent, and only these
 * renames change a directory's parent.
 */
#include <ghee/errno.h>
#include <ghee/task.h>

#include "dir.h"
#include "fs_info.h"
#include "internal.h"
#include "namei.h"

/* ns_lock for write (wctx_begin), noting the holder for lookup_lock. */
void ns_write_lock(struct fs_info *fs)
{
	down_write(&fs->ns_lock);
	__atomic_store_n(&fs->ns_writer, task_current(), __ATOMIC_RELAXED);
}

void ns_write_unlock(struct fs_info *fs)
{
	__atomic_store_n(&fs->ns_writer, NULL, __ATOMIC_RELAXED);
	up_write(&fs->ns_lock);
}

/*
 * The lock a lookup holds for read while it reads directory dir's
 * entries (or a symlink's target), or NULL when the caller holds ns_lock
 * for write: then no change of names runs, and the caller may be inside
 * the transaction already (a snapshot's name is resolved there), where an
 * inode lock would come after trans_sem, against the order.
 */
struct rwsem *lookup_lock(struct fs_info *fs, struct fs_ino dir)
{
	struct rwsem *l;

	if (__atomic_load_n(&fs->ns_writer, __ATOMIC_RELAXED) ==
	    task_current())
		return NULL;
	l = inode_lock(fs, dir);
	down_read(l);
	return l;
}

void lookup_unlock(struct rwsem *l)
{
	if (l)
		up_read(l);
}

void names_enter(struct fs_info *fs, struct wctx *w)
{
	*w = (struct wctx){ .fs = fs, .names = 1 };
	down_read(&fs->ns_lock);
}

void names_lock_rename(struct wctx *w)
{
	if (!w->rename_locked) {
		mutex_lock(&w->fs->rename_lock);
		w->rename_locked = 1;
	}
}

/* Add lock l to w's set, kept in address order without repeats. */
static void add_lock(struct wctx *w, struct rwsem *l)
{
	int i, j;

	for (i = 0; i < w->nlocks && w->locks[i] <= l; i++)
		if (w->locks[i] == l)
			return;
	for (j = w->nlocks; j > i; j--)
		w->locks[j] = w->locks[j - 1];
	w->locks[i] = l;
	w->nlocks++;
}

static void unlock_inodes(struct wctx *w)
{
	while (w->nlocks > 0)
		up_write(w->locks[--w->nlocks]);
}

/* Does d still hold as resolved: its directory exists and its name leads
 * to the same inode (or still to none)? 1 yes, 0 no, or <0. Caller holds
 * the directory's lock. */
static int dentry_holds(struct fs_info *fs, const struct dentry *d)
{
	struct fs_stat st;
	struct fs_ino ino;
	u8 type;
	int ret = inode_stat(fs, d->dir, &st);

	if (ret)
		return ret == -ENOENT ? 0 : ret;
	ret = dir_lookup_ino(fs, d->dir, d->name, d->len, &ino, &type);
	if (ret)
		return ret == -ENOENT ? !d->exists : ret;
	return d->exists && ino.root == d->ino.root && ino.ino == d->ino.ino;
}

int names_lock(struct wctx *w, const struct dentry *const *d, int nd,
	       const struct fs_ino *ino, unsigned flags)
{
	int i, ret = 0;

	for (i = 0; i < nd; i++) {
		add_lock(w, inode_lock(w->fs, d[i]->dir));
		if (d[i]->exists)
			add_lock(w, inode_lock(w->fs, d[i]->ino));
	}
	if (ino)
		add_lock(w, inode_lock(w->fs, *ino));
	for (i = 0; i < w->nlocks; i++)
		down_write(w->locks[i]);
	for (i = 0; i < nd && ret == 0; i++) {
		ret = dentry_holds(w->fs, d[i]);
		if (ret == 0)
			ret = -EAGAIN;
		else if (ret == 1)
			ret = 0;
	}
	if (ret == 0)
		ret = wctx_join(w->fs, w, flags);
	if (ret)
		unlock_inodes(w);
	return ret;
}

void names_leave(struct wctx *w)
{
	unlock_inodes(w);
	if (w->rename_locked)
		mutex_unlock(&w->fs->rename_lock);
	w->rename_locked = 0;
	up_read(&w->fs->ns_lock);
}
