/*
 * Defrag, one step: point one tree's file extent items at the new copies
 * of the data (defrag.c made them) while keeping every tree block shared
 * that was shared.
 *
 * The tree is walked from its root block. A leaf changes when one of its
 * file extent items lies wholly inside a piece of old data that was
 * copied (defrag_piece_find); a node changes when a child changed. The
 * result of every block is remembered across steps (d->memo: old address
 * and generation -> address to use), so a block that N trees share is
 * read and copied once: the first tree to reach it makes the copy, every
 * later tree's parent points at the same copy. Blocks that did not change
 * are remembered too, so each distinct block is read once per pass. A
 * remembered copy is used only while it is still there (copy_alive).
 *
 * A changed block becomes:
 *  - made by this transaction (dirty, its generation): fixed in place,
 *    its references dropped before and queued again after;
 *  - the root block: a copy owned by the tree with normal references,
 *    as copy-on-write makes it (the old root's references go with it);
 *  - a block more than one parent points at, one already FULL_BACKREF,
 *    or one another tree owns: a copy flagged FULL_BACKREF, so that what
 *    it points to is referenced by its address, whichever trees reach
 *    it: its references are right for every tree that will point at it,
 *    in this step and the later ones. (Case 3d of the reference turns it
 *    back into a normal block when one tree later copies it.)
 *  - any other block (one parent, this tree's own, normal references):
 *    a copy with normal references, the tree's as the old block's were.
 *    Its one parent is copied once too, so no other parent will point at
 *    it. It must not be FULL_BACKREF: a block younger than the tree's
 *    last snapshot is taken by copy-on-write to be unshared with normal
 *    references without looking (extent_alloc.c, can_be_shared, as
 *    Linux's btrfs_block_can_be_shared), so the shared refs a
 *    FULL_BACKREF copy gave what it points to would be left naming a
 *    freed block (btrfs check: "bad full backref", and later drops of the
 *    normal refs that were never made fail: -EUCLEAN).
 * A copy keeps the old block's bytes but for its address and pointers,
 * generation included (as relocation's copies do): sharing detection
 * (last_snapshot) and send's generation tests see what they saw. (A
 * block that is shared or another tree's is never younger than the last
 * snapshot of a tree reaching it, so its FULL_BACKREF copy is looked up.)
 *
 * Freeing: an old block loses a reference when a block pointing at it
 * is replaced or freed; when none is left (extent_lookup_info counts the
 * queued changes) its own references go too, down through the blocks
 * defrag replaced. Only this tree's blocks can lose their last reference
 * in its step, so the steps that follow see a consistent extent tree at
 * each commit: trees not yet stepped still point at the old blocks and
 * the old data, which stay until the last of them moved. An old block
 * this tree owned that other trees still share turns FULL_BACKREF
 * (unown_shared), as copy-on-write's case 3b does: its owner no longer
 * reaches it, so no normal reference of the owner may stay on what it
 * points to. Shared means by itself or through any block above it (a
 * leaf with one reference, under a node the snapshots share): the walk
 * copies children before their parent, so it carries that down (kept).
 *
 * A step's walk may be bounded (d->budget: blocks copied, and blocks
 * whose last reference the tree gives up, as those are freed with what
 * they hold): it then stops before a child, leaving that child and all
 * after it as they are, and the next step walks the same tree again
 * from that child's key (d->resume), leaving what lies before as it
 * is. Each commit's tree is whole and right in between: part of it
 * points at the copies, the rest at the old blocks, which stay. A
 * remembered copy of a node is not taken where the tree holds the
 * node's last reference (walk_last_node): that would free the node and
 * everything under it defrag replaced in one step (the last snapshot's
 * step did so); the node is walked and each child charged instead. A node
 * the walk stopped inside is not remembered for the other trees (its
 * copy still points at old blocks); the copy is, once a later step went
 * through it whole (remember).
 *
 * Runs inside a commit (trans_commit_with): no change runs meanwhile.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>

#include "ctree_write.h"
#include "defrag_int.h"
#include "extent_tree.h"
#include "fs_info.h"
#include "tree_block.h"
#include "transaction.h"

#define FE_SIZE ((u32)sizeof(struct d_file_extent_item))

/* ------------------------------------------------------------- memo */

/* 1 with *to set when block x of generation gen was seen, else 0. */
static int memo_get(const struct u64map *m, u64 x, u64 gen, u64 *to)
{
	u64 v[2];		/* generation, address to use */

	if (u64map_get(m, x, v) || v[0] != gen)
		return 0;	/* not seen, or the address was reused */
	*to = v[1];
	return 1;
}

