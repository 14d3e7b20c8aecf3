/*
 * The back-reference walker's reading side (see backref.c): searches and
 * block reads in the walk's view (current trees, or commit roots under
 * commit_root_sem per search), root records, and an extent's
 * back-references, inline, keyed and pending. The one place that reads
 * trees, so a shared commit-root reading module replaces
 * backref_view_search() and backref_view_read_block() only.
 */
#include <ghee/errno.h>
#include <stdlib.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "backref_int.h"
#include "extent_tree.h"
#include "fs_info.h"
#include "subvol.h"

/* Add x (never 0) to set s, a u64map of no values: 1 when it was new,
 * 0 when present, or -ENOMEM. */
int backref_set_add(struct u64map *s, u64 x)
{
	u32 n = s->n;
	int ret = u64map_put(s, x, NULL);

	return ret ? ret : s->n != n;
}

/* ------------------------------------------------------------ reading */

/* Fill r with tree id's root in the commit view. Caller holds
 * commit_root_sem for read. */
static void walk_commit_root(struct walk *w, const struct root_rec *rec,
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
	s = subvol_loaded(fs, id);
	if (s && !rec->dead)
		return &s->root;
	ctree_root_init(tmp, fs, id, rec->bytenr, rec->generation,
			rec->level);
	return tmp;
}

/*
 * Keep block b for the rest of the walk after its path or lock is gone.
 * A reference is enough for a block that cannot change meanwhile, and
 * spares a walk over thousands of leaves a copy of each: a block that is
 * not TB_DIRTY never changes again (tree_block.h), and in the current
 * view nothing changes while the walk gathers (trans_sem held for write:
 * walk_run). Any other block of the running transaction is copied (the
 * caller holds its lock).
 */
static int keep_block(const struct walk *w, struct tree_block *b,
		      struct tree_block **out)
{
	if (w->view != BACKREF_CURRENT && (tb_flags(b) & TB_DIRTY))
		return tree_block_clone(b, out);
	*out = tree_block_get(b);
	return 0;
}

/* Forget the leaves cache c keeps as hints. */
void backref_hints_reset(struct backref_cache *c)
{
	u32 i;

	for (i = 0; i < BACKREF_HINTS; i++) {
		if (c->hints[i].leaf)
			tree_block_put(c->hints[i].leaf);
		c->hints[i].leaf = NULL;
	}
}

/* The hint slot of tree id in c: its own, or the one it is to take. */
static struct leaf_hint *hint_slot(struct backref_cache *c, u64 id)
{
	u32 i;

	for (i = 0; i < BACKREF_HINTS; i++)
		if (c->hints[i].leaf && c->hints[i].id == id)
			return &c->hints[i];
	return &c->hints[c->next_hint++ % BACKREF_HINTS];
}

/*
 * Answer a GE or LE search for k from h, the leaf the last search of
 * the same tree in the same view found, when k lies within its keys:
 * the items of a tree's leaves lie in key order, every item below the
 * leaf's first key in a leaf to its left and every item above its last
 * in one to its right, so the first item >= k and the last item <= k
 * are both in h, where the search would go. The view does not change
 * while the cache holds h (backref_cache.c). Returns 1 when answered.
 */
static int hint_answer(const struct leaf_hint *h, u64 id,
		       const struct key *k, struct view_q *q)
{
	u32 n = h->leaf && h->id == id ? tb_nritems(h->leaf) : 0;
	struct key first, last;
	int slot;

	if (!n)
		return 0;
	tb_item_key(h->leaf, 0, &first);
	tb_item_key(h->leaf, n - 1, &last);
	if (key_cmp(k, &first) < 0 || key_cmp(&last, k) < 0)
		return 0;
	/* not equal: slot is the first item above k, and first < k */
	if (ctree_bin_search(h->leaf, k, &slot) && q->mode == VIEW_LE)
		slot--;
	q->slot = slot;
	q->leaf = tree_block_get(h->leaf);
	return 1;
}

/*
 * Search tree id of the walk's view for k, as q asks. rec: the tree's
 * root record (NULL for the root and extent trees). A leaf found is
 * kept (keep_block; the caller puts q->leaf with tree_block_put).
 * Returns 0, 1 when there is no such item, -EAGAIN when a commit moved
 * the commit roots, or <0.
 */
int backref_view_search(struct walk *w, const struct root_rec *rec, u64 id,
			const struct key *k, struct view_q *q)
{
	struct fs_info *fs = w->fs;
	struct ctree_root tmp;
	const struct ctree_root *r = &tmp;
	struct ctree_path p;
	const struct tree_block *up;
	struct leaf_hint *hint;
	int ret;

	w->st.searches++;
	ctree_path_init(&p);
	hint = w->cache && q->mode != VIEW_PARENT ?
	       hint_slot(w->cache, id) : NULL;
	if (w->view == BACKREF_COMMIT) {
		down_read(&fs->commit_root_sem);
		if (fs->generation != w->gen) {
			up_read(&fs->commit_root_sem);
			return -EAGAIN;
		}
		if (hint && hint_answer(hint, id, k, q)) {
			up_read(&fs->commit_root_sem);
			return 0;
		}
		walk_commit_root(w, rec, id, &tmp);
	} else if (hint && hint_answer(hint, id, k, q)) {
		return 0;
	} else {
		r = current_root_of(w, rec, id, &tmp);
	}
	if (q->mode == VIEW_PARENT) {
		/* Down to the parent's level only: below it, a dead tree's
		 * path to k may lead left of its drop_progress, to freed
		 * blocks (the child straddles it). */
		ret = ctree_search_level(r, k, q->level + 1, &p);
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
			ret = keep_block(w, p.nodes[0], &q->leaf);
		}
		if (ret == 0 && hint) {
			if (hint->leaf)
				tree_block_put(hint->leaf);
			hint->id = id;
			hint->leaf = tree_block_get(q->leaf);
		}
	}
	ctree_path_release(&p);
	if (w->view == BACKREF_COMMIT)
		up_read(&fs->commit_root_sem);
	return ret;
}

