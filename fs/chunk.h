/*
 * Making chunks: device space, chunk items, device extents. See chunk.c.
 */
#ifndef FS_CHUNK_H
#define FS_CHUNK_H

#include "format.h"

struct fs_info;
struct trans;
struct block_group;
struct chunk_mapping;

/* What a chunk item carries besides its mapping. */
#define CHUNK_STRIPE_LEN (64u * 1024)	/* stripe_len, io_align, io_width */

int chunk_load_dev_extents(struct fs_info *fs);
int chunk_alloc(struct trans *t, u64 type);
u64 chunk_profile(const struct fs_info *fs, u64 type);
int chunk_insert_items(struct trans *t, struct block_group *bg);
u32 chunk_item_fill(u8 *buf, const struct chunk_mapping *m, u32 sectorsize,
		    u64 devid, const u8 *dev_uuid);
void chunk_dev_extent_fill(u8 *buf, u64 logical, u64 len,
			   const u8 *chunk_tree_uuid);
int chunk_remove_items(struct trans *t, struct block_group *bg);
void chunk_forget(struct fs_info *fs, u64 logical);
u64 chunk_find_hole(const struct fs_info *fs, u64 dev_size, u64 len);
int chunk_write_dev_item(struct trans *t);

#endif
