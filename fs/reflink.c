/*
 * Reflink: clone a range of one regular file into another (or into
 * another place of the same file, or a file of another subvolume), so
 * that both share the data extents instead of copying them.
 *
 * The rules are Linux's FICLONERANGE (checked on its loop mount):
 *  - both are regular files (-EISDIR, -EINVAL), with the same NODATASUM
 *    flag (-EINVAL: the destination would be partly checksummed);
 *  - offsets are sector-aligned, and so is the length unless the range
 *    ends at the source's end of file, which is then rounded up to the
 *    sector (-EINVAL); a length of 0 means "to the end of the source";
 *  - the range lies inside the source (-EINVAL);
 *  - an unaligned end-of-file sector goes only to the destination's end,
 *    never into its middle (its tail past EOF would show) (-EINVAL);
 *  - within one file the two ranges do not overlap (-EINVAL);
 *  - a read-only filesystem refuses (-EROFS).
 * The destination grows to dst_off + len when that is past its end; a
 * gap before dst_off stays a hole.
 *
 * How: the destination's range is dropped (file_drop_range), then each
 * source file extent item in the range gets a copy, trimmed to the range,
 * at the matching destination offset, pointing at the same data extent:
 * one EXTENT_DATA_REF (dst root, dst inode, dst key offset - extent
 * offset) gains one, through delayed refs (extent_data_ref), as Linux
 * does for each new reference. Holes need no item with NO_HOLES; without
 * it the step covers them, and a gap before dst_off, with hole items
 * (file_fill_holes). An inline extent cannot be shared: its bytes are
 * written anew at the destination (as Linux copies them). Checksums
 * belong to the data extent and are shared with it.
 *
 * Locking: each step is a namespace change (wctx_begin: ns_lock for write,
 * so no data write of either file runs meanwhile). A large range goes in
 * steps of CLONE_BATCH source items, each its own change, so one clone
 * never outgrows a change's metadata reservation.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>

#include "extent_tree.h"
#include "fs_info.h"
#include "internal.h"
#include "qgroup.h"
#include "reflink.h"
#include "write_common.h"

#define FE ((u32)sizeof(struct d_file_extent_item))

/* End of a file extent item's range. */
static u64 item_end(const struct citem *c)
{
	if (D_GET8(struct d_file_extent_item, c->body, type) ==
	    BTRFS_FILE_EXTENT_INLINE)
		return c->ks + D_GET64(struct d_file_extent_item, c->body,
				       ram_bytes);
	return c->ks + D_GET64(struct d_file_extent_item, c->body, num_bytes);
}

void reflink_items_free(struct clone *c)
{
	while (c->n)
		kfree(c->items[--c->n].body);
}

/* Copy the item at the path into the next slot of c. */
static int take_item(struct clone *c, const struct ctree_path *p, u64 ks)
{
	struct citem *ci = &c->items[c->n];
	const u8 *d;
	u32 size;

	d = ctree_item_ptr(p, &size);
	if (size < BTRFS_FILE_EXTENT_INLINE_DATA_START)
		return -EUCLEAN;
	ci->body = kmalloc(size);
	if (!ci->body)
		return -ENOMEM;
	memcpy(ci->body, d, size);
	ci->ks = ks;
	ci->size = size;
	c->n++;
	return 0;
}

/*
 * Collect up to CLONE_BATCH source items overlapping [from, c->end);
 * *next gets where the step ends: c->end, or the start of the first
 * item left for the next step.
 */
