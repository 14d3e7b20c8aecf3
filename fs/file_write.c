/*
 * File data writes: write, truncate, punching holes, and dropping the
 * extents of a range.
 *
 * Writing never changes data in place: the sector-aligned range covering
 * the write is read (its partial first and last sectors), overlaid with the
 * new bytes, written in pieces of at most 1 MiB to a newly allocated data
 * extent, checksummed into the csum tree, and pointed at by a new file
 * extent item after the old items of the range are cut away. A piece that
 * starts where the file's newest extent ends grows that extent instead,
 * up to 128 MiB, when nothing else references it (file_grow.c). The data
 * write starts at once, without waiting (writeback.c: the extent was free
 * in the committed tree, so nothing committed is overwritten); the commit
 * waits for it before its flush and the superblock.
 *
 * Cutting a range out of a file extent item (file_drop_range) keeps its
 * back-reference arithmetic exact (reference, "Splitting a data extent"):
 * an item wholly inside goes and drops its EXTENT_DATA_REF by one; an item
 * sticking out on one side is shortened (same ref); an item sticking out on
 * both sides becomes two items that both point at the same extent with the
 * same (root, inode, original offset): the ref count goes up by one and no
 * new back-reference appears.
 *
 * Compression (mount -o compress=, compress-force=, a file's compression
 * property: compress_begin) writes pieces of at most 128 KiB, each
 * compressed into one extent (compress.c) when that saves a sector, else
 * plain; data that does not compress marks the inode NOCOMPRESS, and its
 * later writes go plain, unless compress-force.
 *
 * Inline extents (small files Linux made, compressed or not) are turned
 * into regular extents on the first write. Sparse writes leave holes:
 * no items with NO_HOLES, hole items without (file_holes.c).
 * Bytes past the end of file in its last sector are always zero, so
 * extending a file never exposes old data.
 *
 * Locking: a data change of one file (wctx_begin_file: ns_lock for read,
 * the inode's lock for write, trans_sem for read).
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/time.h>

#include "compress.h"
#include "csum.h"
#include "extent_tree.h"
#include "fs_info.h"
#include "internal.h"
#include "qgroup.h"
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

/* The first extent item of ino overlapping [from, ...): key and body
 * (its first FE bytes). 0, 1 when none, <0. */
int file_next_extent(struct ctree_root *root, u64 ino, u64 from, u64 *ks,
		     u8 *fe, u32 *size)
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
		ret = file_next_extent(root, ino, from, &ks, fe, &size);
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

/*
 * Put a new extent at file offset cs: write disk_len bytes of disk_data
 * to the allocated extent at start, checksum them, cut the file's old
 * items of [cs, cs + len) and point a new item at it: len bytes of file
 * data, stored as is (comp 0, disk_len == len) or compressed with comp.
 * The file's bytes are [ext_off, ext_off + len) of the extent's ram bytes
 * (ext_off 0 and ram == len, but for encoded writes: file_encoded.c).
 * disk_data NULL: a preallocated extent (file_prealloc.c), nothing
 * written and no checksums.
 */
