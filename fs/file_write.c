/*
 * File data writes: write, truncate, punching holes, and dropping the
 * extents of a range.
 *
 * Writing never changes data in place: the sector-aligned range covering
 * the write is read (its partial first and last sectors), overlaid with the
 * new bytes, written to a newly allocated data extent (at most 1 MiB each),
 * checksummed into the csum tree, and pointed at by a new file extent item
 * after the old items of the range are cut away. The data goes to the disk
 * at once (the extent was free in the committed tree, so nothing committed
 * is overwritten); the commit's flush before the superblock orders it.
 *
 * Cutting a range out of a file extent item (file_drop_range) keeps its
 * back-reference arithmetic exact (reference, "Splitting a data extent"):
 * an item wholly inside goes and drops its EXTENT_DATA_REF by one; an item
 * sticking out on one side is shortened (same ref); an item sticking out on
 * both sides becomes two items that both point at the same extent with the
 * same (root, inode, original offset): the ref count goes up by one and no
 * new back-reference appears.
 *
 * Inline extents (small files Linux made) are turned into regular extents
 * on the first write. Sparse writes leave holes (NO_HOLES: no items).
 * Bytes past the end of file in its last sector are always zero, so
 * extending a file never exposes old data.
 *
 * Locking: a data change of one file (wctx_begin_file: ns_lock for read,
 * the inode's lock for write, trans_sem for read).
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/time.h>

#include "csum.h"
#include "extent_tree.h"
#include "fs_info.h"
#include "internal.h"
#include "volumes.h"
#include "write_common.h"

#define MAX_EXTENT (1024u * 1024)
#define FE ((u32)sizeof(struct d_file_extent_item))

/* Cut [start, end) out of the item at key ks (body fe, copied). */
static int drop_one(struct wctx *w, struct ctree_root *root, u64 ino,
		    u64 ks, const u8 *fe, u64 start, u64 end, u64 *freed)
{
	u64 disk = D_GET64(struct d_file_extent_item, fe, disk_bytenr);
	u64 dnb = D_GET64(struct d_file_extent_item, fe, disk_num_bytes);
	u64 off = D_GET64(struct d_file_extent_item, fe, offset);
	u64 ke = ks + D_GET64(struct d_file_extent_item, fe, num_bytes);
	struct key k = { ino, BTRFS_EXTENT_DATA_KEY, ks };
	struct ctree_path p;
	u8 *item, copy[sizeof(struct d_file_extent_item)];
	u32 size;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(w->t, root, &k, &p, 0);
	if (ret) {
		ctree_path_release(&p);
		return ret == 1 ? -EUCLEAN : ret;
	}
	item = ctree_item_ptr_w(&p, &size);
	if (ks >= start && ke <= end) {
		*freed += disk ? ke - ks : 0;
		ret = ctree_del_item(w->t, root, &p);
		if (ret == 0 && disk)
			ret = extent_data_ref(w->t, disk, dnb, root->objectid,
					      ino, ks - off, -1);
		return ret;
	}
	if (ks < start) {
		D_SET64(struct d_file_extent_item, item, num_bytes, start - ks);
		*freed += disk ? (ke < end ? ke : end) - start : 0;
		memcpy(copy, item, FE);
		ctree_path_release(&p);
		if (ke <= end)
			return 0;
		/* Both sides stick out: the tail becomes its own item. */
		D_SET64(struct d_file_extent_item, copy, offset,
			off + (end - ks));
		D_SET64(struct d_file_extent_item, copy, num_bytes, ke - end);
		k.offset = end;
		ret = ctree_insert_item(w->t, root, &k, copy, FE);
		if (ret == 0 && disk)
			ret = extent_data_ref(w->t, disk, dnb, root->objectid,
					      ino, ks - off, 1);
		return ret;
	}
	D_SET64(struct d_file_extent_item, item, offset, off + (end - ks));
	D_SET64(struct d_file_extent_item, item, num_bytes, ke - end);
	k.offset = end;
	ctree_set_item_key(&p, &k);
	ctree_path_release(&p);
	*freed += disk ? end - ks : 0;
	return 0;
}

