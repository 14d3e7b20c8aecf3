/*
 * Quota groups (fs/qgroup*.c) against a brute force: after each commit,
 * every subvolume tree is walked from its root (every tree block, every
 * file extent item's disk extent), each extent's set of reaching
 * subvolumes is built from those walks alone, and from it each qgroup's
 * referenced and exclusive bytes (through the memberships, at every
 * level); ghee's counts must be exactly those. The brute force is
 * test-only code and shares nothing with the accounting (which resolves
 * changed extents upward with the back-reference walker). Images end
 * with `btrfs check --qgroup-report`, which must find no difference.
 *
 * Workloads: writes, overwrites that split extents, reflinks within and
 * across subvolumes, snapshots (writable, read-only, nested, of
 * snapshots), deletion of snapshots dropped by the cleaner from trees
 * three levels tall, higher-level groups with assign and remove, and a
 * random mix of all of them with a seed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>
#include <ghee/task.h>

#include "../../fs/ctree.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/qgroup.h"
#include "../../fs/subvol.h"
#include "../../fs/tree_check.h"
#include "shim/fault_dev.h"
#include "test.h"

#define DEV_BYTES (256ull << 20)
#define MAX_TREES 64

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

/* Walk the tree of root down; add every block and extent it reaches. */
static int walk_tree(struct ctree_root *root, struct reachv *r)
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

/* Every (extent, subvolume) pair of the filesystem, sorted, unique.
 * Caller made sure no dropped subvolume is left (fs_subvol_sync). */
static int brute_reach(struct fs_info *fs, struct reachv *r)
{
	struct key k = { BTRFS_FS_TREE_OBJECTID, BTRFS_ROOT_ITEM_KEY, 0 };
	u64 ids[MAX_TREES];
	u32 n = 0, i, j;
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	for (ret = ctree_search_ge(&fs->tree_root, &k, &p); ret == 0;
	     ret = ctree_next_item(&p)) {
		ctree_item_key(&p, &k);
		if (k.type == BTRFS_ROOT_ITEM_KEY &&
		    tree_check_is_subvol_tree(k.objectid) && n < MAX_TREES)
			ids[n++] = k.objectid;
	}
	ctree_path_release(&p);
	if (ret < 0)
		return ret;
	for (i = 0; i < n; i++) {
		const struct subvol_root *sv;

		ret = subvol_get(fs, ids[i], &sv);
		if (ret == 0)
			ret = walk_tree((struct ctree_root *)&sv->root, r);
		if (ret)
			return ret;
	}
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
static int compare_counts(struct fs_info *fs)
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
static int sync_compare(struct fs_info *fs)
{
	int ret = fs_subvol_sync(fs);

	if (ret == 0)
		ret = fs_quota_rescan_wait(fs);
	if (ret == 0)
		ret = fs_sync(fs);
	return ret ? ret : compare_counts(fs);
}

struct env {
	struct fault_dev *dev;
	struct fs_info *fs;
};

static int env_open(struct env *e, u32 nodesize)
{
	struct fs_mkfs_opts o = { NULL, nodesize, 0, NULL };
	int ret;

	e->dev = fault_dev_new(DEV_BYTES);
	if (!e->dev || fs_mkfs(fault_dev_blk(e->dev), &o))
		return -EIO;
	ret = fs_mount(fault_dev_blk(e->dev), 0, &e->fs);
	return ret ? ret : fs_quota_enable(e->fs);
}

/* Unmount; ghee's fsck (which counts quota groups too), btrfs check and
 * its qgroup report must be clean. */
static int env_close(struct env *e)
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
	if (e->fs)
		fs_umount(e->fs);
	if (e->dev && test_btrfs_check(__FILE__, __LINE__,
				       fault_dev_btrfs_check_qgroups(e->dev)))
		bad = 1;
	fault_dev_free(e->dev);
	return bad ? -EUCLEAN : 0;
}

/* Write len bytes of byte c at off of path (made when missing). */
static int put(struct fs_info *fs, const char *path, u64 off, size_t len,
	       int c)
{
	static char buf[1 << 18];
	struct fs_ino ino;
	int ret = fs_lookup(fs, path, 0, &ino);

	if (ret == -ENOENT)
		ret = fs_create(fs, path, 0644, &ino);
	if (ret)
		return ret;
	memset(buf, c, len);
	return fs_write(fs, ino, off, buf, len);
}

/* Make n small files under dir (tall trees with 4 KiB nodes). */
static int many_files(struct fs_info *fs, const char *dir, int n, int c)
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
static int reflink(struct fs_info *fs, const char *src, const char *dst,
		   u64 len, u64 dst_off)
{
	struct fs_ino s, d;
	int ret = fs_lookup(fs, src, 0, &s);

	if (ret == 0 && fs_lookup(fs, dst, 0, &d) == -ENOENT)
		ret = fs_create(fs, dst, 0644, &d);
	return ret ? ret : fs_clone_range(fs, s, 0, len, d, dst_off);
}

