/*
 * File data. A file's contents are described by its EXTENT_DATA items,
 * keyed (ino, EXTENT_DATA, file offset), each one of:
 *  - inline: the bytes sit in the item itself (small files, symlinks);
 *  - regular: file range [key.offset, +num_bytes) is the disk extent at
 *    disk_bytenr, starting `offset` bytes into it; disk_bytenr 0 is a hole;
 *  - preallocated: allocated but never written; reads as zeros.
 * Ranges no item covers are holes (always so with the NO_HOLES feature;
 * without it holes have explicit disk_bytenr == 0 items). Both read as
 * zeros: the walk zeroes the caller's bytes between one extent's data and
 * the next (zero_up_to), not the whole buffer first, so each byte is
 * written once.
 *
 * Regular extents are read in whole sectors, many requests in flight,
 * each sector checked against its checksum (file_read_disk.c).
 *
 * A compressed extent (compress.c) is read whole: its compressed bytes
 * (inline, or the disk extent's disk_num_bytes, checked against the csum
 * tree like any data) are inflated into the whole uncompressed extent of
 * ram_bytes, from which the item's offset and num_bytes take the file's
 * part (inflated straight into the caller's buffer when the file uses the
 * whole extent there). The disk extents of the next compressed items of
 * a leaf are read ahead, up to AHEAD_DEPTH in flight, so the disk reads
 * them while the one before is checked and inflated (one at a time, the
 * CPU sat idle for each request). Encrypted or otherwise encoded extents
 * give -EOPNOTSUPP.
 *
 * Data that moves under a read. A read holds ns_lock and the file's lock
 * for read, which keep out writes, truncates and dedupe of the file, but
 * not relocation (balance) or defrag: their commits repoint file extent
 * items at copies of the data and free the old extents, taking the old
 * checksums with them. So between finding an item (in a leaf copy) and
 * checking the data it names, the checksums may have gone (the reader
 * would say "no data checksum"), and once that commit is on disk the old
 * space may be reused (wrong checksums, or another file's bytes with
 * their own good checksums). Linux locks the inode's extent range while
 * relocation swaps the items; here relocation and defrag run inside a
 * commit (trans_sem for write), below ns_lock and the inode locks in the
 * lock order, so they cannot wait for readers without stalling every
 * reader for a whole group's copy. Instead a read notices the move and
 * reads again:
 *  - Each commit that repointed items at moved data bumps
 *    fs->extent_moves (transaction.c, trans->moved_data), in the same
 *    commit_root_sem write section that swaps the roots, before the space
 *    it freed can be reused. Its items were rewritten earlier in that
 *    commit, and the old checksums deleted after them.
 *  - The read takes the count (r->moves) before it searches each leaf.
 *    After reading an extent's data, a read that failed (checksum missing
 *    or wrong, no chunk, bad compressed data) or saw the count move looks
 *    the item up again (item_changed). If it changed, the walk searches
 *    again from that item; if the count moved by two or more, it does so
 *    without looking (one extent could have moved away and back).
 *  - With the count unmoved or moved once and the item unchanged, no
 *    commit repointed this item during the read, so its extent was never
 *    freed: good data stands, and a failure is real corruption, reported
 *    and returned as before (-EIO).
 * While a move commit runs, the old extent stays allocated (and its
 * data in place) until it ends, so a read of the old item in that time
 * is good data. Dedupe needs none of this: it repoints under ns_lock
 * for write. Each retry follows a move commit, so a read ends once moves
 * stop landing during it.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "compress.h"
#include "csum.h"
#include "csum_type.h"
#include "file_read.h"
#include "fs.h"
#include "fs_info.h"
#include "internal.h"
#include "subvol.h"
#include "volumes.h"

#define AHEAD_DEPTH 4		/* compressed extents read ahead */
#define S_IFMT_ 0170000
#define S_IFREG_ 0100000
#define S_IFDIR_ 0040000
#define S_IFLNK_ 0120000

