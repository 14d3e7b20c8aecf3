/*
 * The quota tests' shared pieces (test_qgroup.c, test_qgroup_limit.c):
 * the brute force that counts every qgroup from the trees alone, and a
 * filesystem with quotas on over a fault device, closed with ghee's fsck
 * and `btrfs check --qgroup-report`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/cleaner.h"
#include "../../fs/ctree.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/qgroup.h"
#include "../../fs/subvol.h"
#include "../../fs/tree_check.h"
#include "qgroup_env.h"
#include "shim/fault_dev.h"
#include "test.h"

/* One (extent, subvolume) pair: the subvolume's tree reaches it. */
struct reach {
	u64 bytenr, len, root;
};

struct reachv {
	struct reach *v;
	u32 n, cap;
};

static int reach_add(struct reachv *r, u64 bytenr, u64 len, u64 root)
{
	if (r->n == r->cap) {
		u32 c = r->cap ? 2 * r->cap : 1024;
		struct reach *v = realloc(r->v, c * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = c;
	}
	r->v[r->n].bytenr = bytenr;
	r->v[r->n].len = len;
	r->v[r->n++].root = root;
	return 0;
}

static int reach_cmp(const void *a, const void *b)
{
	const struct reach *x = a, *y = b;

	if (x->bytenr != y->bytenr)
		return x->bytenr < y->bytenr ? -1 : 1;
	return x->root < y->root ? -1 : x->root > y->root;
}

/* Add what leaf b points at (data extents) for tree root. */
static int leaf_extents(struct tree_block *b, u64 root, struct reachv *r)
{
	u32 i;
	int ret = 0;

	for (i = 0; i < tb_nritems(b) && ret == 0; i++) {
		const u8 *d = tb_item_data(b, i);
		struct key k;

		tb_item_key(b, i, &k);
		if (k.type != BTRFS_EXTENT_DATA_KEY ||
		    tb_item_size(b, i) < sizeof(struct d_file_extent_item) ||
		    D_GET8(struct d_file_extent_item, d, type) ==
		    BTRFS_FILE_EXTENT_INLINE ||
		    !D_GET64(struct d_file_extent_item, d, disk_bytenr))
			continue;
		ret = reach_add(r, D_GET64(struct d_file_extent_item, d,
					   disk_bytenr),
				D_GET64(struct d_file_extent_item, d,
					disk_num_bytes), root);
	}
	return ret;
}

/* How far the cleaner has come in dropping a tree (NULL: a live one). */
struct dropped_to {
	struct key key;
	u8 level;
};

/* Walk the tree of root down; add every block and extent it reaches,
 * skipping what a drop in progress (drop, or NULL) freed. */
static int walk_tree(struct ctree_root *root, const struct dropped_to *drop,
		     struct reachv *r)
{
	struct tree_block *stack[256], *c;
	int sp = 0, ret = ctree_read_root(root, &stack[sp]);

	if (ret)
		return ret;
	sp++;
	while (ret == 0 && sp > 0) {
		struct tree_block *b = stack[--sp];
		u32 s;

		ret = reach_add(r, b->start, root->fs->nodesize,
				root->objectid);
		if (ret == 0 && tb_level(b) == 0)
			ret = leaf_extents(b, root->objectid, r);
		for (s = 0; ret == 0 && tb_level(b) > 0 && s < tb_nritems(b);
		     s++) {
			if (drop && cleaner_child_dropped(b, s, &drop->key,
							  drop->level))
				continue;
			if (sp == 256) {
				ret = -ENOSPC;
				break;
			}
			ret = ctree_read_child(root, b, (int)s, &c);
			if (ret == 0)
				stack[sp++] = c;
		}
		tree_block_put(b);
	}
	while (sp > 0)
		tree_block_put(stack[--sp]);
	return ret;
}

/* A subvolume tree as the root tree says: live, or being dropped. */
struct tree_rec {
	struct ctree_root root;
	int dead;
	struct dropped_to drop;
};

/* Record the subvolume tree whose root item (key k) the path is at. */
static void tree_rec_read(struct fs_info *fs, const struct ctree_path *p,
			  const struct key *k, struct tree_rec *t)
{
	u32 size;
	const u8 *item = ctree_item_ptr(p, &size);

	ctree_root_init(&t->root, fs, k->objectid,
			D_GET64(struct d_root_item, item, bytenr),
			D_GET64(struct d_root_item, item, generation),
			D_GET8(struct d_root_item, item, level));
	t->dead = D_GET32(struct d_root_item, item, refs) == 0;
	key_from_disk(&t->drop.key, D_PTR(struct d_root_item, item,
					  drop_progress));
	t->drop.level = D_GET8(struct d_root_item, item, drop_level);
}

/* Every (extent, subvolume) pair of the filesystem, sorted, unique. A
 * subvolume being dropped reaches what its drop has not freed yet (the
 * caller committed: its root item is current). */
static int brute_reach(struct fs_info *fs, struct reachv *r)
{
	struct key k = { BTRFS_FS_TREE_OBJECTID, BTRFS_ROOT_ITEM_KEY, 0 };
	struct tree_rec *trees = NULL, *grown;
	u32 n = 0, cap = 0, i, j;
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	for (ret = ctree_search_ge(&fs->tree_root, &k, &p); ret == 0;
	     ret = ctree_next_item(&p)) {
		ctree_item_key(&p, &k);
		if (k.type != BTRFS_ROOT_ITEM_KEY ||
		    !tree_check_is_subvol_tree(k.objectid))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			grown = realloc(trees, cap * sizeof(*trees));
			if (!grown) {
				ret = -ENOMEM;
				break;
			}
			trees = grown;
		}
		tree_rec_read(fs, &p, &k, &trees[n++]);
	}
	ctree_path_release(&p);
	if (ret > 0)
		ret = 0;	/* past the last item */
	for (i = 0; ret == 0 && i < n; i++) {
		const struct subvol_root *sv;

		if (trees[i].dead) {
			ret = walk_tree(&trees[i].root, &trees[i].drop, r);
		} else {
			ret = subvol_get(fs, trees[i].root.objectid, &sv);
			if (ret == 0)
				ret = walk_tree((struct ctree_root *)&sv->root,
						NULL, r);
		}
	}
	free(trees);
	if (ret)
		return ret;
	if (r->n)
		qsort(r->v, r->n, sizeof(*r->v), reach_cmp);
	for (i = j = 0; i < r->n; i++)
		if (j == 0 || reach_cmp(&r->v[j - 1], &r->v[i]))
			r->v[j++] = r->v[i];
	r->n = j;
	return 0;
}

