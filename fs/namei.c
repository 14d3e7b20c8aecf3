/*
 * Namespace writes: create, mkdir, symlink, mknod, link, unlink, rmdir,
 * rename, chmod, chown, utimes. A name in a directory is three items of
 * the directory's subvolume tree that must agree (btrfs check verifies
 * all of them):
 *   (dir, DIR_ITEM, name hash)  -> entries whose names hash alike,
 *   (dir, DIR_INDEX, index)     -> the one entry with that index,
 *   (ino, INODE_REF, dir)       -> (index, name) of each link from dir,
 * plus the directory's size (twice the bytes of its names) and the inode's
 * nlink (its number of names; 1 for directories, which btrfs does not
 * count up). Indexes grow from 2 per directory.
 *
 * Each call takes ns_lock for read and the inode locks of the directories
 * and inodes it changes (namei_lock.c), so no lookup sees half a change
 * and changes in different directories run at once, and joins the
 * running transaction. File data changes (file_write.c) enter by
 * wctx_begin_file: ns_lock for read and the file's inode lock for write,
 * so writes to different files run at once, sharing the transaction.
 * Changes of the whole namespace (subvolumes, quotas, receive's
 * subvolume steps, dedupe, reflink) enter by wctx_begin: ns_lock for
 * write, excluding every other change and lookup.
 *
 * Before it joins, a change reserves metadata space, counted against what
 * the changes in progress reserved (bg_reserve_metadata): RESERVE_BLOCKS
 * for itself, given back when it ends; and it makes sure that twice the
 * transaction's dirty blocks stay free beyond all reservations for the
 * commit (each dirty block may cost an extent-tree and free-space-tree
 * change), plus GLOBAL_RESERVE_BLOCKS more that only changes which give
 * space back (unlink, rmdir, truncate) may use, so a filesystem whose
 * metadata is full can still be emptied. When that fails it commits once
 * (which frees what the last commit pinned) and tries again, else returns
 * -ENOSPC before anything changed. The block counts are estimates per
 * change, not counted per item: a change that dirties more blocks than it
 * reserved eats into the commit's share.
 *
 * With quotas on, a new name also reserves room for its metadata against
 * the quota limits of its subvolume's groups (NAME_RSV_NODES,
 * qgroup_limit.c), refused with -EDQUOT before anything changed; like a
 * data write, a refused name commits once and tries again.
 *
 * Errors after a change started abort the transaction; a change refused
 * before it started (the reservation, an inode item that did not fit, a
 * name whose items are full: link_check) returns cleanly.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>
#include <ghee/time.h>

#include "dir.h"
#include "fs_info.h"
#include "internal.h"
#include "dir_write.h"
#include "namei.h"
#include "qgroup.h"
#include "write_common.h"

/* Tree blocks of room kept per change beyond the running transaction's
 * own dirty blocks (which the commit copies into the extent tree). */
#define RESERVE_BLOCKS 256
/* Tree blocks kept for changes that free space (WCTX_FREES). */
#define GLOBAL_RESERVE_BLOCKS 128
/* Commit early once a transaction has this many dirty blocks. */
#define MAX_DIRTY_BLOCKS 16384

/* The lock of inode ino (rank 1b): one of fs->inode_locks, by hash. */
struct rwsem *inode_lock(struct fs_info *fs, struct fs_ino ino)
{
	/* Fibonacci hashing: the top bits of the product spread inodes
	 * made one after another over different locks. (A multiplier whose
	 * top bits are all ones, used before, sent most consecutive inode
	 * numbers to the same lock.) */
	const u64 phi = 0x9E3779B97F4A7C15ULL;	/* 2^64 / golden ratio */

	return &fs->inode_locks[(ino.root * phi ^ ino.ino) * phi >>
				(64 - FS_INODE_LOCK_BITS)];
}

/*
 * Is there room for a change in t? 0 yes; -EAGAIN when a commit should
 * come first (the transaction is large, or metadata space is short and a
 * commit gives back what the last one pinned); -ENOSPC when even after
 * that (tries > 0) there is none.
 */