/* The compressed disk extents of the leaf in hand read ahead (ahead_fill):
 * a ring of reads in flight, oldest first, each for one item. */
struct read_ahead {
	u32 next;		/* the next slot to look at */
	u32 head, count;	/* the ring */
	u32 slot[AHEAD_DEPTH];	/* the item each read is for */
	u8 *buf[AHEAD_DEPTH];	/* its bytes, COMPRESS_MAX_RAM each */
	struct volumes_read_req req[AHEAD_DEPTH];
};

/* Whether extent item fe is plain or compressed the ways btrfs defines
 * (not encrypted or otherwise encoded). */
static int encoding_known(const u8 *fe)
{
	return D_GET8(struct d_file_extent_item, fe, compression) <=
	       BTRFS_COMPRESS_ZSTD &&
	       !D_GET8(struct d_file_extent_item, fe, encryption) &&
	       !D_GET16(struct d_file_extent_item, fe, other_encoding);
}

/* Refuse encrypted or encoded extents, and compression types btrfs does
 * not define, with a clear message. */
static int check_encoding(const struct file_read *r, const u8 *fe, u64 off)
{
	u8 comp = D_GET8(struct d_file_extent_item, fe, compression);

	if (encoding_known(fe))
		return 0;
	pr_err("subvolume %llu inode %llu offset %llu: %s extent (compression "
	       "%u); encrypted, encoded or unknown compression is not "
	       "supported", (unsigned long long)r->ino.root,
	       (unsigned long long)r->ino.ino, (unsigned long long)off,
	       comp <= BTRFS_COMPRESS_ZSTD ? "encoded" : "unknown", comp);
	return -EOPNOTSUPP;
}

/* The disk extent (*disk, *d_len) of item fe (size bytes) when it is
 * a compressed one ahead_fill may read: 1, else 0 (read_extent finds
 * what is wrong with it, if anything). */
static int ahead_extent(const struct file_read *r, const u8 *fe, u32 size,
			u64 *disk, u64 *d_len)
{
	u32 ss = r->fs->sectorsize;

	if (size < sizeof(struct d_file_extent_item) ||
	    D_GET8(struct d_file_extent_item, fe, type) !=
	    BTRFS_FILE_EXTENT_REG ||
	    !D_GET8(struct d_file_extent_item, fe, compression) ||
	    !encoding_known(fe))
		return 0;
	*disk = D_GET64(struct d_file_extent_item, fe, disk_bytenr);
	*d_len = D_GET64(struct d_file_extent_item, fe, disk_num_bytes);
	return *disk && *d_len && *d_len <= COMPRESS_MAX_RAM &&
	       !(*disk % ss) && !(*d_len % ss);
}

/* Start reading the compressed disk extents of leaf's items from slot
 * cur on that overlap [off, off + len) of r->ino, until AHEAD_DEPTH are
 * in flight. An item it cannot start stays to read_extent. */
static void ahead_fill(struct file_read *r, const struct tree_block *leaf,
		       u32 cur, u64 off, u64 len)
{
	struct read_ahead *a = r->ahead;
	u32 s = a->next > cur ? a->next : cur, i, size;
	u64 disk, d_len;
	struct key k;
	const u8 *fe;

	for (; s < tb_nritems(leaf) && a->count < AHEAD_DEPTH; s++) {
		tb_item_key(leaf, s, &k);
		if (k.objectid != r->ino.ino ||
		    k.type != BTRFS_EXTENT_DATA_KEY || k.offset >= off + len)
			break;
		fe = tb_item_data(leaf, s);
		size = tb_item_size(leaf, s);
		if (!ahead_extent(r, fe, size, &disk, &d_len) ||
		    k.offset + D_GET64(struct d_file_extent_item, fe,
				       num_bytes) <= off)
			continue;
		i = (a->head + a->count) % AHEAD_DEPTH;
		if (!a->buf[i])
			a->buf[i] = kmalloc(COMPRESS_MAX_RAM);
		if (!a->buf[i] || volumes_read_start(r->fs, disk, 0, a->buf[i],
						     (u32)d_len, &a->req[i])) {
			s++;
			break;
		}
		a->slot[i] = s;
		a->count++;
	}
	a->next = s;
}