/* Is group g subvolume root's qgroup or above it? */
static int holds(struct qgroup_table *q, u64 g, u64 root, int depth)
{
	struct qgroup *x = qgroup_find(q, root);
	u32 i;

	if (g == root)
		return 1;
	if (!x || depth > 16)
		return 0;
	for (i = 0; i < x->nparents; i++)
		if (holds(q, g, x->parents[i], depth + 1))
			return 1;
	return 0;
}

/* Compare every qgroup's counts with the brute force's. 0 when equal. */
int compare_counts(struct fs_info *fs)
{
	struct qgroup_table *q = fs->qgroups;
	struct reachv r = { 0 };
	u32 gi, i, j;
	int ret = brute_reach(fs, &r);

	for (gi = 0; ret == 0 && q && gi < q->n; gi++) {
		const struct qgroup *g = &q->v[gi];
		u64 rfer = 0, excl = 0;

		for (i = 0; i < r.n; i = j) {
			u32 in = 0;

			for (j = i; j < r.n && r.v[j].bytenr == r.v[i].bytenr;
			     j++)
				in += holds(q, g->id, r.v[j].root, 0);
			if (in)
				rfer += r.v[i].len;
			if (in == j - i)
				excl += r.v[i].len;
		}
		if (rfer != g->rfer || excl != g->excl) {
			printf("# qgroup %llu/%llu: rfer %llu excl %llu, brute "
			       "force rfer %llu excl %llu\n",
			       (unsigned long long)(g->id >> 48),
			       (unsigned long long)(g->id & 0xffffffffffffULL),
			       (unsigned long long)g->rfer,
			       (unsigned long long)g->excl,
			       (unsigned long long)rfer,
			       (unsigned long long)excl);
			ret = -1;
		}
	}
	free(r.v);
	return ret;
}

/* Commit (after the cleaner and any rescan are done) and compare. */
int sync_compare(struct fs_info *fs)
{
	int ret = fs_subvol_sync(fs);

	if (ret == 0)
		ret = fs_quota_rescan_wait(fs);
	if (ret == 0)
		ret = fs_sync(fs);
	return ret ? ret : compare_counts(fs);
}

int env_open(struct env *e, u32 nodesize)
{
	int ret = env_mkfs_mount(e, nodesize);

	return ret ? ret : fs_quota_enable(e->fs);
}

/* Unmount; ghee's fsck (which counts quota groups too), btrfs check and
 * its qgroup report must be clean. */
int env_close(struct env *e)
{
	struct fs_check_report rep;
	int bad = 0;

	if (e->fs && fs_subvol_sync(e->fs) == 0 &&
	    fs_quota_rescan_wait(e->fs) == 0 && fs_sync(e->fs) == 0 &&
	    fs_check(e->fs, &rep)) {
		printf("# ghee fsck: %llu errors\n",
		       (unsigned long long)rep.errors);
		bad = 1;
	}
	if (env_umount_check(e, 1))
		bad = 1;
	return bad ? -EUCLEAN : 0;
}

/* Make n small files under dir (tall trees with 4 KiB nodes). */
int many_files(struct fs_info *fs, const char *dir, int n, int c)
{
	char name[64];
	int i, ret = fs_mkdir(fs, dir, 0755);

	for (i = 0; i < n && ret == 0; i++) {
		snprintf(name, sizeof(name), "%s/f%05d", dir, i);
		ret = put(fs, name, 0, i % 3 ? 5000 : 100, c);
	}
	return ret;
}

/* Share len bytes of src at 0 into dst at dst_off (made when missing). */
int reflink(struct fs_info *fs, const char *src, const char *dst,
		   u64 len, u64 dst_off)
{
	struct fs_ino s, d;
	int ret = fs_lookup(fs, src, 0, &s);

	if (ret == 0 && fs_lookup(fs, dst, 0, &d) == -ENOENT)
		ret = fs_create(fs, dst, 0644, &d);
	return ret ? ret : fs_clone_range(fs, s, 0, len, d, dst_off);
}