static int room_for_change(struct wctx *w, unsigned flags, int tries)
{
	u64 ndirty = trans_ndirty(w->t), ns = w->fs->nodesize;
	u64 spare = ndirty * 2 +
		    (flags & WCTX_FREES ? 0 : GLOBAL_RESERVE_BLOCKS);
	int ret;

	if (ndirty > MAX_DIRTY_BLOCKS && tries == 0)
		return -EAGAIN;
	ret = bg_reserve_metadata(w->t, RESERVE_BLOCKS * ns, spare * ns);
	return ret == -ENOSPC && tries == 0 ? -EAGAIN : ret;
}

/*
 * Join the transaction with room to work, taking trans_sem for read.
 * Caller holds its namespace or inode lock. Returns 0 (trans_sem held),
 * -ENOSPC, -EROFS or <0.
 */
int wctx_join(struct fs_info *fs, struct wctx *w, unsigned flags)
{
	int ret, tries;

	for (tries = 0;; tries++) {
		down_read(&fs->trans_sem);
		ret = trans_join(fs, &w->t);
		if (ret == 0)
			ret = room_for_change(w, flags, tries);
		if (ret != -EAGAIN)
			break;
		up_read(&fs->trans_sem);
		ret = trans_commit(fs);
		if (ret)
			return ret;
	}
	if (ret)
		up_read(&fs->trans_sem);
	return ret;
}

/*
 * Start a namespace change: take ns_lock for write and join the
 * transaction. flags: WCTX_FREES for a change that gives space back (it
 * may use the global reserve). Returns 0 (locks held), -ENOSPC, -EROFS
 * or <0.
 */
int wctx_begin(struct fs_info *fs, struct wctx *w, unsigned flags)
{
	int ret;

	*w = (struct wctx){ .fs = fs };
	ns_write_lock(fs);
	ret = wctx_join(fs, w, flags);
	if (ret)
		ns_write_unlock(fs);
	return ret;
}

/* Start a data change of file ino: ns_lock for read, its inode lock for
 * write, then as wctx_begin. */
int wctx_begin_file(struct fs_info *fs, struct wctx *w, struct fs_ino ino,
		    unsigned flags)
{
	int ret;

	*w = (struct wctx){ .fs = fs, .inode_lock = inode_lock(fs, ino) };
	down_read(&fs->ns_lock);
	down_write(w->inode_lock);
	ret = wctx_join(fs, w, flags);
	if (ret) {
		up_write(w->inode_lock);
		up_read(&fs->ns_lock);
	}
	return ret;
}

/* Start a background change that gives space back and touches no name
 * or inode (the cleaner): no namespace lock, only the transaction. */
int wctx_begin_bg(struct fs_info *fs, struct wctx *w)
{
	*w = (struct wctx){ .fs = fs, .background = 1 };
	return wctx_join(fs, w, WCTX_FREES);
}

/* End a change: give back its reservation, leave the transaction, drop
 * its locks. */
void wctx_end(struct wctx *w)
{
	bg_release_metadata(w->fs, RESERVE_BLOCKS * (u64)w->fs->nodesize);
	up_read(&w->fs->trans_sem);
	if (w->background)
		return;
	if (w->inode_lock) {
		up_write(w->inode_lock);
		up_read(&w->fs->ns_lock);
	} else if (w->names) {
		names_leave(w);
	} else {
		ns_write_unlock(w->fs);
	}
}

/*
 * End a namespace change and commit the transaction, keeping ns_lock
 * across the commit so that no other change comes between (a snapshot's
 * name stays free until the commit makes it). Returns trans_commit's
 * result.
 */
int wctx_end_commit(struct wctx *w)
{
	int ret;

	bg_release_metadata(w->fs, RESERVE_BLOCKS * (u64)w->fs->nodesize);
	up_read(&w->fs->trans_sem);
	ret = trans_commit(w->fs);
	ns_write_unlock(w->fs);
	return ret;
}

/*
 * The writable root of subvolume id: the entry of every change of a
 * subvolume's tree. Returns 0, -EROFS when the subvolume is read-only
 * (subvol_check_writable), -ENOENT or <0.
 */
