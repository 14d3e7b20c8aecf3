/*
 * Making subvolumes and snapshots.
 *
 * A subvolume is a tree of its own (id >= 256), described by a ROOT_ITEM
 * in the root tree and linked into a directory of its parent subvolume by
 * three things that must agree: a directory entry (DIR_ITEM and
 * DIR_INDEX) whose location is (id, ROOT_ITEM, -1), and the pair
 * (parent, ROOT_REF, id) / (id, ROOT_BACKREF, parent), each holding the
 * directory, the entry's index and the name. The subvolume's UUID goes in
 * the UUID tree (uuid_tree.c).
 *
 * fs_subvol_create makes an empty tree at once, inside an ordinary
 * namespace change: one leaf holding the root directory 256 (its inode
 * item and its ".." back-ref to itself).
 *
 * fs_subvol_snapshot, as Linux does, makes the snapshot at the commit, so
 * that every change of the source made before it is in it: the call
 * checks the names, queues a struct snapshot_pending on the running
 * transaction, and commits holding ns_lock, so nothing else takes the
 * name meanwhile. At the commit (trans_sem held for write: no change
 * runs) snapshot_create_pending copies the source's root block into a
 * new block owned by the snapshot and gives the snapshot a normal
 * reference on everything that block points to ("btrfs_copy_root" in
 * the reference): O(1) in the size of the tree. From then on both trees
 * share every block below their roots; the source's last_snapshot
 * becomes this transid, so a later copy of any of its blocks first looks
 * up whether it is shared (extent_update_ref_for_cow, the four cases).
 * Blocks this transaction made are shared too although it made them: the
 * source's force_cow makes the rest of this commit (the snapshot's own
 * directory entry may go into the source) copy them instead of changing
 * them in place.
 *
 * A snapshot's root item is the source's with a new UUID, the source's
 * UUID as parent_uuid, otransid and otime now, the read-only flag as
 * asked, and (for a writable one) no received UUID.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>
#include <ghee/time.h>

#include "dir_write.h"
#include "extent_tree.h"
#include "fs_info.h"
#include "qgroup.h"
#include "internal.h"
#include "namei.h"
#include "subvol_create.h"
#include "uuid_tree.h"

#define RI ((u32)sizeof(struct d_root_item))

/* A snapshot asked for, made at the commit. */
struct snapshot_pending {
	struct list_head link;		/* on trans->snapshots [trans->lock] */
	u64 src;			/* subvolume copied */
	u64 id;				/* the snapshot's id */
	struct fs_ino dir;		/* directory its name goes in */
	u64 flags;			/* root item flags (SUBVOL_RDONLY) */
	struct fs_qgroup_inherit qi;	/* quota groups it joins */
	size_t len;			/* bytes of name */
	char name[BTRFS_NAME_LEN + 1];
	int ret;			/* set by the commit */
};

/* The id for a new subvolume: one past the highest in the root tree. */
static int new_subvol_id(struct fs_info *fs, u64 *out)
{
	struct key k = { BTRFS_LAST_FREE_OBJECTID, (u8)-1, (u64)-1 };
	struct ctree_path p;
	int ret = 0;

	if (!fs->next_subvol_id) {
		ctree_path_init(&p);
		ret = ctree_search_le(&fs->tree_root, &k, &p);
		fs->next_subvol_id = BTRFS_FIRST_FREE_OBJECTID;
		if (ret == 0) {
			ctree_item_key(&p, &k);
			if (k.objectid >= BTRFS_FIRST_FREE_OBJECTID)
				fs->next_subvol_id = k.objectid + 1;
		}
		ctree_path_release(&p);
		if (ret < 0)
			return ret;
	}
	if (fs->next_subvol_id > BTRFS_LAST_FREE_OBJECTID)
		return -ENOSPC;
	*out = fs->next_subvol_id++;
	return 0;
}

static void set_now(u8 *ts)
{
	D_SET64(struct d_timespec, ts, sec, time_wall_sec());
	D_SET32(struct d_timespec, ts, nsec, 0);
}

