/*
 * Quota group accounting: referenced and exclusive bytes of every qgroup,
 * exact at every commit.
 *
 * What counts: an extent (a data extent's disk bytes, or a tree block of
 * a subvolume tree) is referenced by a subvolume that reaches it, and a
 * qgroup references it when any subvolume of its (level 0: itself;
 * higher: its members, recursively) does; it is exclusive to the qgroup
 * when every subvolume reaching it is one of its. So an extent's effect
 * on every qgroup follows from the set of subvolumes reaching it, and a
 * commit changes the counts only through extents whose set changed.
 *
 * When (reference/extent-refs-delayed-refs-qgroups.txt, "Qgroups"):
 * events come from real reference changes, recorded as the commit runs
 * delayed refs (extent_run_head calls qgroup_record_head), never from
 * the queueing: refs merged away before they ran changed nothing. A
 * change of an extent's set without a change of its own references
 * happens only below a tree block whose own set changed (a snapshot's
 * new root, a block copied out of a shared subtree, a shared block the
 * cleaner dropped one reference of): so after an extent whose set
 * changed, when it is a tree block still in the tree, its children are
 * looked at too, down to where the sets no longer change. That is the
 * shared-to-exclusive conversion of the reference done exactly, at any
 * height, at a cost that follows the blocks whose sharing changed.
 *
 * How: at the commit, after every delayed ref ran (qgroup_account_commit,
 * trans_sem held for write), each such extent's sets are resolved with
 * the back-reference walker (backref.c), implied data references
 * included: the old set at the commit roots (BACKREF_COMMIT, the last
 * commit), the new one at the current roots (BACKREF_CURRENT: the
 * commit's own state, nothing pending). Roots being dropped by the
 * cleaner still reach what it has not dropped and count. An extent
 * this transaction allocated has no set at the commit roots, and one
 * whose last reference it dropped none at the current roots (a freed
 * range stays pinned until the commit): neither is walked in that view.
 *
 * Cost (issues 13 and 16): thousands of snapshots share each leaf, so
 * the sets are large, but few are distinct. Each set is held once in a
 * table both views share (backref_sets.c) and named by an id; the
 * walker's caches (backref_cache.c) give each tree block, once per view
 * and commit, the id of its set, made from its own references and its
 * parents' ids (a block under one shared node gets the node's id: no
 * work per snapshot; a snapshot's reference on a block under its root
 * needs no search: backref.c, parent_in_tree). An extent's set is its
 * leaf's id (a union only when several leaves reach it), so an extent
 * costs its own references and an id compare, whatever the snapshots;
 * an extent whose set did not change is seen at once (equal ids). The
 * changes are summed per (old set, new set) and each distinct change is
 * applied to the qgroups once at the end (flush_changes): the work is
 * the extents and blocks changed plus the size of the distinct sets,
 * not extents x snapshots. Memory: the table, the caches and the sums,
 * kept under MEMORY_BOUND by counting what is gathered and forgetting
 * the rest (bound_memory); it is freed at the end of the commit, but
 * for the block sets found at the current roots and their table (at
 * most CARRY_BOUND): those are the next commit's sets at its commit
 * roots (keep_carry), and a drop of one snapshot after another meets
 * the same shared leaves in every commit, so each is walked in one view
 * a commit, not two.
 *
 * A rescan (enable, assign, remove, `quota rescan`, counts Linux left
 * inconsistent) zeroes the counts and then, a batch per commit, resolves
 * every extent of the extent tree at the current roots, in bytenr order
 * (qgroup_rescan.c drives it). The status item's progress says where the
 * next batch starts, in the same commit as the counts it belongs to, so
 * an unmount or a power cut resumes there. While it runs, a changed
 * extent is counted only when the rescan has passed it; the rescan
 * counts the others as they are when it reaches them.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "backref_int.h"
#include "extent_tree.h"
#include "fs_info.h"
#include "qgroup.h"
#include "transaction.h"
#include "tree_check.h"

/* Extents a rescan counts per commit. */
#define RESCAN_BATCH 2048
/* Bytes of sets and blocks resolved a commit keeps at most (past it they
 * are counted and forgotten: bound_memory). */
#define MEMORY_BOUND (64ULL << 20)
/* Bytes of sets and block sets kept from one commit's accounting to the
 * next at most (keep_carry, commit_cache). */
