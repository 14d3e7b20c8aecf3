/*
 * Extents and their back-references: allocating and freeing tree blocks and
 * data extents, the reference changes of copy-on-write, and applying merged
 * delayed refs to the extent tree. See extent_tree.c and extent_alloc.c.
 */
#ifndef FS_EXTENT_TREE_H
#define FS_EXTENT_TREE_H

#include "ctree.h"
#include "delayed_ref.h"
#include "transaction.h"

/* extent_alloc.c */
int extent_alloc_tree_block(struct trans *t, struct ctree_root *root,
			    u8 level, struct tree_block **out);
int extent_free_tree_block(struct trans *t, struct ctree_root *root,
			   struct tree_block *b, int last_ref);
int extent_update_ref_for_cow(struct trans *t, struct ctree_root *root,
			      struct tree_block *buf, struct tree_block *cow,
			      int *last_ref);
int extent_block_refs(struct trans *t, struct ctree_root *root,
		      struct tree_block *b, int full_backref, int sign);
int extent_alloc_data(struct trans *t, u64 want, u64 *start, u64 *len);
int extent_alloc_data_whole(struct trans *t, u64 len, u64 *start);
int extent_alloc_data_at(struct trans *t, u64 start, u64 want, u64 *len);
int extent_data_ref(struct trans *t, u64 bytenr, u64 num_bytes, u64 root,
		    u64 ino, u64 offset, long long mod);
int extent_lookup_info(struct trans *t, u64 bytenr, u64 *refs, u64 *flags);

/* extent_tree.c: run one merged head against the extent tree. */
int extent_run_head(struct trans *t, struct dref_head *h);
int extent_flush_freed(struct trans *t);
int extent_item_search(const struct ctree_root *root, u64 bytenr,
		       struct ctree_path *p, struct key *ek);
u64 extent_data_ref_hash(u64 root, u64 owner, u64 offset);
/* Bytes of an inline back-reference of this key type in an extent item,
 * 0 for a type that cannot be inline. */
u32 extent_inline_ref_size(u8 type);

#endif
