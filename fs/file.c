/*
 * File data. A file's contents are described by its EXTENT_DATA items,
 * keyed (ino, EXTENT_DATA, file offset), each one of:
 *  - inline: the bytes sit in the item itself (small files, symlinks);
 *  - regular: file range [key.offset, +num_bytes) is the disk extent at
 *    disk_bytenr, starting `offset` bytes into it; disk_bytenr 0 is a hole;
 *  - preallocated: allocated but never written; reads as zeros.
 * Ranges no item covers are holes (always so with the NO_HOLES feature;
 * without it holes have explicit disk_bytenr == 0 items). Both read as
 * zeros, so fs_read() zero-fills the buffer and then copies each extent in.
 *
 * Regular extents are read a sector-aligned chunk at a time (up to 1 MiB,
 * one request; its checksums are looked up while the disk reads it),
 * straight into the caller's buffer when the chunk is whole sectors of it,
 * else into a bounce buffer, and each sector is checked against the csum
 * tree (unless the inode is NODATASUM); after an error the caller's buffer
 * holds undefined bytes. A bad sector is re-read from the other copy when
 * the chunk is DUP; if no copy matches, the read fails with -EIO and an
 * error naming the subvolume, inode and file offset.
 *
 * A compressed extent (compress.c) is read whole: its compressed bytes
 * (inline, or the disk extent's disk_num_bytes, checked against the csum
 * tree like any data) are inflated into the whole uncompressed extent of
 * ram_bytes, from which the item's offset and num_bytes take the file's
 * part. Encrypted or otherwise encoded extents give -EOPNOTSUPP.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "compress.h"
#include "csum.h"
#include "csum_type.h"
#include "fs.h"
#include "fs_info.h"
#include "internal.h"
#include "subvol.h"
#include "volumes.h"

#define READ_CHUNK (1024u * 1024)	/* bounce buffer bytes */
#define S_IFMT_ 0170000
#define S_IFREG_ 0100000
#define S_IFDIR_ 0040000
#define S_IFLNK_ 0120000

/* One fs_read call in progress. */
struct file_read {
	struct fs_info *fs;
	struct fs_ino ino;
	int datasum;		/* verify data checksums */
	u8 *bounce;		/* READ_CHUNK bytes */
	u8 *sums;		/* expected csum per bounce sector,
				 * fs->csum_size bytes each */
	u8 *present;		/* sums[i] valid */
	u8 *comp;		/* compressed bytes of one extent,
				 * COMPRESS_MAX_RAM; allocated at the first
				 * compressed extent */
	u8 *ram;		/* its uncompressed bytes, COMPRESS_MAX_RAM */
};

/* Re-read sector i of the chunk at logical (held at buf) from other
 * copies; 0 if good. */
static int repair_sector(struct file_read *r, u8 *buf, u64 logical, u32 i,
			 int copies)
{
	u32 ss = r->fs->sectorsize;
	u8 *sec = buf + (u64)i * ss;
	u8 got[BTRFS_CSUM_SIZE];
	int m;

	for (m = 1; m < copies; m++) {
		if (volumes_read(r->fs, logical + (u64)i * ss, m, sec, ss))
			continue;
		csum_data(r->fs, sec, ss, got);
		if (!memcmp(got, r->sums + (u64)i * r->fs->csum_size,
			    r->fs->csum_size)) {
			pr_warn("data at logical %llu: copy 1 bad, used copy "
				"%d", (unsigned long long)(logical +
							   (u64)i * ss), m + 1);
			return 0;
		}
	}
	return -EIO;
}

/* Check the n sectors of the chunk read from logical into buf against
 * r->sums (csum_lookup filled them). */
