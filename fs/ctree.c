/*
 * B-tree search over verified tree blocks.
 *
 * A search walks from a tree's root block to a leaf, binary-searching each
 * block, and records every block and slot in a struct ctree_path. In a node,
 * slot i points at the child whose keys are >= key i and < key i+1, so the
 * search descends into the last pointer whose key is <= the search key. In
 * the leaf, the slot is the item with the key, or where it would be inserted.
 *
 * Return convention of the searches: 0 found (or positioned), 1 not found,
 * negative errno on a read error or corrupt block.
 *
 * Each child is read with the expectations its parent records (generation,
 * level = parent level - 1, first key = the parent's key for it, owner = the
 * tree searched), so a misplaced or stale block is caught by the tree checker.
 * Levels strictly decrease on the way down, so no corrupt pointer can make a
 * search loop.
 *
 * The path holds a reference on each block it visits, and the lock of
 * each block the running transaction made (TB_DIRTY), for read, while it
 * works at it. That keeps writers (ctree_write.c) from changing a block
 * under a search. A block that is not TB_DIRTY when the search reaches it
 * is committed and never changes again (a writer copies it), and neither
 * does anything below it (every ancestor of a TB_DIRTY block is TB_DIRTY:
 * a copy copies the path above it), so the search reads it without its
 * lock: at worst it reads the tree as it was before a change still in
 * progress. (A block a writer unlinks and frees loses TB_DIRTY too, after
 * its last change.)
 *
 * Lock coupling: a search locks a child, then lets go of its parent's
 * lock (TB_RELEASED: the reference stays, the contents are not read
 * again), so it holds one locked block at a time and writers of other
 * leaves pass by. Stepping to the next or previous leaf from such a path
 * searches the leaf's edge key again from the root, this time keeping the
 * path's locks (p->keep), and steps from there; a path whose every block
 * above the leaf is committed steps as before, through those blocks.
 *
 * Locks are taken top-down only: the root block after reading the root
 * record (checked again once locked, as a writer may have moved the root
 * meanwhile), a child only while its parent is held (below an unlocked,
 * committed block there is nothing to lock). So every task waits
 * only for a block below the lowest one it holds, and no cycle of waiting
 * tasks can form (docs/LOCKING.md). Moving to the next or previous leaf
 * keeps the common ancestor locked, drops the old blocks below it and
 * locks the new ones top-down.
 */
#include <ghee/errno.h>

#include <ghee/log.h>

#include "ctree.h"
#include "fs_info.h"

/* Describe a tree's root for searches. */
void ctree_root_init(struct ctree_root *r, struct fs_info *fs, u64 objectid,
		     u64 bytenr, u64 generation, u8 level)
{
	spin_init(&r->lock, "ctree_root");
	r->fs = fs;
	r->objectid = objectid;
	r->bytenr = bytenr;
	r->generation = generation;
	r->level = level;
	r->dirty = 0;
	r->last_snapshot = 0;
	r->force_cow = 0;
	r->commit_bytenr = bytenr;
	r->commit_generation = generation;
	r->commit_level = level;
}

/* Make an empty path. */
void ctree_path_init(struct ctree_path *p)
{
	memset(p, 0, sizeof(*p));
}

/* Whether a path's lock mode holds the block locked. */
static int held(int mode)
{
	return mode == TB_READ || mode == TB_WRITE;
}

/* Unlock and drop the block at one level of the path. */
static void drop_level(struct ctree_path *p, int level)
{
	if (p->nodes[level] && held(p->locks[level]))
		tb_unlock(p->nodes[level], p->locks[level]);
	tree_block_put(p->nodes[level]);
	p->nodes[level] = NULL;
	p->locks[level] = TB_UNLOCKED;
}

/*
 * Let go of the locks the path holds above level (lock coupling, once the
 * block at level is locked): the blocks stay referenced, TB_RELEASED.
 */
void ctree_path_let_go_above(struct ctree_path *p, int level)
{
	int l;

	for (l = level + 1; l < BTRFS_MAX_LEVEL && p->nodes[l]; l++) {
		if (!held(p->locks[l]))
			continue;
		tb_unlock(p->nodes[l], p->locks[l]);
		p->locks[l] = TB_RELEASED;
	}
}

