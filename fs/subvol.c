/*
 * Subvolumes. Each subvolume (and the top level, id 5) is a separate fs
 * tree whose root is recorded by a ROOT_ITEM in the root tree, keyed
 * (id, ROOT_ITEM, 0 or the snapshot's transid). A subvolume is linked into
 * its parent by ROOT_REF/ROOT_BACKREF items in the root tree and a directory
 * entry whose location is (id, ROOT_ITEM, -1).
 *
 * subvol_get() loads a subvolume's root once and keeps it on fs->subvols
 * (found by id in fs->subvol_ids) until unmount; entries never change
 * afterwards, so callers use them without holding subvol_lock.
 */
#include <ghee/errno.h>
#include <stdio.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "fs.h"
#include "fs_info.h"
#include "internal.h"
#include "subvol.h"
#include "tree_check.h"

/*
 * Copy the root item of tree `id` into item (sizeof(struct d_root_item)
 * bytes, zero-filled past a short v1 item). Returns 0, -ENOENT, or <0.
 */
int subvol_read_root_item(struct fs_info *fs, u64 id, u8 *item, u32 *size)
{
	struct key k = { id, BTRFS_ROOT_ITEM_KEY, (u64)-1 };
	struct ctree_path path;
	const u8 *p;
	int ret;

	ctree_path_init(&path);
	ret = ctree_search_le(&fs->tree_root, &k, &path);
	if (ret)
		goto out;
	ctree_item_key(&path, &k);
	if (k.objectid != id || k.type != BTRFS_ROOT_ITEM_KEY) {
		ret = 1;
		goto out;
	}
	p = ctree_item_ptr(&path, size);
	memset(item, 0, sizeof(struct d_root_item));
	memcpy(item, p, *size);
out:
	ctree_path_release(&path);
	return ret == 1 ? -ENOENT : ret;
}

/* The loaded subvolume id, deleted or not, or NULL (not loaded). */
const struct subvol_root *subvol_loaded(struct fs_info *fs, u64 id)
{
	u64 at;
	int ret;

	spin_lock(&fs->subvol_lock);
	ret = u64map_get(&fs->subvol_ids, id, &at);
	spin_unlock(&fs->subvol_lock);
	return ret ? NULL : (const struct subvol_root *)(uintptr_t)at;
}

/*
 * The first loaded subvolume, for a walk along ->next without the lock:
 * entries are only ever added at the head, never changed or removed
 * until unmount, so a head taken under the lock (which orders the
 * entries' making before the walk) leads through complete entries only.
 * An entry added later is not seen.
 */
struct subvol_root *subvol_first(struct fs_info *fs)
{
	struct subvol_root *s;

	spin_lock(&fs->subvol_lock);
	s = fs->subvols;
	spin_unlock(&fs->subvol_lock);
	return s;
}

/* Build a subvol_root from its root item. */
static int load_subvol(struct fs_info *fs, u64 id, struct subvol_root **out)
{
	u8 item[sizeof(struct d_root_item)];
	struct subvol_root *s;
	u32 size;
	int ret;

	ret = subvol_read_root_item(fs, id, item, &size);
	if (ret == -ENOENT)
		pr_err("subvolume %llu: no root item",
		       (unsigned long long)id);
	if (ret)
		return ret;
	if (D_GET32(struct d_root_item, item, refs) == 0) {
		pr_err("subvolume %llu is being deleted",
		       (unsigned long long)id);
		return -ENOENT;
	}
	s = kzalloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	ctree_root_init(&s->root, fs, id,
			D_GET64(struct d_root_item, item, bytenr),
			D_GET64(struct d_root_item, item, generation),
			D_GET8(struct d_root_item, item, level));
	s->root_dirid = D_GET64(struct d_root_item, item, root_dirid);
	s->root.last_snapshot = D_GET64(struct d_root_item, item,
					last_snapshot);
	s->flags = D_GET64(struct d_root_item, item, flags);
	*out = s;
	return 0;
}

/*
 * Get subvolume `id` (5 or a subvolume id), loading its root item the first
 * time. Returns 0, -ENOENT when there is no such subvolume, or <0.
 */