#define CARRY_BOUND (4ULL << 20)
/* Leaves q->single_leaves holds at most (16 bytes each, twice over). */
#define SINGLE_LEAVES_MAX (1u << 18)

/* An extent whose references changed in the running transaction. */
struct qgroup_ext {
	u64 bytenr, num_bytes;
	u8 level;		/* tree block level */
	u8 is_data;
	/* Allocated in this transaction (its head inserted the extent
	 * item): no extent was there at the last commit, as a range freed
	 * stays pinned until the commit after (trans_pin). */
	u8 is_new;
	/* Its last reference went in this transaction (its head deleted
	 * the extent item): nothing reaches it at the current roots, as
	 * nothing can take its range before the commit (trans_pin). */
	u8 is_gone;
	/* What its heads' references changed by, in all (gone_leaves):
	 * heads not recorded only add references or change none. */
	long long ref_mod;
};

/* A sorted set of subvolume ids reaching an extent (in a table). */
struct rootset {
	const u64 *v;
	u32 n;
};

/* The subvolumes reaching extent e in the view of cache c, as a set id
 * (the views stay as they are for the whole accounting: c remembers the
 * blocks resolved, which most extents share). */
static int roots_of(struct backref_cache *c, const struct qgroup_ext *e,
		    u32 *set)
{
	int ret = backref_root_set(c, e->bytenr, e->is_data,
				   BACKREF_TRANS_HELD, set);

	return ret == -ENOENT && e->is_data ? 0 : ret;
}

/* Groups touched while counting one extent. */
struct touched {
	struct qgroup **v;
	u32 n, cap;
};

/* Count root r (in old and/or new) in every group holding it. */
static int count_root(struct qgroup_table *q, u64 r, int old, int new_,
		      struct touched *tg, struct touched *stack)
{
	struct qgroup *g = qgroup_find(q, r);
	u64 visit = ++q->seq;	/* this root's own walk up */
	int ret;

	stack->n = 0;
	if (!g)
		return 0;	/* a subvolume without a qgroup */
	g->visit = visit;
	ret = array_grow((void **)&stack->v, &stack->cap, 0,
			   sizeof(*stack->v));
	if (ret)
		return ret;
	stack->v[stack->n++] = g;
	while (stack->n) {
		struct qgroup *x = stack->v[--stack->n];
		u32 i;

		if (x->mark != q->round) {
			x->mark = q->round;
			x->old_n = x->new_n = 0;
			ret = array_grow((void **)&tg->v, &tg->cap, tg->n,
					   sizeof(*tg->v));
			if (ret)
				return ret;
			tg->v[tg->n++] = x;
		}
		x->old_n += old;
		x->new_n += new_;
		for (i = 0; i < x->nparents; i++) {
			struct qgroup *p = qgroup_find(q, x->parents[i]);

			if (!p || p->visit == visit)
				continue;
			p->visit = visit;
			ret = array_grow((void **)&stack->v, &stack->cap,
					   stack->n, sizeof(*stack->v));
			if (ret)
				return ret;
			stack->v[stack->n++] = p;
		}
	}
	return 0;
}

/* Move a count by size, in the direction of the change. */
static void move(struct qgroup_table *q, struct qgroup *g, u64 *c, int was,
		 int is, u64 size)
{
	if (was == is)
		return;
	g->dirty = 1;
	if (is) {
		*c += size;
	} else if (*c >= size) {
		*c -= size;
	} else {
		pr_err("qgroup %llu/%llu: count would go below zero",
		       (unsigned long long)(g->id >> BTRFS_QGROUP_LEVEL_SHIFT),
		       (unsigned long long)(g->id &
				((1ULL << BTRFS_QGROUP_LEVEL_SHIFT) - 1)));
		*c = 0;
		q->status_flags |= BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT;
	}
}

/* Scratch of one commit's counting. */
struct acct {
	struct fs_info *fs;
	struct qgroup_table *q;
	struct rootsets *sets;	/* every set met, each held once: q->sets */
	struct backref_cache *at_commit;	/* the last commit's roots */
	struct backref_cache *at_current;	/* this commit's */
	struct u64map changes;	/* old set id << 32 | new set id -> bytes
				 * whose set changed so, not counted yet */
	struct touched tg, stack;
	struct u64map seen;	/* extent queued -> its index in queue */
	struct u64map alone;	/* data extents counted with the leaf that
				 * held them (gone_leaves): passed by */
	struct qgroup_ext *queue;
	u32 nq, qcap;
};

