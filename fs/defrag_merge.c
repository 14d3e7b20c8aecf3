/*
 * Defrag, after the file's own subvolume was pointed at the copies: the
 * file's items that now name adjoining bytes of one new extent become
 * one item, so the file has an item per new extent, as Linux's defrag
 * (which writes the range again) leaves it.
 *
 * Items merge when they adjoin in the file, are plain (regular, not
 * compressed or encrypted) and name one extent at adjoining offsets; the
 * extent must be one of this pass's new ones, so only what defrag wrote
 * is touched. All of them hold the same data reference (root, inode,
 * file offset minus extent offset), once each: the first item grows to
 * cover the group, the others go with their references
 * (file_drop_range), the inode's byte count does not change. Only the
 * defragmented file's own tree is merged: in the other trees keys never
 * change, so their blocks stay shared.
 *
 * Runs as a change of the file's data (its inode lock held for write,
 * defrag.c: merge_own), after each of defrag's first steps: the tree is
 * changed through the ordinary write path, copy-on-write included. The
 * items are found as they are then: whatever a writer changed since the
 * step, items that adjoin and name adjoining bytes of one extent hold
 * the same bytes as one item.
 */
#include <ghee/errno.h>

#include "ctree_write.h"
#include "defrag_int.h"
#include "fs_info.h"
#include "transaction.h"
#include "write_common.h"

#define FE_SIZE ((u32)sizeof(struct d_file_extent_item))

/* Whether fe is a plain item on one of the pass's new extents. */
static int ours(const struct defrag *d, const u8 *fe, u32 size)
{
	u64 disk;
	u32 i;

	if (!defrag_plain_item(fe, size))
		return 0;
	disk = D_GET64(struct d_file_extent_item, fe, disk_bytenr);
	for (i = 0; i < d->nnx; i++)
		if (d->nx[i].start == disk)
			return 1;
	return 0;
}

/* The next group of items to merge from file offset *from: its first
 * key, the first item's length and the group's end in the file (*start,
 * *nb0, *end); 0 found, 1 none before to. */
static int next_group(const struct defrag *d, struct ctree_root *root,
		      u64 ino, u64 *from, u64 to, u64 *start, u64 *nb0,
		      u64 *end)
{
	struct key k = { ino, BTRFS_EXTENT_DATA_KEY, *from };
	struct ctree_path p;
	u64 disk = 0, at = 0;
	u32 n = 0;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_ge(root, &k, &p);
	for (; ret == 0; ret = ctree_next_item(&p)) {
		u32 size;
		const u8 *fe = ctree_item_ptr(&p, &size);
		u64 nb;

		ctree_item_key(&p, &k);
		if (k.objectid != ino || k.type != BTRFS_EXTENT_DATA_KEY ||
		    k.offset >= to)
			break;
		nb = D_GET64(struct d_file_extent_item, fe, num_bytes);
		if (n && ours(d, fe, size) && k.offset == *end &&
		    D_GET64(struct d_file_extent_item, fe, disk_bytenr) ==
		    disk && D_GET64(struct d_file_extent_item, fe, offset) ==
		    at && *end + nb - *start <= BTRFS_MAX_EXTENT_SIZE) {
			n++;
			*end += nb;
			at += nb;
			continue;
		}
		if (n >= 2)
			break;
		n = ours(d, fe, size);
		*start = k.offset;
		*nb0 = nb;
		*end = k.offset + nb;
		disk = D_GET64(struct d_file_extent_item, fe, disk_bytenr);
		at = D_GET64(struct d_file_extent_item, fe, offset) + nb;
	}
	ctree_path_release(&p);
	if (ret < 0)
		return ret;
	if (n >= 2)
		*from = *end;
	return n >= 2 ? 0 : 1;
}

/* Make the items of [start, end) one: the others go, then the first
 * (nb0 bytes) covers it all. */
static int merge_group(struct wctx *w, struct ctree_root *root, u64 ino,
		       u64 start, u64 nb0, u64 end)
{
	struct key k = { ino, BTRFS_EXTENT_DATA_KEY, start };
	struct ctree_path p;
	u64 freed = 0;
	u32 size;
	int ret = file_drop_range(w, root, ino, start + nb0, end, &freed);

	if (ret == 0 && freed != end - start - nb0)
		ret = -EUCLEAN;	/* the group was not what was found */
	if (ret)
		return ret;
	ctree_path_init(&p);
	ret = ctree_search_write(w->t, root, &k, &p, 0);
	if (ret == 0)
		D_SET64(struct d_file_extent_item, ctree_item_ptr_w(&p, &size),
			num_bytes, end - start);
	ctree_path_release(&p);
	return ret == 1 ? -EUCLEAN : ret;
}

/*
 * Merge file ino's items in [from, to) of root (its own subvolume) that
 * name adjoining bytes of one of d's new extents, in change w (the
 * file's inode lock held for write).
 */
int defrag_merge_file(const struct defrag *d, struct wctx *w,
		      struct ctree_root *root, u64 ino, u64 from, u64 to)
{
	u64 start = 0, nb0 = 0, end = 0;
	int ret;

	while ((ret = next_group(d, root, ino, &from, to, &start, &nb0,
				 &end)) == 0) {
		ret = merge_group(w, root, ino, start, nb0, end);
		if (ret)
			return ret;
	}
	return ret < 0 ? ret : 0;
}
