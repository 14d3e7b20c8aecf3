/*
 * Relocation of one block group: every extent in it moves elsewhere and
 * every reference to it, in every tree, snapshot and reflink, is fixed,
 * so the group ends empty and can be freed (balance, device removal).
 *
 * Design: move the extents, then rewrite the referencing blocks found by
 * walking every tree top-down, once per distinct block. Linux builds a
 * relocation tree per subvolume (a snapshot of it whose copies point at
 * the new places) and merges it back, which lets relocation run while
 * the subvolume changes, at the price of two extra trees per subvolume
 * and a merge that must reproduce sharing. ghee instead does each
 * rewrite inside one commit (trans_commit_with: no change runs, every
 * queued reference has run), which keeps it simple and exact. A group
 * moves in several relocation commits, a batch each (a data group's
 * next RELOC_BATCH_BYTES of extents, fewer when a writer waits, a
 * metadata or system group's next tree blocks), so no commit's work grows with the group: writers wait
 * for one batch, their changes commit between batches, and a pause
 * waits for one batch:
 *  1. The group turns read-only (nothing new is allocated in it) and a
 *     commit makes every block allocated in it before that durable.
 *  2. Inside the relocation commit, what moves is chosen.
 *     A data group: each data extent of the next batch is copied to a
 *     new extent outside it; its checksums are checked and written for
 *     the new place (the old ones go when the old extent's last
 *     reference does, at the same commit). Extents writers freed since
 *     the last batch are gone from the extent tree the batch is read
 *     from. A batch ends early, between extents, when a change waits
 *     for trans_sem. relocation_data.c.
 *     A metadata group: the next batch of its tree blocks in address
 *     order, each with its level and first key (relocation_blocks.c).
 *  3. The trees are walked from their roots toward the batch's targets
 *     (the subvolume and other trees named by the root tree, then, for a
 *     metadata batch, the root tree and the chunk tree). A
 *     block changes when it lies in the group, points at a block that
 *     changed or (a leaf) at a moved data extent. A changed block that
 *     this transaction made is fixed in place; any other is copied to a
 *     new address with its pointers fixed. The result of every block is
 *     remembered by address, so a block shared by N snapshots is visited
 *     and copied once and the N parents (themselves copied once) point at
 *     the one copy: sharing is kept and used space does not grow.
 *     The walk only goes down the slots whose key range holds a
 *     target's key, below the target's level (rewrite_children): a
 *     node's slot key is its child's first key, so in every tree holding
 *     a target (tree_check verifies that key on every read) the path to
 *     that key passes through each block above it, and so through each
 *     block that must change. A metadata batch's targets are its blocks
 *     (first key and level), in every tree. A data batch's are the file
 *     extent items naming its extents, each in the tree the
 *     back-reference walker found reaching it (relocation_data.c: a
 *     normal ref searched in its tree, a shared ref's leaf, and every
 *     tree above those leaves), and only those trees are walked. The
 *     walker knows subvolume trees only: the root tree's items (an older
 *     Linux's v1 free space cache files) are found from their refs
 *     there, and the data relocation tree (an interrupted Linux
 *     balance's copies; small) is walked whole (walked_whole). A batch
 *     costs a path per target, not a read of every tree. A data batch
 *     then checks that it rewrote as many file extent items as the moved extents
 *     have references, and fails otherwise (rewrite_all): no reference
 *     is left naming a freed address, whatever the walker missed.
 *     A copy keeps the old block's contents byte for byte but for its
 *     address and pointers, generation included: the block means what
 *     it meant, so sharing detection (last_snapshot), send's generation
 *     tests and a read-only snapshot's ctransid see no change.
 *  4. References move with the extents, as delayed refs: each moved
 *     extent's references (read from the extent tree) are queued on the
 *     new extent and dropped from the old one, with every shared ref's
 *     parent mapped to that parent's new address; an unmoved extent
 *     below a copied FULL_BACKREF block has its shared refs naming the
 *     old parent moved to the copy. The old extents' counts reach zero
 *     when the commit runs the refs, so they are freed the ordinary way:
 *     pinned until this commit is on disk (DESIGN.md invariant 1).
 *     Since step 3 rewrote every block pointing at a copied one, and
 *     every leaf naming a moved data extent, no tree names the old
 *     address after the commit, batch or not: a writer of a later
 *     transaction (a reflink) finds only the new one.
 *  5. The commit marks itself a relocation commit: swapping the commit
 *     roots it bumps last_reloc_trans under commit_root_sem held for
 *     write (commit_root_reloc_count(), for send), and extent_moves
 *     when data moved, for file reads that found an old item
 *     (fs/file.c, "Data that moves under a read"). Every batch's commit
 *     bumps it.
 * Invariant after the last commit: the group's used bytes are 0; if not,
 * a tree that was not walked holds blocks there and the group stays
 * read-only with an error.
 *  6. A second commit deletes the group's items (block group, free
 *     space, device extents, chunk); once it is on disk the chunk leaves
 *     the map and its device space is free for new chunks.
 *
 * Stopping (a balance's pause or cancel, asked through stop): a data
 * group stops between extents in step 2 or between batches, a metadata
 * group between batches. Each commit is whole, so what moved stays moved and the
 * group, holding the rest, turns writable again; a power cut between
 * batches leaves the same. A resume or a new balance starts the group
 * again and finds only what is left. A stop inside the walk itself is
 * not possible: step 4 needs every block pointing at a copied one
 * rewritten in the same commit.
 *
 * A half-dropped tree cannot be walked: each group waits for the cleaner
 * to drop the deleted subvolumes first, and again when one is deleted
 * before its commit starts (btrfs/252 deletes snapshots beside balances).
 * Refused before anything moves: relocation trees Linux left, a tree log
 * not replayed, mixed groups.
 * Locking: the walk runs inside the commit, holding fs->trans_sem for
 * write; it reads blocks with tree-block locks as searches do, and fixes
 * a block in place holding that block's lock for write. The emptied
 * group leaves memory under trans_sem for write and then alloc_lock.
 */
