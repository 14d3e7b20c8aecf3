/*
 * Dedupe: share a range of one file with an equal range of another (or
 * of the same file) after comparing them byte for byte: Linux's
 * FIDEDUPERANGE, checked against its answers on a loop mount
 * (tests/interop/dedupe.sh).
 *
 * The rules, in Linux's order:
 *  - both are regular files (-EISDIR for a directory, else -EINVAL); the
 *    source range lies inside the source (-EINVAL); a request is cut to
 *    1 GiB; a length of 0 does nothing more and succeeds;
 *  - offsets are block-aligned and both ranges lie inside their files
 *    (-EINVAL); the NODATASUM flags agree (-EINVAL);
 *  - the length is cut down to whole blocks, unless both ranges end at
 *    their files' ends: then the partial last block is shared too;
 *  - within one file the ranges do not overlap (-EINVAL);
 *  - the bytes differ: -EBADE, nothing shared ("differs");
 *  - an inline extent is never shared: the range compares equal, and
 *    stays as it is (Linux reports it deduped too).
 * The caller reports the length asked for as the bytes deduped, as Linux
 * does, even when the tail was cut to whole blocks.
 * The destination's times stay; its inode item's transid and sequence
 * move, as Linux's do. A read-only subvolume may be the destination, as on
 * Linux: dedupe changes which extent holds the bytes, never the bytes or
 * any key (wctx_root_remap, the one way past the read-only guard).
 *
 * How: in steps of at most DEDUPE_STEP bytes and CLONE_BATCH source items
 * (reflink.h), each a namespace change (ns_lock for write, so no write,
 * truncate or read of either file runs between the compare and the
 * sharing): the sizes are checked again (a file whose size changed since
 * the first step makes the rest -EBADE), the source items are collected,
 * both ranges are read and compared, then reflink's step shares them.
 *
 * Dedupe beside send. A send reads a read-only subvolume's commit root
 * from leaf copies, with no lock held between its searches (send.c).
 * Dedupe into that subvolume moves extent pointers but no key, so send
 * can find its place again by key as after a relocation: the commit that
 * makes such a dedupe visible moves fs->last_reloc_trans in the same
 * commit_root_sem write section that swaps the roots, before the space
 * it frees can be reused (trans->ro_remapped, set by wctx_root_remap).
 * A send checks the counter between items: when it moved, it drops its
 * leaf copies and searches again by key. File bytes send reads through
 * fs_read, by file offset, which dedupe never changes; the extent
 * pointers of a stale copy only decide what goes as CLONE (with an
 * incremental send, what counts as unchanged), and an extent a dedupe
 * frees is reused only after its commit moved the counter. Left open, as
 * for relocation: an item whose processing spans that commit, the reuse
 * of the freed extent and a dedupe of a clone source onto it.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>

#include "fs_info.h"
#include "internal.h"
#include "reflink.h"
#include "write_common.h"

#define DEDUPE_MAX (1ULL << 30)		/* longest request (Linux's cut) */
#define DEDUPE_STEP (16ULL << 20)	/* bytes per step (Linux's chunk) */
#define CMP_BUF (64 * 1024)		/* bytes compared at a time */

/* One dedupe call. */
struct dedupe {
	struct clone c;		/* the sharing (c.len: the checked length) */
	u64 ssize, dsize;	/* the files' sizes when checked */
	u64 end;		/* where the source range ends, rounded up
				 * to the block at EOF */
	u8 *a, *b;		/* CMP_BUF each: source and destination bytes */
};

/* Check the range against the rules (the top) and set d->c.len and
 * d->c.end; sii, dii: the two inode items. */
static int check_range(struct fs_info *fs, struct dedupe *d, const u8 *sii,
		       const u8 *dii)
{
	struct clone *c = &d->c;
	u64 ss = fs->sectorsize, len = c->len, bend;
	u64 sflags = D_GET64(struct d_inode_item, sii, flags);
	u64 dflags = D_GET64(struct d_inode_item, dii, flags);

	d->ssize = D_GET64(struct d_inode_item, sii, size);
	d->dsize = D_GET64(struct d_inode_item, dii, size);
	c->end = c->src_off;
	if (c->src_off + len < c->src_off || c->src_off + len > d->ssize)
		return -EINVAL;
	if (len == 0)
		return 0;
	if (c->src_off % ss || c->dst_off % ss ||
	    c->dst_off + len < c->dst_off)
		return -EINVAL;
	if (c->src_off >= d->ssize || c->dst_off >= d->dsize ||
	    c->dst_off + len > d->dsize)
		return -EINVAL;
	if ((sflags ^ dflags) & BTRFS_INODE_NODATASUM)
		return -EINVAL;
	if (c->src_off + len == d->ssize && c->dst_off + len == d->dsize) {
		bend = (d->ssize + ss - 1) / ss * ss - c->src_off;
	} else {
		len -= len % ss;
		bend = len;
	}
	if (c->src.root == c->dst.root && c->src.ino == c->dst.ino &&
	    c->dst_off + bend > c->src_off && c->dst_off < c->src_off + bend)
		return -EINVAL;
	c->len = len;
	c->end = c->src_off + bend;
	return 0;
}

