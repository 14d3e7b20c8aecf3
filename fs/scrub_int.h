/*
 * Scrub's state shared by its two files: scrub.c walks the copies of
 * every chunk and the extents in them; scrub_verify.c checks one tree
 * block or one piece of data in one copy and repairs it from another.
 */
#ifndef FS_SCRUB_INT_H
#define FS_SCRUB_INT_H

#include "commit_root.h"
#include "format.h"
#include "volumes.h"
#include "fs.h"

struct fs_info;

/* Bytes of data checked at once: Linux's stripe length (BTRFS_STRIPE_LEN). */
#define SCRUB_PIECE (64u * 1024)

/* One scrub run. Only the scrub's task touches it. */
struct scrub {
	struct fs_info *fs;
	const struct fs_scrub_args *a;
	struct fs_scrub_progress *p;	/* counts, shared with readers
					 * (atomic stores) */
	struct commit_reader r;		/* the commit read, per chunk copy */
	struct commit_tree extent_tree;	/* its extent tree */
	struct commit_tree csum_tree;	/* its csum tree; bytenr 0: none */
	struct chunk_mapping m;		/* the chunk scrubbed */
	int copy;			/* the copy of it scrubbed (stripe) */
	u8 *buf;			/* SCRUB_PIECE bytes: the copy read */
	u8 *good;			/* SCRUB_PIECE bytes: another copy */
	u8 *sums;			/* checksums of a piece's sectors */
	u8 *present;			/* which sectors have one */
	u64 limit_start_ns;		/* rate limit: when counting began */
	u64 limit_bytes;		/* rate limit: bytes read since */
};

/* Add n to a count readers may copy while the scrub runs. */
static inline void scrub_count(u64 *field, u64 n)
{
	__atomic_fetch_add(field, n, __ATOMIC_RELAXED);
}

/* Physical address of logical in the copy being scrubbed. */
static inline u64 scrub_phys(const struct scrub *s, int copy, u64 logical)
{
	return s->m.physical[copy] + (logical - s->m.logical);
}

int scrub_tree_block(struct scrub *s, u64 bytenr, u64 gen);
int scrub_data(struct scrub *s, u64 start, u32 len);

#endif
