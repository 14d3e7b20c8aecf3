/*
 * Namespace changes of existing inodes: link, unlink, rmdir, rename,
 * chmod, chown, utimes (see namei.c for the items involved). An inode
 * whose last name goes is evicted at once (file_evict): ghee has no open
 * files that could keep it, so no orphan item is needed.
 *
 * Each call resolves the directories of its names, then locks them,
 * looks the names up and locks their inodes (namei_lock.c), inside a
 * wctx. A new link
 * reserves room for its name against the quota limits (qgroup_limit.c).
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>

#include "fs_info.h"
#include "internal.h"
#include "namei.h"
#include "qgroup.h"

/* Most names an inode may have (btrfs's BTRFS_LINK_MAX). */
#define LINK_MAX_ 65535u

/* Two dentries' path buffers, and the context, for one call. */
struct op {
	struct wctx w;
	struct ctree_root *root;
	char *buf, *buf2;
	int joined;		/* names locked, transaction joined */
};

/* Start a change: resolve names' directories next, then names_lock
 * and op_join. */
static int op_begin(struct fs_info *fs, struct op *o)
{
	o->buf = kmalloc(4096);
	o->buf2 = kmalloc(4096);
	o->joined = 0;
	if (!o->buf || !o->buf2) {
		kfree(o->buf);
		kfree(o->buf2);
		return -ENOMEM;
	}
	names_enter(fs, &o->w);
	return 0;
}

/* Join the transaction (flags: wctx_begin's), the names locked. */
static int op_join(struct op *o, unsigned flags)
{
	int ret = names_join(&o->w, flags);

	o->joined = ret == 0;
	return ret;
}

static int op_end(struct op *o, int ret)
{
	if (o->joined)
		wctx_end(&o->w);
	else
		names_leave(&o->w);
	kfree(o->buf);
	kfree(o->buf2);
	return ret;
}

/*
 * Change ino's nlink by delta; evict it when it reaches zero. Every
 * caller has changed a name already: a failure here (a read error in the
 * middle of an eviction too) leaves the change half done, so it aborts
 * the transaction.
 */
static int nlink_add(struct op *o, u64 ino, int delta)
{
	u8 ii[sizeof(struct d_inode_item)];
	u32 n;
	int ret = inode_item_get(o->root, ino, ii);

	if (ret == 0) {
		n = D_GET32(struct d_inode_item, ii, nlink);
		if (delta < 0 && n <= (u32)-delta) {
			ret = file_evict(&o->w, o->root, ino);
		} else {
			D_SET32(struct d_inode_item, ii, nlink,
				n + (u32)delta);
			inode_touch(&o->w, ii, 0);
			ret = inode_item_put(&o->w, o->root, ino, ii);
		}
	}
	if (ret)
		trans_abort(o->w.t, ret);
	return ret;
}

/* d, looked up, must exist and not be a subvolume link. */
static int existing(struct op *o, const struct dentry *d)
{
	if (!d->exists)
		return -ENOENT;
	if (d->ino.root != d->dir.root ||
	    d->ino.ino == BTRFS_EMPTY_SUBVOL_DIR_OBJECTID)
		return -EPERM;	/* a subvolume: subvolume delete removes it */
	return wctx_root(&o->w, d->dir.root, &o->root);
}

/* Resolve from (s, which must exist) and to (d) and lock them both. */
static int lock_pair(struct op *o, const char *from, const char *to,
		     struct dentry *s, struct dentry *d)
{
	struct dentry *ds[2] = { s, d };
	int ret = dentry_parent(o->w.fs, from, s, o->buf);

	if (ret == 0)
		ret = dentry_parent(o->w.fs, to, d, o->buf2);
	if (ret == 0)
		ret = names_lock(&o->w, ds, 2, NULL);
	return ret ? ret : existing(o, s);
}

/* The directory of the new name d must be writable too (a link or rename
 * into a read-only subvolume fails with EROFS before EXDEV, as on Linux). */
static int target_writable(struct op *o, const struct dentry *d)
{
	struct ctree_root *root;

	return wctx_root(&o->w, d->dir.root, &root);
}

