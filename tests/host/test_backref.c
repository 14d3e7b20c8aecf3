/*
 * The back-reference walker (fs/backref.c) against a brute force: for
 * every data extent any subvolume points at, the walker's (root, inode,
 * offset) answers, at three addresses inside the extent and with offsets
 * ignored, must be exactly those found by reading every file extent item
 * of every subvolume tree; and for every block of every subvolume tree,
 * the roots the walker finds upward must be exactly the trees whose walk
 * from their root reaches it. The brute force here is test-only code.
 *
 * Workloads: a plain file, a split extent (overwrite in the middle),
 * snapshots sharing leaves and nodes whose owner then copies them (shared
 * refs, the reference's case 3b) and whose snapshots copy them (3c), a
 * snapshot of a snapshot, changes not yet committed (pending delayed
 * refs, seen by the current view and not by the commit view), and a
 * deleted subvolume the cleaner has half dropped. Reflinks need the clone
 * API (not on main yet): sharing comes from snapshots here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ghee/errno.h>
#include <ghee/sync.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "../../fs/backref.h"
#include "../../fs/ctree.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/subvol.h"
#include "../../fs/tree_check.h"
#include "shim/fault_dev.h"
#include "test.h"
#include "test_env.h"

/* A growable list of hits. */
struct hitv {
	struct backref_hit *v;
	u32 n, cap;
};

