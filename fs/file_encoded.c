/*
 * Encoded file I/O: a compressed extent read and written as it is
 * stored, without inflating it (Linux's BTRFS_IOC_ENCODED_READ and
 * _WRITE), for send's ENCODED_WRITE and receive's applying of it.
 *
 * An encoded extent is its stored bytes (compressed with one of btrfs's
 * codecs, compress.c) and how the file uses them (struct fs_encoded):
 * the bytes inflate to unencoded_len bytes, of which the file shows len
 * from unencoded_offset on.
 *
 * A write takes the stored bytes as they are: it allocates an extent of
 * the bytes rounded up to whole sectors (zero padded), checksums them,
 * and points a new file extent item at it (file_write.c's
 * file_insert_extent), under the same locks and quota reservation as
 * fs_write. It refuses what Linux's encoded write refuses, with -EINVAL,
 * so that the caller falls back to inflating and writing (as btrfs
 * receive does): a bad codec, data not smaller than what it inflates to,
 * a range outside it, an offset or (before the end of file) an end not
 * on a sector boundary, an extent over 128 KiB. It never makes an inline
 * extent: a small file gets a regular one.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/sync.h>

#include "compress.h"
#include "extent_tree.h"
#include "fs_info.h"
#include "internal.h"
#include "qgroup.h"
#include "subvol.h"
#include "write_common.h"

#define FE_INLINE BTRFS_FILE_EXTENT_INLINE_DATA_START

/* Copy the stored bytes of the extent item fe (size bytes, at file
 * offset ext_off of ino) into buf; *len their count. */
static int read_stored(struct fs_info *fs, struct fs_ino ino, u64 ext_off,
		       const u8 *fe, u32 size, void *buf, size_t cap,
		       size_t *len)
{
	struct fs_stat st;
	u64 disk, n;
	int ret;

	if (D_GET8(struct d_file_extent_item, fe, type) ==
	    BTRFS_FILE_EXTENT_INLINE) {
		n = size - FE_INLINE;
		if (n > cap)
			return -EOVERFLOW;
		memcpy(buf, fe + FE_INLINE, n);
		*len = n;
		return 0;
	}
	disk = D_GET64(struct d_file_extent_item, fe, disk_bytenr);
	n = D_GET64(struct d_file_extent_item, fe, disk_num_bytes);
	if (n > cap)
		return -EOVERFLOW;
	ret = inode_stat(fs, ino, &st);
	if (ret == 0)
		ret = file_read_stored(fs, ino,
				       !(st.flags & BTRFS_INODE_NODATASUM),
				       disk, n, buf, ext_off);
	if (ret == 0)
		*len = n;
	return ret;
}

/*
 * Read the stored bytes of the compressed extent item of regular file
 * ino at file offset ext_off (its key's offset) into buf (cap bytes);
 * *len is their count. Returns 0, -ENOENT (no item there), -EINVAL (not
 * a compressed extent), -EOVERFLOW (more than cap), -EIO (checksum or
 * device), -EUCLEAN, -ENOMEM.
 */
int fs_read_encoded(struct fs_info *fs, struct fs_ino ino, uint64_t ext_off,
		    void *buf, size_t cap, size_t *len)
{
	struct key k = { ino.ino, BTRFS_EXTENT_DATA_KEY, ext_off };
	const struct subvol_root *sv;
	struct rwsem *il = inode_lock(fs, ino);
	struct ctree_path p;
	u32 size = 0;
	u8 *fe = kmalloc(fs->nodesize);
	int ret;

	*len = 0;
	if (!fe)
		return -ENOMEM;
	down_read(&fs->ns_lock);
	down_read(il);
	ret = subvol_get(fs, ino.root, &sv);
	ctree_path_init(&p);
	if (ret == 0)
		ret = ctree_lookup(&sv->root, &k, &p);
	if (ret == 0) {
		const u8 *item = ctree_item_ptr(&p, &size);

		if (size > fs->nodesize || size < FE_INLINE)
			ret = -EUCLEAN;
		else
			memcpy(fe, item, size);
	}
	ctree_path_release(&p);
	if (ret == 0 &&
	    (!D_GET8(struct d_file_extent_item, fe, compression) ||
	     (D_GET8(struct d_file_extent_item, fe, type) !=
	      BTRFS_FILE_EXTENT_INLINE &&
	      (size < sizeof(struct d_file_extent_item) ||
	       D_GET8(struct d_file_extent_item, fe, type) !=
	       BTRFS_FILE_EXTENT_REG ||
	       !D_GET64(struct d_file_extent_item, fe, disk_bytenr)))))
		ret = -EINVAL;
	if (ret == 0)
		ret = read_stored(fs, ino, ext_off, fe, size, buf, cap, len);
	up_read(il);
	up_read(&fs->ns_lock);
	kfree(fe);
	return ret;
}