static int memo_put(struct u64map *m, u64 x, u64 gen, u64 to)
{
	const u64 v[2] = { gen, to };

	return u64map_put(m, x, v);
}

/* ------------------------------------------------------------ items */

/* Whether file extent item fe (size bytes) is a regular, unencoded one:
 * the only kind defrag moves. */
int defrag_plain_item(const u8 *fe, u32 size)
{
	return size >= FE_SIZE &&
	       D_GET8(struct d_file_extent_item, fe, type) ==
	       BTRFS_FILE_EXTENT_REG &&
	       !D_GET8(struct d_file_extent_item, fe, compression) &&
	       !D_GET8(struct d_file_extent_item, fe, encryption) &&
	       !D_GET16(struct d_file_extent_item, fe, other_encoding);
}

/*
 * Whether the item in slot i of leaf b points wholly inside copied data:
 * 1 (and, when out is not NULL, the repointed item in out), 0, or <0.
 */
static int map_item(struct defrag *d, const struct tree_block *b, u32 i,
		    u8 *out)
{
	const u8 *fe = tb_item_data(b, i);
	struct piece *p;
	const struct new_ext *x;
	struct key k;
	u64 disk, at, n;
	int ret;

	tb_item_key(b, i, &k);
	if (k.type != BTRFS_EXTENT_DATA_KEY ||
	    !defrag_plain_item(fe, tb_item_size(b, i)))
		return 0;
	disk = D_GET64(struct d_file_extent_item, fe, disk_bytenr);
	at = disk + D_GET64(struct d_file_extent_item, fe, offset);
	n = D_GET64(struct d_file_extent_item, fe, num_bytes);
	p = disk ? defrag_piece_find(d, at) : NULL;
	if (!p || p->old_ext != disk || at + n > p->old + p->len)
		return 0;
	ret = defrag_piece_ok(d, p);
	if (ret <= 0 || !out)
		return ret;
	x = &d->nx[p->ext];
	memcpy(out, fe, FE_SIZE);
	D_SET64(struct d_file_extent_item, out, disk_bytenr, x->start);
	D_SET64(struct d_file_extent_item, out, disk_num_bytes, x->len);
	D_SET64(struct d_file_extent_item, out, ram_bytes, x->len);
	D_SET64(struct d_file_extent_item, out, offset,
		p->new_ + (at - p->old) - x->start);
	return 1;
}

/* Whether leaf b has an item to repoint: 1, 0 or <0. */
static int leaf_changes(struct defrag *d, const struct tree_block *b)
{
	u32 i, n = tb_nritems(b);
	int ret = 0;

	for (i = 0; i < n && ret == 0; i++)
		ret = map_item(d, b, i, NULL);
	return ret;
}

/* Give the writable block nb its new pointers (v: nodes' children) or
 * repointed items. */
static int fix_block(struct defrag *d, struct tree_block *nb, const u64 *v)
{
	u32 i, n = tb_nritems(nb);
	u8 fe[FE_SIZE];
	int ret = 0;

	for (i = 0; i < n && ret >= 0; i++) {
		if (tb_level(nb) > 0) {
			struct key k;

			tb_node_key(nb, i, &k);
			node_set_ptr(nb, i, &k, v[i], tb_node_ptr_gen(nb, i));
			continue;
		}
		ret = map_item(d, nb, i, fe);
		if (ret == 1) {
			memcpy(tb_item_data_w(nb, i), fe, FE_SIZE);
			d->items++;
		}
	}
	return ret < 0 ? ret : 0;
}

/* ------------------------------------------------------- references */

/* Add (1) or drop (-1) the references b holds on what it points to:
 * shared ones naming b when flags say FULL_BACKREF, else its owner's. */
static int block_refs(struct defrag *d, struct tree_block *b, u64 flags,
		      int sign)
{
	struct ctree_root owner;

	ctree_root_init(&owner, d->fs, tb_owner(b), 0, 0, 0);
	return extent_block_refs(d->t, &owner, b,
				 !!(flags & BTRFS_BLOCK_FLAG_FULL_BACKREF),
				 sign);
}

static int drop_if_unreferenced(struct defrag *d, struct ctree_root *root,
				struct tree_block *b);

/* b's references went (or moved to its new contents): the children it
 * pointed at that defrag replaced may have lost their last one. */
static int drop_children(struct defrag *d, struct ctree_root *root,
			 struct tree_block *b)
{
	u32 i, n = tb_level(b) ? tb_nritems(b) : 0;
	int ret = 0;

