/*
 * COW B-tree changes (fs/ctree_write.c) on a scratch tree of a mounted
 * filesystem (RAM fault device, 4 KiB nodes so that a few thousand items
 * make a three-level tree): insert, delete, extend and shrink items; leaf
 * and node splits; pushes into neighbouring leaves instead of splits; leaf
 * and node merges, and evening out where they cannot merge; root collapse;
 * and copy-on-write of each block once per transaction. After every step
 * the whole tree is walked and its invariants checked: levels step down by
 * one, keys rise strictly, every pointer's key is its child's first key
 * and its generation the child's, no block but a root leaf is empty, every
 * item body lies inside its leaf, the item count and contents match a
 * model, and a search finds exactly the model's keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>
#include <ghee/sync.h>

#include "../../fs/ctree_write.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/transaction.h"
#include "shim/fault_dev.h"
#include "test.h"

#define TREE_ID 300		/* the scratch tree's objectid */
#define KTYPE BTRFS_TEMPORARY_ITEM_KEY
#define NKEYS 8000

/* What the walk saw. */
struct shape {
	u32 blocks[BTRFS_MAX_LEVEL];	/* blocks per level */
	u32 sparse[BTRFS_MAX_LEVEL];	/* blocks below the root under a
					 * quarter full, per level */
	u64 items;
	int root_level;
};

/* A mounted scratch filesystem with a running transaction and a tree. */
struct scratch {
	struct fault_dev *dev;
	struct fs_info *fs;
	struct trans *t;
	struct ctree_root root;
	u8 size[NKEYS];			/* model: item i's size, 0xff absent */
	u32 order[NKEYS];		/* a permutation of the keys */
};

static struct scratch *scratch_new(void)
{
	struct fs_mkfs_opts o = { NULL, 4096, 1, NULL };
	struct scratch *s = calloc(1, sizeof(*s));

	s->dev = fault_dev_new(64ull << 20);
	if (fs_mkfs(fault_dev_blk(s->dev), &o) ||
	    fs_mount(fault_dev_blk(s->dev), 0, &s->fs))
		return NULL;
	down_read(&s->fs->trans_sem);	/* a change in progress */
	memset(s->size, 0xff, sizeof(s->size));
	ctree_root_init(&s->root, s->fs, TREE_ID, 0, 0, 0);
	if (trans_join(s->fs, &s->t) || ctree_create_empty(s->t, &s->root))
		return NULL;
	return s;
}

static void scratch_free(struct scratch *s)
{
	/* The scratch tree is in no root item: drop it uncommitted. */
	trans_free(s->fs->running);
	s->fs->running = NULL;
	up_read(&s->fs->trans_sem);
	fs_umount(s->fs);
	fault_dev_free(s->dev);
	free(s);
}

/* Item i's body: its size bytes, all (i & 0xff). */
static void body(u8 *buf, u32 i, u32 size)
{
	memset(buf, (int)(i & 0xff), size);
}

/* Check one leaf's items against the layout rules and the model. */
static const char *check_leaf(struct scratch *s, struct tree_block *b,
			      struct shape *sh)
{
	u32 i, n = tb_nritems(b), end = leaf_capacity(b->len);
	u8 want[256];
	struct key k;

	for (i = 0; i < n; i++) {
		u32 size = tb_item_size(b, i);

		if (tb_item_offset(b, i) + size != end)
			return "item bodies not packed from the leaf's end";
		end = tb_item_offset(b, i);
		tb_item_key(b, i, &k);
		if (k.objectid >= NKEYS || s->size[k.objectid] != size)
			return "item not in the model, or its size differs";
		body(want, (u32)k.objectid, size);
		if (memcmp(tb_item_data(b, i), want, size))
			return "item body changed";
	}
	if (end < n * sizeof(struct d_item))
		return "item headers overlap bodies";
	sh->items += n;
	return NULL;
}

/*
 * Walk block b (level, between keys lo and hi) and everything below it.
 * first is b's first key as its parent says (NULL at the root).
 */
