/*
 * Changing directory entries and inode back-refs (see namei.c for what
 * must agree). DIR_ITEM items may hold several entries (names with one
 * hash); INODE_REF items hold every name an inode has in one directory.
 * Adding to such an item extends it; removing cuts the entry out, or
 * deletes the item when it was the last.
 *
 * An INODE_REF item is kept under half a leaf. Once it is full, further
 * names of the inode in that directory go into extended refs, when the
 * filesystem has the EXTENDED_IREF feature (Linux does the same when the
 * item would overflow its leaf): (ino, INODE_EXTREF, crc32c(dir, name))
 * holding (dir, index, name) entries, several when names hash alike.
 * Without the feature the name is refused with -EMLINK. A DIR_ITEM item
 * has the same limit; names past it are refused with -EOVERFLOW.
 *
 * dir_add_check and iref_add_check tell, before anything changes, whether
 * dir_add and iref_add will find room: a change that finds out halfway
 * would have to abort the transaction.
 *
 * Caller is inside a namespace change (wctx_begin: ns_lock held for
 * write).
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>

#include "../lib/crc32c.h"
#include "dir.h"
#include "dir_write.h"
#include "fs_info.h"

#define DI ((u32)sizeof(struct d_dir_item))
#define IR ((u32)sizeof(struct d_inode_ref))
#define XR ((u32)sizeof(struct d_inode_extref))

/* The next DIR_INDEX of dir: one past the last, at least 2. */
int dir_next_index(struct ctree_root *root, u64 dir, u64 *out)
{
	struct key k = { dir, BTRFS_DIR_INDEX_KEY, (u64)-1 };
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_le(root, &k, &p);
	*out = 2;
	if (ret == 0) {
		ctree_item_key(&p, &k);
		if (k.objectid == dir && k.type == BTRFS_DIR_INDEX_KEY &&
		    k.offset + 1 > 2)
			*out = k.offset + 1;
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : 0;
}

/* Fill one dir entry body. */
static void fill_entry(u8 *e, const struct key *loc, u64 transid,
		       const char *name, size_t len, u8 type)
{
	memset(e, 0, DI);
	key_to_disk(D_WPTR(struct d_dir_item, e, location), loc);
	D_SET64(struct d_dir_item, e, transid, transid);
	D_SET16(struct d_dir_item, e, name_len, (u16)len);
	D_SET8(struct d_dir_item, e, type, type);
	memcpy(e + DI, name, len);
}

/*
 * Whether an item of have bytes is too big to grow by add. The items that
 * grow stay under half a leaf, so one split always makes room for them.
 */
static int item_full(u32 have, u32 add, u32 nodesize)
{
	return have + add + sizeof(struct d_item) > leaf_capacity(nodesize) / 2;
}

/* Insert an item at k, or append data to the item already there. */
static int insert_or_append(struct wctx *w, struct ctree_root *root,
			    const struct key *k, const u8 *data, u32 size)
{
	struct ctree_path p;
	u32 have;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(w->t, root, k, &p, (int)size);
	if (ret == 1) {
		ctree_path_release(&p);
		return ctree_insert_item(w->t, root, k, data, size);
	}
	if (ret == 0) {
		have = tb_item_size(p.nodes[0], (u32)p.slots[0]);
		if (item_full(have, size, w->fs->nodesize))
			ret = -EMLINK;
		else
			ret = ctree_extend_item(w->t, root, &p, size);
		if (ret == 0)
			memcpy(ctree_item_ptr_w(&p, &have) + have - size, data,
			       size);
	}
	ctree_path_release(&p);
	return ret;
}

/*
 * Add entry name -> loc (type) with index (dir_next_index) to directory
 * dir. The caller updates the directory's inode (size += 2 * len).
 */
int dir_add(struct wctx *w, struct ctree_root *root, u64 dir,
	    const char *name, size_t len, const struct key *loc, u8 type,
	    u64 index)
{
	u8 e[DI + BTRFS_NAME_LEN];
	struct key k = { dir, BTRFS_DIR_ITEM_KEY, dir_name_hash(name, len) };
	int ret;

	fill_entry(e, loc, w->t->transid, name, len, type);
	ret = insert_or_append(w, root, &k, e, DI + (u32)len);
	if (ret)
		return ret;
	k.type = BTRFS_DIR_INDEX_KEY;
	k.offset = index;
	ret = ctree_insert_item(w->t, root, &k, e, DI + (u32)len);
	if (ret)
		trans_abort(w->t, ret);
	return ret;
}

/*
 * Cut the sub-entry [pos, pos + elen) out of the item at k, deleting the
 * item when nothing else is left in it.
 */
static int cut_entry(struct wctx *w, struct ctree_root *root,
		     const struct key *k, u32 pos, u32 elen)
{
	struct ctree_path p;
	u32 size;
	u8 *d;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(w->t, root, k, &p, 0);
	if (ret) {
		ctree_path_release(&p);
		return ret == 1 ? -EUCLEAN : ret;
	}
	d = ctree_item_ptr_w(&p, &size);
	if (elen == size)
		return ctree_del_item(w->t, root, &p);
	memmove(d + pos, d + pos + elen, size - pos - elen);
	ctree_truncate_item(&p, size - elen);
	ctree_path_release(&p);
	return 0;
}

/* Where name sits in the DIR_ITEM at k: 0 with pos/elen, -ENOENT. */
static int find_in_dir_item(struct ctree_root *root, const struct key *k,
			    const char *name, size_t len, u32 *pos, u32 *elen)
{
	struct ctree_path p;
	const u8 *d;
	u32 size, at = 0;
	int ret;

	ctree_path_init(&p);
	ret = ctree_lookup(root, k, &p);
	if (ret == 0) {
		d = ctree_item_ptr(&p, &size);
		ret = -ENOENT;
		while (at < size) {
			u32 n = D_GET16(struct d_dir_item, d + at, name_len);
			u32 l = DI + n + D_GET16(struct d_dir_item, d + at,
						 data_len);

			if (n == len && !memcmp(d + at + DI, name, len)) {
				*pos = at;
				*elen = l;
				ret = 0;
				break;
			}
			at += l;
		}
	}
	ctree_path_release(&p);
	return ret;
}

/* Remove entry name (with that index) from directory dir. */
int dir_del(struct wctx *w, struct ctree_root *root, u64 dir,
	    const char *name, size_t len, u64 index)
{
	struct key k = { dir, BTRFS_DIR_ITEM_KEY, dir_name_hash(name, len) };
	struct ctree_path p;
	u32 pos, elen;
	int ret = find_in_dir_item(root, &k, name, len, &pos, &elen);

	if (ret == 0)
		ret = cut_entry(w, root, &k, pos, elen);
	if (ret == 0) {
		k.type = BTRFS_DIR_INDEX_KEY;
		k.offset = index;
		ctree_path_init(&p);
		ret = ctree_search_write(w->t, root, &k, &p, 0);
		if (ret == 0)
			return ctree_del_item(w->t, root, &p);
		ctree_path_release(&p);
		ret = ret == 1 ? -EUCLEAN : ret;
	}
	if (ret)
		trans_abort(w->t, ret);
	return ret;
}

/* The key of the extended ref of name in dir. */
static void extref_key(u64 ino, u64 dir, const char *name, size_t len,
		       struct key *k)
{
	k->objectid = ino;
	k->type = BTRFS_INODE_EXTREF_KEY;
	k->offset = crc32c((u32)dir, name, len);
}

/*
 * Add the back-ref of name in dir with index to ino: in the INODE_REF
 * item (ino, INODE_REF, dir), or an extended ref once that is full.
 * -EMLINK (nothing changed) when neither can take it.
 */
int iref_add(struct wctx *w, struct ctree_root *root, u64 ino, u64 dir,
	     const char *name, size_t len, u64 index)
{
	u8 r[XR + BTRFS_NAME_LEN];
	struct key k = { ino, BTRFS_INODE_REF_KEY, dir };
	int ret;

	D_SET64(struct d_inode_ref, r, index, index);
	D_SET16(struct d_inode_ref, r, name_len, (u16)len);
	memcpy(r + IR, name, len);
	ret = insert_or_append(w, root, &k, r, IR + (u32)len);
	if (ret != -EMLINK ||
	    !(w->fs->incompat & BTRFS_FEATURE_INCOMPAT_EXTENDED_IREF))
		return ret;
	D_SET64(struct d_inode_extref, r, parent_objectid, dir);
	D_SET64(struct d_inode_extref, r, index, index);
	D_SET16(struct d_inode_extref, r, name_len, (u16)len);
	memcpy(r + XR, name, len);
	extref_key(ino, dir, name, len, &k);
	return insert_or_append(w, root, &k, r, XR + (u32)len);
}

/*
 * Find name of dir among the entries of ino's ref item at k (INODE_REF
 * or INODE_EXTREF): its position, length and index. 0, -ENOENT, <0.
 */
static int find_ref(struct ctree_root *root, const struct key *k, u64 dir,
		    const char *name, size_t len, u32 *pos, u32 *elen,
		    u64 *index)
{
	int ext = k->type == BTRFS_INODE_EXTREF_KEY;
	u32 hdr = ext ? XR : IR, size, at = 0;
	struct ctree_path p;
	const u8 *d;
	int ret;

	ctree_path_init(&p);
	ret = ctree_lookup(root, k, &p);
	if (ret == 0) {
		d = ctree_item_ptr(&p, &size);
		ret = -ENOENT;
		while (at + hdr <= size) {
			const u8 *e = d + at;
			u32 n = ext ? D_GET16(struct d_inode_extref, e, name_len)
				    : D_GET16(struct d_inode_ref, e, name_len);

			if (n == len && !memcmp(e + hdr, name, len) &&
			    (!ext || D_GET64(struct d_inode_extref, e,
					     parent_objectid) == dir)) {
				*index = ext ? D_GET64(struct d_inode_extref, e,
						       index)
					     : D_GET64(struct d_inode_ref, e,
						       index);
				*pos = at;
				*elen = hdr + n;
				ret = 0;
				break;
			}
			at += hdr + n;
		}
	}
	ctree_path_release(&p);
	return ret;
}

/* Remove the back-ref of name in dir from ino; *index gets its index. */
int iref_del(struct wctx *w, struct ctree_root *root, u64 ino, u64 dir,
	     const char *name, size_t len, u64 *index)
{
	struct key k = { ino, BTRFS_INODE_REF_KEY, dir };
	u32 pos, elen;
	int ret = find_ref(root, &k, dir, name, len, &pos, &elen, index);

	if (ret == -ENOENT) {
		extref_key(ino, dir, name, len, &k);
		ret = find_ref(root, &k, dir, name, len, &pos, &elen, index);
	}
	if (ret == -ENOENT)
		ret = -EUCLEAN;	/* the directory entry has no back-ref */
	if (ret == 0)
		ret = cut_entry(w, root, &k, pos, elen);
	if (ret)
		trans_abort(w->t, ret);
	return ret;
}

/*
 * Add to *bytes the size of name's entry in the item at k (a DIR_ITEM, or
 * a back-ref item of dir), when it is there. 0 or <0.
 */
static int entry_bytes(struct ctree_root *root, const struct key *k, u64 dir,
		       const char *name, size_t len, u32 *bytes)
{
	u32 pos, elen;
	u64 index;
	int ret = k->type == BTRFS_DIR_ITEM_KEY ?
		  find_in_dir_item(root, k, name, len, &pos, &elen) :
		  find_ref(root, k, dir, name, len, &pos, &elen, &index);

	if (ret == 0)
		*bytes += elen;
	return ret == -ENOENT ? 0 : ret;
}

/*
 * Whether the item at k, once drop of its bytes are cut, is too full to
 * take add more: 1 full, 0 room (or no item: a new one is small), <0.
 */
static int no_room(struct ctree_root *root, const struct key *k, u32 add,
		   u32 drop)
{
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_lookup(root, k, &p);
	if (ret == 0)
		ret = item_full(tb_item_size(p.nodes[0], (u32)p.slots[0]) -
				drop, add, root->fs->nodesize);
	ctree_path_release(&p);
	return ret == -ENOENT ? 0 : ret;
}

/*
 * Tell whether dir_add of name to dir will find room, before anything
 * changes. An entry of name already there counts as replaced first (a
 * rename over it); old, when not NULL, is a name in dir that the same
 * change removes first (a rename within dir). 0, -EOVERFLOW (the names
 * of this hash fill their item), <0.
 */
int dir_add_check(struct ctree_root *root, u64 dir, const char *name,
		  size_t len, const char *old, size_t old_len)
{
	struct key k = { dir, BTRFS_DIR_ITEM_KEY, dir_name_hash(name, len) };
	u32 drop = 0;
	int ret = entry_bytes(root, &k, dir, name, len, &drop);

	if (ret == 0 && old)
		ret = entry_bytes(root, &k, dir, old, old_len, &drop);
	if (ret == 0)
		ret = no_room(root, &k, DI + (u32)len, drop);
	return ret == 1 ? -EOVERFLOW : ret;
}

/*
 * Tell whether iref_add of name in dir to ino will find room, before
 * anything changes. old, when not NULL, is ino's name in dir that the same
 * change removes first (a rename within dir). 0, -EMLINK, <0.
 */
int iref_add_check(struct ctree_root *root, u64 ino, u64 dir,
		   const char *name, size_t len, const char *old,
		   size_t old_len)
{
	struct key k = { ino, BTRFS_INODE_REF_KEY, dir };
	u32 drop = 0;
	int ret = old ? entry_bytes(root, &k, dir, old, old_len, &drop) : 0;

	if (ret == 0)
		ret = no_room(root, &k, IR + (u32)len, drop);
	if (ret != 1 ||
	    !(root->fs->incompat & BTRFS_FEATURE_INCOMPAT_EXTENDED_IREF))
		return ret == 1 ? -EMLINK : ret;
	extref_key(ino, dir, name, len, &k);
	drop = 0;
	ret = old ? entry_bytes(root, &k, dir, old, old_len, &drop) : 0;
	if (ret == 0)
		ret = no_room(root, &k, XR + (u32)len, drop);
	return ret == 1 ? -EMLINK : ret;
}
