/*
 * The back-reference walker: which roots, inodes and file offsets reach
 * an extent (reference/extent-refs-delayed-refs-qgroups.txt, "Extent
 * refs"). Used by logical-resolve, and later by qgroups (implied refs at
 * a chosen point in time), relocation, defrag and scrub's reports.
 *
 * A data extent's back-references say where to look, not everything that
 * reaches it:
 *  - EXTENT_DATA_REF (root, ino, offset, count): file extent items of ino
 *    in tree root whose key offset minus their extent offset is offset
 *    (one ref stands for all of them: a split extent). The root's tree is
 *    searched from (ino, EXTENT_DATA, offset) for them; each leaf holding
 *    one is a leaf that reaches the extent;
 *  - SHARED_DATA_REF (parent): leaf `parent` holds such items.
 * Every root that reaches one of those leaves reaches the extent, through
 * every item of the leaf that points at it. Which roots reach a block is
 * found upward through the block's own back-references:
 *  - TREE_BLOCK_REF (root): tree root reaches it, and so does whatever
 *    reaches its parent in that tree (a normal ref also stands for the
 *    snapshots sharing the blocks above it): the parent is found by
 *    searching the root's tree for the block's first key;
 *  - SHARED_BLOCK_REF (parent): whatever reaches block `parent` does.
 * The upward walk is breadth first over a set of visited blocks, so a
 * block shared by many snapshots along many paths is resolved once: the
 * cost is one extent-tree lookup per distinct block above the extent
 * (and a search of a tree per normal ref, but for a block right below
 * that tree's root: parent_in_tree), and memory is the set of those
 * blocks and of the roots found. Many walks in one unchanging view (the
 * commit's quota accounting) share a cache (backref_cache.c) and ask
 * only for the set of subvolume trees reaching each extent
 * (backref_root_set): each block's set is then made once for all of
 * them, from its own refs and its parents' sets (block_set), and named
 * by an id in a table of sets held once each (backref_sets.c).
 *
 * Views. BACKREF_CURRENT reads the current trees and adds the running
 * transaction's pending delayed refs to the extent tree's (nothing in the
 * extent tree changes until the commit runs them). A walk reads refs,
 * then trees, then refs again, and a change running meanwhile could move
 * a reference from one to the other between two reads, so the walk holds
 * fs->trans_sem for write while it gathers (a quiet point: no change and
 * no commit runs; changes wait, as for a commit), unless its caller holds
 * trans_sem already (BACKREF_TRANS_HELD: the commit itself, for
 * qgroups). BACKREF_COMMIT reads the last commit's roots only, each
 * search under commit_root_sem held for read for that search alone,
 * keeping a private clone of the leaf; when a commit lands between two
 * searches (fs->generation moved) the walk starts again. All tree
 * reading goes through backref_view_search() and
 * backref_view_read_block() (backref_refs.c), the one place to change
 * for a shared commit-root reading module.
 *
 * Dead roots (root item refs 0: being dropped by the cleaner) still hold
 * normal refs on blocks the cleaner has not reached, which may stand for
 * live snapshots sharing those blocks, so their trees are searched too,
 * but only right of drop_progress (what is left of it is freed and may
 * be reused): data refs are searched from drop_progress on, and a
 * block's parent is searched down to the parent's level only (a node on
 * the drop's path holds keys on both sides of it); the dead root itself
 * is reported only with BACKREF_DEAD_ROOTS.
 *
 * Hits are gathered first, sorted and deduplicated, and handed to the
 * caller's function after every lock is released.
 */
#include <ghee/errno.h>
#include <stdlib.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "backref_int.h"
#include "extent_tree.h"
#include "fs_info.h"
#include "tree_check.h"

/* Uncompressed bytes of a compressed extent, at most (btrfs's bound). */
#define MAX_RAM_BYTES (128u * 1024)
/* Walks restarted because a commit landed, before giving up. */
#define COMMIT_RETRIES 16

/* --------------------------------------------------------- upward */

/* Blocks met by an upward walk, and those still to resolve. */
struct upward {
	struct u64map seen;	/* a set */
	u64 *q;
	u32 n, cap;
};

