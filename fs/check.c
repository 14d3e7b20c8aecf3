/*
 * fsck: ghee's own checker of the last committed state of a filesystem.
 *
 * The committed trees are consistent by construction (a commit applies
 * every delayed ref before its superblock goes out), so the checker reads
 * them, never the running transaction's, and compares what the trees say
 * against what the extent tree records:
 *
 *  1. The trees: the root tree and chunk tree from the superblock, every
 *     other tree from its root item. Each tree block is walked once (a set
 *     of visited addresses keeps shared subtrees from being walked twice);
 *     each pointer to a block, and each tree's root, is one found
 *     reference (check.c).
 *  2. The extent tree: extent items with their inline and keyed
 *     back-references, block group items (check_extent.c).
 *  3. The subvolume trees: inodes, directory entries, inode refs and file
 *     extents, each file extent item being one found data reference
 *     (check_inode.c).
 *  4. Found and recorded references are sorted and compared: every
 *     back-reference must match real references with the same count and
 *     every reference must have one; each extent's count must equal the
 *     sum of its back-references; extents must not overlap and must lie in
 *     a block group of their kind whose used bytes they add up to; and the
 *     free-space tree must list exactly the gaps between extents.
 *  5. Chunks, block group items and device extents agree
 *     (check_chunk.c); the csum tree has sums for exactly data that
 *     exists, and for all data that needs them (check_csum.c).
 *  6. Quota group counts are what the extents say (check_qgroup.c).
 *
 * Whether a found reference is a normal one (TREE_BLOCK_REF, EXTENT_DATA_REF)
 * or a shared one (SHARED_BLOCK_REF, SHARED_DATA_REF) depends on the
 * FULL_BACKREF flag of the referring block, so found references carry both
 * the tree id and the referring block until the extent tree is read
 * (reference, "update_ref_for_cow").
 *
 * Memory: proportional to the number of extents and references, freed at
 * the end. Problems are counted; the first CHECK_PRINT_MAX are printed as
 * "error: fsck: ...".
 *
 * Locking: fs_check() reads the last commit as a commit reader
 * (commit_root.c): its items through leaf copies, each found by a search
 * under commit_root_sem held for that search only; the blocks it walks
 * stay intact, however many commits happen meanwhile, because the commit
 * keeps the space it frees from reuse while a reader runs. Changes and
 * commits go on during a check and never wait for it.
 */
#include <ghee/errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <ghee/alloc.h>
#include <ghee/log.h>
#include <ghee/progress.h>

#include "check.h"
#include "cleaner.h"
#include "fs_info.h"

/* Append a zeroed record; NULL when out of memory. */
void *vec_push(struct vec *v)
{
	void *slot;

	if (v->n == v->cap) {
		u64 cap = v->cap ? v->cap * 2 : 64;
		void *nv = kmalloc(cap * v->elem);

		if (!nv)
			return NULL;
		if (v->n)
			memcpy(nv, v->v, v->n * v->elem);
		kfree(v->v);
		v->v = nv;
		v->cap = cap;
	}
	slot = vec_at(v, v->n++);
	memset(slot, 0, v->elem);
	return slot;
}

