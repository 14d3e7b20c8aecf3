/*
 * Copy-on-write B-tree changes.
 *
 * ctree_search_write() walks from a tree's root to the leaf for a key like
 * ctree_search_slot(), but copies every block on the way that was not made
 * in the running transaction (COW: a block whose header generation is the
 * running transid was made by it and is still unwritten, so it is changed
 * in place; any other block is committed and never changes, DESIGN.md
 * invariant 2). The copy gets a new address from the allocator, its parent
 * (or the root record) is pointed at it, and the old block is freed through
 * a delayed ref, so it stays intact until the commit is on disk.
 *
 * For an insertion (ins_len > 0 bytes of item header and data) the walk
 * also makes room: a node that is nearly full is split before descending.
 * A leaf without room first pushes items into a neighbour under the same
 * parent, right then left, evening the two out, when that leaves room
 * where the key will be found (so leaves fill up, where splits alone leave
 * half-full ones behind); only when neither can take enough is the leaf
 * split. After each push or split the search starts again from
 * the root, which keeps the code simple and costs one more descent; a
 * search pushes at most once, so writers working on neighbouring leaves
 * at once cannot keep pushing items to and fro. A
 * split may leave one side empty for an instant (the item is inserted
 * right after), never across a call.
 *
 * Deletion shrinks the tree: an emptied leaf or node is unlinked and freed,
 * a leaf under a quarter full is merged into a neighbour when the two fit
 * in one, a node under a quarter full likewise when the two fit in three
 * quarters of one (so the next insert does not split them again), up the
 * path, and a root node left with one child gives way to that child. A
 * sparse leaf or node whose neighbour is too full to merge with takes
 * entries from it until the two are about even instead.
 *
 * A neighbour is only touched through the parent the path holds, and is
 * copied (cow_child) before it changes. Moving entries between two
 * neighbours changes only the parent's key for the right one, which is
 * never its parent's first, so no key further up changes.
 *
 * Locking: a write search locks the blocks it may change for write and
 * the ones above them for read, root to leaf (ctree.c explains the
 * order), and lets go of a block's ancestors once the block cannot pass
 * the change up to them (ctree_search_write), so writers of different
 * leaves meet only for the moment each holds an upper block on the way
 * down; no search or other writer sees a block while it changes. The copy
 * of a block is locked before it is linked in and the old block is
 * unlocked after. A sibling is locked only while its parent is held for
 * write. Shrinking the tree from the root (collapse_root) happens after
 * the deleting path is released, from a
 * fresh write lock on the root. The caller is inside a change (holds
 * fs->trans_sem for read) or the commit. Errors inside a change abort the
 * transaction at the failing line (trans_abort), as a half-done change
 * cannot be undone. A write search that fails (a block that cannot be
 * copied or split for want of space or memory) fails before it changes
 * anything but the tree's shape (a copied path, a new root above the old
 * one, items pushed into a neighbour), which is a valid tree: it returns
 * the error without aborting, and the caller decides.
 */
#include <ghee/errno.h>

#include <ghee/log.h>

#include "ctree_write.h"
#include "extent_tree.h"
#include "fs_info.h"

#define PTR_SIZE ((u32)sizeof(struct d_key_ptr))
#define ITEM_SIZE ((u32)sizeof(struct d_item))

/* Point the parent (or the root record) at a block's new address. */
static void link_block(struct ctree_root *root, struct tree_block *parent,
		       int pslot, struct tree_block *b)
{
	if (!parent) {
		ctree_set_root(root, b);
		return;
	}
	D_SET64(struct d_key_ptr, tb_ptr_desc_w(parent, (u32)pslot),
		blockptr, b->start);
	D_SET64(struct d_key_ptr, tb_ptr_desc_w(parent, (u32)pslot),
		generation, tb_generation(b));
}

/* Unlock a block held for write and drop the reference. */
static void unlock_put(struct tree_block *b)
{
	tb_unlock(b, TB_WRITE);
	tree_block_put(b);
}

/* Whether b must be copied before this transaction changes it: it was
 * not made by the running transaction, or a snapshot shares it. */
static int needs_cow(const struct trans *t, const struct ctree_root *root,
		     const struct tree_block *b)
{
	return !(tb_flags(b) & TB_DIRTY) || tb_generation(b) != t->transid ||
	       root->force_cow == t->transid;
}

/*
 * Copy *bp, which the caller holds locked for write, unless the running
 * transaction made it. On success *bp is the writable block, locked for
 * write (the old one is unlocked and its reference dropped).
 */