/* Queue block x unless it was met already. */
static int upward_add(struct upward *u, u64 x)
{
	int ret = backref_set_add(&u->seen, x);

	if (ret != 1)
		return ret;
	ret = array_grow((void **)&u->q, &u->cap, u->n, sizeof(u64));
	if (ret == 0)
		u->q[u->n++] = x;
	return ret;
}

/* The first key of the subvolume-tree block ei; 1 when it is empty. */
static int first_key(struct walk *w, const struct extent_info *ei,
		     struct key *k)
{
	struct tree_block *b;
	int ret = backref_view_read_block(w, ei->bytenr, ei->generation,
					  ei->level, &b);

	if (ret)
		return ret;
	if (tb_nritems(b) == 0)
		ret = 1;
	else if (tb_level(b) == 0)
		tb_item_key(b, 0, k);
	else
		tb_node_key(b, 0, k);
	tree_block_put(b);
	return ret;
}

/* The edges up from one tree block: v holds nroots roots (its normal
 * refs), then nparents blocks above it. */
struct backref_edges {
	u64 *v;
	u32 nroots, nparents, cap;
};

/* Add x to e: a root of its normal refs (root 1), or a block above. */
static int edges_add(struct backref_edges *e, int root, u64 x)
{
	u32 n = e->nroots + e->nparents;
	int ret = array_grow((void **)&e->v, &e->cap, n, sizeof(*e->v));

	if (ret)
		return ret;
	if (!root) {
		e->v[n] = x;
		e->nparents++;
		return 0;
	}
	/* roots first: the first block above moves to the end */
	if (e->nparents)
		e->v[n] = e->v[e->nroots];
	e->v[e->nroots++] = x;
	return 0;
}

/*
 * The parent of block ei in subvolume tree id (*parent 0 when the block
 * is that tree's root, or the tree does not hold it there). *have says
 * whether *k already holds the block's first key.
 *
 * A block one level below the tree's root has the root block as its
 * parent there, which no tree but id reaches (a snapshot copies the
 * root, never shares it): that parent adds nothing to id itself, so it
 * is not searched for. Those are the blocks a snapshot's root points
 * at, the references a snapshot adds, so a block shared by thousands of
 * snapshots costs no search per snapshot.
 */
static int parent_in_tree(struct walk *w, u64 id,
			  const struct extent_info *ei, struct key *k,
			  int *have, u64 *parent)
{
	struct view_q q = { VIEW_PARENT, ei->level, ei->bytenr, NULL, 0, 0 };
	const struct root_rec *rec;
	int ret;

	*parent = 0;
	if (!tree_check_is_subvol_tree(id))
		return 0;
	ret = backref_get_root(w, id, &rec);
	if (ret || rec->level == ei->level + 1)
		return ret;
	if (!*have) {
		ret = first_key(w, ei, k);
		if (ret == 1)
			return 0;	/* empty: a tree's root */
		*have = 1;
	}
	if (ret == 0)
		ret = backref_view_search(w, rec, id, k, &q);
	*parent = q.parent;
	return ret;
}

/*
 * The edges up from block bytenr, into e (emptied first): the roots of
 * its normal refs, and the blocks above it through which more roots
 * reach it (a normal ref's parent in that root's tree, a shared ref's
 * parent).
 */
static int block_edges(struct walk *w, u64 bytenr, struct backref_edges *e)
{
	struct bref_list l = { NULL, 0, 0 };
	struct extent_info ei;
	struct key first;
	u64 parent;
	u32 i;
	int ret, have = 0;

	e->nroots = e->nparents = 0;
	w->st.blocks++;
	ret = backref_collect_refs(w, bytenr, &ei, &l);
	for (i = 0; i < l.n && ret >= 0; i++) {
		if (l.v[i].type == BTRFS_SHARED_BLOCK_REF_KEY) {
			ret = edges_add(e, 0, l.v[i].id);
			continue;
		}
		if (l.v[i].type != BTRFS_TREE_BLOCK_REF_KEY)
			continue;
		ret = parent_in_tree(w, l.v[i].id, &ei, &first, &have,
				     &parent);
		if (ret >= 0)
			ret = edges_add(e, 1, l.v[i].id);
		if (ret >= 0 && parent)
			ret = edges_add(e, 0, parent);
	}
	kfree(l.v);
	return ret < 0 ? ret : 0;
}