/* Wait for the oldest read ahead, dropping it; ret as read_finish_chunk. */
static int ahead_pop(struct file_read *r, u64 disk, u64 d_len, u64 ext_off,
		     int ret)
{
	struct read_ahead *a = r->ahead;
	u32 i = a->head;

	a->head = (a->head + 1) % AHEAD_DEPTH;
	a->count--;
	return read_finish_chunk(r, &a->req[i], a->buf[i], disk,
				 (u32)d_len, ext_off, ret);
}

/* Wait for every read ahead still in flight (a walk ends or fails). */
static void ahead_drain(struct file_read *r)
{
	while (r->ahead && r->ahead->count)
		ahead_pop(r, 0, 0, 0, -ECANCELED);
}

/* The compressed bytes of the item at slot (disk extent disk, d_len),
 * read and checked: *src the read ahead's buffer, or r->comp. */
static int read_compressed(struct file_read *r, u32 slot, u64 disk,
			   u64 d_len, u64 ext_off, const u8 **src)
{
	struct read_ahead *a = r->ahead;

	while (a && a->count && a->slot[a->head] < slot)
		ahead_pop(r, 0, 0, 0, -ECANCELED);	/* not used */
	if (a && a->count && a->slot[a->head] == slot) {
		*src = a->buf[a->head];
		return ahead_pop(r, disk, d_len, ext_off, 0);
	}
	if (!r->comp)
		r->comp = kmalloc(COMPRESS_MAX_RAM);
	if (!r->comp)
		return -ENOMEM;
	*src = r->comp;
	return read_disk(r, disk, d_len, r->comp, ext_off);
}

/*
 * Inflate a compressed extent, the item fe at slot, into dst (ram bytes,
 * the extent's ram_bytes): its d_len bytes are inline in the item or the
 * disk extent at disk. ext_off is the item's file offset, for messages.
 */
