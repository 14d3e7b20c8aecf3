/*
 * Shared by defrag's files: defrag.c (the runs, the data, the steps) and
 * defrag_walk.c (pointing one tree at the new data, sharing kept).
 */
#ifndef FS_DEFRAG_INT_H
#define FS_DEFRAG_INT_H

#include "../lib/u64map.h"
#include "format.h"

struct ctree_root;
struct fs_info;
struct trans;
struct wctx;

/* A range of old data that now also lives at a new place. */
struct piece {
	u64 old;		/* logical address of the old bytes */
	u64 len;		/* bytes */
	u64 new_;		/* logical address of the copy */
	u64 old_ext;		/* start of the old data extent */
	u64 old_gen;		/* its extent item's generation */
	u64 ok_trans;		/* transaction it was last found to hold
				 * (defrag_piece_ok) */
	u32 ext;		/* the new extent holding the copy */
};

/* A new extent: a run of small extents written contiguously (in one
 * commit or several: the extent is whole from the first). */
struct new_ext {
	u64 start, len;
	u64 gen;		/* the transaction that made it */
};

/* One pass of a defrag: the pieces of its runs, one tree per step. */
struct defrag {
	struct fs_info *fs;
	struct trans *t;		/* the running step's transaction */
	struct piece *pc;		/* sorted by old, disjoint */
	u32 npc, pc_cap;
	struct new_ext *nx;
	u32 nnx, nx_cap;
	struct u64map memo;		/* every block seen, all steps: old
					 * address -> its generation, the
					 * address to use now */
	struct u64map made;		/* copy -> 0, the block it copies */
	struct u64map partial;		/* blocks whose walk stopped inside
					 * (their memo is not for others) */
	u64 blocks_copied;		/* tree blocks given a new copy */
	u64 blocks_freed;		/* old tree blocks freed */
	u64 items;			/* file extent items repointed */
	u32 budget;			/* blocks the step may still copy or
					 * free (defrag_walk.c) */
	u32 spent;			/* blocks it copied or freed so far */
	int stopped;			/* the walk stopped, budget spent: */
	struct key resume;		/* it goes on from this key */
};

struct piece *defrag_piece_find(const struct defrag *d, u64 addr);
int defrag_plain_item(const u8 *fe, u32 size);
int defrag_piece_ok(struct defrag *d, struct piece *p);
int defrag_tree(struct defrag *d, struct ctree_root *root, int *changed);
int defrag_merge_file(const struct defrag *d, struct wctx *w,
		      struct ctree_root *root, u64 ino, u64 from, u64 to);

#endif