static int verify_chunk(struct file_read *r, u8 *buf, u64 logical, u32 n,
			u64 file_off)
{
	u32 ss = r->fs->sectorsize, cs = r->fs->csum_size, i;
	int copies = volumes_num_copies(r->fs, logical);

	for (i = 0; i < n; i++) {
		u8 got[BTRFS_CSUM_SIZE];
		char want_hex[2 * BTRFS_CSUM_SIZE + 1];
		char got_hex[sizeof(want_hex)];

		if (!r->present[i]) {
			pr_err("subvolume %llu inode %llu offset %llu: no data "
			       "checksum for logical %llu",
			       (unsigned long long)r->ino.root,
			       (unsigned long long)r->ino.ino,
			       (unsigned long long)(file_off + (u64)i * ss),
			       (unsigned long long)(logical + (u64)i * ss));
			return -EIO;
		}
		csum_data(r->fs, buf + (u64)i * ss, ss, got);
		if (!memcmp(got, r->sums + (u64)i * cs, cs) ||
		    !repair_sector(r, buf, logical, i, copies))
			continue;
		csum_hex(r->sums + (u64)i * cs, cs, want_hex);
		csum_hex(got, cs, got_hex);
		pr_err("data checksum mismatch: subvolume %llu inode %llu "
		       "offset %llu (logical %llu): stored 0x%s, computed "
		       "0x%s", (unsigned long long)r->ino.root,
		       (unsigned long long)r->ino.ino,
		       (unsigned long long)(file_off + (u64)i * ss),
		       (unsigned long long)(logical + (u64)i * ss),
		       want_hex, got_hex);
		return -EIO;
	}
	return 0;
}

/*
 * Read the n bytes (sector multiple, at most READ_CHUNK) at logical into
 * buf and verify them: the checksums are looked up while the disk reads.
 */
static int read_chunk(struct file_read *r, u8 *buf, u64 logical, u32 n,
		      u64 file_off)
{
	struct volumes_read_req req;
	u32 ss = r->fs->sectorsize;
	int ret = volumes_read_start(r->fs, logical, 0, buf, n, &req), ret2;

	if (ret)
		return ret;
	if (r->datasum)
		ret = csum_lookup(r->fs, logical, n / ss, r->sums, r->present);
	ret2 = volumes_read_end(r->fs, &req);	/* always: buf is in use */
	ret = ret ? ret : ret2;
	if (ret == 0 && r->datasum)
		ret = verify_chunk(r, buf, logical, n / ss, file_off);
	return ret;
}

/*
 * Copy len bytes of the disk extent data at logical address `logical` into
 * dst. file_off is the file offset of `logical`, for messages. Whole
 * sectors go straight into dst; the bounce buffer takes the rest.
 */
static int read_disk(struct file_read *r, u64 logical, u64 len, u8 *dst,
		     u64 file_off)
{
	u32 ss = r->fs->sectorsize;

	while (len) {
		u64 start = logical & ~(u64)(ss - 1);
		u32 skip = (u32)(logical - start);
		u64 want = skip + len;
		u32 n = want > READ_CHUNK ? READ_CHUNK :
			(u32)((want + ss - 1) & ~(u64)(ss - 1));
		u32 take = n - skip < len ? n - skip : (u32)len;
		int direct = skip == 0 && take == n;
		int ret = read_chunk(r, direct ? dst : r->bounce, start, n,
				     file_off - skip);

		if (ret)
			return ret;
		if (!direct)
			memcpy(dst, r->bounce + skip, take);
		dst += take;
		logical += take;
		file_off += take;
		len -= take;
	}
	return 0;
}

/* Refuse encrypted or encoded extents, and compression types btrfs does
 * not define, with a clear message. */
static int check_encoding(const struct file_read *r, const u8 *fe, u64 off)
{
	u8 comp = D_GET8(struct d_file_extent_item, fe, compression);

	if (comp <= BTRFS_COMPRESS_ZSTD &&
	    !D_GET8(struct d_file_extent_item, fe, encryption) &&
	    !D_GET16(struct d_file_extent_item, fe, other_encoding))
		return 0;
	pr_err("subvolume %llu inode %llu offset %llu: %s extent (compression "
	       "%u); encrypted, encoded or unknown compression is not "
	       "supported", (unsigned long long)r->ino.root,
	       (unsigned long long)r->ino.ino, (unsigned long long)off,
	       comp <= BTRFS_COMPRESS_ZSTD ? "encoded" : "unknown", comp);
	return -EOPNOTSUPP;
}