static int cow_block(struct trans *t, struct ctree_root *root,
		     struct tree_block **bp, struct tree_block *parent,
		     int pslot)
{
	struct tree_block *b = *bp, *n;
	int last_ref = 0, ret;

	if (!needs_cow(t, root, b))
		return 0;
	ret = extent_alloc_tree_block(t, root, tb_level(b), &n);
	if (ret)
		return ret;
	tb_lock(n, TB_WRITE);
	memcpy(n->data + offsetof(struct d_header, nritems),
	       b->data + offsetof(struct d_header, nritems),
	       b->len - offsetof(struct d_header, nritems));
	/* The old block loses this tree's reference whether or not others
	 * still hold it (last_ref only says nobody does). */
	ret = extent_update_ref_for_cow(t, root, b, n, &last_ref);
	if (ret == 0)
		ret = extent_free_tree_block(t, root, b, last_ref);
	if (ret) {
		trans_abort(t, ret);
		unlock_put(n);
		return ret;
	}
	link_block(root, parent, pslot, n);
	unlock_put(b);
	*bp = n;
	return 0;
}

/* Read child slot of the dirty node parent, which the caller holds for
 * write, lock it for write and copy it. */
static int cow_child(struct trans *t, struct ctree_root *root,
		     struct tree_block *parent, int slot,
		     struct tree_block **out)
{
	int ret = ctree_read_child(root, parent, slot, out);

	if (ret)
		return ret;
	tb_lock(*out, TB_WRITE);
	ret = cow_block(t, root, out, parent, slot);
	if (ret) {
		unlock_put(*out);
		*out = NULL;
	}
	return ret;
}

/* Put a new root node above the current root (p->nodes[level - 1]). */
static int grow_root(struct trans *t, struct ctree_root *root,
		     struct ctree_path *p, int level)
{
	struct tree_block *child = p->nodes[level - 1], *n;
	struct key k;
	int ret = extent_alloc_tree_block(t, root, (u8)level, &n);

	if (ret)
		return ret;
	tb_lock(n, TB_WRITE);
	tb_first_key(child, &k);
	node_insert_ptr(n, 0, &k, child->start, tb_generation(child));
	link_block(root, NULL, 0, n);
	ctree_path_set(p, level, n, TB_WRITE);
	p->slots[level] = 0;
	return 0;
}

/* Set the key of pointer slots on the path from level up while the
 * changed entry is the first of its block. */
static void fix_low_keys(struct ctree_path *p, int level, const struct key *k)
{
	for (; level < BTRFS_MAX_LEVEL && p->nodes[level]; level++) {
		struct tree_block *b = p->nodes[level];

		key_to_disk(tb_ptr_desc_w(b, (u32)p->slots[level]), k);
		if (p->slots[level] != 0)
			break;
	}
}

/* Split the node at p->nodes[level] in two halves. */
static int split_node(struct trans *t, struct ctree_root *root,
		      struct ctree_path *p, int level)
{
	struct tree_block *c = p->nodes[level], *n, *parent;
	u32 nr = tb_nritems(c), mid = nr / 2;
	struct key k;
	int ret;

	if (!p->nodes[level + 1]) {
		ret = grow_root(t, root, p, level + 1);
		if (ret)
			return ret;
	}
	parent = p->nodes[level + 1];
	ret = extent_alloc_tree_block(t, root, (u8)level, &n);
	if (ret)
		return ret;
	memcpy(tb_ptr_desc_w(n, 0), tb_ptr_desc(c, mid), (nr - mid) * PTR_SIZE);
	tb_set_nritems(n, nr - mid);
	tb_set_nritems(c, mid);
	tb_node_key(n, 0, &k);
	node_insert_ptr(parent, (u32)p->slots[level + 1] + 1, &k, n->start,
			t->transid);
	tree_block_put(n);
	return 0;
}

/* Bytes items [from, to) of leaf b take, headers included. */
static u32 items_bytes(const struct tree_block *b, u32 from, u32 to)
{
	u32 sum = 0;

	for (; from < to; from++)
		sum += tb_item_size(b, from) + ITEM_SIZE;
	return sum;
}

/* Choose where to split leaf l so that ins bytes fit at slot. */
static u32 split_point(const struct tree_block *l, u32 slot, u32 ins)
{
	u32 n = tb_nritems(l), cap = leaf_capacity(l->len);
	u32 total = items_bytes(l, 0, n), mid, left = 0;

	for (mid = 0; mid < n && left < total / 2; mid++)
		left += tb_item_size(l, mid) + ITEM_SIZE;
	if (slot < mid && left + ins <= cap)
		return mid;
	if (slot >= mid && total - left + ins <= cap)
		return mid;
	return slot;
}

