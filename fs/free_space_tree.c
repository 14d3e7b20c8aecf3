/*
 * The free-space tree (compat_ro FREE_SPACE_TREE). For each block group it
 * holds (start, FREE_SPACE_INFO, length) with the number of free extents,
 * and the free space as (start, FREE_SPACE_EXTENT, length) items, or, when
 * the info's USING_BITMAPS flag is set (Linux switches when a group gets
 * fragmented), as FREE_SPACE_BITMAP items with one bit per sector.
 *
 * ghee writes extents only. Before changing a group kept in bitmaps it
 * rewrites the group as extents and clears the flag (both forms are valid
 * btrfs; Linux converts back when it likes).
 *
 * The tree follows the extent tree, not the allocator: bg_account() calls
 * here when an extent item is inserted (the range stops being free) or
 * deleted (it becomes free), so at every commit the tree matches the extent
 * tree, as btrfs check verifies. The ranges around superblock copies are
 * listed as free, as Linux does; the allocator keeps away from them itself.
 *
 * Caller is the commit (fs->trans_sem held for write); errors are
 * returned and abort the transaction in the caller.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "block_group.h"
#include "ctree_write.h"
#include "free_space_tree.h"
#include "fs_info.h"

/* Add delta to the extent count of bg's info. */
static int info_update(struct trans *t, struct block_group *bg, int delta)
{
	struct key k = { bg->start, BTRFS_FREE_SPACE_INFO_KEY, bg->length };
	struct ctree_path p;
	u8 *d;
	u32 size;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(t, &t->fs->fst_root, &k, &p, 0);
	if (ret == 0) {
		d = ctree_item_ptr_w(&p, &size);
		D_SET32(struct d_free_space_info, d, extent_count,
			(u32)((int)D_GET32(struct d_free_space_info, d,
					   extent_count) + delta));
	}
	ctree_path_release(&p);
	if (ret == 1)
		pr_err("free space tree: no info for block group %llu",
		       (unsigned long long)bg->start);
	return ret == 1 ? -EUCLEAN : ret;
}

/* Flags of bg's info. */
static int info_flags(struct trans *t, struct block_group *bg, u32 *flags)
{
	struct key k = { bg->start, BTRFS_FREE_SPACE_INFO_KEY, bg->length };
	struct ctree_path p;
	u32 size;
	int ret;

	ctree_path_init(&p);
	ret = ctree_lookup(&t->fs->fst_root, &k, &p);
	if (ret == 0)
		*flags = D_GET32(struct d_free_space_info,
				 ctree_item_ptr(&p, &size), flags);
	ctree_path_release(&p);
	if (ret == -ENOENT)
		pr_err("free space tree: no info for block group %llu",
		       (unsigned long long)bg->start);
	return ret == -ENOENT ? -EUCLEAN : ret;
}

/* Delete the item with exactly key k. */
static int del_key(struct trans *t, const struct key *k)
{
	return ctree_del_key(t, &t->fs->fst_root, k);
}

static int put_extent(struct trans *t, u64 start, u64 len)
{
	struct key k = { start, BTRFS_FREE_SPACE_EXTENT_KEY, len };

	return ctree_insert_item(t, &t->fs->fst_root, &k, NULL, 0);
}

/* Collect the free runs of bg's bitmaps and delete the bitmap items. */
static int take_bitmaps(struct trans *t, struct block_group *bg,
			struct free_range **runs, u32 *nruns)
{
	struct fs_info *fs = t->fs;
	struct key k = { bg->start, BTRFS_FREE_SPACE_BITMAP_KEY, 0 };
	struct free_range *v = NULL;
	u32 n = 0, cap = 0;
	int ret;