#include <ghee/errno.h>
#include <stdlib.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "backref_int.h"
#include "block_group.h"
#include "chunk.h"
#include "ctree_write.h"
#include "extent_tree.h"
#include "fs_info.h"
#include "relocation.h"
#include "relocation_int.h"
#include "subvol.h"
#include "tree_check.h"
#include "transaction.h"

/* x's new address in m (x itself when it did not move). */
static u64 remap_addr(const struct u64map *m, u64 x)
{
	u64 to;

	return u64map_get(m, x, &to) ? x : to;
}

int reloc_moved_add(struct moved_list *l, const struct moved *x)
{
	int ret = array_grow((void **)&l->v, &l->cap, l->n, sizeof(*x));

	if (ret == 0)
		l->v[l->n++] = *x;
	return ret;
}

/* Call fn on each extent item of the group at or after address from, in
 * address order, until it returns nonzero; 0 or <0. */
int reloc_scan_extents(struct reloc *r, u64 from, reloc_extent_fn fn,
		       void *arg)
{
	struct key k = { from, 0, 0 };
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_ge(&r->fs->extent_root, &k, &p);
	while (ret == 0) {
		u32 size;
		const u8 *item = ctree_item_ptr(&p, &size);

		ctree_item_key(&p, &k);
		if (k.objectid >= r->end)
			break;
		if (k.type == BTRFS_EXTENT_ITEM_KEY ||
		    k.type == BTRFS_METADATA_ITEM_KEY) {
			ret = fn(r, &k, D_GET64(struct d_extent_item, item,
						flags), arg);
			if (ret)
				break;
		}
		ret = ctree_next_item(&p);
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : 0;
}

static int in_group(const struct reloc *r, u64 bytenr)
{
	return bytenr >= r->start && bytenr < r->end;
}

/* ------------------------------------------------------------ trees */

static int rewrite(struct reloc *r, struct ctree_root *root,
		   struct tree_block *b, const struct reloc_target *tg,
		   u32 ntg, u64 *out);

static int target_cmp(const void *x, const void *y)
{
	const struct reloc_target *a = x, *b = y;
	int c = key_cmp(&a->key, &b->key);

	if (a->root != b->root)
		return a->root < b->root ? -1 : 1;
	return c ? c : (int)a->level - (int)b->level;
}

/* Sort r's targets by (root, key): the order the walk splits them in. */
void reloc_targets_sort(struct reloc *r)
{
	if (r->ntargets)	/* none: targets may be NULL */
		qsort(r->targets, r->ntargets, sizeof(*r->targets),
		      target_cmp);
}

/*
 * New addresses of b's children (nodes) into v; *changed if any moved.
 * tg[0..ntg): the targets in b's key range, sorted by key. The walk
 * goes down child i only for those whose key lies in its slot's range
 * [key i, key i + 1) and whose level is below b's: a node's slot key is
 * its child's first key, so in every tree holding a target the path to
 * its key passes through each block that must change (tree_check
 * verifies that key on every read). Keys before b's first are not
 * below b.
 */
static int rewrite_children(struct reloc *r, struct ctree_root *root,
			    struct tree_block *b,
			    const struct reloc_target *tg, u32 ntg, u64 *v,
			    int *changed)
{
	u32 i, j = 0, from, n = tb_nritems(b);
	struct key next;
	int ret = 0, want;

	if (n) {
		tb_node_key(b, 0, &next);
		while (j < ntg && key_cmp(&tg[j].key, &next) < 0)
			j++;
	}
	for (i = 0; i < n && ret == 0; i++) {
		u64 child = tb_node_blockptr(b, i);
		/* visited from another tree sharing it: v[i] is its result */
		int seen = !u64map_get(&r->blocks, child, &v[i]);
		struct tree_block *c;

		if (i + 1 < n)
			tb_node_key(b, i + 1, &next);
		for (from = j, want = r->whole; j < ntg && (i + 1 == n ||
		     key_cmp(&tg[j].key, &next) < 0); j++)
			want |= tg[j].level < tb_level(b);
		if (!seen && !want)
			v[i] = child;	/* cannot lead to a target */
		if (!seen && want) {
			ret = ctree_read_child(root, b, (int)i, &c);
			if (ret)
				break;
			ret = rewrite(r, root, c, tg + from, j - from, &v[i]);
			tree_block_put(c);
		}
		if (v[i] != child)
			*changed = 1;
	}
	return ret;
}

/* The file extent item in slot i of leaf b, or NULL (not one, inline). */
static const u8 *file_extent(const struct tree_block *b, u32 i)
{
	struct key k;
	const u8 *fe;

	tb_item_key(b, i, &k);
	if (k.type != BTRFS_EXTENT_DATA_KEY)
		return NULL;
	fe = tb_item_data(b, i);
	if (D_GET8(struct d_file_extent_item, fe, type) ==
	    BTRFS_FILE_EXTENT_INLINE)
		return NULL;
	return fe;
}

/* Whether leaf b points at a moved data extent. */
static int leaf_changes(struct reloc *r, const struct tree_block *b)
{
	u32 i, n = tb_nritems(b);

	for (i = 0; i < n; i++) {
		const u8 *fe = file_extent(b, i);

		if (fe && !u64map_get(&r->data, D_GET64(struct d_file_extent_item,
							fe, disk_bytenr), NULL))
			return 1;
	}
	return 0;
}

/* Point the writable block nb where the rewrite says. */
static void fix_block(struct reloc *r, struct tree_block *nb, const u64 *v)
{
	u32 i, n = tb_nritems(nb);

	for (i = 0; i < n; i++) {
		if (tb_level(nb) > 0) {
			struct key k;

			tb_node_key(nb, i, &k);
			node_set_ptr(nb, i, &k, v[i], tb_node_ptr_gen(nb, i));
		} else if (file_extent(nb, i)) {
			u8 *fe = tb_item_data_w(nb, i);
			u64 d = D_GET64(struct d_file_extent_item, fe,
					disk_bytenr);

			u64 to = remap_addr(&r->data, d);

			D_SET64(struct d_file_extent_item, fe, disk_bytenr, to);
			r->data_items_fixed += to != d;
		}
	}
}

/*
 * Queue the unmoved extents below block b (being copied) when its
 * children are referenced by its address (FULL_BACKREF): their shared
 * refs must name the copy. v: b's children's new addresses (nodes).
 */
static int queue_children(struct reloc *r, const struct tree_block *b,
			  const u64 *v)
{
	u64 refs, flags;
	u32 i, n = tb_nritems(b);
	int ret = extent_lookup_info(r->t, b->start, &refs, &flags);

	if (ret || !(flags & BTRFS_BLOCK_FLAG_FULL_BACKREF))
		return ret;
	for (i = 0; i < n && ret == 0; i++) {
		struct moved c = { 0, 0, r->fs->nodesize, 0, 0, 0 };
		const u8 *fe;

		if (tb_level(b) > 0) {
			c.old = tb_node_blockptr(b, i);
			c.level = (u8)(tb_level(b) - 1);
			if (v[i] != c.old)
				continue;	/* moved: mapped with the rest */
		} else if ((fe = file_extent(b, i))) {
			c.old = D_GET64(struct d_file_extent_item, fe,
					disk_bytenr);
			c.len = D_GET64(struct d_file_extent_item, fe,
					disk_num_bytes);
			c.is_data = 1;
			if (!c.old || remap_addr(&r->data, c.old) != c.old)
				continue;
		} else {
			continue;
		}
		c.new_ = c.old;
		ret = backref_set_add(&r->fixup_seen, c.old);
		if (ret == 1)
			ret = reloc_moved_add(&r->fixups, &c);
	}
	return ret < 0 ? ret : 0;
}

/*
 * Give b (changed) its fixed contents: in place when this transaction
 * made it, else in a copy at a new address. *out: the address.
 */
static int write_changed(struct reloc *r, struct ctree_root *root,
			 struct tree_block *b, const u64 *v, u64 *out)
{
	struct tree_block *nb;
	struct moved m = { b->start, 0, r->fs->nodesize, tb_level(b), 0,
			   root->objectid };
	int ret;

	if ((tb_flags(b) & TB_DIRTY) && tb_generation(b) == r->t->transid) {
		if (in_group(r, b->start))
			return -EUCLEAN;	/* the group was read-only */
		tb_lock(b, TB_WRITE);
		fix_block(r, b, v);
		tb_unlock(b, TB_WRITE);
		*out = b->start;
		return 0;
	}
	ret = queue_children(r, b, v);
	if (ret)
		return ret;
	/* A new block with a reference from root, which ref_transfer()
	 * takes back: the copy gets exactly the old block's refs. */
	ret = extent_alloc_tree_block(r->t, root, tb_level(b), &nb);
	if (ret)
		return ret;
	tb_lock(nb, TB_WRITE);
	memcpy(nb->data, b->data, b->len);
	D_SET64(struct d_header, nb->data, bytenr, nb->start);
	fix_block(r, nb, v);
	tb_unlock(nb, TB_WRITE);
	m.new_ = nb->start;
	*out = nb->start;
	tree_block_put(nb);
	r->st->tree_blocks++;
	return reloc_moved_add(&r->block_moves, &m);
}

/*
 * Step 3 for block b of tree root (and, first, everything below it):
 * *out is its address once fixed, b->start when nothing changed.
 */
static int rewrite(struct reloc *r, struct ctree_root *root,
		   struct tree_block *b, const struct reloc_target *tg,
		   u32 ntg, u64 *out)
{
	u32 n = tb_nritems(b);
	u64 *v = NULL;
	int changed = in_group(r, b->start), ret = 0;

	if (!u64map_get(&r->blocks, b->start, out))
		return 0;
	r->st->blocks_seen++;
	if (tb_level(b) > 0) {
		v = kmalloc((n ? n : 1) * sizeof(u64));
		if (!v)
			return -ENOMEM;
		ret = rewrite_children(r, root, b, tg, ntg, v, &changed);
	} else if (leaf_changes(r, b)) {
		changed = 1;
	}
	*out = b->start;
	if (ret == 0 && changed)
		ret = write_changed(r, root, b, v, out);
	if (ret == 0)
		ret = u64map_put(&r->blocks, b->start, out);
	kfree(v);
	return ret;
}

/*
 * The trees a data batch walks whole: those that hold file extent items
 * but are not subvolumes', whose data refs the back-reference walker
 * does not follow. The root tree holds the free space cache files (v1)
 * an older Linux wrote; the data relocation tree holds the copies of an
 * interrupted Linux balance. Both are small.
 */
static int walked_whole(const struct reloc *r, u64 id)
{
	return r->is_data && (id == BTRFS_ROOT_TREE_OBJECTID ||
			      id == BTRFS_DATA_RELOC_TREE_OBJECTID);
}

/* Rewrite tree root from its root block, toward targets tg[0..ntg)
 * (everywhere when walked_whole); *moved: its root block moved. */
static int rewrite_tree(struct reloc *r, struct ctree_root *root,
			const struct reloc_target *tg, u32 ntg, int *moved)
{
	struct tree_block *b;
	u64 to;
	int ret;

	*moved = 0;
	r->whole = walked_whole(r, root->objectid);
	if (!ctree_root_exists(root))
		return 0;
	ret = ctree_read_root(root, &b);
	if (ret)
		return ret;
	ret = rewrite(r, root, b, tg, ntg, &to);
	if (ret == 0 && to != b->start) {
		/* The copy keeps the old root block's generation and level. */
		spin_lock(&root->lock);
		root->bytenr = to;
		root->dirty = 1;
		spin_unlock(&root->lock);
		*moved = 1;
	}
	tree_block_put(b);
	return ret;
}

/* A tree named by a root item. */
struct tree_ref {
	u64 id, bytenr, generation, last_snapshot;
	u8 level;
};

/* The in-memory root of tree id, or NULL when it has none. */
static struct ctree_root *live_root(struct fs_info *fs, u64 id)
{
	const struct subvol_root *sv;

	switch (id) {
	case BTRFS_EXTENT_TREE_OBJECTID: return &fs->extent_root;
	case BTRFS_DEV_TREE_OBJECTID: return &fs->dev_root;
	case BTRFS_CSUM_TREE_OBJECTID: return &fs->csum_root;
	case BTRFS_UUID_TREE_OBJECTID: return &fs->uuid_root;
	case BTRFS_FREE_SPACE_TREE_OBJECTID: return &fs->fst_root;
	case BTRFS_QUOTA_TREE_OBJECTID:
		/* Quota accounting writes it later in this commit, through
		 * fs->quota_root: that must name the moved root block. */
		return ctree_root_exists(&fs->quota_root) ? &fs->quota_root
							  : NULL;
	}
	if (subvol_get(fs, id, &sv))
		return NULL;
	/* Its root record changes under its own lock (ctree.h). */
	return (struct ctree_root *)&sv->root;
}

/* Every tree the root tree names; refuses what cannot be walked. */
static int list_trees(struct reloc *r, struct tree_ref **out, u32 *nout)
{
	struct key k = { 0, BTRFS_ROOT_ITEM_KEY, 0 };
	struct tree_ref *v = NULL;
	u32 n = 0, cap = 0;
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_ge(&r->fs->tree_root, &k, &p);
	while (ret == 0) {
		u32 size;
		const u8 *item = ctree_item_ptr(&p, &size);

		ctree_item_key(&p, &k);
		if (k.type != BTRFS_ROOT_ITEM_KEY)
			goto next;
		if (k.objectid == BTRFS_TREE_RELOC_OBJECTID) {
			pr_err("relocation: relocation trees left by an "
			       "interrupted Linux balance; refused");
			ret = -EOPNOTSUPP;
			break;
		}
		if (D_GET32(struct d_root_item, item, refs) == 0) {
			/* a deleted subvolume the cleaner has not dropped
			 * yet: reloc_block_group waits for it, then tries
			 * again */
			ret = -EAGAIN;
			break;
		}
		ret = array_grow((void **)&v, &cap, n, sizeof(*v));
		if (ret)
			break;
		v[n].id = k.objectid;
		v[n].bytenr = D_GET64(struct d_root_item, item, bytenr);
		v[n].generation = D_GET64(struct d_root_item, item,
					  generation);
		v[n].level = D_GET8(struct d_root_item, item, level);
		v[n].last_snapshot = D_GET64(struct d_root_item, item,
					     last_snapshot);
		n++;
next:
		ret = ctree_next_item(&p);
	}
	ctree_path_release(&p);
	if (ret < 0) {
		kfree(v);
		return ret;
	}
	*out = v;
	*nout = n;
	return 0;
}

int reloc_trees_left(struct fs_info *fs)
{
	struct key k = { BTRFS_TREE_RELOC_OBJECTID, BTRFS_ROOT_ITEM_KEY, 0 };
	struct ctree_path p;
	int ret, left = 0;

	ctree_path_init(&p);
	ret = ctree_search_ge(&fs->tree_root, &k, &p);
	if (ret == 0) {
		ctree_item_key(&p, &k);
		left = k.objectid == BTRFS_TREE_RELOC_OBJECTID &&
		       k.type == BTRFS_ROOT_ITEM_KEY;
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : left;
}

/* The targets in tree id: *tg[0..*n), empty when it holds none. A
 * metadata batch's targets are in any tree. */
static void tree_targets(const struct reloc *r, u64 id,
			 const struct reloc_target **tg, u32 *n)
{
	u32 lo = 0, hi = r->ntargets, end;

	*tg = r->targets;
	*n = r->ntargets;
	if (!r->is_data)
		return;
	while (lo < hi) {	/* the first of tree id or after */
		u32 mid = lo + (hi - lo) / 2;

		if (r->targets[mid].root < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < r->ntargets && r->targets[end].root == id; end++)
		;
	*tg = r->targets + lo;
	*n = end - lo;
}

/*
 * Step 3: every tree holding a target or walked whole, then the root
 * tree (for a data batch when it holds a target), then for a metadata
 * batch the chunk tree (it names no data).
 * A data batch ends by counting: every reference to a moved extent is
 * one file extent item, in one leaf, and each leaf is rewritten once, so
 * the walk must have pointed exactly data_refs items at new addresses.
 * Fewer: some tree's items would still name the old addresses, freed at
 * this commit. The batch fails instead (EUCLEAN, the commit aborts).
 */
static int rewrite_all(struct reloc *r)
{
	struct fs_info *fs = r->fs;
	struct tree_ref *v = NULL;
	const struct reloc_target *tg;
	u32 n = 0, nt, i;
	int moved, ret = list_trees(r, &v, &n);

	for (i = 0; i < n && ret == 0; i++) {
		struct ctree_root *live, tmp;

		tree_targets(r, v[i].id, &tg, &nt);
		if (r->is_data && nt == 0 && !walked_whole(r, v[i].id))
			continue;
		live = live_root(fs, v[i].id);
		if (!live) {
			ctree_root_init(&tmp, fs, v[i].id, v[i].bytenr,
					v[i].generation, v[i].level);
			tmp.last_snapshot = v[i].last_snapshot;
		}
		ret = rewrite_tree(r, live ? live : &tmp, tg, nt, &moved);
		if (ret == 0 && moved && !live)
			ret = trans_write_root_item(r->t, &tmp);
	}
	kfree(v);
	tree_targets(r, BTRFS_ROOT_TREE_OBJECTID, &tg, &nt);
	if (ret == 0 && (nt || !r->is_data))
		ret = rewrite_tree(r, &fs->tree_root, tg, nt, &moved);
	if (ret == 0 && !r->is_data)
		ret = rewrite_tree(r, &fs->chunk_root, r->targets,
				   r->ntargets, &moved);
	if (ret == 0 && r->data_items_fixed != r->data_refs) {
		pr_err("relocation: %llu references to the moved data, but "
		       "the walk found %llu file extent items; refused",
		       (unsigned long long)r->data_refs,
		       (unsigned long long)r->data_items_fixed);
		ret = -EUCLEAN;
	}
	return ret;
}

/* -------------------------------------------------------- references */

/* The delayed-ref key of back-reference b of extent bytenr. */
static struct dref_key ref_key(const struct bref *b, u64 bytenr, u8 level)
{
	struct dref_key k = { 0 };

	k.bytenr = bytenr;
	k.type = b->type;
	switch (b->type) {
	case BTRFS_TREE_BLOCK_REF_KEY:
		k.root = b->id;
		k.owner = level;
		break;
	case BTRFS_SHARED_BLOCK_REF_KEY:
		k.parent = b->id;
		k.owner = level;
		break;
	case BTRFS_EXTENT_DATA_REF_KEY:
		k.root = b->id;
		k.owner = b->ino;
		k.offset = b->offset;
		break;
	default:
		k.parent = b->id;
		break;
	}
	return k;
}

static int same_ref(const struct dref_key *a, const struct dref_key *b)
{
	return a->bytenr == b->bytenr && a->root == b->root &&
	       a->parent == b->parent && a->owner == b->owner &&
	       a->offset == b->offset && a->type == b->type;
}

/*
 * Step 4 for extent m: queue its references on its new address, with
 * shared refs' parents mapped, and drop them from the old one. A copied
 * tree block gives back the ref its allocation queued, and keeps the
 * old block's FULL_BACKREF flag (then its children are named by its
 * address: queue_children).
 */
static int ref_transfer(struct reloc *r, const struct moved *m)
{
	struct walk w = { 0 };
	struct extent_info ei;
	struct bref_list l = { 0 };
	u64 refs, flags = 0;
	u32 i;
	int first = 1, ret;

	w.fs = r->fs;
	w.view = BACKREF_CURRENT;	/* the extent tree alone: w.t NULL */
	ret = backref_collect_refs(&w, m->old, &ei, &l);
	if (ret == 0 && !ei.found)
		ret = -EUCLEAN;
	if (ret == 0 && !m->is_data)
		ret = extent_lookup_info(r->t, m->old, &refs, &flags);
	if (ret == 0 && m->new_ != m->old)
		ret = delayed_ref_set_generation(r->t, m->new_, m->len,
						 m->is_data, ei.generation);
	for (i = 0; i < l.n && ret == 0; i++) {
		struct dref_key o = ref_key(&l.v[i], m->old, m->level);
		struct dref_key k = o;
		long long c = l.v[i].count;

		k.bytenr = m->new_;
		if (k.parent)
			k.parent = remap_addr(&r->blocks, k.parent);
		if (same_ref(&k, &o))
			continue;
		if (first && m->is_data && m->new_ != m->old) {
			ret = delayed_ref_alloc(r->t, &k, m->len, 1, 0);
			c--;
		}
		first = 0;
		if (ret == 0 && c)
			ret = delayed_ref_add(r->t, &k, m->len, m->is_data, c);
		if (ret == 0)
			ret = delayed_ref_add(r->t, &o, m->len, m->is_data,
					      -l.v[i].count);
	}
	kfree(l.v);
	if (ret == 0 && m->alloc_root) {
		struct dref_key k = { 0 };

		k.bytenr = m->new_;
		k.type = BTRFS_TREE_BLOCK_REF_KEY;
		k.root = m->alloc_root;
		k.owner = m->level;
		ret = delayed_ref_add(r->t, &k, m->len, 0, -1);
		if (ret == 0 && (flags & BTRFS_BLOCK_FLAG_FULL_BACKREF))
			ret = delayed_ref_set_flags(r->t, m->new_, m->len,
						    BTRFS_BLOCK_FLAG_FULL_BACKREF);
	}
	return ret;
}

/* Step 4 for everything: moved blocks, moved data, then the fixups the
 * blocks queued. */
static int transfer_all(struct reloc *r)
{
	u32 i;
	int ret = 0;

	for (i = 0; i < r->block_moves.n && ret == 0; i++)
		ret = ref_transfer(r, &r->block_moves.v[i]);
	for (i = 0; i < r->data_moves.n && ret == 0; i++)
		ret = ref_transfer(r, &r->data_moves.v[i]);
	for (i = 0; i < r->fixups.n && ret == 0; i++)
		ret = ref_transfer(r, &r->fixups.v[i]);
	return ret;
}

/* The relocation commit's work, run inside it (trans_commit_with). */
static int relocate_in_commit(struct trans *t, void *arg)
{
	struct reloc *r = arg;
	int ret;

	struct tree_ref *v = NULL;
	u32 n;

	r->t = t;
	if (get_le64(&r->fs->super->log_root)) {
		pr_err("relocation: a tree log waits for replay; refused");
		return -EBUSY;
	}
	/* Refuse what cannot be walked before anything changes (the list
	 * is read again after the data moved: root items change). */
	ret = list_trees(r, &v, &n);
	kfree(v);
	if (ret)
		return ret;
	if (r->is_data) {
		ret = reloc_move_data(r);
		if (ret == 0)
			ret = trans_settle(t);
		if (ret == 0)
			ret = reloc_data_targets(r);
	} else {
		ret = reloc_next_blocks(r);
	}
	if (ret == 0)
		ret = rewrite_all(r);
	if (ret == 0)
		ret = transfer_all(r);
	if (ret)
		trans_abort(t, ret);
	else if (r->data_moves.n)
		t->moved_data = 1;
	return ret;
}

/* The removal commit's work: delete the empty group's items. */
static int remove_in_commit(struct trans *t, void *arg)
{
	const u64 *start = arg;
	struct block_group *bg = bg_lookup(t->fs, *start);
	int ret = bg && bg->start == *start && bg->ro ?
		  chunk_remove_items(t, bg) : -EUCLEAN;

	if (ret)
		trans_abort(t, ret);
	return ret;
}

/*
 * Step 6: free the emptied group. Its items go in a commit of their own
 * after the relocation commit, whose freed ranges in the group are then
 * given back; its device space is reusable once this commit is on disk.
 * While a reader of an older commit runs (commit_root.c: send, a live
 * fsck), it may still read the group's old blocks through their chunk:
 * the group then stays in memory, read-only and empty, with its device
 * space unused, until the next mount.
 */
static int remove_group(struct fs_info *fs, u64 start)
{
	int ret = trans_commit_with(fs, remove_in_commit, &start, 0);

	if (ret)
		return ret;
	/* A commit reads the groups without alloc_lock (fs_info.h): one
	 * must not run while the group leaves them. */
	down_write(&fs->trans_sem);
	if (!__atomic_load_n(&fs->commit_readers, __ATOMIC_ACQUIRE)) {
		mutex_lock(&fs->alloc_lock);
		chunk_forget(fs, start);
		mutex_unlock(&fs->alloc_lock);
	}
	up_write(&fs->trans_sem);
	return 0;
}

static void reloc_free(struct reloc *r)
{
	u64map_free(&r->data);
	u64map_free(&r->blocks);
	kfree(r->data_moves.v);
	kfree(r->block_moves.v);
	kfree(r->fixups.v);
	u64map_free(&r->fixup_seen);
	kfree(r->targets);
}

/* Forget one commit's batch and walk: the next commit's starts afresh
 * (what this one made is no longer its own to fix in place, and no tree
 * names what it moved by the old address). */
static void reloc_reset(struct reloc *r)
{
	u64map_free(&r->blocks);
	u64map_init(&r->blocks, 1);
	u64map_free(&r->data);
	u64map_init(&r->data, 1);
	u64map_free(&r->fixup_seen);
	u64map_init(&r->fixup_seen, 0);
	r->data_moves.n = 0;
	r->block_moves.n = 0;
	r->fixups.n = 0;
	r->batch_bytes = 0;
	r->data_refs = 0;
	r->data_items_fixed = 0;
}

/*
 * One relocation commit, after step 1 when settle (the first): what was
 * allocated in the group before it turned read-only is committed, so no
 * block the walk meets in it is unwritten. The walk covers live trees
 * only, so deleted subvolumes are dropped first (as subvolume sync
 * waits); one deleted meanwhile sends it back here (-EAGAIN, nothing
 * changed), to settle again.
 */
static int relocate_step(struct reloc *r, int settle)
{
	int ret = 0;

	reloc_reset(r);
	do {
		if (settle) {
			ret = fs_subvol_sync(r->fs);
			if (ret == 0)
				ret = trans_commit(r->fs);
		}
		if (ret == 0)
			ret = trans_commit_with(r->fs, relocate_in_commit, r,
						1);
		settle = 1;
	} while (ret == -EAGAIN);
	if (ret == 0) {
		r->st->commits++;
		if (r->batch_bytes > r->st->max_commit_bytes)
			r->st->max_commit_bytes = r->batch_bytes;
	}
	return ret;
}

/*
 * Relocate the block group starting at start and free it: afterwards
 * no extent is in its range and its chunk is gone. *st gets the
 * figures. stop (may be NULL) is asked before each data extent is
 * copied and between batches: when it says stop, the
 * extents moved so far stay moved, the group stays with the rest,
 * writable again, and the result is -ECANCELED. Caller
 * holds no fs lock. Returns 0, -ENOENT (no such group), -ECANCELED,
 * -EOPNOTSUPP/-EBUSY (refused, nothing moved: see the log), -ENOSPC, or
 * the error that aborted the transaction.
 */
int reloc_block_group(struct fs_info *fs, u64 start, reloc_stop_fn stop,
		      void *stop_arg, struct reloc_stats *st)
{
	struct reloc r = { 0 };
	struct block_group bg;
	int ret;

	memset(st, 0, sizeof(*st));
	if (fs->compat_ro & BTRFS_FEATURE_COMPAT_RO_BLOCK_GROUP_TREE)
		return -EOPNOTSUPP;
	ret = bg_set_ro(fs, start, 1, &bg);
	if (ret)
		return ret;
	if ((bg.flags & BTRFS_BLOCK_GROUP_DATA) &&
	    (bg.flags & BTRFS_BLOCK_GROUP_METADATA)) {
		bg_set_ro(fs, start, 0, NULL);
		return -EOPNOTSUPP;
	}
	r.fs = fs;
	r.is_data = !!(bg.flags & BTRFS_BLOCK_GROUP_DATA);
	r.start = bg.start;
	r.cursor = bg.start;
	r.end = bg.start + bg.length;
	r.st = st;
	r.stop = stop;
	r.stop_arg = stop_arg;
	u64map_init(&r.data, 1);
	u64map_init(&r.blocks, 1);
	u64map_init(&r.fixup_seen, 0);
	ret = relocate_step(&r, 1);
	while (ret == 0 && r.more && !r.stopped) {
		if (stop && stop(stop_arg)) {
			r.stopped = 1;
			break;
		}
		ret = relocate_step(&r, 0);
	}
	if (ret == 0 && r.stopped)
		ret = -ECANCELED;	/* made writable again below */
	if (ret == 0) {
		ret = bg_set_ro(fs, start, 1, &bg);
		if (ret == 0 && bg.used) {
			pr_err("relocation: block group %llu still holds "
			       "%llu bytes", (unsigned long long)start,
			       (unsigned long long)bg.used);
			ret = -EUCLEAN;
		}
	}
	if (ret == 0)
		ret = remove_group(fs, start);
	if (ret && !fs_aborted(fs))
		bg_set_ro(fs, start, 0, NULL);
	reloc_free(&r);
	return ret;
}
