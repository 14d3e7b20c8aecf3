/*
 * Changing B-trees: copy-on-write search, item insert/delete/resize, and
 * the leaf and node splits and merges behind them. See ctree_write.c and
 * leaf.c.
 */
#ifndef FS_CTREE_WRITE_H
#define FS_CTREE_WRITE_H

#include "ctree.h"
#include "transaction.h"

/* Bytes of a leaf usable for item headers and data. */
static inline u32 leaf_capacity(u32 nodesize)
{
	return nodesize - (u32)sizeof(struct d_header);
}

/* Pointers a node can hold. */
static inline u32 node_capacity(u32 nodesize)
{
	return leaf_capacity(nodesize) / (u32)sizeof(struct d_key_ptr);
}

/* leaf.c: item primitives on a dirty leaf. */
u32 leaf_free_space(const struct tree_block *b);
void leaf_insert_item(struct tree_block *b, u32 slot, const struct key *k,
		      u32 size);
void leaf_del_items(struct tree_block *b, u32 slot, u32 nr);
void leaf_extend_item(struct tree_block *b, u32 slot, u32 extra);
void leaf_truncate_item(struct tree_block *b, u32 slot, u32 new_size);
void leaf_move_items(struct tree_block *dst, u32 dst_slot,
		     const struct tree_block *src, u32 from, u32 nr);
void leaf_set_key(struct tree_block *b, u32 slot, const struct key *k);
void node_set_ptr(struct tree_block *b, u32 slot, const struct key *k,
		  u64 bytenr, u64 gen);
void node_insert_ptr(struct tree_block *b, u32 slot, const struct key *k,
		     u64 bytenr, u64 gen);
void node_del_ptr(struct tree_block *b, u32 slot);

/* ctree_write.c */
/* ins_len of a write search that may end in ctree_del_items of more than
 * one item: the leaf's parent is held for write (the run may empty the
 * leaf, or take its first item). */
#define CTREE_DEL_RUN (-2)
int ctree_search_write(struct trans *t, struct ctree_root *root,
		       const struct key *key, struct ctree_path *p,
		       int ins_len);
int ctree_insert_item(struct trans *t, struct ctree_root *root,
		      const struct key *key, const void *data, u32 size);
int ctree_insert_empty(struct trans *t, struct ctree_root *root,
		       struct ctree_path *p, const struct key *key,
		       u32 size);
int ctree_del_items(struct trans *t, struct ctree_root *root,
		    struct ctree_path *p, u32 nr);
int ctree_del_item(struct trans *t, struct ctree_root *root,
		   struct ctree_path *p);
int ctree_del_key(struct trans *t, struct ctree_root *root,
		  const struct key *k);
int ctree_extend_item(struct trans *t, struct ctree_root *root,
		      struct ctree_path *p, u32 extra);
void ctree_truncate_item(struct ctree_path *p, u32 new_size);
void ctree_set_item_key(struct ctree_path *p, const struct key *k);
int ctree_create_empty(struct trans *t, struct ctree_root *root);

/* Writable data of the item the path points at (a dirty leaf). */
static inline u8 *ctree_item_ptr_w(struct ctree_path *p, u32 *size)
{
	*size = tb_item_size(p->nodes[0], (u32)p->slots[0]);
	return tb_item_data_w(p->nodes[0], (u32)p->slots[0]);
}

#endif
