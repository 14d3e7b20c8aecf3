/*
 * The locks of a change of names (create, mkdir, symlink, mknod, link,
 * unlink, rmdir, rename, chmod, chown, utimes), so that changes in
 * different directories run at once.
 *
 * Such a change holds ns_lock for read (the subvolume-wide changes,
 * which take it for write, still exclude it) and, for write, the inode
 * locks (rank 1b) of every directory whose entries it changes and of
 * every existing inode whose items it changes. Lookups read a
 * directory's entries under its lock for read, or without it checking
 * afterwards that no change held it meanwhile (dir_step), so no lookup
 * sees half of a change of that directory; data writes and reads of a
 * file hold its lock, so an unlink that evicts the file waits for them.
 *
 * A change resolves the directories of its names first (dentry_parent,
 * holding no inode lock), locks them, then looks the last names up once
 * under those locks (as Linux looks a name up under its parent's
 * i_rwsem), then locks the inodes the names lead to. A directory removed
 * before its lock was taken is found gone (-ENOENT), as on Linux.
 *
 * Order: the locks are hashed (two inodes may share one), so a change
 * takes each distinct lock once, in address order, after ns_lock and
 * before joining the transaction. The lock of an inode found under the
 * directory locks is taken at once when its address is above every lock
 * held, else only by a try; when the try fails, the change lets go of
 * everything and takes the whole set again in address order, then looks
 * its names up again. Nobody else holds two inode locks at once (a
 * lookup holds one directory's, for read; a data write its file's), so
 * no task waits for a lock below one it holds and no cycle forms.
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

/* Lock l's change count: odd while a change of names holds l. */
static u32 *lock_seq(struct fs_info *fs, struct rwsem *l)
{
	return &fs->inode_seq[l - fs->inode_locks];
}

/* Add l, now held for write, to w's set (kept in address order). */
static void add_held(struct wctx *w, struct rwsem *l)
{
	int i, j;

	for (i = 0; i < w->nlocks && w->locks[i] < l; i++)
		;
	for (j = w->nlocks; j > i; j--)
		w->locks[j] = w->locks[j - 1];
	w->locks[i] = l;
	w->nlocks++;
	__atomic_fetch_add(lock_seq(w->fs, l), 1, __ATOMIC_SEQ_CST);
}

static int held(const struct wctx *w, const struct rwsem *l)
{
	int i;

	for (i = 0; i < w->nlocks; i++)
		if (w->locks[i] == l)
			return 1;
	return 0;
}

void names_unlock(struct wctx *w)
{
	while (w->nlocks > 0) {
		struct rwsem *l = w->locks[--w->nlocks];

		__atomic_fetch_add(lock_seq(w->fs, l), 1, __ATOMIC_RELEASE);
		up_write(l);
	}
}

/* Take the distinct locks of want[0..n) in address order. */
static void lock_in_order(struct wctx *w, struct rwsem **want, int n)
{
	struct rwsem *next;
	int i;

	for (;;) {
		next = NULL;
		for (i = 0; i < n; i++)
			if (!held(w, want[i]) && (!next || want[i] < next))
				next = want[i];
		if (!next)
			return;
		down_write(next);
		add_held(w, next);
	}
}

/* Take the locks of the inodes d[] name: 0, or -EAGAIN when one could
 * not be taken without waiting against the order (every lock let go). */
static int lock_found(struct wctx *w, struct dentry *const *d, int nd)
{
	int i;

	for (i = 0; i < nd; i++) {
		struct rwsem *l;

		if (!d[i]->exists)
			continue;
		l = inode_lock(w->fs, d[i]->ino);
		if (held(w, l))
			continue;
		if (l > w->locks[w->nlocks - 1])
			down_write(l);
		else if (!down_write_trylock(l)) {
			names_unlock(w);
			return -EAGAIN;
		}
		add_held(w, l);
	}
	return 0;
}

int names_lock(struct wctx *w, struct dentry *const *d, int nd,
	       const struct fs_ino *ino)
{
	struct rwsem *want[NAMES_LOCKS_MAX];
	int i, n, ret, again = 0;

	for (;; again = 1) {
		n = 0;
		for (i = 0; i < nd; i++)
			want[n++] = inode_lock(w->fs, d[i]->dir);
		if (ino)
			want[n++] = inode_lock(w->fs, *ino);
		for (i = 0; i < nd && again; i++)	/* what was found */
			if (d[i]->exists)
				want[n++] = inode_lock(w->fs, d[i]->ino);
		lock_in_order(w, want, n);
		for (i = 0, ret = 0; i < nd && ret == 0; i++)
			ret = dentry_find(w->fs, d[i]);
		if (ret == 0)
			ret = lock_found(w, d, nd);
		if (ret != -EAGAIN)
			break;
	}
	if (ret)
		names_unlock(w);
	return ret;
}

int names_join(struct wctx *w, unsigned flags)
{
	int ret = wctx_join(w->fs, w, flags);

	if (ret)
		names_unlock(w);
	return ret;
}

void names_leave(struct wctx *w)
{
	names_unlock(w);
	if (w->rename_locked)
		mutex_unlock(&w->fs->rename_lock);
	w->rename_locked = 0;
	up_read(&w->fs->ns_lock);
}

/* Does lock l show no change of names since seq, an even count, was
 * read? The caller read what it needed meanwhile: a read-modify-write
 * (adding nothing) orders those reads before this one, as a fence would
 * (ThreadSanitizer does not model fences). */
static int unchanged_since(struct fs_info *fs, struct rwsem *l, u32 seq)
{
	return __atomic_fetch_add(lock_seq(fs, l), 0, __ATOMIC_SEQ_CST) ==
	       seq;
}

/* One step of a path walk: look name up in directory dir. */
static int step(struct fs_info *fs, struct fs_ino dir, const char *name,
		size_t len, struct fs_ino *out, u8 *type)
{
	struct fs_stat st;
	int ret = inode_stat(fs, dir, &st);

	if (ret == 0 && (st.mode & S_IFMT_) != S_IFDIR_)
		ret = -ENOTDIR;
	return ret ? ret : dir_lookup_ino(fs, dir, name, len, out, type);
}

/*
 * Look name up in directory dir for a path walk: first without dir's
 * lock, kept when no change of names held the lock meanwhile (its count
 * even and the same before and after; a change's tree edits are seen
 * under tree-block locks, which order them after its count's bump), else
 * again under the lock for read.
 */
int dir_step(struct fs_info *fs, struct fs_ino dir, const char *name,
	     size_t len, struct fs_ino *out, u8 *type)
{
	struct rwsem *l = inode_lock(fs, dir);
	u32 seq = __atomic_load_n(lock_seq(fs, l), __ATOMIC_ACQUIRE);
	int ret;

	if (!(seq & 1)) {
		ret = step(fs, dir, name, len, out, type);
		if (unchanged_since(fs, l, seq))
			return ret;
	}
	l = lookup_lock(fs, dir);
	ret = step(fs, dir, name, len, out, type);
	lookup_unlock(l);
	return ret;
}
