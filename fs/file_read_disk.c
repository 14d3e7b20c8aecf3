/*
 * Reading a file's disk extents for file.c, and checking what was read.
 *
 * Regular extents are read in whole sectors. The whole sectors of the
 * caller's buffer are read straight into it, as pieces of READ_PIECE
 * bytes with up to READ_DEPTH of them in flight, across the extents of a
 * leaf: while the disk reads the later pieces, of this extent and the
 * next ones, the first one's checksums are looked up and its sectors
 * checked, so the disk and the checksums (crc32c in software under TCG)
 * work at the same time. Pieces are finished in file order, and an
 * extent is judged (checksum failure reported, or moved: file.c) once
 * its last piece is, so an error names the first bad sector of the read.
 * Before the walk moves to another leaf, or reads an item another way,
 * every piece in flight is finished. A small-extent file (mkfs.btrfs
 * --rootdir writes 1 MiB extents) kept at most one extent in flight
 * before, and the CPU waited on the disk at each extent's start. Nothing
 * is read ahead past the caller's buffer, so each call starts with the
 * checksums waiting for the first piece and ends with the disk idle
 * while the last is checked: sequential readers read in large calls
 * (shell/cmd_fs.c: 8 MiB). A part that is not whole sectors of the
 * buffer (an unaligned start, the file's last sector) goes through a
 * bounce buffer, one request at a time. Each sector is
 * checked against the csum tree (unless the inode is NODATASUM); after an
 * error the caller's buffer holds undefined bytes. A bad sector is re-read
 * from the other copy when the chunk is DUP; if no copy matches, the read
 * fails with -EIO and an error naming the subvolume, inode and file
 * offset.
 */
#include <ghee/errno.h>

#include <ghee/log.h>

#include "csum.h"
#include "csum_type.h"
#include "file_read.h"
#include "fs_info.h"
#include "volumes.h"

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

/* Record a checksum failure of the sector at logical (file offset
 * file_off): missing, or want against got. */
static void note_bad(struct file_read *r, int missing, u64 file_off,
		     u64 logical, const u8 *want, const u8 *got)
{
	r->bad.set = 1;
	r->bad.missing = missing;
	r->bad.file_off = file_off;
	r->bad.logical = logical;
	if (!missing) {
		memcpy(r->bad.want, want, r->fs->csum_size);
		memcpy(r->bad.got, got, r->fs->csum_size);
	}
}

/* Log the recorded checksum failure. */
void read_report_bad(const struct file_read *r)
{
	char want_hex[2 * BTRFS_CSUM_SIZE + 1], got_hex[sizeof(want_hex)];

	if (r->bad.missing) {
		pr_err("subvolume %llu inode %llu offset %llu: no data "
		       "checksum for logical %llu",
		       (unsigned long long)r->ino.root,
		       (unsigned long long)r->ino.ino,
		       (unsigned long long)r->bad.file_off,
		       (unsigned long long)r->bad.logical);
		return;
	}
	csum_hex(r->bad.want, r->fs->csum_size, want_hex);
	csum_hex(r->bad.got, r->fs->csum_size, got_hex);
	pr_err("data checksum mismatch: subvolume %llu inode %llu offset "
	       "%llu (logical %llu): stored 0x%s, computed 0x%s",
	       (unsigned long long)r->ino.root, (unsigned long long)r->ino.ino,
	       (unsigned long long)r->bad.file_off,
	       (unsigned long long)r->bad.logical, want_hex, got_hex);
}

/* Sector i of the chunk at buf matched r->sums: hand its checksum to
 * the caller (fs_read_crcs) when the chunk lies in the caller's buffer,
 * read straight, not through the bounce or compressed buffers. */
static void note_crc(struct file_read *r, const u8 *buf, u32 i)
{
	u32 ss = r->fs->sectorsize;
	u64 at = (uintptr_t)buf - (uintptr_t)r->dst + (u64)i * ss;

	if (!r->crcs || (uintptr_t)buf < (uintptr_t)r->dst || at % ss ||
	    at / ss >= r->crcs->n)
		return;
	r->crcs->crc[at / ss] = get_le32(r->sums + (u64)i * r->fs->csum_size);
	r->crcs->have[at / ss] = 1;
}

/* Check the n sectors of the chunk read from logical into buf against
 * r->sums (csum_lookup filled them); a failure is recorded (note_bad),
 * not yet logged: the data may have moved. */
static int verify_chunk(struct file_read *r, u8 *buf, u64 logical, u32 n,
			u64 file_off)
{
	u32 ss = r->fs->sectorsize, cs = r->fs->csum_size, i;
	int copies = volumes_num_copies(r->fs, logical);

	for (i = 0; i < n; i++) {
		u8 got[BTRFS_CSUM_SIZE];

		if (!r->present[i]) {
			note_bad(r, 1, file_off + (u64)i * ss,
				 logical + (u64)i * ss, NULL, NULL);
			return -EIO;
		}
		csum_data(r->fs, buf + (u64)i * ss, ss, got);
		if (!memcmp(got, r->sums + (u64)i * cs, cs) ||
		    !repair_sector(r, buf, logical, i, copies)) {
			note_crc(r, buf, i);
			continue;
		}
		note_bad(r, 0, file_off + (u64)i * ss, logical + (u64)i * ss,
			 r->sums + (u64)i * cs, got);
		return -EIO;
	}
	return 0;
}