TEST(qgroup, enable_counts_what_is_there)
{
	struct env e = { 0 };
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };

	e.dev = fault_dev_new(DEV_BYTES);
	CHECK(e.dev && fs_mkfs(fault_dev_blk(e.dev), &o) == 0);
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), 0, &e.fs));
	CHECK_OK(fs_subvol_create(e.fs, "/a"));
	CHECK_OK(put(e.fs, "/a/f", 0, 100000, 1));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/a", "/s", 0));
	CHECK_OK(fs_quota_enable(e.fs));
	CHECK_OK(fs_quota_rescan_wait(e.fs));
	CHECK(e.fs->qgroups && e.fs->qgroups->n == 3);
	CHECK(qgroup_find(e.fs->qgroups, 257)->rfer > 100000);
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

TEST(qgroup, writes_overwrites_reflinks)
{
	struct env e = { 0 };

	CHECK_OK(env_open(&e, 0));
	CHECK_OK(fs_subvol_create(e.fs, "/a"));
	CHECK_OK(fs_subvol_create(e.fs, "/b"));
	CHECK_OK(put(e.fs, "/a/f", 0, 200000, 1));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(put(e.fs, "/a/f", 40960, 8192, 2));	/* splits it */
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(reflink(e.fs, "/a/f", "/a/g", 65536, 0));
	CHECK_OK(reflink(e.fs, "/a/f", "/b/h", 0, 4096));
	CHECK_OK(sync_compare(e.fs));
	CHECK(qgroup_find(e.fs->qgroups, 256)->excl <
	      qgroup_find(e.fs->qgroups, 256)->rfer);
	CHECK_OK(fs_unlink(e.fs, "/a/f"));
	CHECK_OK(fs_unlink(e.fs, "/a/g"));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

TEST(qgroup, snapshots_nested_and_read_only)
{
	struct env e = { 0 };

	CHECK_OK(env_open(&e, 4096));
	CHECK_OK(many_files(e.fs, "/d", 300, 1));
	CHECK_OK(fs_subvol_create(e.fs, "/v"));
	CHECK_OK(many_files(e.fs, "/v/d", 200, 2));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/", "/s1", 0));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/v", "/s1/v2", FS_SNAP_RDONLY));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(put(e.fs, "/d/f00007", 0, 9000, 3));
	CHECK_OK(put(e.fs, "/s1/d/f00100", 100, 3000, 4));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/s1", "/s2", 0));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(put(e.fs, "/s2/d/f00200", 0, 12000, 5));
	CHECK_OK(put(e.fs, "/v/d/f00001", 0, 12000, 6));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

TEST(qgroup, cleaner_drops_tall_snapshots)
{
	struct env e = { 0 };

	CHECK_OK(env_open(&e, 4096));
	CHECK_OK(fs_subvol_create(e.fs, "/v"));
	CHECK_OK(many_files(e.fs, "/v/d", 1500, 1));
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/v", "/s1", 0));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/v", "/s2", 0));
	CHECK_OK(put(e.fs, "/s1/d/f00010", 0, 7000, 2));
	CHECK_OK(put(e.fs, "/v/d/f01010", 0, 7000, 3));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(fs_subvol_delete(e.fs, "/s2", 0));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(fs_subvol_delete(e.fs, "/v", 0));
	CHECK_OK(sync_compare(e.fs));
	/* s1 (257) alone now: everything it reaches is its own; the
	 * deleted ones' qgroups stay, empty (Linux 6.1 keeps them). */
	CHECK_EQ(qgroup_find(e.fs->qgroups, 257)->excl,
		 qgroup_find(e.fs->qgroups, 257)->rfer);
	CHECK_EQ(qgroup_find(e.fs->qgroups, 256)->rfer, 0);
	CHECK_EQ(qgroup_find(e.fs->qgroups, 258)->rfer, 0);
	CHECK_OK(env_close(&e));
}

