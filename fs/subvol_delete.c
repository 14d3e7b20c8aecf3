/*
 * Deleting subvolumes, as Linux does it: the subvolume leaves the
 * namespace at once, in one ordinary namespace change, and its tree is
 * dropped later in the background (cleaner.c).
 *
 * The change removes the directory entry and the ROOT_REF/ROOT_BACKREF
 * pair, the UUID tree entries, sets the root item's refs to 0 and adds an
 * orphan item (ORPHAN, ORPHAN_ITEM, id) to the root tree, which marks the
 * root as dead until the cleaner has dropped it; the loaded subvolume is
 * marked deleted so no lookup enters it again. Refused, with nothing
 * changed: the top level (-EPERM), the default subvolume (-EPERM), a
 * subvolume that holds other subvolumes (-ENOTEMPTY), and anything but a
 * subvolume's root directory (-EINVAL). (Send does not exist yet; when it
 * does, a subvolume it reads must be refused here too.)
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "cleaner.h"
#include "dir_write.h"
#include "fs_info.h"
#include "internal.h"
#include "namei.h"
#include "uuid_tree.h"

#define RI ((u32)sizeof(struct d_root_item))

/* Whether subvolume id holds other subvolumes (has a ROOT_REF). */
static int holds_subvols(struct fs_info *fs, u64 id)
{
	struct key k = { id, BTRFS_ROOT_REF_KEY, 0 };
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_ge(&fs->tree_root, &k, &p);
	if (ret == 0) {
		ctree_item_key(&p, &k);
		ret = k.objectid == id && k.type == BTRFS_ROOT_REF_KEY;
	}
	ctree_path_release(&p);
	return ret == 1 ? 1 : ret < 0 ? ret : 0;
}

/* Read id's root ref in parent: the directory, index and name. */
static int read_root_ref(struct fs_info *fs, u64 parent, u64 id, u8 *ref)
{
	struct key k = { parent, BTRFS_ROOT_REF_KEY, id };
	struct ctree_path p;
	const u8 *d;
	u32 size;
	int ret;

	ctree_path_init(&p);
	ret = ctree_lookup(&fs->tree_root, &k, &p);
	if (ret == 0) {
		d = ctree_item_ptr(&p, &size);
		memcpy(ref, d, size < sizeof(struct d_root_ref) + BTRFS_NAME_LEN ?
		       size : sizeof(struct d_root_ref) + BTRFS_NAME_LEN);
	}
	ctree_path_release(&p);
	return ret;
}

/* Remove the directory entry of id from dir of its parent (and the
 * directory's size), and the root refs. */
static int unlink_subvol(struct wctx *w, struct ctree_root *proot,
			 u64 parent, u64 id)
{
	u8 ref[sizeof(struct d_root_ref) + BTRFS_NAME_LEN];
	u8 di[sizeof(struct d_inode_item)];
	struct key k = { parent, BTRFS_ROOT_REF_KEY, id };
	const char *name = (const char *)ref + sizeof(struct d_root_ref);
	u64 dir;
	u16 len;
	int ret = read_root_ref(w->fs, parent, id, ref);

	if (ret)
		return ret == -ENOENT ? -EUCLEAN : ret;
	dir = D_GET64(struct d_root_ref, ref, dirid);
	len = D_GET16(struct d_root_ref, ref, name_len);
	ret = dir_del(w, proot, dir, name, len,
		      D_GET64(struct d_root_ref, ref, sequence));
	if (ret == 0)
		ret = inode_item_get(proot, dir, di);
	if (ret == 0) {
		D_SET64(struct d_inode_item, di, size,
			D_GET64(struct d_inode_item, di, size) - 2u * len);
		inode_touch(w, di, 1);
		ret = inode_item_put(w, proot, dir, di);
	}
	if (ret == 0)
		ret = cleaner_del_root_tree_item(w->t, &k);
	if (ret == 0) {
		k.objectid = id;
		k.type = BTRFS_ROOT_BACKREF_KEY;
		k.offset = parent;
		ret = cleaner_del_root_tree_item(w->t, &k);
	}
	return ret;
}

/* Mark root id dead: refs 0 in its root item, the orphan item, the UUID
 * tree entries gone. */