int wctx_root(struct wctx *w, u64 id, struct ctree_root **out)
{
	const struct subvol_root *sv;
	int ret = subvol_get(w->fs, id, &sv);

	if (ret == 0)
		ret = subvol_check_writable(sv);
	if (ret == 0)
		*out = (struct ctree_root *)&sv->root;
	return ret;
}

/*
 * The root of subvolume id for a change that only points file extent
 * items at other extents holding the same bytes (dedupe, fs/dedupe.c):
 * no key and no byte a reader sees changes, so, as Linux allows, a
 * read-only subvolume may take it too. This is the only way past the
 * read-only guard. In a read-only subvolume the transaction is marked:
 * its commit moves the counter that readers of commit roots (send)
 * check, and they search again by key. Returns 0, -ENOENT or <0.
 */
int wctx_root_remap(struct wctx *w, u64 id, struct ctree_root **out)
{
	const struct subvol_root *sv;
	int ret = subvol_get(w->fs, id, &sv);

	if (ret)
		return ret;
	if (subvol_is_read_only(sv))
		__atomic_store_n(&w->t->ro_remapped, 1, __ATOMIC_RELEASE);
	*out = (struct ctree_root *)&sv->root;
	return 0;
}

/* Copy the inode item of ino into item (160 bytes). 0, -ENOENT, <0. */
int inode_item_get(struct ctree_root *root, u64 ino, u8 *item)
{
	struct key k = { ino, BTRFS_INODE_ITEM_KEY, 0 };
	struct ctree_path p;
	u32 size;
	int ret;

	ctree_path_init(&p);
	ret = ctree_lookup(root, &k, &p);
	if (ret == 0)
		memcpy(item, ctree_item_ptr(&p, &size),
		       sizeof(struct d_inode_item));
	ctree_path_release(&p);
	return ret;
}

/* Store item as the inode item of ino. */
int inode_item_put(struct wctx *w, struct ctree_root *root, u64 ino,
		   const u8 *item)
{
	struct key k = { ino, BTRFS_INODE_ITEM_KEY, 0 };
	struct ctree_path p;
	u32 size;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(w->t, root, &k, &p, 0);
	if (ret == 0)
		memcpy(ctree_item_ptr_w(&p, &size), item,
		       sizeof(struct d_inode_item));
	ctree_path_release(&p);
	if (ret)
		trans_abort(w->t, ret == 1 ? -EUCLEAN : ret);
	return ret == 1 ? -EUCLEAN : ret;
}

static void set_now(u8 *ts)
{
	D_SET64(struct d_timespec, ts, sec, time_wall_sec());
	D_SET32(struct d_timespec, ts, nsec, 0);
}

/* The inode changed: ctime (and mtime), transid, sequence. */
void inode_touch(struct wctx *w, u8 *item, int mtime)
{
	set_now(D_WPTR(struct d_inode_item, item, ctime));
	if (mtime)
		set_now(D_WPTR(struct d_inode_item, item, mtime));
	D_SET64(struct d_inode_item, item, transid, w->t->transid);
	D_SET64(struct d_inode_item, item, sequence,
		D_GET64(struct d_inode_item, item, sequence) + 1);
}

/* A symlink's target: an inline extent at offset 0; size and nbytes. */
static int symlink_data(struct wctx *w, struct ctree_root *root, u64 ino,
			const char *target)
{
	u32 n = (u32)strlen(target);
	u32 size = BTRFS_FILE_EXTENT_INLINE_DATA_START + n;
	u8 fe[BTRFS_FILE_EXTENT_INLINE_DATA_START + 4096];
	u8 ii[sizeof(struct d_inode_item)];
	struct key k = { ino, BTRFS_EXTENT_DATA_KEY, 0 };
	int ret;

	memset(fe, 0, BTRFS_FILE_EXTENT_INLINE_DATA_START);
	D_SET64(struct d_file_extent_item, fe, generation, w->t->transid);
	D_SET64(struct d_file_extent_item, fe, ram_bytes, n);
	D_SET8(struct d_file_extent_item, fe, type, BTRFS_FILE_EXTENT_INLINE);
	memcpy(fe + BTRFS_FILE_EXTENT_INLINE_DATA_START, target, n);
	ret = ctree_insert_item(w->t, root, &k, fe, size);
	if (ret == 0)
		ret = inode_item_get(root, ino, ii);
	if (ret == 0) {
		D_SET64(struct d_inode_item, ii, size, n);
		D_SET64(struct d_inode_item, ii, nbytes, n);
		ret = inode_item_put(w, root, ino, ii);
	}
	if (ret)
		trans_abort(w->t, ret);
	return ret;
}