/*
 * Split the leaf at the path so an item of ins bytes can go in at its
 * slot. Items [mid, n) move to a new leaf to the right. Returns 0 (the
 * caller searches again), or 2 when the item needs a leaf of its own and
 * the path already points at slot 0 of an empty leaf, where the caller
 * inserts at once (an empty leaf must not be met by a search:
 * tree_check_expect refuses it):
 *  - the item goes after every item: nothing moved, and the new empty
 *    leaf, whose separator is key (the inserted key), replaces the leaf
 *    in the path;
 *  - the item goes before every item (slot 0, mid 0): every item moved
 *    right, and the emptied leaf stays in the path (inserting at its
 *    slot 0 gives its separator the new key).
 */
static int split_leaf(struct trans *t, struct ctree_root *root,
		      struct ctree_path *p, const struct key *key, u32 ins)
{
	struct tree_block *l = p->nodes[0], *r;
	u32 n = tb_nritems(l), mid;
	struct key k = *key, first;
	int ret, before;

	if (!p->nodes[1]) {
		ret = grow_root(t, root, p, 1);
		if (ret)
			return ret;
	}
	mid = split_point(l, (u32)p->slots[0], ins);
	tb_item_key(l, 0, &first);
	before = mid == 0 && key_cmp(key, &first) < 0;
	ret = extent_alloc_tree_block(t, root, 0, &r);
	if (ret)
		return ret;
	leaf_move_items(r, 0, l, mid, n - mid);
	leaf_del_items(l, mid, n - mid);
	if (tb_nritems(r))
		tb_item_key(r, 0, &k);
	node_insert_ptr(p->nodes[1], (u32)p->slots[1] + 1, &k, r->start,
			t->transid);
	if (mid < n) {
		tree_block_put(r);
		return before ? 2 : 0;
	}
	tb_lock(r, TB_WRITE);
	unlock_put(l);
	ctree_path_set(p, 0, r, TB_WRITE);
	p->slots[0] = 0;
	p->slots[1]++;
	return 2;
}

/* Bytes entry i of block b takes: a leaf item with its header, or a
 * node pointer. */
static u32 entry_bytes(const struct tree_block *b, u32 i)
{
	return tb_level(b) ? PTR_SIZE : items_bytes(b, i, i + 1);
}

/* Bytes all entries of block b take. */
static u32 used_bytes(const struct tree_block *b)
{
	u32 i, sum = 0;

	for (i = 0; i < tb_nritems(b); i++)
		sum += entry_bytes(b, i);
	return sum;
}

/* Move entries [from, from + nr) of src to slot to of dst, two blocks of
 * one level, in one piece. */
static void move_entries(struct tree_block *dst, u32 to,
			 struct tree_block *src, u32 from, u32 nr)
{
	u32 nd = tb_nritems(dst), ns = tb_nritems(src);

	if (tb_level(src) == 0) {
		leaf_move_items(dst, to, src, from, nr);
		leaf_del_items(src, from, nr);
		return;
	}
	memmove(tb_ptr_desc_w(dst, to + nr), tb_ptr_desc(dst, to),
		(nd - to) * PTR_SIZE);
	memcpy(tb_ptr_desc_w(dst, to), tb_ptr_desc(src, from), nr * PTR_SIZE);
	tb_set_nritems(dst, nd + nr);
	memmove(tb_ptr_desc_w(src, from), tb_ptr_desc(src, from + nr),
		(ns - from - nr) * PTR_SIZE);
	tb_set_nritems(src, ns - nr);
}

/*
 * Move nr entries across the boundary of neighbours l and r, children
 * rslot - 1 and rslot of parent: the last nr of l to the front of r
 * (to_right), else the first nr of r to the end of l. The parent's key
 * for r follows r's new first key; rslot > 0, so no key above changes.
 */
static void shift_entries(struct tree_block *parent, u32 rslot,
			  struct tree_block *l, struct tree_block *r,
			  int to_right, u32 nr)
{
	struct key k;

	if (to_right)
		move_entries(r, 0, l, tb_nritems(l) - nr, nr);
	else
		move_entries(l, tb_nritems(l), r, 0, nr);
	tb_first_key(r, &k);
	key_to_disk(tb_ptr_desc_w(parent, rslot), &k);
}

/*
 * How many items of the full leaf l to move into its neighbour s (to_right:
 * l's last ones to the front of s, else l's first ones to the end of s)
 * so that ins bytes fit at position pos of l without a split, keeping one
 * in l. Of the counts that make room, the one that leaves the two about
 * equally free: filling s to the brim would only make the next insert
 * there push back. pos counts l's items that stay left of the new bytes:
 * those before the slot, and the item at the slot too when the bytes
 * extend it. The bytes go where the next search for their key ends, which
 * is s when the move carries the items around them across; s must then
 * hold them too. Returns 0 when no count makes room.
 */