	for (i = 0; i < n && ret == 0; i++) {
		u64 c = tb_node_blockptr(b, i), to;
		struct tree_block *cb;

		if (!memo_get(&d->memo, c, tb_node_ptr_gen(b, i), &to) ||
		    to == c)
			continue;	/* unchanged: the new parent holds it */
		ret = ctree_read_child(root, b, (int)i, &cb);
		if (ret == 0) {
			ret = drop_if_unreferenced(d, root, cb);
			tree_block_put(cb);
		}
	}
	return ret;
}

/* When no reference to b is left, drop the references it holds. */
static int drop_if_unreferenced(struct defrag *d, struct ctree_root *root,
				struct tree_block *b)
{
	u64 refs, flags;
	int ret = extent_lookup_info(d->t, b->start, &refs, &flags);

	if (ret || refs)
		return ret;
	d->blocks_freed++;
	ret = block_refs(d, b, flags, -1);
	return ret ? ret : drop_children(d, root, b);
}

/* --------------------------------------------------------- changing */

/* Fix b, made by this transaction, in place (v: new children). */
static int fix_in_place(struct defrag *d, struct ctree_root *root,
			struct tree_block *b, const u64 *v)
{
	struct tree_block *old;
	u64 refs, flags;
	int ret = extent_lookup_info(d->t, b->start, &refs, &flags);

	if (ret == 0)
		ret = tree_block_clone(b, &old);
	if (ret)
		return ret;
	ret = block_refs(d, old, flags, -1);
	if (ret == 0) {
		tb_lock(b, TB_WRITE);
		ret = fix_block(d, b, v);
		tb_unlock(b, TB_WRITE);
	}
	if (ret == 0)
		ret = block_refs(d, b, flags, 1);
	if (ret == 0)
		ret = drop_children(d, root, old);
	tree_block_put(old);
	return ret;
}

/*
 * b, owned by tree root with normal references and kept by other trees
 * (kept: see rewrite), is replaced in root by a copy: root no longer
 * reaches it while trees not yet stepped still do, so what b points to
 * is referenced by its address from now on (case 3b of extent_alloc.c):
 * shared refs added, root's normal ones dropped, b flagged FULL_BACKREF.
 * Else the commit of this step would hold normal refs of root that no
 * block of root holds.
 */
static int unown_shared(struct defrag *d, struct ctree_root *root,
			struct tree_block *b, int kept, u64 flags)
{
	int ret;

	if (!kept || tb_owner(b) != root->objectid ||
	    (flags & BTRFS_BLOCK_FLAG_FULL_BACKREF))
		return 0;
	ret = extent_block_refs(d->t, root, b, 1, 1);
	if (ret == 0)
		ret = extent_block_refs(d->t, root, b, 0, -1);
	return ret ? ret : delayed_ref_set_flags(d->t, b->start,
						 d->fs->nodesize,
						 BTRFS_BLOCK_FLAG_FULL_BACKREF);
}

/* Queue one reference change of tree block bytenr from tree root. */
static int tree_ref(struct defrag *d, u64 root, u64 bytenr, u8 level,
		    long long mod)
{
	struct dref_key k = { 0 };

	k.bytenr = bytenr;
	k.type = BTRFS_TREE_BLOCK_REF_KEY;
	k.root = root;
	k.owner = level;
	return delayed_ref_add(d->t, &k, d->fs->nodesize, 0, mod);
}

/*
 * Copy b to a new block with v's children or repointed items: the root
 * block (is_root) as the tree's own, normal references; a shared block,
 * one already FULL_BACKREF or another tree's as FULL_BACKREF; any other
 * block with b's normal references (the file comment). kept: a block
 * above b stays for other trees (rewrite). *out: the copy's address.
 */