/* Insert ROOT_REF and ROOT_BACKREF linking id into parent's dir. */
static int add_root_refs(struct trans *t, u64 parent, u64 id, u64 dir,
			 u64 index, const char *name, size_t len)
{
	u8 r[sizeof(struct d_root_ref) + BTRFS_NAME_LEN];
	struct key k = { parent, BTRFS_ROOT_REF_KEY, id };
	u32 size = (u32)(sizeof(struct d_root_ref) + len);
	int ret;

	D_SET64(struct d_root_ref, r, dirid, dir);
	D_SET64(struct d_root_ref, r, sequence, index);
	D_SET16(struct d_root_ref, r, name_len, (u16)len);
	memcpy(r + sizeof(struct d_root_ref), name, len);
	ret = ctree_insert_item(t, &t->fs->tree_root, &k, r, size);
	if (ret == 0) {
		k.objectid = id;
		k.type = BTRFS_ROOT_BACKREF_KEY;
		k.offset = parent;
		ret = ctree_insert_item(t, &t->fs->tree_root, &k, r, size);
	}
	return ret;
}

/*
 * Link subvolume id as name in directory dir: the entry, the directory's
 * size and times, and the root refs. Errors abort.
 */
static int link_subvol(struct wctx *w, struct fs_ino dir, const char *name,
		       size_t len, u64 id)
{
	struct key loc = { id, BTRFS_ROOT_ITEM_KEY, (u64)-1 };
	u8 di[sizeof(struct d_inode_item)];
	const struct subvol_root *sv;
	struct ctree_root *root;
	u64 index;
	int ret = subvol_get(w->fs, dir.root, &sv);

	root = ret ? NULL : (struct ctree_root *)&sv->root;
	if (ret == 0)
		ret = dir_next_index(root, dir.ino, &index);
	if (ret == 0)
		ret = dir_add(w, root, dir.ino, name, len, &loc, BTRFS_FT_DIR,
			      index);
	if (ret == 0)
		ret = inode_item_get(root, dir.ino, di);
	if (ret == 0) {
		D_SET64(struct d_inode_item, di, size,
			D_GET64(struct d_inode_item, di, size) + 2 * len);
		inode_touch(w, di, 1);
		ret = inode_item_put(w, root, dir.ino, di);
	}
	if (ret == 0)
		ret = add_root_refs(w->t, dir.root, id, dir.ino, index, name,
				    len);
	if (ret)
		trans_abort(w->t, ret);
	return ret;
}

/* The root directory of a new subvolume, in its empty tree. */
static int make_root_dir(struct wctx *w, struct ctree_root *root)
{
	u8 ii[sizeof(struct d_inode_item)];
	u8 ref[sizeof(struct d_inode_ref) + 2];
	struct key k = { BTRFS_FIRST_FREE_OBJECTID, BTRFS_INODE_ITEM_KEY, 0 };
	int ret;

	memset(ii, 0, sizeof(ii));
	D_SET64(struct d_inode_item, ii, generation, w->t->transid);
	D_SET32(struct d_inode_item, ii, nlink, 1);
	D_SET32(struct d_inode_item, ii, mode, S_IFDIR_ | 0755);
	inode_touch(w, ii, 1);
	memcpy(D_WPTR(struct d_inode_item, ii, atime),
	       D_PTR(struct d_inode_item, ii, ctime), 12);
	memcpy(D_WPTR(struct d_inode_item, ii, otime),
	       D_PTR(struct d_inode_item, ii, ctime), 12);
	ret = ctree_insert_item(w->t, root, &k, ii, sizeof(ii));
	if (ret)
		return ret;
	D_SET64(struct d_inode_ref, ref, index, 0);
	D_SET16(struct d_inode_ref, ref, name_len, 2);
	memcpy(ref + sizeof(struct d_inode_ref), "..", 2);
	k.type = BTRFS_INODE_REF_KEY;
	k.offset = BTRFS_FIRST_FREE_OBJECTID;
	return ctree_insert_item(w->t, root, &k, ref, sizeof(ref));
}