int subvol_get(struct fs_info *fs, u64 id, const struct subvol_root **out)
{
	const struct subvol_root *have;
	struct subvol_root *s;
	u64 at;
	int ret;

	if (!tree_check_is_subvol_tree(id))
		return -ENOENT;
	have = subvol_loaded(fs, id);
	if (have && __atomic_load_n(&have->deleted, __ATOMIC_ACQUIRE))
		return -ENOENT;
	if (have) {
		*out = have;
		return 0;
	}
	ret = load_subvol(fs, id, &s);
	if (ret)
		return ret;
	/* Another task may have loaded it meanwhile: the first one stays. */
	spin_lock(&fs->subvol_lock);
	if (u64map_get(&fs->subvol_ids, id, &at) == 0) {
		have = (const struct subvol_root *)(uintptr_t)at;
	} else {
		at = (u64)(uintptr_t)s;
		ret = u64map_put(&fs->subvol_ids, id, &at);
		if (ret == 0) {
			s->next = fs->subvols;
			fs->subvols = s;
			have = s;
			s = NULL;
		}
	}
	spin_unlock(&fs->subvol_lock);
	kfree(s);
	if (ret)
		return ret;
	*out = have;
	return 0;
}

/* Whether subvolume sv is read-only (a read-only snapshot, or made so
 * by `property set ro`). */
int subvol_is_read_only(const struct subvol_root *sv)
{
	return !!(__atomic_load_n(&sv->flags, __ATOMIC_ACQUIRE) &
		  BTRFS_ROOT_SUBVOL_RDONLY);
}

/* Whether a send reads subvolume sv now (it may be neither deleted nor
 * made writable then). Caller holds ns_lock. */
int subvol_sent(const struct subvol_root *sv)
{
	return __atomic_load_n(&sv->send_in_progress, __ATOMIC_ACQUIRE) != 0;
}

/*
 * The read-only guard: refuse any change inside subvolume sv when it is
 * read-only. Every change of a subvolume's tree gets its root through
 * wctx_root(), which calls this, so a new kind of change is guarded by
 * going through that entry. The one exception is dedupe, which moves
 * extent pointers but no key and no byte (wctx_root_remap). Returns 0 or
 * -EROFS.
 */
int subvol_check_writable(const struct subvol_root *sv)
{
	return subvol_is_read_only(sv) ? -EROFS : 0;
}

/* The subvolume left the namespace (subvol_delete.c): lookups of it fail
 * from now on. Callers that hold it already finish with it. */
void subvol_mark_deleted(const struct subvol_root *sv)
{
	__atomic_store_n(&((struct subvol_root *)sv)->deleted, 1,
			 __ATOMIC_RELEASE);
}

/* Free every loaded subvolume (unmount). */
void subvol_free_all(struct fs_info *fs)
{
	struct subvol_root *s = fs->subvols, *next;

	for (; s; s = next) {
		next = s->next;
		kfree(s);
	}
	fs->subvols = NULL;
	u64map_free(&fs->subvol_ids);
}

/* Prepend "name/" (or just name when buf is empty) to the path in buf. */
int subvol_prepend(char *buf, size_t cap, const u8 *name, size_t len)
{
	size_t have = strlen(buf), sep = have ? 1 : 0;

	if (have + len + sep + 1 > cap)
		return -ENAMETOOLONG;
	memmove(buf + len + sep, buf, have + 1);
	memcpy(buf, name, len);
	if (sep)
		buf[len] = '/';
	return 0;
}

/* Prepend the path of directory dirid inside subvolume sv, via INODE_REFs
 * (a directory has one name). */
int subvol_prepend_dir_path(const struct subvol_root *sv, u64 dirid,
			    char *buf, size_t cap)
{
	struct ctree_path path;
	int depth, ret = 0;

	ctree_path_init(&path);
	for (depth = 0; dirid != sv->root_dirid && depth < 4096; depth++) {
		struct key k = { dirid, BTRFS_INODE_REF_KEY, 0 };
		const u8 *p;
		u32 size;

		ret = ctree_search_ge(&sv->root, &k, &path);
		if (ret == 0) {
			ctree_item_key(&path, &k);
			if (k.objectid != dirid || k.type != BTRFS_INODE_REF_KEY)
				ret = -ENOENT;
		}
		if (ret)
			break;
		p = ctree_item_ptr(&path, &size);
		ret = subvol_prepend(buf, cap, p + sizeof(struct d_inode_ref),
			      D_GET16(struct d_inode_ref, p, name_len));
		if (ret)
			break;
		dirid = k.offset;
	}
	ctree_path_release(&path);
	return ret == 1 ? -ENOENT : ret;
}