static int inflate_extent(struct file_read *r, const u8 *fe, u32 slot,
			  u64 disk, u64 d_len, u64 ram, u64 ext_off, u8 *dst)
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
	if (D_GET8(struct d_file_extent_item, fe, type) ==
	    BTRFS_FILE_EXTENT_INLINE)
		src = fe + BTRFS_FILE_EXTENT_INLINE_DATA_START;
	else if ((ret = read_compressed(r, slot, disk, d_len, ext_off, &src)))
		return ret;
	ret = compress_decompress(comp, src, d_len, dst, ram,
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

/* Whether item (ext_off, fe of size bytes) of r->ino differs now, in the
 * current tree, from the copy read: 1 changed or gone, 0 the same, <0. */
static int item_changed(struct file_read *r, u64 ext_off, const u8 *fe,
			u32 size)
{
	struct key k = { r->ino.ino, BTRFS_EXTENT_DATA_KEY, ext_off }, got;
	struct ctree_path p;
	const u8 *now;
	u32 now_size;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_ge(r->root, &k, &p);
	if (ret == 0) {
		ctree_item_key(&p, &got);
		now = ctree_item_ptr(&p, &now_size);
		ret = key_cmp(&got, &k) || now_size != size ||
		      memcmp(now, fe, size);
	}
	ctree_path_release(&p);
	return ret;
}

/*
 * Judge the read of the disk extent of item (ext_off, fe of size bytes)
 * that ended with ret (the file comment, "Data that moves under a
 * read"): EXTENT_MOVED when the item was repointed meanwhile and must be
 * read again, else ret (a failure logged).
 */
int read_check_moved(struct file_read *r, u64 ext_off, const u8 *fe,
		     u32 size, int ret)
{
	u64 now = __atomic_load_n(&r->fs->extent_moves, __ATOMIC_ACQUIRE);
	int moved;

	if (ret == 0 && now == r->moves)
		return 0;
	moved = now - r->moves > 1 ? 1 : item_changed(r, ext_off, fe, size);
	if (moved < 0)
		return moved;
	if (moved) {
		r->moved_off = ext_off;
		return EXTENT_MOVED;
	}
	if (ret == -EIO && r->bad.set)
		read_report_bad(r);
	return ret;
}

/* Zero the caller's bytes (buf maps file offset off) from r->filled up
 * to file offset to, a hole or the end of the read, and mark them
 * filled. */
static void zero_up_to(struct file_read *r, u8 *buf, u64 off, u64 to)
{
	if (to <= r->filled)
		return;
	memset(buf + (r->filled - off), 0, to - r->filled);
	r->filled = to;
}

/*
 * Copy the part of one extent item (key offset ext_off, body fe of size
 * bytes, at slot of its leaf) that overlaps [off, off + len) into buf
 * (which maps file offset off). 0, EXTENT_MOVED (read_check_moved) or <0.
 */
static int read_extent(struct file_read *r, u32 slot, u64 ext_off,
		       const u8 *fe, u32 size, u64 off, u64 len, u8 *buf)
{
	u8 type = D_GET8(struct d_file_extent_item, fe, type);
	u8 comp = D_GET8(struct d_file_extent_item, fe, compression);
	u32 ss = r->fs->sectorsize;
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
		return 0;	/* zeros: the next zero_up_to writes them */
	zero_up_to(r, buf, off, from);
	if (to > r->filled)
		r->filled = to;
	if (!comp && type != BTRFS_FILE_EXTENT_INLINE &&
	    (disk + d_off + (from - ext_off)) % ss == 0 && (to - from) % ss == 0) {
		struct piece_item item = { ext_off, fe, size };

		return read_pieces(r, disk + d_off + (from - ext_off),
				   to - from, buf + (from - off), from, &item);
	}
	/* The rest is read here and now: the items before are judged
	 * first, in file order. */
	ret = read_pieces_finish(r, 0);
	if (ret)
		return ret;
	r->bad.set = 0;
	if (comp) {
		u64 whole = type == BTRFS_FILE_EXTENT_INLINE ? n : ram;
		u8 *dst = buf + (from - off);

		/* Only part of the extent is wanted: inflate it aside. */
		if (d_off || from != ext_off || to - from != whole) {
			if (!r->ram)
				r->ram = kmalloc(COMPRESS_MAX_RAM);
			if (!r->ram)
				return -ENOMEM;
			dst = r->ram;
		}
		ret = inflate_extent(r, fe, slot, disk, d_len, whole, ext_off,
				     dst);
		if (ret == 0 && dst == r->ram)
			memcpy(buf + (from - off),
			       r->ram + d_off + (from - ext_off), to - from);
	} else if (type == BTRFS_FILE_EXTENT_INLINE) {
		memcpy(buf + (from - off), fe + BTRFS_FILE_EXTENT_INLINE_DATA_START
		       + (from - ext_off), to - from);
	} else {
		ret = read_disk(r, disk + d_off + (from - ext_off), to - from,
				buf + (from - off), from);
	}
	if (type == BTRFS_FILE_EXTENT_INLINE)
		return ret;	/* the bytes were in the leaf copy */
	return read_check_moved(r, ext_off, fe, size, ret);
}

/*
 * Read the extent items of leaf from slot on that overlap [off, off + len)
 * of r->ino. *k is left at the last key looked at. 0 to go on with the
 * next leaf, 1 when past the range, EXTENT_MOVED (*k's item), or <0.
 */
static int read_leaf(struct file_read *r, const struct tree_block *leaf,
		     u32 slot, struct key *k, u64 off, u64 len, u8 *buf)
{
	const u8 *fe;
	u64 disk, d_len;
	u32 size;
	int ret = 0, ret2;

	if (r->ahead)
		r->ahead->next = slot;
	for (; ret == 0 && slot < tb_nritems(leaf); slot++) {
		tb_item_key(leaf, slot, k);
		if (k->objectid != r->ino.ino ||
		    k->type != BTRFS_EXTENT_DATA_KEY || k->offset >= off + len)
			ret = 1;
		fe = tb_item_data(leaf, slot);
		size = tb_item_size(leaf, slot);
		if (ret == 0 && !r->ahead &&
		    ahead_extent(r, fe, size, &disk, &d_len)) {
			r->ahead = kzalloc(sizeof(*r->ahead));
			if (!r->ahead)
				ret = -ENOMEM;
		}
		if (ret == 0 && r->ahead)
			ahead_fill(r, leaf, slot, off, len);
		if (ret == 0)
			ret = read_extent(r, slot, k->offset, fe, size, off,
					  len, buf);
	}
	/* The pieces' items are in this leaf: judge them now (1 is no
	 * failure: past the range). */
	ret2 = read_pieces_finish(r, ret == 1 ? 0 : ret);
	ret = ret2 ? ret2 : ret;
	ahead_drain(r);
	return ret;
}

/* Take the move count before searching a leaf (read_check_moved). */
static void note_moves(struct file_read *r)
{
	r->moves = __atomic_load_n(&r->fs->extent_moves, __ATOMIC_ACQUIRE);
}

/*
 * Walk the extent items overlapping [*pos, off + len) of r->ino (buf maps
 * file offset off). Each leaf is read from a private copy, with the path
 * released: no tree lock is held across the data reads and checksum
 * lookups, so writers of this tree do not wait for them, and no search
 * of the checksum tree nests in a path of this one. 0, EXTENT_MOVED
 * with *pos where to walk again from, or <0.
 */
static int walk_extents(struct file_read *r, u64 *pos, u64 off, u64 len,
			u8 *buf)
{
	const struct ctree_root *root = r->root;
	struct key k = { r->ino.ino, BTRFS_EXTENT_DATA_KEY, *pos };
	struct ctree_path path;
	struct tree_block *leaf;
	int ret;
	u32 slot;

	ctree_path_init(&path);
	note_moves(r);
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
			note_moves(r);
			ret = ctree_search_ge(root, &k, &path);
		}
	}
	ctree_path_release(&path);
	if (ret == EXTENT_MOVED)
		*pos = r->moved_off > off ? r->moved_off : off;
	return ret < 0 || ret == EXTENT_MOVED ? ret : 0;
}