static u32 push_count(const struct tree_block *l, const struct tree_block *s,
		      int to_right, u32 pos, u32 ins)
{
	u32 n = tb_nritems(l), room = leaf_free_space(s), bytes = 0;
	u32 best = 0, best_gap = (u32)-1, nr;

	for (nr = 1; nr < n; nr++) {
		u32 edge = to_right ? n - nr : nr;	/* l's items [0, edge)
							 * end up on the left */
		int key_in_s = to_right ? pos > edge : pos <= edge;
		u32 free_l, free_s, gap;

		bytes += entry_bytes(l, to_right ? edge : edge - 1);
		/* Both terms only grow with nr: past here nothing fits. */
		if (bytes + (key_in_s ? ins : 0) > room)
			break;
		if (!key_in_s && leaf_free_space(l) + bytes < ins)
			continue;
		free_l = leaf_free_space(l) + bytes - (key_in_s ? 0 : ins);
		free_s = room - bytes - (key_in_s ? ins : 0);
		gap = free_l > free_s ? free_l - free_s : free_s - free_l;
		if (gap < best_gap) {
			best = nr;
			best_gap = gap;
		}
	}
	return best;
}

/*
 * Move items of the path's leaf into its neighbour at parent slot
 * pslot + 1 (to_right) or pslot - 1 so that ins bytes fit at position pos
 * (see push_count). The neighbour is copied only when it takes items.
 * Returns 0 when items moved, 1 when the neighbour cannot take enough,
 * <0 when it cannot be read or copied.
 */
static int push_to(struct trans *t, struct ctree_root *root,
		   struct ctree_path *p, int to_right, u32 pos, u32 ins)
{
	struct tree_block *l = p->nodes[0], *parent = p->nodes[1], *s;
	u32 pslot = (u32)p->slots[1], nr;
	int sslot = (int)(to_right ? pslot + 1 : pslot - 1), ret;

	ret = ctree_read_child(root, parent, sslot, &s);
	if (ret)
		return ret;
	tb_lock(s, TB_WRITE);
	nr = push_count(l, s, to_right, pos, ins);
	if (nr)
		ret = cow_block(t, root, &s, parent, sslot);
	if (ret == 0 && nr && to_right)
		shift_entries(parent, pslot + 1, l, s, 1, nr);
	else if (ret == 0 && nr)
		shift_entries(parent, pslot, s, l, 0, nr);
	unlock_put(s);
	return ret ? ret : nr ? 0 : 1;
}

/*
 * Make room for ins bytes at position pos of the path's full leaf by
 * pushing items into a neighbour under the same parent, right first, then
 * left, instead of splitting. Returns 0 when items moved (the leaf holding
 * the key now has the room; the caller searches again), 1 when neither
 * neighbour can take enough, <0.
 */
static int push_leaf(struct trans *t, struct ctree_root *root,
		     struct ctree_path *p, u32 pos, u32 ins)
{
	struct tree_block *parent = p->nodes[1];
	u32 pslot = (u32)p->slots[1];
	int ret = 1;

	if (!parent)
		return 1;
	if (pslot + 1 < tb_nritems(parent))
		ret = push_to(t, root, p, 1, pos, ins);
	if (ret == 1 && pslot > 0)
		ret = push_to(t, root, p, 0, pos, ins);
	return ret;
}

/*
 * Even out neighbours l and r, children rslot - 1 and rslot of parent:
 * move entries from the fuller to the other while it stays at least as
 * full. For a sparse block whose neighbour is too full to merge with.
 */
static void even_out(struct tree_block *parent, u32 rslot,
		     struct tree_block *l, struct tree_block *r)
{
	u32 used_l = used_bytes(l), used_r = used_bytes(r), nr = 0, sz;
	int to_right = used_l > used_r;
	u32 diff = to_right ? used_l - used_r : used_r - used_l;

	/* The fuller side never empties: it keeps at least the other's
	 * bytes, and the other is not empty. */
	for (;;) {
		if (to_right)
			sz = entry_bytes(l, tb_nritems(l) - 1 - nr);
		else
			sz = entry_bytes(r, nr);
		if (2 * sz > diff)
			break;
		diff -= 2 * sz;
		nr++;
	}
	if (nr)
		shift_entries(parent, rslot, l, r, to_right, nr);
}

/* Lock the root block for write, copying it if needed. */
static int write_root(struct trans *t, struct ctree_root *root,
		      struct tree_block **out)
{
	int held, ret = ctree_lock_root(root, TB_WRITE, out, &held);

	if (ret)
		return ret;
	ret = cow_block(t, root, out, NULL, 0);
	if (ret) {
		unlock_put(*out);
		*out = NULL;
	}
	return ret;
}

/* The path's block above level, NULL above the root. */
static struct tree_block *parent_of(const struct ctree_path *p, int level)
{
	return level + 1 < BTRFS_MAX_LEVEL ? p->nodes[level + 1] : NULL;
}

