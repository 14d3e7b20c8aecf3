/*
 * Block groups and the space allocator: which parts of each chunk are in
 * use, free, or pinned until the next commit. See block_group.c.
 */
#ifndef FS_BLOCK_GROUP_H
#define FS_BLOCK_GROUP_H

#include "format.h"

struct fs_info;
struct trans;

/* One free range inside a block group. */
struct free_range {
	u64 start, len;
};

/* A block group: the space of one chunk. All fields [fs->alloc_lock]. */
struct block_group {
	u64 start, length;	/* logical range (the chunk's) */
	u64 flags;		/* BLOCK_GROUP_* type and profile */
	u64 used;		/* bytes of extents in the extent tree */
	int dirty;		/* its BLOCK_GROUP_ITEM needs rewriting */
	int is_new;		/* made in this transaction: its chunk, dev
				 * extents, item and free-space info are
				 * inserted at commit */
	struct free_range *free;	/* sorted, disjoint, merged */
	u32 nfree, free_cap;
	u64 free_bytes;		/* sum of free */
	u64 cursor;		/* next-fit allocation hint */
	int ro;			/* being relocated: nothing new is
				 * allocated in it */
};

/* A device range given to a chunk (from the dev tree). */
struct dev_range {
	u64 start, len;
};

/* The allocator's state, in fs_info. [fs->alloc_lock] */
struct space_info {
	struct block_group **bg;	/* sorted by start */
	u32 nbg, bg_cap;
	struct dev_range *dev;		/* sorted device ranges in use */
	u32 ndev, dev_cap;
	u64 meta_reserved;		/* metadata bytes the changes in
					 * progress reserved */
	u64 meta_profile;		/* profile bits for new metadata chunks */
	u64 data_profile;		/* profile bits for new data chunks */
	u64 sys_profile;		/* profile bits for new SYSTEM chunks */
	u64 alloc_end;			/* 0, or the device offset new chunks
					 * end below while a shrink moves
					 * chunks out of the tail (resize.c) */
};

struct chunk_mapping;

int bg_load(struct fs_info *fs);
int bg_add(struct fs_info *fs, const struct chunk_mapping *m, u64 used,
	   struct block_group **out);
int bg_init_free(struct fs_info *fs, struct block_group *bg);
void bg_free_all(struct fs_info *fs);
void bg_remove(struct fs_info *fs, u64 start);
struct block_group *bg_lookup(struct fs_info *fs, u64 bytenr);
int bg_alloc(struct trans *t, u64 type, u64 want, u64 min, u64 *start,
	     u64 *len);
int bg_alloc_at(struct fs_info *fs, u64 type, u64 start, u64 want,
		u64 *len);
void bg_unpin(struct fs_info *fs, u64 start, u64 len);
int bg_exclude(struct fs_info *fs, u64 start, u64 len);
int bg_account_used(struct trans *t, u64 start, u64 len, int add);
int bg_account(struct trans *t, u64 start, u64 len, int add);
int bg_create_pending(struct trans *t);
int bg_write_dirty(struct trans *t, int *did);
u64 bg_free_bytes(struct fs_info *fs, u64 type);
int bg_set_ro(struct fs_info *fs, u64 start, int ro, struct block_group *out);
int bg_reserve_metadata(struct trans *t, u64 need, u64 also_free);
void bg_release_metadata(struct fs_info *fs, u64 bytes);

#endif