static const char *walk(struct scratch *s, struct tree_block *b, int level,
			const struct key *first, struct shape *sh)
{
	u32 i, n = tb_nritems(b);
	struct key k, prev;
	const char *why = NULL;

	if (tb_level(b) != level)
		return "level is not one below the parent's";
	sh->blocks[level]++;
	if (n == 0 && (first || level))
		return "empty block below the root";
	if (first && (level ? n < node_capacity(b->len) / 4 :
		      leaf_free_space(b) > leaf_capacity(b->len) * 3 / 4))
		sh->sparse[level]++;
	for (i = 0; i < n; i++) {
		if (level)
			tb_node_key(b, i, &k);
		else
			tb_item_key(b, i, &k);
		if (i == 0 && first && key_cmp(&k, first))
			return "parent key differs from the child's first key";
		if (i && key_cmp(&prev, &k) >= 0)
			return "keys out of order";
		prev = k;
	}
	if (level == 0)
		return check_leaf(s, b, sh);
	for (i = 0; i < n && !why; i++) {
		struct tree_block *c;

		if (ctree_read_child(&s->root, b, (int)i, &c))
			return "child unreadable";
		tb_node_key(b, i, &k);
		if (tb_node_ptr_gen(b, i) != tb_generation(c))
			why = "pointer generation differs from the child's";
		else
			why = walk(s, c, level - 1, &k, sh);
		tree_block_put(c);
	}
	return why;
}

/* Search every key: the model's are found, no other. */
static const char *find_all(struct scratch *s)
{
	struct ctree_path p;
	u32 i;
	int ret;

	ctree_path_init(&p);
	for (i = 0; i < NKEYS; i++) {
		struct key k = { i, KTYPE, 0 };

		ret = ctree_lookup(&s->root, &k, &p);
		ctree_path_release(&p);
		if (ret != (s->size[i] == 0xff ? -ENOENT : 0))
			return "a search disagrees with the model";
	}
	return NULL;
}

/* Walk the whole tree; NULL when every invariant holds. */
static const char *check_tree(struct scratch *s, struct shape *sh)
{
	struct tree_block *r;
	const char *why;
	u64 want = 0;
	u32 i;

	memset(sh, 0, sizeof(*sh));
	if (ctree_read_root(&s->root, &r))
		return "root unreadable";
	sh->root_level = tb_level(r);
	why = walk(s, r, tb_level(r), NULL, sh);
	tree_block_put(r);
	for (i = 0; i < NKEYS; i++)
		want += s->size[i] != 0xff;
	if (!why && sh->items != want)
		why = "item count differs from the model";
	return why ? why : find_all(s);
}

static int put_item(struct scratch *s, u32 i, u32 size)
{
	struct key k = { i, KTYPE, 0 };
	u8 buf[256];

	body(buf, i, size);
	s->size[i] = (u8)size;
	return ctree_insert_item(s->t, &s->root, &k, buf, size);
}

static int del_item(struct scratch *s, u32 i)
{
	struct key k = { i, KTYPE, 0 };
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(s->t, &s->root, &k, &p, 0);
	if (ret) {
		ctree_path_release(&p);
		return ret == 1 ? -ENOENT : ret;
	}
	s->size[i] = 0xff;
	return ctree_del_item(s->t, &s->root, &p);
}

/* A seeded permutation of [0, n). */
static void shuffle(u32 *v, u32 n, uint64_t seed)
{
	u32 i;

	for (i = 0; i < n; i++)
		v[i] = i;
	for (i = n - 1; i > 0; i--) {
		u32 j, tmp;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		j = (u32)((seed >> 33) % (i + 1));
		tmp = v[i];
		v[i] = v[j];
		v[j] = tmp;
	}
}

static void insert_split_delete_merge_collapse(struct scratch *s)
{
	u32 *order = s->order;
	struct shape sh;
	const char *why;
	u32 i, peak_leaves, peak_nodes;

	shuffle(order, NKEYS, test_seed());
	for (i = 0; i < NKEYS; i++) {
		CHECK_OK(put_item(s, order[i], (order[i] * 37) % 120));
		if (i % 250 == 0 || i == NKEYS - 1) {
			why = check_tree(s, &sh);
			if (why)
				test_fail(__FILE__, __LINE__, "after %u inserts: %s",
					  i + 1, why);
			CHECK(why == NULL);
		}
	}
	CHECK(sh.root_level >= 2);	/* leaves and nodes split */
	CHECK(sh.blocks[1] > 1);
	peak_leaves = sh.blocks[0];
	peak_nodes = sh.blocks[1];
	CHECK_EQ(put_item(s, order[0], 5), -EEXIST);
	s->size[order[0]] = (u8)((order[0] * 37) % 120);
	shuffle(order, NKEYS, test_seed() + 1);
	for (i = 0; i + 1 < NKEYS; i++) {
		CHECK_OK(del_item(s, order[i]));
		if (i % 250 == 0 || i == NKEYS * 9 / 10) {
			why = check_tree(s, &sh);
			if (why)
				test_fail(__FILE__, __LINE__, "after %u deletes: %s",
					  i + 1, why);
			CHECK(why == NULL);
		}
		if (i == NKEYS * 9 / 10) {
			/* A tenth is left: leaves and nodes merged. */
			CHECK(sh.blocks[0] <= peak_leaves / 3);
			CHECK(sh.blocks[1] < peak_nodes);
		}
	}
	CHECK(check_tree(s, &sh) == NULL);
	CHECK_EQ(sh.root_level, 0);	/* the root collapsed to a leaf */
	CHECK_EQ(sh.items, 1);
	CHECK_EQ(del_item(s, order[0]), -ENOENT);
}

