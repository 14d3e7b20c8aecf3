/*
 * fsck, space side: block group used bytes and the free-space tree,
 * both against the extents read from the extent tree (check_extent.c).
 * See check.c for the whole picture.
 *
 * The free-space tree must list, for each block group, exactly the gaps
 * between its extents: as FREE_SPACE_EXTENT items, or as runs of set bits
 * in FREE_SPACE_BITMAP items when the group's FREE_SPACE_INFO says
 * USING_BITMAPS; the info's extent_count is the number of free extents.
 * Adjacent free ranges of one group are merged before comparing. An info
 * with no block group is only a warning when a block group comes after it:
 * mkfs.btrfs leaves those of the temporary chunks it removes, and btrfs
 * check accepts them; one past every block group is an error, as there.
 *
 * Called by check_all(), reading the commit fs_check() reads.
 */
#include <ghee/errno.h>

#include <ghee/log.h>

#include "check.h"
#include "fs_info.h"

/* A free range listed by the free-space tree. */
struct frange {
	u64 start, len;
};

/* A FREE_SPACE_INFO, and the ranges listed after it. */
struct finfo {
	u64 start, len;		/* the block group it describes */
	u32 count, flags;	/* extent_count, FREE_SPACE_USING_BITMAPS */
	u64 first, n;		/* its ranges in struct fst.ranges */
	u64 items;		/* FREE_SPACE_EXTENT items */
};

/* The free-space tree as read. */
struct fst {
	struct vec infos;	/* struct finfo, by start */
	struct vec ranges;	/* struct frange, merged within a group */
};

/* The block group holding bytenr, or NULL. */
static struct cbg *find_bg(struct check *c, u64 bytenr)
{
	u64 i = vec_first_ending_after(&c->bgs, bytenr);
	struct cbg *g = i < c->bgs.n ? vec_at(&c->bgs, i) : NULL;

	return g && g->start <= bytenr ? g : NULL;
}

/*
 * Every extent lies inside a block group of its kind (a mixed group, data
 * and metadata, holds both); each group's used bytes equal its extents'
 * total, and all groups' the superblock's.
 */
int check_block_groups(struct check *c)
{
	u64 i, total = 0, super_used;

	for (i = 0; i + 1 < c->bgs.n; i++) {
		const struct cbg *a = vec_at(&c->bgs, i), *b = a + 1;

		if (a->start + a->len > b->start)
			check_err(c, "block groups %llu and %llu overlap",
				  (unsigned long long)a->start,
				  (unsigned long long)b->start);
	}
	for (i = 0; i < c->exts.n; i++) {
		const struct cext *e = vec_at(&c->exts, i);
		struct cbg *g = find_bg(c, e->bytenr);
		int data = !!(e->flags & BTRFS_EXTENT_FLAG_DATA);

		if (!g || e->bytenr + e->len > g->start + g->len ||
		    !(g->flags & (data ? BTRFS_BLOCK_GROUP_DATA :
				  BTRFS_BLOCK_GROUP_METADATA |
				  BTRFS_BLOCK_GROUP_SYSTEM))) {
			check_err(c, "extent %llu+%llu is not inside a %s "
				  "block group", (unsigned long long)e->bytenr,
				  (unsigned long long)e->len,
				  data ? "data" : "metadata");
			continue;
		}
		g->found += e->len;
	}
	for (i = 0; i < c->bgs.n; i++) {
		const struct cbg *g = vec_at(&c->bgs, i);

		if (g->used != g->found)
			check_err(c, "block group %llu: used %llu, its extents "
				  "total %llu", (unsigned long long)g->start,
				  (unsigned long long)g->used,
				  (unsigned long long)g->found);
		total += g->found;
	}
	super_used = get_le64(&c->cr.super->bytes_used);
	if (total != super_used)
		check_err(c, "superblock bytes_used %llu, extents total %llu",
			  (unsigned long long)super_used,
			  (unsigned long long)total);
	return 0;
}

/* Add a free range to the group of the last info, merging neighbours. */
static int add_range(struct check *c, struct fst *f, u64 start, u64 len)
{
	struct finfo *fi = f->infos.n ? vec_at(&f->infos, f->infos.n - 1) :
					NULL;
	struct frange *last, *r;

	if (!fi || start < fi->start || start + len > fi->start + fi->len) {
		check_err(c, "free space tree: free range %llu+%llu is "
			  "outside its block group's info",
			  (unsigned long long)start, (unsigned long long)len);
		return 0;
	}
	last = fi->n ? vec_at(&f->ranges, f->ranges.n - 1) : NULL;
	if (last && last->start + last->len > start) {
		check_err(c, "free space tree: ranges at %llu overlap",
			  (unsigned long long)start);
		return 0;
	}
	if (last && last->start + last->len == start) {
		last->len += len;
		return 0;
	}
	r = vec_push(&f->ranges);
	if (!r)
		return -ENOMEM;
	r->start = start;
	r->len = len;
	fi->n++;
	return 0;
}

/* Add the runs of set bits of a bitmap item covering start+len. */
static int add_bitmap(struct check *c, struct fst *f, u64 start, u64 len,
		      const u8 *bits, u32 size)
{
	u64 nbits = len / c->fs->sectorsize, i, run = 0;
	int ret = 0;

	if (size * 8ull < nbits) {
		check_err(c, "free space tree: bitmap at %llu is short",
			  (unsigned long long)start);
		return 0;
	}
	for (i = 0; i <= nbits && ret == 0; i++) {
		int set = i < nbits && (bits[i / 8] >> (i % 8)) & 1;

		if (set) {
			run++;
			continue;
		}
		if (run)
			ret = add_range(c, f, start + (i - run) *
					c->fs->sectorsize,
					run * c->fs->sectorsize);
		run = 0;
	}
	return ret;
}

