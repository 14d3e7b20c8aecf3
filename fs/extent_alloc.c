/*
 * Allocating and freeing extents, and the reference changes of
 * copy-on-write (reference, "btrfs_copy_root/update_ref_for_cow/
 * btrfs_inc_ref/btrfs_dec_ref"). Nothing here touches the extent tree:
 * every change is a delayed ref (delayed_ref.c), applied at commit.
 *
 * A new tree block gets a normal TREE_BLOCK_REF from the tree that
 * allocates it and that tree as its header owner. Copying a block (COW):
 *  - not shared (3a): the copy takes over; the old block loses its ref;
 *  - shared, copied from its owner (3b): everything the old block points to
 *    gets a shared ref (parent = old block) and the old block is flagged
 *    FULL_BACKREF, because the trees above it that still point at it no
 *    longer hold normal refs for what lies below;
 *  - shared, copied from another tree (3c): everything the copy points to
 *    gets a normal ref from this tree;
 *  - last ref but FULL_BACKREF (3d): the copy's children get normal refs
 *    and the old block's shared refs on them go.
 * A block can be shared only in a subvolume tree, below its root, and when
 * it is no younger than the subvolume's last snapshot (subvol_create.c
 * sets last_snapshot when it copies a root); younger blocks are case 3a
 * and need no lookup.
 *
 * Callers are inside a change (fs->trans_sem held for read, the blocks
 * they change locked for write) or the commit; the transaction's dirty
 * list is under trans->lock, the allocator under fs->alloc_lock.
 */
#include <ghee/errno.h>

#include <ghee/log.h>

#include "block_group.h"
#include "extent_tree.h"
#include "fs_info.h"
#include "tree_check.h"

/* Make the header of a new block of tree root at level. */
static void init_header(struct trans *t, struct ctree_root *root,
			struct tree_block *b, u8 level)
{
	struct fs_info *fs = t->fs;
	u8 *h = b->data;

	memcpy(D_WPTR(struct d_header, h, fsid), fs->meta_fsid,
	       BTRFS_FSID_SIZE);
	D_SET64(struct d_header, h, bytenr, b->start);
	D_SET64(struct d_header, h, flags,
		(u64)BTRFS_MIXED_BACKREF_REV << BTRFS_BACKREF_REV_SHIFT);
	memcpy(D_WPTR(struct d_header, h, chunk_tree_uuid),
	       fs->chunk_tree_uuid, BTRFS_UUID_SIZE);
	D_SET64(struct d_header, h, generation, t->transid);
	D_SET64(struct d_header, h, owner, root->objectid);
	D_SET32(struct d_header, h, nritems, 0);
	D_SET8(struct d_header, h, level, level);
}

/*
 * Allocate an empty tree block for root at level, dirty in the running
 * transaction, with its first reference queued. *out holds a reference.
 */
int extent_alloc_tree_block(struct trans *t, struct ctree_root *root,
			    u8 level, struct tree_block **out)
{
	struct fs_info *fs = t->fs;
	u64 type = root->objectid == BTRFS_CHUNK_TREE_OBJECTID ?
		   BTRFS_BLOCK_GROUP_SYSTEM : BTRFS_BLOCK_GROUP_METADATA;
	struct dref_key k = { 0 };
	struct tree_block *b;
	u64 start, len;
	int ret;

	ret = bg_alloc(t, type, fs->nodesize, fs->nodesize, &start, &len);
	if (ret)
		return ret;
	ret = tree_block_new(fs, start, &b);
	if (ret)
		return ret;
	init_header(t, root, b, level);
	k.bytenr = start;
	k.type = BTRFS_TREE_BLOCK_REF_KEY;
	k.root = root->objectid;
	k.owner = level;
	ret = delayed_ref_alloc(t, &k, fs->nodesize, 0, level);
	if (ret) {
		tree_block_put(b);
		return ret;
	}
	tb_set_flag(b, TB_DIRTY);
	spin_lock(&t->lock);
	list_add_tail(&b->dirty, &t->dirty);
	t->ndirty++;
	spin_unlock(&t->lock);
	*out = tree_block_get(b);
	return 0;
}

