/*
 * Relocation of a metadata or system group, step 2 (see relocation.c):
 * the next batch of the group's tree blocks, each with what the walk
 * needs to reach every block that points at it: its level and its first
 * key (a parent's slot key is its child's first key, so in every tree
 * holding the block, the path searching for that key at that level
 * passes through each of its parents).
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>

#include "ctree.h"
#include "fs_info.h"
#include "relocation_int.h"
#include "tree_block.h"

/* Tree blocks moved per relocation commit: bounds the commit's work
 * (one path per tree holding a block) and how long a pause waits. */
#define RELOC_BATCH_BLOCKS 256

/* Where next_addresses puts them. */
struct batch {
	u64 *v;
	u32 n;
};

static int add_block(struct reloc *r, const struct key *k, u64 flags,
		     void *arg)
{
	struct batch *b = arg;

	if (k->type != BTRFS_METADATA_ITEM_KEY &&
	    !(flags & BTRFS_EXTENT_FLAG_TREE_BLOCK))
		return 0;
	if (b->n == RELOC_BATCH_BLOCKS) {
		r->more = 1;
		return 1;
	}
	b->v[b->n++] = k->objectid;
	return 0;
}

/* Addresses of the group's tree blocks from r->cursor on, up to
 * RELOC_BATCH_BLOCKS into v; r->more when any are left after them. */
static int next_addresses(struct reloc *r, u64 *v, u32 *n)
{
	struct batch b = { v, 0 };
	int ret;

	r->more = 0;
	ret = reloc_scan_extents(r, r->cursor, add_block, &b);
	*n = b.n;
	return ret;
}

/* The level and first key of tree block bytenr, read as its extent item
 * and first back reference describe it (an empty block is a root, which
 * the walk always visits: any key does). */
static int describe(struct reloc *r, u64 bytenr, struct reloc_target *x)
{
	struct walk w = { 0 };
	struct extent_info ei;
	struct bref_list l = { 0 };
	struct tb_expect exp = { BTRFS_FS_TREE_OBJECTID, 0, 0, 0,
				 { 0, 0, 0 } };
	struct tree_block *b;
	int ret;

	w.fs = r->fs;
	w.view = BACKREF_CURRENT;	/* the extent tree alone */
	ret = backref_collect_refs(&w, bytenr, &ei, &l);
	if (ret == 0 && !ei.found)
		ret = -EUCLEAN;
	if (ret == 0 && l.n && l.v[0].type == BTRFS_TREE_BLOCK_REF_KEY)
		exp.owner = l.v[0].id;	/* else shared: a subvolume's */
	kfree(l.v);
	if (ret)
		return ret;
	exp.generation = ei.generation;
	exp.level = ei.level;
	ret = tree_block_read(r->fs, bytenr, &exp, &b);
	if (ret)
		return ret;
	memset(x, 0, sizeof(*x));
	x->level = tb_level(b);
	if (tb_nritems(b) && x->level)
		tb_node_key(b, 0, &x->key);
	else if (tb_nritems(b))
		tb_item_key(b, 0, &x->key);
	tree_block_put(b);
	return 0;
}

int reloc_next_blocks(struct reloc *r)
{
	u64 *v = kmalloc(RELOC_BATCH_BLOCKS * sizeof(*v));
	u32 n, i;
	int ret;

	if (!v)
		return -ENOMEM;
	r->ntargets = 0;
	ret = next_addresses(r, v, &n);
	if (ret == 0 && n > r->targets_cap) {
		kfree(r->targets);
		r->targets = kmalloc(n * sizeof(*r->targets));
		r->targets_cap = r->targets ? n : 0;
		if (!r->targets)
			ret = -ENOMEM;
	}
	for (i = 0; i < n && ret == 0; i++)
		ret = describe(r, v[i], &r->targets[i]);
	if (ret == 0) {
		r->ntargets = n;
		reloc_targets_sort(r);
		if (n)
			r->cursor = v[n - 1] + 1;
	}
	kfree(v);
	return ret;
}