static int hitv_add(struct hitv *h, u64 root, u64 ino, u64 off)
{
	if (h->n == h->cap) {
		u32 c = h->cap ? 2 * h->cap : 64;
		struct backref_hit *v = realloc(h->v, c * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = c;
	}
	memset(&h->v[h->n], 0, sizeof(h->v[0]));
	h->v[h->n].root = root;
	h->v[h->n].ino = ino;
	h->v[h->n++].offset = off;
	return 0;
}

static int hit_cmp(const void *a, const void *b)
{
	const struct backref_hit *x = a, *y = b;

	if (x->root != y->root)
		return x->root < y->root ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Sort and drop repeats (the walker reports each once, in order). */
static void hitv_sort(struct hitv *h)
{
	u32 i, j = 0;

	if (h->n)
		qsort(h->v, h->n, sizeof(*h->v), hit_cmp);
	for (i = 0; i < h->n; i++)
		if (j == 0 || hit_cmp(&h->v[j - 1], &h->v[i]))
			h->v[j++] = h->v[i];
	h->n = j;
}

static int collect(void *ctx, const struct backref_hit *hit)
{
	return hitv_add(ctx, hit->root, hit->ino, hit->offset);
}

/* Every subvolume tree: id, its root in the current state, dead, and
 * where a dead one's remains start. */
struct tree {
	u64 id;
	struct ctree_root root;
	int dead;
	struct key from;
};

/* The subvolume trees of fs (root items of the tree root). */
static int list_trees(struct fs_info *fs, struct tree *v, u32 max, u32 *n)
{
	struct key k = { BTRFS_FS_TREE_OBJECTID, BTRFS_ROOT_ITEM_KEY, 0 };
	struct ctree_path p;
	int ret;

	*n = 0;
	ctree_path_init(&p);
	ret = ctree_search_ge(&fs->tree_root, &k, &p);
	for (; ret == 0; ret = ctree_next_item(&p)) {
		const struct subvol_root *sv;
		const u8 *item;
		u32 size;

		ctree_item_key(&p, &k);
		if (k.type != BTRFS_ROOT_ITEM_KEY ||
		    !tree_check_is_subvol_tree(k.objectid))
			continue;
		if (*n == max)
			return -ENOSPC;
		item = ctree_item_ptr(&p, &size);
		v[*n].id = k.objectid;
		v[*n].dead = D_GET32(struct d_root_item, item, refs) == 0;
		memset(&v[*n].from, 0, sizeof(v[*n].from));
		ctree_root_init(&v[*n].root, fs, k.objectid,
				D_GET64(struct d_root_item, item, bytenr),
				D_GET64(struct d_root_item, item, generation),
				D_GET8(struct d_root_item, item, level));
		if (v[*n].dead)
			key_from_disk(&v[*n].from, D_PTR(struct d_root_item,
							 item, drop_progress));
		else if (subvol_get(fs, k.objectid, &sv) == 0)
			v[*n].root = sv->root;	/* its current root */
		(*n)++;
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : 0;
}

/* One file extent item of some tree, as the brute force reads it. */
struct fref {
	u64 disk, disk_len;	/* the extent it points at */
	u64 root, ino, key_offset, extent_offset, num_bytes;
	int dead;		/* in a tree being dropped */
};

struct frefv {
	struct fref *v;
	u32 n, cap;
};

static int fref_cmp(const void *a, const void *b)
{
	const struct fref *x = a, *y = b;

	return x->disk < y->disk ? -1 : x->disk > y->disk;
}

/* Add the file extent item at p of tree t to out (holes and inline
 * extents point at nothing). */
static int fref_add(struct frefv *out, const struct tree *t,
		    const struct ctree_path *p)
{
	struct key k;
	u32 size;
	const u8 *fe = ctree_item_ptr(p, &size);
	struct fref *f;

	ctree_item_key(p, &k);
	if (k.type != BTRFS_EXTENT_DATA_KEY ||
	    D_GET8(struct d_file_extent_item, fe, type) ==
	    BTRFS_FILE_EXTENT_INLINE ||
	    !D_GET64(struct d_file_extent_item, fe, disk_bytenr))
		return 0;
	if (out->n == out->cap) {
		u32 c = out->cap ? 2 * out->cap : 256;
		struct fref *v = realloc(out->v, c * sizeof(*v));

		if (!v)
			return -ENOMEM;
		out->v = v;
		out->cap = c;
	}
	f = &out->v[out->n++];
	f->disk = D_GET64(struct d_file_extent_item, fe, disk_bytenr);
	f->disk_len = D_GET64(struct d_file_extent_item, fe, disk_num_bytes);
	f->root = t->id;
	f->ino = k.objectid;
	f->key_offset = k.offset;
	f->extent_offset = D_GET64(struct d_file_extent_item, fe, offset);
	f->num_bytes = D_GET64(struct d_file_extent_item, fe, num_bytes);
	f->dead = t->dead;
	return 0;
}

/* Brute force: every file extent item of every tree (a dead one's from
 * its drop progress on), sorted by the extent it points at. */
static int brute(struct tree *t, u32 nt, struct frefv *out)
{
	u32 i;
	int ret = 0;

	for (i = 0; i < nt && ret >= 0; i++) {
		struct ctree_path p;

		ctree_path_init(&p);
		for (ret = ctree_search_ge(&t[i].root, &t[i].from, &p);
		     ret == 0; ret = ctree_next_item(&p))
			ret = fref_add(out, &t[i], &p);
		ctree_path_release(&p);
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), fref_cmp);
	return ret < 0 ? ret : 0;
}

/* The hits the brute force expects of items v[0..n) (one extent) at
 * extent position pos. */
static int brute_hits(const struct fref *v, u32 n, u64 pos, unsigned flags,
		      struct hitv *want)
{
	u32 i;
	int ret = 0;

	for (i = 0; i < n && ret == 0; i++) {
		const struct fref *f = &v[i];

		if (f->dead && !(flags & BACKREF_DEAD_ROOTS))
			continue;
		if (flags & BACKREF_IGNORE_OFFSET)
			ret = hitv_add(want, f->root, f->ino, f->key_offset);
		else if (pos >= f->extent_offset &&
			 pos - f->extent_offset < f->num_bytes)
			ret = hitv_add(want, f->root, f->ino,
				       f->key_offset + pos - f->extent_offset);
	}
	hitv_sort(want);
	return ret;
}

/* A cache of walks in one view and its table of sets (the accounting's
 * way of asking). */
struct set_check {
	struct rootsets rs;
	struct backref_cache *c;
};

static int set_check_new(struct fs_info *fs, enum backref_view view,
			 struct set_check *sc)
{
	rootsets_init(&sc->rs);
	return backref_cache_new(fs, view, &sc->rs, &sc->c);
}

static void set_check_free(struct set_check *sc)
{
	backref_cache_free(sc->c);
	rootsets_reset(&sc->rs);
}

/*
 * Whether the set of subvolume trees the walker's cache gives for the
 * extent at bytenr (backref_root_set, as the quota accounting asks)
 * holds exactly the roots of want (sorted by root). 0, or -1 after
 * saying what differs.
 */
static int compare_set(struct set_check *sc, u64 bytenr, int data,
		       const struct hitv *want)
{
	const u64 *v = NULL;
	u32 id = 0, n = 0, i, j = 0;
	int ret = backref_root_set(sc->c, bytenr, data, 0, &id);

	if (ret == -ENOENT && data)
		ret = 0;	/* only a dead tree's item: dropped */
	if (ret == 0)
		rootsets_get(&sc->rs, id, &v, &n);
	for (i = 0; ret == 0 && i < want->n; i++) {
		if (i && want->v[i].root == want->v[i - 1].root)
			continue;
		if (j == n || v[j] != want->v[i].root)
			ret = -1;
		j++;
	}
	if (ret == 0 && j != n)
		ret = -1;
	if (ret)
		printf("# extent %llu: the cached set (%u roots, ret %d) is "
		       "not the walker's %u hits\n",
		       (unsigned long long)bytenr, n, ret, want->n);
	return ret;
}

/* Compare the walker with the brute force (items v[0..n) of the extent)
 * at one extent position; with sc, also the cached set of trees (offsets
 * ignored, dead roots counted: the flags must say so). Returns 0 or -1
 * after saying what differs. */
static int compare_one(struct fs_info *fs, const struct fref *v, u32 n,
		       enum backref_view view, u64 pos, unsigned flags,
		       struct set_check *sc)
{
	struct hitv want = { 0 }, got = { 0 };
	int ret = brute_hits(v, n, pos, flags, &want);
	u32 i;

	if (ret == 0)
		ret = backref_data(fs, v[0].disk + pos, view, flags, collect,
				   &got, NULL);
	if (ret == -ENOENT && want.n == 0)
		ret = 0;	/* only a dead tree's item: dropped */
	if (ret == 0 && got.n != want.n)
		ret = -1;
	for (i = 0; ret == 0 && i < got.n; i++)
		if (hit_cmp(&got.v[i], &want.v[i]))
			ret = -1;
	if (ret == 0 && sc)
		ret = compare_set(sc, v[0].disk, 1, &want);
	if (ret)
		printf("# extent %llu pos %llu flags %u view %d: walker %d "
		       "hits (ret %d), brute force %u\n",
		       (unsigned long long)v[0].disk, (unsigned long long)pos,
		       flags, view, got.n, ret, want.n);
	free(want.v);
	free(got.v);
	return ret;
}

/*
 * Check every data extent of fs in view against the brute force over the
 * current trees: at its start, middle and last byte, and with offsets
 * ignored, with and without dead roots. *n gets the extents checked.
 */
static int check_all_extents(struct fs_info *fs, enum backref_view view,
			     u32 *n)
{
	static struct tree t[256];
	struct frefv all = { 0 };
	struct set_check sc;
	u32 nt, i, j;
	int ret = list_trees(fs, t, 256, &nt);

	if (ret == 0)
		ret = brute(t, nt, &all);
	memset(&sc, 0, sizeof(sc));
	if (ret == 0)
		ret = set_check_new(fs, view, &sc);
	*n = 0;
	for (i = 0; ret == 0 && i < all.n; i = j) {
		u64 len = all.v[i].disk_len;

		for (j = i; j < all.n && all.v[j].disk == all.v[i].disk; j++)
			;
		ret = compare_one(fs, &all.v[i], j - i, view, 0, 0, NULL);
		if (ret == 0)
			ret = compare_one(fs, &all.v[i], j - i, view, len / 2,
					  0, NULL);
		if (ret == 0)
			ret = compare_one(fs, &all.v[i], j - i, view, len - 1,
					  0, NULL);
		if (ret == 0)
			ret = compare_one(fs, &all.v[i], j - i, view, 0,
					  BACKREF_IGNORE_OFFSET, NULL);
		if (ret == 0)
			ret = compare_one(fs, &all.v[i], j - i, view, len / 2,
					  BACKREF_IGNORE_OFFSET |
					  BACKREF_DEAD_ROOTS, &sc);
		(*n)++;
	}
	set_check_free(&sc);
	free(all.v);
	return ret;
}

/* The extent of the first item of file path (its data at offset 0). */
static int file_extent(struct fs_info *fs, const char *path, u64 *bytenr)
{
	static struct tree t[256];
	struct frefv all = { 0 };
	struct fs_ino ino;
	u32 nt, i;
	int ret = fs_lookup(fs, path, 0, &ino);

	if (ret == 0)
		ret = list_trees(fs, t, 256, &nt);
	if (ret == 0)
		ret = brute(t, nt, &all);
	*bytenr = 0;
	for (i = 0; ret == 0 && i < all.n; i++)
		if (all.v[i].root == ino.root && all.v[i].ino == ino.ino &&
		    all.v[i].key_offset == 0)
			*bytenr = all.v[i].disk;
	free(all.v);
	return ret ? ret : *bytenr ? 0 : -ENOENT;
}

/* (block, root) pairs of every live subvolume tree, by a walk down. */
static int tree_blocks(struct tree *t, u32 nt, struct hitv *out)
{
	u32 i;
	int ret = 0;

	for (i = 0; i < nt && ret == 0; i++) {
		struct tree_block *stack[64];
		int sp = 0;

		if (t[i].dead)
			continue;
		ret = ctree_read_root(&t[i].root, &stack[sp++]);
		while (ret == 0 && sp > 0) {
			struct tree_block *b = stack[--sp], *c;
			u32 s;

			ret = hitv_add(out, b->start, t[i].root.objectid, 0);
			for (s = 0; ret == 0 && tb_level(b) > 0 &&
			     s < tb_nritems(b) && sp < 64; s++) {
				ret = ctree_read_child(&t[i].root, b, (int)s,
						       &c);
				if (ret == 0)
					stack[sp++] = c;
			}
			tree_block_put(b);
		}
		while (sp > 0)
			tree_block_put(stack[--sp]);
	}
	return ret;
}

/* Check the roots the walker finds for every block of every live
 * subvolume tree. *n gets the blocks checked. */
static int check_all_blocks(struct fs_info *fs, enum backref_view view,
			    u32 *n)
{
	static struct tree t[256];
	struct hitv pairs = { 0 }, got = { 0 };
	struct set_check sc;
	u32 nt, i, j;
	int ret = list_trees(fs, t, 256, &nt);

	if (ret == 0)
		ret = tree_blocks(t, nt, &pairs);
	memset(&sc, 0, sizeof(sc));
	if (ret == 0)
		ret = set_check_new(fs, view, &sc);
	hitv_sort(&pairs);	/* by block, then root */
	*n = 0;
	for (i = 0; ret == 0 && i < pairs.n; i = j) {
		got.n = 0;
		ret = backref_block(fs, pairs.v[i].root, view, 0, collect,
				    &got, NULL);
		for (j = i; ret == 0 && j < pairs.n &&
		     pairs.v[j].root == pairs.v[i].root; j++)
			if (j - i >= got.n ||
			    got.v[j - i].root != pairs.v[j].ino)
				ret = -1;
		if (ret == 0 && got.n != j - i)
			ret = -1;
		if (ret)
			printf("# block %llu: walker %u roots (first %llu), "
			       "brute force %u\n",
			       (unsigned long long)pairs.v[i].root, got.n,
			       got.n ? (unsigned long long)got.v[0].root : 0,
			       j - i);
		/* the cached set counts dead trees too, as the walker
		 * does when asked */
		got.n = 0;
		if (ret == 0)
			ret = backref_block(fs, pairs.v[i].root, view,
					    BACKREF_DEAD_ROOTS, collect, &got,
					    NULL);
		if (ret == 0)
			ret = compare_set(&sc, pairs.v[i].root, 0, &got);
		(*n)++;
	}
	set_check_free(&sc);
	free(pairs.v);
	free(got.v);
	return ret;
}

/* Both checks in both views (after a commit they must agree). */
static int check_synced(struct fs_info *fs, u32 *ext, u32 *blocks)
{
	int ret = fs_sync(fs);

	if (ret == 0)
		ret = check_all_extents(fs, BACKREF_CURRENT, ext);
	if (ret == 0)
		ret = check_all_extents(fs, BACKREF_COMMIT, ext);
	if (ret == 0)
		ret = check_all_blocks(fs, BACKREF_CURRENT, blocks);
	if (ret == 0)
		ret = check_all_blocks(fs, BACKREF_COMMIT, blocks);
	return ret;
}

TEST(backref, plain_and_split_extents)
{
	struct env e = { 0 };
	struct hitv got = { 0 };
	struct fs_ino ino;
	u32 ne, nb;

	CHECK_OK(env_mkfs_mount(&e, 0));
	CHECK_OK(put(e.fs, "/a", 0, 200000, 'a'));
	CHECK_OK(put(e.fs, "/b", 0, 8192, 'b'));
	CHECK_OK(fs_sync(e.fs));
	/* Split a's extent: one ref (count 2) for two items. */
	CHECK_OK(put(e.fs, "/a", 65536, 4096, 'x'));
	CHECK_OK(check_synced(e.fs, &ne, &nb));
	CHECK(ne >= 3);
	CHECK_OK(fs_lookup(e.fs, "/a", 0, &ino));
	/* An address inside no data extent. */
	CHECK_EQ(backref_data(e.fs, 4096, BACKREF_CURRENT, 0, collect, &got,
			      NULL), -ENOENT);
	CHECK_EQ(got.n, 0);
	free(got.v);
	printf("# %u extents, %u blocks checked\n", ne, nb);
	CHECK_OK(env_umount_check(&e, 0));
}

/* One ref whose items fill several leaves: a 1 MiB extent with every
 * other block overwritten is pointed at by 128 items under one
 * EXTENT_DATA_REF (count 128), over several leaves of 4 KiB. The walk
 * reads on from the leaf of the first item until the items of the ref
 * end, in a later leaf or in the same one (backref.c, search_data_ref),
 * and finds all 128, also once a snapshot shares some of the leaves. */
TEST(backref, one_refs_items_in_several_leaves)
{
	struct env e = { 0 };
	struct hitv got = { 0 };
	u64 x;
	u32 ne, nb, i;

	CHECK_OK(env_mkfs_mount(&e, 4096));
	CHECK_OK(put(e.fs, "/a", 0, 1 << 20, 'a'));
	CHECK_OK(fs_sync(e.fs));
	for (i = 1; i < 256; i += 2)
		CHECK_OK(put(e.fs, "/a", (u64)i * 4096, 4096, 'x'));
	CHECK_OK(put(e.fs, "/b", 0, 4096, 'b'));	/* items after a's */
	CHECK_OK(check_synced(e.fs, &ne, &nb));
	CHECK_OK(file_extent(e.fs, "/a", &x));
	CHECK_OK(backref_data(e.fs, x, BACKREF_CURRENT,
			      BACKREF_IGNORE_OFFSET, collect, &got, NULL));
	CHECK_EQ(got.n, 128);
	free(got.v);
	CHECK_OK(fs_subvol_snapshot(e.fs, "/", "/s", 0));
	for (i = 0; i < 40; i += 2)	/* the snapshot's own first leaves */
		CHECK_OK(put(e.fs, "/s/a", (u64)i * 4096, 4096, 'y'));
	CHECK_OK(check_synced(e.fs, &ne, &nb));
	CHECK_OK(env_umount_check(&e, 0));
}

/* A clone to a file offset below its source's extent offset: the data
 * ref's offset wraps below zero (as Linux's clone makes them), and the
 * walker must still find the item, in another tree than the source's
 * (where no leaf found by another ref holds it too): the qgroup counts
 * of such clones depend on it (found by crash_ops.files). */
TEST(backref, clone_below_extent_offset)
{
	struct env e = { 0 };
	struct fs_ino a, b;
	u32 ne, nb;

	CHECK_OK(env_mkfs_mount(&e, 4096));
	CHECK_OK(put(e.fs, "/a", 0, 200000, 'a'));
	CHECK_OK(fs_subvol_create(e.fs, "/sv"));	/* another tree */
	CHECK_OK(put(e.fs, "/sv/b", 0, 60000, 'b'));
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(fs_lookup(e.fs, "/a", 0, &a));
	CHECK_OK(fs_lookup(e.fs, "/sv/b", 0, &b));
	CHECK_OK(fs_clone_range(e.fs, a, 65536, 65536, b, 8192));
	CHECK_OK(check_synced(e.fs, &ne, &nb));
	CHECK_OK(env_umount_check(&e, 0));
}

TEST(backref, snapshots_share_leaves_and_nodes)
{
	struct env e = { 0 };
	u32 ne, nb;

	/* 4 KiB nodes: 1500 files make a tree of three levels, so nodes
	 * below the root are shared too (shared block refs). */
	CHECK_OK(env_mkfs_mount(&e, 4096));
	CHECK_OK(fs_subvol_create(e.fs, "/sv"));
	CHECK_OK(make_files(e.fs, "/sv/d", 1500, 'x'));
	CHECK_OK(put(e.fs, "/sv/big", 0, 150000, 'g'));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/sv", "/s1", 0));
	CHECK_OK(check_synced(e.fs, &ne, &nb));
	/* The owner copies shared blocks (3b: shared refs) ... */
	CHECK_OK(put(e.fs, "/sv/d/f00010", 0, 5000, 'y'));
	CHECK_OK(put(e.fs, "/sv/big", 40960, 4096, 'y'));
	CHECK_OK(check_synced(e.fs, &ne, &nb));
	/* ... a snapshot copies them (3c), and is snapshotted itself. */
	CHECK_OK(put(e.fs, "/s1/d/f01200", 0, 5000, 'z'));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/s1", "/s2", FS_SNAP_RDONLY));
	CHECK_OK(put(e.fs, "/s1/d/f00900", 0, 5000, 'w'));
	CHECK_OK(put(e.fs, "/sv/d/f00450", 0, 5000, 'v'));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/", "/top", 0));
	CHECK_OK(check_synced(e.fs, &ne, &nb));
	printf("# %u extents, %u blocks checked\n", ne, nb);
	CHECK_OK(env_umount_check(&e, 0));
}

/*
 * Split big's extent at piece n, write two more files without a commit,
 * and compare the commit view (must say what it said before: *before,
 * taken at the last commit) and the current view (one item more: the
 * split's second one). Returns 0, 1 when the periodic commit came
 * meanwhile (the machine was slow: no judgment), or <0.
 */
static int uncommitted_views(struct env *e, u64 bytenr, int n,
			     const struct hitv *before, u32 *ne)
{
	struct hitv after = { 0 };
	u64 gen = e->fs->generation;
	u32 i;
	int ret = put(e->fs, "/sv/big", 8192 + 8192 * (u64)n, 4096, 'h');

	if (ret == 0)
		ret = put(e->fs, "/sv/d/f00020", 0, 5000, 'q' + n);
	if (ret == 0)
		ret = put(e->fs, "/sv/new", 0, 30000, 'n' + n);
	if (ret == 0)
		ret = check_all_extents(e->fs, BACKREF_CURRENT, ne);
	if (ret == 0)
		ret = backref_data(e->fs, bytenr, BACKREF_COMMIT,
				   BACKREF_IGNORE_OFFSET, collect, &after,
				   NULL);
	if (ret == 0 && e->fs->generation != gen)
		ret = 1;
	if (ret == 0 && after.n != before->n)
		ret = -EUCLEAN;
	for (i = 0; ret == 0 && i < after.n; i++)
		ret = hit_cmp(&after.v[i], &before->v[i]) ? -EUCLEAN : 0;
	after.n = 0;
	if (ret == 0)
		ret = backref_data(e->fs, bytenr, BACKREF_CURRENT,
				   BACKREF_IGNORE_OFFSET, collect, &after,
				   NULL);
	if (ret == 0 && after.n != before->n + 1)
		ret = -EUCLEAN;	/* the split's second item */
	if (ret == 0 && e->fs->generation != gen)
		ret = 1;
	free(after.v);
	return ret;
}

TEST(backref, pending_refs_in_current_view_only)
{
	struct env e = { 0 };
	struct hitv before = { 0 };
	u32 ne, nb;
	u64 bytenr;
	int ret = 1, n;

	CHECK_OK(env_mkfs_mount(&e, 4096));
	CHECK_OK(fs_subvol_create(e.fs, "/sv"));
	CHECK_OK(make_files(e.fs, "/sv/d", 200, 'x'));
	CHECK_OK(put(e.fs, "/sv/big", 0, 100000, 'g'));
	/* big's extent: the one holding its first byte, as committed. */
	CHECK_OK(check_synced(e.fs, &ne, &nb));
	CHECK_OK(file_extent(e.fs, "/sv/big", &bytenr));
	/* The periodic commit (every 5 s) may come between the writes and
	 * the look at the commit view on a slow machine: then again, with
	 * the next piece of big. */
	for (n = 0; n < 5 && ret == 1; n++) {
		if (n)
			printf("# a commit came meanwhile: again\n");
		before.n = 0;
		CHECK_OK(check_synced(e.fs, &ne, &nb));
		CHECK_OK(backref_data(e.fs, bytenr, BACKREF_COMMIT,
				      BACKREF_IGNORE_OFFSET, collect, &before,
				      NULL));
		ret = uncommitted_views(&e, bytenr, n, &before, &ne);
	}
	CHECK_OK(ret);
	free(before.v);
	CHECK_OK(check_synced(e.fs, &ne, &nb));
	CHECK_OK(env_umount_check(&e, 0));
}

TEST(backref, half_dropped_snapshot)
{
	struct env e = { 0 };
	struct key k = { 0, 0, 0 };
	struct fs_ino ino;
	u32 ne, nb;
	int i;

	CHECK_OK(env_mkfs_mount(&e, 4096));
	CHECK_OK(fs_subvol_create(e.fs, "/sv"));
	CHECK_OK(make_files(e.fs, "/sv/d", 1500, 'b'));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/sv", "/snap", 0));
	CHECK_OK(fs_lookup(e.fs, "/sv", 0, &ino));
	/* The owner copies most of its leaves (a file in each), keeping a
	 * few shared, then goes: dropping takes several steps, and the
	 * cleaner converts what it shares to shared refs as it drops. */
	for (i = 0; i < 1500; i += 10) {
		char name[32];

		snprintf(name, sizeof(name), "/sv/d/f%05d", i);
		CHECK_OK(put(e.fs, name, 0, 5000, 'c'));
	}
	CHECK_OK(fs_subvol_delete(e.fs, "/sv", 0));
	for (i = 0; i < 20000 && k.objectid == 0; i++) {
		down_read(&e.fs->ns_lock);
		if (dead_progress(e.fs, ino.root, &k))
			k.objectid = (u64)-1;	/* dropped already */
		up_read(&e.fs->ns_lock);
		if (k.objectid == 0)
			usleep(200);
	}
	fs_umount(e.fs);
	/* Read-only: no cleaner, the drop stays half done. */
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), FS_MOUNT_RO, &e.fs));
	CHECK_OK(dead_progress(e.fs, ino.root, &k));
	CHECK(k.objectid != 0);
	CHECK_OK(check_all_extents(e.fs, BACKREF_CURRENT, &ne));
	CHECK_OK(check_all_extents(e.fs, BACKREF_COMMIT, &ne));
	CHECK_OK(check_all_blocks(e.fs, BACKREF_COMMIT, &nb));
	printf("# half dropped at (%llu %u %llu): %u extents, %u blocks\n",
	       (unsigned long long)k.objectid, k.type,
	       (unsigned long long)k.offset, ne, nb);
	fs_umount(e.fs);
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), 0, &e.fs));
	CHECK_OK(fs_subvol_sync(e.fs));
	CHECK_OK(check_synced(e.fs, &ne, &nb));
	CHECK_OK(env_umount_check(&e, 0));
}