/* The root item of a new, empty subvolume whose tree is root. */
static void new_root_item(struct wctx *w, const struct ctree_root *root,
			  u8 *item)
{
	memset(item, 0, RI);
	D_SET64(struct d_inode_item, item, generation, 1);
	D_SET64(struct d_inode_item, item, size, 3);
	D_SET32(struct d_inode_item, item, nlink, 1);
	D_SET64(struct d_inode_item, item, nbytes, w->fs->nodesize);
	D_SET32(struct d_inode_item, item, mode, S_IFDIR_ | 0755);
	D_SET64(struct d_inode_item, item, flags, BTRFS_INODE_ROOT_ITEM_INIT);
	D_SET64(struct d_root_item, item, generation, w->t->transid);
	D_SET64(struct d_root_item, item, generation_v2, w->t->transid);
	D_SET64(struct d_root_item, item, root_dirid, BTRFS_FIRST_FREE_OBJECTID);
	D_SET64(struct d_root_item, item, bytenr, root->bytenr);
	D_SET8(struct d_root_item, item, level, root->level);
	D_SET64(struct d_root_item, item, bytes_used, w->fs->nodesize);
	D_SET32(struct d_root_item, item, refs, 1);
	fs_uuid_generate(D_WPTR(struct d_root_item, item, uuid));
	D_SET64(struct d_root_item, item, ctransid, w->t->transid);
	D_SET64(struct d_root_item, item, otransid, w->t->transid);
	set_now(D_WPTR(struct d_root_item, item, ctime));
	set_now(D_WPTR(struct d_root_item, item, otime));
}

/* Resolve the new name path: its directory must be writable and the name
 * free and addable. */
static int new_name(struct wctx *w, const char *path, struct dentry *d,
		    char *buf)
{
	struct ctree_root *root;
	int ret = dentry_parent(w->fs, path, d, buf);

	/* ns_lock is held for write: no name changes meanwhile. */
	if (ret == 0)
		ret = dentry_find(w->fs, d);

	if (ret == 0 && d->exists)
		ret = -EEXIST;
	if (ret == 0)
		ret = wctx_root(w, d->dir.root, &root);
	if (ret == 0)
		ret = link_check(root, d, 0, NULL);
	/* The new entry's blocks, against the directory's quota limits
	 * (Linux's reservation: three blocks). */
	if (ret == 0)
		ret = qgroup_reserve(w->fs, d->dir.root, 3 * w->fs->nodesize,
				     0);
	return ret;
}

/* Make the tree and items of new subvolume id named d, its qgroup a
 * member of qi's groups. */
static int create_locked(struct wctx *w, const struct dentry *d, u64 id,
			 const struct fs_qgroup_inherit *qi)
{
	u8 item[RI];
	struct ctree_root root;
	struct key k = { id, BTRFS_ROOT_ITEM_KEY, 0 };
	int ret;

	ctree_root_init(&root, w->fs, id, 0, 0, 0);
	ret = ctree_create_empty(w->t, &root);
	if (ret)
		return ret;	/* nothing points at the new leaf yet */
	ret = make_root_dir(w, &root);
	if (ret == 0) {
		new_root_item(w, &root, item);
		ret = ctree_insert_item(w->t, &w->fs->tree_root, &k, item, RI);
	}
	if (ret == 0)
		ret = link_subvol(w, d->dir, d->name, d->len, id);
	if (ret == 0)
		ret = uuid_tree_add(w->t, BTRFS_UUID_KEY_SUBVOL,
				    D_PTR(struct d_root_item, item, uuid), id);
	if (ret == 0)
		ret = qgroup_subvol_created(w->t, id, qi);
	if (ret)
		trans_abort(w->t, ret);
	return ret;
}

/*
 * Make an empty subvolume at path (btrfs subvolume create [-i]), its
 * qgroup (quotas on) a member of qi's groups (qi may be NULL). Returns
 * 0, -EEXIST, -EROFS, -ENOSPC, -ENOENT (also: a group of qi does not
 * exist), -ENOTDIR, -EINVAL (a group of qi is level 0, or quotas are
 * off), or <0.
 */
