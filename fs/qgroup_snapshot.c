/*
 * A snapshot's quota counts without a walk (reference/extent-refs-
 * delayed-refs-qgroups.txt, "Qgroups" 3: a snapshot converts all of the
 * source's referenced space to shared and adds it to the snapshot's
 * referenced count).
 *
 * The snapshot's root block N is a copy of the source's root block S
 * and shares everything below it. When S is the source's last committed
 * root (nothing changed the source since) and the committed counts are
 * exact (no rescan asked for or running), the state right after the
 * snapshot, B, is the last commit plus a snapshot reaching everything
 * below S and N; so, exactly, with n the node size:
 *  - the source's level-0 group keeps its referenced bytes and has only
 *    S exclusive: excl = n;
 *  - the snapshot's refers to what the source does, and has only N:
 *    rfer = the source's rfer, excl = n;
 *  - a group above both gains N: rfer and excl + n (what was exclusive
 *    to it stays so: the only new reacher is its own);
 *  - the rest do not change, when the groups above the snapshot are the
 *    groups above the source. Otherwise (a -i naming other groups, a
 *    source in groups the snapshot does not join) some group's counts
 *    depend on what the source shares with others, and the commit
 *    counts them with the walk instead (qgroup_account.c).
 * The commit then counts every extent whose references changed from B
 * rather than from the last commit: its old set of roots, resolved at
 * the commit roots, gains the snapshot where it held the source (except
 * S) and at N (qgroup_account.c, old_roots). The references the copy
 * of S gave N's children are B's already, and the commit does not look
 * at them (snapshot_copy_refs): a snapshot costs a few counts instead of
 * a walk of the source's tree.
 *
 * One snapshot per commit is counted so (fs_subvol_snapshot commits
 * each); another in the same commit takes the walk.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>

#include "fs_info.h"
#include "qgroup.h"
#include "transaction.h"

/* Are the groups above a (v[1..na)) those above b (w[1..nb))? */
static int same_above(struct qgroup **v, u32 na, struct qgroup **w, u32 nb)
{
	u32 i, j;

	if (na != nb)
		return 0;
	for (i = 1; i < na; i++) {
		for (j = 1; j < nb && w[j] != v[i]; j++)
			;
		if (j == nb)
			return 0;
	}
	return 1;
}

/* Can the snapshot id of src be counted without a walk? */
static int quick_ok(struct qgroup_table *q, u64 src, u64 id,
		    const struct ctree_root *src_root)
{
	struct qgroup **v = NULL, **w = NULL;
	u32 na = 0, nb = 0;
	int ok = !q->has_snap && !qgroup_rescan_busy(q) &&
		 !(q->status_flags & BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT) &&
		 src_root->commit_bytenr &&
		 src_root->bytenr == src_root->commit_bytenr;

	if (ok && (qgroup_groups_of(q, src, &v, &na) ||
		   qgroup_groups_of(q, id, &w, &nb)))
		ok = 0;
	ok = ok && na && nb && same_above(v, na, w, nb);
	kfree(v);
	kfree(w);
	return ok;
}

/* Set the counts of state B (see the top). */
static int quick_counts(struct qgroup_table *q, u64 src, u64 id, u64 n)
{
	struct qgroup **v;
	struct qgroup *s, *d;
	u32 i, nv;
	int ret = qgroup_groups_of(q, id, &v, &nv);

	if (ret)
		return ret;
	s = qgroup_find(q, src);
	d = v[0];
	d->rfer = s->rfer;
	d->excl = n;
	s->excl = n;
	s->dirty = d->dirty = 1;
	for (i = 1; i < nv; i++) {
		v[i]->rfer += n;
		v[i]->excl += n;
		v[i]->dirty = 1;
	}
	kfree(v);
	return 0;
}

/*
 * Give snapshot id of subvolume src its qgroup, a member of qi's groups
 * (the commit making it, after copying src_root's root block into
 * snap_root), and its counts without a walk when they follow from the
 * source's (see the top); else the commit walks what it shares. Errors
 * abort.
 */
int qgroup_snapshot_created(struct trans *t, u64 src, u64 id,
			    const struct fs_qgroup_inherit *qi,
			    const struct ctree_root *src_root, u64 snap_root)
{
	struct qgroup_table *q = t->fs->qgroups;
	int ret = qgroup_subvol_created(t, id, qi);

	if (ret || !q || !quick_ok(q, src, id, src_root))
		return ret;
	ret = quick_counts(q, src, id, t->fs->nodesize);
	if (ret) {
		trans_abort(t, ret);
		return ret;
	}
	q->snap.src = src;
	q->snap.id = id;
	q->snap.src_root = src_root->bytenr;
	q->snap.snap_root = snap_root;
	q->has_snap = 1;
	return 0;
}