/* The cost of resolving one extent shared by n snapshots (printed). */
static int measure(struct fs_info *fs, const char *file, int n)
{
	struct backref_stats st;
	struct hitv got = { 0 };
	u64 t0, bytenr;
	int ret = file_extent(fs, file, &bytenr);

	if (ret)
		return ret;
	t0 = time_ns();
	ret = backref_data(fs, bytenr, BACKREF_CURRENT, BACKREF_IGNORE_OFFSET,
			   collect, &got, &st);
	printf("# %d snapshots: %u hits, %llu us, %llu searches, %llu blocks "
	       "upward, %llu leaves\n", n, got.n,
	       (unsigned long long)((time_ns() - t0) / 1000),
	       (unsigned long long)st.searches,
	       (unsigned long long)st.blocks,
	       (unsigned long long)st.leaves);
	if (ret == 0 && got.n != (u32)n + 1)
		ret = -1;
	free(got.v);
	return ret;
}

TEST(backref, many_snapshots_cost)
{
	struct env e = { 0 };
	char name[32];
	int i;

	CHECK_OK(env_mkfs_mount(&e, 4096));
	CHECK_OK(fs_subvol_create(e.fs, "/sv"));
	CHECK_OK(make_files(e.fs, "/sv/d", 100, 'x'));
	CHECK_OK(put(e.fs, "/sv/big", 0, 65536, 'g'));
	for (i = 1; i <= 100; i++) {
		snprintf(name, sizeof(name), "/s%03d", i);
		CHECK_OK(fs_subvol_snapshot(e.fs, "/sv", name, 0));
		/* Every snapshot copies a little: its own blocks above
		 * shared ones. */
		snprintf(name, sizeof(name), "/s%03d/d/f%05d", i, i % 100);
		CHECK_OK(put(e.fs, name, 0, 5000, 'c'));
		if (i == 10 || i == 100) {
			CHECK_OK(fs_sync(e.fs));
			CHECK_OK(measure(e.fs, "/sv/big", i));
		}
	}
	CHECK_OK(env_umount_check(&e, 0));
}