int file_insert_extent(struct wctx *w, struct ctree_root *root, u64 ino,
		       u64 cs, u64 start, u64 disk_len, u64 len, u8 comp,
		       u64 ram, u64 ext_off, const u8 *disk_data, u64 *freed)
{
	u8 fe[sizeof(struct d_file_extent_item)];
	struct key k = { ino, BTRFS_EXTENT_DATA_KEY, cs };
	struct dref_key rk = { 0 };
	int ret = disk_data ? writeback_submit(w->fs, WB_DATA, start,
					      disk_data, (u32)disk_len) : 0;

	if (ret == 0 && disk_data)
		ret = csum_insert(w->t, start, disk_data, disk_len);
	if (ret == 0)
		ret = file_drop_range(w, root, ino, cs, cs + len, freed);
	memset(fe, 0, sizeof(fe));
	D_SET64(struct d_file_extent_item, fe, generation, w->t->transid);
	D_SET64(struct d_file_extent_item, fe, ram_bytes, ram);
	D_SET8(struct d_file_extent_item, fe, compression, comp);
	D_SET8(struct d_file_extent_item, fe, type, disk_data ?
	       BTRFS_FILE_EXTENT_REG : BTRFS_FILE_EXTENT_PREALLOC);
	D_SET64(struct d_file_extent_item, fe, disk_bytenr, start);
	D_SET64(struct d_file_extent_item, fe, disk_num_bytes, disk_len);
	D_SET64(struct d_file_extent_item, fe, offset, ext_off);
	D_SET64(struct d_file_extent_item, fe, num_bytes, len);
	if (ret == 0)
		ret = ctree_insert_item(w->t, root, &k, fe, FE);
	rk.bytenr = start;
	rk.type = BTRFS_EXTENT_DATA_REF_KEY;
	rk.root = root->objectid;
	rk.owner = ino;
	rk.offset = cs - ext_off;	/* the extent's start in the file */
	if (ret == 0)
		ret = delayed_ref_alloc(w->t, &rk, disk_len, 1, 0);
	if (ret)
		trans_abort(w->t, ret);
	return ret;
}

/* Write data (len bytes, sector multiple) at file cs: with grow, into
 * the extent ending there when it may grow (file_grow.c), else as a new
 * extent. *got is how much went in (less when space is fragmented). */
static int write_extent(struct wctx *w, struct ctree_root *root, u64 ino,
			u64 cs, const u8 *data, u64 len, int grow, u64 *got,
			u64 *freed)
{
	u64 start;
	int ret = grow ? file_grow_extent(w, root, ino, cs, data, len, got,
					  freed) : 1;

	if (ret <= 0)
		return ret;
	ret = extent_alloc_data(w->t, len, &start, got);
	if (ret)
		return ret;
	return file_insert_extent(w, root, ino, cs, start, *got, *got, 0, *got,
				  0, data, freed);
}

/* How one data change compresses what it writes. */
struct compress_ctl {
	struct fs_compress c;	/* type 0: write plain */
	u8 *buf;		/* COMPRESS_MAX_RAM bytes for the output */
	int gave_up;		/* data did not compress: the inode gets
				 * NOCOMPRESS (not under compress-force) */
};

/*
 * Write data (len bytes, sector multiple, at most COMPRESS_MAX_RAM) at
 * file cs as one compressed extent. Returns -E2BIG when it does not save
 * a sector, -ENOSPC when no free run holds it whole: the caller writes
 * it plain then.
 */
static int write_compressed(struct wctx *w, struct ctree_root *root,
			    u64 ino, u64 cs, const u8 *data, u64 len,
			    struct compress_ctl *cc, u64 *freed)
{
	u32 ss = w->fs->sectorsize;
	size_t clen = len - ss;
	u64 start, disk_len;
	int ret = compress_compress(cc->c.type, cc->c.level, data, len,
				    cc->buf, &clen, ss);

	if (ret)
		return ret;
	disk_len = (clen + ss - 1) & ~(u64)(ss - 1);
	memset(cc->buf + clen, 0, disk_len - clen);
	ret = extent_alloc_data_whole(w->t, disk_len, &start);
	if (ret)
		return ret;
	return file_insert_extent(w, root, ino, cs, start, disk_len, len,
				  cc->c.type, len, 0, cc->buf, freed);
}

/*
 * Write one piece (len bytes, sector multiple) at file cs: compressed
 * when cc says so and it pays, else plain (grow: write_extent's). *got is
 * how much went in.
 */