/* Read the extents overlapping [off, off + len) into buf, holes as
 * zeros, walking again from an extent that moved under the read (its
 * bytes, and anything after them, written again). */
static int read_extents(struct file_read *r, u64 off, u64 len, u8 *buf)
{
	u64 pos = off;
	int ret;

	r->filled = off;
	while ((ret = walk_extents(r, &pos, off, len, buf)) == EXTENT_MOVED) {
		if (r->filled > pos)
			r->filled = pos;
		if (r->crcs)	/* bytes it noted may be read again */
			memset(r->crcs->have, 0, r->crcs->n);
	}
	if (ret == 0)
		zero_up_to(r, buf, off, off + len);
	return ret;
}

/* Set up r for reading inode ino (its data checksums checked when
 * datasum). 0 or -ENOMEM; file_read_free after, either way. */
static int file_read_init(struct file_read *r, struct fs_info *fs,
			  struct fs_ino ino, int datasum)
{
	u32 nsec = READ_CHUNK / fs->sectorsize;

	memset(r, 0, sizeof(*r));
	r->fs = fs;
	r->ino = ino;
	r->datasum = datasum;
	r->bounce = kmalloc(READ_CHUNK);
	r->ring = kmalloc(READ_DEPTH * sizeof(*r->ring));
	r->sums = kmalloc(nsec * fs->csum_size);
	r->present = kmalloc(nsec);
	return r->bounce && r->ring && r->sums && r->present ? 0 : -ENOMEM;
}