/* The concurrent case: a task writes and commits while walks run. */
struct churn {
	struct fs_info *fs;
	int writes;		/* done */
	int err;		/* first error */
};

static int churn_task(void *arg)
{
	struct churn *c = arg;
	char name[32];
	int i;

	for (i = 0; !task_should_stop() && c->err == 0; i++) {
		snprintf(name, sizeof(name), "/%s/d/f%05d",
			 i % 2 ? "sv" : "snap", (i * 37) % 400 + 1);
		c->err = put(c->fs, name, 0, 5000, 'a' + i % 26);
		if (c->err == 0 && i % 8 == 7)
			c->err = fs_sync(c->fs);
		__atomic_store_n(&c->writes, i + 1, __ATOMIC_RELEASE);
	}
	return c->err;
}

/* Whether a walk of bytenr in view gives exactly want. */
static int same_hits(struct fs_info *fs, u64 bytenr, enum backref_view view,
		     const struct hitv *want)
{
	struct hitv got = { 0 };
	u32 i;
	int ret = backref_data(fs, bytenr, view, BACKREF_IGNORE_OFFSET,
			       collect, &got, NULL);

	if (ret == 0 && got.n != want->n)
		ret = -1;
	for (i = 0; ret == 0 && i < got.n; i++)
		if (hit_cmp(&got.v[i], &want->v[i]))
			ret = -1;
	free(got.v);
	return ret;
}

