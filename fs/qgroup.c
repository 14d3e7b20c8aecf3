/*
 * Quota groups: the quota tree (tree 8) and its in-memory table.
 *
 * On disk, as Linux: (0, QGROUP_STATUS, 0) says quotas are on, and
 * whether the counts are exact; per qgroup (0, QGROUP_INFO, id) holds
 * its referenced and exclusive bytes and (0, QGROUP_LIMIT, id) its
 * limits; a membership is two empty items (child, QGROUP_RELATION,
 * parent) and (parent, QGROUP_RELATION, child). A level-0 qgroup "0/N"
 * counts subvolume N; a higher level groups qgroups of lower levels.
 *
 * In memory the table (struct qgroup_table, fs->qgroups) is loaded at
 * mount and is what accounting changes; the commands change the tree
 * and the table together, in one change. The counts reach the tree at
 * each commit (qgroup_write_all, after qgroup_account_commit).
 *
 * A change of configuration that leaves counts to recompute (enable,
 * assign, remove) asks for a rescan (table->rescan, qgroup_rescan.c),
 * which begins at its commit.
 *
 * Locking: see struct qgroup_table. The commands run as changes under
 * ns_lock for write (wctx_begin); readers (fs_qgroup_list) hold ns_lock
 * and trans_sem for read, so neither a command nor a commit runs.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "fs_info.h"
#include "qgroup.h"
#include "tree_check.h"
#include "write_common.h"

#define QI ((u32)sizeof(struct d_qgroup_info_item))
#define QL ((u32)sizeof(struct d_qgroup_limit_item))
#define QS ((u32)sizeof(struct d_qgroup_status_item))

/* The qgroup id, or NULL. Binary search of the sorted table. */
struct qgroup *qgroup_find(struct qgroup_table *q, u64 id)
{
	u32 lo = 0, hi = q->n;