/*
 * Add to roots every root that reaches block bytenr, breadth first over
 * the blocks above it, each resolved once: a normal ref's root reaches
 * it, and so does whatever reaches its parent in that root's tree (the
 * ref stands for the snapshots sharing that parent); a shared ref's
 * parent is queued the same way. roots is empty on entry. (A walk with
 * a cache resolves through block_set instead.)
 */
static int resolve_roots(struct walk *w, u64 bytenr, struct u64map *roots)
{
	struct upward u = { .q = NULL, .n = 0, .cap = 0 };
	struct backref_edges e = { NULL, 0, 0, 0 };
	u32 qi, i;
	int ret;

	u64map_init(&u.seen, 0);
	for (ret = upward_add(&u, bytenr), qi = 0; ret >= 0 && qi < u.n;
	     qi++) {
		ret = block_edges(w, u.q[qi], &e);
		for (i = 0; i < e.nroots && ret >= 0; i++)
			ret = backref_set_add(roots, e.v[i]);
		for (; i < e.nroots + e.nparents && ret >= 0; i++)
			ret = upward_add(&u, e.v[i]);
	}
	kfree(u.q);
	kfree(e.v);
	u64map_free(&u.seen);
	return ret < 0 ? ret : 0;
}

/* Put the n roots at v in ascending order. A block's inline refs come
 * highest root first (the order Linux keeps them in, extent_tree.c) and
 * its keyed refs lowest first, so a block with refs of one kind only
 * needs at most a reversal, not a sort. */
static void sort_roots(u64 *v, u32 n)
{
	u32 i, up = 1, down = 1;

	for (i = 1; i < n && (up || down); i++) {
		up &= v[i - 1] < v[i];
		down &= v[i - 1] > v[i];
	}
	if (up)
		return;
	if (!down) {
		qsort(v, n, sizeof(*v), u64_cmp);
		return;
	}
	for (i = 0; i < n / 2; i++) {
		u64 x = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = x;
	}
}

/* The id of the subvolume trees among the n roots at v. */
static int intern_subvols(struct rootsets *rs, u64 *v, u32 n, u32 *id)
{
	u32 i, m = 0;

	sort_roots(v, n);
	for (i = 0; i < n; i++)
		if (tree_check_is_subvol_tree(v[i]) && (!m || v[m - 1] != v[i]))
			v[m++] = v[i];
	return rootsets_intern(rs, v, m, id);
}

/*
 * The set of subvolume trees reaching block bytenr, in the walk's cache
 * (*id in its table): the roots of its normal refs, and the sets of the
 * blocks above it, each found once per cache. Parents are one level up,
 * so this recurses BTRFS_MAX_LEVEL deep at most; deeper is a loop of
 * shared refs in a corrupt extent tree. The root block of a relocation
 * tree names itself as its parent (Linux writes it so): that edge leads
 * to no subvolume. The blocks below one shared node get that node's set
 * id: no work per snapshot.
 */
static int block_set_at(struct walk *w, u64 bytenr, u32 depth, u32 *id)
{
	struct backref_edges e = { NULL, 0, 0, 0 };
	u32 i, n, up, own = 0;
	u64 *ids;
	int ret;

	if (backref_cache_set(w->cache, bytenr, id) == 0)
		return 0;
	if (depth > BTRFS_MAX_LEVEL)
		return -EUCLEAN;
	ret = block_edges(w, bytenr, &e);
	if (ret == 0)
		ret = intern_subvols(w->cache->rs, e.v, e.nroots, &own);
	/* each parent's set id in place of its address (one a relocation
	 * root names as its own parent adds nothing), then own's in a slot
	 * added at the end; their union is the block's set */
	n = e.nparents;
	if (ret == 0)
		ret = edges_add(&e, 0, 0);
	ids = e.v + e.nroots;
	for (i = 0; i < n && ret == 0; i++) {
		up = 0;
		if (ids[i] != bytenr)
			ret = block_set_at(w, ids[i], depth + 1, &up);
		ids[i] = up;
	}
	if (ret == 0) {
		ids[n] = own;
		ret = rootsets_union_ids(w->cache->rs, ids, n + 1, id);
	}
	if (ret == 0)
		ret = backref_cache_put_set(w->cache, bytenr, *id);
	kfree(e.v);
	return ret;
}