static int copy_block(struct defrag *d, struct ctree_root *root,
		      struct tree_block *b, const u64 *v, int is_root,
		      int kept, u64 *out)
{
	u64 refs, flags, nflags = 0;
	struct tree_block *nb;
	int ret = extent_lookup_info(d->t, b->start, &refs, &flags);

	if (ret == 0 && is_root && (refs != 1 ||
				    (flags & BTRFS_BLOCK_FLAG_FULL_BACKREF)))
		ret = -EUCLEAN;	/* a root block only its tree holds */
	if (ret == 0 && !is_root &&
	    (refs > 1 || (flags & BTRFS_BLOCK_FLAG_FULL_BACKREF) ||
	     tb_owner(b) != root->objectid))
		nflags = BTRFS_BLOCK_FLAG_FULL_BACKREF;
	/* Allocated with a ref from root: the root block's own ref; any
	 * other copy gives it back, its parents hold it. */
	if (ret == 0)
		ret = extent_alloc_tree_block(d->t, root, tb_level(b), &nb);
	if (ret)
		return ret;
	tb_lock(nb, TB_WRITE);
	memcpy(nb->data, b->data, b->len);
	D_SET64(struct d_header, nb->data, bytenr, nb->start);
	ret = fix_block(d, nb, v);
	tb_unlock(nb, TB_WRITE);
	if (ret == 0)
		ret = delayed_ref_set_generation(d->t, nb->start,
						 d->fs->nodesize, 0,
						 tb_generation(b));
	if (ret == 0 && !is_root)
		ret = tree_ref(d, root->objectid, nb->start, tb_level(b), -1);
	if (ret == 0 && !is_root)
		ret = delayed_ref_set_flags(d->t, nb->start, d->fs->nodesize,
					    nflags);
	if (ret == 0)
		ret = block_refs(d, nb, nflags, 1);
	if (ret == 0 && !is_root)
		ret = unown_shared(d, root, b, kept || refs > 1, flags);
	if (ret == 0 && is_root) {
		ret = tree_ref(d, root->objectid, b->start, tb_level(b), -1);
		if (ret == 0)
			ret = drop_if_unreferenced(d, root, b);
	}
	*out = nb->start;
	tree_block_put(nb);
	d->blocks_copied++;
	d->spent++;
	return ret;
}

/* ------------------------------------------------------------- walk */

/*
 * Whether to, the address remembered for block from, still holds the
 * copy made of it: 1, 0 or <0. Between steps the system runs: a copy in
 * a writable tree may have been replaced by copy-on-write, or the last
 * snapshot pointing at one deleted, freeing it, and its space may since
 * hold another block. The block at to must be one of this pass's copies
 * (d->made), of from, and still referenced, flagged FULL_BACKREF as
 * shared copies are. A copy with normal references is never taken
 * again (its space, once freed, could hold such a block): the one parent
 * of its old block is reached first, and that parent's copy is taken
 * instead while alive; when it is not, the old block, still held by that
 * parent, is copied again.
 */
static int copy_alive(struct defrag *d, u64 from, u64 to)
{
	u64 orig, refs, flags;
	int ret;

	if (to == from)
		return 1;	/* unchanged: reached, so still in the tree */
	if (!memo_get(&d->made, to, 0, &orig) || orig != from)
		return 0;
	ret = extent_lookup_info(d->t, to, &refs, &flags);
	if (ret)
		return ret;
	return refs && (flags & BTRFS_BLOCK_FLAG_FULL_BACKREF);
}

static int rewrite(struct defrag *d, struct ctree_root *root,
		   struct tree_block *b, int is_root, int kept, u64 *out);

/*
 * Remember what block b became (out): for dropping what the step
 * replaced (drop_children), and for the other trees reaching b. Not for
 * them while the walk stopped inside it (d->partial): its copy still
 * points at old blocks, which they would keep. A copy that an earlier
 * step of this tree made so (d->made) stands for its original once the
 * walk goes through it whole, so the trees after still share one copy.
 */
static int remember(struct defrag *d, const struct tree_block *b, u64 out)
{
	u64 orig = b->start;
	int ret = memo_put(&d->memo, b->start, tb_generation(b), out);

	memo_get(&d->made, b->start, 0, &orig);
	if (ret == 0 && out != b->start)
		ret = memo_put(&d->made, out, 0, orig);
	if (ret || d->stopped)
		return ret ? ret : u64map_put(&d->partial, b->start, NULL);
	u64map_remove(&d->partial, b->start);
	if (orig != b->start) {
		ret = memo_put(&d->memo, orig, tb_generation(b), out);
		u64map_remove(&d->partial, orig);
	}
	return ret;
}

/* Whether child i of node b lies wholly before key k (where the next
 * child begins): an earlier step of the walk did it. */
static int child_before(const struct tree_block *b, u32 i,
			const struct key *k)
{
	struct key next;

	if (i + 1 >= tb_nritems(b))
		return 0;
	tb_node_key(b, i + 1, &next);
	return key_cmp(&next, k) <= 0;
}

/* Child i of b, at address child, is replaced: when b's tree held its
 * last reference, the step frees it (with what it holds): one block of
 * the step's budget. */
static int charge_free(struct defrag *d, u64 child)
{
	u64 refs, flags;
	int ret = extent_lookup_info(d->t, child, &refs, &flags);

	if (ret == 0 && refs <= 1)
		d->spent++;
	return ret;
}

/* Whether a node the walk knows the copy of must be walked all the same:
 * this tree holds its last reference, so taking the copy would free it
 * and every child of it at once; walked, each child freed is charged. */