int fs_subvol_create_inherit(struct fs_info *fs, const char *path,
			     const struct fs_qgroup_inherit *qi)
{
	struct dentry d;
	struct wctx w;
	char *buf = kmalloc(4096);
	u64 id;
	int ret = buf ? wctx_begin(fs, &w, 0) : -ENOMEM;

	if (ret) {
		kfree(buf);
		return ret;
	}
	ret = qgroup_inherit_check(fs, qi);
	if (ret == 0)
		ret = new_name(&w, path, &d, buf);
	if (ret == 0)
		ret = new_subvol_id(fs, &id);
	if (ret == 0)
		ret = create_locked(&w, &d, id, qi);
	wctx_end(&w);
	kfree(buf);
	return ret;
}

int fs_subvol_create(struct fs_info *fs, const char *path)
{
	return fs_subvol_create_inherit(fs, path, NULL);
}

/* Queue snapshot p of the subvolume whose root directory is src. */
static int snapshot_queue(struct wctx *w, const char *src, const char *dst,
			  struct snapshot_pending *p, char *buf)
{
	const struct subvol_root *sv;
	struct fs_ino ino;
	struct dentry d;
	int ret = inode_lookup(w->fs, src, FS_LOOKUP_FOLLOW, &ino);

	if (ret == 0)
		ret = subvol_get(w->fs, ino.root, &sv);
	if (ret == 0 && ino.ino != sv->root_dirid)
		ret = -EINVAL;	/* not a subvolume */
	if (ret == 0)
		ret = new_name(w, dst, &d, buf);
	if (ret == 0)
		ret = new_subvol_id(w->fs, &p->id);
	if (ret)
		return ret;
	p->src = ino.root;
	p->dir = d.dir;
	p->len = d.len;
	memcpy(p->name, d.name, d.len);
	p->ret = -EROFS;	/* unless a commit makes it */
	spin_lock(&w->t->lock);
	list_add_tail(&p->link, &w->t->snapshots);
	spin_unlock(&w->t->lock);
	return 0;
}

/*
 * Snapshot the subvolume at src as dst (btrfs subvolume snapshot [-r]
 * [-i]): queued, then made by the commit this call runs. flags:
 * FS_SNAP_RDONLY; qi (may be NULL) as for fs_subvol_create_inherit.
 * Returns 0, -EINVAL (src is not a subvolume; qi), -EEXIST, -EROFS,
 * -ENOSPC, -ENOENT, or <0.
 */
int fs_subvol_snapshot_inherit(struct fs_info *fs, const char *src,
			       const char *dst, unsigned flags,
			       const struct fs_qgroup_inherit *qi)
{
	struct snapshot_pending *p = kzalloc(sizeof(*p));
	struct wctx w;
	char *buf = kmalloc(4096);
	int ret = buf && p ? 0 : -ENOMEM;

	/* The changes before go in a commit of their own, so that with
	 * quotas on the snapshot's counts follow from its source's without
	 * a walk (qgroup_snapshot.c; Linux commits first too). */
	if (ret == 0)
		ret = trans_commit(fs);
	if (ret == 0)
		ret = wctx_begin(fs, &w, 0);

	if (ret) {
		kfree(buf);
		kfree(p);
		return ret;
	}
	p->flags = flags & FS_SNAP_RDONLY ? BTRFS_ROOT_SUBVOL_RDONLY : 0;
	if (qi)
		p->qi = *qi;
	ret = qgroup_inherit_check(fs, qi);
	if (ret == 0)
		ret = snapshot_queue(&w, src, dst, p, buf);
	if (ret) {
		wctx_end(&w);
	} else {
		ret = wctx_end_commit(&w);
		if (ret == 0)
			ret = p->ret;
	}
	kfree(buf);
	kfree(p);
	return ret;
}

int fs_subvol_snapshot(struct fs_info *fs, const char *src, const char *dst,
		       unsigned flags)
{
	return fs_subvol_snapshot_inherit(fs, src, dst, flags, NULL);
}

/* The snapshot's root item, from the source's (src) and its new root
 * block b. */