/* The subvolumes reaching the extent at bytenr before this commit's
 * changes, from raw, its set at the commit roots: plus a snapshot
 * counted without a walk wherever its source reached
 * (qgroup_snapshot.c): its root block, and all below the source's root
 * block but that block. */
static int snap_adjust(struct acct *a, u64 bytenr, u32 raw, u32 *old)
{
	const struct qgroup_snap *sn = &a->q->snap;

	*old = raw;
	if (a->q->has_snap &&
	    (bytenr == sn->snap_root ||
	     (bytenr != sn->src_root && rootsets_has(a->sets, raw, sn->src))))
		return rootsets_add(a->sets, raw, sn->id, old);
	return 0;
}

/* Apply the change of size bytes' set from old to new_ (both sorted):
 * each root is counted once, in old, new or both. */
static int apply(struct acct *a, const struct rootset *old,
		 const struct rootset *new_, u64 size)
{
	struct qgroup_table *q = a->q;
	u32 i = 0, j = 0;
	int ret = 0;

	q->round++;
	a->tg.n = 0;
	while ((i < old->n || j < new_->n) && ret == 0) {
		if (j == new_->n || (i < old->n && old->v[i] < new_->v[j]))
			ret = count_root(q, old->v[i++], 1, 0, &a->tg,
					 &a->stack);
		else if (i == old->n || new_->v[j] < old->v[i])
			ret = count_root(q, new_->v[j++], 0, 1, &a->tg,
					 &a->stack);
		else {
			ret = count_root(q, old->v[i++], 1, 1, &a->tg,
					 &a->stack);
			j++;
		}
	}
	for (i = 0; i < a->tg.n && ret == 0; i++) {
		struct qgroup *g = a->tg.v[i];

		move(q, g, &g->rfer, g->old_n > 0, g->new_n > 0, size);
		move(q, g, &g->excl, g->old_n && g->old_n == old->n,
		     g->new_n && g->new_n == new_->n, size);
	}
	return ret;
}

/* Count every change gathered (count_change). */
static int flush_changes(struct acct *a)
{
	struct rootset old, new_;
	u64 key, bytes;
	u32 pos = 0;
	int ret = 0;

	while (ret == 0 && u64map_next(&a->changes, &pos, &key, &bytes)) {
		rootsets_get(a->sets, (u32)(key >> 32), &old.v, &old.n);
		rootsets_get(a->sets, (u32)key, &new_.v, &new_.n);
		ret = apply(a, &old, &new_, bytes);
	}
	u64map_free(&a->changes);
	return ret;
}

/*
 * Count size bytes whose set went from set old to set new_ (they
 * differ). A change counts the same for every byte, so all the bytes of
 * a commit that changed alike (those of one leaf, or of every leaf the
 * snapshots a defrag commit stepped share) are counted together, once,
 * at the end (flush_changes): the counting follows the distinct
 * changes, not the extents times the trees.
 */
static int count_change(struct acct *a, u32 old, u32 new_, u64 size)
{
	u64 key = (u64)old << 32 | new_, bytes = 0;

	u64map_get(&a->changes, key, &bytes);	/* absent: 0 */
	bytes += size;
	return u64map_put(&a->changes, key, &bytes);
}

/* Queue extent e for counting, once per commit: a record of an extent
 * queued already adds its reference changes and whether it went. */
static int queue_ext(struct acct *a, const struct qgroup_ext *e)
{
	u64 at;
	int ret;

	if (u64map_get(&a->seen, e->bytenr, &at) == 0) {
		a->queue[at].ref_mod += e->ref_mod;
		a->queue[at].is_gone |= e->is_gone;
		return 0;
	}
	ret = array_grow((void **)&a->queue, &a->qcap, a->nq,
			   sizeof(*a->queue));
	if (ret == 0) {
		at = a->nq;
		ret = u64map_put(&a->seen, e->bytenr, &at);
	}
	if (ret == 0)
		a->queue[a->nq++] = *e;
	return ret;
}

/*
 * The generation and level of tree block e from its current extent item
 * (a head does not always know the level). Returns 0, 1 when the block
 * is gone, or <0.
 */