/*
 * Finish the read req of the n bytes (sector multiple, at most READ_CHUNK)
 * at logical into buf, started by volumes_read_start, and verify them:
 * the checksums are looked up while the disk reads. ret is the caller's
 * error so far: the read is still waited for (buf is in use), nothing
 * more is done.
 */
int read_finish_chunk(struct file_read *r, struct volumes_read_req *req,
		      u8 *buf, u64 logical, u32 n, u64 file_off, int ret)
{
	u32 ss = r->fs->sectorsize;
	int ret2;

	if (ret == 0 && r->datasum)
		ret = csum_lookup(r->fs, logical, n / ss, r->sums, r->present);
	ret2 = volumes_read_end(r->fs, req);
	ret = ret ? ret : ret2;
	if (ret == 0 && r->datasum)
		ret = verify_chunk(r, buf, logical, n / ss, file_off);
	return ret;
}

/*
 * Finish the oldest piece in flight: verify it and, when it is the last
 * of an item, judge the item (read_check_moved). 0, EXTENT_MOVED (the item's
 * key offset in r->moved_off) or <0. A piece without an item returns its
 * own result.
 */
static int piece_pop(struct file_read *r)
{
	struct read_piece *p = &r->ring[r->head];
	int ret;

	r->head = (r->head + 1) % READ_DEPTH;
	r->count--;
	r->item_ret = read_finish_chunk(r, &p->req, p->dst, p->logical,
					p->n, p->file_off, r->item_ret);
	if (p->item.fe && !p->last)
		return 0;
	ret = r->item_ret;
	r->item_ret = 0;
	if (!p->item.fe || ret == -ECANCELED)
		return ret;
	ret = read_check_moved(r, p->item.ext_off, p->item.fe, p->item.size,
			       ret);
	r->bad.set = 0;
	return ret;
}

/* Finish every piece in flight, in order. ret is the caller's failure
 * so far: after one (or the first of the pieces') the rest are only
 * waited for, as their buffers are in use. Returns the first failure. */
int read_pieces_finish(struct file_read *r, int ret)
{
	int ret2;

	while (r->count) {
		if (ret)
			r->item_ret = -ECANCELED;
		ret2 = piece_pop(r);
		if (ret == 0)
			ret = ret2;
	}
	r->item_ret = 0;
	return ret;
}

/* A piece of item could not be started (ret): judge the items before,
 * then this one, as if its read had failed. */
static int start_failed(struct file_read *r, const struct piece_item *item,
			int ret)
{
	int ret2 = read_pieces_finish(r, 0);

	return ret2 ? ret2 : read_check_moved(r, item->ext_off, item->fe,
					      item->size, ret);
}

/*
 * Start reading the len bytes (sector multiple) at logical straight into
 * dst, as pieces of READ_PIECE with up to READ_DEPTH of them in flight:
 * when the ring is full the oldest is finished first (piece_pop), so the
 * disk reads the later pieces, of this extent and the next ones, while
 * it is checked. item (or NULL) is judged after its last piece. 0, or
 * the failure of a finished piece (the caller then finishes the rest).
 */
int read_pieces(struct file_read *r, u64 logical, u64 len, u8 *dst,
		u64 file_off, const struct piece_item *item)
{
	u64 issued = 0;
	int ret = 0;

	while (ret == 0 && issued < len) {
		struct read_piece *p;
		u32 n = len - issued > READ_PIECE ? READ_PIECE :
			(u32)(len - issued);

		if (r->count == READ_DEPTH)
			ret = piece_pop(r);
		if (ret)
			break;
		p = &r->ring[(r->head + r->count) % READ_DEPTH];
		ret = volumes_read_start(r->fs, logical + issued, 0,
					 dst + issued, n, &p->req);
		if (ret && item)
			return start_failed(r, item, ret);
		if (ret)
			break;
		p->logical = logical + issued;
		p->n = n;
		p->dst = dst + issued;
		p->file_off = file_off + issued;
		issued += n;
		p->last = issued == len;
		p->item = item ? *item : (struct piece_item){ 0, NULL, 0 };
		r->count++;
	}
	return ret;
}

/*
 * Copy len bytes of the disk extent data at logical address `logical` into
 * dst. file_off is the file offset of `logical`, for messages. Whole
 * sectors go straight into dst (read_pieces); the bounce buffer takes the
 * rest.
 */
int read_disk(struct file_read *r, u64 logical, u64 len, u8 *dst,
	      u64 file_off)
{
	u32 ss = r->fs->sectorsize;

	while (len) {
		u64 start = logical & ~(u64)(ss - 1);
		u32 skip = (u32)(logical - start);
		u64 want = skip + len, whole = len & ~(u64)(ss - 1);
		u32 n = want > READ_CHUNK ? READ_CHUNK :
			(u32)((want + ss - 1) & ~(u64)(ss - 1));
		u64 take = n - skip < len ? n - skip : len;
		struct volumes_read_req req;
		int ret;

		if (skip == 0 && whole) {
			ret = read_pieces(r, logical, whole, dst, file_off,
					  NULL);
			ret = read_pieces_finish(r, ret);
			take = whole;
		} else {
			ret = volumes_read_start(r->fs, start, 0, r->bounce, n,
						 &req);
			if (ret == 0)
				ret = read_finish_chunk(r, &req, r->bounce,
							start, n,
							file_off - skip, 0);
			if (ret == 0)
				memcpy(dst, r->bounce + skip, take);
		}
		if (ret)
			return ret;
		dst += take;
		logical += take;
		file_off += take;
		len -= take;
	}
	return 0;
}