static void snapshot_root_item(struct trans *t, const struct snapshot_pending *p,
			       const u8 *src, const struct tree_block *b,
			       u8 *item)
{
	static const u8 zero[BTRFS_UUID_SIZE];

	memcpy(item, src, RI);
	D_SET64(struct d_inode_item, item, flags,
		D_GET64(struct d_inode_item, src, flags) |
		BTRFS_INODE_ROOT_ITEM_INIT);
	D_SET64(struct d_root_item, item, bytenr, b->start);
	D_SET64(struct d_root_item, item, generation, t->transid);
	D_SET64(struct d_root_item, item, generation_v2, t->transid);
	D_SET8(struct d_root_item, item, level, tb_level(b));
	D_SET32(struct d_root_item, item, refs, 1);
	D_SET64(struct d_root_item, item, last_snapshot, t->transid);
	D_SET64(struct d_root_item, item, flags,
		(D_GET64(struct d_root_item, src, flags) &
		 ~BTRFS_ROOT_SUBVOL_RDONLY) | p->flags);
	memset(D_WPTR(struct d_root_item, item, drop_progress), 0,
	       sizeof(struct d_key));
	D_SET8(struct d_root_item, item, drop_level, 0);
	fs_uuid_generate(D_WPTR(struct d_root_item, item, uuid));
	memcpy(D_WPTR(struct d_root_item, item, parent_uuid),
	       D_PTR(struct d_root_item, src, uuid), BTRFS_UUID_SIZE);
	if (!(p->flags & BTRFS_ROOT_SUBVOL_RDONLY)) {
		memcpy(D_WPTR(struct d_root_item, item, received_uuid), zero,
		       BTRFS_UUID_SIZE);
		D_SET64(struct d_root_item, item, stransid, 0);
		D_SET64(struct d_root_item, item, rtransid, 0);
		memset(D_WPTR(struct d_root_item, item, stime), 0,
		       sizeof(struct d_timespec));
		memset(D_WPTR(struct d_root_item, item, rtime), 0,
		       sizeof(struct d_timespec));
	}
	D_SET64(struct d_root_item, item, otransid, t->transid);
	set_now(D_WPTR(struct d_root_item, item, otime));
}

/*
 * Copy the root block of src into a new block of tree id, with normal
 * references of id on everything it points to. *out holds a reference.
 */
static int copy_root(struct trans *t, struct ctree_root *src, u64 id,
		     struct tree_block **out)
{
	struct ctree_root snap;
	struct tree_block *b, *n;
	int ret = ctree_read_root(src, &b);

	if (ret)
		return ret;
	ctree_root_init(&snap, t->fs, id, 0, 0, 0);
	ret = extent_alloc_tree_block(t, &snap, tb_level(b), &n);
	if (ret == 0) {
		memcpy(n->data + offsetof(struct d_header, nritems),
		       b->data + offsetof(struct d_header, nritems),
		       b->len - offsetof(struct d_header, nritems));
		ret = extent_block_refs(t, &snap, n, 0, 1);
		if (ret)
			tree_block_put(n);
		else
			*out = n;
	}
	tree_block_put(b);
	return ret;
}

/* Make snapshot p (at the commit). */
static int make_snapshot(struct trans *t, struct snapshot_pending *p)
{
	static const u8 zero[BTRFS_UUID_SIZE];
	struct wctx w = { .fs = t->fs, .t = t, .background = 1 };
	struct key k = { p->id, BTRFS_ROOT_ITEM_KEY, t->transid };
	const struct subvol_root *sv;
	struct ctree_root *src;
	struct tree_block *n;
	u64 snap_root;
	u8 *src_item = kmalloc(2 * RI), *item = src_item + RI;
	u32 size;
	int ret = src_item ? subvol_get(t->fs, p->src, &sv) : -ENOMEM;

	if (ret == 0)
		ret = subvol_read_root_item(t->fs, p->src, src_item, &size);
	if (ret)
		goto out;
	src = (struct ctree_root *)&sv->root;
	ret = copy_root(t, src, p->id, &n);
	if (ret)
		goto out;
	src->last_snapshot = t->transid;
	src->force_cow = t->transid;
	spin_lock(&src->lock);
	src->dirty = 1;		/* its root item records last_snapshot */
	spin_unlock(&src->lock);
	snapshot_root_item(t, p, src_item, n, item);
	snap_root = n->start;
	tree_block_put(n);
	ret = ctree_insert_item(t, &t->fs->tree_root, &k, item, RI);
	if (ret == 0)
		ret = qgroup_snapshot_created(t, p->src, p->id, &p->qi, src,
					      snap_root);
	if (ret == 0)
		ret = link_subvol(&w, p->dir, p->name, p->len, p->id);
	if (ret == 0)
		ret = uuid_tree_add(t, BTRFS_UUID_KEY_SUBVOL,
				    D_PTR(struct d_root_item, item, uuid),
				    p->id);
	if (ret == 0 &&
	    memcmp(D_PTR(struct d_root_item, item, received_uuid), zero,
		   BTRFS_UUID_SIZE))
		ret = uuid_tree_add(t, BTRFS_UUID_KEY_RECEIVED_SUBVOL,
				    D_PTR(struct d_root_item, item,
					  received_uuid), p->id);
out:
	kfree(src_item);
	return ret;
}

