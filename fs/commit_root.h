/*
 * Commit-root reading: long readers (fsck, later send and scrub) read one
 * commit of the filesystem while changes and commits go on. See
 * commit_root.c.
 */
#ifndef FS_COMMIT_ROOT_H
#define FS_COMMIT_ROOT_H

#include "format.h"
#include "tree_block.h"

struct fs_info;
struct ctree_root;
struct pin_range;

/* A tree as one commit has it: its id and root block. */
struct commit_tree {
	u64 id;			/* tree (root item) id */
	u64 bytenr;		/* root block */
	u64 generation;		/* root block's generation */
	u8 level;		/* root block's level */
};

/* A registered reader of one commit. */
struct commit_reader {
	struct fs_info *fs;
	u64 generation;			/* the commit it reads */
	struct d_super_block *super;	/* that commit's superblock (copy) */
};

/* A position in a tree: a private copy of a leaf and a slot in it. */
struct commit_cursor {
	struct commit_reader *r;
	struct commit_tree tree;	/* the tree walked */
	struct tree_block *leaf;	/* clone, held with no lock; or NULL */
	u32 slot;
};

int commit_reader_begin(struct fs_info *fs, struct commit_reader *r);
void commit_reader_end(struct commit_reader *r);
u64 commit_root_generation(struct fs_info *fs);
int commit_root_of(struct fs_info *fs, const struct ctree_root *root,
		   struct commit_tree *out);

int commit_cursor_search(struct commit_cursor *c, struct commit_reader *r,
			 const struct commit_tree *t, const struct key *key);
int commit_cursor_next(struct commit_cursor *c);
void commit_cursor_release(struct commit_cursor *c);

static inline void commit_cursor_key(const struct commit_cursor *c,
				     struct key *k)
{
	tb_item_key(c->leaf, c->slot, k);
}

static inline const u8 *commit_cursor_item(const struct commit_cursor *c,
					   u32 *size)
{
	*size = tb_item_size(c->leaf, c->slot);
	return tb_item_data(c->leaf, c->slot);
}

/* Readers following a read-only tree's current commit root (send). */
int commit_root_search(const struct ctree_root *root, const struct key *key,
		       struct tree_block **leaf, u32 *slot, u64 *reloc);
int commit_root_shared_until(const struct ctree_root *a,
			     const struct ctree_root *b, const struct key *key,
			     struct key *next, u64 *reloc);
u64 commit_root_reloc_count(struct fs_info *fs);
void commit_root_note_reloc(struct fs_info *fs);
int commit_root_key_after(struct key *k);

/* For the commit (transaction.c): give back or hold freed ranges. */
void commit_root_unpin(struct fs_info *fs, const struct pin_range *pins,
		       u32 n);
void commit_root_free(struct fs_info *fs);

#endif