/* The first extent item of ino overlapping [from, ...): key and body. */
static int next_extent(struct ctree_root *root, u64 ino, u64 from,
		       u64 *ks, u8 *fe, u32 *size)
{
	struct key k = { ino, BTRFS_EXTENT_DATA_KEY, from };
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_le(root, &k, &p);
	if (ret == 0) {
		ctree_item_key(&p, &k);
		if (k.objectid != ino || k.type != BTRFS_EXTENT_DATA_KEY ||
		    k.offset + D_GET64(struct d_file_extent_item,
				       ctree_item_ptr(&p, size), num_bytes)
		    <= from)
			ret = ctree_next_item(&p);
	} else if (ret == 1) {
		ret = ctree_search_ge(root, &k, &p);
	}
	if (ret == 0) {
		const u8 *d;

		ctree_item_key(&p, &k);
		d = ctree_item_ptr(&p, size);
		if (k.objectid != ino || k.type != BTRFS_EXTENT_DATA_KEY)
			ret = 1;
		else
			memcpy(fe, d, *size < FE ? *size : FE);
		*ks = k.offset;
	}
	ctree_path_release(&p);
	return ret;
}

/*
 * Remove file data [start, end) of ino (end (u64)-1: to the end). *freed
 * grows by the bytes of regular extents dropped (for nbytes).
 */
int file_drop_range(struct wctx *w, struct ctree_root *root, u64 ino,
		    u64 start, u64 end, u64 *freed)
{
	u8 fe[sizeof(struct d_file_extent_item)];
	u64 ks, from = start;
	u32 size;
	int ret;

	for (;;) {
		ret = next_extent(root, ino, from, &ks, fe, &size);
		if (ret)
			return ret < 0 ? ret : 0;
		if (ks >= end)
			return 0;
		if (D_GET8(struct d_file_extent_item, fe, type) ==
		    BTRFS_FILE_EXTENT_INLINE)
			return -EOPNOTSUPP;	/* converted before */
		ret = drop_one(w, root, ino, ks, fe, start, end, freed);
		if (ret)
			return ret;
		from = ks + D_GET64(struct d_file_extent_item, fe, num_bytes);
		if (from >= end)
			return 0;
	}
}

/* Write data (len bytes, sector multiple) as a new extent at file cs.
 * *got is how much went in (less when space is fragmented). */
static int write_extent(struct wctx *w, struct ctree_root *root, u64 ino,
			u64 cs, const u8 *data, u64 len, u64 *got,
			u64 *freed)
{
	u8 fe[sizeof(struct d_file_extent_item)];
	struct key k = { ino, BTRFS_EXTENT_DATA_KEY, cs };
	struct dref_key rk = { 0 };
	u64 start;
	int ret = extent_alloc_data(w->t, len, &start, got);

	if (ret)
		return ret;
	ret = volumes_write(w->fs, start, data, (u32)*got);
	if (ret == 0)
		ret = csum_insert(w->t, start, data, *got);
	if (ret == 0)
		ret = file_drop_range(w, root, ino, cs, cs + *got, freed);
	memset(fe, 0, sizeof(fe));
	D_SET64(struct d_file_extent_item, fe, generation, w->t->transid);
	D_SET64(struct d_file_extent_item, fe, ram_bytes, *got);
	D_SET8(struct d_file_extent_item, fe, type, BTRFS_FILE_EXTENT_REG);
	D_SET64(struct d_file_extent_item, fe, disk_bytenr, start);
	D_SET64(struct d_file_extent_item, fe, disk_num_bytes, *got);
	D_SET64(struct d_file_extent_item, fe, num_bytes, *got);
	if (ret == 0)
		ret = ctree_insert_item(w->t, root, &k, fe, FE);
	rk.bytenr = start;
	rk.type = BTRFS_EXTENT_DATA_REF_KEY;
	rk.root = root->objectid;
	rk.owner = ino;
	rk.offset = cs;
	if (ret == 0)
		ret = delayed_ref_alloc(w->t, &rk, *got, 1, 0);
	if (ret)
		trans_abort(w->t, ret);
	return ret;
}