/*
 * Drop tree root's reference to block b. A block the running transaction
 * made is also taken off the dirty list when this was its last reference
 * (last_ref): nothing will point at it. (A snapshot taken at this
 * transaction's commit may still point at one, which must be written.)
 */
int extent_free_tree_block(struct trans *t, struct ctree_root *root,
			   struct tree_block *b, int last_ref)
{
	struct dref_key k = { 0 };

	if (last_ref && (tb_flags(b) & TB_DIRTY) &&
	    tb_generation(b) == t->transid) {
		tb_clear_flag(b, TB_DIRTY);
		spin_lock(&t->lock);
		list_del_init(&b->dirty);
		t->ndirty--;
		spin_unlock(&t->lock);
		tree_block_put(b);
	}
	k.bytenr = b->start;
	k.type = BTRFS_TREE_BLOCK_REF_KEY;
	k.root = root->objectid;
	k.owner = tb_level(b);
	return delayed_ref_add(t, &k, t->fs->nodesize, 0, -1);
}

/*
 * Add (sign 1) or drop (sign -1) the references block b holds on what it
 * points to: child blocks of a node, data extents of a leaf. With
 * full_backref they are shared refs naming b, else normal refs of root.
 */
int extent_block_refs(struct trans *t, struct ctree_root *root,
		      struct tree_block *b, int full_backref, int sign)
{
	u32 i, n = tb_nritems(b);
	u8 level = tb_level(b);
	int ret = 0;

	for (i = 0; i < n && ret == 0; i++) {
		struct dref_key k = { 0 };
		u64 bytes = t->fs->nodesize;
		int data = 0;

		if (level > 0) {
			k.bytenr = tb_node_blockptr(b, i);
			k.type = full_backref ? BTRFS_SHARED_BLOCK_REF_KEY :
				 BTRFS_TREE_BLOCK_REF_KEY;
			k.owner = level - 1u;
		} else {
			struct key ik;
			const u8 *fe = tb_item_data(b, i);

			tb_item_key(b, i, &ik);
			if (ik.type != BTRFS_EXTENT_DATA_KEY ||
			    D_GET8(struct d_file_extent_item, fe, type) ==
			    BTRFS_FILE_EXTENT_INLINE)
				continue;
			k.bytenr = D_GET64(struct d_file_extent_item, fe,
					   disk_bytenr);
			if (!k.bytenr)
				continue;
			bytes = D_GET64(struct d_file_extent_item, fe,
					disk_num_bytes);
			data = 1;
			k.type = full_backref ? BTRFS_SHARED_DATA_REF_KEY :
				 BTRFS_EXTENT_DATA_REF_KEY;
			if (!full_backref) {
				k.owner = ik.objectid;
				k.offset = ik.offset - D_GET64(
					struct d_file_extent_item, fe, offset);
			}
		}
		if (full_backref)
			k.parent = b->start;
		else
			k.root = root->objectid;
		ret = delayed_ref_add(t, &k, bytes, data, sign);
	}
	return ret;
}

/* Whether buf may be referenced from more than one tree. */
static int can_be_shared(struct ctree_root *root, struct tree_block *buf)
{
	return tree_check_is_subvol_tree(root->objectid) &&
	       buf->start != root->bytenr &&
	       buf->start != root->commit_bytenr &&
	       tb_generation(buf) <= root->last_snapshot;
}

/*
 * The reference changes of copying buf to cow in tree root (cases 3a-3d
 * above). *last_ref is set when buf has no other referrer.
 */
