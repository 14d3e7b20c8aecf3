/*
 * Explicit holes: on a filesystem without the NO_HOLES feature (made by
 * mkfs.btrfs before btrfs-progs 5.15, or with -O ^no-holes), every byte of
 * a regular file up to its size rounded up to the sector is covered by a
 * file extent item, a hole being a regular item with disk_bytenr 0
 * (num_bytes = ram_bytes = its length, offset 0). `btrfs check` reports a
 * range no item covers ("file extent discount"), and Linux keeps the
 * coverage whole: a write past the end of file and a truncate up insert a
 * hole item for the gap, a punch puts one where the data was.
 *
 * ghee's writers cut and insert data items as with NO_HOLES and then call
 * file_fill_holes on the range they changed: it finds each range no item
 * covers and covers it, extending the hole item just before it when there
 * is one (as Linux merges a punched hole into its neighbour), else
 * inserting a new one. With NO_HOLES it does nothing.
 *
 * Caller holds the change's locks and transaction (a wctx).
 */
#include <ghee/errno.h>

#include "fs_info.h"
#include "internal.h"
#include "write_common.h"

/* The end of the range file extent item fe (size bytes) at ks covers. */
static u64 fitem_end(const struct fs_info *fs, u64 ks, const u8 *fe,
		     u32 size)
{
	u32 ss = fs->sectorsize;

	if (size < offsetof(struct d_file_extent_item, disk_bytenr))
		return ks;	/* corrupt: the tree checker refuses it */
	if (D_GET8(struct d_file_extent_item, fe, type) ==
	    BTRFS_FILE_EXTENT_INLINE)
		return (ks + D_GET64(struct d_file_extent_item, fe,
				     ram_bytes) + ss - 1) & ~(u64)(ss - 1);
	return ks + D_GET64(struct d_file_extent_item, fe, num_bytes);
}

/* A hole item that a gap right after it may extend. */
static int mergeable_hole(const u8 *fe, u32 size)
{
	return size >= sizeof(struct d_file_extent_item) &&
	       D_GET8(struct d_file_extent_item, fe, type) ==
	       BTRFS_FILE_EXTENT_REG &&
	       D_GET64(struct d_file_extent_item, fe, disk_bytenr) == 0 &&
	       D_GET64(struct d_file_extent_item, fe, offset) == 0 &&
	       D_GET8(struct d_file_extent_item, fe, compression) == 0 &&
	       D_GET64(struct d_file_extent_item, fe, ram_bytes) ==
	       D_GET64(struct d_file_extent_item, fe, num_bytes);
}

/* A range of ino that no file extent item covers. */
struct gap {
	u64 start, end;		/* [start, end), bytes */
	u64 hole_ks;		/* key offset of the hole item ending at
				 * start, or (u64)-1 */
};

/*
 * Find the first gap of ino in [pos, end). Returns 0 (found, in *g),
 * 1 (none) or <0.
 */
static int find_gap(struct ctree_root *root, u64 ino, u64 pos, u64 end,
		    struct gap *g)
{
	struct key k = { ino, BTRFS_EXTENT_DATA_KEY, pos };
	struct ctree_path p;
	int ret;

	g->hole_ks = (u64)-1;
	ctree_path_init(&p);
	ret = ctree_search_le(root, &k, &p);
	if (ret == 1)
		ret = ctree_search_ge(root, &k, &p);
	for (; ret == 0 && pos < end; ret = ctree_next_item(&p)) {
		u32 size;
		const u8 *fe = ctree_item_ptr(&p, &size);
		u64 e;

		ctree_item_key(&p, &k);
		if (k.objectid > ino || (k.objectid == ino &&
					 k.type > BTRFS_EXTENT_DATA_KEY))
			break;
		if (k.objectid < ino || k.type < BTRFS_EXTENT_DATA_KEY)
			continue;
		if (k.offset > pos)
			break;
		e = fitem_end(root->fs, k.offset, fe, size);
		if (e > pos) {
			pos = e;
			g->hole_ks = mergeable_hole(fe, size) ? k.offset :
				     (u64)-1;
		}
	}
	ctree_path_release(&p);
	if (ret < 0)
		return ret;
	if (pos >= end)
		return 1;
	g->start = pos;
	g->end = ret == 0 && k.objectid == ino &&
		 k.type == BTRFS_EXTENT_DATA_KEY && k.offset < end ?
		 k.offset : end;
	return 0;
}

/* Cover gap g: extend the hole item before it, or insert one. */
static int cover_gap(struct wctx *w, struct ctree_root *root, u64 ino,
		     const struct gap *g)
{
	u8 fe[sizeof(struct d_file_extent_item)];
	struct key k = { ino, BTRFS_EXTENT_DATA_KEY, g->start };
	u64 len = g->end - g->start;
	struct ctree_path p;
	u8 *item;
	u32 size;
	int ret;

	if (g->hole_ks == (u64)-1) {
		memset(fe, 0, sizeof(fe));
		D_SET64(struct d_file_extent_item, fe, generation,
			w->t->transid);
		D_SET64(struct d_file_extent_item, fe, ram_bytes, len);
		D_SET8(struct d_file_extent_item, fe, type,
		       BTRFS_FILE_EXTENT_REG);
		D_SET64(struct d_file_extent_item, fe, num_bytes, len);
		return ctree_insert_item(w->t, root, &k, fe, sizeof(fe));
	}
	k.offset = g->hole_ks;
	ctree_path_init(&p);
	ret = ctree_search_write(w->t, root, &k, &p, 0);
	if (ret == 0) {
		item = ctree_item_ptr_w(&p, &size);
		len += D_GET64(struct d_file_extent_item, item, num_bytes);
		D_SET64(struct d_file_extent_item, item, num_bytes, len);
		D_SET64(struct d_file_extent_item, item, ram_bytes, len);
		D_SET64(struct d_file_extent_item, item, generation,
			w->t->transid);
	}
	ctree_path_release(&p);
	return ret == 1 ? -EUCLEAN : ret;
}

/*
 * Cover every range of [start, end) of regular file ino that no file
 * extent item covers with a hole item, when the filesystem has no
 * NO_HOLES feature (else nothing to do). start is rounded down and end up
 * to the sector. Returns 0 or <0 (the caller aborts the transaction).
 */
int file_fill_holes(struct wctx *w, struct ctree_root *root, u64 ino,
		    u64 start, u64 end)
{
	u32 ss = w->fs->sectorsize;
	struct gap g;
	int ret = 0;

	if (w->fs->incompat & BTRFS_FEATURE_INCOMPAT_NO_HOLES)
		return 0;
	start &= ~(u64)(ss - 1);
	end = (end + ss - 1) & ~(u64)(ss - 1);
	while (ret == 0 && start < end) {
		ret = find_gap(root, ino, start, end, &g);
		if (ret == 0)
			ret = cover_gap(w, root, ino, &g);
		if (ret == 0)
			start = g.end;
	}
	return ret == 1 ? 0 : ret;
}