TEST(backref, walks_while_writing_and_committing)
{
	struct env e = { 0 };
	struct churn c = { 0 };
	struct hitv want = { 0 };
	struct task *t;
	u64 bytenr;
	u32 ne, nb;
	int i, ret = 0, walks = 0;

	CHECK_OK(env_mkfs_mount(&e, 4096));
	CHECK_OK(fs_subvol_create(e.fs, "/sv"));
	CHECK_OK(make_files(e.fs, "/sv/d", 401, 'x'));
	CHECK_OK(put(e.fs, "/sv/d/f00000", 0, 100000, 'k'));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/sv", "/snap", 0));
	CHECK_OK(check_synced(e.fs, &ne, &nb));
	/* f00000 is never written again: its extent's users stay the two
	 * trees while the blocks around it are copied and committed. */
	CHECK_OK(file_extent(e.fs, "/sv/d/f00000", &bytenr));
	CHECK_OK(backref_data(e.fs, bytenr, BACKREF_COMMIT,
			      BACKREF_IGNORE_OFFSET, collect, &want, NULL));
	CHECK_EQ(want.n, 2);
	c.fs = e.fs;
	t = task_create("churn", churn_task, &c, TASK_PRIO_BACKGROUND);
	CHECK(t != NULL);
	/* past 4000 walks only until the writer's first write ended (a
	 * loaded machine may start it late) */
	for (i = 0; ret == 0; i++) {
		int w = __atomic_load_n(&c.writes, __ATOMIC_ACQUIRE);

		if (w >= 200 || (i >= 4000 && w > 0))
			break;
		ret = same_hits(e.fs, bytenr, i % 2 ? BACKREF_COMMIT :
				BACKREF_CURRENT, &want);
		walks++;
	}
	task_stop(task_id(t));
	CHECK_OK(task_join(t));
	printf("# %d walks during %d writes\n", walks, c.writes);
	CHECK_OK(ret);
	CHECK(c.writes > 0);
	free(want.v);
	CHECK_OK(check_synced(e.fs, &ne, &nb));
	CHECK_OK(env_umount_check(&e, 0));
}

