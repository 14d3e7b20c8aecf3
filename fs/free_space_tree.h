/*
 * The free-space tree (tree 10): free extents of each block group, kept in
 * step with the extent tree. See free_space_tree.c.
 */
#ifndef FS_FREE_SPACE_TREE_H
#define FS_FREE_SPACE_TREE_H

#include "format.h"

struct trans;
struct block_group;

int fst_remove_range(struct trans *t, u64 start, u64 len);
int fst_add_range(struct trans *t, u64 start, u64 len);
int fst_add_block_group(struct trans *t, struct block_group *bg);
int fst_remove_block_group(struct trans *t, struct block_group *bg);

#endif