static int block_set(struct walk *w, u64 bytenr, u32 *id)
{
	return block_set_at(w, bytenr, 0, id);
}

/* ------------------------------------------------------------ data */

static int fitem_points_at(const struct tree_block *b, u32 i, u64 bytenr)
{
	struct key k;
	const u8 *fe = tb_item_data(b, i);
	u8 type;

	tb_item_key(b, i, &k);
	if (k.type != BTRFS_EXTENT_DATA_KEY ||
	    tb_item_size(b, i) < sizeof(struct d_file_extent_item))
		return 0;
	type = D_GET8(struct d_file_extent_item, fe, type);
	return (type == BTRFS_FILE_EXTENT_REG ||
		type == BTRFS_FILE_EXTENT_PREALLOC) &&
	       D_GET64(struct d_file_extent_item, fe, disk_bytenr) == bytenr;
}

/* A new record for the leaf at bytenr leaf in *li (NULL when the walk
 * has one already). */
static int leaf_rec(struct walk *w, u64 leaf, struct leaf_items **li)
{
	u32 i;
	int ret;

	*li = NULL;
	for (i = 0; i < w->nleaves; i++)
		if (w->leaves[i].bytenr == leaf)
			return 0;
	ret = array_grow((void **)&w->leaves, &w->leaves_cap, w->nleaves,
			   sizeof(*w->leaves));
	if (ret)
		return ret;
	*li = &w->leaves[w->nleaves++];
	(*li)->bytenr = leaf;
	(*li)->v = NULL;
	(*li)->n = 0;
	w->st.leaves++;
	return 0;
}

/* Record leaf b's items pointing at the extent (once per leaf). With a
 * cache the walk asks only which leaves hold one (leaves_set), so they
 * are not listed: a leaf's extents would each scan the whole leaf. */
static int leaf_add(struct walk *w, const struct tree_block *b, u64 bytenr)
{
	struct leaf_items *li;
	u32 i, n = 0, nr = tb_nritems(b);
	int ret = leaf_rec(w, b->start, &li);

	if (ret || !li)
		return ret;
	if (w->cache) {
		li->n = 1;	/* its caller found one */
		return 0;
	}
	li->v = kmalloc((nr + 1) * sizeof(*li->v));
	if (!li->v)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		const u8 *fe = tb_item_data(b, i);
		struct key k;

		if (!fitem_points_at(b, i, bytenr))
			continue;
		tb_item_key(b, i, &k);
		li->v[n].ino = k.objectid;
		li->v[n].key_offset = k.offset;
		li->v[n].extent_offset = D_GET64(struct d_file_extent_item,
						 fe, offset);
		li->v[n++].num_bytes = D_GET64(struct d_file_extent_item, fe,
					       num_bytes);
	}
	li->n = n;
	return 0;
}

/*
 * Find the leaves of tree root holding file extent items that an
 * EXTENT_DATA_REF (root, ino, offset) stands for: items of ino pointing
 * at the extent whose key offset minus extent offset is offset. Their
 * key offsets lie in [offset, offset + the extent's uncompressed size),
 * modulo 2^64: a clone can put an item at a file offset below its extent
 * offset, and offset then wrapped below zero (Linux's clone makes such
 * refs too); its items lie in [0, offset + size wrapped).
 */