/* Read the subvolume-tree block at bytenr (generation, level from its
 * extent item) in the walk's view, kept in *out (keep_block). */
int backref_view_read_block(struct walk *w, u64 bytenr, u64 generation,
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
		ret = keep_block(w, b, out);
		if (locked)
			tb_unlock(b, TB_READ);
		tree_block_put(b);
	}
	if (w->view == BACKREF_COMMIT)
		up_read(&fs->commit_root_sem);
	return ret;
}

/* Forget the root records r holds (its memory stays for reuse). */
void backref_roots_reset(struct root_recs *r)
{
	r->n = 0;
	u64map_free(&r->idx);
}

/* The root record of subvolume tree id, read once per walk (or per
 * cache). */
int backref_get_root(struct walk *w, u64 id, const struct root_rec **out)
{
	struct key k = { id, BTRFS_ROOT_ITEM_KEY, (u64)-1 };
	struct view_q q = { VIEW_LE, 0, 0, NULL, 0, 0 };
	struct root_recs *rr = w->roots;
	struct tree_block *leaf;
	struct root_rec *r;
	const u8 *item;
	u64 at;
	int slot, ret;

	if (u64map_get(&rr->idx, id, &at) == 0) {
		*out = &rr->v[at];
		return 0;
	}
	ret = backref_view_search(w, NULL, BTRFS_ROOT_TREE_OBJECTID, &k, &q);
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
	at = rr->n;
	ret = array_grow((void **)&rr->v, &rr->cap, rr->n, sizeof(*rr->v));
	if (ret == 0)
		ret = u64map_put(&rr->idx, id, &at);
	if (ret == 0) {
		item = tb_item_data(leaf, (u32)slot);
		r = &rr->v[rr->n++];
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

/* Append ref (type, id, ino, offset) of count references. The extent
 * tree holds each ref once; pending changes are merged afterwards
 * (bref_merge). */
static int bref_add(struct bref_list *l, u8 type, u64 id, u64 ino,
		    u64 offset, long long count)
{
	int ret;

	if (!l)
		return 0;	/* info only */
	ret = array_grow((void **)&l->v, &l->cap, l->n, sizeof(*l->v));
	if (ret)
		return ret;
	l->v[l->n].type = type;
	l->v[l->n].id = id;
	l->v[l->n].ino = ino;
	l->v[l->n].offset = offset;
	l->v[l->n++].count = count;
	return 0;
}

static int bref_cmp(const void *x, const void *y)
{
	const struct bref *a = x, *b = y;

	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	return 0;
}

/* Sort l and add up the counts of each ref (the extent tree's and its
 * pending changes): n log n, where a search per pending change would
 * cost refs x changes (a leaf shared by thousands of snapshots, many of
 * them stepped by one defrag commit). */
static void bref_merge(struct bref_list *l)
{
	u32 i, n = 0;

	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), bref_cmp);
	for (i = 0; i < l->n; i++) {
		if (n && !bref_cmp(&l->v[n - 1], &l->v[i]))
			l->v[n - 1].count += l->v[i].count;
		else
			l->v[n++] = l->v[i];
	}
	l->n = n;
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

/* Add the running transaction's pending changes of bytenr (to l
 * unless NULL), merged with what l holds. */
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
	if (h && l)
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
	if (h && l && ret == 0)
		bref_merge(l);
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
 * extent). l NULL: only ei (one search, however many refs it has).
 */
int backref_collect_refs(struct walk *w, u64 bytenr, struct extent_info *ei,
			 struct bref_list *l)
{
	struct key k = { bytenr, 0, 0 };
	struct view_q q = { VIEW_GE, 0, 0, NULL, 0, 0 };
	struct tree_block *leaf = NULL;
	int slot, ret, done = 0;

	memset(ei, 0, sizeof(*ei));
	ei->bytenr = bytenr;
	if (l)
		l->n = 0;
	while (!done) {
		ret = backref_view_search(w, NULL, BTRFS_EXTENT_TREE_OBJECTID,
					  &k, &q);
		if (ret)
			break;
		leaf = q.leaf;
		slot = q.slot;
		for (; (u32)slot < tb_nritems(leaf) && ret == 0; slot++) {
			u32 size = tb_item_size(leaf, (u32)slot);
			const u8 *p = tb_item_data(leaf, (u32)slot);

			tb_item_key(leaf, (u32)slot, &k);
			if (k.objectid != bytenr || (!l && ei->found)) {
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
	if (l)
		bref_prune(l);
	return ret;
}
