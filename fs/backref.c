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
 * (and a search of a tree per normal ref), and memory is the set of
 * those blocks and of the roots found.
 *
 * Views. BACKREF_CURRENT reads the current trees and adds the running
 * transaction's pending delayed refs to the extent tree's (nothing in the
 * extent tree changes until the commit runs them, and the walk holds
 * fs->trans_sem for read, or the caller does, so no commit runs under
 * it; blocks freed meanwhile stay intact until a commit). BACKREF_COMMIT
 * reads the last commit's roots only, each search under commit_root_sem
 * held for read for that search alone, keeping a private clone of the
 * leaf; when a commit lands between two searches (fs->generation moved)
 * the walk starts again. All tree reading goes through view_search() and
 * view_read_block(), the one place to change for a shared commit-root
 * reading module.
 *
 * Dead roots (root item refs 0: being dropped by the cleaner) still hold
 * normal refs on blocks the cleaner has not reached, which may stand for
 * live snapshots sharing those blocks, so their trees are searched too,
 * but only right of drop_progress (what is left of it is freed); the
 * dead root itself is reported only with BACKREF_DEAD_ROOTS.
 *
 * Hits are gathered first, sorted and deduplicated, and handed to the
 * caller's function after every lock is released.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "backref.h"
#include "extent_tree.h"
#include "fs_info.h"
#include "subvol.h"
#include "tree_check.h"

/* Uncompressed bytes of a compressed extent, at most (btrfs's bound). */
#define MAX_RAM_BYTES (128u * 1024)
/* Walks restarted because a commit landed, before giving up. */
#define COMMIT_RETRIES 16

/* One back-reference of an extent, inline, keyed or pending. */
struct bref {
	u8 type;		/* BTRFS_*_REF_KEY */
	u64 id;			/* root (TREE_BLOCK, EXTENT_DATA) or parent */
	u64 ino, offset;	/* EXTENT_DATA_REF only */
	long long count;	/* references it stands for */
};

struct bref_list {
	struct bref *v;
	u32 n, cap;
};

/* What the extent item says (or the pending head of a new extent). */
struct extent_info {
	u64 bytenr, len;	/* the extent */
	u64 generation;		/* transaction that allocated it */
	u8 level;		/* tree blocks */
	int is_data;
	int found;		/* it exists in this view */
};

/* A tree's root in the walk's view, and whether it is being dropped. */
struct root_rec {
	u64 id, bytenr, generation;
	u8 level;
	int dead;		/* root item refs 0 */
	struct key drop;	/* dead: keys below this are dropped */
};

/* A set of u64 (open addressing; 0 is never a member). */
struct u64set {
	u64 *v;
	u32 cap, n;
};

/* One file extent item pointing at the extent. */
struct fitem {
	u64 ino, key_offset, extent_offset, num_bytes;
};

/* A leaf holding items that point at the extent. */
struct leaf_items {
	u64 bytenr;
	struct fitem *v;
	u32 n;
};

struct walk {
	struct fs_info *fs;
	enum backref_view view;
	unsigned flags;
	u64 gen;		/* BACKREF_COMMIT: the generation read */
	struct trans *t;	/* BACKREF_CURRENT: running transaction */
	struct root_rec *roots;
	u32 nroots, roots_cap;
	struct leaf_items *leaves;
	u32 nleaves, leaves_cap;
	struct backref_hit *hits;
	u32 nhits, hits_cap;
	struct backref_stats st;
};

/* Grow array *v of *cap elements of size sz to hold n + 1. */
static int grow(void **v, u32 *cap, u32 n, size_t sz)
{
	u32 c = *cap ? *cap * 2 : 16;
	void *nv;

	if (n < *cap)
		return 0;
	nv = kmalloc(c * sz);
	if (!nv)
		return -ENOMEM;
	if (n)
		memcpy(nv, *v, n * sz);
	kfree(*v);
	*v = nv;
	*cap = c;
	return 0;
}

static u32 set_slot(const struct u64set *s, u64 x)
{
	u64 h = x * 0x9E3779B97F4A7C15ULL;

	return (u32)(h >> 32) & (s->cap - 1);
}