/* Gather the paths fs_inode_paths gives, joined by spaces. */
static int join_path(void *ctx, const char *path)
{
	char *out = ctx;

	if (strlen(out) + strlen(path) + 2 > 512)
		return -ENAMETOOLONG;
	if (*out)
		strcat(out, " ");
	strcat(out, path);
	return 0;
}

TEST(backref, inode_and_subvolume_paths)
{
	struct env e = { 0 };
	struct fs_ino ino, snap;
	char got[512] = "", sv[256];

	CHECK_OK(env_mkfs_mount(&e, 0));
	CHECK_OK(fs_mkdir(e.fs, "/d1", 0755));
	CHECK_OK(fs_mkdir(e.fs, "/d1/deep", 0755));
	CHECK_OK(fs_mkdir(e.fs, "/d2", 0755));
	CHECK_OK(put(e.fs, "/d1/deep/a", 0, 5000, 'a'));
	CHECK_OK(fs_link(e.fs, "/d1/deep/a", "/d2/b"));
	CHECK_OK(fs_link(e.fs, "/d1/deep/a", "/d1/deep/c"));
	CHECK_OK(fs_lookup(e.fs, "/d2/b", 0, &ino));
	CHECK_OK(fs_inode_paths(e.fs, ino, join_path, got));
	CHECK_STR(got, "d1/deep/a d1/deep/c d2/b");
	CHECK_OK(fs_subvol_create(e.fs, "/sv"));
	CHECK_OK(fs_mkdir(e.fs, "/sv/in", 0755));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/", "/sv/in/top", 0));
	CHECK_OK(fs_lookup(e.fs, "/sv/in/top/d2/b", 0, &snap));
	CHECK(snap.root != ino.root);
	got[0] = 0;
	CHECK_OK(fs_inode_paths(e.fs, snap, join_path, got));
	CHECK_STR(got, "d1/deep/a d1/deep/c d2/b");
	CHECK_OK(fs_subvol_path(e.fs, snap.root, sv, sizeof(sv)));
	CHECK_STR(sv, "sv/in/top");
	CHECK_OK(fs_subvol_path(e.fs, 5, sv, sizeof(sv)));
	CHECK_STR(sv, "");
	CHECK_EQ(fs_subvol_path(e.fs, 999, sv, sizeof(sv)), -ENOENT);
	ino.ino = 4242;
	CHECK_EQ(fs_inode_paths(e.fs, ino, join_path, got), -ENOENT);
	CHECK_OK(env_umount_check(&e, 0));
}