TEST(ctree_write, insert_split_delete_merge_collapse)
{
	struct scratch *s = scratch_new();

	CHECK(s != NULL);
	insert_split_delete_merge_collapse(s);
	scratch_free(s);
}

static void node_merge_after_range_delete(struct scratch *s)
{
	struct shape sh;
	u32 i, leaves, nodes;

	for (i = 0; i < NKEYS; i++)
		CHECK_OK(put_item(s, i, 100));
	CHECK(check_tree(s, &sh) == NULL);
	leaves = sh.blocks[0];
	nodes = sh.blocks[1];
	CHECK(nodes >= 4);
	/* Delete all but every 16th item: no leaf or node becomes empty
	 * for a long time, so only merging keeps the tree small. */
	for (i = 0; i < NKEYS; i++)
		if (i % 16)
			CHECK_OK(del_item(s, i));
	CHECK(check_tree(s, &sh) == NULL);
	printf("# range delete: %u leaves, %u nodes -> %u leaves, %u nodes\n",
	       leaves, nodes, sh.blocks[0], sh.blocks[1]);
	/* Leaves merge below a quarter full, nodes likewise. */
	CHECK(sh.blocks[0] <= leaves / 4 + 1);
	CHECK_EQ(sh.blocks[1], 1);
	CHECK_EQ(sh.root_level, 1);
}

TEST(ctree_write, node_merge_after_range_delete)
{
	struct scratch *s = scratch_new();

	CHECK(s != NULL);
	node_merge_after_range_delete(s);
	scratch_free(s);
}

/* Delete up to want items from item i on, within i's leaf, in one
 * ctree_del_items; the search holds the leaf's parent (CTREE_DEL_RUN) or,
 * with plain, not (ctree_del_items then searches again). *done gets how
 * many went. */
static int del_run(struct scratch *s, u32 i, u32 want, int plain, u32 *done)
{
	struct key k = { i, KTYPE, 0 };
	struct ctree_path p;
	u32 slot, n, j;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(s->t, &s->root, &k, &p,
				 plain ? 0 : CTREE_DEL_RUN);
	if (ret) {
		ctree_path_release(&p);
		return ret == 1 ? -ENOENT : ret;
	}
	slot = (u32)p.slots[0];
	n = tb_nritems(p.nodes[0]) - slot;
	n = n < want ? n : want;
	for (j = 0; j < n; j++) {
		tb_item_key(p.nodes[0], slot + j, &k);
		s->size[k.objectid] = 0xff;
	}
	*done = n;
	return ctree_del_items(s->t, &s->root, &p, n);
}

/* Runs of items deleted at once, from random places (a leaf's first item,
 * its middle, to its end, whole leaves), keep the tree and the model
 * equal, merging and collapsing as single deletions do. */
static void delete_runs_of_items(struct scratch *s)
{
	uint64_t seed = test_seed();
	struct shape sh;
	const char *why;
	u32 i, left = NKEYS, runs = 0, done;

	for (i = 0; i < NKEYS; i++)
		CHECK_OK(put_item(s, i, (i * 37) % 120));
	while (left > 0) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		i = (u32)((seed >> 33) % NKEYS);
		while (s->size[i] == 0xff)
			i = (i + 1) % NKEYS;
		CHECK_OK(del_run(s, i, 1 + (u32)((seed >> 20) % 300),
				 runs % 3 == 0, &done));
		CHECK(done >= 1);
		left -= done;
		if (++runs % 8 == 0 || left == 0) {
			why = check_tree(s, &sh);
			if (why)
				test_fail(__FILE__, __LINE__,
					  "after %u runs: %s", runs, why);
			CHECK(why == NULL);
		}
	}
	CHECK_EQ(sh.items, 0);
	CHECK_EQ(sh.root_level, 0);
	printf("# %u runs deleted %u items\n", runs, NKEYS);
}