/* Add x; 1 when it was new, 0 when present, or -ENOMEM. */
static int set_add(struct u64set *s, u64 x)
{
	u32 i;

	if (2 * (s->n + 1) > s->cap) {
		struct u64set b = { kzalloc((s->cap ? 2 * s->cap : 64) *
					    sizeof(u64)),
				    s->cap ? 2 * s->cap : 64, 0 };

		if (!b.v)
			return -ENOMEM;
		for (i = 0; i < s->cap; i++)
			if (s->v[i])
				set_add(&b, s->v[i]);
		kfree(s->v);
		*s = b;
	}
	for (i = set_slot(s, x); s->v[i]; i = (i + 1) & (s->cap - 1))
		if (s->v[i] == x)
			return 0;
	s->v[i] = x;
	s->n++;
	return 1;
}

/* ------------------------------------------------------------ reading */

/* Fill r with tree id's root in the commit view. Caller holds
 * commit_root_sem for read. */
static int commit_root_of(struct walk *w, const struct root_rec *rec,
			  u64 id, struct ctree_root *r)
{
	struct fs_info *fs = w->fs;
	const struct ctree_root *c = id == BTRFS_ROOT_TREE_OBJECTID ?
		&fs->tree_root : id == BTRFS_EXTENT_TREE_OBJECTID ?
		&fs->extent_root : NULL;

	if (c)
		ctree_root_init(r, fs, id, c->commit_bytenr,
				c->commit_generation, c->commit_level);
	else
		ctree_root_init(r, fs, id, rec->bytenr, rec->generation,
				rec->level);
	return 0;
}

/* The current root of tree id: the fixed trees, a loaded live
 * subvolume's record, else (tmp) the one its root item names. */
static const struct ctree_root *current_root_of(struct walk *w,
						const struct root_rec *rec,
						u64 id, struct ctree_root *tmp)
{
	struct fs_info *fs = w->fs;
	const struct subvol_root *s;

	if (id == BTRFS_ROOT_TREE_OBJECTID)
		return &fs->tree_root;
	if (id == BTRFS_EXTENT_TREE_OBJECTID)
		return &fs->extent_root;
	spin_lock(&fs->subvol_lock);
	for (s = fs->subvols; s && s->root.objectid != id; s = s->next)
		;
	spin_unlock(&fs->subvol_lock);
	if (s && !rec->dead)
		return &s->root;
	ctree_root_init(tmp, fs, id, rec->bytenr, rec->generation,
			rec->level);
	return tmp;
}

/* What a search of the view is for, and what it found. */
struct view_q {
	int mode;		/* VIEW_GE, VIEW_LE or VIEW_PARENT */
	u8 level;		/* VIEW_PARENT: the child's level */
	u64 child;		/* VIEW_PARENT: the child's address */
	struct tree_block *leaf;	/* GE, LE: clone of the leaf found */
	int slot;		/* GE, LE: the item in it */
	u64 parent;		/* VIEW_PARENT: the block pointing at child
				 * on the path to k, 0 when none does */
};
#define VIEW_GE 0	/* the first item >= k */
#define VIEW_LE 1	/* the last item <= k */
#define VIEW_PARENT 2	/* the parent of q->child, whose first key is k */

/*
 * Search tree id of the walk's view for k, as q asks. rec: the tree's
 * root record (NULL for the root and extent trees). A leaf found is
 * cloned (the caller frees q->leaf with tree_block_put). Returns 0, 1
 * when there is no such item, -EAGAIN when a commit moved the commit
 * roots, or <0.
 */