static void file_read_free(struct file_read *r)
{
	u32 i;

	kfree(r->bounce);
	kfree(r->ring);
	kfree(r->sums);
	kfree(r->present);
	kfree(r->comp);
	kfree(r->ram);
	for (i = 0; r->ahead && i < AHEAD_DEPTH; i++)
		kfree(r->ahead->buf[i]);
	kfree(r->ahead);
}

/* Read up to len bytes at off into buf; the checksums of its sectors
 * into crcs (fs_read_crcs) when not NULL. */
static int read_range(struct fs_info *fs, struct fs_ino ino,
		      const struct fs_stat *st, u64 off, u64 len, u8 *buf,
		      struct fs_read_crcs *crcs)
{
	const struct subvol_root *sv;
	struct file_read r;
	int ret;

	ret = subvol_get(fs, ino.root, &sv);
	if (ret)
		return ret;
	ret = file_read_init(&r, fs, ino,
			     !(st->flags & BTRFS_INODE_NODATASUM));
	r.root = &sv->root;
	r.crcs = crcs;
	r.dst = buf;
	if (ret == 0)
		ret = read_extents(&r, off, len, buf);
	file_read_free(&r);
	return ret;
}

/*
 * Read len bytes of disk extent data at logical, as stored (compressed
 * or not), into dst: the bytes of inode ino at file offset file_off (for
 * messages), checked against their checksums when datasum, a bad copy
 * repaired from another as fs_read does. For encoded reads
 * (file_encoded.c).
 */
int file_read_stored(struct fs_info *fs, struct fs_ino ino, int datasum,
		     u64 logical, u64 len, u8 *dst, u64 file_off)
{
	struct file_read r;
	int ret = file_read_init(&r, fs, ino, datasum);

	if (ret == 0)
		ret = read_disk(&r, logical, len, dst, file_off);
	if (ret == -EIO && r.bad.set)
		read_report_bad(&r);
	file_read_free(&r);
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
	return file_read_crcs(fs, ino, off, buf, len, done, NULL);
}

/* file_read, and the checksums of the sectors it verified into out (when
 * not NULL; fs_read_crcs). */
int file_read_crcs(struct fs_info *fs, struct fs_ino ino, uint64_t off,
		   void *buf, size_t len, size_t *done,
		   struct fs_read_crcs *out)
{
	struct fs_stat st;
	int ret;

	*done = 0;
	if (out)
		memset(out->have, 0, out->n);
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
	if (fs->csum_type != BTRFS_CSUM_TYPE_CRC32 || fs->sectorsize != 4096)
		out = NULL;
	ret = read_range(fs, ino, &st, off, len, buf, out);
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
	ret = read_range(fs, ino, &st, 0, n, (u8 *)buf, NULL);
	if (ret == 0)
		*done = (size_t)n;
	return ret;
}

/* fs_read and fs_readlink: the calls above under ns_lock held for read
 * and the inode's lock held for read, so a read sees every data change
 * of the file whole (file_write.c) and no unlink evicts the inode under
 * it (the symlink's size read, then its target gone). */
int fs_read_crcs(struct fs_info *fs, struct fs_ino ino, uint64_t off,
		 void *buf, size_t len, size_t *done,
		 struct fs_read_crcs *out)
{
	struct rwsem *il = inode_lock(fs, ino);
	int ret;

	down_read(&fs->ns_lock);
	down_read(il);
	ret = file_read_crcs(fs, ino, off, buf, len, done, out);
	up_read(il);
	up_read(&fs->ns_lock);
	return ret;
}

int fs_read(struct fs_info *fs, struct fs_ino ino, uint64_t off, void *buf,
	    size_t len, size_t *done)
{
	return fs_read_crcs(fs, ino, off, buf, len, done, NULL);
}

int fs_readlink(struct fs_info *fs, struct fs_ino ino, char *buf, size_t len,
		size_t *done)
{
	struct rwsem *il = inode_lock(fs, ino);
	int ret;

	down_read(&fs->ns_lock);
	down_read(il);
	ret = file_readlink(fs, ino, buf, len, done);
	up_read(il);
	up_read(&fs->ns_lock);
	return ret;
}