/* Compare the source's [from, to) with the matching destination bytes.
 * 0 when equal, -EBADE when not, <0. */
static int compare(struct fs_info *fs, struct dedupe *d, u64 from, u64 to)
{
	struct clone *c = &d->c;
	u64 at;

	for (at = from; at < to; at += CMP_BUF) {
		size_t n = to - at < CMP_BUF ? to - at : CMP_BUF, got_a, got_b;
		int ret = file_read(fs, c->src, at, d->a, n, &got_a);

		if (ret == 0)
			ret = file_read(fs, c->dst, c->dst_off + (at - c->src_off),
					d->b, n, &got_b);
		if (ret)
			return ret;
		if (got_a != n || got_b != n || memcmp(d->a, d->b, n))
			return -EBADE;
	}
	return 0;
}

/* Whether a collected source item is inline (never shared). */
static int has_inline(const struct clone *c)
{
	u32 i;

	for (i = 0; i < c->n; i++)
		if (D_GET8(struct d_file_extent_item, c->items[i].body,
			   type) == BTRFS_FILE_EXTENT_INLINE)
			return 1;
	return 0;
}

/* Check the files again (all the rules on the first step), and compare
 * and share from from; *next gets where the step ended. */
static int dedupe_step(struct fs_info *fs, struct dedupe *d, u64 from,
		       u64 *next, int first)
{
	u8 sii[sizeof(struct d_inode_item)], dii[sizeof(struct d_inode_item)];
	struct clone *c = &d->c;
	const struct subvol_root *sv;
	struct ctree_root *droot;
	struct wctx w;
	int ret = wctx_begin(fs, &w, 0);

	if (ret)
		return ret;
	ret = wctx_root_remap(&w, c->dst.root, &droot);
	if (ret == 0)
		ret = reflink_regular_item(fs, c->src, sii);
	if (ret == 0)
		ret = reflink_regular_item(fs, c->dst, dii);
	if (ret == 0 && first) {
		ret = check_range(fs, d, sii, dii);
		from = c->src_off;
		d->end = c->end;
	} else if (ret == 0 &&
		   (D_GET64(struct d_inode_item, sii, size) != d->ssize ||
		    D_GET64(struct d_inode_item, dii, size) != d->dsize)) {
		ret = -EBADE;	/* changed between steps: may differ now */
	}
	*next = d->end;
	if (ret == 0 && from < d->end) {
		/* reflink_collect stops at c->end, or earlier when full */
		c->end = d->end - from > DEDUPE_STEP ? from + DEDUPE_STEP
						     : d->end;
		ret = subvol_get(fs, c->src.root, &sv);
		if (ret == 0)
			ret = reflink_collect(c, &sv->root, from, next);
		if (ret == 0)
			ret = compare(fs, d, from, *next < c->src_off + c->len ?
					      *next : c->src_off + c->len);
		if (ret == 0 && !has_inline(c))
			ret = reflink_step(&w, c, droot, from, *next, dii);
	}
	reflink_items_free(c);
	wctx_end(&w);
	return ret;
}

/*
 * Share len bytes of regular file src at src_off with the equal bytes of
 * regular file dst at dst_off (the rules at the top). Returns 0 when
 * deduped (or len 0), -EBADE when the bytes differ, or another negative
 * errno (-EINVAL for a broken rule).
 */
int fs_dedupe_range(struct fs_info *fs, struct fs_ino src, uint64_t src_off,
		    uint64_t len, struct fs_ino dst, uint64_t dst_off)
{
	struct dedupe *d;
	u64 next = 0;
	int ret;

	d = kzalloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->a = kmalloc(CMP_BUF);
	d->b = kmalloc(CMP_BUF);
	d->c.src = src;
	d->c.dst = dst;
	d->c.src_off = src_off;
	d->c.dst_off = dst_off;
	d->c.len = len > DEDUPE_MAX ? DEDUPE_MAX : len;
	d->c.keep_times = 1;
	ret = d->a && d->b ? dedupe_step(fs, d, 0, &next, 1) : -ENOMEM;
	while (ret == 0 && next < d->end)
		ret = dedupe_step(fs, d, next, &next, 0);
	kfree(d->a);
	kfree(d->b);
	kfree(d);
	return ret;
}