	while (lo < hi) {
		u32 mid = (lo + hi) / 2;

		if (q->v[mid].id == id)
			return &q->v[mid];
		if (q->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* An empty table (quotas turned on, or a mount finding them on). */
struct qgroup_table *qgroup_table_new(void)
{
	struct qgroup_table *q = kzalloc(sizeof(*q));

	if (q) {
		spin_init(&q->rsv_lock, "qgroup_rsv");
		u64map_init(&q->single_leaves, 1);
		rootsets_init(&q->sets);
	}
	return q;
}

/* Add qgroup id to the table (zero counts, no limits); *out it. */
static int table_add(struct qgroup_table *q, u64 id, struct qgroup **out)
{
	struct qgroup *g = qgroup_find(q, id);
	u32 i;

	if (g) {
		*out = g;
		return 0;
	}
	if (q->n == q->cap) {
		u32 cap = q->cap ? q->cap * 2 : 16;
		struct qgroup *v = kzalloc(cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		if (q->n)
			memcpy(v, q->v, q->n * sizeof(*v));
		kfree(q->v);
		q->v = v;
		q->cap = cap;
	}
	for (i = q->n; i > 0 && q->v[i - 1].id > id; i--)
		q->v[i] = q->v[i - 1];
	memset(&q->v[i], 0, sizeof(q->v[i]));
	q->v[i].id = id;
	q->n++;
	*out = &q->v[i];
	return 0;
}

/* Take id out of the table (its parents list with it). */
void qgroup_table_del(struct qgroup_table *q, u64 id)
{
	struct qgroup *g = qgroup_find(q, id);
	u32 i;

	if (!g)
		return;
	kfree(g->parents);
	for (i = (u32)(g - q->v); i + 1 < q->n; i++)
		q->v[i] = q->v[i + 1];
	q->n--;
}

/* Make parent a parent of g (once). */
static int parent_add(struct qgroup *g, u64 parent)
{
	u64 *v;
	u32 i;

	for (i = 0; i < g->nparents; i++)
		if (g->parents[i] == parent)
			return 0;
	v = kmalloc((g->nparents + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (g->nparents)
		memcpy(v, g->parents, g->nparents * sizeof(*v));
	v[g->nparents++] = parent;
	kfree(g->parents);
	g->parents = v;
	return 0;
}

/* Forget that parent is a parent of g. */
void qgroup_parent_del(struct qgroup *g, u64 parent)
{
	u32 i;

	for (i = 0; i < g->nparents; i++)
		if (g->parents[i] == parent) {
			g->parents[i] = g->parents[--g->nparents];
			return;
		}
}

static void table_destroy(struct qgroup_table *q)
{
	u32 i;

	for (i = 0; i < q->n; i++)
		kfree(q->v[i].parents);
	kfree(q->v);
	kfree(q->ext);
	u64map_free(&q->single_leaves);
	backref_cache_free(q->carry);
	rootsets_reset(&q->sets);
	kfree(q);
}

/* Free fs->qgroups (umount, disable). */
void qgroup_table_free(struct fs_info *fs)
{
	if (fs->qgroups)
		table_destroy(fs->qgroups);
	fs->qgroups = NULL;
}

/* Fill the table from one quota-tree item. */
static int load_item(struct qgroup_table *q, const struct key *k,
		     const u8 *d, u32 size)
{
	struct qgroup *g;
	int ret = 0;

	switch (k->type) {
	case BTRFS_QGROUP_STATUS_KEY:
		if (size < QS)
			return -EUCLEAN;
		q->status_flags = D_GET64(struct d_qgroup_status_item, d,
					  flags);
		q->rescan_progress = D_GET64(struct d_qgroup_status_item, d,
					     rescan);
		break;
	case BTRFS_QGROUP_INFO_KEY:
		if (size < QI)
			return -EUCLEAN;
		ret = table_add(q, k->offset, &g);
		if (ret == 0) {
			g->rfer = D_GET64(struct d_qgroup_info_item, d, rfer);
			g->excl = D_GET64(struct d_qgroup_info_item, d, excl);
		}
		break;
	case BTRFS_QGROUP_LIMIT_KEY:
		if (size < QL)
			return -EUCLEAN;
		ret = table_add(q, k->offset, &g);
		if (ret == 0) {
			g->lim_flags = D_GET64(struct d_qgroup_limit_item, d,
					       flags);
			g->max_rfer = D_GET64(struct d_qgroup_limit_item, d,
					      max_rfer);
			g->max_excl = D_GET64(struct d_qgroup_limit_item, d,
					      max_excl);
		}
		break;
	case BTRFS_QGROUP_RELATION_KEY:
		/* Each membership is there twice; keep the child's. */
		if (k->objectid < k->offset) {
			ret = table_add(q, k->objectid, &g);
			if (ret == 0)
				ret = parent_add(g, k->offset);
		}
		break;
	}
	return ret;
}

/*
 * Load the quota tree, when the filesystem has one, into fs->qgroups
 * (mount). Counts Linux left inconsistent or half rescanned are counted
 * anew at the first commit. Returns 0 or <0.
 */
int qgroup_load(struct fs_info *fs)
{
	struct qgroup_table *q;
	struct key k = { 0, 0, 0 };
	struct ctree_path p;
	int ret;

	if (!fs->quota_root.bytenr)
		return 0;
	q = qgroup_table_new();
	if (!q)
		return -ENOMEM;
	ctree_path_init(&p);
	for (ret = ctree_search_ge(&fs->quota_root, &k, &p); ret == 0;
	     ret = ctree_next_item(&p)) {
		const u8 *d;
		u32 size;

		ctree_item_key(&p, &k);
		d = ctree_item_ptr(&p, &size);
		ret = load_item(q, &k, d, size);
		if (ret)
			break;
	}
	ctree_path_release(&p);
	if (ret < 0) {
		pr_err("quota tree: item (%llu %u %llu) is bad: %d",
		       (unsigned long long)k.objectid, k.type,
		       (unsigned long long)k.offset, ret);
		table_destroy(q);
		return ret;
	}
	/* Inconsistent counts are counted anew; a rescan in progress
	 * resumes where its progress says. */
	if ((q->status_flags & BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT) &&
	    !(q->status_flags & BTRFS_QGROUP_STATUS_FLAG_RESCAN))
		q->rescan = 1;
	fs->qgroups = q;
	return 0;
}

/* Does subvolume id exist and live (root item refs > 0)? */
int qgroup_subvol_exists(struct fs_info *fs, u64 id)
{
	u8 item[sizeof(struct d_root_item)];
	u32 size;

	return subvol_read_root_item(fs, id, item, &size) == 0 &&
	       D_GET32(struct d_root_item, item, refs) > 0;
}

/* Insert or overwrite item k of the quota tree with size bytes of d. */
static int put_item(struct trans *t, const struct key *k, const u8 *d,
		    u32 size)
{
	struct ctree_root *root = &t->fs->quota_root;
	struct ctree_path p;
	u32 have;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(t, root, k, &p, (int)(sizeof(struct d_item) +
						      size));
	if (ret == 0) {
		u8 *w = ctree_item_ptr_w(&p, &have);

		memcpy(w, d, have < size ? have : size);
	}
	ctree_path_release(&p);
	if (ret == 1)
		ret = ctree_insert_item(t, root, k, d, size);
	return ret;
}

/* Delete item k of the quota tree; absent is fine. */
int qgroup_del_item(struct trans *t, const struct key *k)
{
	struct ctree_root *root = &t->fs->quota_root;
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(t, root, k, &p, -1);
	if (ret == 0)
		ret = ctree_del_item(t, root, &p);
	ctree_path_release(&p);
	return ret == 1 ? 0 : ret;
}

static int put_info(struct trans *t, const struct qgroup *g)
{
	struct key k = { 0, BTRFS_QGROUP_INFO_KEY, g->id };
	u8 d[QI];

	D_SET64(struct d_qgroup_info_item, d, generation, t->transid);
	D_SET64(struct d_qgroup_info_item, d, rfer, g->rfer);
	D_SET64(struct d_qgroup_info_item, d, rfer_cmpr, g->rfer);
	D_SET64(struct d_qgroup_info_item, d, excl, g->excl);
	D_SET64(struct d_qgroup_info_item, d, excl_cmpr, g->excl);
	return put_item(t, &k, d, QI);
}

int qgroup_put_limit(struct trans *t, const struct qgroup *g)
{
	struct key k = { 0, BTRFS_QGROUP_LIMIT_KEY, g->id };
	u8 d[QL];

	memset(d, 0, sizeof(d));
	D_SET64(struct d_qgroup_limit_item, d, flags, g->lim_flags);
	D_SET64(struct d_qgroup_limit_item, d, max_rfer, g->max_rfer);
	D_SET64(struct d_qgroup_limit_item, d, max_excl, g->max_excl);
	return put_item(t, &k, d, QL);
}

int qgroup_put_status(struct trans *t, u64 flags, u64 progress)
{
	struct key k = { 0, BTRFS_QGROUP_STATUS_KEY, 0 };
	u8 d[QS];

	D_SET64(struct d_qgroup_status_item, d, version,
		BTRFS_QGROUP_STATUS_VERSION);
	D_SET64(struct d_qgroup_status_item, d, generation, t->transid);
	D_SET64(struct d_qgroup_status_item, d, flags, flags);
	D_SET64(struct d_qgroup_status_item, d, rescan, progress);
	return put_item(t, &k, d, QS);
}

/*
 * Write the counts of every qgroup they changed for, and the status
 * (the commit, after accounting). Errors abort.
 */
int qgroup_write_all(struct trans *t)
{
	struct qgroup_table *q = t->fs->qgroups;
	u32 i;
	int ret = 0;

	if (!q)
		return 0;
	for (i = 0; i < q->n && ret == 0; i++) {
		if (!q->v[i].dirty)
			continue;
		q->v[i].dirty = 0;
		q->status_dirty = 1;
		ret = put_info(t, &q->v[i]);
	}
	if (ret == 0 && q->status_dirty)
		ret = qgroup_put_status(t, q->status_flags, q->rescan_progress);
	q->status_dirty = 0;
	if (ret)
		trans_abort(t, ret);
	return ret;
}

/* Make qgroup id in the tree and table: info and limit items. */
int qgroup_create(struct trans *t, u64 id)
{
	struct qgroup_table *q = t->fs->qgroups;
	struct qgroup *g;
	int ret;

	if (qgroup_find(q, id))
		return -EEXIST;
	ret = table_add(q, id, &g);
	if (ret)
		return ret;
	ret = put_info(t, g);
	if (ret == 0)
		ret = qgroup_put_limit(t, g);
	return ret;
}

/*
 * Check the groups a new subvolume is to join (-i), before anything
 * changes: each must exist above level 0 (Linux's answers: -ENOENT
 * when one does not, -EINVAL for level 0 or quotas off). Caller holds
 * ns_lock for write.
 */
int qgroup_inherit_check(struct fs_info *fs,
			 const struct fs_qgroup_inherit *qi)
{
	u32 i;

	if (!qi || !qi->n)
		return 0;
	if (!fs->qgroups || qi->n > FS_QGROUP_INHERIT_MAX)
		return -EINVAL;
	for (i = 0; i < qi->n; i++) {
		if (!(qi->ids[i] >> BTRFS_QGROUP_LEVEL_SHIFT))
			return -EINVAL;
		if (!qgroup_find(fs->qgroups, qi->ids[i]))
			return -ENOENT;
	}
	return 0;
}

/* Make id a member of parent: both relation items and the table. */
int qgroup_relation_add(struct trans *t, u64 id, u64 parent)
{
	struct key a = { id, BTRFS_QGROUP_RELATION_KEY, parent };
	struct key b = { parent, BTRFS_QGROUP_RELATION_KEY, id };
	int ret = put_item(t, &a, (const u8 *)"", 0);

	if (ret == 0)
		ret = put_item(t, &b, (const u8 *)"", 0);
	if (ret == 0)
		ret = parent_add(qgroup_find(t->fs->qgroups, id), parent);
	return ret;
}

/*
 * Give new subvolume id its level-0 qgroup, when quotas are on (its
 * making, in a change or the commit), a member of the groups of qi
 * (checked by qgroup_inherit_check; may be NULL). Its counts start at
 * zero: the commit counts what it reaches, in every group it is in.
 * Errors abort.
 */
int qgroup_subvol_created(struct trans *t, u64 id,
			  const struct fs_qgroup_inherit *qi)
{
	u32 i;
	int ret;

	if (!t->fs->qgroups || qgroup_find(t->fs->qgroups, id))
		return 0;
	ret = qgroup_create(t, id);
	for (i = 0; ret == 0 && qi && i < qi->n; i++)
		ret = qgroup_find(t->fs->qgroups, qi->ids[i]) ?
		      qgroup_relation_add(t, id, qi->ids[i]) : -ENOENT;
	if (ret)
		trans_abort(t, ret);
	return ret;
}