static int search_data_ref(struct walk *w, const struct bref *r,
			   const struct extent_info *ei)
{
	u64 span = ei->len > MAX_RAM_BYTES ? ei->len : MAX_RAM_BYTES;
	u64 end = r->offset + span;
	struct key k = { r->ino, BTRFS_EXTENT_DATA_KEY,
			 end < r->offset ? 0 : r->offset };
	struct view_q q = { VIEW_GE, 0, 0, NULL, 0, 0 };
	const struct root_rec *rec;
	struct tree_block *leaf;
	int ret = backref_get_root(w, r->id, &rec), slot, done = 0;

	if (ret)
		return ret;
	if (rec->dead && key_cmp(&k, &rec->drop) < 0)
		k = rec->drop;
	while (!done) {
		u32 i, nr;
		int added = 0;

		ret = backref_view_search(w, rec, r->id, &k, &q);
		if (ret)
			return ret == 1 ? 0 : ret;
		leaf = q.leaf;
		slot = q.slot;
		nr = tb_nritems(leaf);
		/* Past the first item of the ref, the leaf's items are
		 * looked at only for where the ref's items end: when that
		 * is in this leaf the next leaf is not searched. */
		for (i = (u32)slot; i < nr && ret == 0; i++) {
			const u8 *fe = tb_item_data(leaf, i);

			tb_item_key(leaf, i, &k);
			if (k.objectid != r->ino || k.offset >= end ||
			    k.type != BTRFS_EXTENT_DATA_KEY) {
				done = 1;
				break;
			}
			if (!added && fitem_points_at(leaf, i, ei->bytenr) &&
			    k.offset - D_GET64(struct d_file_extent_item, fe,
					       offset) == r->offset) {
				ret = leaf_add(w, leaf, ei->bytenr);
				added = 1;
			}
		}
		tb_item_key(leaf, nr - 1, &k);
		tree_block_put(leaf);
		if (ret)
			return ret;
		key_next_after(&k);
	}
	return 0;
}

/* Add the leaf a SHARED_DATA_REF names. With a cache that is all: the
 * ref says the leaf holds items pointing at the extent, and the set is
 * the leaf's (leaves_set), so the leaf is not read. */
static int shared_data_ref(struct walk *w, u64 parent, u64 bytenr)
{
	struct extent_info pi;
	struct leaf_items *li;
	struct tree_block *leaf;
	u32 i;
	int ret;

	if (w->cache) {
		ret = leaf_rec(w, parent, &li);
		if (ret == 0 && li)
			li->n = 1;
		return ret;
	}
	for (i = 0; i < w->nleaves; i++)
		if (w->leaves[i].bytenr == parent)
			return 0;
	/* its extent item only (generation, level): not its refs, one per
	 * snapshot sharing the leaf, read again for each of its extents */
	ret = backref_collect_refs(w, parent, &pi, NULL);
	if (ret == 0 && (!pi.found || pi.is_data || pi.level != 0)) {
		pr_err("backref: extent %llu: shared ref names %llu, which "
		       "is not a leaf", (unsigned long long)bytenr,
		       (unsigned long long)parent);
		ret = -EUCLEAN;
	}
	if (ret == 0)
		ret = backref_view_read_block(w, parent, pi.generation, 0,
					      &leaf);
	if (ret == 0) {
		ret = leaf_add(w, leaf, bytenr);
		tree_block_put(leaf);
	}
	return ret;
}

/* Whether root id is reported, and *dead. */
static int root_wanted(struct walk *w, u64 id, int *dead)
{
	const struct root_rec *rec;
	int ret;

	*dead = 0;
	if (!tree_check_is_subvol_tree(id))
		return 1;
	ret = backref_get_root(w, id, &rec);
	if (ret)
		return ret;
	*dead = rec->dead;
	return !rec->dead || (w->flags & BACKREF_DEAD_ROOTS);
}

static int hit_add(struct walk *w, u64 root, u64 ino, u64 offset, int dead)
{
	int ret = array_grow((void **)&w->hits, &w->hits_cap, w->nhits,
			       sizeof(*w->hits));

	if (ret)
		return ret;
	w->hits[w->nhits].root = root;
	w->hits[w->nhits].ino = ino;
	w->hits[w->nhits].offset = offset;
	w->hits[w->nhits++].dead = dead;
	return 0;
}

/* Hits of one root reaching leaf li: each item's offset, unless the
 * root is not wanted. */
static int root_hits(struct walk *w, const struct leaf_items *li, u64 pos,
		     u64 root)
{
	u32 i;
	int ret = 0, dead, want = root_wanted(w, root, &dead);

	if (want < 0)
		return want;
	for (i = 0; want == 1 && i < li->n && ret == 0; i++) {
		const struct fitem *f = &li->v[i];
		u64 off = f->key_offset;

		if (!(w->flags & BACKREF_IGNORE_OFFSET)) {
			if (pos < f->extent_offset ||
			    pos - f->extent_offset >= f->num_bytes)
				continue;
			off += pos - f->extent_offset;
		}
		ret = hit_add(w, root, f->ino, off, dead);
	}
	return ret;
}