/* One free-space tree item, collected into the struct fst ctx. */
static int fst_item(struct check *c, void *ctx, const struct key *k,
		    const u8 *item, u32 size)
{
	struct fst *f = ctx;
	struct finfo *fi = f->infos.n ? vec_at(&f->infos, f->infos.n - 1) :
					NULL;
	int bitmaps = fi && (fi->flags & BTRFS_FREE_SPACE_USING_BITMAPS);

	switch (k->type) {
	case BTRFS_FREE_SPACE_INFO_KEY:
		if (size != sizeof(struct d_free_space_info))
			break;
		fi = vec_push(&f->infos);
		if (!fi)
			return -ENOMEM;
		fi->start = k->objectid;
		fi->len = k->offset;
		fi->count = D_GET32(struct d_free_space_info, item,
				    extent_count);
		fi->flags = D_GET32(struct d_free_space_info, item, flags);
		fi->first = f->ranges.n;
		return 0;
	case BTRFS_FREE_SPACE_EXTENT_KEY:
		if (bitmaps || size)
			break;
		if (fi)
			fi->items++;
		return add_range(c, f, k->objectid, k->offset);
	case BTRFS_FREE_SPACE_BITMAP_KEY:
		if (!bitmaps)
			break;
		return add_bitmap(c, f, k->objectid, k->offset, item, size);
	}
	check_err(c, "free space tree: unexpected item (%llu %u %llu)",
		  (unsigned long long)k->objectid, k->type,
		  (unsigned long long)k->offset);
	return 0;
}

/* Compare the ranges fi lists with the gaps between g's extents. */
static void compare_group(struct check *c, const struct fst *f,
			  const struct cbg *g, const struct finfo *fi)
{
	u64 pos = g->start, end = g->start + g->len, r = 0, gaps = 0;
	u64 i = vec_first_ending_after(&c->exts, pos);

	for (;;) {
		const struct cext *e = i < c->exts.n ? vec_at(&c->exts, i) :
						       NULL;
		u64 gap_end = e && e->bytenr < end ? e->bytenr : end;
		const struct frange *fr;

		if (gap_end > pos) {
			fr = r < fi->n ? vec_at(&f->ranges, fi->first + r) :
					 NULL;
			if (!fr || fr->start != pos || fr->len != gap_end - pos) {
				check_err(c, "free space tree: block group "
					  "%llu: free %llu+%llu is not listed "
					  "as such", (unsigned long long)g->start,
					  (unsigned long long)pos,
					  (unsigned long long)(gap_end - pos));
				return;
			}
			r++;
			gaps++;
		}
		if (gap_end == end)
			break;
		pos = e->bytenr + e->len > pos ? e->bytenr + e->len : pos;
		i++;
	}
	if (r != fi->n)
		check_err(c, "free space tree: block group %llu lists %llu "
			  "free ranges, %llu are free",
			  (unsigned long long)g->start,
			  (unsigned long long)fi->n, (unsigned long long)gaps);
	else if (fi->count != ((fi->flags & BTRFS_FREE_SPACE_USING_BITMAPS) ?
			       fi->n : fi->items))
		check_err(c, "free space tree: block group %llu: extent_count "
			  "%u, %llu listed", (unsigned long long)g->start,
			  fi->count, (unsigned long long)fi->n);
}

/*
 * The free-space tree (when the filesystem has one) lists exactly the
 * space of each block group that no extent uses.
 */
int check_free_space(struct check *c)
{
	const struct commit_tree *t;
	struct fst f;
	u64 i, j = 0;
	int ret;

	if (!(c->fs->compat_ro & BTRFS_FEATURE_COMPAT_RO_FREE_SPACE_TREE))
		return 0;
	t = check_find_tree(c, BTRFS_FREE_SPACE_TREE_OBJECTID);
	if (!t) {
		check_err(c, "the free space tree has no root item");
		return 0;
	}
	memset(&f, 0, sizeof(f));
	f.infos.elem = sizeof(struct finfo);
	f.ranges.elem = sizeof(struct frange);
	ret = check_read_items(c, t, fst_item, &f);
	for (i = 0; ret == 0 && i <= c->bgs.n; i++) {
		const struct cbg *g = i < c->bgs.n ? vec_at(&c->bgs, i) : NULL;
		const struct finfo *fi;

		for (; j < f.infos.n; j++) {
			fi = vec_at(&f.infos, j);
			if (g && fi->start >= g->start)
				break;
			if (g)
				pr_warn("fsck: free space tree: info %llu+%llu "
					"has no block group (left by "
					"mkfs.btrfs; harmless)",
					(unsigned long long)fi->start,
					(unsigned long long)fi->len);
			else
				check_err(c, "free space tree: info %llu+%llu "
					  "lies past every block group",
					  (unsigned long long)fi->start,
					  (unsigned long long)fi->len);
		}
		fi = j < f.infos.n ? vec_at(&f.infos, j) : NULL;
		if (!g)
			break;
		if (fi && fi->start == g->start && fi->len == g->len) {
			compare_group(c, &f, g, fi);
			j++;
		} else {
			check_err(c, "free space tree: block group %llu has "
				  "no info", (unsigned long long)g->start);
		}
	}
	vec_free(&f.infos);
	vec_free(&f.ranges);
	return ret;
}