/* Fill sv->path: parent's path, the directory inside it, and the name. */
static int subvol_path(struct fs_info *fs, struct fs_subvol *sv,
		       const u8 *name, size_t len)
{
	u64 parent = sv->parent, dirid = sv->dirid;
	int hops, ret;

	sv->path[0] = 0;
	ret = subvol_prepend(sv->path, sizeof(sv->path), name, len);
	for (hops = 0; ret == 0 && hops < 64; hops++) {
		const struct subvol_root *ps;
		u8 ref[sizeof(struct d_root_ref) + BTRFS_NAME_LEN];
		struct key k = { parent, BTRFS_ROOT_BACKREF_KEY, 0 };
		struct ctree_path path;
		const u8 *p;
		u32 size;

		ret = subvol_get(fs, parent, &ps);
		if (ret == 0)
			ret = subvol_prepend_dir_path(ps, dirid, sv->path,
					       sizeof(sv->path));
		if (ret || parent == BTRFS_FS_TREE_OBJECTID)
			break;
		ctree_path_init(&path);
		ret = ctree_search_ge(&fs->tree_root, &k, &path);
		if (ret == 0) {
			ctree_item_key(&path, &k);
			p = ctree_item_ptr(&path, &size);
			if (k.objectid != parent ||
			    k.type != BTRFS_ROOT_BACKREF_KEY)
				ret = -ENOENT;
			else
				memcpy(ref, p, size < sizeof(ref) ? size :
				       sizeof(ref));
		}
		ctree_path_release(&path);
		if (ret)
			break;
		ret = subvol_prepend(sv->path, sizeof(sv->path),
			      ref + sizeof(struct d_root_ref),
			      D_GET16(struct d_root_ref, ref, name_len));
		parent = k.offset;
		dirid = D_GET64(struct d_root_ref, ref, dirid);
	}
	return ret == 1 ? -ENOENT : ret;
}

/* The root item's part of sv. */
static void fill_from_item(struct fs_subvol *sv, const struct subvol_root *s,
			   const u8 *item)
{
	const u8 *ot = D_PTR(struct d_root_item, item, otime);
	const u8 *rt = D_PTR(struct d_root_item, item, rtime);

	sv->generation = D_GET64(struct d_root_item, item, generation);
	sv->read_only = subvol_is_read_only(s);
	sv->otransid = D_GET64(struct d_root_item, item, otransid);
	sv->otime.sec = (int64_t)D_GET64(struct d_timespec, ot, sec);
	sv->otime.nsec = D_GET32(struct d_timespec, ot, nsec);
	sv->stransid = D_GET64(struct d_root_item, item, stransid);
	sv->rtransid = D_GET64(struct d_root_item, item, rtransid);
	sv->rtime.sec = (int64_t)D_GET64(struct d_timespec, rt, sec);
	sv->rtime.nsec = D_GET32(struct d_timespec, rt, nsec);
	memcpy(sv->uuid, D_PTR(struct d_root_item, item, uuid), 16);
	memcpy(sv->parent_uuid, D_PTR(struct d_root_item, item, parent_uuid),
	       16);
	memcpy(sv->received_uuid,
	       D_PTR(struct d_root_item, item, received_uuid), 16);
}

/* Describe the subvolume of a ROOT_BACKREF item and call fn. */
static int report_subvol(struct fs_info *fs, const struct key *k,
			 const u8 *ref, fs_subvol_fn fn, void *ctx)
{
	struct fs_subvol *sv = kzalloc(sizeof(*sv));
	const struct subvol_root *s;
	u8 item[sizeof(struct d_root_item)];
	u32 size;
	int ret;

	if (!sv)
		return -ENOMEM;
	sv->id = k->objectid;
	sv->parent = k->offset;
	sv->dirid = D_GET64(struct d_root_ref, ref, dirid);
	ret = subvol_get(fs, sv->id, &s);
	if (ret == 0)
		ret = subvol_read_root_item(fs, sv->id, item, &size);
	if (ret == 0) {
		fill_from_item(sv, s, item);
		ret = subvol_path(fs, sv, ref + sizeof(struct d_root_ref),
				  D_GET16(struct d_root_ref, ref, name_len));
	}
	if (ret == 0)
		ret = fn(ctx, sv);
	kfree(sv);
	return ret;
}