static int block_info(struct fs_info *fs, const struct qgroup_ext *e,
		      u64 *gen, u8 *level)
{
	struct ctree_path p;
	struct key k;
	const u8 *d;
	u32 size;
	int ret;

	ctree_path_init(&p);
	ret = extent_item_search(&fs->extent_root, e->bytenr, &p, &k);
	if (ret == 0) {
		d = ctree_item_ptr(&p, &size);
		if (size < sizeof(struct d_extent_item))
			ret = 1;
		else
			*gen = D_GET64(struct d_extent_item, d, generation);
		if (ret == 0 && k.type == BTRFS_METADATA_ITEM_KEY)
			*level = (u8)k.offset;
		else if (ret == 0)
			*level = size >= sizeof(struct d_extent_item) +
				 sizeof(struct d_tree_block_info) ?
				 D_GET8(struct d_tree_block_info,
					d + sizeof(struct d_extent_item),
					level) : 0;
	}
	ctree_path_release(&p);
	return ret;
}

/*
 * Whether data extent c has one reference in all in the current extent
 * tree: one file extent item, in one leaf, points at it. Returns 1, 0,
 * or <0. p holds the extent-tree leaf of the last look-up, searched
 * first: a leaf's extents mostly lie together in the extent tree (a
 * file's are allocated one after another), so a leaf's look-ups cost a
 * search or two, not one each.
 */
static int one_ref(struct fs_info *fs, struct ctree_path *p,
		   const struct qgroup_ext *c)
{
	struct key k = { c->bytenr, BTRFS_EXTENT_ITEM_KEY, c->num_bytes };
	const struct tree_block *leaf = p->nodes[0];
	struct key first, last;
	const u8 *d;
	u32 n = leaf ? tb_nritems(leaf) : 0, size;
	int ret, slot;

	if (n) {
		tb_item_key(leaf, 0, &first);
		tb_item_key(leaf, n - 1, &last);
	}
	if (n && key_cmp(&first, &k) <= 0 && key_cmp(&k, &last) <= 0) {
		ret = ctree_bin_search(leaf, &k, &slot);
		p->slots[0] = slot;
	} else {
		ctree_path_release(p);
		ret = ctree_search_slot(&fs->extent_root, &k, p);
	}
	if (ret)
		return ret < 0 ? ret : 0;	/* none: the walk says why */
	d = ctree_item_ptr(p, &size);
	return size >= sizeof(struct d_extent_item) &&
	       D_GET64(struct d_extent_item, d, refs) == 1;
}

/* Count bytes of data extents whose set is their leaf's, which changed
 * from raw (at the commit roots, before the snapshot rule) to new_. */
static int count_data(struct acct *a, u32 raw, u32 new_, u64 bytes)
{
	u32 old;
	/* 0 is no tree block's address: the rule for a data extent */
	int ret = bytes ? snap_adjust(a, 0, raw, &old) : 0;

	if (ret == 0 && bytes && old != new_)
		ret = count_change(a, old, new_, bytes);
	return ret;
}

/* The disk extent item i of leaf b points at, its bytes in *bytes; 0
 * when the item is no regular file extent, or a hole. */
static u64 item_extent(const struct tree_block *b, u32 i, u64 *bytes)
{
	const u8 *d = tb_item_data(b, i);
	struct key k;

	tb_item_key(b, i, &k);
	if (k.type != BTRFS_EXTENT_DATA_KEY ||
	    tb_item_size(b, i) < sizeof(struct d_file_extent_item) ||
	    D_GET8(struct d_file_extent_item, d, type) ==
	    BTRFS_FILE_EXTENT_INLINE)
		return 0;
	*bytes = D_GET64(struct d_file_extent_item, d, disk_num_bytes);
	return D_GET64(struct d_file_extent_item, d, disk_bytenr);
}

/*
 * Queue what tree block e points at: its children, or its leaf's data
 * extents; e's set changed from raw (at the commit roots, before the
 * snapshot rule of snap_adjust) to new_.
 *
 * A data extent that only the leaf reaches is counted here with the
 * leaf's change, without a walk: when the leaf was there at the last
 * commit (raw is not empty: the same block in both views, since a block
 * freed in this transaction keeps its address until the commit), the
 * extent's references did not change in this commit (no head queued
 * it: every head is queued before any child) and the extent has one
 * reference in all, the one item pointing at it is the leaf's in both
 * views, and its set is the leaf's. (A copy relocation made keeps the
 * old generation: the generation cannot say whether a block is new.)
 * This is a drop's common case: a deleted snapshot's reference on a
 * block it shares with the live subvolume goes, every extent below
 * changes its set, and each costs a lookup of its extent item instead
 * of a walk in each view.
 *
 * A leaf all of whose data extents are so is remembered with their
 * bytes (q->single_leaves), and the next commits that meet it (the drop
 * of the next snapshot sharing it) count them without reading it. That
 * stays true while the leaf stays, unless one of its extents gains a
 * reference, which empties the memory (single_stale): an extent's one
 * reference cannot go while the leaf holds the item, and no other
 * extent's reference can come into a leaf, which never changes.
 */