/*
 * Whether the path's block at level absorbs what the change may still do
 * below it without touching its parent: an insertion (ins_len > 0) cannot
 * split it; a deletion of one entry (ins_len <= 0: a write search may end
 * in ctree_del_item, of the leaf's item at its slot) cannot empty it or
 * make it merge with a neighbour (ctree_del_item's and merge_node's
 * thresholds). A leaf about to lose a run of items (CTREE_DEL_RUN) is
 * never safe: its parent is held.
 */
static int block_safe(const struct ctree_path *p, int level, int ins_len)
{
	const struct tree_block *b = p->nodes[level];
	u32 n = tb_nritems(b), cap = leaf_capacity(b->len), slot;

	if (level > 0)
		return ins_len > 0 ? n + 3 < node_capacity(b->len) :
				     n >= 2 && n > node_capacity(b->len) / 4;
	if (ins_len > 0)
		return leaf_free_space(b) >= (u32)ins_len;
	if (ins_len == CTREE_DEL_RUN || n < 2)
		return 0;
	slot = (u32)p->slots[0] < n ? (u32)p->slots[0] : n - 1;
	return leaf_free_space(b) + items_bytes(b, slot, slot + 1) <=
	       cap - cap / 4;
}

/*
 * Whether the change at the path's block at level may reach its parent:
 * the block is held for write (a block held for read does not change) and
 * is not safe (block_safe), or the path goes through its first entry, whose
 * key is its parent's key for it (fix_low_keys).
 */
static int needs_parent(const struct ctree_path *p, int level, int ins_len)
{
	return parent_of(p, level) && p->locks[level] == TB_WRITE &&
	       (p->slots[level] == 0 || !block_safe(p, level, ins_len));
}

/* Read the level of the tree's root from its record (a hint: the
 * root may move before it is locked). */
static int root_level(struct ctree_root *root)
{
	int level;

	spin_lock(&root->lock);
	level = root->level;
	spin_unlock(&root->lock);
	return level;
}

/* Lock the root block into the path: for write when its level is at most
 * wl, else for read (a committed root for read: not at all). Returns its
 * level, or <0. */
static int lock_top(struct ctree_root *root, int wl, struct ctree_path *p)
{
	int mode = root_level(root) <= wl ? TB_WRITE : TB_READ, held, ret;
	struct tree_block *b;

	for (;;) {
		ret = ctree_lock_root(root, mode, &b, &held);
		if (ret)
			return ret;
		if (mode == TB_WRITE || tb_level(b) > wl)
			break;
		/* The root grew down meanwhile: take it for write. */
		if (held)
			tb_unlock(b, held);
		tree_block_put(b);
		mode = TB_WRITE;
	}
	ctree_path_set(p, tb_level(b), b, held);
	return tb_level(b);
}

/*
 * Search root for key, copying every block on the path that this
 * transaction did not make, and with ins_len > 0 make room for that many
 * bytes (item header + data) at the leaf slot. Returns 0 found, 1 not
 * found, <0. The path's leaf is then writable and locked for write, and
 * so is every block above it that the change may still reach (see
 * block_safe and needs_parent); the path let go of the others.
 *
 * Locking (docs/LOCKING.md): the blocks at levels up to wl are locked for
 * write, those above for read, and coupled: once a block is locked and
 * found not to need its parent, the path lets go of every block above it.
 * wl starts at 0 (the leaf): a tree whose upper blocks this transaction
 * already copied is changed with only read locks above the leaf's
 * parent, so writers of other leaves pass. When a block turns out to
 * need more (a copy, which rewrites its parent's pointer; a split or
 * push; a change that reaches its parent), the search starts again from
 * the root with wl raised to that level.
 */
