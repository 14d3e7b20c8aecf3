/*
 * Growing a file's newest data extent in place, so that appending writes
 * make extents of up to BTRFS_MAX_EXTENT_SIZE (128 MiB, the most Linux's
 * delayed allocation makes of uncompressed data) instead of
 * one extent per write call or per 1 MiB piece. Fewer extents cost fewer
 * extent items, back-references, free-space changes and file extent
 * items at the write, and make a reflink copy or a read of the file walk
 * fewer items.
 *
 * A write of plain data at file offset cs grows the extent whose file
 * extent item ends at cs when:
 *  - that item is the extent's only referrer, from this transaction: its
 *    delayed-ref head (delayed_ref.c) says the extent was allocated in
 *    the running transaction (no extent item yet) and holds one
 *    EXTENT_DATA_REF, counted once, naming this item; and the item covers
 *    the whole extent, plain (offset 0, num_bytes = disk_num_bytes =
 *    ram_bytes, no compression or encoding), so nothing else (no other
 *    item, no reflink, no snapshot: snapshots are made at commit) can
 *    hold the old length;
 *  - the sectors just past the extent are free (the allocator takes them
 *    at once, all or a prefix, never past the block group): a single
 *    appending writer finds them free, as the allocator's next-fit
 *    cursor follows its last allocation. Writers that interleave take
 *    each other's space and get one extent per piece, as before.
 * Then the new sectors are written and checksummed (their own csum
 * items), the file's items of [cs, cs + grown) are cut, the item's three
 * lengths grow, and so does the head: at commit the extent item, its
 * back-reference, the block group's used bytes, the free-space tree and
 * quota accounting are made once, at the final length. Nothing reaches
 * the committed trees before that commit, which waits for the data
 * writes as before, so a power cut at any point leaves the previous
 * commit, and memory holds nothing beyond what the write did before.
 *
 * Caller holds the data change's locks (wctx_begin_file: the inode's
 * lock for write and ns_lock for read, so no reflink or dedupe, which
 * take ns_lock for write, can add a referrer between the check and the
 * growth) and its transaction.
 */
#include <ghee/errno.h>

#include "csum.h"
#include "delayed_ref.h"
#include "extent_tree.h"
#include "fs_info.h"
#include "internal.h"
#include "writeback.h"
#include "write_common.h"

#define FE ((u32)sizeof(struct d_file_extent_item))

/* Whether file extent item fe (key offset ks) of this transaction points
 * plainly at all of its extent. */
static int whole_plain(const struct trans *t, const u8 *fe, u32 size)
{
	u64 dnb = D_GET64(struct d_file_extent_item, fe, disk_num_bytes);

	return size >= FE &&
	       D_GET8(struct d_file_extent_item, fe, type) ==
	       BTRFS_FILE_EXTENT_REG &&
	       D_GET64(struct d_file_extent_item, fe, disk_bytenr) != 0 &&
	       D_GET64(struct d_file_extent_item, fe, generation) ==
	       t->transid &&
	       !D_GET8(struct d_file_extent_item, fe, compression) &&
	       !D_GET8(struct d_file_extent_item, fe, encryption) &&
	       !D_GET16(struct d_file_extent_item, fe, other_encoding) &&
	       !D_GET64(struct d_file_extent_item, fe, offset) &&
	       D_GET64(struct d_file_extent_item, fe, num_bytes) == dnb &&
	       D_GET64(struct d_file_extent_item, fe, ram_bytes) == dnb &&
	       dnb < BTRFS_MAX_EXTENT_SIZE;
}

/* Add add bytes to the three lengths of the item at (ino, ks). */
static int lengthen_item(struct wctx *w, struct ctree_root *root, u64 ino,
			 u64 ks, u64 add)
{
	struct key k = { ino, BTRFS_EXTENT_DATA_KEY, ks };
	struct ctree_path p;
	u8 *fe;
	u32 size;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(w->t, root, &k, &p, 0);
	if (ret == 0) {
		fe = ctree_item_ptr_w(&p, &size);
		D_SET64(struct d_file_extent_item, fe, num_bytes,
			D_GET64(struct d_file_extent_item, fe, num_bytes) + add);
		D_SET64(struct d_file_extent_item, fe, disk_num_bytes,
			D_GET64(struct d_file_extent_item, fe, disk_num_bytes) +
			add);
		D_SET64(struct d_file_extent_item, fe, ram_bytes,
			D_GET64(struct d_file_extent_item, fe, ram_bytes) + add);
	}
	ctree_path_release(&p);
	return ret == 1 ? -EUCLEAN : ret;
}

/*
 * Write data (len bytes, sector multiple) at file offset cs of ino by
 * growing the extent that ends there (see above). Returns 0 with *got
 * the bytes written (a prefix of len when the free run is shorter), 1
 * when that extent cannot grow (nothing changed: the caller allocates a
 * new one), or <0 (the transaction is aborted). *freed grows as
 * file_drop_range's.
 */
int file_grow_extent(struct wctx *w, struct ctree_root *root, u64 ino,
		     u64 cs, const u8 *data, u64 len, u64 *got, u64 *freed)
{
	u8 fe[sizeof(struct d_file_extent_item)];
	struct dref_key rk = { 0 };
	u64 ks, disk, dnb, room, add;
	u32 size;
	int ret;

	if (cs == 0)
		return 1;
	ret = file_next_extent(root, ino, cs - 1, &ks, fe, &size);
	if (ret)
		return ret;
	if (!whole_plain(w->t, fe, size) ||
	    ks + D_GET64(struct d_file_extent_item, fe, num_bytes) != cs)
		return 1;
	disk = D_GET64(struct d_file_extent_item, fe, disk_bytenr);
	dnb = D_GET64(struct d_file_extent_item, fe, disk_num_bytes);
	rk.bytenr = disk;
	rk.type = BTRFS_EXTENT_DATA_REF_KEY;
	rk.root = root->objectid;
	rk.owner = ino;
	rk.offset = ks;
	if (!delayed_ref_may_grow(w->t, &rk, dnb))
		return 1;
	room = BTRFS_MAX_EXTENT_SIZE - dnb;
	ret = extent_alloc_data_at(w->t, disk + dnb, len < room ? len : room,
				   &add);
	if (ret)
		return ret;
	ret = writeback_submit(w->fs, WB_DATA, disk + dnb, data, (u32)add);
	if (ret == 0)
		ret = csum_insert(w->t, disk + dnb, data, add);
	if (ret == 0)
		ret = file_drop_range(w, root, ino, cs, cs + add, freed);
	if (ret == 0)
		ret = lengthen_item(w, root, ino, ks, add);
	if (ret == 0)
		ret = delayed_ref_grow(w->t, &rk, dnb, add);
	if (ret) {
		trans_abort(w->t, ret);
		return ret;
	}
	*got = add;
	return 0;
}
