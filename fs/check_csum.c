/*
 * fsck, checksum side: the csum tree against the data extents (read from
 * the extent tree by check_extent.c) and the data that file extents say
 * must have sums (collected by check_inode.c). See check.c for the whole
 * picture.
 *
 * The csum tree holds one checksum per data sector, in EXTENT_CSUM items
 * keyed by the logical address of their first sector. Checked:
 *  - the items do not overlap (key order sorts them);
 *  - every sector with a sum lies in a data extent: the sums of an extent
 *    are deleted when it is freed. One item may span neighbouring
 *    extents (Linux merges their sums);
 *  - every regular file extent of an inode without NODATASUM has a sum for
 *    each sector it reads. Preallocated extents, inline extents and holes
 *    need none.
 * Item sizes (a whole number of sums) and sector alignment are checked
 * when the leaf is read (tree_check.c); a leaf failing them cannot be
 * read, which the walk reports.
 *
 * The sums are not compared with the data: that is scrub's job, and this
 * is a check of metadata only.
 *
 * Called by check_all(), reading the commit fs_check() reads.
 */
#include <ghee/errno.h>

#include "check.h"
#include "fs_info.h"

/* A run of sectors that have sums: neighbouring items merged. */
struct sum_run {
	u64 start, len;		/* first for vec_first_ending_after() */
};

/* Report the first byte of [start, end) that no data extent holds. */
static void check_in_data(struct check *c, u64 start, u64 end)
{
	u64 i = vec_first_ending_after(&c->exts, start), pos = start;

	for (; pos < end; i++) {
		const struct cext *e = i < c->exts.n ? vec_at(&c->exts, i) :
						       NULL;

		if (!e || e->bytenr > pos ||
		    !(e->flags & BTRFS_EXTENT_FLAG_DATA)) {
			check_err(c, "csum tree: item %llu+%llu has sums for "
				  "%llu, which is in no data extent",
				  (unsigned long long)start,
				  (unsigned long long)(end - start),
				  (unsigned long long)pos);
			return;
		}
		pos = e->bytenr + e->len;
	}
}

/* One item of the csum tree, added to the struct vec of runs ctx. */
static int csum_item(struct check *c, void *ctx, const struct key *k,
		     const u8 *item, u32 size)
{
	struct vec *runs = ctx;
	struct sum_run *last = runs->n ? vec_at(runs, runs->n - 1) : NULL;
	u64 len = (u64)(size / c->fs->csum_size) * c->fs->sectorsize;

	(void)item;	/* the sums themselves are scrub's to compare */
	if (k->objectid != BTRFS_EXTENT_CSUM_OBJECTID ||
	    k->type != BTRFS_EXTENT_CSUM_KEY) {
		check_err(c, "csum tree: unexpected item (%llu %u %llu)",
			  (unsigned long long)k->objectid, k->type,
			  (unsigned long long)k->offset);
		return 0;
	}
	if (last && last->start + last->len > k->offset) {
		check_err(c, "csum tree: item %llu+%llu overlaps the sums "
			  "before it, which end at %llu",
			  (unsigned long long)k->offset,
			  (unsigned long long)len,
			  (unsigned long long)(last->start + last->len));
		return 0;
	}
	check_in_data(c, k->offset, k->offset + len);
	c->rep->csum_bytes += len;
	if (last && last->start + last->len == k->offset) {
		last->len += len;
		return 0;
	}
	last = vec_push(runs);
	if (!last)
		return -ENOMEM;
	last->start = k->offset;
	last->len = len;
	return 0;
}

/* Report the first byte of the data n needs sums for that has none. */
static void check_covered(struct check *c, const struct vec *runs,
			  const struct cneed *n)
{
	u64 i = vec_first_ending_after(runs, n->start);
	const struct sum_run *r = i < runs->n ? vec_at(runs, i) : NULL;
	int from_start = r && r->start <= n->start;

	if (from_start && r->start + r->len >= n->start + n->len)
		return;
	check_err(c, "tree %llu: inode %llu: file extent at %llu reads data "
		  "%llu+%llu, which has no checksum at %llu",
		  (unsigned long long)n->root, (unsigned long long)n->ino,
		  (unsigned long long)n->file_offset,
		  (unsigned long long)n->start, (unsigned long long)n->len,
		  (unsigned long long)(from_start ? r->start + r->len :
						    n->start));
}

/*
 * Read the csum tree: its sums lie in data extents and cover every file
 * extent that needs them.
 */
int check_csums(struct check *c)
{
	const struct commit_tree *t = check_find_tree(c,
						    BTRFS_CSUM_TREE_OBJECTID);
	struct vec runs = { .elem = sizeof(struct sum_run) };
	u64 i;
	int ret;

	if (!t) {
		check_err(c, "the csum tree has no root item");
		return 0;
	}
	ret = check_read_items(c, t, csum_item, &runs);
	c->rep->sums_needed = c->need_csum.n;
	for (i = 0; ret == 0 && i < c->need_csum.n; i++)
		check_covered(c, &runs, vec_at(&c->need_csum, i));
	vec_free(&runs);
	return ret;
}