TEST(ctree_write, delete_runs_of_items)
{
	struct scratch *s = scratch_new();

	CHECK(s != NULL);
	delete_runs_of_items(s);
	scratch_free(s);
}

/* Extend item i by extra bytes of its fill, through a write search. */
static int extend(struct scratch *s, u32 i, u32 extra)
{
	struct key k = { i, KTYPE, 0 };
	struct ctree_path p;
	u32 size;
	u8 *d;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(s->t, &s->root, &k, &p, (int)extra);
	if (ret == 0)
		ret = ctree_extend_item(s->t, &s->root, &p, extra);
	if (ret == 0) {
		d = ctree_item_ptr_w(&p, &size);
		body(d, i, size);
		s->size[i] = (u8)size;
	}
	ctree_path_release(&p);
	return ret;
}

static int shrink(struct scratch *s, u32 i, u32 new_size)
{
	struct key k = { i, KTYPE, 0 };
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(s->t, &s->root, &k, &p, 0);
	if (ret == 0) {
		ctree_truncate_item(&p, new_size);
		s->size[i] = (u8)new_size;
	}
	ctree_path_release(&p);
	return ret;
}

static void extend_and_shrink(struct scratch *s)
{
	struct shape sh;
	u32 i;

	for (i = 0; i < 200; i++)
		CHECK_OK(put_item(s, i, 10));
	CHECK(check_tree(s, &sh) == NULL);
	/* Growing items in full leaves makes them split. */
	for (i = 0; i < 200; i++)
		CHECK_OK(extend(s, i, 100 + i % 50));
	CHECK(check_tree(s, &sh) == NULL);
	CHECK(sh.blocks[0] > 4);
	for (i = 0; i < 200; i += 2)
		CHECK_OK(shrink(s, i, 3));
	for (i = 1; i < 200; i += 2)
		CHECK_OK(shrink(s, i, 0));
	CHECK(check_tree(s, &sh) == NULL);
	CHECK_EQ(sh.items, 200);
}

TEST(ctree_write, extend_and_shrink)
{
	struct scratch *s = scratch_new();

	CHECK(s != NULL);
	extend_and_shrink(s);
	scratch_free(s);
}

/* Addresses of the blocks on the write path to key i. */
static int write_path(struct scratch *s, u32 i, u64 *addr, u64 *gen)
{
	struct key k = { i, KTYPE, 0 };
	struct ctree_path p;
	int l, ret;

	ctree_path_init(&p);
	ret = ctree_search_write(s->t, &s->root, &k, &p, 0);
	for (l = 0; l < BTRFS_MAX_LEVEL; l++) {
		addr[l] = p.nodes[l] ? p.nodes[l]->start : 0;
		gen[l] = p.nodes[l] ? tb_generation(p.nodes[l]) : 0;
	}
	ctree_path_release(&p);
	return ret;
}

static void cow_once_per_transaction(struct scratch *s)
{
	u64 a1[BTRFS_MAX_LEVEL], g1[BTRFS_MAX_LEVEL];
	u64 a2[BTRFS_MAX_LEVEL], g2[BTRFS_MAX_LEVEL];
	u64 a3[BTRFS_MAX_LEVEL], g3[BTRFS_MAX_LEVEL], dirty, transid;
	struct shape sh;
	int l, ret;

	for (l = 0; l < 1500; l++)
		CHECK_OK(put_item(s, (u32)l, 60));
	CHECK_OK(write_path(s, 700, a1, g1));
	up_read(&s->fs->trans_sem);
	ret = trans_commit(s->fs);
	down_read(&s->fs->trans_sem);
	CHECK_OK(ret);
	CHECK_OK(trans_join(s->fs, &s->t));
	transid = s->t->transid;
	CHECK(s->root.generation < transid);
	/* The first write search copies the whole path to new blocks of
	 * this transaction... */
	CHECK_OK(write_path(s, 700, a2, g2));
	for (l = 0; l <= s->root.level; l++) {
		CHECK(a2[l] != a1[l]);
		CHECK_EQ(g2[l], transid);
	}
	CHECK_EQ(s->root.bytenr, a2[s->root.level]);
	/* ...the second copies nothing: same blocks, no new dirty ones. */
	dirty = s->t->ndirty;
	CHECK_OK(write_path(s, 700, a3, g3));
	for (l = 0; l < BTRFS_MAX_LEVEL; l++)
		CHECK_EQ(a3[l], a2[l]);
	CHECK_EQ(s->t->ndirty, dirty);
	/* A neighbour in the same leaf shares the copied path. */
	CHECK_OK(write_path(s, 701, a3, g3));
	CHECK_EQ(a3[s->root.level], a2[s->root.level]);
	CHECK_EQ(s->t->ndirty, dirty);
	CHECK(check_tree(s, &sh) == NULL);
}

