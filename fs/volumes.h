/*
 * The chunk map: which device ranges hold each range of btrfs's logical
 * address space. See volumes.c.
 */
#ifndef FS_VOLUMES_H
#define FS_VOLUMES_H

#include <ghee/blk.h>
#include <ghee/sync.h>

#include "format.h"

struct fs_info;

/* Most copies of a chunk ghee maps (DUP has 2, SINGLE 1). */
#define CHUNK_MAX_STRIPES 4

/* One chunk: [logical, logical + length) has num_stripes identical copies. */
struct chunk_mapping {
	u64 logical;		/* first logical byte */
	u64 length;		/* bytes */
	u64 type;		/* BLOCK_GROUP_* type and profile bits */
	u32 num_stripes;	/* copies (SINGLE 1, DUP 2) */
	u64 physical[CHUNK_MAX_STRIPES];	/* byte offset of each copy */
};

/* All chunks, sorted by logical address, not overlapping. */
struct chunk_map {
	/* Rank 1h, leaf spinlock: v, n and cap. The allocator (holding
	 * fs->alloc_lock) is the only one to add chunks after mount, so it
	 * may read them without this lock. */
	struct spinlock lock;
	struct chunk_mapping *v;	/* array of n entries [L] */
	u32 n;				/* entries in use [L] */
	u32 cap;			/* entries allocated [L] */
};

int volumes_read_sys_array(struct fs_info *fs);
int volumes_read_chunk_tree(struct fs_info *fs);
const struct chunk_mapping *volumes_lookup(const struct fs_info *fs,
					   u64 logical, u64 len);
int volumes_map_copy(struct fs_info *fs, u64 logical, u64 len,
		     struct chunk_mapping *out);
int volumes_num_copies(struct fs_info *fs, u64 logical);
int volumes_copy_all(struct fs_info *fs, struct chunk_mapping **out, u32 *n);
/* A read in flight (volumes_read_start); the caller's, untouched by it. */
struct volumes_read_req {
	u64 logical;		/* first byte, for messages */
	struct bio bio;
	struct bio_vec vec;
	struct completion done;	/* the bio ended */
};

int volumes_read(struct fs_info *fs, u64 logical, int mirror, void *buf,
		 u32 len);
int volumes_read_start(struct fs_info *fs, u64 logical, int mirror,
		       void *buf, u32 len, struct volumes_read_req *req);
int volumes_read_end(struct fs_info *fs, struct volumes_read_req *req);
int volumes_write(struct fs_info *fs, u64 logical, const void *buf, u32 len);
int volumes_add_chunk(struct fs_info *fs, const struct chunk_mapping *m);
void volumes_remove_chunk(struct fs_info *fs, u64 logical);
const char *volumes_profile_name(u64 type);
void volumes_free(struct chunk_map *map);

#endif
