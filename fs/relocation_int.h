/*
 * Shared by relocation's files (relocation.c, relocation_data.c,
 * relocation_blocks.c): one group's relocation and its address maps.
 */
#ifndef FS_RELOCATION_INT_H
#define FS_RELOCATION_INT_H

#include "../lib/u64map.h"
#include "format.h"
#include "backref_int.h"
#include "relocation.h"

struct trans;

/* An extent that moved, or whose references name a block that moved. */
struct moved {
	u64 old, new_;		/* addresses (the same for a fixup) */
	u64 len;		/* bytes */
	u8 level;		/* tree blocks */
	int is_data;
	u64 alloc_root;		/* a copied block: the tree whose ref its
				 * allocation queued */
};

struct moved_list {
	struct moved *v;
	u32 n, cap;
};

/*
 * What the walk must reach (relocation.c, step 3): a tree block of a
 * metadata group's batch, found in every tree by its first key and
 * level; or, for a data batch, a file extent item naming a moved
 * extent, found in tree root by its key at level 0. Kept sorted by
 * (root, key): the walk hands each child the targets in its key range.
 */
struct reloc_target {
	u64 root;		/* data: the tree holding the item; 0: any */
	struct key key;		/* the block's first key, or the item's */
	u8 level;		/* 0 for an item */
};

/* One group's relocation; private to the task running it. */
struct reloc {
	struct fs_info *fs;
	struct trans *t;
	u64 start, end;			/* the group */
	int is_data;			/* a data group */
	struct reloc_target *targets;	/* this commit's: the metadata
					 * batch (relocation_blocks.c) or
					 * the items naming the moved data
					 * (relocation_data.c) */
	u32 ntargets, targets_cap;
	u64 cursor;			/* the next batch starts here */
	u64 batch_bytes;		/* data bytes moved by this commit */
	int more;			/* blocks are left after the batch */
	struct u64map data;		/* moved data extents: old address
					 * -> new */
	u64 data_refs;			/* references to them (the extent
					 * tree's counts before the walk) */
	u64 data_items_fixed;		/* file extent items the walk
					 * pointed at a new address */
	int whole;			/* the tree being walked is walked
					 * whole (rewrite_tree) */
	struct u64map blocks;		/* every tree block visited -> its
					 * new address, itself when
					 * unchanged */
	struct moved_list data_moves;	/* data extents moved */
	struct moved_list block_moves;	/* tree blocks copied */
	struct moved_list fixups;	/* children of copied FULL_BACKREF
					 * blocks */
	struct u64map fixup_seen;	/* a set */
	struct reloc_stats *st;
	reloc_stop_fn stop;		/* asked between data extents or
					 * batches; NULL: never */
	void *stop_arg;
	int stopped;			/* stopped early: the group keeps
					 * the extents not moved */
};

int reloc_moved_add(struct moved_list *l, const struct moved *x);
/* Called on an extent item of the group (key k, its flags): 0 to go on,
 * 1 to stop, <0 an error. */
typedef int (*reloc_extent_fn)(struct reloc *r, const struct key *k,
			       u64 flags, void *arg);
int reloc_scan_extents(struct reloc *r, u64 from, reloc_extent_fn fn,
		       void *arg);
int reloc_move_data(struct reloc *r);
int reloc_next_blocks(struct reloc *r);
int reloc_data_targets(struct reloc *r);
void reloc_targets_sort(struct reloc *r);

#endif