TEST(ctree_write, cow_once_per_transaction)
{
	struct scratch *s = scratch_new();

	CHECK(s != NULL);
	cow_once_per_transaction(s);
	scratch_free(s);
}

/* Fewest leaves that hold n items of size bytes each (4 KiB nodes). */
static u32 min_leaves(u32 n, u32 size)
{
	u32 per = leaf_capacity(4096) / (size + (u32)sizeof(struct d_item));

	return (n + per - 1) / per;
}

enum fill_order { ASCENDING, DESCENDING, RANDOM };

/* Insert every key with size bytes in the given order; 0 or <0. */
static int fill(struct scratch *s, enum fill_order how, u32 size)
{
	u32 i, key;
	int ret = 0;

	shuffle(s->order, NKEYS, test_seed());
	for (i = 0; i < NKEYS && ret == 0; i++) {
		key = how == ASCENDING ? i :
		      how == DESCENDING ? NKEYS - 1 - i : s->order[i];
		ret = put_item(s, key, size);
	}
	return ret;
}

/*
 * Fill in key order: a full leaf pushes into its neighbour before it
 * splits, so every leaf ends full but the last under each parent (a split
 * alone leaves half-full leaves behind: about twice as many).
 */
static void push_packs_ordered(struct scratch *s, enum fill_order how)
{
	u32 fewest = min_leaves(NKEYS, 100);
	struct shape sh;

	CHECK_OK(fill(s, how, 100));
	CHECK(check_tree(s, &sh) == NULL);
	printf("# %s fill: %u leaves, fewest possible %u\n",
	       how == ASCENDING ? "ascending" : "descending", sh.blocks[0],
	       fewest);
	CHECK(sh.blocks[0] <= fewest + sh.blocks[1]);
}

TEST(ctree_write, push_packs_ascending_inserts)
{
	struct scratch *s = scratch_new();

	CHECK(s != NULL);
	push_packs_ordered(s, ASCENDING);
	scratch_free(s);
}

TEST(ctree_write, push_packs_descending_inserts)
{
	struct scratch *s = scratch_new();

	CHECK(s != NULL);
	push_packs_ordered(s, DESCENDING);
	scratch_free(s);
}

/*
 * Fill in random order: leaves end at least four fifths full on average
 * (splits alone leave them about 70% full), and none under a quarter.
 */
static void push_packs_random(struct scratch *s)
{
	u32 fewest = min_leaves(NKEYS, 100);
	struct shape sh;

	CHECK_OK(fill(s, RANDOM, 100));
	CHECK(check_tree(s, &sh) == NULL);
	printf("# random fill: %u leaves, fewest possible %u\n",
	       sh.blocks[0], fewest);
	CHECK(sh.blocks[0] * 4 <= fewest * 5);
	CHECK_EQ(sh.sparse[0], 0);
}

TEST(ctree_write, push_packs_random_inserts)
{
	struct scratch *s = scratch_new();

	CHECK(s != NULL);
	push_packs_random(s);
	scratch_free(s);
}

/*
 * Delete most items of every other run of a leaf's worth of keys: a leaf
 * emptied so, next to a full one it cannot merge with, takes items from
 * it instead of staying sparse.
 */
static void even_out_leaves(struct scratch *s)
{
	u32 per = leaf_capacity(4096) / (100 + (u32)sizeof(struct d_item));
	struct shape sh;
	u32 i;

	CHECK_OK(fill(s, RANDOM, 100));
	for (i = 0; i < NKEYS; i++)
		if ((i / per) % 2 && i % 8)
			CHECK_OK(del_item(s, i));
	CHECK(check_tree(s, &sh) == NULL);
	CHECK_EQ(sh.sparse[0], 0);
}