static int queue_children(struct acct *a, const struct qgroup_ext *e,
			  u32 raw, u32 new_)
{
	struct tb_expect exp = { BTRFS_FS_TREE_OBJECTID, 0, e->level, 0,
				 { 0, 0, 0 } };
	struct u64map *single = &a->q->single_leaves;
	struct tree_block *b = NULL;
	struct ctree_path p;	/* one_ref's */
	u64 bytes = 0;
	u32 i;
	int ret, as, all = raw && !qgroup_rescan_busy(a->q);

	if (all && u64map_get(single, e->bytenr, &bytes) == 0)
		return count_data(a, raw, new_, bytes);
	ret = block_info(a->fs, e, &exp.generation, &exp.level);
	if (ret)
		return ret == 1 ? 0 : ret;	/* gone: its refs went too */
	ctree_path_init(&p);
	ret = tree_block_read(a->fs, e->bytenr, &exp, &b);
	for (i = 0; ret == 0 && i < tb_nritems(b); i++) {
		struct qgroup_ext c = { 0, 0, 0, 0, 0, 0, 0 };

		if (tb_level(b)) {
			c.bytenr = tb_node_blockptr(b, i);
			c.num_bytes = a->fs->nodesize;
			c.level = (u8)(tb_level(b) - 1);
			ret = queue_ext(a, &c);
			continue;
		}
		c.bytenr = item_extent(b, i, &c.num_bytes);
		c.is_data = 1;
		if (!c.bytenr)
			continue;
		if (u64map_get(&a->seen, c.bytenr, NULL) == 0) {
			all = 0;	/* queued: counted there */
			continue;
		}
		as = raw ? one_ref(a->fs, &p, &c) : 0;
		if (as == 0) {
			all = 0;
			ret = queue_ext(a, &c);
		} else if (as < 0) {
			ret = as;
		} else if (!qgroup_rescan_busy(a->q) ||
			   c.bytenr < a->q->rescan_progress) {
			bytes += c.num_bytes;
		}
	}
	ctree_path_release(&p);
	if (ret == 0 && all && tb_level(b) == 0 &&
	    single->n < SINGLE_LEAVES_MAX)
		ret = u64map_put(single, e->bytenr, &bytes);
	if (b)
		tree_block_put(b);
	return ret ? ret : count_data(a, raw, new_, bytes);
}

/*
 * Keep the accounting's memory within MEMORY_BOUND: past it, count the
 * changes gathered and forget every set and block resolved (they are
 * found again when met again; the counts are the same either way).
 */
static int bound_memory(struct acct *a)
{
	int ret;

	if (rootsets_bytes(a->sets) + backref_cache_bytes(a->at_commit) +
	    backref_cache_bytes(a->at_current) +
	    (u64)a->changes.cap * a->changes.stride * sizeof(u64) <
	    MEMORY_BOUND)
		return 0;
	ret = flush_changes(a);
	backref_cache_reset(a->at_commit);
	backref_cache_reset(a->at_current);
	rootsets_reset(a->sets);
	return ret;
}

/* The commit view's cache: the one the last commit's accounting left
 * (keep_carry) when that commit is the last one, else a new one, the
 * sets forgotten. 0 or -ENOMEM. */
static int commit_cache(struct acct *a)
{
	struct qgroup_table *q = a->q;

	if (q->carry && q->carry_gen == a->fs->generation) {
		a->at_commit = q->carry;
		q->carry = NULL;
		return 0;
	}
	backref_cache_free(q->carry);
	q->carry = NULL;
	rootsets_reset(a->sets);
	return backref_cache_new(a->fs, BACKREF_COMMIT, a->sets,
				 &a->at_commit);
}

/* Keep the block sets this commit's accounting found at its current
 * roots as the next commit's commit view (commit_cache), when it ended
 * well and they are under CARRY_BOUND; else forget the sets. */