static int write_piece(struct wctx *w, struct ctree_root *root, u64 ino,
		       u64 cs, const u8 *data, u64 len,
		       struct compress_ctl *cc, int grow, u64 *got,
		       u64 *freed)
{
	int ret = -E2BIG;

	/* Like Linux, one sector alone is not worth compressing. */
	if (cc && cc->c.type && len > w->fs->sectorsize) {
		ret = write_compressed(w, root, ino, cs, data, len, cc, freed);
		if (ret == -E2BIG && !cc->c.force) {
			cc->gave_up = 1;
			cc->c.type = 0;
		}
	}
	if (ret == 0)
		*got = len;
	else if (ret == -E2BIG || ret == -ENOSPC)
		ret = write_extent(w, root, ino, cs, data, len, grow, got,
				   freed);
	return ret;
}

/* Copy the data of inline extent fe (size bytes) into a new buffer
 * *data of *len bytes, inflating it when compressed. */
int file_inline_data(struct fs_info *fs, const u8 *fe, u32 size, u8 **data,
		     u64 *len)
{
	u8 comp = D_GET8(struct d_file_extent_item, fe, compression);
	u32 n = size - BTRFS_FILE_EXTENT_INLINE_DATA_START;
	int ret = 0;

	*len = comp ? D_GET64(struct d_file_extent_item, fe, ram_bytes) : n;
	if (*len > COMPRESS_MAX_RAM)
		return -EUCLEAN;
	*data = kmalloc(*len + 1);
	if (!*data)
		return -ENOMEM;
	if (comp)
		ret = compress_decompress(comp, fe +
					  BTRFS_FILE_EXTENT_INLINE_DATA_START,
					  n, *data, *len, fs->sectorsize);
	else
		memcpy(*data, fe + BTRFS_FILE_EXTENT_INLINE_DATA_START, n);
	if (ret) {
		kfree(*data);
		*data = NULL;
	}
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
	int ret;

	*data = NULL;
	*len = 0;
	ctree_path_init(&p);
	ret = ctree_search_write(w->t, root, &k, &p, 0);
	if (ret == 0) {
		fe = ctree_item_ptr(&p, &size);
		if (D_GET8(struct d_file_extent_item, fe, type) !=
		    BTRFS_FILE_EXTENT_INLINE) {
			ctree_path_release(&p);
			return 0;
		}
		ret = file_inline_data(w->fs, fe, size, data, len);
		if (ret) {
			ctree_path_release(&p);
			return ret;
		}
		return ctree_del_item(w->t, root, &p);
	}
	ctree_path_release(&p);
	return ret == 1 ? 0 : ret;
}

/*
 * Copy piece [cs, ce) of the file into tmp: the new bytes [off, end) of
 * buf over the file's old bytes of the partial sectors at its ends (zero
 * past the end of file, size).
 */
static int fill_piece(struct wctx *w, struct ctree_root *root, u64 ino,
		      u64 size, u64 cs, u64 ce, u64 off, u64 end,
		      const u8 *buf, u8 *tmp)
{
	u64 from = off > cs ? off : cs, to = end < ce ? end : ce;
	size_t rd;
	int ret = 0;

	memset(tmp, 0, from - cs);
	memset(tmp + (to - cs), 0, ce - to);
	if ((cs < off || ce > end) && cs < size)
		ret = file_read(w->fs, (struct fs_ino){ root->objectid, ino },
				cs, tmp, ce - cs, &rd);
	memcpy(tmp + (from - cs), buf + (from - off), to - from);
	return ret;
}

/* Write [off, off + len) of ino, sector-aligned pieces of <= 1 MiB
 * (128 KiB when compressing, cc). A piece of whole sectors of buf is
 * written from buf; one with a partial sector is put together in a
 * buffer first (fill_piece). A piece after the first, or one that starts
 * at the end of file, may grow the extent before it: only appends look
 * for one (a random overwrite pays no lookup for it). *nbytes and *done
 * track the inode's bytes and what was written. */