int ctree_search_write(struct trans *t, struct ctree_root *root,
		       const struct key *key, struct ctree_path *p,
		       int ins_len)
{
	u32 maxp = node_capacity(root->fs->nodesize);
	struct tree_block *b;
	int ret, slot, level, rounds = 0, pushed = 0, wl = 0, need;

again:
	if (++rounds > 64 + BTRFS_MAX_LEVEL) {
		pr_err("tree %llu: no room found for an item of %d bytes",
		       (unsigned long long)root->objectid, ins_len);
		return -EUCLEAN;
	}
	ctree_path_release(p);
	p->root = root;
	level = lock_top(root, wl, p);
	if (level < 0)
		return level;
	for (;; level--) {
		struct tree_block *parent = parent_of(p, level);

		/* A copy, a split and a change reaching the parent all
		 * write the parent (the root record for the root). */
		need = parent ? level + 1 : level;
		if (needs_cow(t, root, p->nodes[level])) {
			if (need > wl)
				goto raise;
			ret = cow_block(t, root, &p->nodes[level], parent,
					parent ? p->slots[level + 1] : 0);
			if (ret)
				goto out_release;
		}
		b = p->nodes[level];
		ret = ctree_bin_search(b, key, &slot);
		if (level > 0 && ret && slot > 0)
			slot--;
		p->slots[level] = slot;
		if (needs_parent(p, level, ins_len)) {
			if (p->locks[level + 1] != TB_WRITE)
				goto raise;
		} else {
			ctree_path_let_go_above(p, level);
		}
		if (level == 0)
			break;
		if (ins_len > 0 && tb_nritems(b) + 3 >= maxp) {
			if (need > wl)
				goto raise;
			ret = split_node(t, root, p, level);
			if (ret)
				goto out_release;
			goto again;
		}
		ret = ctree_lock_child(p, b, slot,
				       level - 1 <= wl ? TB_WRITE : TB_READ,
				       &b);
		if (ret)
			goto out_release;
	}
	if (ins_len > 0 && leaf_free_space(b) < (u32)ins_len) {
		/*
		 * Bytes that extend a found item come after it. Push once
		 * per search: between our rounds another writer may push
		 * the items back to make its own room, and two such
		 * writers must not trade items for ever.
		 */
		ret = pushed ? 1 : push_leaf(t, root, p, (u32)slot + (ret == 0),
					     (u32)ins_len);
		pushed |= ret == 0;
		if (ret == 1)
			ret = split_leaf(t, root, p, key, (u32)ins_len);
		/* A key needing a leaf of its own (before or after every
		 * item of a leaf that lacked room) is not in the tree. */
		if (ret == 2)
			return 1;
		if (ret)
			goto out_release;
		goto again;
	}
	return ret;

raise:
	wl = need;	/* rises each time: at most once per level */
	goto again;

out_release:
	ctree_path_release(p);
	return ret;
}

/*
 * Insert an item of size zeroed bytes with key; the path then points at
 * it. Returns 0, -EEXIST when the key is there, or <0.
 */
int ctree_insert_empty(struct trans *t, struct ctree_root *root,
		       struct ctree_path *p, const struct key *key, u32 size)
{
	int ret;

	if (size + ITEM_SIZE > leaf_capacity(root->fs->nodesize))
		return -EOVERFLOW;
	ret = ctree_search_write(t, root, key, p, (int)(size + ITEM_SIZE));
	if (ret < 0)
		return ret;
	if (ret == 0) {
		ctree_path_release(p);
		return -EEXIST;
	}
	leaf_insert_item(p->nodes[0], (u32)p->slots[0], key, size);
	if (p->slots[0] == 0)
		fix_low_keys(p, 1, key);
	return 0;
}

/* Insert an item with its data. Returns 0, -EEXIST or <0. */
int ctree_insert_item(struct trans *t, struct ctree_root *root,
		      const struct key *key, const void *data, u32 size)
{
	struct ctree_path p;
	u32 got;
	int ret;

	ctree_path_init(&p);
	ret = ctree_insert_empty(t, root, &p, key, size);
	if (ret == 0 && size)
		memcpy(ctree_item_ptr_w(&p, &got), data, size);
	ctree_path_release(&p);
	return ret;
}

/* Grow the item at the path by extra zero bytes at its end. The path must
 * come from ctree_search_write(..., extra) or have the room. */
int ctree_extend_item(struct trans *t, struct ctree_root *root,
		      struct ctree_path *p, u32 extra)
{
	(void)t;
	(void)root;
	if (leaf_free_space(p->nodes[0]) < extra)
		return -ENOSPC;
	leaf_extend_item(p->nodes[0], (u32)p->slots[0], extra);
	return 0;
}

/* Shrink the item at the path to new_size bytes (cutting the end). */
void ctree_truncate_item(struct ctree_path *p, u32 new_size)
{
	leaf_truncate_item(p->nodes[0], (u32)p->slots[0], new_size);
}

/* Change the key of the item at the path; the caller keeps key order. */
void ctree_set_item_key(struct ctree_path *p, const struct key *k)
{
	leaf_set_key(p->nodes[0], (u32)p->slots[0], k);
	if (p->slots[0] == 0)
		fix_low_keys(p, 1, k);
}

/* Unlink and free, after the caller's path is done, block b. */
static int drop_block(struct trans *t, struct ctree_root *root,
		      struct tree_block *b)
{
	int ret = extent_free_tree_block(t, root, b, 1);

	if (ret)
		trans_abort(t, ret);
	return ret;
}

/*
 * While the root is a node with one child, make the child the root. Runs
 * with no path held: it locks the root afresh.
 */