/* Hits of one leaf: each wanted root reaching it, each item's offset. */
static int leaf_hits(struct walk *w, const struct leaf_items *li, u64 pos)
{
	struct u64map set;
	u64 root;
	u32 at = 0;
	int ret;

	u64map_init(&set, 0);
	ret = resolve_roots(w, li->bytenr, &set);
	while (ret == 0 && u64map_next(&set, &at, &root, NULL))
		ret = root_hits(w, li, pos, root);
	u64map_free(&set);
	return ret;
}

/* With a cache: the set of subvolume trees reaching the leaves found
 * (w->set), the union of theirs (mostly one id: no work per root). A
 * leaf none of whose items points at the extent adds nothing. */
static int leaves_set(struct walk *w)
{
	u32 i, id;
	int ret = 0;

	w->set = 0;
	for (i = 0; i < w->nleaves && ret == 0; i++) {
		if (!w->leaves[i].n)
			continue;
		ret = block_set(w, w->leaves[i].bytenr, &id);
		if (ret == 0)
			ret = rootsets_union(w->cache->rs, w->set, id,
					     &w->set);
	}
	return ret;
}

/*
 * Find the data extent holding logical: the last extent item at or
 * before it. -ENOENT when none does (a tree block is no data extent).
 */
static int find_extent(struct walk *w, u64 logical, u64 *bytenr)
{
	struct key k = { logical, BTRFS_METADATA_ITEM_KEY, (u64)-1 };
	struct view_q q = { VIEW_LE, 0, 0, NULL, 0, 0 };
	struct tree_block *leaf;
	int slot, ret, tries;
	u64 flags;

	for (tries = 0; tries < 8; tries++) {
		ret = backref_view_search(w, NULL, BTRFS_EXTENT_TREE_OBJECTID,
					  &k, &q);
		if (ret)
			return ret == 1 ? -ENOENT : ret;
		leaf = q.leaf;
		slot = q.slot;
		tb_item_key(leaf, (u32)slot, &k);
		if (k.type == BTRFS_EXTENT_ITEM_KEY ||
		    k.type == BTRFS_METADATA_ITEM_KEY)
			break;
		tree_block_put(leaf);
		/* A keyed ref or block group item: its objectid's extent
		 * item, if any, sorts just before it. */
		if (k.type < BTRFS_EXTENT_ITEM_KEY && k.objectid-- == 0)
			return -ENOENT;
		k.type = BTRFS_METADATA_ITEM_KEY;
		k.offset = (u64)-1;
	}
	if (tries == 8)
		return -ENOENT;
	flags = D_GET64(struct d_extent_item, tb_item_data(leaf, (u32)slot),
			flags);
	tree_block_put(leaf);
	if (k.type == BTRFS_METADATA_ITEM_KEY ||
	    (flags & BTRFS_EXTENT_FLAG_TREE_BLOCK))
		return -ENOENT;
	if (logical - k.objectid >= k.offset)
		return -ENOENT;
	*bytenr = k.objectid;
	return 0;
}

/* The data extent holding logical that the running transaction made
 * (its extent item is only pending). */
static int find_pending_extent(struct walk *w, u64 logical, u64 *bytenr)
{
	struct dref_head *h;

	spin_lock(&w->t->lock);
	h = delayed_ref_find_data(&w->t->refs, logical);
	if (h)
		*bytenr = h->bytenr;
	spin_unlock(&w->t->lock);
	return h ? 0 : -ENOENT;
}

/* One pass of a data walk: every hit of the extent holding logical
 * (with a cache: the set of trees reaching it, w->set). */