static void keep_carry(struct acct *a, const struct trans *t, int ret)
{
	struct qgroup_table *q = a->q;

	if (ret == 0 &&
	    rootsets_bytes(a->sets) + backref_cache_bytes(a->at_current) <
	    CARRY_BOUND &&
	    backref_cache_new(a->fs, BACKREF_COMMIT, a->sets, &q->carry) == 0) {
		backref_cache_take_sets(q->carry, a->at_current, t->transid);
		q->carry_gen = t->transid;
	} else {
		rootsets_reset(a->sets);
	}
	backref_cache_free(a->at_current);
}

/*
 * Count the data extents gone leaf e held alone (gone_leaves); its set
 * at the commit roots was raw, gone maps the data extents queued as
 * gone to their reference changes. Returns 0 or <0.
 */
static int gone_leaf(struct acct *a, const struct qgroup_ext *e, u32 raw,
		     const struct u64map *gone)
{
	struct tb_expect exp = { BTRFS_FS_TREE_OBJECTID, 0, 0, 0,
				 { 0, 0, 0 } };
	struct extent_info ei;
	struct tree_block *b;
	u64 bytes = 0, mod;
	u32 i;
	int ret = backref_extent_info(a->at_commit, e->bytenr, &ei);

	if (ret || !ei.found || ei.is_data || ei.level)
		return ret;
	exp.generation = ei.generation;
	ret = tree_block_read(a->fs, e->bytenr, &exp, &b);
	for (i = 0; ret == 0 && i < tb_nritems(b); i++) {
		u64 size, c = item_extent(b, i, &size);

		if (!c || u64map_get(gone, c, &mod) || (long long)mod != -1 ||
		    u64map_get(&a->alone, c, NULL) == 0)
			continue;
		ret = u64map_put(&a->alone, c, NULL);
		if (!qgroup_rescan_busy(a->q) || c < a->q->rescan_progress)
			bytes += size;
	}
	tree_block_put(b);
	return ret ? ret : count_data(a, raw, 0, bytes);
}

/*
 * Count the data extents that a leaf gone in this commit held alone,
 * without a walk each: when the leaf was there at the last commit (its
 * set then, raw, is not empty) and an extent it points at was there
 * too, lost its last reference in this commit and lost one in all, the
 * extent had one reference at the commit roots (the heads not recorded
 * only add references: it cannot have had fewer than one, nor more),
 * the leaf's item, so its set was the leaf's and is now empty.
 * queue_children's rule, at the commit roots: a drop's common case (the
 * deleted snapshot's own leaves and the files only it kept, 1,000
 * extents a commit in the 50-snapshot drop). Those extents go into
 * a->alone; account_queue passes them by.
 */
static int gone_leaves(struct acct *a)
{
	struct u64map gone;	/* data extents queued as gone: ref_mod */
	u32 i, raw;
	int ret = 0;

	u64map_init(&gone, 1);
	for (i = 0; i < a->nq && ret == 0; i++) {
		const struct qgroup_ext *e = &a->queue[i];
		u64 mod = (u64)e->ref_mod;

		if (e->is_data && e->is_gone && !e->is_new)
			ret = u64map_put(&gone, e->bytenr, &mod);
	}
	for (i = 0; i < a->nq && ret == 0 && gone.n; i++) {
		const struct qgroup_ext *e = &a->queue[i];

		if (e->is_data || !e->is_gone || e->is_new)
			continue;
		ret = roots_of(a->at_commit, e, &raw);
		if (ret == 0 && raw)
			ret = gone_leaf(a, e, raw, &gone);
	}
	u64map_free(&gone);
	return ret;
}

/* Count every queued extent, and below those tree blocks whose set
 * changed. */