static int collapse_root(struct trans *t, struct ctree_root *root)
{
	struct tree_block *r = NULL, *c;
	int ret = write_root(t, root, &r);

	while (ret == 0 && tb_level(r) > 0 && tb_nritems(r) == 1) {
		ret = cow_child(t, root, r, 0, &c);
		if (ret)
			break;
		link_block(root, NULL, 0, c);
		ret = drop_block(t, root, r);
		unlock_put(r);
		r = c;
	}
	if (r)
		unlock_put(r);
	if (ret)
		trans_abort(t, ret);
	return ret;
}

/* Make an empty leaf the whole tree, freeing the old root node. */
static int empty_tree(struct trans *t, struct ctree_root *root,
		      struct ctree_path *p, int level)
{
	struct tree_block *top = p->nodes[level + 1], *leaf;
	int ret;

	if (level == 0) {
		link_block(root, NULL, 0, p->nodes[0]);
		return drop_block(t, root, top);
	}
	ret = extent_alloc_tree_block(t, root, 0, &leaf);
	if (ret)
		return ret;
	link_block(root, NULL, 0, leaf);
	tree_block_put(leaf);
	ret = drop_block(t, root, p->nodes[level]);
	return ret ? ret : drop_block(t, root, top);
}

/*
 * Merge the node p->nodes[level], which just lost a pointer, with a
 * neighbour when it is under a quarter full and the two fit in three
 * quarters of a node (room left, so the next insert does not split them
 * again); then its parent, which lost one in turn. When they do not fit,
 * even them out instead. Nodes only: leaves merge in merge_leaf().
 */
static int merge_node(struct trans *t, struct ctree_root *root,
		      struct ctree_path *p, int level)
{
	struct tree_block *b = p->nodes[level], *parent = p->nodes[level + 1];
	struct tree_block *s, *l, *r;
	u32 maxp = node_capacity(b->len), pslot, n;
	int right, ret;

	if (!parent || tb_nritems(b) >= maxp / 4 || tb_nritems(parent) < 2)
		return 0;
	pslot = (u32)p->slots[level + 1];
	right = pslot + 1 < tb_nritems(parent);
	ret = cow_child(t, root, parent, (int)(right ? pslot + 1 : pslot - 1),
			&s);
	if (ret) {
		trans_abort(t, ret);	/* ctree_del_item's contract */
		return ret;
	}
	l = right ? b : s;
	r = right ? s : b;
	n = tb_nritems(l);
	if (n + tb_nritems(r) > maxp - maxp / 4) {
		even_out(parent, right ? pslot + 1 : pslot, l, r);
		unlock_put(s);
		return 0;
	}
	memcpy(tb_ptr_desc_w(l, n), tb_ptr_desc(r, 0),
	       tb_nritems(r) * PTR_SIZE);
	tb_set_nritems(l, n + tb_nritems(r));
	tb_set_nritems(r, 0);
	node_del_ptr(parent, right ? pslot + 1 : pslot);
	ret = drop_block(t, root, r);
	unlock_put(s);
	return ret ? ret : merge_node(t, root, p, level + 1);
}

/* Remove the empty block p->nodes[level] from its parent and free it. */
static int remove_block(struct trans *t, struct ctree_root *root,
			struct ctree_path *p, int level)
{
	struct tree_block *b = p->nodes[level], *parent = p->nodes[level + 1];
	u32 pslot = (u32)p->slots[level + 1];
	struct key k;
	int ret;

	if (tb_nritems(parent) == 1) {
		if (!p->nodes[level + 2])
			return empty_tree(t, root, p, level);
		ret = drop_block(t, root, b);
		return ret ? ret : remove_block(t, root, p, level + 1);
	}
	node_del_ptr(parent, pslot);
	if (pslot == 0) {
		tb_node_key(parent, 0, &k);
		fix_low_keys(p, level + 2, &k);
	}
	ret = drop_block(t, root, b);
	return ret ? ret : merge_node(t, root, p, level + 1);
}

/* Merge a sparse leaf with a neighbour when both fit in one leaf, else
 * even the two out. */
static int merge_leaf(struct trans *t, struct ctree_root *root,
		      struct ctree_path *p)
{
	struct tree_block *l = p->nodes[0], *parent = p->nodes[1], *s;
	u32 pslot = (u32)p->slots[1];
	int right = pslot + 1 < tb_nritems(parent), ret;