/*
 * Inflate a compressed extent into r->ram: its d_len bytes are inline in
 * the item fe or the disk extent at disk.
 * ram is the extent's ram_bytes; ext_off the item's file offset, for
 * messages.
 */
static int inflate_extent(struct file_read *r, const u8 *fe, u64 disk,
			  u64 d_len, u64 ram, u64 ext_off)
{
	u8 comp = D_GET8(struct d_file_extent_item, fe, compression);
	const u8 *src;
	int ret;

	if (ram > COMPRESS_MAX_RAM || d_len > COMPRESS_MAX_RAM) {
		pr_err("subvolume %llu inode %llu offset %llu: compressed "
		       "extent of %llu bytes (%llu on disk) exceeds %u",
		       (unsigned long long)r->ino.root,
		       (unsigned long long)r->ino.ino,
		       (unsigned long long)ext_off, (unsigned long long)ram,
		       (unsigned long long)d_len, COMPRESS_MAX_RAM);
		return -EUCLEAN;
	}
	if (!r->comp)
		r->comp = kmalloc(COMPRESS_MAX_RAM);
	if (!r->ram)
		r->ram = kmalloc(COMPRESS_MAX_RAM);
	if (!r->comp || !r->ram)
		return -ENOMEM;
	src = r->comp;
	if (D_GET8(struct d_file_extent_item, fe, type) ==
	    BTRFS_FILE_EXTENT_INLINE)
		src = fe + BTRFS_FILE_EXTENT_INLINE_DATA_START;
	else if ((ret = read_disk(r, disk, d_len, r->comp, ext_off)))
		return ret;
	ret = compress_decompress(comp, src, d_len, r->ram, ram,
				  r->fs->sectorsize);
	if (ret == -EUCLEAN)
		pr_err("subvolume %llu inode %llu offset %llu: %s data does "
		       "not decompress", (unsigned long long)r->ino.root,
		       (unsigned long long)r->ino.ino,
		       (unsigned long long)ext_off, compress_name(comp));
	return ret;
}

/* Check that the item's range [d_off, +n) lies in its extent of d_len
 * bytes (disk bytes, or ram_bytes when compressed). */
static int check_range(const struct file_read *r, u64 ext_off, u64 d_off,
		       u64 n, u64 d_len)
{
	if (d_off <= d_len && n <= d_len - d_off)
		return 0;
	pr_err("subvolume %llu inode %llu offset %llu: extent range "
	       "%llu+%llu outside its extent of %llu",
	       (unsigned long long)r->ino.root, (unsigned long long)r->ino.ino,
	       (unsigned long long)ext_off, (unsigned long long)d_off,
	       (unsigned long long)n, (unsigned long long)d_len);
	return -EUCLEAN;
}

/*
 * Copy the part of one extent item (key offset ext_off, body fe of size
 * bytes) that overlaps [off, off + len) into buf (which maps file offset off).
 */