static int view_search(struct walk *w, const struct root_rec *rec, u64 id,
		       const struct key *k, struct view_q *q)
{
	struct fs_info *fs = w->fs;
	struct ctree_root tmp;
	const struct ctree_root *r = &tmp;
	struct ctree_path p;
	const struct tree_block *up;
	int ret;

	w->st.searches++;
	ctree_path_init(&p);
	if (w->view == BACKREF_COMMIT) {
		down_read(&fs->commit_root_sem);
		if (fs->generation != w->gen) {
			up_read(&fs->commit_root_sem);
			return -EAGAIN;
		}
		commit_root_of(w, rec, id, &tmp);
	} else {
		r = current_root_of(w, rec, id, &tmp);
	}
	if (q->mode == VIEW_PARENT) {
		ret = ctree_search_slot(r, k, &p);
		up = ret >= 0 && q->level + 1 < BTRFS_MAX_LEVEL ?
		     p.nodes[q->level + 1] : NULL;
		q->parent = up && tb_node_blockptr(up, (u32)p.slots[
				q->level + 1]) == q->child ? up->start : 0;
		ret = ret < 0 ? ret : 0;
	} else {
		ret = q->mode == VIEW_LE ? ctree_search_le(r, k, &p) :
					   ctree_search_ge(r, k, &p);
		if (ret == 0) {
			q->slot = p.slots[0];
			ret = tree_block_clone(p.nodes[0], &q->leaf);
		}
	}
	ctree_path_release(&p);
	if (w->view == BACKREF_COMMIT)
		up_read(&fs->commit_root_sem);
	return ret;
}

/* Read the subvolume-tree block at bytenr (generation, level from its
 * extent item) in the walk's view into a private clone *out. */
static int view_read_block(struct walk *w, u64 bytenr, u64 generation,
			   u8 level, struct tree_block **out)
{
	struct fs_info *fs = w->fs;
	struct tb_expect exp = { BTRFS_FS_TREE_OBJECTID, generation, level,
				 0, { 0, 0, 0 } };
	struct tree_block *b;
	int ret, locked;

	if (w->view == BACKREF_COMMIT) {
		down_read(&fs->commit_root_sem);
		if (fs->generation != w->gen) {
			up_read(&fs->commit_root_sem);
			return -EAGAIN;
		}
	}
	ret = tree_block_read(fs, bytenr, &exp, &b);
	if (ret == 0) {
		/* A block of the running transaction may change: copy it
		 * under its lock. */
		locked = !!(tb_flags(b) & TB_DIRTY);
		if (locked)
			tb_lock(b, TB_READ);
		ret = tree_block_clone(b, out);
		if (locked)
			tb_unlock(b, TB_READ);
		tree_block_put(b);
	}
	if (w->view == BACKREF_COMMIT)
		up_read(&fs->commit_root_sem);
	return ret;
}

/* The root record of subvolume tree id, read once per walk. */
static int get_root(struct walk *w, u64 id, const struct root_rec **out)
{
	struct key k = { id, BTRFS_ROOT_ITEM_KEY, (u64)-1 };
	struct view_q q = { VIEW_LE, 0, 0, NULL, 0, 0 };
	struct tree_block *leaf;
	struct root_rec *r;
	const u8 *item;
	u32 i;
	int slot, ret;

	for (i = 0; i < w->nroots; i++)
		if (w->roots[i].id == id) {
			*out = &w->roots[i];
			return 0;
		}
	ret = view_search(w, NULL, BTRFS_ROOT_TREE_OBJECTID, &k, &q);
	if (ret < 0)
		return ret;
	leaf = q.leaf;
	slot = q.slot;
	if (ret == 0)
		tb_item_key(leaf, (u32)slot, &k);
	if (ret || k.objectid != id || k.type != BTRFS_ROOT_ITEM_KEY ||
	    tb_item_size(leaf, (u32)slot) < BTRFS_ROOT_ITEM_V1_SIZE) {
		pr_err("backref: tree %llu has references but no root item",
		       (unsigned long long)id);
		if (ret == 0)
			tree_block_put(leaf);
		return -EUCLEAN;
	}
	ret = grow((void **)&w->roots, &w->roots_cap, w->nroots,
		   sizeof(*w->roots));
	if (ret == 0) {
		item = tb_item_data(leaf, (u32)slot);
		r = &w->roots[w->nroots++];
		r->id = id;
		r->bytenr = D_GET64(struct d_root_item, item, bytenr);
		r->generation = D_GET64(struct d_root_item, item, generation);
		r->level = D_GET8(struct d_root_item, item, level);
		r->dead = D_GET32(struct d_root_item, item, refs) == 0;
		key_from_disk(&r->drop, D_PTR(struct d_root_item, item,
					      drop_progress));
		*out = r;
	}
	tree_block_put(leaf);
	return ret;
}