int reflink_collect(struct clone *c, const struct ctree_root *root, u64 from,
		    u64 *next)
{
	struct key k = { c->src.ino, BTRFS_EXTENT_DATA_KEY, from };
	struct ctree_path p;
	int ret;

	*next = c->end;
	ctree_path_init(&p);
	ret = ctree_search_le(root, &k, &p);
	if (ret == 1)
		ret = ctree_search_ge(root, &k, &p);
	for (; ret == 0; ret = ctree_next_item(&p)) {
		ctree_item_key(&p, &k);
		if (k.objectid != c->src.ino || k.type > BTRFS_EXTENT_DATA_KEY)
			break;
		if (k.type != BTRFS_EXTENT_DATA_KEY)
			continue;
		if (k.offset >= c->end)
			break;
		if (c->n == CLONE_BATCH) {
			*next = k.offset;
			break;
		}
		ret = take_item(c, &p, k.offset);
		if (ret)
			break;
		if (item_end(&c->items[c->n - 1]) <= from)
			kfree(c->items[--c->n].body);
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : 0;
}

/* Point a new destination item at the data extent of the part [s, e) of
 * source item ci. */
static int share(struct wctx *w, struct clone *c, struct ctree_root *root,
		 const struct citem *ci, u64 s, u64 e, u64 *nbytes)
{
	u8 fe[sizeof(struct d_file_extent_item)];
	struct key k = { c->dst.ino, BTRFS_EXTENT_DATA_KEY,
			 c->dst_off + (s - c->src_off) };
	u64 disk = D_GET64(struct d_file_extent_item, ci->body, disk_bytenr);
	u64 off = D_GET64(struct d_file_extent_item, ci->body, offset) +
		  (s - ci->ks);
	int ret;

	if (!disk)
		return 0;	/* a hole: reflink_step covers it */
	memcpy(fe, ci->body, FE);
	D_SET64(struct d_file_extent_item, fe, generation, w->t->transid);
	D_SET64(struct d_file_extent_item, fe, offset, off);
	D_SET64(struct d_file_extent_item, fe, num_bytes, e - s);
	ret = ctree_insert_item(w->t, root, &k, fe, FE);
	if (ret == 0)
		ret = extent_data_ref(w->t, disk,
				      D_GET64(struct d_file_extent_item, fe,
					      disk_num_bytes),
				      root->objectid, c->dst.ino, k.offset - off,
				      1);
	*nbytes += e - s;
	return ret;
}

/* Write anew the bytes [s, e) of inline source item ci (inflated first
 * when compressed). */
static int copy_inline(struct wctx *w, struct clone *c,
		       struct ctree_root *root, const struct citem *ci,
		       u64 s, u64 e, u64 size, u64 *nbytes)
{
	u64 have, done;
	u8 *data;
	int ret = file_inline_data(w->fs, ci->body, ci->size, &data, &have);

	if (ret)
		return ret;
	if (e - ci->ks > have)
		e = ci->ks + have;
	if (s < e)
		ret = file_write_range(w, root, c->dst.ino, size,
				       c->dst_off + (s - c->src_off),
				       data + (s - ci->ks), e - s, nbytes,
				       &done);
	kfree(data);
	return ret;
}

/*
 * One step: the source's [from, next) into the destination, whose tree is
 * root. ii is the destination's inode item, updated here (its times too,
 * unless c->keep_times).
 */
int reflink_step(struct wctx *w, struct clone *c, struct ctree_root *root,
		 u64 from, u64 next, u8 *ii)
{
	u64 size = D_GET64(struct d_inode_item, ii, size);
	u64 nbytes = D_GET64(struct d_inode_item, ii, nbytes), freed = 0;
	u64 ds = c->dst_off + (from - c->src_off), want;
	u32 i;
	int ret = file_convert_inline(w, root, c->dst.ino, size, &nbytes);

	if (ret == 0)
		ret = file_drop_range(w, root, c->dst.ino, ds,
				      ds + (next - from), &freed);
	nbytes -= freed;
	for (i = 0; ret == 0 && i < c->n; i++) {
		const struct citem *ci = &c->items[i];
		u64 s = ci->ks > from ? ci->ks : from;
		u64 e = item_end(ci) < next ? item_end(ci) : next;

		if (D_GET8(struct d_file_extent_item, ci->body, type) ==
		    BTRFS_FILE_EXTENT_INLINE)
			ret = copy_inline(w, c, root, ci, s, e, size, &nbytes);
		else
			ret = share(w, c, root, ci, s, e, &nbytes);
	}
	if (ret == 0)	/* the source's holes, a gap before ds */
		ret = file_fill_holes(w, root, c->dst.ino,
				      ds < size ? ds : size,
				      ds + (next - from));
	want = c->dst_off + (next - c->src_off < c->len ? next - c->src_off
							 : c->len);
	if (want > size)
		D_SET64(struct d_inode_item, ii, size, want);
	D_SET64(struct d_inode_item, ii, nbytes, nbytes);
	if (c->keep_times) {
		D_SET64(struct d_inode_item, ii, transid, w->t->transid);
		D_SET64(struct d_inode_item, ii, sequence,
			D_GET64(struct d_inode_item, ii, sequence) + 1);
	} else {
		inode_touch(w, ii, 1);
	}
	if (ret == 0)
		ret = inode_item_put(w, root, c->dst.ino, ii);
	if (ret)
		trans_abort(w->t, ret);
	return ret;
}

/* A regular file's inode item; -EISDIR, -EINVAL for other kinds. Read
 * through the subvolume's root, not wctx_root: the source may sit in a
 * subvolume that is not to be written. */
int reflink_regular_item(struct fs_info *fs, struct fs_ino ino, u8 *ii)
{
	const struct subvol_root *sv;
	u32 type;
	int ret = subvol_get(fs, ino.root, &sv);

	if (ret == 0)
		ret = inode_item_get((struct ctree_root *)&sv->root, ino.ino,
				     ii);
	if (ret)
		return ret;
	type = D_GET32(struct d_inode_item, ii, mode) & S_IFMT_;
	if (type != S_IFREG_)
		return type == S_IFDIR_ ? -EISDIR : -EINVAL;
	return 0;
}

/* Check c against the rules above (the top); fix len and end. */
static int check_args(struct wctx *w, struct clone *c, const u8 *sii,
		      const u8 *dii)
{
	u64 ssize = D_GET64(struct d_inode_item, sii, size);
	u64 dsize = D_GET64(struct d_inode_item, dii, size);
	u64 sflags = D_GET64(struct d_inode_item, sii, flags);
	u64 dflags = D_GET64(struct d_inode_item, dii, flags);
	u64 ss = w->fs->sectorsize;

	if ((sflags ^ dflags) & BTRFS_INODE_NODATASUM)
		return -EINVAL;
	if (c->src_off % ss || c->dst_off % ss || c->src_off > ssize)
		return -EINVAL;
	if (c->len == 0)
		c->len = ssize - c->src_off;
	if (c->len > ssize - c->src_off ||
	    c->dst_off + c->len < c->dst_off)
		return -EINVAL;
	c->end = c->src_off + c->len;
	if (c->end == ssize && ssize % ss) {
		if (c->dst_off + c->len < dsize)
			return -EINVAL;	/* the EOF sector into the middle */
		c->end += ss - ssize % ss;
	} else if (c->len % ss) {
		return -EINVAL;
	}
	if (c->src.root == c->dst.root && c->src.ino == c->dst.ino &&
	    c->dst_off < c->end && c->src_off < c->dst_off + (c->end -
							      c->src_off))
		return -EINVAL;
	return 0;
}

/*
 * Reserve a step against the destination's quota limits (qgroup_limit.c):
 * a tree block, and, into another subvolume, the disk bytes of the
 * extents it shares there (referenced only: shared, they are no one's
 * exclusive bytes). Returns 0, -EDQUOT or <0.
 */
static int clone_reserve(struct fs_info *fs, const struct clone *c)
{
	u64 bytes = 0;
	u32 i;
	int ret = qgroup_reserve(fs, c->dst.root, fs->nodesize, 0);

	for (i = 0; c->src.root != c->dst.root && i < c->n; i++)
		if (D_GET8(struct d_file_extent_item, c->items[i].body,
			   type) != BTRFS_FILE_EXTENT_INLINE)
			bytes += D_GET64(struct d_file_extent_item,
					 c->items[i].body, disk_num_bytes);
	if (ret)
		return ret;
	ret = qgroup_reserve(fs, c->dst.root, bytes, QGROUP_RSV_RFER_ONLY);
	if (ret)
		qgroup_release(fs, c->dst.root, fs->nodesize, 0);
	return ret;
}

/* Make the step from from (first: check the arguments, and start at
 * src_off): *next gets where it ended. */
static int clone_one_step(struct fs_info *fs, struct clone *c, u64 from,
			  u64 *next, int first)
{
	u8 sii[sizeof(struct d_inode_item)], dii[sizeof(struct d_inode_item)];
	const struct subvol_root *sv;
	struct ctree_root *droot;
	struct wctx w;
	int ret = wctx_begin(fs, &w, 0);

	*next = c->end;
	if (ret)
		return ret;
	/* A read-only destination fails here, before anything changes. */
	ret = wctx_root(&w, c->dst.root, &droot);
	if (ret == 0)
		ret = reflink_regular_item(fs, c->src, sii);
	if (ret == 0)
		ret = reflink_regular_item(fs, c->dst, dii);
	if (ret == 0 && first) {
		ret = check_args(&w, c, sii, dii);
		from = c->src_off;
		*next = c->end;
	}
	if (ret == 0)
		ret = subvol_get(fs, c->src.root, &sv);
	if (ret == 0 && from < c->end)
		ret = reflink_collect(c, &sv->root, from, next);
	if (ret == 0 && from < c->end)
		ret = clone_reserve(fs, c);
	if (ret == 0 && from < c->end)
		ret = reflink_step(&w, c, droot, from, *next, dii);
	reflink_items_free(c);
	wctx_end(&w);
	return ret;
}

/*
 * Clone len bytes of regular file src at src_off into regular file dst at
 * dst_off, sharing the data (see the top for the rules and errors). len 0:
 * to the end of src.
 */
int fs_clone_range(struct fs_info *fs, struct fs_ino src, uint64_t src_off,
		   uint64_t len, struct fs_ino dst, uint64_t dst_off)
{
	struct clone *c = kzalloc(sizeof(*c));
	u64 next = 0;
	int ret;

	if (!c)
		return -ENOMEM;
	c->src = src;
	c->dst = dst;
	c->src_off = src_off;
	c->dst_off = dst_off;
	c->len = len;
	ret = clone_one_step(fs, c, 0, &next, 1);
	while (ret == 0 && next < c->end)
		ret = clone_one_step(fs, c, next, &next, 0);
	kfree(c);
	return ret;
}
