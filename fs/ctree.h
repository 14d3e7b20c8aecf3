/*
 * B-tree search: paths, slots, leaf and item iteration. See ctree.c.
 */
#ifndef FS_CTREE_H
#define FS_CTREE_H

#include "format.h"
#include "tree_block.h"

struct fs_info;

/*
 * Where a tree starts: its root block as its referrer records it. The
 * current root changes as the running transaction copies blocks; the commit
 * root is the root as of the last commit, which stays intact on disk until
 * the next commit (DESIGN.md invariant 1).
 */
struct ctree_root {
	struct fs_info *fs;	/* filesystem [I] */
	u64 objectid;		/* tree id (BTRFS_*_TREE_OBJECTID, subvol) [I] */
	/*
	 * Rank 1h, leaf spinlock: bytenr, generation, level and dirty. A
	 * writer changes them holding the old root block's lock for write
	 * too, so a search that locked the block it read here checks, under
	 * this lock, that it is still the root (ctree.c lock_root).
	 */
	struct spinlock lock;
	u64 bytenr;		/* logical address of the root block [L] */
	u64 generation;		/* the root block's generation [L] */
	u8 level;		/* the root block's level [L] */
	int dirty;		/* changed in the running transaction: its
				 * root item (or the super) needs rewriting
				 * [L; the commit clears it] */
	u64 last_snapshot;	/* root item last_snapshot: blocks of this
				 * generation or older may be shared
				 * [trans_sem: set by the commit] */
	u64 force_cow;		/* a snapshot made at the commit of this
				 * transid shares its blocks: copy them
				 * even though it made them [trans_sem] */
	u64 commit_bytenr;	/* root block of the last commit
				 * [commit_root_sem] */
	u64 commit_generation;	/* its generation [commit_root_sem] */
	u8 commit_level;	/* its level [commit_root_sem] */
};

/*
 * A position in a tree: the blocks from the root down to a leaf, each held
 * by one reference, and the slot taken in each. nodes[0] is the leaf. The
 * leaf is locked (for write by ctree_search_write; by searches for read
 * when the running transaction made it), and so are the blocks above it
 * that a change may still reach; the path let go of the others' locks on
 * the way down (TB_RELEASED: not to be read again). See ctree.c and
 * ctree_write.c.
 * Levels above the root are NULL. A path belongs to one task; release it
 * before waiting for anything but another tree block's lock.
 */
struct ctree_path {
	struct tree_block *nodes[BTRFS_MAX_LEVEL];
	int slots[BTRFS_MAX_LEVEL];
	u8 locks[BTRFS_MAX_LEVEL];	/* lock held per node: TB_UNLOCKED,
					 * TB_READ, TB_WRITE or TB_RELEASED */
	u8 keep;			/* a search keeps every block's lock
					 * (no coupling) */
	const struct ctree_root *root;	/* tree searched; outlives the path */
};

void ctree_root_init(struct ctree_root *r, struct fs_info *fs, u64 objectid,
		     u64 bytenr, u64 generation, u8 level);
void ctree_path_init(struct ctree_path *p);
void ctree_path_release(struct ctree_path *p);

int ctree_search_slot(const struct ctree_root *root, const struct key *key,
		      struct ctree_path *p);
int ctree_search_level(const struct ctree_root *root, const struct key *key,
		       int lowest, struct ctree_path *p);
int ctree_search_ge(const struct ctree_root *root, const struct key *key,
		    struct ctree_path *p);
int ctree_search_le(const struct ctree_root *root, const struct key *key,
		    struct ctree_path *p);
int ctree_lookup(const struct ctree_root *root, const struct key *key,
		 struct ctree_path *p);
int ctree_next_leaf(struct ctree_path *p);
int ctree_prev_leaf(struct ctree_path *p);
int ctree_next_item(struct ctree_path *p);
int ctree_prev_item(struct ctree_path *p);
int ctree_read_child(const struct ctree_root *root,
		     const struct tree_block *parent, int slot,
		     struct tree_block **out);
int ctree_bin_search(const struct tree_block *b, const struct key *key,
		     int *slot);
int ctree_root_exists(const struct ctree_root *root);
int ctree_read_root(const struct ctree_root *root, struct tree_block **out);
int ctree_lock_root(const struct ctree_root *root, int mode,
		    struct tree_block **out, int *held);
void ctree_set_root(struct ctree_root *root, const struct tree_block *b);
void ctree_path_set(struct ctree_path *p, int level, struct tree_block *b,
		    int mode);
void ctree_path_let_go_above(struct ctree_path *p, int level);
int ctree_lock_child(struct ctree_path *p, const struct tree_block *b,
		     int slot, int mode, struct tree_block **out);

/* The key and data of the item the path points at (slot must be valid). */
static inline void ctree_item_key(const struct ctree_path *p, struct key *k)
{
	tb_item_key(p->nodes[0], (u32)p->slots[0], k);
}

static inline const u8 *ctree_item_ptr(const struct ctree_path *p, u32 *size)
{
	*size = tb_item_size(p->nodes[0], (u32)p->slots[0]);
	return tb_item_data(p->nodes[0], (u32)p->slots[0]);
}

#endif