/* Read an inline extent's data into a new buffer and delete the item. */
static int take_inline(struct wctx *w, struct ctree_root *root, u64 ino,
		       u8 **data, u64 *len)
{
	struct key k = { ino, BTRFS_EXTENT_DATA_KEY, 0 };
	struct ctree_path p;
	const u8 *fe;
	u32 size;
	u8 type;
	int ret;

	*data = NULL;
	*len = 0;
	ctree_path_init(&p);
	ret = ctree_search_write(w->t, root, &k, &p, 0);
	if (ret == 0) {
		fe = ctree_item_ptr(&p, &size);
		type = D_GET8(struct d_file_extent_item, fe, type);
		if (type != BTRFS_FILE_EXTENT_INLINE ||
		    D_GET8(struct d_file_extent_item, fe, compression)) {
			ctree_path_release(&p);
			return type == BTRFS_FILE_EXTENT_INLINE ? -EOPNOTSUPP
								: 0;
		}
		*len = size - BTRFS_FILE_EXTENT_INLINE_DATA_START;
		*data = kmalloc(*len + 1);
		if (!*data) {
			ctree_path_release(&p);
			return -ENOMEM;
		}
		memcpy(*data, fe + BTRFS_FILE_EXTENT_INLINE_DATA_START, *len);
		return ctree_del_item(w->t, root, &p);
	}
	ctree_path_release(&p);
	return ret == 1 ? 0 : ret;
}

/* Write [off, off + len) of ino, sector-aligned pieces of <= 1 MiB.
 * *nbytes and *done track the inode's bytes and what was written. */
int file_write_range(struct wctx *w, struct ctree_root *root, u64 ino,
		     u64 size, u64 off, const u8 *buf, u64 len, u64 *nbytes,
		     u64 *done)
{
	u32 ss = w->fs->sectorsize;
	u64 cs = off & ~(u64)(ss - 1), end = off + len;
	u8 *tmp = kmalloc(MAX_EXTENT);
	int ret = tmp ? 0 : -ENOMEM;

	while (ret == 0 && cs < end) {
		u64 ce = (end + ss - 1) & ~(u64)(ss - 1), got = 0, freed = 0;
		u64 from, to;
		size_t rd;

		if (ce - cs > MAX_EXTENT)
			ce = cs + MAX_EXTENT;
		memset(tmp, 0, ce - cs);
		if ((cs < off || ce > end) && cs < size)
			ret = file_read(w->fs, (struct fs_ino){ root->objectid,
					ino }, cs, tmp, ce - cs, &rd);
		from = off > cs ? off : cs;
		to = end < ce ? end : ce;
		memcpy(tmp + (from - cs), buf + (from - off), to - from);
		if (ret == 0)
			ret = write_extent(w, root, ino, cs, tmp, ce - cs, &got,
					   &freed);
		if (ret)
			break;
		*nbytes = *nbytes + got - freed;
		*done = cs + got > end ? end : cs + got;
		cs += got;
	}
	kfree(tmp);
	return ret;
}

/* Turn an inline extent into a regular one before writing around it. */
int file_convert_inline(struct wctx *w, struct ctree_root *root, u64 ino,
			u64 size, u64 *nbytes)
{
	u8 *data;
	u64 len, done = 0;
	int ret = take_inline(w, root, ino, &data, &len);

	if (ret || !data)
		return ret;
	*nbytes -= *nbytes < len ? *nbytes : len;
	if (len > size)
		len = size;
	ret = file_write_range(w, root, ino, 0, 0, data, len, nbytes, &done);
	kfree(data);
	return ret;
}

/* Open a data change of regular file id: its root, its inode item in ii,
 * and the size and nbytes that item records. */