static int write_range(struct wctx *w, struct ctree_root *root, u64 ino,
		       u64 size, u64 off, const u8 *buf, u64 len,
		       u64 *nbytes, u64 *done, struct compress_ctl *cc)
{
	u32 ss = w->fs->sectorsize;
	u64 cs = off & ~(u64)(ss - 1), end = off + len;
	u64 span = ((end + ss - 1) & ~(u64)(ss - 1)) - cs;
	int whole = off % ss == 0 && end % ss == 0;
	/* As big as one piece can be: a small write takes a small buffer
	 * (a 1 MiB one cost a 4 KiB write as much as its tree changes). */
	u8 *tmp = NULL;
	int ret = 0;

	if (!whole) {
		tmp = kmalloc(span < MAX_EXTENT ? span : MAX_EXTENT);
		ret = tmp ? 0 : -ENOMEM;
	}

	while (ret == 0 && cs < end) {
		u64 ce = (end + ss - 1) & ~(u64)(ss - 1), got = 0, freed = 0;
		u64 max = cc && cc->c.type ? COMPRESS_MAX_RAM : MAX_EXTENT;

		if (ce - cs > max)
			ce = cs + max;
		if (!whole)
			ret = fill_piece(w, root, ino, size, cs, ce, off, end,
					 buf, tmp);
		if (ret == 0)
			ret = write_piece(w, root, ino, cs,
					  whole ? buf + (cs - off) : tmp,
					  ce - cs, cc, cs > off || cs >= size,
					  &got, &freed);
		if (ret)
			break;
		*nbytes = *nbytes + got - freed;
		*done = cs + got > end ? end : cs + got;
		cs += got;
	}
	kfree(tmp);
	return ret;
}