/* ------------------------------------------------------ extent refs */

/* Add count to ref (type, id, ino, offset), merging. */
static int bref_add(struct bref_list *l, u8 type, u64 id, u64 ino,
		    u64 offset, long long count)
{
	u32 i;
	int ret;

	for (i = 0; i < l->n; i++) {
		struct bref *b = &l->v[i];

		if (b->type == type && b->id == id && b->ino == ino &&
		    b->offset == offset) {
			b->count += count;
			return 0;
		}
	}
	ret = grow((void **)&l->v, &l->cap, l->n, sizeof(*l->v));
	if (ret)
		return ret;
	l->v[l->n].type = type;
	l->v[l->n].id = id;
	l->v[l->n].ino = ino;
	l->v[l->n].offset = offset;
	l->v[l->n++].count = count;
	return 0;
}

/* Add one back-reference of type, at body p of size bytes (inline:
 * without its type byte; keyed: the item), keyed at offset koff. */
static int parse_ref(struct bref_list *l, u8 type, const u8 *p, u32 size,
		     int inl, u64 koff)
{
	switch (type) {
	case BTRFS_TREE_BLOCK_REF_KEY:
	case BTRFS_SHARED_BLOCK_REF_KEY:
		return bref_add(l, type, inl ? get_le64(p) : koff, 0, 0, 1);
	case BTRFS_EXTENT_DATA_REF_KEY:
		if (size < sizeof(struct d_extent_data_ref))
			return -EUCLEAN;
		return bref_add(l, type,
				D_GET64(struct d_extent_data_ref, p, root),
				D_GET64(struct d_extent_data_ref, p, objectid),
				D_GET64(struct d_extent_data_ref, p, offset),
				D_GET32(struct d_extent_data_ref, p, count));
	case BTRFS_SHARED_DATA_REF_KEY:
		if (inl)
			return size < 12 ? -EUCLEAN :
			       bref_add(l, type, get_le64(p), 0, 0,
					get_le32(p + 8));
		return size < 4 ? -EUCLEAN :
		       bref_add(l, type, koff, 0, 0, get_le32(p));
	default:
		return -EUCLEAN;
	}
}

/* Read an extent item (key k, body p of size bytes): info and inline
 * refs. */
static int parse_extent_item(const struct key *k, const u8 *p, u32 size,
			     struct extent_info *ei, struct bref_list *l)
{
	u64 flags;
	u32 pos = (u32)sizeof(struct d_extent_item);
	int ret = 0;

	if (size < pos)
		return -EUCLEAN;
	flags = D_GET64(struct d_extent_item, p, flags);
	ei->found = 1;
	ei->generation = D_GET64(struct d_extent_item, p, generation);
	ei->is_data = !(flags & BTRFS_EXTENT_FLAG_TREE_BLOCK);
	ei->len = k->type == BTRFS_EXTENT_ITEM_KEY ? k->offset : 0;
	ei->level = k->type == BTRFS_METADATA_ITEM_KEY ? (u8)k->offset : 0;
	if (k->type == BTRFS_EXTENT_ITEM_KEY && !ei->is_data) {
		pos += (u32)sizeof(struct d_tree_block_info);
		if (size < pos)
			return -EUCLEAN;
		ei->level = D_GET8(struct d_tree_block_info,
				   p + sizeof(struct d_extent_item), level);
	}
	while (pos < size && ret == 0) {
		u32 isz = extent_inline_ref_size(p[pos]);

		if (!isz || pos + isz > size)
			return -EUCLEAN;
		ret = parse_ref(l, p[pos], p + pos + 1, isz - 1, 1, 0);
		pos += isz;
	}
	return ret;
}

/* Add the running transaction's pending changes of bytenr. */
static int add_pending(struct walk *w, u64 bytenr, struct extent_info *ei,
		       struct bref_list *l)
{
	struct dref_head *h;
	struct dref *r;
	int ret = 0;