static int file_begin(struct wctx *w, struct fs_ino id,
		      struct ctree_root **root, u8 *ii, u64 *size,
		      u64 *nbytes)
{
	int ret = wctx_root(w, id.root, root);
	u32 type;

	if (ret == 0)
		ret = inode_item_get(*root, id.ino, ii);
	if (ret)
		return ret;
	type = D_GET32(struct d_inode_item, ii, mode) & S_IFMT_;
	if (type != S_IFREG_)
		return type == S_IFDIR_ ? -EISDIR : -EINVAL;
	*size = D_GET64(struct d_inode_item, ii, size);
	*nbytes = D_GET64(struct d_inode_item, ii, nbytes);
	return 0;
}

/*
 * Write len bytes of buf at byte off of regular file ino, growing it as
 * needed. On -ENOSPC the part written before space ran out stays (the file
 * grows to its end). Returns 0 or a negative errno.
 */
int fs_write(struct fs_info *fs, struct fs_ino ino, uint64_t off,
	     const void *buf, size_t len)
{
	u8 ii[sizeof(struct d_inode_item)];
	struct ctree_root *root;
	struct wctx w;
	u64 size, nbytes, done = 0;
	int ret = wctx_begin_file(fs, &w, ino, 0), ret2;

	if (ret)
		return ret;
	ret = file_begin(&w, ino, &root, ii, &size, &nbytes);
	if (ret)
		goto out;
	ret = file_convert_inline(&w, root, ino.ino, size, &nbytes);
	if (ret == 0 && len)
		ret = file_write_range(&w, root, ino.ino, size, off, buf, len,
				  &nbytes, &done);
	if (done > size)
		D_SET64(struct d_inode_item, ii, size, done);
	D_SET64(struct d_inode_item, ii, nbytes, nbytes);
	inode_touch(&w, ii, 1);
	ret2 = inode_item_put(&w, root, ino.ino, ii);
	ret = ret ? ret : ret2;
out:
	wctx_end(&w);
	return ret;
}

/* Zero the bytes of the last sector past new size (truncate down). */
static int zero_tail(struct wctx *w, struct ctree_root *root, u64 ino,
		     u64 size, u64 *nbytes)
{
	u32 ss = w->fs->sectorsize;
	u64 cs = size & ~(u64)(ss - 1), done = 0;
	u8 *zero;
	int ret;

	if (size % ss == 0)
		return 0;
	zero = kzalloc(ss);
	if (!zero)
		return -ENOMEM;
	ret = file_write_range(w, root, ino, size, size, zero,
			  ss - (size - cs), nbytes, &done);
	kfree(zero);
	return ret;
}

/* Set the size of regular file ino: cut data past it, or grow a hole. */
int fs_truncate(struct fs_info *fs, struct fs_ino ino, uint64_t new_size)
{
	u8 ii[sizeof(struct d_inode_item)];
	struct ctree_root *root;
	struct wctx w;
	u64 size, nbytes, freed = 0;
	u32 ss = fs->sectorsize;
	int ret = wctx_begin_file(fs, &w, ino, WCTX_FREES), ret2;

	if (ret)
		return ret;
	ret = file_begin(&w, ino, &root, ii, &size, &nbytes);
	if (ret)
		goto out;
	ret = file_convert_inline(&w, root, ino.ino, size, &nbytes);
	if (ret == 0 && new_size < size) {
		ret = file_drop_range(&w, root, ino.ino,
				      (new_size + ss - 1) & ~(u64)(ss - 1),
				      (u64)-1, &freed);
		nbytes -= freed;
		if (ret == 0)
			ret = zero_tail(&w, root, ino.ino, new_size, &nbytes);
	}
	D_SET64(struct d_inode_item, ii, size, new_size);
	D_SET64(struct d_inode_item, ii, nbytes, nbytes);
	inode_touch(&w, ii, 1);
	ret2 = inode_item_put(&w, root, ino.ino, ii);
	ret = ret ? ret : ret2;
out:
	wctx_end(&w);
	return ret;
}