/* Unlock and drop every block the path holds; the path can be reused. */
void ctree_path_release(struct ctree_path *p)
{
	int i;

	for (i = 0; i < BTRFS_MAX_LEVEL; i++) {
		drop_level(p, i);
		p->slots[i] = 0;
	}
}

/* Make b, held in lock mode, the path's block at level. */
void ctree_path_set(struct ctree_path *p, int level, struct tree_block *b,
		    int mode)
{
	p->nodes[level] = b;
	p->locks[level] = (u8)mode;
}

/*
 * Binary search block b for key. Sets *slot to the matching entry, or to the
 * first entry above key (nritems when none). Returns 0 on a match, else 1.
 */
int ctree_bin_search(const struct tree_block *b, const struct key *key,
		     int *slot)
{
	u32 lo = 0, hi = tb_nritems(b);
	int leaf = tb_level(b) == 0;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;
		struct key k;
		int c;

		if (leaf)
			tb_item_key(b, mid, &k);
		else
			tb_node_key(b, mid, &k);
		c = key_cmp(&k, key);
		if (c == 0) {
			*slot = (int)mid;
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*slot = (int)lo;
	return 1;
}

/* Read child `slot` of node b, checked against what b says about it. */
int ctree_read_child(const struct ctree_root *root,
		     const struct tree_block *b, int slot,
		     struct tree_block **out)
{
	struct tb_expect exp;

	exp.owner = root->objectid;
	exp.generation = tb_node_ptr_gen(b, (u32)slot);
	exp.level = (u8)(tb_level(b) - 1);
	exp.has_first_key = 1;
	tb_node_key(b, (u32)slot, &exp.first_key);
	return tree_block_read(root->fs, tb_node_blockptr(b, (u32)slot),
			       &exp, out);
}

/* The lock a path of mode takes on b: a write path locks every block,
 * a search only those that may still change. */
static int lock_mode(const struct tree_block *b, int mode)
{
	return mode == TB_WRITE || (tb_flags(b) & TB_DIRTY) ? mode
							  : TB_UNLOCKED;
}

/* Read child slot of b, lock it as a path of mode does, and put it at
 * its level of the path. */
int ctree_lock_child(struct ctree_path *p, const struct tree_block *b,
		      int slot, int mode, struct tree_block **out)
{
	int ret = ctree_read_child(p->root, b, slot, out), held;

	if (ret)
		return ret;
	held = lock_mode(*out, mode);
	if (held)
		tb_lock(*out, held);
	ctree_path_set(p, tb_level(*out), *out, held);
	return 0;
}

/* The root record's lock. Searches take const roots; the lock guards the
 * record rather than being part of what it says. */
static struct spinlock *root_lock(const struct ctree_root *root)
{
	return (struct spinlock *)&root->lock;
}

/* Whether the tree exists at all (a filesystem may lack optional trees). */
int ctree_root_exists(const struct ctree_root *root)
{
	u64 bytenr;

	spin_lock(root_lock(root));
	bytenr = root->bytenr;
	spin_unlock(root_lock(root));
	return bytenr != 0;
}

/* Read the root block of a tree (not locked). */
int ctree_read_root(const struct ctree_root *root, struct tree_block **out)
{
	struct tb_expect exp;
	u64 bytenr;

	memset(&exp, 0, sizeof(exp));
	exp.owner = root->objectid;
	spin_lock(root_lock(root));
	bytenr = root->bytenr;
	exp.generation = root->generation;
	exp.level = root->level;
	spin_unlock(root_lock(root));
	if (exp.level >= BTRFS_MAX_LEVEL) {
		pr_err("tree %llu: root level %u is corrupt",
		       (unsigned long long)root->objectid, exp.level);
		return -EUCLEAN;
	}
	return tree_block_read(root->fs, bytenr, &exp, out);
}

/*
 * Read the root block of a tree and lock it as a path of mode does (*held:
 * the lock taken, TB_UNLOCKED for a search of a committed root). A writer
 * may have copied the root while we waited for the lock; then the block
 * is no longer the root (its address or generation differs from the
 * record: an address comes back only after a commit, with a new
 * generation) and we try again.
 */
int ctree_lock_root(const struct ctree_root *root, int mode,
		    struct tree_block **out, int *held)
{
	for (;;) {
		struct tree_block *b;
		int ret = ctree_read_root(root, &b), moved;

		if (ret)
			return ret;
		*held = lock_mode(b, mode);
		if (*held == TB_UNLOCKED) {
			*out = b;
			return 0;
		}
		tb_lock(b, mode);
		spin_lock(root_lock(root));
		moved = root->bytenr != b->start ||
			root->generation != tb_generation(b);
		spin_unlock(root_lock(root));
		if (!moved) {
			*out = b;
			return 0;
		}
		tb_unlock(b, mode);
		tree_block_put(b);
	}
}

/* Point the root record at b. Caller holds the old root block's lock for
 * write, or is making the tree. The root item is rewritten at commit. */
void ctree_set_root(struct ctree_root *root, const struct tree_block *b)
{
	spin_lock(&root->lock);
	root->bytenr = b->start;
	root->generation = tb_generation(b);
	root->level = tb_level(b);
	root->dirty = 1;
	spin_unlock(&root->lock);
}

/*
 * Search root for key down to level lowest only: p->nodes[lowest] is the
 * block at that level on the way to key (NULL when the tree is not that
 * tall) and p->slots[lowest] the entry holding key (a leaf: its slot or
 * insertion point). Nothing below lowest is read: a tree being dropped
 * may point there at blocks already freed (cleaner.c). Returns 0 when
 * that entry's key is key, 1 when not, <0 error (the path is then
 * released).
 */
int ctree_search_level(const struct ctree_root *root, const struct key *key,
		       int lowest, struct ctree_path *p)
{
	struct tree_block *b;
	int ret, slot, level, held;

	ctree_path_release(p);
	p->root = root;
	ret = ctree_lock_root(root, TB_READ, &b, &held);
	if (ret)
		return ret;
	ctree_path_set(p, tb_level(b), b, held);
	for (;;) {
		level = tb_level(b);
		ret = ctree_bin_search(b, key, &slot);
		if (level > 0 && ret && slot > 0)
			slot--;
		p->slots[level] = slot;
		if (level <= lowest)
			return ret;
		ret = ctree_lock_child(p, b, slot, TB_READ, &b);
		if (ret) {
			ctree_path_release(p);
			return ret;
		}
		if (!p->keep)
			ctree_path_let_go_above(p, level - 1);
	}
}

/*
 * Search root for key. On return (also for "not found") p->nodes[0] is a
 * leaf and p->slots[0] the key's slot or insertion point, which may equal
 * the leaf's item count. Returns 0 found, 1 not found, <0 error (the path is
 * then released).
 */
int ctree_search_slot(const struct ctree_root *root, const struct key *key,
		      struct ctree_path *p)
{
	return ctree_search_level(root, key, 0, p);
}

/*
 * Refill the levels below `level` after p->slots[level] moved, taking the
 * leftmost (right == 0) or rightmost entries on the way down. The old
 * blocks below are dropped first, the new ones locked top-down as the
 * path's kind (a write path's every level is TB_WRITE) wants.
 */
static int descend(struct ctree_path *p, int level, int right)
{
	int mode = p->locks[level] == TB_WRITE ? TB_WRITE : TB_READ, i;

	for (i = 0; i < level; i++)
		drop_level(p, i);
	while (level > 0) {
		struct tree_block *child;
		int ret = ctree_lock_child(p, p->nodes[level],
					   p->slots[level], mode, &child);

		if (ret)
			return ret;
		level--;
		p->slots[level] = right ? (int)tb_nritems(child) - 1 : 0;
	}
	return 0;
}

/* Walk to the next (right) or previous leaf through the blocks above the
 * path's leaf, which it holds or which are committed. 0, 1 at the end, <0. */
static int walk_leaf(struct ctree_path *p, int right)
{
	int level;

	for (level = 1; level < BTRFS_MAX_LEVEL; level++) {
		struct tree_block *b = p->nodes[level];

		if (!b)
			return 1;
		if (right && (u32)p->slots[level] + 1 < tb_nritems(b)) {
			p->slots[level]++;
			return descend(p, level, 0);
		}
		if (!right && p->slots[level] > 0) {
			p->slots[level]--;
			return descend(p, level, 1);
		}
	}
	return 1;
}

/* Whether the path let go of a block above its leaf. */
static int let_go(const struct ctree_path *p)
{
	int l;

	for (l = 1; l < BTRFS_MAX_LEVEL; l++)
		if (p->locks[l] == TB_RELEASED)
			return 1;
	return 0;
}

/*
 * Step a path that let go of its ancestors to the first item after its
 * leaf's last (right) or the last item before its first: search that key
 * again keeping the whole path, step from there, then let go again. Only
 * a search path walks this way: a write path's next leaf would need
 * copying (ctree_search_write it instead). 0, 1 at the end, <0.
 */
static int step_leaf_again(struct ctree_path *p, int right)
{
	struct tree_block *l = p->nodes[0];
	struct key k;
	int ret, keep = p->keep;

	if (p->locks[0] == TB_WRITE) {
		pr_err("tree %llu: a write path cannot step to another leaf",
		       (unsigned long long)p->root->objectid);
		return -EINVAL;
	}
	/* Only a root leaf can be empty, and it has no ancestor. */
	tb_item_key(l, right ? tb_nritems(l) - 1 : 0, &k);
	p->keep = 1;
	ret = ctree_search_slot(p->root, &k, p);
	p->keep = (u8)keep;
	if (ret < 0)
		return ret;
	/* The slot of k, or where it would go: the item after it is the
	 * next, the one before the previous, unless that is off the leaf. */
	if (right) {
		p->slots[0] += ret == 0;
		ret = (u32)p->slots[0] < tb_nritems(p->nodes[0]) ? 0 :
		      walk_leaf(p, 1);
	} else if (p->slots[0] > 0) {
		p->slots[0]--;
		ret = 0;
	} else {
		ret = walk_leaf(p, 0);
	}
	if (ret >= 0 && !keep)
		ctree_path_let_go_above(p, 0);
	return ret;
}

/* Move the path to the first item of the next leaf. 0, 1 at the end, <0. */
int ctree_next_leaf(struct ctree_path *p)
{
	return let_go(p) ? step_leaf_again(p, 1) : walk_leaf(p, 1);
}

/* Move the path to the last item of the previous leaf. 0, 1, <0. */
int ctree_prev_leaf(struct ctree_path *p)
{
	return let_go(p) ? step_leaf_again(p, 0) : walk_leaf(p, 0);
}

/* Step to the next item, crossing leaves. 0, 1 past the last item, <0. */
int ctree_next_item(struct ctree_path *p)
{
	p->slots[0]++;
	if ((u32)p->slots[0] < tb_nritems(p->nodes[0]))
		return 0;
	return ctree_next_leaf(p);
}

/* Step to the previous item, crossing leaves. 0, 1 before the first, <0. */
int ctree_prev_item(struct ctree_path *p)
{
	if (p->slots[0] > 0) {
		p->slots[0]--;
		return 0;
	}
	return ctree_prev_leaf(p);
}

/* Compare the key of the item at the path with k. */
static int item_cmp(const struct ctree_path *p, const struct key *k)
{
	struct key ik;

	ctree_item_key(p, &ik);
	return key_cmp(&ik, k);
}

/*
 * Position the path at the first item >= key. 0, 1 if none, <0.
 * Stepping off the leaf (step_leaf_again) finds the first item after the
 * leaf's last one, which is below key: items put between the two while
 * the path let go of the leaf come first, and are stepped over.
 */
int ctree_search_ge(const struct ctree_root *root, const struct key *key,
		    struct ctree_path *p)
{
	int ret = ctree_search_slot(root, key, p);

	if (ret <= 0)
		return ret;
	if ((u32)p->slots[0] < tb_nritems(p->nodes[0]))
		return 0;
	ret = ctree_next_leaf(p);
	while (ret == 0 && item_cmp(p, key) < 0)
		ret = ctree_next_item(p);
	return ret;
}

/* Position the path at the last item <= key. 0, 1 if none, <0. Like
 * ctree_search_ge, it steps back over items put meanwhile above key. */
int ctree_search_le(const struct ctree_root *root, const struct key *key,
		    struct ctree_path *p)
{
	int ret = ctree_search_slot(root, key, p);

	if (ret <= 0)
		return ret;
	ret = ctree_prev_item(p);
	while (ret == 0 && item_cmp(p, key) > 0)
		ret = ctree_prev_item(p);
	return ret;
}

/* Find exactly key. 0 found, -ENOENT when absent, other <0 on errors. */
int ctree_lookup(const struct ctree_root *root, const struct key *key,
		 struct ctree_path *p)
{
	int ret = ctree_search_slot(root, key, p);

	return ret == 1 ? -ENOENT : ret;
}