	if (!w->t)
		return 0;
	spin_lock(&w->t->lock);
	h = delayed_ref_find_head(&w->t->refs, bytenr);
	if (h && h->must_insert && !ei->found) {
		ei->found = 1;
		ei->generation = w->t->transid;
		ei->is_data = h->is_data;
		ei->len = h->num_bytes;
		ei->level = h->level;
	}
	if (h)
		list_for_each_entry(r, &h->refs, struct dref, head_link) {
			const struct dref_key *k = &r->key;
			int data = k->type == BTRFS_EXTENT_DATA_REF_KEY;
			u64 id = k->type == BTRFS_TREE_BLOCK_REF_KEY || data ?
				 k->root : k->parent;

			ret = bref_add(l, k->type, id, data ? k->owner : 0,
				       data ? k->offset : 0, r->mod);
			if (ret)
				break;
		}
	spin_unlock(&w->t->lock);
	return ret;
}

/* Drop refs whose count the pending changes took to zero. */
static void bref_prune(struct bref_list *l)
{
	u32 i, n = 0;

	for (i = 0; i < l->n; i++)
		if (l->v[i].count > 0)
			l->v[n++] = l->v[i];
	l->n = n;
}

/*
 * Gather every back-reference of the extent at bytenr in the walk's view
 * into l, and what its extent item says into ei (ei->found 0: no such
 * extent).
 */
static int collect_refs(struct walk *w, u64 bytenr, struct extent_info *ei,
			struct bref_list *l)
{
	struct key k = { bytenr, 0, 0 };
	struct view_q q = { VIEW_GE, 0, 0, NULL, 0, 0 };
	struct tree_block *leaf = NULL;
	int slot, ret, done = 0;

	memset(ei, 0, sizeof(*ei));
	ei->bytenr = bytenr;
	l->n = 0;
	while (!done) {
		ret = view_search(w, NULL, BTRFS_EXTENT_TREE_OBJECTID, &k, &q);
		if (ret)
			break;
		leaf = q.leaf;
		slot = q.slot;
		for (; (u32)slot < tb_nritems(leaf) && ret == 0; slot++) {
			u32 size = tb_item_size(leaf, (u32)slot);
			const u8 *p = tb_item_data(leaf, (u32)slot);

			tb_item_key(leaf, (u32)slot, &k);
			if (k.objectid != bytenr) {
				done = 1;
				break;
			}
			if (k.type == BTRFS_EXTENT_ITEM_KEY ||
			    k.type == BTRFS_METADATA_ITEM_KEY)
				ret = parse_extent_item(&k, p, size, ei, l);
			else if (extent_inline_ref_size(k.type))
				ret = parse_ref(l, k.type, p, size, 0,
						k.offset);
		}
		tree_block_put(leaf);
		if (ret)
			break;
		key_next_after(&k);
	}
	if (ret < 0) {
		if (ret == -EUCLEAN)
			pr_err("backref: extent %llu: corrupt back-reference",
			       (unsigned long long)bytenr);
		return ret;
	}
	ret = add_pending(w, bytenr, ei, l);
	bref_prune(l);
	return ret;
}

/* --------------------------------------------------------- upward */

/* Blocks met by an upward walk, and those still to resolve. */
struct upward {
	struct u64set seen;
	u64 *q;
	u32 n, cap;
};

/* Queue block x unless it was met already. */
static int upward_add(struct upward *u, u64 x)
{
	int ret = set_add(&u->seen, x);

	if (ret != 1)
		return ret;
	ret = grow((void **)&u->q, &u->cap, u->n, sizeof(u64));
	if (ret == 0)
		u->q[u->n++] = x;
	return ret;
}