static int account_queue(struct acct *a)
{
	u32 i, raw, old, new_;
	int ret = gone_leaves(a);

	for (i = 0; i < a->nq && ret == 0; i++) {
		struct qgroup_ext e = a->queue[i];

		if (e.is_data && u64map_get(&a->alone, e.bytenr, NULL) == 0)
			continue;

		/* a new extent's set at the commit roots is empty: no walk */
		raw = 0;
		ret = e.is_new ? 0 : roots_of(a->at_commit, &e, &raw);
		if (ret == 0)
			ret = snap_adjust(a, e.bytenr, raw, &old);
		/* a gone extent's set at the current roots is empty */
		new_ = 0;
		if (ret == 0 && !e.is_gone)
			ret = roots_of(a->at_current, &e, &new_);
		/* a block no tree reaches is gone: its address may come
		 * back as another block */
		if (ret == 0 && !e.is_data && !new_)
			u64map_remove(&a->q->single_leaves, e.bytenr);
		if (ret || old == new_)
			continue;
		/* An extent a rescan has not reached is counted when it
		 * gets there; what is below it may be counted already. */
		if (!qgroup_rescan_busy(a->q) ||
		    e.bytenr < a->q->rescan_progress)
			ret = count_change(a, old, new_, e.num_bytes);
		if (ret == 0 && !e.is_data && new_)
			ret = queue_children(a, &e, raw, new_);
		if (ret == 0)
			ret = bound_memory(a);
	}
	return ret ? ret : flush_changes(a);
}

/*
 * Queue the extents of the extent tree from bytenr start on, at most
 * RESCAN_BATCH of them; *next: where the next batch starts, 0 when the
 * tree ended.
 */