/* Split path into its parent directory, resolved into d->dir, and its
 * last name (d->name, pointing into buf), which is not looked up here. */
int dentry_parent(struct fs_info *fs, const char *path, struct dentry *d,
		  char *buf)
{
	size_t n = strlen(path);
	char *slash;

	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == 0 || n >= 4096)
		return n ? -ENAMETOOLONG : -EINVAL;
	memcpy(buf, path, n);
	buf[n] = 0;
	slash = strrchr(buf, '/');
	d->name = slash ? slash + 1 : buf;
	d->len = strlen(d->name);
	d->exists = 0;
	if (d->len == 0 || d->len > BTRFS_NAME_LEN ||
	    !strcmp(d->name, ".") || !strcmp(d->name, ".."))
		return d->len > BTRFS_NAME_LEN ? -ENAMETOOLONG : -EINVAL;
	if (slash)
		*slash = 0;
	return inode_lookup(fs, slash ? (buf[0] ? buf : "/") : "/",
			    FS_LOOKUP_FOLLOW, &d->dir);
}

/* Look d's last name up in d->dir, which must still be a directory.
 * Caller holds d->dir's inode lock, or ns_lock for write. */
int dentry_find(struct fs_info *fs, struct dentry *d)
{
	struct fs_stat st;
	int ret = inode_stat(fs, d->dir, &st);

	if (ret == 0 && (st.mode & S_IFMT_) != S_IFDIR_)
		ret = -ENOTDIR;
	if (ret == 0) {
		ret = dir_lookup_ino(fs, d->dir, d->name, d->len, &d->ino,
				     &d->type);
		d->exists = ret == 0;
		if (ret == -ENOENT)
			ret = 0;
	}
	return ret;
}

/*
 * Refuse, before anything changes, a name d that link_name could not add
 * for ino: -EOVERFLOW (the directory's names of its hash fill their item)
 * or -EMLINK (ino's back-refs from the directory are full). ino: 0 for an
 * inode yet to be made. old: ino's name that the same change removes
 * first (a rename), or NULL. Returns 0, those, or <0.
 */
int link_check(struct ctree_root *root, const struct dentry *d, u64 ino,
	       const struct dentry *old)
{
	const char *on = NULL;
	size_t ol = 0;
	int ret;

	if (d->dir.ino == BTRFS_EMPTY_SUBVOL_DIR_OBJECTID)
		return -EPERM;	/* a made-up directory (dir.c) */
	if (old && old->dir.ino == d->dir.ino) {
		on = old->name;
		ol = old->len;
	}
	ret = dir_add_check(root, d->dir.ino, d->name, d->len, on, ol);
	if (ret == 0 && ino)
		ret = iref_add_check(root, ino, d->dir.ino, d->name, d->len,
				     on, ol);
	return ret;
}

/*
 * Add name in dir for ino: back-ref, entry, directory size. Callers check
 * with link_check first. The back-ref goes first: when it does not fit
 * (-EMLINK) nothing has changed and the call fails cleanly.
 */
int link_name(struct wctx *w, struct ctree_root *root,
		     const struct dentry *d, u64 ino, u8 type)
{
	u8 di[sizeof(struct d_inode_item)];
	struct key loc = { ino, BTRFS_INODE_ITEM_KEY, 0 };
	u64 index;
	int ret = dir_next_index(root, d->dir.ino, &index);

	if (ret == 0)
		ret = iref_add(w, root, ino, d->dir.ino, d->name, d->len,
			       index);
	if (ret)
		return ret;
	ret = dir_add(w, root, d->dir.ino, d->name, d->len, &loc, type,
		      index);
	if (ret == 0)
		ret = inode_item_get(root, d->dir.ino, di);
	if (ret == 0) {
		D_SET64(struct d_inode_item, di, size,
			D_GET64(struct d_inode_item, di, size) + 2 * d->len);
		inode_touch(w, di, 1);
		ret = inode_item_put(w, root, d->dir.ino, di);
	}
	if (ret)
		trans_abort(w->t, ret);
	return ret;
}