	for (;;) {
		struct ctree_path p;
		const u8 *bits;
		u32 size, i;

		ctree_path_init(&p);
		ret = ctree_search_ge(&fs->fst_root, &k, &p);
		if (ret == 0)
			ctree_item_key(&p, &k);
		if (ret || k.objectid >= bg->start + bg->length ||
		    k.type != BTRFS_FREE_SPACE_BITMAP_KEY) {
			ctree_path_release(&p);
			break;
		}
		bits = ctree_item_ptr(&p, &size);
		for (i = 0; i < k.offset / fs->sectorsize; i++) {
			u64 at = k.objectid + (u64)i * fs->sectorsize;

			if (!(bits[i / 8] & (1u << (i % 8))))
				continue;
			if (n && v[n - 1].start + v[n - 1].len == at) {
				v[n - 1].len += fs->sectorsize;
				continue;
			}
			if (n == cap) {
				struct free_range *nv;

				cap = cap ? cap * 2 : 64;
				nv = kmalloc(cap * sizeof(*nv));
				if (!nv) {
					ctree_path_release(&p);
					kfree(v);
					return -ENOMEM;
				}
				if (n)
					memcpy(nv, v, n * sizeof(*nv));
				kfree(v);
				v = nv;
			}
			v[n].start = at;
			v[n++].len = fs->sectorsize;
		}
		ctree_path_release(&p);
		ret = del_key(t, &k);
		if (ret)
			break;
	}
	*runs = v;
	*nruns = n;
	return ret < 0 ? ret : 0;
}

/* Rewrite a bitmap-kept group as free extents. */
static int bitmaps_to_extents(struct trans *t, struct block_group *bg)
{
	struct free_range *v = NULL;
	u32 n = 0, i;
	int ret = take_bitmaps(t, bg, &v, &n);

	for (i = 0; i < n && ret == 0; i++)
		ret = put_extent(t, v[i].start, v[i].len);
	if (ret == 0) {
		struct key k = { bg->start, BTRFS_FREE_SPACE_INFO_KEY,
				 bg->length };
		struct ctree_path p;
		u32 size;

		ctree_path_init(&p);
		ret = ctree_search_write(t, &t->fs->fst_root, &k, &p, 0);
		if (ret == 0) {
			u8 *d = ctree_item_ptr_w(&p, &size);

			D_SET32(struct d_free_space_info, d, extent_count, n);
			D_SET32(struct d_free_space_info, d, flags, 0);
		}
		ctree_path_release(&p);
		ret = ret == 1 ? -EUCLEAN : ret;
	}
	kfree(v);
	return ret;
}

/* The group of start, rewritten as extents if it was in bitmaps. */
static int group_of(struct trans *t, u64 start, struct block_group **out)
{
	u32 flags = 0;
	int ret;

	*out = bg_lookup(t->fs, start);
	if (!*out)
		return -EUCLEAN;
	ret = info_flags(t, *out, &flags);
	if (ret == 0 && (flags & BTRFS_FREE_SPACE_USING_BITMAPS))
		ret = bitmaps_to_extents(t, *out);
	return ret;
}

/* The key of the last item at or before s (ge = 0) or the first at or
 * after it (ge = 1) in the free-space tree: 0, 1 when there is none, or
 * a negative errno. */
static int fst_key_near(struct trans *t, const struct key *s, int ge,
			struct key *k)
{
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ge ? ctree_search_ge(&t->fs->fst_root, s, &p)
		 : ctree_search_le(&t->fs->fst_root, s, &p);
	if (ret == 0)
		ctree_item_key(&p, k);
	ctree_path_release(&p);
	return ret;
}

/* The free extent (key) holding [start, +len), via a read search. */
static int find_holder(struct trans *t, u64 start, u64 len, struct key *k)
{
	struct key s = { start, BTRFS_FREE_SPACE_EXTENT_KEY, (u64)-1 };
	int ret;

	ret = fst_key_near(t, &s, 0, k);
	if (ret == 0 && (k->type != BTRFS_FREE_SPACE_EXTENT_KEY ||
			 k->objectid + k->offset < start + len))
		ret = 1;
	if (ret == 1)
		pr_err("free space tree: %llu (+%llu) is not free",
		       (unsigned long long)start, (unsigned long long)len);
	return ret == 1 ? -EUCLEAN : ret;
}

