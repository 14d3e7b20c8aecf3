/*
 * Quota group commands: quota enable and disable, qgroup create, destroy,
 * assign, remove, limit, show (fs_qgroup_list), status and rescan. Each
 * change of configuration is one change (wctx_begin: ns_lock for write)
 * that updates the quota tree and the table together (qgroup.c); those
 * that leave counts to recompute (enable, assign, remove, rescan) ask
 * for a rescan, which begins at the commit they make and goes on in its
 * task (qgroup_rescan.c).
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "cleaner.h"
#include "extent_tree.h"
#include "fs_info.h"
#include "qgroup.h"
#include "tree_check.h"
#include "write_common.h"

/* The quota tree's root item, for a new tree. */
static void quota_root_item(struct trans *t, u8 *item)
{
	struct fs_info *fs = t->fs;

	memset(item, 0, sizeof(struct d_root_item));
	D_SET64(struct d_inode_item, item, generation, 1);
	D_SET64(struct d_inode_item, item, size, 3);
	D_SET32(struct d_inode_item, item, nlink, 1);
	D_SET64(struct d_inode_item, item, nbytes, fs->nodesize);
	D_SET32(struct d_inode_item, item, mode, 040755);
	D_SET64(struct d_root_item, item, bytenr, fs->quota_root.bytenr);
	D_SET64(struct d_root_item, item, generation, t->transid);
	D_SET64(struct d_root_item, item, generation_v2, t->transid);
	D_SET32(struct d_root_item, item, refs, 1);
	D_SET64(struct d_root_item, item, bytes_used, fs->nodesize);
}