/* The first key of the subvolume-tree block ei; 1 when it is empty. */
static int first_key(struct walk *w, const struct extent_info *ei,
		     struct key *k)
{
	struct tree_block *b;
	int ret = view_read_block(w, ei->bytenr, ei->generation, ei->level,
				  &b);

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

/*
 * The parent of block ei in subvolume tree id (*parent 0 when the block
 * is that tree's root, or the tree does not hold it there). *have says
 * whether *k already holds the block's first key.
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
	ret = get_root(w, id, &rec);
	if (ret == 0 && !*have) {
		ret = first_key(w, ei, k);
		if (ret == 1)
			return 0;	/* empty: a tree's root */
		*have = 1;
	}
	if (ret == 0)
		ret = view_search(w, rec, id, k, &q);
	*parent = q.parent;
	return ret;
}

/*
 * Add to roots every root that reaches block bytenr, breadth first over
 * the blocks above it, each resolved once: a normal ref's root reaches
 * it, and so does whatever reaches its parent in that root's tree (the
 * ref stands for the snapshots sharing that parent); a shared ref's
 * parent is queued the same way.
 */
static int resolve_roots(struct walk *w, u64 bytenr, struct u64set *roots)
{
	struct upward u = { { NULL, 0, 0 }, NULL, 0, 0 };
	struct bref_list l = { NULL, 0, 0 };
	struct extent_info ei;
	struct key first;
	u64 parent;
	u32 qi, i;
	int ret = upward_add(&u, bytenr), have;

	for (qi = 0; ret >= 0 && qi < u.n; qi++) {
		w->st.blocks++;
		have = 0;
		ret = collect_refs(w, u.q[qi], &ei, &l);
		for (i = 0; i < l.n && ret >= 0; i++) {
			if (l.v[i].type == BTRFS_SHARED_BLOCK_REF_KEY) {
				ret = upward_add(&u, l.v[i].id);
				continue;
			}
			if (l.v[i].type != BTRFS_TREE_BLOCK_REF_KEY)
				continue;
			ret = set_add(roots, l.v[i].id);
			if (ret >= 0)
				ret = parent_in_tree(w, l.v[i].id, &ei, &first,
						     &have, &parent);
			if (ret >= 0 && parent)
				ret = upward_add(&u, parent);
		}
	}
	kfree(u.q);
	kfree(l.v);
	kfree(u.seen.v);
	return ret < 0 ? ret : 0;
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

/* Record leaf b's items pointing at the extent (once per leaf). */
static int leaf_add(struct walk *w, const struct tree_block *b, u64 bytenr)
{
	struct leaf_items *li;
	u32 i, n = 0, nr = tb_nritems(b);
	int ret;

	for (i = 0; i < w->nleaves; i++)
		if (w->leaves[i].bytenr == b->start)
			return 0;
	ret = grow((void **)&w->leaves, &w->leaves_cap, w->nleaves,
		   sizeof(*w->leaves));
	if (ret)
		return ret;
	li = &w->leaves[w->nleaves];
	li->bytenr = b->start;
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
	w->nleaves++;
	w->st.leaves++;
	return 0;
}

/*
 * Find the leaves of tree root holding file extent items that an
 * EXTENT_DATA_REF (root, ino, offset) stands for: items of ino pointing
 * at the extent whose key offset minus extent offset is offset. Their
 * key offsets lie in [offset, offset + the extent's uncompressed size).
 */
static int search_data_ref(struct walk *w, const struct bref *r,
			   const struct extent_info *ei)
{
	u64 span = ei->len > MAX_RAM_BYTES ? ei->len : MAX_RAM_BYTES;
	u64 end = r->offset + span < r->offset ? (u64)-1 : r->offset + span;
	struct key k = { r->ino, BTRFS_EXTENT_DATA_KEY, r->offset };
	struct view_q q = { VIEW_GE, 0, 0, NULL, 0, 0 };
	const struct root_rec *rec;
	struct tree_block *leaf;
	int ret = get_root(w, r->id, &rec), slot, done = 0;

	if (ret)
		return ret;
	if (rec->dead && key_cmp(&k, &rec->drop) < 0)
		k = rec->drop;
	while (!done) {
		u32 i, nr;

		ret = view_search(w, rec, r->id, &k, &q);
		if (ret)
			return ret == 1 ? 0 : ret;
		leaf = q.leaf;
		slot = q.slot;
		nr = tb_nritems(leaf);
		for (i = (u32)slot; i < nr; i++) {
			const u8 *fe = tb_item_data(leaf, i);

			tb_item_key(leaf, i, &k);
			if (k.objectid != r->ino ||
			    k.type != BTRFS_EXTENT_DATA_KEY || k.offset >= end) {
				done = 1;
				break;
			}
			if (fitem_points_at(leaf, i, ei->bytenr) &&
			    k.offset - D_GET64(struct d_file_extent_item, fe,
					       offset) == r->offset) {
				ret = leaf_add(w, leaf, ei->bytenr);
				break;
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

/* Add the leaf a SHARED_DATA_REF names. */
static int shared_data_ref(struct walk *w, u64 parent, u64 bytenr)
{
	struct bref_list l = { NULL, 0, 0 };
	struct extent_info pi;
	struct tree_block *leaf;
	u32 i;
	int ret;

	for (i = 0; i < w->nleaves; i++)
		if (w->leaves[i].bytenr == parent)
			return 0;
	ret = collect_refs(w, parent, &pi, &l);
	kfree(l.v);
	if (ret == 0 && (!pi.found || pi.is_data || pi.level != 0)) {
		pr_err("backref: extent %llu: shared ref names %llu, which "
		       "is not a leaf", (unsigned long long)bytenr,
		       (unsigned long long)parent);
		ret = -EUCLEAN;
	}
	if (ret == 0)
		ret = view_read_block(w, parent, pi.generation, 0, &leaf);
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
	ret = get_root(w, id, &rec);
	if (ret)
		return ret;
	*dead = rec->dead;
	return !rec->dead || (w->flags & BACKREF_DEAD_ROOTS);
}

static int hit_add(struct walk *w, u64 root, u64 ino, u64 offset, int dead)
{
	int ret = grow((void **)&w->hits, &w->hits_cap, w->nhits,
		       sizeof(*w->hits));

	if (ret)
		return ret;
	w->hits[w->nhits].root = root;
	w->hits[w->nhits].ino = ino;
	w->hits[w->nhits].offset = offset;
	w->hits[w->nhits++].dead = dead;
	return 0;
}

/* Hits of one leaf: each wanted root reaching it, each item's offset. */
static int leaf_hits(struct walk *w, const struct leaf_items *li, u64 pos)
{
	struct u64set roots = { NULL, 0, 0 };
	u32 r, i;
	int ret = resolve_roots(w, li->bytenr, &roots), dead, want;

	for (r = 0; r < roots.cap && ret == 0; r++) {
		if (!roots.v[r])
			continue;
		want = root_wanted(w, roots.v[r], &dead);
		if (want < 0)
			ret = want;
		for (i = 0; want == 1 && i < li->n && ret == 0; i++) {
			const struct fitem *f = &li->v[i];
			u64 off = f->key_offset;

			if (!(w->flags & BACKREF_IGNORE_OFFSET)) {
				if (pos < f->extent_offset ||
				    pos - f->extent_offset >= f->num_bytes)
					continue;
				off += pos - f->extent_offset;
			}
			ret = hit_add(w, roots.v[r], f->ino, off, dead);
		}
	}
	kfree(roots.v);
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
		ret = view_search(w, NULL, BTRFS_EXTENT_TREE_OBJECTID, &k, &q);
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

/* One pass of a data walk: every hit of the extent holding logical. */
static int data_once(struct walk *w, u64 logical)
{
	struct bref_list l = { NULL, 0, 0 };
	struct extent_info ei;
	u64 bytenr = 0;
	u32 i;
	int ret = find_extent(w, logical, &bytenr);

	if (ret == -ENOENT && w->t)
		ret = find_pending_extent(w, logical, &bytenr);
	if (ret == 0)
		ret = collect_refs(w, bytenr, &ei, &l);
	if (ret == 0 && (!ei.found || !ei.is_data))
		ret = -ENOENT;
	for (i = 0; i < l.n && ret == 0; i++) {
		if (l.v[i].type == BTRFS_EXTENT_DATA_REF_KEY)
			ret = search_data_ref(w, &l.v[i], &ei);
		else if (l.v[i].type == BTRFS_SHARED_DATA_REF_KEY)
			ret = shared_data_ref(w, l.v[i].id, bytenr);
		else
			ret = -EUCLEAN;
	}
	kfree(l.v);
	for (i = 0; i < w->nleaves && ret == 0; i++)
		ret = leaf_hits(w, &w->leaves[i], logical - bytenr);
	return ret;
}

/* One pass of a tree block walk: every root reaching bytenr. */
static int block_once(struct walk *w, u64 bytenr)
{
	struct u64set roots = { NULL, 0, 0 };
	u32 r;
	int ret = resolve_roots(w, bytenr, &roots), dead, want;

	for (r = 0; r < roots.cap && ret == 0; r++) {
		if (!roots.v[r])
			continue;
		want = root_wanted(w, roots.v[r], &dead);
		ret = want < 0 ? want :
		      want ? hit_add(w, roots.v[r], 0, 0, dead) : 0;
	}
	kfree(roots.v);
	return ret;
}

/* Forget what a pass gathered (a restart, or the end). */
static void walk_reset(struct walk *w)
{
	u32 i;

	for (i = 0; i < w->nleaves; i++)
		kfree(w->leaves[i].v);
	w->nleaves = w->nroots = w->nhits = 0;
	memset(&w->st, 0, sizeof(w->st));
}

static void walk_free(struct walk *w)
{
	walk_reset(w);
	kfree(w->leaves);
	kfree(w->roots);
	kfree(w->hits);
}

static int hit_cmp(const struct backref_hit *a, const struct backref_hit *b)
{
	if (a->root != b->root)
		return a->root < b->root ? -1 : 1;
	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	return 0;
}

/* Sort the hits (heap sort) and drop repeats. */
static void sort_hits(struct walk *w)
{
	struct backref_hit *v = w->hits, t;
	u32 n = w->nhits, i, j, c, end;

	for (end = n; end > 1; end--) {
		for (i = n == end ? end / 2 : 1; i-- > 0;) {
			for (j = i; (c = 2 * j + 1) < end; j = c) {
				if (c + 1 < end && hit_cmp(&v[c + 1], &v[c]) > 0)
					c++;
				if (hit_cmp(&v[j], &v[c]) >= 0)
					break;
				t = v[j]; v[j] = v[c]; v[c] = t;
			}
		}
		t = v[0]; v[0] = v[end - 1]; v[end - 1] = t;
	}
	for (i = j = 0; i < n; i++)
		if (j == 0 || hit_cmp(&v[j - 1], &v[i]))
			v[j++] = v[i];
	w->nhits = j;
}

/* Run one pass, in the view's locks, restarting when a commit lands. */
static int walk_run(struct walk *w, u64 at, int data)
{
	struct fs_info *fs = w->fs;
	int ret, tries = 0, hold = w->view == BACKREF_CURRENT &&
				   !(w->flags & BACKREF_TRANS_HELD);

	do {
		walk_reset(w);
		if (hold)
			down_read(&fs->trans_sem);
		if (w->view == BACKREF_CURRENT) {
			spin_lock(&fs->trans_lock);
			w->t = fs->running;
			spin_unlock(&fs->trans_lock);
		} else {
			down_read(&fs->commit_root_sem);
			w->gen = fs->generation;
			up_read(&fs->commit_root_sem);
		}
		ret = data ? data_once(w, at) : block_once(w, at);
		if (hold)
			up_read(&fs->trans_sem);
	} while (ret == -EAGAIN && ++tries < COMMIT_RETRIES);
	return ret;
}

/* Walk, then hand each hit to fn with no lock held. */
static int walk_report(struct fs_info *fs, u64 at, int data,
		       enum backref_view view, unsigned flags, backref_fn fn,
		       void *ctx, struct backref_stats *st)
{
	struct walk w;
	u32 i;
	int ret;

	memset(&w, 0, sizeof(w));
	w.fs = fs;
	w.view = view;
	w.flags = flags;
	ret = walk_run(&w, at, data);
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