/*
 * Make the snapshots queued on t, first step of its commit (caller holds
 * trans_sem for write). Each caller learns its result in p->ret; a
 * failure aborts the transaction.
 */
int snapshot_create_pending(struct trans *t)
{
	while (!list_empty(&t->snapshots)) {
		struct snapshot_pending *p = list_entry(
			t->snapshots.next, struct snapshot_pending, link);

		list_del_init(&p->link);
		p->ret = make_snapshot(t, p);
		if (p->ret) {
			trans_abort(t, p->ret);
			return p->ret;
		}
	}
	return 0;
}

/* Set or clear the read-only flag in id's root item. */
static int set_ro_item(struct trans *t, u64 id, int ro)
{
	struct ctree_path p;
	u8 *item;
	u32 size;
	u64 flags;
	int ret = trans_root_item_search(t, id, &p);

	if (ret)
		return ret;
	item = ctree_item_ptr_w(&p, &size);
	flags = D_GET64(struct d_root_item, item, flags);
	flags = ro ? flags | BTRFS_ROOT_SUBVOL_RDONLY :
		     flags & ~BTRFS_ROOT_SUBVOL_RDONLY;
	D_SET64(struct d_root_item, item, flags, flags);
	/* so that Linux honours the flags of an item made without */
	D_SET64(struct d_inode_item, item, flags,
		D_GET64(struct d_inode_item, item, flags) |
		BTRFS_INODE_ROOT_ITEM_INIT);
	ctree_path_release(&p);
	return 0;
}

/*
 * Make the subvolume whose root directory is path read-only (ro) or
 * writable again (btrfs property set PATH ro true|false). Changes in
 * progress in it have ended (ns_lock held for write excludes them; data
 * writes hold it for read). Returns 0, -EINVAL (not a subvolume), -EPERM
 * (made writable while a send reads it, as Linux refuses), or <0.
 */
int fs_subvol_set_ro(struct fs_info *fs, const char *path, int ro)
{
	const struct subvol_root *sv;
	struct subvol_root *s;
	struct fs_ino ino;
	struct wctx w;
	int ret = wctx_begin(fs, &w, 0);

	if (ret)
		return ret;
	ret = inode_lookup(fs, path, FS_LOOKUP_FOLLOW, &ino);
	if (ret == 0)
		ret = subvol_get(fs, ino.root, &sv);
	if (ret == 0 && ino.ino != sv->root_dirid)
		ret = -EINVAL;
	if (ret == 0 && !ro && subvol_sent(sv)) {
		pr_warn("cannot make subvolume %llu writable during send",
			(unsigned long long)ino.root);
		ret = -EPERM;
	}
	if (ret == 0 && subvol_is_read_only(sv) != !!ro) {
		ret = set_ro_item(w.t, ino.root, ro);
		s = (struct subvol_root *)sv;
		if (ret == 0)
			__atomic_store_n(&s->flags, ro ?
					 s->flags | BTRFS_ROOT_SUBVOL_RDONLY :
					 s->flags & ~BTRFS_ROOT_SUBVOL_RDONLY,
					 __ATOMIC_RELEASE);
		else
			trans_abort(w.t, ret);
	}
	wctx_end(&w);
	return ret;
}