static u64 round_up(u64 v, u32 ss)
{
	return (v + ss - 1) & ~(u64)(ss - 1);
}

/* Whether an encoded write of len stored bytes at off, into a file of
 * size bytes, is one Linux's encoded write takes. */
static int acceptable(const struct fs_info *fs, u64 off, size_t len,
		      const struct fs_encoded *e, u64 size)
{
	u32 ss = fs->sectorsize;

	if (e->compression < BTRFS_COMPRESS_ZLIB ||
	    e->compression > BTRFS_COMPRESS_ZSTD)
		return 0;
	if (!len || len > COMPRESS_MAX_RAM || !e->len ||
	    e->unencoded_len > COMPRESS_MAX_RAM || len >= e->unencoded_len)
		return 0;
	if (e->unencoded_offset > e->unencoded_len ||
	    e->len > e->unencoded_len - e->unencoded_offset)
		return 0;
	if (off % ss || e->unencoded_offset % ss || off + e->len < off)
		return 0;
	return off + e->len >= size || (off + e->len) % ss == 0;
}

/* fs_write_encoded's change, with the data padded to whole sectors in
 * disk (disk_len bytes). */
static int write_encoded(struct fs_info *fs, struct fs_ino ino, u64 off,
			 const u8 *disk, size_t len, u64 disk_len,
			 const struct fs_encoded *e)
{
	u8 ii[sizeof(struct d_inode_item)];
	struct ctree_root *root;
	struct wctx w;
	u32 ss = fs->sectorsize;
	u64 size, nbytes, freed = 0, start, rsv = 0;
	u64 num = round_up(e->len, ss);
	int ret = wctx_begin_file(fs, &w, ino, 0), ret2;

	if (ret)
		return ret;
	ret = file_begin(&w, ino, &root, ii, &size, &nbytes);
	if (ret == 0 && !acceptable(fs, off, len, e, size))
		ret = -EINVAL;
	if (ret == 0)
		ret = qgroup_reserve_upto(fs, ino.root, num + fs->nodesize,
					  num + fs->nodesize, &rsv);
	if (ret)
		goto out;
	ret = file_convert_inline(&w, root, ino.ino, size, &nbytes);
	if (ret == 0)
		ret = extent_alloc_data_whole(w.t, disk_len, &start);
	if (ret == 0)
		ret = file_insert_extent(&w, root, ino.ino, off, start,
					 disk_len, num, e->compression,
					 round_up(e->unencoded_len, ss),
					 e->unencoded_offset, disk, &freed);
	if (ret == 0) {
		nbytes = nbytes + num - freed;
		if (off + e->len > size)
			D_SET64(struct d_inode_item, ii, size, off + e->len);
		D_SET64(struct d_inode_item, ii, nbytes, nbytes);
		inode_touch(&w, ii, 1);
		ret2 = inode_item_put(&w, root, ino.ino, ii);
		ret = ret ? ret : ret2;
	} else if (rsv) {
		qgroup_release(fs, ino.root, rsv, 0);
	}
out:
	wctx_end(&w);
	return ret;
}

/*
 * Write len stored bytes of data (compressed as e says) at byte off of
 * regular file ino as one extent, as they are; see the top of this file.
 * Returns 0, -EINVAL (not an extent Linux's encoded write takes: the
 * caller inflates and writes), -ENOSPC (no free run holds it whole),
 * -EDQUOT, or <0 as fs_write.
 */
int fs_write_encoded(struct fs_info *fs, struct fs_ino ino, uint64_t off,
		     const void *data, size_t len,
		     const struct fs_encoded *e)
{
	u64 disk_len = round_up(len, fs->sectorsize);
	u8 *disk;
	int ret;

	if (!len || len > COMPRESS_MAX_RAM)
		return -EINVAL;
	disk = kzalloc(disk_len);
	if (!disk)
		return -ENOMEM;
	memcpy(disk, data, len);
	ret = write_encoded(fs, ino, off, disk, len, disk_len, e);
	kfree(disk);
	return ret;
}