/* Remove name from dir (the entry of ino): entry, back-ref, dir size. */
int unlink_name(struct wctx *w, struct ctree_root *root,
		       const struct dentry *d)
{
	u8 di[sizeof(struct d_inode_item)];
	u64 index;
	int ret = iref_del(w, root, d->ino.ino, d->dir.ino, d->name, d->len,
			   &index);

	if (ret == 0)
		ret = dir_del(w, root, d->dir.ino, d->name, d->len, index);
	if (ret == 0)
		ret = inode_item_get(root, d->dir.ino, di);
	if (ret == 0) {
		D_SET64(struct d_inode_item, di, size,
			D_GET64(struct d_inode_item, di, size) - 2 * d->len);
		inode_touch(w, di, 1);
		ret = inode_item_put(w, root, d->dir.ino, di);
	}
	if (ret)
		trans_abort(w->t, ret);
	return ret;
}

/* The next free inode number of a subvolume: a counter taken atomically
 * (changes of names in different directories run at once), set on first
 * use from the highest inode number in the tree. */
static int next_ino(struct fs_info *fs, u64 subvol, u64 *out)
{
	const struct subvol_root *sv;
	struct subvol_root *s;
	struct key k = { BTRFS_LAST_FREE_OBJECTID, BTRFS_INODE_ITEM_KEY, 0 };
	struct ctree_path p;
	u64 next = BTRFS_FIRST_FREE_OBJECTID + 1, unset = 0;
	int ret = subvol_get(fs, subvol, &sv);

	if (ret)
		return ret;
	s = (struct subvol_root *)sv;
	if (!__atomic_load_n(&s->next_ino, __ATOMIC_ACQUIRE)) {
		ctree_path_init(&p);
		ret = ctree_search_le(&s->root, &k, &p);
		if (ret == 0) {
			ctree_item_key(&p, &k);
			if (k.objectid >= next)
				next = k.objectid + 1;
		}
		ctree_path_release(&p);
		if (ret < 0)	/* unknown: the next call searches again */
			return ret;
		/* Nobody makes an inode before the counter is set, so a
		 * search that lost this race found the same number. */
		__atomic_compare_exchange_n(&s->next_ino, &unset, next, 0,
					    __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE);
	}
	next = __atomic_fetch_add(&s->next_ino, 1, __ATOMIC_RELAXED);
	if (next > BTRFS_LAST_FREE_OBJECTID)
		return -ENOSPC;
	*out = next;
	return 0;
}

/* Make a new inode item with mode (and rdev, a device's number as the
 * item stores it); *ino gets its number. */
static int new_inode(struct wctx *w, struct ctree_root *root, u64 subvol,
		     u32 mode, u64 rdev, u64 *ino)
{
	u8 ii[sizeof(struct d_inode_item)];
	struct key k = { 0, BTRFS_INODE_ITEM_KEY, 0 };
	int ret = next_ino(w->fs, subvol, ino);

	if (ret)
		return ret;
	memset(ii, 0, sizeof(ii));
	D_SET64(struct d_inode_item, ii, generation, w->t->transid);
	D_SET32(struct d_inode_item, ii, nlink, 1);
	D_SET32(struct d_inode_item, ii, mode, mode);
	D_SET64(struct d_inode_item, ii, rdev, rdev);
	inode_touch(w, ii, 1);
	memcpy(D_WPTR(struct d_inode_item, ii, atime),
	       D_PTR(struct d_inode_item, ii, ctime), 12);
	memcpy(D_WPTR(struct d_inode_item, ii, otime),
	       D_PTR(struct d_inode_item, ii, ctime), 12);
	k.objectid = *ino;
	/* A failure here changed nothing (a skipped inode number aside):
	 * the insert fails before it modifies the tree. */
	return ctree_insert_item(w->t, root, &k, ii, sizeof(ii));
}

