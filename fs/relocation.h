/*
 * Relocation: moving every extent out of a block group, fixing every
 * reference to it, so the group can be freed. See relocation.c.
 */
#ifndef FS_RELOCATION_H
#define FS_RELOCATION_H

#include <ghee/sync.h>

#include "fs_info.h"

/* Data bytes a data group's relocation commit moves at most (more only
 * for one extent bigger than this; reloc_batch_bytes): bounds how
 * long the commit holds trans_sem for write. A batch ends sooner when a
 * change waits (relocation_data.c), so writers wait for about
 * 2 MiB, not the group. Each batch copies again every leaf (and the
 * path to it in every tree) naming its extents: with 16 MiB, a full
 * balance of bench/balance.sh ran 1.5x as long as with one commit per
 * group; with 64 MiB as long. */
#define RELOC_BATCH_BYTES (64ull << 20)
/* The bound in force: RELOC_BATCH_BYTES, less in tests that cut power
 * between the batches of a small group. */
extern u64 reloc_batch_bytes;

/* Figures of one group's relocation. */
struct reloc_stats {
	u64 data_extents;	/* data extents moved */
	u64 data_bytes;		/* their bytes */
	u64 tree_blocks;	/* tree blocks written to a new place (moved
				 * out of the group, or above one that was) */
	u64 blocks_seen;	/* distinct tree blocks visited */
	u64 commits;		/* relocation commits */
	u64 max_commit_bytes;	/* most data bytes one of them moved */
};

/* Asked to stop (stop_arg): 1 to stop, 0 to go on. */
typedef int (*reloc_stop_fn)(void *stop_arg);

int reloc_block_group(struct fs_info *fs, u64 start, reloc_stop_fn stop,
		      void *stop_arg, struct reloc_stats *st);
/* 1 when the root tree holds relocation trees Linux left (an
 * interrupted balance): ghee cannot merge them; 0 when not; <0. */
int reloc_trees_left(struct fs_info *fs);

#endif