/* [start, +len) is now in use: cut it out of its free extent. */
int fst_remove_range(struct trans *t, u64 start, u64 len)
{
	struct block_group *bg;
	struct key k;
	int ret, pieces = 0;

	ret = group_of(t, start, &bg);
	if (ret == 0)
		ret = find_holder(t, start, len, &k);
	if (ret == 0)
		ret = del_key(t, &k);
	if (ret == 0 && k.objectid < start && ++pieces)
		ret = put_extent(t, k.objectid, start - k.objectid);
	if (ret == 0 && k.objectid + k.offset > start + len && ++pieces)
		ret = put_extent(t, start + len,
				 k.objectid + k.offset - start - len);
	if (ret == 0 && pieces != 1)
		ret = info_update(t, bg, pieces - 1);
	return ret;
}

/* The free extent ending at end (1 if none) inside bg. */
static int find_before(struct trans *t, struct block_group *bg, u64 end,
		       struct key *k)
{
	struct key s = { end, 0, 0 };
	int ret;

	ret = fst_key_near(t, &s, 0, k);
	if (ret == 0 && (k->type != BTRFS_FREE_SPACE_EXTENT_KEY ||
			 k->objectid < bg->start ||
			 k->objectid + k->offset != end))
		ret = 1;
	return ret;
}

/* The free extent starting at start (1 if none) inside bg. */
static int find_at(struct trans *t, struct block_group *bg, u64 start,
		   struct key *k)
{
	struct key s = { start, BTRFS_FREE_SPACE_EXTENT_KEY, 0 };
	int ret;

	if (start >= bg->start + bg->length)
		return 1;
	ret = fst_key_near(t, &s, 1, k);
	if (ret == 0 && (k->objectid != start ||
			 k->type != BTRFS_FREE_SPACE_EXTENT_KEY))
		ret = 1;
	return ret;
}

/* [start, +len) is free again: add it, merging with its neighbours. */
int fst_add_range(struct trans *t, u64 start, u64 len)
{
	struct block_group *bg;
	struct key prev, next;
	u64 s = start, e = start + len;
	int ret, hp = 0, hn = 0;

	ret = group_of(t, start, &bg);
	if (ret == 0 && start > bg->start) {
		ret = find_before(t, bg, start, &prev);
		hp = ret == 0;
		ret = ret < 0 ? ret : 0;
	}
	if (ret == 0) {
		ret = find_at(t, bg, e, &next);
		hn = ret == 0;
		ret = ret < 0 ? ret : 0;
	}
	if (ret == 0 && hp) {
		s = prev.objectid;
		ret = del_key(t, &prev);
	}
	if (ret == 0 && hn) {
		e = next.objectid + next.offset;
		ret = del_key(t, &next);
	}
	if (ret == 0)
		ret = put_extent(t, s, e - s);
	if (ret == 0 && hp + hn != 1)
		ret = info_update(t, bg, 1 - hp - hn);
	return ret;
}

/* Insert the info and the one free extent of a new block group. */
int fst_add_block_group(struct trans *t, struct block_group *bg)
{
	struct key k = { bg->start, BTRFS_FREE_SPACE_INFO_KEY, bg->length };
	u8 info[sizeof(struct d_free_space_info)];
	int ret;

	D_SET32(struct d_free_space_info, info, extent_count, 1);
	D_SET32(struct d_free_space_info, info, flags, 0);
	ret = ctree_insert_item(t, &t->fs->fst_root, &k, info, sizeof(info));
	return ret ? ret : put_extent(t, bg->start, bg->length);
}

/* Delete everything the tree holds for bg (its group is being removed:
 * it holds no extent). */
int fst_remove_block_group(struct trans *t, struct block_group *bg)
{
	struct key k = { bg->start, 0, 0 };
	int ret;

	for (;;) {
		ret = fst_key_near(t, &k, 1, &k);
		if (ret)
			return ret == 1 ? 0 : ret;
		if (k.objectid >= bg->start + bg->length)
			return 0;
		ret = del_key(t, &k);
		if (ret)
			return ret;
	}
}