	if (!right && pslot == 0)
		return 0;
	ret = cow_child(t, root, parent, (int)(right ? pslot + 1 : pslot - 1),
			&s);
	if (ret) {
		trans_abort(t, ret);	/* ctree_del_item's contract */
		return ret;
	}
	if (right && items_bytes(s, 0, tb_nritems(s)) <= leaf_free_space(l)) {
		leaf_move_items(l, tb_nritems(l), s, 0, tb_nritems(s));
		node_del_ptr(parent, pslot + 1);
		ret = drop_block(t, root, s);
	} else if (!right &&
		   items_bytes(l, 0, tb_nritems(l)) <= leaf_free_space(s)) {
		leaf_move_items(s, tb_nritems(s), l, 0, tb_nritems(l));
		node_del_ptr(parent, pslot);
		ret = drop_block(t, root, l);
	} else {
		if (right)
			even_out(parent, pslot + 1, l, s);
		else
			even_out(parent, pslot, s, l);
		unlock_put(s);
		return 0;
	}
	unlock_put(s);
	return ret ? ret : merge_node(t, root, p, 1);
}

/* Whether the path holds for write every block that deleting nr items
 * from its slot may change (needs_parent, level by level up). */
static int holds_for_delete(const struct ctree_path *p, u32 nr)
{
	int level;

	for (level = 0; needs_parent(p, level, nr > 1 ? CTREE_DEL_RUN : -1);
	     level++)
		if (p->locks[level + 1] != TB_WRITE)
			return 0;
	return 1;
}

/*
 * Search the item at the path again for deleting it, when the path let go
 * of a block the deletion changes (the caller moved the slot from where
 * it searched, or searched to insert). The item keeps its key meanwhile:
 * its caller's own locks (an inode's, ns_lock, the commit's trans_sem)
 * keep other changes off it. 0, or <0 with the path released.
 */
static int search_again(struct trans *t, struct ctree_root *root,
			struct ctree_path *p, int ins_len)
{
	struct key k;
	int ret;

	ctree_item_key(p, &k);
	ret = ctree_search_write(t, root, &k, p, ins_len);
	if (ret == 1) {
		pr_err("tree %llu: item (%llu %u %llu) vanished before its "
		       "deletion", (unsigned long long)root->objectid,
		       (unsigned long long)k.objectid, k.type,
		       (unsigned long long)k.offset);
		ctree_path_release(p);
		ret = -EUCLEAN;
	}
	return ret;
}

/*
 * Delete nr items of the leaf from the one the path points at (the path
 * comes from ctree_search_write, with CTREE_DEL_RUN when nr > 1) and
 * rebalance: one move of the leaf's contents for the whole run, not one
 * an item. The path is released. Returns 0 or <0 (the transaction is
 * then aborted).
 */
int ctree_del_items(struct trans *t, struct ctree_root *root,
		    struct ctree_path *p, u32 nr)
{
	struct tree_block *l;
	u32 cap;
	struct key k;
	int ret = 0, shrunk = 0;

	if (!holds_for_delete(p, nr)) {
		ret = search_again(t, root, p, nr > 1 ? CTREE_DEL_RUN : -1);
		if (ret) {
			trans_abort(t, ret);
			return ret;
		}
	}
	l = p->nodes[0];
	cap = leaf_capacity(l->len);
	if ((u32)p->slots[0] + nr > tb_nritems(l)) {
		ctree_path_release(p);
		trans_abort(t, -EUCLEAN);
		return -EUCLEAN;
	}
	leaf_del_items(l, (u32)p->slots[0], nr);
	if (!p->nodes[1])
		goto out;
	if (tb_nritems(l) == 0) {
		ret = remove_block(t, root, p, 0);
		shrunk = 1;
		goto out;
	}
	if (p->slots[0] == 0) {
		tb_item_key(l, 0, &k);
		fix_low_keys(p, 1, &k);
	}
	if (leaf_free_space(l) > cap - cap / 4) {
		ret = merge_leaf(t, root, p);
		shrunk = 1;
	}
out:
	ctree_path_release(p);
	if (ret == 0 && shrunk)
		ret = collapse_root(t, root);
	return ret;
}

/* Delete the item the path points at (ctree_del_items of one). */
int ctree_del_item(struct trans *t, struct ctree_root *root,
		   struct ctree_path *p)
{
	return ctree_del_items(t, root, p, 1);
}

/* Give root a new empty leaf as its whole tree (a tree being created). */
int ctree_create_empty(struct trans *t, struct ctree_root *root)
{
	struct tree_block *leaf;
	int ret = extent_alloc_tree_block(t, root, 0, &leaf);

	if (ret)
		return ret;
	link_block(root, NULL, 0, leaf);
	tree_block_put(leaf);
	return 0;
}

/*
 * Delete the item with key k from root. Returns 0, -EUCLEAN when there
 * is none (the caller knew it was there), or <0.
 */
int ctree_del_key(struct trans *t, struct ctree_root *root,
		  const struct key *k)
{
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(t, root, k, &p, 0);
	if (ret == 0)
		return ctree_del_item(t, root, &p);
	ctree_path_release(&p);
	return ret == 1 ? -EUCLEAN : ret;
}