static int read_extent(struct file_read *r, u64 ext_off, const u8 *fe,
		       u32 size, u64 off, u64 len, u8 *buf)
{
	u8 type = D_GET8(struct d_file_extent_item, fe, type);
	u8 comp = D_GET8(struct d_file_extent_item, fe, compression);
	u64 n, d_off = 0, d_len = size - BTRFS_FILE_EXTENT_INLINE_DATA_START;
	u64 disk = 0, ram = 0, from, to;
	int ret = check_encoding(r, fe, ext_off);

	if (ret)
		return ret;
	if (type == BTRFS_FILE_EXTENT_INLINE) {
		n = comp ? D_GET64(struct d_file_extent_item, fe, ram_bytes)
			 : d_len;
	} else {
		n = D_GET64(struct d_file_extent_item, fe, num_bytes);
		d_off = D_GET64(struct d_file_extent_item, fe, offset);
		d_len = D_GET64(struct d_file_extent_item, fe, disk_num_bytes);
		disk = D_GET64(struct d_file_extent_item, fe, disk_bytenr);
		ram = D_GET64(struct d_file_extent_item, fe, ram_bytes);
		if (disk && (ret = check_range(r, ext_off, d_off, n,
					       comp ? ram : d_len)))
			return ret;
	}
	from = ext_off > off ? ext_off : off;
	to = ext_off + n < ext_off ? (u64)-1 : ext_off + n;
	if (to > off + len)
		to = off + len;
	if (from >= to)
		return 0;
	if (type != BTRFS_FILE_EXTENT_INLINE &&
	    (type == BTRFS_FILE_EXTENT_PREALLOC || disk == 0))
		return 0;	/* zeros, already in buf */
	if (comp) {
		ret = inflate_extent(r, fe, disk, d_len, type ==
				     BTRFS_FILE_EXTENT_INLINE ? n : ram,
				     ext_off);
		if (ret == 0)
			memcpy(buf + (from - off),
			       r->ram + d_off + (from - ext_off), to - from);
		return ret;
	}
	if (type == BTRFS_FILE_EXTENT_INLINE) {
		memcpy(buf + (from - off), fe + BTRFS_FILE_EXTENT_INLINE_DATA_START
		       + (from - ext_off), to - from);
		return 0;
	}
	return read_disk(r, disk + d_off + (from - ext_off), to - from,
			 buf + (from - off), from);
}

/*
 * Read the extent items of leaf from slot on that overlap [off, off + len)
 * of r->ino. *k is left at the last key looked at. 0 to go on with the
 * next leaf, 1 when past the range, or <0.
 */