int extent_update_ref_for_cow(struct trans *t, struct ctree_root *root,
			      struct tree_block *buf, struct tree_block *cow,
			      int *last_ref)
{
	u64 refs = 1, flags = 0;
	int ret = 0;

	if (can_be_shared(root, buf)) {
		ret = extent_lookup_info(t, buf->start, &refs, &flags);
		if (ret)
			return ret;
		if (refs == 0)
			return -EUCLEAN;
	}
	if (refs > 1) {
		if (tb_owner(buf) == root->objectid &&
		    !(flags & BTRFS_BLOCK_FLAG_FULL_BACKREF)) {
			ret = extent_block_refs(t, root, buf, 1, 1);
			if (ret == 0)
				ret = delayed_ref_set_flags(
					t, buf->start, t->fs->nodesize,
					BTRFS_BLOCK_FLAG_FULL_BACKREF);
		} else {
			ret = extent_block_refs(t, root, cow, 0, 1);
		}
		return ret;
	}
	if (flags & BTRFS_BLOCK_FLAG_FULL_BACKREF) {
		ret = extent_block_refs(t, root, cow, 0, 1);
		if (ret == 0)
			ret = extent_block_refs(t, root, buf, 1, -1);
	}
	*last_ref = 1;
	return ret;
}

/*
 * Reference count and flags of an extent as they will be after the queued
 * changes: the extent item's values (its item in either form,
 * extent_item_search) plus the pending head.
 */
int extent_lookup_info(struct trans *t, u64 bytenr, u64 *refs, u64 *flags)
{
	struct dref_head *h;
	struct ctree_path p;
	struct key k;
	int ret;

	*refs = 0;
	*flags = 0;
	ctree_path_init(&p);
	ret = extent_item_search(&t->fs->extent_root, bytenr, &p, &k);
	if (ret == 0) {
		u32 size;
		const u8 *item = ctree_item_ptr(&p, &size);

		*refs = D_GET64(struct d_extent_item, item, refs);
		*flags = D_GET64(struct d_extent_item, item, flags);
	}
	ctree_path_release(&p);
	if (ret < 0)
		return ret;
	spin_lock(&t->lock);
	h = delayed_ref_find_head(&t->refs, bytenr);
	if (h) {
		*refs += (u64)h->total_mod;
		*flags |= h->set_flags;
	}
	spin_unlock(&t->lock);
	return 0;
}

/* Allocate a data extent of up to want bytes (at least a sector). */
int extent_alloc_data(struct trans *t, u64 want, u64 *start, u64 *len)
{
	return bg_alloc(t, BTRFS_BLOCK_GROUP_DATA, want, t->fs->sectorsize,
			start, len);
}

/* Allocate a data extent of exactly len bytes in one piece (a compressed
 * extent cannot be split): 0 or -ENOSPC. */
int extent_alloc_data_whole(struct trans *t, u64 len, u64 *start)
{
	u64 got;

	return bg_alloc(t, BTRFS_BLOCK_GROUP_DATA, len, len, start, &got);
}

/* Allocate up to want data bytes starting exactly at start: 0 with
 * *len, 1 when start is not free, <0. */
int extent_alloc_data_at(struct trans *t, u64 start, u64 want, u64 *len)
{
	return bg_alloc_at(t->fs, BTRFS_BLOCK_GROUP_DATA, start, want, len);
}

/*
 * Queue mod on the EXTENT_DATA_REF (root, ino, offset) of the data extent
 * [bytenr, +num_bytes). A new extent's first ref makes it must_insert.
 */
int extent_data_ref(struct trans *t, u64 bytenr, u64 num_bytes, u64 root,
		    u64 ino, u64 offset, long long mod)
{
	struct dref_key k = { 0 };

	k.bytenr = bytenr;
	k.type = BTRFS_EXTENT_DATA_REF_KEY;
	k.root = root;
	k.owner = ino;
	k.offset = offset;
	return delayed_ref_add(t, &k, num_bytes, 1, mod);
}
