/*
 * One read of a file's data in progress (file.c walks the items,
 * file_read_disk.c reads and checks the disk extents they name).
 */
#ifndef GHEE_FS_FILE_READ_H
#define GHEE_FS_FILE_READ_H

#include "internal.h"
#include "volumes.h"

#define READ_CHUNK (1024u * 1024)	/* bounce buffer bytes */
#define READ_PIECE (256u * 1024)	/* bytes per request read straight */
#define READ_DEPTH 16		/* of them in flight (4 MiB: the caller's
				 * buffer, no memory of ours) */
#define EXTENT_MOVED 2	/* read_extent: its item was repointed, read again */

/* A sector that failed its checksum, reported only once its extent is
 * known not to have moved (read_check_moved). */
struct bad_sector {
	int set;		/* a failure is recorded */
	int missing;		/* no checksum (else a mismatch) */
	u64 file_off, logical;	/* where */
	u8 want[BTRFS_CSUM_SIZE], got[BTRFS_CSUM_SIZE];	/* a mismatch */
};

/* The item a piece belongs to, checked (read_check_moved) once its last
 * piece is verified: the key offset and body in the leaf copy in hand. */
struct piece_item {
	u64 ext_off;
	const u8 *fe;
	u32 size;
};

/* A piece of read_pieces in flight: a request straight into the
 * caller's buffer. */
struct read_piece {
	struct volumes_read_req req;
	u64 logical, file_off;	/* where it reads from, for the file */
	u8 *dst;
	u32 n;			/* bytes */
	int last;		/* the last piece of its item */
	struct piece_item item;	/* fe NULL: none */
};

/* One fs_read call in progress. */
struct file_read {
	struct fs_info *fs;
	struct fs_ino ino;
	const struct ctree_root *root;	/* the file's tree */
	u64 moves;		/* fs->extent_moves before the leaf in hand
				 * was searched */
	u64 filled;		/* file offset: the caller's bytes before it
				 * hold data or zeros (zero_up_to) */
	struct bad_sector bad;	/* the last checksum failure */
	int datasum;		/* verify data checksums */
	u8 *bounce;		/* READ_CHUNK bytes */
	struct read_piece *ring;	/* READ_DEPTH pieces in flight, oldest
					 * at head (read_pieces) */
	u32 head, count;
	int item_ret;		/* the failure so far of the item whose
				 * pieces are at the head */
	u64 moved_off;		/* the key offset of the item piece_pop
				 * found moved */
	u8 *sums;		/* expected csum per sector of the chunk
				 * being checked, fs->csum_size bytes each */
	u8 *present;		/* sums[i] valid */
	u8 *comp;		/* compressed bytes of one extent,
				 * COMPRESS_MAX_RAM; allocated at the first
				 * compressed extent */
	u8 *ram;		/* its uncompressed bytes, COMPRESS_MAX_RAM */
	struct read_ahead *ahead;	/* allocated at the first compressed
					 * disk extent */
	struct fs_read_crcs *crcs;	/* fs_read_crcs's, or NULL */
	const u8 *dst;		/* the caller's buffer (crcs[0]'s sector) */
};

/* The calls between the two files: see each one's comment there. */
void read_report_bad(const struct file_read *r);
int read_finish_chunk(struct file_read *r, struct volumes_read_req *req,
		      u8 *buf, u64 logical, u32 n, u64 file_off, int ret);
int read_pieces_finish(struct file_read *r, int ret);
int read_pieces(struct file_read *r, u64 logical, u64 len, u8 *dst,
		u64 file_off, const struct piece_item *item);
int read_disk(struct file_read *r, u64 logical, u64 len, u8 *dst,
	      u64 file_off);
int read_check_moved(struct file_read *r, u64 ext_off, const u8 *fe,
		     u32 size, int ret);

#endif