static int data_once(struct walk *w, u64 logical)
{
	struct bref_list l = { NULL, 0, 0 };
	struct extent_info ei;
	u64 bytenr = logical;
	u32 i;
	/* with a cache the caller names the extent's start
	 * (backref_root_set): its extent item is read at once */
	int ret = w->cache ? 0 : find_extent(w, logical, &bytenr);

	if (ret == -ENOENT && w->t)
		ret = find_pending_extent(w, logical, &bytenr);
	if (ret == 0)
		ret = backref_collect_refs(w, bytenr, &ei, &l);
	if (ret == 0 && (!ei.found || !ei.is_data))
		ret = -ENOENT;
	for (i = 0; i < l.n && ret == 0; i++) {
		/* Only subvolume trees are walked (and have root items): an
		 * older Linux's free space cache (v1) keeps its files in the
		 * root tree, and a balance Linux left its copies in the data
		 * relocation tree. */
		if (l.v[i].type == BTRFS_EXTENT_DATA_REF_KEY &&
		    !tree_check_is_subvol_tree(l.v[i].id))
			continue;
		if (l.v[i].type == BTRFS_EXTENT_DATA_REF_KEY)
			ret = search_data_ref(w, &l.v[i], &ei);
		else if (l.v[i].type == BTRFS_SHARED_DATA_REF_KEY)
			ret = shared_data_ref(w, l.v[i].id, bytenr);
		else
			ret = -EUCLEAN;
	}
	kfree(l.v);
	if (ret == 0 && w->cache)
		return leaves_set(w);
	for (i = 0; i < w->nleaves && ret == 0; i++)
		ret = leaf_hits(w, &w->leaves[i], logical - bytenr);
	return ret;
}

/* One pass of a tree block walk: every root reaching bytenr (with a
 * cache: their set, w->set). */
static int block_once(struct walk *w, u64 bytenr)
{
	struct u64map roots;
	u64 root;
	u32 at = 0;
	int ret, dead, want;

	if (w->cache)
		return block_set(w, bytenr, &w->set);
	u64map_init(&roots, 0);
	ret = resolve_roots(w, bytenr, &roots);
	while (ret == 0 && u64map_next(&roots, &at, &root, NULL)) {
		want = root_wanted(w, root, &dead);
		ret = want < 0 ? want :
		      want ? hit_add(w, root, 0, 0, dead) : 0;
	}
	u64map_free(&roots);
	return ret;
}

/* Forget what a pass gathered (a restart, or the end). */
static void walk_reset(struct walk *w)
{
	u32 i;

	for (i = 0; i < w->nleaves; i++)
		kfree(w->leaves[i].v);
	w->nleaves = w->nhits = 0;
	backref_roots_reset(&w->own_roots);
	memset(&w->st, 0, sizeof(w->st));
}

static void walk_free(struct walk *w)
{
	walk_reset(w);
	kfree(w->leaves);
	kfree(w->own_roots.v);
	kfree(w->hits);
}

static int hit_cmp(const void *x, const void *y)
{
	const struct backref_hit *a = x, *b = y;

	if (a->root != b->root)
		return a->root < b->root ? -1 : 1;
	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	return 0;
}

/* Sort the hits and drop repeats. */
static void sort_hits(struct walk *w)
{
	struct backref_hit *v = w->hits;
	u32 n = w->nhits, i, j;

	for (i = 1; i < n && hit_cmp(&v[i - 1], &v[i]) < 0; i++)
		;
	if (i < n)	/* not already in order */
		qsort(v, n, sizeof(*v), hit_cmp);
	for (i = j = 0; i < n; i++)
		if (j == 0 || hit_cmp(&v[j - 1], &v[i]))
			v[j++] = v[i];
	w->nhits = j;
}

/* One pass reading only the extent item at bytenr (backref_extent_info). */
static int item_once(struct walk *w, u64 bytenr)
{
	return backref_collect_refs(w, bytenr, &w->item, NULL);
}

/* Run one pass (once: data_once, block_once or item_once), in the
 * view's locks, restarting when a commit lands. */
static int walk_run(struct walk *w, u64 at, int (*once)(struct walk *, u64))
{
	struct fs_info *fs = w->fs;
	int ret, tries = 0, hold = w->view == BACKREF_CURRENT &&
				   !(w->flags & BACKREF_TRANS_HELD);

	do {
		walk_reset(w);
		if (hold)
			down_write(&fs->trans_sem);
		if (w->view == BACKREF_CURRENT) {
			spin_lock(&fs->trans_lock);
			w->t = fs->running;
			spin_unlock(&fs->trans_lock);
		} else {
			down_read(&fs->commit_root_sem);
			w->gen = fs->generation;
			up_read(&fs->commit_root_sem);
			/* what the cache holds is of older commit roots */
			if (w->cache && w->cache->gen != w->gen) {
				backref_cache_reset(w->cache);
				w->cache->gen = w->gen;
			}
		}
		ret = once(w, at);
		if (hold)
			up_write(&fs->trans_sem);
	} while (ret == -EAGAIN && ++tries < COMMIT_RETRIES);
	return ret;
}