void *vec_find(const struct vec *v, u64 key, size_t key_off)
{
	u64 lo = 0, hi = v->n;

	while (lo < hi) {
		u64 mid = lo + (hi - lo) / 2;
		u64 k;

		memcpy(&k, (const char *)vec_at(v, mid) + key_off, sizeof(k));
		if (k == key)
			return vec_at(v, mid);
		if (k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

_Static_assert(offsetof(struct cext, len) == sizeof(u64) &&
	       offsetof(struct cbg, len) == sizeof(u64),
	       "records searched by vec_first_ending_after() begin with "
	       "start, len");

u64 vec_first_ending_after(const struct vec *v, u64 pos)
{
	u64 lo = 0, hi = v->n;

	while (lo < hi) {
		u64 mid = lo + (hi - lo) / 2;
		const u64 *r = vec_at(v, mid);	/* start, len */

		if (r[0] + r[1] <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void vec_free(struct vec *v)
{
	kfree(v->v);
	v->v = NULL;
	v->n = v->cap = 0;
}

void check_err(struct check *c, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (c->rep->errors++ >= CHECK_PRINT_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pr_err("fsck: %s", buf);
}

const char *check_ref_name(u8 type)
{
	switch (type) {
	case BTRFS_TREE_BLOCK_REF_KEY:
		return "tree block ref";
	case BTRFS_SHARED_BLOCK_REF_KEY:
		return "shared block ref";
	case BTRFS_EXTENT_DATA_REF_KEY:
		return "extent data ref";
	case BTRFS_SHARED_DATA_REF_KEY:
		return "shared data ref";
	default:
		return "unknown ref";
	}
}

/*
 * Subvolume trees hold inodes, and so do the data relocation tree and the
 * relocation trees (snapshots balance takes of subvolume trees, whose
 * file extents are references of their own).
 */
int check_is_fs_tree(u64 id)
{
	return id == BTRFS_FS_TREE_OBJECTID ||
	       id == BTRFS_DATA_RELOC_TREE_OBJECTID ||
	       id == BTRFS_TREE_RELOC_OBJECTID ||
	       (id >= BTRFS_FIRST_FREE_OBJECTID &&
		id <= BTRFS_LAST_FREE_OBJECTID);
}

const struct commit_tree *check_find_tree(const struct check *c, u64 id)
{
	u64 i;

	for (i = 0; i < c->trees.n; i++) {
		const struct commit_tree *t = vec_at(&c->trees, i);

		if (t->id == id)
			return t;
	}
	return NULL;
}

int check_read_items(struct check *c, const struct commit_tree *t,
		     check_item_fn fn, void *ctx)
{
	struct commit_cursor cur = { 0 };
	struct key k = { 0, 0, 0 };
	const u8 *item;
	u32 size;
	int ret;

	ret = commit_cursor_search(&cur, &c->cr, t, &k);
	for (; ret == 0; ret = commit_cursor_next(&cur)) {
		commit_cursor_key(&cur, &k);
		item = commit_cursor_item(&cur, &size);
		ret = fn(c, ctx, &k, item, size);
		if (ret)
			break;
	}
	commit_cursor_release(&cur);
	if (ret < 0 && ret != -ENOMEM) {
		check_err(c, "tree %llu: read error %d",
			  (unsigned long long)t->id, ret);
		c->read_errors += ret == -EIO;
		ret = 0;
	}
	return ret < 0 ? ret : 0;
}

/* The slot of set s (a hash set of block addresses, not empty) holding
 * bytenr, or the empty one where it would go. */
static u64 set_slot(const struct vec *s, u64 bytenr)
{
	const u64 *tab = s->v;
	u64 i, mask = s->cap - 1;

	for (i = bytenr / 4096 & mask; tab[i] && tab[i] != bytenr;
	     i = (i + 1) & mask)
		;
	return i;
}

/* Add bytenr to set s; *was says whether it was there already. 0 or
 * -ENOMEM. */
int check_set_add(struct vec *s, u64 bytenr, int *was)
{
	u64 *tab = s->v, i;

	if (s->n * 2 >= s->cap) {
		u64 cap = s->cap ? s->cap * 2 : 1024, j;
		struct vec grown = { kzalloc(cap * sizeof(u64)), 0, cap,
				     sizeof(u64) };

		if (!grown.v)
			return -ENOMEM;
		for (j = 0; j < s->cap; j++)
			if (tab[j])
				((u64 *)grown.v)[set_slot(&grown, tab[j])] =
					tab[j];
		kfree(tab);
		s->v = tab = grown.v;
		s->cap = cap;
	}
	i = set_slot(s, bytenr);
	*was = tab[i] == bytenr;
	if (!*was) {
		tab[i] = bytenr;
		s->n++;
	}
	return 0;
}

int check_set_has(const struct vec *s, u64 bytenr)
{
	return s->cap && ((const u64 *)s->v)[set_slot(s, bytenr)] == bytenr;
}

/* Record one found reference to a tree block. */
static int found_block_ref(struct check *c, u64 bytenr, u64 root,
			   u64 parent, u8 level)
{
	struct cref *r = vec_push(&c->found);

	if (!r)
		return -ENOMEM;
	r->bytenr = bytenr;
	r->type = BTRFS_TREE_BLOCK_REF_KEY;
	r->root = root;
	r->parent = parent;
	r->level = level;
	r->num_bytes = c->fs->nodesize;
	r->count = 1;
	return 0;
}

/*
 * Walk block b of tree root and the blocks below it not seen yet, but
 * those a deletion in progress (drop, or NULL) freed. A pointer is a
 * reference of the tree owning the block that holds it (a block shared by
 * snapshots is one reference, its owner's).
 */
static int walk_block(struct check *c, const struct ctree_root *root,
		      const struct cdrop *drop, struct tree_block *b)
{
	u32 i, n = tb_nritems(b);
	u8 level = tb_level(b);
	int ret = 0, was;

	c->rep->tree_blocks++;
	for (i = 0; level > 0 && i < n && ret == 0; i++) {
		u64 child = tb_node_blockptr(b, i);
		struct tree_block *cb;

		if (drop && cleaner_child_dropped(b, i, &drop->key,
						  drop->level))
			continue;
		ret = found_block_ref(c, child, tb_owner(b), b->start,
				      (u8)(level - 1));
		if (ret == 0)
			ret = check_set_add(&c->seen, child, &was);
		if (ret || was)
			continue;
		ret = ctree_read_child(root, b, (int)i, &cb);
		if (ret == -ENOMEM)
			break;
		if (ret) {
			check_err(c, "tree %llu: block %llu (slot %u of %llu) "
				  "cannot be read (error %d)",
				  (unsigned long long)root->objectid,
				  (unsigned long long)child, i,
				  (unsigned long long)b->start, ret);
			ret = 0;
			continue;
		}
		ret = walk_block(c, root, drop, cb);
		tree_block_put(cb);
	}
	return ret;
}

/* A ctree_root for reading tree r as committed. */
static void check_root(struct check *c, const struct commit_tree *r,
		struct ctree_root *out)
{
	ctree_root_init(out, c->fs, r->id, r->bytenr, r->generation,
			r->level);
}

/*
 * Walk tree r from its root: every block it holds is a found reference.
 * A relocation tree's root block is its own parent: Linux allocates every
 * block of one with FULL_BACKREF and a shared ref, the root's naming
 * itself.
 */
static int walk_tree(struct check *c, const struct commit_tree *r)
{
	u64 parent = r->id == BTRFS_TREE_RELOC_OBJECTID ? r->bytenr : 0;
	struct ctree_root root;
	struct tree_block *b;
	int ret, was;

	check_root(c, r, &root);
	ret = found_block_ref(c, r->bytenr, r->id, parent, r->level);
	if (ret == 0)
		ret = check_set_add(&c->seen, r->bytenr, &was);
	if (ret || was)
		return ret;
	ret = ctree_read_root(&root, &b);
	if (ret == -ENOMEM)
		return ret;
	if (ret) {
		check_err(c, "tree %llu: root block %llu cannot be read "
			  "(error %d)", (unsigned long long)r->id,
			  (unsigned long long)r->bytenr, ret);
		return 0;
	}
	ret = walk_block(c, &root, check_find_drop(c, r->id), b);
	tree_block_put(b);
	return ret;
}

/* Record that tree id is being deleted, as far as root item ri says. */
static int add_drop(struct check *c, u64 id, const u8 *ri)
{
	struct cdrop *d = vec_push(&c->drops);

	if (!d)
		return -ENOMEM;
	d->id = id;
	key_from_disk(&d->key, ri + offsetof(struct d_root_item,
					     drop_progress));
	d->level = D_GET8(struct d_root_item, ri, drop_level);
	return 0;
}

/* The deletion progress of tree id, or NULL when it is not being deleted. */
const struct cdrop *check_find_drop(const struct check *c, u64 id)
{
	return vec_find(&c->drops, id, offsetof(struct cdrop, id));
}

static int add_tree(struct check *c, u64 id, u64 bytenr, u64 gen, u8 level)
{
	struct commit_tree *t = vec_push(&c->trees);

	if (!t)
		return -ENOMEM;
	t->id = id;
	t->bytenr = bytenr;
	t->generation = gen;
	t->level = level;
	return 0;
}

/*
 * List the committed trees: root and chunk tree as the superblock last
 * written says (the root tree's block must carry the superblock's
 * generation), then each root item.
 */
static int list_trees(struct check *c)
{
	const struct d_super_block *sb = c->cr.super;
	struct commit_cursor cur = { 0 };
	struct key k = { 0, 0, 0 };
	const u8 *item;
	u32 size;
	int ret;

	ret = add_tree(c, BTRFS_ROOT_TREE_OBJECTID, get_le64(&sb->root),
		       get_le64(&sb->generation), sb->root_level);
	if (ret == 0)
		ret = add_tree(c, BTRFS_CHUNK_TREE_OBJECTID,
			       get_le64(&sb->chunk_root),
			       get_le64(&sb->chunk_root_generation),
			       sb->chunk_root_level);
	if (ret)
		return ret;
	ret = commit_cursor_search(&cur, &c->cr, vec_at(&c->trees, 0), &k);
	for (; ret == 0; ret = commit_cursor_next(&cur)) {
		commit_cursor_key(&cur, &k);
		if (k.type != BTRFS_ROOT_ITEM_KEY)
			continue;
		item = commit_cursor_item(&cur, &size);
		if (size < BTRFS_ROOT_ITEM_V1_SIZE) {
			check_err(c, "root item of tree %llu is %u bytes",
				  (unsigned long long)k.objectid, size);
			continue;
		}
		ret = add_tree(c, k.objectid,
			       D_GET64(struct d_root_item, item, bytenr),
			       D_GET64(struct d_root_item, item, generation),
			       D_GET8(struct d_root_item, item, level));
		if (ret == 0 && D_GET32(struct d_root_item, item, refs) == 0)
			ret = add_drop(c, k.objectid, item);
		if (ret)
			break;
	}
	commit_cursor_release(&cur);
	return ret < 0 ? ret : 0;
}

/* The last steps, each over the whole filesystem. */
static int (*const final_steps[])(struct check *c) = {
	check_refs, check_block_groups, check_free_space, check_chunks,
	check_csums, check_qgroups,
};

/*
 * The whole check of the commit c->cr reads; problems counted in c->rep.
 * Progress
 * (ghee/progress.h) counts trees walked, then trees checked, then the
 * final steps; between two of them it may stop with -ECANCELED (a
 * read-only check leaves nothing to undo).
 */
static int check_all(struct check *c)
{
	u64 i;
	int ret = list_trees(c);

	progress_phase("fsck: walking trees", c->trees.n, "trees");
	for (i = 0; ret == 0 && i < c->trees.n; i++) {
		ret = walk_tree(c, vec_at(&c->trees, i));
		if (ret == 0)
			ret = progress_add(1);
	}
	c->rep->trees = c->trees.n;
	progress_phase("fsck: checking trees", c->trees.n + 1, "trees");
	if (ret == 0)
		ret = check_extent_tree(c);
	if (ret == 0)
		ret = progress_add(1);
	for (i = 0; ret == 0 && i < c->trees.n; i++) {
		const struct commit_tree *t = vec_at(&c->trees, i);

		if (check_is_fs_tree(t->id))
			ret = check_fs_tree(c, t, 0);
		else if (t->id == BTRFS_ROOT_TREE_OBJECTID)
			ret = check_fs_tree(c, t, 1);
		if (ret == 0)
			ret = progress_add(1);
	}
	progress_phase("fsck: references, space, chunks, checksums",
		       sizeof(final_steps) / sizeof(final_steps[0]), "steps");
	for (i = 0; ret == 0 && i < sizeof(final_steps) /
	     sizeof(final_steps[0]); i++) {
		ret = final_steps[i](c);
		if (ret == 0)
			ret = progress_add(1);
	}
	return ret;
}

/*
 * Check the last committed state of fs (mounted read-write or read-only).
 * Fills *rep with what was checked and the number of problems, each
 * printed. Returns 0 when clean, -EUCLEAN when problems were found,
 * -ENOMEM, or -EIO/-EUCLEAN when the root tree itself cannot be read;
 * -EIO too when a device error left a tree partly unread (what it found
 * is printed, and may follow from what it could not read).
 */
int fs_check(struct fs_info *fs, struct fs_check_report *rep)
{
	struct check c;
	int ret;

	memset(rep, 0, sizeof(*rep));
	memset(&c, 0, sizeof(c));
	c.fs = fs;
	c.rep = rep;
	c.trees.elem = sizeof(struct commit_tree);
	c.found.elem = sizeof(struct cref);
	c.recorded.elem = sizeof(struct cref);
	c.exts.elem = sizeof(struct cext);
	c.bgs.elem = sizeof(struct cbg);
	c.drops.elem = sizeof(struct cdrop);
	c.seen.elem = sizeof(u64);
	c.data_leaves.elem = sizeof(u64);
	c.sum_leaves.elem = sizeof(u64);
	c.need_csum.elem = sizeof(struct cneed);
	ret = commit_reader_begin(fs, &c.cr);
	if (ret)
		return ret;
	rep->generation = c.cr.generation;
	ret = check_all(&c);
	commit_reader_end(&c.cr);
	vec_free(&c.trees);
	vec_free(&c.found);
	vec_free(&c.recorded);
	vec_free(&c.exts);
	vec_free(&c.bgs);
	vec_free(&c.drops);
	vec_free(&c.seen);
	vec_free(&c.data_leaves);
	vec_free(&c.sum_leaves);
	vec_free(&c.need_csum);
	if (ret == 0 && rep->errors)	/* unread blocks: not known corrupt */
		ret = c.read_errors ? -EIO : -EUCLEAN;
	return ret;
}