static int read_leaf(struct file_read *r, const struct tree_block *leaf,
		     u32 slot, struct key *k, u64 off, u64 len, u8 *buf)
{
	for (; slot < tb_nritems(leaf); slot++) {
		int ret;

		tb_item_key(leaf, slot, k);
		if (k->objectid != r->ino.ino ||
		    k->type != BTRFS_EXTENT_DATA_KEY || k->offset >= off + len)
			return 1;
		ret = read_extent(r, k->offset, tb_item_data(leaf, slot),
				  tb_item_size(leaf, slot), off, len, buf);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Walk the extent items overlapping [off, off + len) of r->ino. Each leaf
 * is read from a private copy, with the path released: no tree lock is
 * held across the data reads and checksum lookups, so writers of this
 * tree do not wait for them, and no search of the checksum tree nests in
 * a path of this one.
 */
static int read_extents(struct file_read *r, const struct ctree_root *root,
			u64 off, u64 len, u8 *buf)
{
	struct key k = { r->ino.ino, BTRFS_EXTENT_DATA_KEY, off };
	struct ctree_path path;
	struct tree_block *leaf;
	int ret;
	u32 slot;

	ctree_path_init(&path);
	ret = ctree_search_le(root, &k, &path);
	if (ret == 0) {
		ctree_item_key(&path, &k);
		if (k.objectid != r->ino.ino || k.type != BTRFS_EXTENT_DATA_KEY)
			ret = ctree_next_item(&path);
	} else if (ret == 1) {
		ret = ctree_search_ge(root, &k, &path);
	}
	while (ret == 0) {
		ret = tree_block_clone(path.nodes[0], &leaf);
		slot = (u32)path.slots[0];
		ctree_path_release(&path);
		if (ret)
			break;
		ret = read_leaf(r, leaf, slot, &k, off, len, buf);
		tree_block_put(leaf);
		if (ret == 0 && k.offset == (u64)-1)
			ret = 1;
		if (ret == 0) {
			k.offset++;	/* the leaf's last item was ours */
			ret = ctree_search_ge(root, &k, &path);
		}
	}
	ctree_path_release(&path);
	return ret < 0 ? ret : 0;
}

/* Read up to len bytes at off into buf. */
static int read_range(struct fs_info *fs, struct fs_ino ino,
		      const struct fs_stat *st, u64 off, u64 len, u8 *buf)
{
	const struct subvol_root *sv;
	struct file_read r;
	u32 nsec = READ_CHUNK / fs->sectorsize;
	int ret;

	ret = subvol_get(fs, ino.root, &sv);
	if (ret)
		return ret;
	memset(&r, 0, sizeof(r));
	r.fs = fs;
	r.ino = ino;
	r.datasum = !(st->flags & BTRFS_INODE_NODATASUM);
	r.bounce = kmalloc(READ_CHUNK);
	r.sums = kmalloc(nsec * fs->csum_size);
	r.present = kmalloc(nsec);
	if (!r.bounce || !r.sums || !r.present)
		ret = -ENOMEM;
	else
		ret = read_extents(&r, &sv->root, off, len, buf);
	kfree(r.bounce);
	kfree(r.sums);
	kfree(r.present);
	kfree(r.comp);
	kfree(r.ram);
	return ret;
}

/*
 * Read up to len bytes from regular file ino at byte offset off. *done is
 * the bytes read: less than len only at end of file. Returns 0, -EISDIR,
 * -EINVAL (not a regular file), -EIO (device error or data checksum
 * mismatch), -EOPNOTSUPP (encrypted or encoded extent, or a metadata dump:
 * no file data), -EUCLEAN (corrupt metadata or compressed data), -ENOMEM.
 */
int file_read(struct fs_info *fs, struct fs_ino ino, uint64_t off, void *buf,
	      size_t len, size_t *done)
{
	struct fs_stat st;
	int ret;

	*done = 0;
	ret = inode_stat(fs, ino, &st);
	if (ret)
		return ret;
	if ((st.mode & S_IFMT_) == S_IFDIR_)
		return -EISDIR;
	if ((st.mode & S_IFMT_) != S_IFREG_)
		return -EINVAL;
	if (off >= st.size)
		return 0;
	if (len > st.size - off)
		len = (size_t)(st.size - off);
	if (fs->metadump) {
		pr_err("subvolume %llu inode %llu: no file data in a metadata "
		       "dump (btrfs-image)", (unsigned long long)ino.root,
		       (unsigned long long)ino.ino);
		return -EOPNOTSUPP;
	}
	memset(buf, 0, len);
	ret = read_range(fs, ino, &st, off, len, buf);
	if (ret == 0)
		*done = len;
	return ret;
}

/*
 * Read the target of symlink ino into buf (not NUL terminated; at most len
 * bytes). *done is its length. Returns 0, -EINVAL (not a symlink), -EUCLEAN.
 */
int file_readlink(struct fs_info *fs, struct fs_ino ino, char *buf,
		  size_t len, size_t *done)
{
	struct fs_stat st;
	u64 n;
	int ret;

	*done = 0;
	ret = inode_stat(fs, ino, &st);
	if (ret)
		return ret;
	if ((st.mode & S_IFMT_) != S_IFLNK_)
		return -EINVAL;
	n = st.size < len ? st.size : len;
	memset(buf, 0, n);
	ret = read_range(fs, ino, &st, 0, n, (u8 *)buf);
	if (ret == 0)
		*done = (size_t)n;
	return ret;
}

/* fs_read and fs_readlink: the calls above under ns_lock held for read;
 * a file read also holds its inode lock for read, so it sees every data
 * change of the file whole (file_write.c). */
int fs_read(struct fs_info *fs, struct fs_ino ino, uint64_t off, void *buf,
	    size_t len, size_t *done)
{
	struct rwsem *il = inode_lock(fs, ino);
	int ret;

	down_read(&fs->ns_lock);
	down_read(il);
	ret = file_read(fs, ino, off, buf, len, done);
	up_read(il);
	up_read(&fs->ns_lock);
	return ret;
}

int fs_readlink(struct fs_info *fs, struct fs_ino ino, char *buf, size_t len,
		size_t *done)
{
	int ret;

	down_read(&fs->ns_lock);
	ret = file_readlink(fs, ino, buf, len, done);
	up_read(&fs->ns_lock);
	return ret;
}