TEST(qgroup, higher_level_groups)
{
	struct env e = { 0 };
	const u64 g1 = 1ULL << 48 | 1, g2 = 2ULL << 48 | 1;

	CHECK_OK(env_open(&e, 0));
	CHECK_OK(fs_subvol_create(e.fs, "/a"));
	CHECK_OK(fs_subvol_create(e.fs, "/b"));
	CHECK_OK(put(e.fs, "/a/f", 0, 100000, 1));
	CHECK_OK(reflink(e.fs, "/a/f", "/b/g", 0, 0));
	CHECK_OK(put(e.fs, "/b/h", 0, 50000, 2));
	CHECK_OK(fs_qgroup_create(e.fs, g1));
	CHECK_OK(fs_qgroup_create(e.fs, g2));
	CHECK_EQ(fs_qgroup_create(e.fs, g1), -EEXIST);
	CHECK_OK(fs_qgroup_relation(e.fs, 256, g1, 1));
	CHECK_OK(fs_qgroup_relation(e.fs, g1, g2, 1));
	CHECK_EQ(fs_qgroup_relation(e.fs, g2, g1, 1), -EINVAL);
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(fs_qgroup_relation(e.fs, 257, g1, 1));
	CHECK_OK(sync_compare(e.fs));
	/* a and b together hold the shared extent exclusively. */
	CHECK_EQ(qgroup_find(e.fs->qgroups, g1)->excl,
		 qgroup_find(e.fs->qgroups, g1)->rfer);
	CHECK_OK(put(e.fs, "/a/f", 0, 4096, 3));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/a", "/s", 0));
	CHECK_OK(sync_compare(e.fs));
	CHECK_EQ(fs_qgroup_destroy(e.fs, g1), -EBUSY);
	CHECK_OK(fs_qgroup_relation(e.fs, 256, g1, 0));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(fs_qgroup_limit(e.fs, g2, BTRFS_QGROUP_LIMIT_MAX_RFER,
				 1 << 20));
	CHECK_OK(env_close(&e));
}

TEST(qgroup, inherit_on_create_and_snapshot)
{
	struct fs_qgroup_inherit qi = { 1, { 1ULL << 48 | 7 } };
	struct fs_qgroup_inherit zero = { 1, { 256 } };
	struct env e = { 0 };
	struct fs_ino ino;

	CHECK_OK(env_open(&e, 4096));
	CHECK_EQ(fs_subvol_create_inherit(e.fs, "/a", &qi), -ENOENT);
	CHECK_EQ(fs_lookup(e.fs, "/a", 0, &ino), -ENOENT);
	CHECK_OK(fs_qgroup_create(e.fs, qi.ids[0]));
	CHECK_OK(fs_subvol_create_inherit(e.fs, "/a", &qi));
	CHECK_EQ(fs_subvol_create_inherit(e.fs, "/b", &zero), -EINVAL);
	CHECK_OK(many_files(e.fs, "/a/d", 400, 1));
	CHECK_OK(sync_compare(e.fs));
	CHECK_EQ(qgroup_find(e.fs->qgroups, qi.ids[0])->rfer,
		 qgroup_find(e.fs->qgroups, 256)->rfer);
	/* The snapshot joins the group: all it shares with a is the
	 * group's own; only the root blocks are each one's. */
	CHECK_OK(fs_subvol_snapshot_inherit(e.fs, "/a", "/s", 0, &qi));
	CHECK_OK(sync_compare(e.fs));
	CHECK_EQ(qgroup_find(e.fs->qgroups, 257)->excl, 4096);
	CHECK_EQ(qgroup_find(e.fs->qgroups, qi.ids[0])->excl,
		 qgroup_find(e.fs->qgroups, qi.ids[0])->rfer);
	CHECK_OK(fs_subvol_snapshot_inherit(e.fs, "/s", "/t", FS_SNAP_RDONLY,
					    NULL));
	CHECK_OK(put(e.fs, "/s/d/f00003", 0, 20000, 9));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

/* Begin a rescan of fs counting n extents per commit. */
static int slow_rescan(struct fs_info *fs, u32 n)
{
	fs->qgroups->rescan_batch = n;
	return fs_quota_rescan(fs);
}

TEST(qgroup, rescan_resumes_after_unmount_and_power_cut)
{
	struct env e = { 0 };
	struct fault_dev *crashed;
	uint64_t flags, progress;
	struct fs_info *fs;

	CHECK_OK(env_open(&e, 4096));
	CHECK_OK(many_files(e.fs, "/d", 600, 1));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/", "/s", 0));
	CHECK_OK(sync_compare(e.fs));
	/* Unmounted in the middle: the status says where it was. */
	CHECK_OK(slow_rescan(e.fs, 1));
	fs_umount(e.fs);
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), FS_MOUNT_RO, &fs));
	CHECK(fs_quota_status(fs, &flags, &progress));
	fs_umount(fs);
	CHECK(flags & BTRFS_QGROUP_STATUS_FLAG_RESCAN);
	CHECK(progress > 0);
	/* A read-write mount resumes it, and ends exact. */
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), 0, &e.fs));
	CHECK_OK(sync_compare(e.fs));
	/* Power cut in the middle of another one. */
	CHECK_OK(slow_rescan(e.fs, 3));
	fault_dev_arm(e.dev, 30, FAULT_CUT, 1);
	while (!fault_dev_is_cut(e.dev) &&
	       fs_quota_status(e.fs, &flags, &progress) &&
	       (flags & BTRFS_QGROUP_STATUS_FLAG_RESCAN))
		msleep(1);
	crashed = fault_dev_crash_image(e.dev);
	CHECK(crashed);
	fs_umount(e.fs);
	e.fs = NULL;
	fault_dev_free(e.dev);
	e.dev = crashed;
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), FS_MOUNT_RO, &fs));
	CHECK(fs_quota_status(fs, &flags, &progress));
	fs_umount(fs);
	CHECK(flags & BTRFS_QGROUP_STATUS_FLAG_RESCAN);
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), 0, &e.fs));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