static void walk_init(struct walk *w, struct fs_info *fs,
		      enum backref_view view, unsigned flags,
		      struct backref_cache *cache)
{
	memset(w, 0, sizeof(*w));
	w->fs = fs;
	w->view = view;
	w->flags = flags;
	w->cache = cache;
	u64map_init(&w->own_roots.idx, 1);
	w->roots = cache ? &cache->roots : &w->own_roots;
}

/* Walk, then hand each hit to fn with no lock held. */
static int walk_report(struct fs_info *fs, u64 at, int data,
		       enum backref_view view, unsigned flags, backref_fn fn,
		       void *ctx, struct backref_stats *st)
{
	struct walk w;
	u32 i;
	int ret;

	walk_init(&w, fs, view, flags, NULL);
	ret = walk_run(&w, at, data ? data_once : block_once);
	if (ret == 0)
		sort_hits(&w);
	w.st.hits = w.nhits;
	if (st)
		*st = w.st;
	for (i = 0; ret == 0 && i < w.nhits; i++)
		ret = fn(ctx, &w.hits[i]);
	walk_free(&w);
	return ret == 1 ? 0 : ret;
}

/*
 * Call fn for every (root, inode, file offset) whose file extent item
 * points at the data extent holding address logical, in view. flags:
 * BACKREF_*. st (may be NULL) gets the walk's figures. Returns 0,
 * -ENOENT when no data extent holds logical, -EAGAIN when commits kept
 * moving the commit roots, or <0.
 */
int backref_data(struct fs_info *fs, u64 logical, enum backref_view view,
		 unsigned flags, backref_fn fn, void *ctx,
		 struct backref_stats *st)
{
	return walk_report(fs, logical, 1, view, flags, fn, ctx, st);
}

/*
 * Call fn for every root reaching the tree block at bytenr (hit ino and
 * offset 0), in view. Returns 0 (no call when nothing refers to it), or
 * <0 as backref_data.
 */
int backref_block(struct fs_info *fs, u64 bytenr, enum backref_view view,
		  unsigned flags, backref_fn fn, void *ctx,
		  struct backref_stats *st)
{
	return walk_report(fs, bytenr, 0, view, flags, fn, ctx, st);
}

/*
 * The set of subvolume trees reaching the extent at bytenr (data: a
 * data extent, through whichever of its items; else a tree block), in
 * c's view, dead ones included: *set, an id in c's table of sets (0:
 * none). c remembers each block's set for the next walks (see
 * backref_cache.c for when that is valid), so the extents of one leaf
 * cost one walk up between them, and each an id. flags: BACKREF_*
 * (BACKREF_TRANS_HELD only matters). Returns 0, -ENOENT when no such
 * extent starts at bytenr (data), or <0 as backref_data.
 */
int backref_root_set(struct backref_cache *c, u64 bytenr, int data,
		     unsigned flags, u32 *set)
{
	struct walk w;
	int ret;

	walk_init(&w, c->fs, c->view, flags, c);
	ret = walk_run(&w, bytenr, data ? data_once : block_once);
	*set = ret ? 0 : w.set;
	walk_free(&w);
	return ret;
}

/*
 * What the extent item at bytenr says in c's view (ei->found 0: there
 * is none), with c's user holding every change out in BACKREF_CURRENT
 * (the accounting). Returns 0 or <0 as backref_data.
 */
int backref_extent_info(struct backref_cache *c, u64 bytenr,
			struct extent_info *ei)
{
	struct walk w;
	int ret;

	walk_init(&w, c->fs, c->view, BACKREF_TRANS_HELD, c);
	ret = walk_run(&w, bytenr, item_once);
	*ei = w.item;
	walk_free(&w);
	return ret;
}