TEST(ctree_write, even_out_sparse_leaves)
{
	struct scratch *s = scratch_new();

	CHECK(s != NULL);
	even_out_leaves(s);
	scratch_free(s);
}

/*
 * Delete most items under every other node of a three-level tree: a node
 * left with few pointers, next to one too full to merge with, takes
 * pointers from it instead of staying sparse.
 */
static void even_out_nodes(struct scratch *s)
{
	struct tree_block *r;
	u32 lo[128], i, j, n;		/* a node's pointers, and the end */
	struct shape sh;
	struct key k;

	CHECK_OK(fill(s, RANDOM, 250));		/* big items: many leaves */
	CHECK(check_tree(s, &sh) == NULL);
	CHECK_EQ(sh.root_level, 2);
	CHECK_OK(ctree_read_root(&s->root, &r));
	n = tb_nritems(r);
	for (j = 0; j < n && j + 1 < 128; j++) {
		tb_node_key(r, j, &k);
		lo[j] = (u32)k.objectid;	/* node j's first key */
	}
	tree_block_put(r);
	CHECK(j == n && n >= 4);
	lo[n] = NKEYS;
	for (j = 1; j < n; j += 2)
		for (i = lo[j]; i < lo[j + 1]; i++)
			if (i % 16)
				CHECK_OK(del_item(s, i));
	CHECK(check_tree(s, &sh) == NULL);
	printf("# delete under every other node: %u nodes, %u under a "
	       "quarter full\n", sh.blocks[1], sh.sparse[1]);
	CHECK_EQ(sh.sparse[1], 0);
	CHECK_EQ(sh.sparse[0], 0);
}

TEST(ctree_write, even_out_sparse_nodes)
{
	struct scratch *s = scratch_new();

	CHECK(s != NULL);
	even_out_nodes(s);
	scratch_free(s);
}

/* Look key i up: its item's size, or -1. */
static int big_size(struct scratch *s, u32 i)
{
	struct key k = { i, KTYPE, 0 };
	struct ctree_path p;
	u32 size = 0;
	int ret;

	ctree_path_init(&p);
	ret = ctree_lookup(&s->root, &k, &p);
	if (ret == 0)
		ctree_item_ptr(&p, &size);
	ctree_path_release(&p);
	return ret ? -1 : (int)size;
}

/*
 * An item that fits in a leaf only alone, inserted before the one item
 * of a leaf that has no room for it (as the tail of a cut Linux csum
 * item goes in): it gets a leaf of its own on the left. The split once
 * moved the old item right and left an empty leaf in the tree, which
 * the next search met (-EUCLEAN).
 */
static void big_item_before_a_full_leaf(struct scratch *s)
{
	u32 big = leaf_capacity(s->fs->nodesize) * 3 / 5;
	u8 *buf = calloc(1, big);
	struct key k10 = { 10, KTYPE, 0 }, k5 = { 5, KTYPE, 0 }, k;
	struct tree_block *r, *c;
	int i, r10, r5;

	CHECK(buf != NULL);
	r10 = ctree_insert_item(s->t, &s->root, &k10, buf, big);
	r5 = r10 ? r10 : ctree_insert_item(s->t, &s->root, &k5, buf, big - 8);
	free(buf);
	CHECK_OK(r10);
	CHECK_OK(r5);
	CHECK_EQ(big_size(s, 10), (int)big);
	CHECK_EQ(big_size(s, 5), (int)big - 8);
	/* A root node over two leaves of one item each, keyed by it. */
	CHECK_OK(ctree_read_root(&s->root, &r));
	CHECK_EQ(tb_level(r), 1);
	CHECK_EQ(tb_nritems(r), 2);
	for (i = 0; i < 2; i++) {
		CHECK_OK(ctree_read_child(&s->root, r, i, &c));
		tb_node_key(r, (u32)i, &k);
		CHECK_EQ(k.objectid, i ? 10u : 5u);
		CHECK_EQ(tb_nritems(c), 1);
		tree_block_put(c);
	}
	tree_block_put(r);
}

TEST(ctree_write, big_item_before_a_full_leaf)
{
	struct scratch *s = scratch_new();

	CHECK(s != NULL);
	big_item_before_a_full_leaf(s);
	scratch_free(s);
}