static int link_once(struct fs_info *fs, const char *from, const char *path)
{
	struct dentry s, d;
	struct fs_stat st;
	struct op o;
	int ret = op_begin(fs, &o);

	if (ret)
		return ret;
	ret = lock_pair(&o, from, path, &s, &d);
	if (ret == 0 && s.type == BTRFS_FT_DIR)
		ret = -EPERM;
	if (ret == 0 && d.exists)
		ret = -EEXIST;
	if (ret == 0)
		ret = target_writable(&o, &d);
	if (ret == 0 && d.dir.root != s.dir.root)
		ret = -EXDEV;
	if (ret == 0)
		ret = op_join(&o, 0);
	if (ret == 0)
		ret = inode_stat(fs, s.ino, &st);
	if (ret == 0 && st.nlink >= LINK_MAX_)
		ret = -EMLINK;
	if (ret == 0)
		ret = link_check(o.root, &d, s.ino.ino, NULL);
	if (ret == 0)
		ret = qgroup_reserve(fs, d.dir.root,
				     NAME_RSV_NODES * (u64)fs->nodesize, 0);
	if (ret == 0)
		ret = link_name(&o.w, o.root, &d, s.ino.ino, s.type);
	if (ret == 0)
		ret = nlink_add(&o, s.ino.ino, 1);
	return op_end(&o, ret);
}

/* Give the existing file from the new name path too. -EDQUOT (before
 * anything changes) when the quota limits leave no room for the name,
 * even after a commit dropped the running transaction's reservations. */
int fs_link(struct fs_info *fs, const char *from, const char *path)
{
	int ret = link_once(fs, from, path);

	if (ret == -EDQUOT) {
		ret = trans_commit(fs);
		if (ret == 0)
			ret = link_once(fs, from, path);
	}
	return ret;
}

/* Remove name d (a non-directory, or an empty directory with dir set). */
static int remove(struct op *o, struct dentry *d, int dir)
{
	struct fs_stat st;
	int ret = inode_stat(o->w.fs, d->ino, &st);

	if (ret)
		return ret;
	if (dir && (st.mode & S_IFMT_) != S_IFDIR_)
		return -ENOTDIR;
	if (!dir && (st.mode & S_IFMT_) == S_IFDIR_)
		return -EISDIR;
	if (dir && st.size)
		return -ENOTEMPTY;
	ret = unlink_name(&o->w, o->root, d);
	return ret ? ret : nlink_add(o, d->ino.ino, -1);
}

/* Remove the name path: a non-directory (dir 0) or an empty directory. */
static int remove_path(struct fs_info *fs, const char *path, int dir)
{
	struct dentry d;
	struct dentry *ds[1] = { &d };
	struct op o;
	int ret = op_begin(fs, &o);

	if (ret)
		return ret;
	ret = dentry_parent(fs, path, &d, o.buf);
	if (ret == 0)
		ret = names_lock(&o.w, ds, 1, NULL);
	if (ret == 0)
		ret = existing(&o, &d);
	if (ret == 0)
		ret = op_join(&o, WCTX_FREES);
	if (ret == 0)
		ret = remove(&o, &d, dir);
	return op_end(&o, ret);
}

int fs_unlink(struct fs_info *fs, const char *path)
{
	return remove_path(fs, path, 0);
}

int fs_rmdir(struct fs_info *fs, const char *path)
{
	return remove_path(fs, path, 1);
}

/* Whether directory anc is dir itself or one of its ancestors: 1 yes,
 * 0 no, or the error that kept the walk up from dir from knowing. Caller
 * holds fs->rename_lock: no directory changes parent meanwhile. */
static int is_ancestor(struct op *o, u64 anc, u64 dir)
{
	const struct subvol_root *sv;
	int depth, ret = subvol_get(o->w.fs, o->root->objectid, &sv);

	if (ret)
		return ret;
	for (depth = 0; depth < 4096; depth++) {
		struct key k = { dir, BTRFS_INODE_REF_KEY, 0 };
		struct ctree_path p;

		if (dir == anc)
			return 1;
		if (dir == sv->root_dirid)
			return 0;
		ctree_path_init(&p);
		ret = ctree_search_ge(o->root, &k, &p);
		if (ret == 0)
			ctree_item_key(&p, &k);
		ctree_path_release(&p);
		if (ret < 0)
			return ret;
		if (ret || k.objectid != dir || k.type != BTRFS_INODE_REF_KEY)
			return 0;
		dir = k.offset;
	}
	return 0;
}

/* Does the rename of s to d move a directory to another parent? */
static int moves_dir(const struct dentry *s, const struct dentry *d)
{
	return s->type == BTRFS_FT_DIR && s->dir.ino != d->dir.ino;
}