/*
 * Call fn for every subvolume below the top level, in id order. The item
 * from the root tree is copied out before fn runs, so fn may do lookups.
 */
static int subvol_list_locked(struct fs_info *fs, fs_subvol_fn fn, void *ctx)
{
	u8 ref[sizeof(struct d_root_ref) + BTRFS_NAME_LEN];
	struct key k = { BTRFS_FIRST_FREE_OBJECTID, 0, 0 };
	struct ctree_path path;
	int ret;

	ctree_path_init(&path);
	ret = ctree_search_ge(&fs->tree_root, &k, &path);
	while (ret == 0) {
		const u8 *p;
		u32 size;

		ctree_item_key(&path, &k);
		if (k.objectid > BTRFS_LAST_FREE_OBJECTID)
			break;
		if (k.type == BTRFS_ROOT_BACKREF_KEY) {
			p = ctree_item_ptr(&path, &size);
			memcpy(ref, p, size);
			ctree_path_release(&path);
			ret = report_subvol(fs, &k, ref, fn, ctx);
			if (ret)
				break;
			k.offset++;
			ret = ctree_search_ge(&fs->tree_root, &k, &path);
			continue;
		}
		ret = ctree_next_item(&path);
	}
	ctree_path_release(&path);
	return ret < 0 ? ret : ret == 1 ? 0 : ret;
}

/* Copy the report of subvolume id out of fs_subvol_list's walk. */
struct find_one {
	u64 id;
	struct fs_subvol *out;
};

static int find_one_fn(void *ctx, const struct fs_subvol *sv)
{
	struct find_one *f = ctx;

	if (sv->id != f->id)
		return 0;
	*f->out = *sv;
	return 1;
}

/* Describe the top level (id 5), which has no back-ref. */
static int describe_top(struct fs_info *fs, struct fs_subvol *sv)
{
	u8 item[sizeof(struct d_root_item)];
	const struct subvol_root *s;
	u32 size;
	int ret = subvol_get(fs, BTRFS_FS_TREE_OBJECTID, &s);

	if (ret == 0)
		ret = subvol_read_root_item(fs, BTRFS_FS_TREE_OBJECTID, item,
					    &size);
	if (ret)
		return ret;
	memset(sv, 0, sizeof(*sv));
	sv->id = BTRFS_FS_TREE_OBJECTID;
	sv->dirid = s->root_dirid;
	fill_from_item(sv, s, item);
	return 0;
}

/*
 * Describe the subvolume whose root directory is path (subvolume show).
 * Returns 0, -EINVAL when path is not a subvolume, -ENOENT, or <0.
 */
int fs_subvol_get(struct fs_info *fs, const char *path, struct fs_subvol *sv)
{
	struct find_one f = { 0, sv };
	const struct subvol_root *s;
	struct fs_ino ino;
	int ret;

	memset(sv, 0, sizeof(*sv));
	down_read(&fs->ns_lock);
	ret = inode_lookup(fs, path, FS_LOOKUP_FOLLOW, &ino);
	if (ret == 0)
		ret = subvol_get(fs, ino.root, &s);
	if (ret == 0 && ino.ino != s->root_dirid)
		ret = -EINVAL;
	f.id = ino.root;
	if (ret == 0 && ino.root == BTRFS_FS_TREE_OBJECTID)
		ret = describe_top(fs, sv);
	else if (ret == 0)
		ret = subvol_list_locked(fs, find_one_fn, &f);
	if (ret == 0 && ino.root != BTRFS_FS_TREE_OBJECTID && sv->id != f.id)
		ret = -ENOENT;
	up_read(&fs->ns_lock);
	return ret == 1 ? 0 : ret;
}

/* fs_subvol_list under ns_lock held for read (fn must not call fs/). */
int fs_subvol_list(struct fs_info *fs, fs_subvol_fn fn, void *ctx)
{
	int ret;

	down_read(&fs->ns_lock);
	ret = subvol_list_locked(fs, fn, ctx);
	up_read(&fs->ns_lock);
	return ret;
}