/* Make path as a new inode of mode (rdev: a device's number); *out
 * names it. -EDQUOT before anything changes when the subvolume's quota
 * limits leave no room for it. */
static int make_node_once(struct fs_info *fs, const char *path, u32 mode,
			  u64 rdev, const char *target, struct fs_ino *out)
{
	struct ctree_root *root;
	struct dentry d;
	struct wctx w;
	struct dentry *ds[1] = { &d };
	char *buf = kmalloc(4096);
	u64 ino = 0;
	int ret;

	if (!buf)
		return -ENOMEM;
	names_enter(fs, &w);
	ret = dentry_parent(fs, path, &d, buf);
	if (ret == 0)
		ret = names_lock(&w, ds, 1, NULL);
	if (ret == 0 && d.exists)
		ret = -EEXIST;
	if (ret == 0)
		ret = names_join(&w, 0);
	if (ret) {
		names_leave(&w);
		kfree(buf);
		return ret;
	}
	ret = wctx_root(&w, d.dir.root, &root);
	if (ret == 0)
		ret = link_check(root, &d, 0, NULL);
	if (ret == 0)
		ret = qgroup_reserve(fs, d.dir.root, (NAME_RSV_NODES +
				     !!target) * (u64)fs->nodesize, 0);
	if (ret == 0)
		ret = new_inode(&w, root, d.dir.root, mode, rdev, &ino);
	if (ret == 0) {
		ret = link_name(&w, root, &d, ino, dir_ftype_of_mode(mode));
		if (ret)	/* the inode item is in: no way back */
			trans_abort(w.t, ret);
	}
	if (ret == 0 && target)
		ret = symlink_data(&w, root, ino, target);
	if (ret == 0 && out) {
		out->root = d.dir.root;
		out->ino = ino;
	}
	wctx_end(&w);
	kfree(buf);
	return ret;
}

/* make_node_once, tried again after a commit when the quota limits
 * refuse it: the commit counts what the running transaction's names
 * really used and drops their reservations (as Linux flushes). */
static int make_node(struct fs_info *fs, const char *path, u32 mode,
		     u64 rdev, const char *target, struct fs_ino *out)
{
	int ret = make_node_once(fs, path, mode, rdev, target, out);

	if (ret == -EDQUOT) {
		ret = trans_commit(fs);
		if (ret == 0)
			ret = make_node_once(fs, path, mode, rdev, target,
					     out);
	}
	return ret;
}

int fs_create(struct fs_info *fs, const char *path, uint32_t mode,
	      struct fs_ino *out)
{
	return make_node(fs, path, S_IFREG_ | (mode & 07777), 0, NULL, out);
}

int fs_mkdir(struct fs_info *fs, const char *path, uint32_t mode)
{
	return make_node(fs, path, S_IFDIR_ | (mode & 07777), 0, NULL, NULL);
}

int fs_symlink(struct fs_info *fs, const char *target, const char *path)
{
	size_t n = strlen(target);

	if (n == 0 || n > fs->sectorsize - 1 || n > 2048)
		return n ? -ENAMETOOLONG : -EINVAL;
	return make_node(fs, path, S_IFLNK_ | 0777, 0, target, NULL);
}

/*
 * Make a device node, FIFO or socket at path: mode's type is S_IFCHR,
 * S_IFBLK, S_IFIFO or S_IFSOCK (else -EINVAL); rdev (FS_MKDEV, a 32-bit
 * dev_t, else -EINVAL) is kept for devices only, as Linux does.
 */
int fs_mknod(struct fs_info *fs, const char *path, uint32_t mode,
	     uint64_t rdev, struct fs_ino *out)
{
	u32 type = mode & S_IFMT_;

	if ((type != S_IFCHR_ && type != S_IFBLK_ && type != S_IFIFO_ &&
	     type != S_IFSOCK_) || rdev >> 32)
		return -EINVAL;
	if (type != S_IFCHR_ && type != S_IFBLK_)
		rdev = 0;
	return make_node(fs, path, type | (mode & 07777), rdev, NULL, out);
}