/* Give every live subvolume (and 5) its level-0 qgroup. */
static int create_subvol_groups(struct trans *t)
{
	struct key k = { BTRFS_FIRST_FREE_OBJECTID, BTRFS_ROOT_ITEM_KEY, 0 };
	struct ctree_path p;
	int ret = qgroup_create(t, BTRFS_FS_TREE_OBJECTID);

	ctree_path_init(&p);
	while (ret == 0) {
		u64 id;
		u32 refs, size;

		ret = ctree_search_ge(&t->fs->tree_root, &k, &p);
		if (ret)
			break;
		ctree_item_key(&p, &k);
		id = k.objectid;
		refs = k.type == BTRFS_ROOT_ITEM_KEY ?
		       D_GET32(struct d_root_item, ctree_item_ptr(&p, &size),
			       refs) : 0;
		ctree_path_release(&p);
		if (!tree_check_is_subvol_tree(id))
			break;
		if (refs)
			ret = qgroup_create(t, id);
		k.objectid = id + 1;
		k.type = BTRFS_ROOT_ITEM_KEY;
		k.offset = 0;
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : 0;
}

/* Make the quota tree with its status and the subvolumes' qgroups. */
static int enable_locked(struct trans *t)
{
	struct fs_info *fs = t->fs;
	struct key k = { BTRFS_QUOTA_TREE_OBJECTID, BTRFS_ROOT_ITEM_KEY, 0 };
	u8 item[sizeof(struct d_root_item)];
	int ret;

	fs->qgroups = qgroup_table_new();
	if (!fs->qgroups)
		return -ENOMEM;
	ctree_root_init(&fs->quota_root, fs, BTRFS_QUOTA_TREE_OBJECTID,
			0, 0, 0);
	ret = ctree_create_empty(t, &fs->quota_root);
	if (ret)
		return ret;
	quota_root_item(t, item);
	ret = ctree_insert_item(t, &fs->tree_root, &k, item, sizeof(item));
	if (ret == 0)
		ret = create_subvol_groups(t);
	fs->qgroups->status_flags = BTRFS_QGROUP_STATUS_FLAG_ON;
	fs->qgroups->rescan = 1;
	if (ret == 0)
		ret = qgroup_put_status(t, fs->qgroups->status_flags, 0);
	return ret;
}

/*
 * Turn quota groups on (btrfs quota enable): the quota tree, a qgroup
 * per subvolume, counted exactly by the commit this call makes. Already
 * on: nothing to do. Returns 0, -EROFS or <0.
 */
int fs_quota_enable(struct fs_info *fs)
{
	struct wctx w;
	int ret = wctx_begin(fs, &w, 0);

	if (ret)
		return ret;
	if (fs->qgroups) {
		wctx_end(&w);
		return 0;
	}
	ret = enable_locked(w.t);
	if (ret) {
		trans_abort(w.t, ret);
		wctx_end(&w);
		return ret;
	}
	ret = wctx_end_commit(&w);
	return ret ? ret : qgroup_rescan_start(fs);
}

/* Delete every item of the quota tree, then its last leaf and root
 * item (quota disable). */
static int drop_quota_tree(struct trans *t)
{
	struct fs_info *fs = t->fs;
	struct key k = { BTRFS_QUOTA_TREE_OBJECTID, BTRFS_ROOT_ITEM_KEY, 0 };
	struct tree_block *b;
	struct ctree_path p;
	int ret;

	for (;;) {
		struct key first = { 0, 0, 0 };

		ctree_path_init(&p);
		ret = ctree_search_ge(&fs->quota_root, &first, &p);
		if (ret == 0)
			ctree_item_key(&p, &first);
		ctree_path_release(&p);
		if (ret)
			break;
		ret = qgroup_del_item(t, &first);
		if (ret)
			return ret;
	}
	if (ret < 0)
		return ret;
	ret = ctree_read_root(&fs->quota_root, &b);
	if (ret)
		return ret;
	ret = extent_free_tree_block(t, &fs->quota_root, b, 1);
	tree_block_put(b);
	if (ret == 0)
		ret = cleaner_del_root_tree_item(t, &k);
	if (ret == 0) {
		spin_lock(&fs->quota_root.lock);
		fs->quota_root.bytenr = 0;
		fs->quota_root.dirty = 0;
		spin_unlock(&fs->quota_root.lock);
	}
	return ret;
}

/*
 * Turn quota groups off (btrfs quota disable): the quota tree goes.
 * Returns 0 (also when they were off), -EROFS or <0.
 */
int fs_quota_disable(struct fs_info *fs)
{
	struct wctx w;
	int ret = wctx_begin(fs, &w, WCTX_FREES);

	if (ret)
		return ret;
	if (!fs->qgroups) {
		wctx_end(&w);
		return 0;
	}
	ret = drop_quota_tree(w.t);
	if (ret) {
		trans_abort(w.t, ret);
		wctx_end(&w);
		return ret;
	}
	qgroup_table_free(fs);
	return wctx_end_commit(&w);
}

/* Begin a change of the qgroup configuration: -ENOTCONN when quotas
 * are off (Linux's answer). */
static int config_begin(struct fs_info *fs, struct wctx *w)
{
	int ret = wctx_begin(fs, w, 0);

	if (ret == 0 && !fs->qgroups) {
		wctx_end(w);
		ret = -ENOTCONN;
	}
	return ret;
}

/* Is id a parent of g? */
static int is_parent(const struct qgroup *g, u64 id)
{
	u32 j;

	for (j = 0; j < g->nparents; j++)
		if (g->parents[j] == id)
			return 1;
	return 0;
}

/* Does any qgroup have id as parent? */
static int has_members(struct qgroup_table *q, u64 id)
{
	u32 i;

	for (i = 0; i < q->n; i++)
		if (is_parent(&q->v[i], id))
			return 1;
	return 0;
}

/*
 * Make qgroup id (btrfs qgroup create). Returns 0, -EEXIST, -ENOTCONN
 * (quotas off), -EROFS or <0.
 */
int fs_qgroup_create(struct fs_info *fs, uint64_t id)
{
	struct wctx w;
	int ret = config_begin(fs, &w);

	if (ret)
		return ret;
	ret = qgroup_create(w.t, id);
	if (ret && ret != -EEXIST)
		trans_abort(w.t, ret);
	wctx_end(&w);
	return ret;
}

/*
 * Remove qgroup id (btrfs qgroup destroy): refused while it has members
 * (-EBUSY, as Linux) or is a live subvolume's (-EBUSY); its own
 * memberships go with it. Returns 0, -ENOENT, -EBUSY, -ENOTCONN or <0.
 */
int fs_qgroup_destroy(struct fs_info *fs, uint64_t id)
{
	struct qgroup_table *q;
	struct qgroup *g;
	struct wctx w;
	int ret = config_begin(fs, &w);

	if (ret)
		return ret;
	q = fs->qgroups;
	g = qgroup_find(q, id);
	if (!g)
		ret = -ENOENT;
	else if (has_members(q, id))
		ret = -EBUSY;
	else if (id >> BTRFS_QGROUP_LEVEL_SHIFT == 0 &&
		 qgroup_subvol_exists(fs, id))
		ret = -EBUSY;
	while (ret == 0 && g->nparents) {
		struct key a = { id, BTRFS_QGROUP_RELATION_KEY, g->parents[0] };
		struct key b = { g->parents[0], BTRFS_QGROUP_RELATION_KEY, id };

		ret = qgroup_del_item(w.t, &a);
		if (ret == 0)
			ret = qgroup_del_item(w.t, &b);
		qgroup_parent_del(g, a.offset);
	}
	if (ret == 0) {
		struct key ki = { 0, BTRFS_QGROUP_INFO_KEY, id };
		struct key kl = { 0, BTRFS_QGROUP_LIMIT_KEY, id };

		ret = qgroup_del_item(w.t, &ki);
		if (ret == 0)
			ret = qgroup_del_item(w.t, &kl);
		if (ret == 0)
			qgroup_table_del(q, id);
		if (ret)
			trans_abort(w.t, ret);
	}
	wctx_end(&w);
	return ret;
}

/* Is anc an ancestor of (or) id, through the memberships? */
static int reaches(struct qgroup_table *q, u64 id, u64 anc, int depth)
{
	struct qgroup *g = qgroup_find(q, id);
	u32 i;

	if (id == anc)
		return 1;
	if (!g || depth > 64)
		return 0;
	for (i = 0; i < g->nparents; i++)
		if (reaches(q, g->parents[i], anc, depth + 1))
			return 1;
	return 0;
}

/*
 * Make src a member of dst (assign) or not (remove): dst's level must
 * be above src's. The counts of every group are then counted anew at
 * the commit this call makes. Returns 0, -EINVAL, -ENOENT, -EEXIST
 * (assign: already), -ENOTCONN or <0.
 */
int fs_qgroup_relation(struct fs_info *fs, uint64_t src, uint64_t dst,
		       int assign)
{
	struct qgroup_table *q;
	struct qgroup *g;
	struct key a = { src, BTRFS_QGROUP_RELATION_KEY, dst };
	struct key b = { dst, BTRFS_QGROUP_RELATION_KEY, src };
	struct wctx w;
	u32 i;
	int ret = config_begin(fs, &w);

	if (ret)
		return ret;
	q = fs->qgroups;
	g = qgroup_find(q, src);
	for (i = 0; g && i < g->nparents && g->parents[i] != dst; i++)
		;
	if (src >> BTRFS_QGROUP_LEVEL_SHIFT >= dst >> BTRFS_QGROUP_LEVEL_SHIFT)
		ret = -EINVAL;
	else if (!g || !qgroup_find(q, dst))
		ret = -ENOENT;
	else if (assign && i < g->nparents)
		ret = -EEXIST;
	else if (!assign && i == g->nparents)
		ret = -ENOENT;
	else if (assign && reaches(q, dst, src, 0))
		ret = -EINVAL;	/* a loop */
	if (ret) {
		wctx_end(&w);
		return ret;
	}
	if (assign) {
		ret = qgroup_relation_add(w.t, src, dst);
	} else {
		ret = qgroup_del_item(w.t, &a);
		if (ret == 0)
			ret = qgroup_del_item(w.t, &b);
		qgroup_parent_del(g, dst);
	}
	if (ret) {
		trans_abort(w.t, ret);
		wctx_end(&w);
		return ret;
	}
	q->rescan = 1;
	ret = wctx_end_commit(&w);
	return ret ? ret : qgroup_rescan_start(fs);
}

/*
 * Set qgroup id's limits (btrfs qgroup limit): which is
 * BTRFS_QGROUP_LIMIT_MAX_RFER or _MAX_EXCL, bytes 0 for none. Returns 0,
 * -ENOENT, -ENOTCONN or <0.
 */
int fs_qgroup_limit(struct fs_info *fs, uint64_t id, uint64_t which,
		    uint64_t bytes)
{
	struct qgroup *g;
	struct wctx w;
	int ret = config_begin(fs, &w);

	if (ret)
		return ret;
	g = qgroup_find(fs->qgroups, id);
	if (!g) {
		wctx_end(&w);
		return -ENOENT;
	}
	if (bytes)
		g->lim_flags |= which;
	else
		g->lim_flags &= ~which;
	if (which == BTRFS_QGROUP_LIMIT_MAX_RFER)
		g->max_rfer = bytes;
	else
		g->max_excl = bytes;
	ret = qgroup_put_limit(w.t, g);
	if (ret)
		trans_abort(w.t, ret);
	wctx_end(&w);
	return ret;
}

/*
 * Call fn for every qgroup, in id order, with its parents and members
 * (qgroup show). Returns 0, -ENOTCONN when quotas are off, or what fn
 * returned (1 stops quietly).
 */
int fs_qgroup_list(struct fs_info *fs, fs_qgroup_fn fn, void *ctx)
{
	struct qgroup_table *q;
	struct fs_qgroup *e = kzalloc(sizeof(*e));
	u32 i, j;
	int ret = e ? 0 : -ENOMEM;

	if (ret)
		return ret;
	down_read(&fs->ns_lock);
	down_read(&fs->trans_sem);
	q = fs->qgroups;
	if (!q)
		ret = -ENOTCONN;
	for (i = 0; q && i < q->n && ret == 0; i++) {
		const struct qgroup *g = &q->v[i];

		memset(e, 0, sizeof(*e));
		e->id = g->id;
		e->rfer = g->rfer;
		e->excl = g->excl;
		e->lim_flags = g->lim_flags;
		e->max_rfer = g->max_rfer;
		e->max_excl = g->max_excl;
		for (j = 0; j < g->nparents &&
			    e->nparents < FS_QGROUP_REL_MAX; j++)
			e->parents[e->nparents++] = g->parents[j];
		for (j = 0; j < q->n && e->nchildren < FS_QGROUP_REL_MAX; j++)
			if (is_parent(&q->v[j], g->id))
				e->children[e->nchildren++] = q->v[j].id;
		e->subvol_exists = g->id >> BTRFS_QGROUP_LEVEL_SHIFT == 0 &&
				   qgroup_subvol_exists(fs, g->id);
		ret = fn(ctx, e);
	}
	up_read(&fs->trans_sem);
	up_read(&fs->ns_lock);
	kfree(e);
	return ret == 1 ? 0 : ret;
}

/* Is quota accounting on? *flags gets the status flags (RESCAN also
 * when a rescan is asked for but not begun), *progress where a rescan
 * is. */
int fs_quota_status(struct fs_info *fs, uint64_t *flags,
		    uint64_t *progress)
{
	struct qgroup_table *q;

	down_read(&fs->trans_sem);
	q = fs->qgroups;
	*flags = !q ? 0 : q->status_flags |
		 (q->rescan ? BTRFS_QGROUP_STATUS_FLAG_RESCAN : 0);
	*progress = q ? q->rescan_progress : 0;
	up_read(&fs->trans_sem);
	return q != NULL;
}

/*
 * Count every qgroup anew (btrfs quota rescan): the rescan begins at the
 * commit this call makes, and its task goes on in the background
 * (fs_quota_rescan_wait waits for it). Returns 0, -ENOTCONN,
 * -EINPROGRESS (one runs already, as Linux) or <0.
 */
int fs_quota_rescan(struct fs_info *fs)
{
	struct wctx w;
	int ret = config_begin(fs, &w);

	if (ret)
		return ret;
	if (qgroup_rescan_busy(fs->qgroups)) {
		wctx_end(&w);
		return -EINPROGRESS;
	}
	fs->qgroups->rescan = 1;
	ret = wctx_end_commit(&w);
	return ret ? ret : qgroup_rescan_start(fs);
}