static int walk_last_node(struct defrag *d, const struct tree_block *b,
			  u64 child)
{
	u64 refs, flags;
	int ret;

	if (tb_level(b) < 2)
		return 0;	/* a leaf */
	ret = extent_lookup_info(d->t, child, &refs, &flags);
	return ret < 0 ? ret : refs <= 1;
}

/* New addresses of node b's children into v; *changed if any. Children
 * before d->resume are left as they are (an earlier step of this tree
 * did them), and so are all from where d->budget runs out (d->stopped,
 * d->resume: the next step goes on there). kept: other trees keep b
 * (rewrite). */
static int rewrite_children(struct defrag *d, struct ctree_root *root,
			    struct tree_block *b, int kept, u64 *v,
			    int *changed)
{
	u32 i, n = tb_nritems(b);
	int ret = 0;

	for (i = 0; i < n && ret == 0; i++) {
		u64 child = tb_node_blockptr(b, i);
		struct tree_block *c;
		int known;

		v[i] = child;
		if (d->stopped || child_before(b, i, &d->resume))
			continue;
		if (d->spent >= d->budget) {
			d->stopped = 1;
			tb_node_key(b, i, &d->resume);
			continue;
		}
		known = memo_get(&d->memo, child, tb_node_ptr_gen(b, i),
				 &v[i]) &&
			u64map_get(&d->partial, child, NULL) == -ENOENT;

		if (known)
			known = copy_alive(d, child, v[i]);
		if (known > 0 && d->budget != (u32)-1) {
			known = walk_last_node(d, b, child);
			known = known < 0 ? known : !known;
		}
		if (known < 0)
			return known;
		if (!known) {
			ret = ctree_read_child(root, b, (int)i, &c);
			if (ret)
				break;
			ret = rewrite(d, root, c, 0, kept, &v[i]);
			tree_block_put(c);
		}
		if (ret == 0 && v[i] != child) {
			*changed = 1;
			ret = charge_free(d, child);
		}
	}
	return ret;
}

/*
 * Block b of tree root and everything below it: *out is the address to
 * point at instead of b (b->start when nothing changed). kept: a block
 * above b on this path has other references, so it stays, still
 * pointing at b, when root moves to copies: b is then kept by other
 * trees even with one reference of its own (its parent's), and the old
 * blocks below a copied shared node must turn FULL_BACKREF as a shared
 * block does (unown_shared): the walk copies children before their
 * parent, so their reference counts do not show it yet.
 */
static int rewrite(struct defrag *d, struct ctree_root *root,
		   struct tree_block *b, int is_root, int kept, u64 *out)
{
	u32 n = tb_nritems(b);
	u64 *v = NULL, refs = 0, flags;
	int changed = 0, ret = 0;

	if (tb_level(b) > 0) {
		if (!kept)
			ret = extent_lookup_info(d->t, b->start, &refs,
						 &flags);
		if (ret)
			return ret;
		v = kmalloc((n ? n : 1) * sizeof(u64));
		if (!v)
			return -ENOMEM;
		ret = rewrite_children(d, root, b, kept || refs > 1, v,
				       &changed);
	} else {
		ret = leaf_changes(d, b);
		changed = ret == 1;
	}
	*out = b->start;
	if (ret >= 0 && changed) {
		if ((tb_flags(b) & TB_DIRTY) &&
		    tb_generation(b) == d->t->transid)
			ret = fix_in_place(d, root, b, v);
		else
			ret = copy_block(d, root, b, v, is_root, kept, out);
	}
	if (ret >= 0 && !is_root)
		ret = remember(d, b, *out);
	kfree(v);
	return ret < 0 ? ret : 0;
}

/*
 * Point tree root at the copied data, from key d->resume on, until the
 * step has copied or freed d->budget blocks (d->stopped then, d->resume
 * where the next step goes on). *changed: something in it did (its
 * root item is then written by the commit). Caller runs inside the
 * commit, d->t set.
 */
int defrag_tree(struct defrag *d, struct ctree_root *root, int *changed)
{
	struct tree_block *b;
	u64 to, items = d->items;
	int ret;

	*changed = 0;
	d->stopped = 0;
	if (!ctree_root_exists(root))
		return 0;
	ret = ctree_read_root(root, &b);
	if (ret)
		return ret;
	ret = rewrite(d, root, b, 1, 0, &to);
	if (ret == 0 && to != b->start) {
		/* The copy keeps the old root block's generation and level. */
		spin_lock(&root->lock);
		root->bytenr = to;
		root->dirty = 1;
		spin_unlock(&root->lock);
	}
	if (ret == 0)
		*changed = to != b->start || d->items != items;
	tree_block_put(b);
	return ret;
}