/* Write zeros over [from, to) of ino: less than two sectors. */
static int zero_part(struct wctx *w, struct ctree_root *root, u64 ino,
		     u64 size, u64 from, u64 to, u64 *nbytes)
{
	u8 *zero;
	u64 done = 0;
	int ret;

	if (from >= to)
		return 0;
	zero = kzalloc(to - from);
	if (!zero)
		return -ENOMEM;
	ret = file_write_range(w, root, ino, size, from, zero, to - from,
			       nbytes, &done);
	kfree(zero);
	return ret;
}

/*
 * Free [off, off + len) of regular file ino, which then reads as zeros;
 * the size stays (Linux's fallocate PUNCH_HOLE | KEEP_SIZE). Whole
 * sectors lose their extents; the partial sectors at the ends get zeros
 * written.
 */
int fs_punch_hole(struct fs_info *fs, struct fs_ino ino, uint64_t off,
		  uint64_t len)
{
	u8 ii[sizeof(struct d_inode_item)];
	struct ctree_root *root;
	struct wctx w;
	u64 size, nbytes, freed = 0, end, s, e;
	u32 ss = fs->sectorsize;
	int ret = wctx_begin_file(fs, &w, ino, WCTX_FREES), ret2;

	if (ret)
		return ret;
	ret = file_begin(&w, ino, &root, ii, &size, &nbytes);
	if (ret)
		goto out;
	ret = file_convert_inline(&w, root, ino.ino, size, &nbytes);
	end = len > size || off > size - len ? size : off + len;
	if (ret || off >= end)
		goto out_put;
	/* past the size a sector holds zeros: drop it whole */
	s = (off + ss - 1) & ~(u64)(ss - 1);
	e = end == size ? (size + ss - 1) & ~(u64)(ss - 1) :
	    end & ~(u64)(ss - 1);
	if (s >= e) {
		ret = zero_part(&w, root, ino.ino, size, off, end, &nbytes);
		goto out_put;
	}
	ret = zero_part(&w, root, ino.ino, size, off, s, &nbytes);
	if (ret == 0)
		ret = zero_part(&w, root, ino.ino, size, e < end ? e : end,
				end, &nbytes);
	if (ret == 0)
		ret = file_drop_range(&w, root, ino.ino, s, e, &freed);
	nbytes -= freed;
out_put:
	D_SET64(struct d_inode_item, ii, nbytes, nbytes);
	inode_touch(&w, ii, 1);
	ret2 = inode_item_put(&w, root, ino.ino, ii);
	ret = ret ? ret : ret2;
out:
	wctx_end(&w);
	return ret;
}

/* Delete every item of inode ino (its last link went): data first. */
int file_evict(struct wctx *w, struct ctree_root *root, u64 ino)
{
	u8 *data;
	u64 len, freed = 0;
	int ret = take_inline(w, root, ino, &data, &len);

	kfree(data);
	if (ret == -EOPNOTSUPP)
		ret = 0;
	if (ret == 0)
		ret = file_drop_range(w, root, ino, 0, (u64)-1, &freed);
	while (ret == 0) {
		struct key k = { ino, 0, 0 };
		struct ctree_path p;

		ctree_path_init(&p);
		ret = ctree_search_write(w->t, root, &k, &p, 0);
		if (ret < 0)
			break;
		if ((u32)p.slots[0] >= tb_nritems(p.nodes[0])) {
			ctree_path_release(&p);
			ret = ctree_search_ge(root, &k, &p);
			if (ret == 0)
				ctree_item_key(&p, &k);
			ctree_path_release(&p);
			if (ret || k.objectid != ino)
				return ret < 0 ? ret : 0;
			ctree_path_init(&p);
			ret = ctree_search_write(w->t, root, &k, &p, 0);
			if (ret) {
				ctree_path_release(&p);
				return ret < 0 ? ret : -EUCLEAN;
			}
		}
		ctree_item_key(&p, &k);
		if (k.objectid != ino) {
			ctree_path_release(&p);
			return 0;
		}
		ret = ctree_del_item(w->t, root, &p);
	}
	return ret;
}