static int mark_dead(struct wctx *w, u64 id)
{
	static const u8 zero[BTRFS_UUID_SIZE];
	struct key k = { BTRFS_ORPHAN_OBJECTID, BTRFS_ORPHAN_ITEM_KEY, id };
	u8 item[RI];
	u32 size;
	int ret = subvol_read_root_item(w->fs, id, item, &size);

	if (ret == 0)
		ret = cleaner_set_root_item(w->t, id, 0, NULL, 0);
	if (ret == 0)
		ret = ctree_insert_item(w->t, &w->fs->tree_root, &k, NULL, 0);
	if (ret == 0 && memcmp(D_PTR(struct d_root_item, item, uuid), zero,
			       BTRFS_UUID_SIZE))
		ret = uuid_tree_remove(w->t, BTRFS_UUID_KEY_SUBVOL,
				       D_PTR(struct d_root_item, item, uuid), id);
	if (ret == 0 &&
	    memcmp(D_PTR(struct d_root_item, item, received_uuid), zero,
		   BTRFS_UUID_SIZE))
		ret = uuid_tree_remove(w->t, BTRFS_UUID_KEY_RECEIVED_SUBVOL,
				       D_PTR(struct d_root_item, item,
					     received_uuid), id);
	return ret;
}

/* The subvolume id's parent (its ROOT_BACKREF), 0 when unlinked. */
static int parent_of(struct fs_info *fs, u64 id, u64 *parent)
{
	struct key k = { id, BTRFS_ROOT_BACKREF_KEY, 0 };
	struct ctree_path p;
	int ret;

	*parent = 0;
	ctree_path_init(&p);
	ret = ctree_search_ge(&fs->tree_root, &k, &p);
	if (ret == 0) {
		ctree_item_key(&p, &k);
		if (k.objectid == id && k.type == BTRFS_ROOT_BACKREF_KEY)
			*parent = k.offset;
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : 0;
}

/* Refuse what may not be deleted; else find the parent's root. */
static int may_delete(struct wctx *w, const struct subvol_root *sv, u64 id,
		      u64 *parent, struct ctree_root **proot)
{
	u64 dflt;
	int ret = subvol_default_read(w->fs, &dflt);

	if (ret)
		return ret;
	if (id == BTRFS_FS_TREE_OBJECTID || id == w->fs->default_subvol ||
	    id == dflt) {
		pr_err("cannot delete subvolume %llu: it is the %s",
		       (unsigned long long)id,
		       id == BTRFS_FS_TREE_OBJECTID ? "top level" :
		       "default subvolume");
		return -EPERM;
	}
	if (subvol_sent(sv)) {
		pr_warn("attempt to delete subvolume %llu during send",
			(unsigned long long)id);
		return -EPERM;
	}
	ret = holds_subvols(w->fs, id);
	if (ret > 0) {
		pr_err("cannot delete subvolume %llu: it holds other "
		       "subvolumes", (unsigned long long)id);
		return -ENOTEMPTY;
	}
	if (ret == 0)
		ret = parent_of(w->fs, id, parent);
	if (ret == 0 && !*parent)
		ret = -ENOENT;
	return ret ? ret : wctx_root(w, *parent, proot);
}

/* Delete subvolume id inside a namespace change. */
static int delete_locked(struct wctx *w, u64 id)
{
	const struct subvol_root *sv;
	struct ctree_root *proot;
	u64 parent;
	int ret = subvol_get(w->fs, id, &sv);

	if (ret == 0)
		ret = may_delete(w, sv, id, &parent, &proot);
	if (ret)
		return ret;
	ret = unlink_subvol(w, proot, parent, id);
	if (ret == 0)
		ret = mark_dead(w, id);
	if (ret) {
		trans_abort(w->t, ret);
		return ret;
	}
	subvol_mark_deleted(sv);
	return 0;
}

/*
 * Delete a subvolume (btrfs subvolume delete), named by the path of its
 * root directory, or by id when path is NULL. Its tree is dropped in the
 * background; fs_subvol_sync waits for that. Returns 0, -EINVAL (not a
 * subvolume), -EPERM, -ENOTEMPTY, -EROFS, -ENOENT or <0.
 */
int fs_subvol_delete(struct fs_info *fs, const char *path, uint64_t id)
{
	const struct subvol_root *sv;
	struct fs_ino ino;
	struct wctx w;
	int ret = wctx_begin(fs, &w, WCTX_FREES);

	if (ret)
		return ret;
	if (path) {
		ret = inode_lookup(fs, path, FS_LOOKUP_FOLLOW, &ino);
		if (ret == 0)
			ret = subvol_get(fs, ino.root, &sv);
		if (ret == 0 && ino.ino != sv->root_dirid)
			ret = -EINVAL;
		id = ino.root;
	}
	if (ret == 0)
		ret = delete_locked(&w, id);
	wctx_end(&w);
	if (ret == 0)
		cleaner_kick(fs);
	return ret;
}