TEST(qgroup, changes_while_a_rescan_runs)
{
	struct env e = { 0 };

	CHECK_OK(env_open(&e, 4096));
	CHECK_OK(many_files(e.fs, "/d", 300, 1));
	CHECK_OK(fs_subvol_create(e.fs, "/v"));
	CHECK_OK(put(e.fs, "/v/a", 0, 200000, 2));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(slow_rescan(e.fs, 4));
	/* New roots at high addresses above blocks the rescan counted. */
	CHECK_OK(fs_subvol_snapshot(e.fs, "/", "/s", 0));
	CHECK_OK(put(e.fs, "/s/d/f00009", 0, 9000, 3));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/v", "/w", FS_SNAP_RDONLY));
	CHECK_OK(put(e.fs, "/v/a", 4096, 8192, 4));
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(fs_subvol_delete(e.fs, "/v", 0));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

TEST(qgroup, disable_drops_a_tall_quota_tree)
{
	struct env e = { 0 };
	uint64_t flags, progress;
	u64 i;

	CHECK_OK(env_open(&e, 4096));
	CHECK_OK(put(e.fs, "/f", 0, 50000, 1));
	for (i = 1; i <= 400; i++)
		CHECK_OK(fs_qgroup_create(e.fs, 1ULL << 48 | i));
	CHECK_OK(fs_sync(e.fs));
	CHECK(e.fs->quota_root.level > 0);
	CHECK_OK(fs_quota_disable(e.fs));
	CHECK(!fs_quota_status(e.fs, &flags, &progress));
	CHECK_EQ(fs_qgroup_create(e.fs, 1ULL << 48 | 1), -ENOTCONN);
	CHECK_OK(put(e.fs, "/f", 4096, 4096, 2));
	/* On again: counted anew. */
	CHECK_OK(fs_quota_enable(e.fs));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

TEST(qgroup, random_workload)
{
	static const char *const subs[] = { "", "/a", "/b", "/s1", "/s2",
					    "/s3" };
	struct env e = { 0 };
	char path[128], other[128];
	u64 seed = test_seed();
	int live[6] = { 1, 0, 0, 0, 0, 0 }, step;

	CHECK_OK(env_open(&e, 4096));
	for (step = 0; step < 60; step++) {
		struct fs_ino ino;
		int s, t, op, ret;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		op = (int)(seed >> 33) % 10;
		s = (int)(seed >> 40) % 6;
		t = (int)(seed >> 48) % 6;
		if (live[s] != 1)	/* gone, or read-only */
			s = 0;
		snprintf(path, sizeof(path), "%s/f%d", subs[s],
			 (int)(seed >> 20) % 8);
		if (op < 4) {
			CHECK_OK(put(e.fs, path, (seed >> 8) % 300000,
				     1 + (seed >> 24) % 60000, step));
		} else if (op == 4 && live[t] == 1) {
			snprintf(other, sizeof(other), "%s/r%d", subs[t], step);
			if (fs_lookup(e.fs, path, 0, &ino) == 0)
				CHECK_OK(reflink(e.fs, path, other, 0, 0));
		} else if (op == 5 && t >= 1 && t <= 2 && !live[t]) {
			CHECK_OK(fs_subvol_create(e.fs, subs[t]));
			live[t] = 1;
		} else if (op == 6 && t >= 3 && !live[t]) {
			CHECK_OK(fs_subvol_snapshot(e.fs, subs[s][0] ?
						    subs[s] : "/", subs[t],
						    seed & 1 ? FS_SNAP_RDONLY
							     : 0));
			live[t] = seed & 1 ? 2 : 1;
		} else if (op == 7 && t >= 1 && live[t]) {
			CHECK_OK(fs_subvol_delete(e.fs, subs[t], 0));
			live[t] = 0;
		} else if (op == 8) {
			ret = fs_unlink(e.fs, path);
			CHECK(ret == 0 || ret == -ENOENT);
		} else {
			snprintf(other, sizeof(other), "%s/m%d", subs[s], step);
			CHECK_OK(many_files(e.fs, other, 40, step));
		}
		if (step % 3 == 2) {
			ret = sync_compare(e.fs);
			if (ret)
				printf("# step %d seed %llu\n", step,
				       (unsigned long long)test_seed());
			CHECK_OK(ret);
		}
	}
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}