/* write_range without compression, for the other writers of data. */
int file_write_range(struct wctx *w, struct ctree_root *root, u64 ino,
		     u64 size, u64 off, const u8 *buf, u64 len, u64 *nbytes,
		     u64 *done)
{
	return write_range(w, root, ino, size, off, buf, len, nbytes, done,
			   NULL);
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
int file_begin(struct wctx *w, struct fs_ino id, struct ctree_root **root,
	       u8 *ii, u64 *size, u64 *nbytes)
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
 * Set up cc for writing to inode ino of root, whose item is ii, as Linux
 * decides: never for an inode without data checksums or copy-on-write;
 * under compress-force always; else unless the inode is NOCOMPRESS. The
 * type is the inode's compression property's (compress_prop.c), else the
 * mount's, else zlib for a chattr +c inode; the level the mount's when
 * its type is the same.
 */
static int compress_begin(struct fs_info *fs, struct ctree_root *root,
			  u64 ino, const u8 *ii, struct compress_ctl *cc)
{
	u64 flags = D_GET64(struct d_inode_item, ii, flags);
	u8 prop;
	int ret = compress_prop_type(root, ino, &prop);

	memset(cc, 0, sizeof(*cc));
	if (ret)
		return ret;
	cc->c = fs->compress;
	if (prop && prop != cc->c.type) {
		cc->c.type = prop;
		cc->c.level = prop == BTRFS_COMPRESS_LZO ? 0 :
			      COMPRESS_LEVEL_DEFAULT;
	}
	if (!cc->c.type && (flags & BTRFS_INODE_COMPRESS))
		fs_compress_parse(NULL, 0, &cc->c);
	if ((flags & (BTRFS_INODE_NODATASUM | BTRFS_INODE_NODATACOW)) ||
	    ((flags & BTRFS_INODE_NOCOMPRESS) && !cc->c.force))
		cc->c.type = 0;
	if (!cc->c.type)
		return 0;
	cc->buf = kmalloc(COMPRESS_MAX_RAM);
	return cc->buf ? 0 : -ENOMEM;
}

/*
 * Reserve the write of *len bytes at off into subvolume subvol against
 * its quota limits (qgroup_limit.c): its sector-aligned span and a tree
 * block. All of it, or (last) as much as fits, *len shrunk to that;
 * *rsv what was reserved. Returns 0, -EDQUOT (not a sector fits) or <0.
 */
static int write_reserve(struct fs_info *fs, u64 subvol, u64 off,
			 size_t *len, int last, u64 *rsv)
{
	u64 ss = fs->sectorsize, ns = fs->nodesize;
	u64 cs = off & ~(ss - 1), ce = (off + *len + ss - 1) & ~(ss - 1);
	int ret = qgroup_reserve_upto(fs, subvol, ce - cs + ns,
				      last ? ns + ss : ce - cs + ns, rsv);

	if (ret == 0 && *rsv < ce - cs + ns)
		*len = cs + ((*rsv - ns) & ~(ss - 1)) - off;
	return ret;
}

/* fs_write's change; last: the write may stop where the quota limits
 * say (else -EDQUOT when it does not fit whole). */
static int write_once(struct fs_info *fs, struct fs_ino ino, uint64_t off,
		      const void *buf, size_t len, int last)
{
	u8 ii[sizeof(struct d_inode_item)];
	struct ctree_root *root;
	struct compress_ctl cc = { 0 };
	struct wctx w;
	u64 size, nbytes, done = 0, rsv = 0, ss = fs->sectorsize;
	size_t want = len;
	int ret = wctx_begin_file(fs, &w, ino, 0), ret2;

	if (ret)
		return ret;
	ret = file_begin(&w, ino, &root, ii, &size, &nbytes);
	if (ret == 0 && len)
		ret = write_reserve(fs, ino.root, off, &len, last, &rsv);
	if (ret == 0)
		ret = compress_begin(fs, root, ino.ino, ii, &cc);
	if (ret)
		goto out;
	ret = file_convert_inline(&w, root, ino.ino, size, &nbytes);
	if (ret == 0 && len && off > size)	/* without NO_HOLES */
		ret = file_fill_holes(&w, root, ino.ino, size, off,
				      FILL_EXPAND);
	if (ret == 0 && len)
		ret = write_range(&w, root, ino.ino, size, off, buf, len,
				  &nbytes, &done, &cc);
	if (ret == 0 && len < want)
		ret = -EDQUOT;	/* the part that fits stays, as Linux */
	if (done > size)
		D_SET64(struct d_inode_item, ii, size, done);
	D_SET64(struct d_inode_item, ii, nbytes, nbytes);
	if (cc.gave_up)
		D_SET64(struct d_inode_item, ii, flags,
			D_GET64(struct d_inode_item, ii, flags) |
			BTRFS_INODE_NOCOMPRESS);
	inode_touch(&w, ii, 1);
	ret2 = inode_item_put(&w, root, ino.ino, ii);
	ret = ret ? ret : ret2;
out:
	if (rsv) {	/* give back the sectors not written */
		u64 used = done > off ? ((done + ss - 1) & ~(ss - 1)) -
					(off & ~(ss - 1)) + fs->nodesize : 0;

		qgroup_release(fs, ino.root, rsv > used ? rsv - used : 0, 0);
	}
	kfree(cc.buf);
	wctx_end(&w);
	return ret;
}

/*
 * Write len bytes of buf at byte off of regular file ino, growing it as
 * needed. On -ENOSPC, or -EDQUOT when a quota limit is reached, the part
 * written before stays (the file grows to its end). A write the limits
 * refuse is tried again after a commit, which counts what the running
 * transaction freed (as Linux's). Returns 0 or a negative errno.
 */
int fs_write(struct fs_info *fs, struct fs_ino ino, uint64_t off,
	     const void *buf, size_t len)
{
	int ret = write_once(fs, ino, off, buf, len, 0);

	if (ret == -EDQUOT) {
		ret = trans_commit(fs);
		if (ret == 0)
			ret = write_once(fs, ino, off, buf, len, 1);
	}
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
	} else if (ret == 0 && new_size > size) {	/* without NO_HOLES */
		ret = file_fill_holes(&w, root, ino.ino, size, new_size,
				      FILL_EXPAND);
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
	if (ret == 0)	/* without NO_HOLES */
		ret = file_fill_holes(&w, root, ino.ino, s, e, FILL_PUNCH);
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