static int queue_batch(struct acct *a, u64 start, u64 *next)
{
	struct key k = { start, 0, 0 };
	struct ctree_path p;
	int ret;

	*next = 0;
	ctree_path_init(&p);
	for (ret = ctree_search_ge(&a->fs->extent_root, &k, &p); ret == 0;
	     ret = ctree_next_item(&p)) {
		struct qgroup_ext e = { 0, 0, 0, 0, 0, 0, 0 };
		const u8 *d;
		u32 size;

		ctree_item_key(&p, &k);
		if (k.type != BTRFS_EXTENT_ITEM_KEY &&
		    k.type != BTRFS_METADATA_ITEM_KEY)
			continue;
		if (a->nq == (a->q->rescan_batch ? a->q->rescan_batch :
			      RESCAN_BATCH)) {
			*next = k.objectid;
			break;
		}
		d = ctree_item_ptr(&p, &size);
		e.bytenr = k.objectid;
		if (k.type == BTRFS_METADATA_ITEM_KEY) {
			e.num_bytes = a->fs->nodesize;
		} else {
			e.num_bytes = k.offset;
			e.is_data = size >= sizeof(struct d_extent_item) &&
				    (D_GET64(struct d_extent_item, d, flags) &
				     BTRFS_EXTENT_FLAG_DATA);
		}
		ret = array_grow((void **)&a->queue, &a->qcap, a->nq,
				   sizeof(*a->queue));
		if (ret)
			break;
		a->queue[a->nq++] = e;
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : 0;
}

/* Begin a rescan: every count from zero, nothing counted yet. */
static void rescan_begin(struct qgroup_table *q)
{
	u32 i;

	for (i = 0; i < q->n; i++) {
		q->v[i].rfer = q->v[i].excl = 0;
		q->v[i].dirty = 1;
	}
	q->status_flags |= BTRFS_QGROUP_STATUS_FLAG_RESCAN;
	q->status_flags &= ~BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT;
	q->rescan_progress = 0;
}

/* Count the next batch of a rescan at the current roots (the extents
 * before it are counted, those after it not yet). */
static int rescan_batch(struct acct *a)
{
	struct qgroup_table *q = a->q;
	u64 next;
	u32 i, set;
	int ret;

	a->nq = 0;
	ret = queue_batch(a, q->rescan_progress, &next);
	for (i = 0; i < a->nq && ret == 0; i++) {
		ret = roots_of(a->at_current, &a->queue[i], &set);
		if (ret == 0 && set)
			ret = count_change(a, 0, set,
					   a->queue[i].num_bytes);
		if (ret == 0)
			ret = bound_memory(a);
	}
	if (ret == 0)
		ret = flush_changes(a);
	if (ret)
		return ret;
	q->rescan_done += a->nq;
	q->rescan_progress = next;
	if (!next)
		q->status_flags &= ~BTRFS_QGROUP_STATUS_FLAG_RESCAN;
	q->status_dirty = 1;
	return 0;
}

/* Does head h only add references of the snapshot counted without a
 * walk (its root block's, and the copy's on what that block points
 * at)? Those are the snapshot's state B already (qgroup_snapshot.c):
 * they change nothing to count, and an extent whose set changed for
 * another reason is queued by that reason's head or its parent. */
static int snapshot_copy_refs(const struct qgroup_table *q,
			      const struct dref_head *h)
{
	struct dref *r;

	if (!q->has_snap)
		return 0;
	list_for_each_entry(r, &h->refs, struct dref, head_link)
		if (r->key.parent || r->key.root != q->snap.id || r->mod < 0)
			return 0;
	return 1;
}

/* Does head h add a reference (of any kind: a converted one too)? */
static int gains_ref(const struct dref_head *h)
{
	struct dref *r;

	list_for_each_entry(r, &h->refs, struct dref, head_link)
		if (r->mod > 0)
			return 1;
	return 0;
}

/*
 * Record that delayed-ref head h is being applied, when it can change
 * which subvolumes reach its extent (extent_run_head, in the commit).
 * Returns 0 or -ENOMEM.
 */
int qgroup_record_head(struct trans *t, const struct dref_head *h)
{
	struct qgroup_table *q = t->fs->qgroups;
	struct qgroup_ext *e;
	struct dref *r;
	int ret;

	if (!q)
		return 0;
	if (h->is_data && !h->must_insert && gains_ref(h))
		q->single_stale = 1;
	if ((h->must_insert && h->nrefs == 0) || h->nrefs == 0 ||
	    snapshot_copy_refs(q, h))
		return 0;
	if (!h->is_data) {
		int fs_tree = 0;

		list_for_each_entry(r, &h->refs, struct dref, head_link)
			if (r->key.parent ||
			    tree_check_is_subvol_tree(r->key.root))
				fs_tree = 1;
		if (!fs_tree)
			return 0;
	}
	ret = array_grow((void **)&q->ext, &q->ext_cap, q->next,
			   sizeof(*q->ext));
	if (ret)
		return ret;
	e = &q->ext[q->next++];
	e->bytenr = h->bytenr;
	e->num_bytes = h->num_bytes;
	e->level = h->level;
	e->is_data = (u8)h->is_data;
	e->is_new = (u8)h->must_insert;
	e->is_gone = 0;
	e->ref_mod = 0;
	list_for_each_entry(r, &h->refs, struct dref, head_link)
		e->ref_mod += r->mod;
	return 0;
}

/*
 * Record that the extent of head h, which qgroup_record_head recorded
 * last, lost its last reference (extent_run_head, as the head deleted
 * its extent item).
 */
void qgroup_record_gone(struct trans *t, const struct dref_head *h)
{
	struct qgroup_table *q = t->fs->qgroups;

	if (q && q->next && q->ext[q->next - 1].bytenr == h->bytenr)
		q->ext[q->next - 1].is_gone = 1;
}

/*
 * Bring every qgroup's counts to the state the commit writes (the
 * commit, after running every delayed ref; trans_sem held for write).
 * Errors abort the transaction.
 */
int qgroup_account_commit(struct trans *t)
{
	struct acct a;
	u32 i;
	int ret = 0;

	if (!t->fs->qgroups)
		return 0;
	memset(&a, 0, sizeof(a));
	u64map_init(&a.seen, 1);
	u64map_init(&a.alone, 0);
	u64map_init(&a.changes, 1);
	a.fs = t->fs;
	a.q = t->fs->qgroups;
	a.sets = &a.q->sets;
	if (a.q->rescan) {
		rescan_begin(a.q);
		a.q->rescan = 0;
	}
	if (a.q->single_stale) {
		u64map_free(&a.q->single_leaves);
		a.q->single_stale = 0;
	}
	ret = commit_cache(&a);
	if (ret == 0)
		ret = backref_cache_new(a.fs, BACKREF_CURRENT, a.sets,
					&a.at_current);
	for (i = 0; i < a.q->next && ret == 0; i++)
		ret = queue_ext(&a, &a.q->ext[i]);
	if (ret == 0)
		ret = account_queue(&a);
	a.q->resolved = a.nq;
	if (ret == 0 && qgroup_rescan_busy(a.q))
		ret = rescan_batch(&a);
	a.q->next = 0;
	a.q->has_snap = 0;
	qgroup_reserve_clear(a.q);
	backref_cache_free(a.at_commit);
	keep_carry(&a, t, ret);
	u64map_free(&a.changes);
	kfree(a.tg.v);
	kfree(a.stack.v);
	u64map_free(&a.seen);
	u64map_free(&a.alone);
	kfree(a.queue);
	if (ret)
		trans_abort(t, ret);
	return ret;
}