int fs_rename(struct fs_info *fs, const char *from, const char *to)
{
	struct dentry s, d;
	struct op o;
	int ret = op_begin(fs, &o);

	if (ret)
		return ret;
	do {
		ret = lock_pair(&o, from, to, &s, &d);
		if (ret == 0)
			ret = target_writable(&o, &d);
		if (ret == 0 && d.dir.root != s.dir.root)
			ret = -EXDEV;
		if (ret == 0 && moves_dir(&s, &d) && !o.w.rename_locked) {
			names_unlock(&o.w);
			names_lock_rename(&o.w);
			ret = -EAGAIN;	/* resolve again under it */
		}
	} while (ret == -EAGAIN);
	if (ret == 0)
		ret = op_join(&o, 0);
	if (ret == 0 && moves_dir(&s, &d)) {
		ret = is_ancestor(&o, s.ino.ino, d.dir.ino);
		ret = ret == 1 ? -EINVAL : ret;
	}
	if (ret || (d.exists && d.ino.ino == s.ino.ino))
		return op_end(&o, ret);
	ret = link_check(o.root, &d, s.ino.ino, &s);
	if (ret == 0 && d.exists)
		ret = d.ino.root != d.dir.root ? -EPERM :
		      remove(&o, &d, s.type == BTRFS_FT_DIR);
	if (ret == 0)
		ret = unlink_name(&o.w, o.root, &s);
	if (ret == 0) {
		ret = link_name(&o.w, o.root, &d, s.ino.ino, s.type);
		if (ret)	/* the old name is gone already */
			trans_abort(o.w.t, ret);
	}
	if (ret == 0)
		ret = nlink_add(&o, s.ino.ino, 0);
	return op_end(&o, ret);
}

/* Change ino's inode item with fn. */
static int change_inode(struct fs_info *fs, struct fs_ino ino,
			void (*fn)(u8 *ii, const void *arg), const void *arg)
{
	u8 ii[sizeof(struct d_inode_item)];
	struct op o;
	int ret = op_begin(fs, &o);

	if (ret)
		return ret;
	ret = names_lock(&o.w, NULL, 0, &ino);
	if (ret == 0)
		ret = op_join(&o, 0);
	if (ret == 0)
		ret = wctx_root(&o.w, ino.root, &o.root);
	if (ret == 0)
		ret = inode_item_get(o.root, ino.ino, ii);
	if (ret == 0) {
		inode_touch(&o.w, ii, 0);
		fn(ii, arg);
		ret = inode_item_put(&o.w, o.root, ino.ino, ii);
	}
	return op_end(&o, ret);
}

static void set_mode(u8 *ii, const void *arg)
{
	u32 mode = *(const u32 *)arg;

	D_SET32(struct d_inode_item, ii, mode,
		(D_GET32(struct d_inode_item, ii, mode) & S_IFMT_) |
		(mode & 07777));
}

int fs_chmod(struct fs_info *fs, struct fs_ino ino, uint32_t mode)
{
	return change_inode(fs, ino, set_mode, &mode);
}

/* New owner (uid, gid; (u32)-1 keeps one). Like Linux's chown, a
 * non-directory loses set-user-ID, and set-group-ID when
 * group-executable. */
static void set_owner(u8 *ii, const void *arg)
{
	const u32 *id = arg;
	u32 mode = D_GET32(struct d_inode_item, ii, mode);

	if (id[0] != (u32)-1)
		D_SET32(struct d_inode_item, ii, uid, id[0]);
	if (id[1] != (u32)-1)
		D_SET32(struct d_inode_item, ii, gid, id[1]);
	if ((mode & S_IFMT_) == S_IFDIR_)
		return;
	mode &= ~(u32)04000;
	if ((mode & 02010) == 02010)
		mode &= ~(u32)02000;
	D_SET32(struct d_inode_item, ii, mode, mode);
}

int fs_chown(struct fs_info *fs, struct fs_ino ino, uint32_t uid,
	     uint32_t gid)
{
	u32 id[2] = { uid, gid };

	return change_inode(fs, ino, set_owner, id);
}

static void set_times(u8 *ii, const void *arg)
{
	const struct fs_time *t = arg;

	D_SET64(struct d_timespec, D_WPTR(struct d_inode_item, ii, atime),
		sec, (u64)t[0].sec);
	D_SET32(struct d_timespec, D_WPTR(struct d_inode_item, ii, atime),
		nsec, t[0].nsec);
	D_SET64(struct d_timespec, D_WPTR(struct d_inode_item, ii, mtime),
		sec, (u64)t[1].sec);
	D_SET32(struct d_timespec, D_WPTR(struct d_inode_item, ii, mtime),
		nsec, t[1].nsec);
}

int fs_utimes(struct fs_info *fs, struct fs_ino ino,
	      const struct fs_time *atime, const struct fs_time *mtime)
{
	struct fs_time t[2] = { *atime, *mtime };

	return change_inode(fs, ino, set_times, t);
}
