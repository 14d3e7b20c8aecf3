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
 * The path holds a reference on each block it visits; ctree_path_release()
 * drops them. Callers hold fs->fs_lock for read (or write), which keeps the
 * writer (ctree_write.c) from changing dirty blocks under them; committed
 * blocks never change at all.
 */
#include <ghee/errno.h>

#include <ghee/log.h>

#include "ctree.h"
#include "fs_info.h"

/* Describe a tree's root for searches. */
void ctree_root_init(struct ctree_root *r, struct fs_info *fs, u64 objectid,
		     u64 bytenr, u64 generation, u8 level)
{
	r->fs = fs;
	r->objectid = objectid;
	r->bytenr = bytenr;
	r->generation = generation;
	r->level = level;
	r->dirty = 0;
	r->last_snapshot = 0;
	r->commit_bytenr = bytenr;
	r->commit_generation = generation;
	r->commit_level = level;
}

/* Make an empty path. */
void ctree_path_init(struct ctree_path *p)
{
	memset(p, 0, sizeof(*p));
}

/* Drop every block reference the path holds; the path can be reused. */
void ctree_path_release(struct ctree_path *p)
{
	int i;

	for (i = 0; i < BTRFS_MAX_LEVEL; i++) {
		tree_block_put(p->nodes[i]);
		p->nodes[i] = NULL;
		p->slots[i] = 0;
	}
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

static int read_child(const struct ctree_path *p, const struct tree_block *b,
		      int slot, struct tree_block **out)
{
	return ctree_read_child(p->root, b, slot, out);
}

/* Read the root block of a tree. */
int ctree_read_root(const struct ctree_root *root, struct tree_block **out)
{
	struct tb_expect exp;

	if (root->level >= BTRFS_MAX_LEVEL) {
		pr_err("tree %llu: root level %u is corrupt",
		       (unsigned long long)root->objectid, root->level);
		return -EUCLEAN;
	}
	memset(&exp, 0, sizeof(exp));
	exp.owner = root->objectid;
	exp.generation = root->generation;
	exp.level = root->level;
	return tree_block_read(root->fs, root->bytenr, &exp, out);
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
	struct tree_block *b;
	int ret, slot, level;

	ctree_path_release(p);
	p->root = root;
	ret = ctree_read_root(root, &b);
	if (ret)
		return ret;
	for (;;) {
		level = tb_level(b);
		p->nodes[level] = b;
		ret = ctree_bin_search(b, key, &slot);
		if (level == 0) {
			p->slots[0] = slot;
			return ret;
		}
		if (ret && slot > 0)
			slot--;
		p->slots[level] = slot;
		ret = read_child(p, b, slot, &b);
		if (ret) {
			ctree_path_release(p);
			return ret;
		}
	}
}

/*
 * Refill the levels below `level` after p->slots[level] moved, taking the
 * leftmost (right == 0) or rightmost entries on the way down.
 */
static int descend(struct ctree_path *p, int level, int right)
{
	while (level > 0) {
		struct tree_block *child;
		int ret = read_child(p, p->nodes[level], p->slots[level],
				     &child);

		if (ret)
			return ret;
		level--;
		tree_block_put(p->nodes[level]);
		p->nodes[level] = child;
		p->slots[level] = right ? (int)tb_nritems(child) - 1 : 0;
	}
	return 0;
}

/* Move the path to the first item of the next leaf. 0, 1 at the end, <0. */
int ctree_next_leaf(struct ctree_path *p)
{
	int level;

	for (level = 1; level < BTRFS_MAX_LEVEL; level++) {
		struct tree_block *b = p->nodes[level];

		if (!b)
			return 1;
		if ((u32)p->slots[level] + 1 < tb_nritems(b)) {
			p->slots[level]++;
			return descend(p, level, 0);
		}
	}
	return 1;
}

/* Move the path to the last item of the previous leaf. 0, 1, <0. */
int ctree_prev_leaf(struct ctree_path *p)
{
	int level;

	for (level = 1; level < BTRFS_MAX_LEVEL; level++) {
		if (!p->nodes[level])
			return 1;
		if (p->slots[level] > 0) {
			p->slots[level]--;
			return descend(p, level, 1);
		}
	}
	return 1;
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

/* Position the path at the first item >= key. 0, 1 if none, <0. */
int ctree_search_ge(const struct ctree_root *root, const struct key *key,
		    struct ctree_path *p)
{
	int ret = ctree_search_slot(root, key, p);

	if (ret <= 0)
		return ret;
	if ((u32)p->slots[0] < tb_nritems(p->nodes[0]))
		return 0;
	return ctree_next_leaf(p);
}

/* Position the path at the last item <= key. 0, 1 if none, <0. */
int ctree_search_le(const struct ctree_root *root, const struct key *key,
		    struct ctree_path *p)
{
	int ret = ctree_search_slot(root, key, p);

	if (ret <= 0)
		return ret;
	return ctree_prev_item(p);
}

/* Find exactly key. 0 found, -ENOENT when absent, other <0 on errors. */
int ctree_lookup(const struct ctree_root *root, const struct key *key,
		 struct ctree_path *p)
{
	int ret = ctree_search_slot(root, key, p);

	return ret == 1 ? -ENOENT : ret;
}
