/*
 * Quota group limits: a change that would take a qgroup (the subvolume's
 * level-0 group or any group above it) past its max_rfer or max_excl
 * fails with -EDQUOT before it changes anything, as Linux's.
 *
 * The counts (rfer, excl) move only at the commit, so a change first
 * reserves what it may add: each group's room is its limit less its
 * committed count less what the running transaction's changes reserved
 * (rsv_rfer, rsv_excl). Every change reserves inside its change
 * (trans_sem held for read), so the commit (trans_sem for write) counts
 * all that the reservations stood for, and then drops them all
 * (qgroup_reserve_clear). A change that reserved more than it used
 * gives the rest back (qgroup_release).
 *
 * What reserves (see the callers): a data write its sector-aligned span
 * plus one tree block of metadata, as Linux's (which reserves one node
 * per extent being written: on Linux's loop mount, a 1 MiB limit over a
 * 16 KiB subvolume takes 1015808 bytes of a 2 MiB write, and ghee the
 * same); a reflink into another subvolume the disk bytes of the extents
 * it shares (referenced only: a shared extent is never exclusive) plus a
 * block; a snapshot or a new subvolume three blocks of its parent
 * directory's subvolume (Linux's figure). A receive reserves through
 * these: its subvolume or snapshot, then its writes and clones, so it
 * stops where they do. A new name (create, mkdir, mknod, link) five
 * blocks, a symlink six (Linux's figures, measured on its loop mount);
 * like a write, a name refused once commits and retries, the commit
 * dropping the reservations of what it counted. Other metadata
 * (renames, attributes) reserves nothing and is counted exactly at the
 * commit.
 * Freeing (unlink, truncate, punching, deleting subvolumes) never
 * reserves, so it never fails with -EDQUOT; what it frees lifts the
 * limit from its commit on (a write refused once commits and retries,
 * as Linux's does).
 *
 * Locking: the table's groups, relations and limits do not change under
 * a change (they change under ns_lock for write or in the commit: see
 * struct qgroup_table); the reservations are guarded by the table's
 * rsv_lock, a leaf.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>

#include "fs_info.h"
#include "qgroup.h"

/* The groups a change of subvolume subvol counts in: its level-0 group
 * first and every group above it, once each. *out is allocated (NULL
 * and 0 when subvol has no group). The table must not change meanwhile
 * (see struct qgroup_table). */
int qgroup_groups_of(struct qgroup_table *q, u64 subvol,
		     struct qgroup ***out, u32 *n)
{
	struct qgroup **v;
	u32 i, j, k;

	*out = NULL;
	*n = 0;
	if (!qgroup_find(q, subvol))
		return 0;
	v = kmalloc(q->n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[(*n)++] = qgroup_find(q, subvol);
	for (i = 0; i < *n; i++)
		for (j = 0; j < v[i]->nparents; j++) {
			struct qgroup *p = qgroup_find(q, v[i]->parents[j]);

			for (k = 0; p && k < *n && v[k] != p; k++)
				;
			if (p && k == *n)
				v[(*n)++] = p;
		}
	*out = v;
	return 0;
}

/* What group g can still take, with its reservations, by its limits
 * (excl: its exclusive limit too). */
static u64 room_of(const struct qgroup *g, int excl)
{
	u64 room = (u64)-1, used;

	if (g->lim_flags & BTRFS_QGROUP_LIMIT_MAX_RFER) {
		used = g->rfer + g->rsv_rfer;
		room = used >= g->max_rfer ? 0 : g->max_rfer - used;
	}
	if (excl && (g->lim_flags & BTRFS_QGROUP_LIMIT_MAX_EXCL)) {
		used = g->excl + g->rsv_excl;
		used = used >= g->max_excl ? 0 : g->max_excl - used;
		room = used < room ? used : room;
	}
	return room;
}

/* Reserve min(want, room) for subvol's groups when that is at least
 * min; *got what was reserved (want when no limit applies). Returns 0,
 * -EDQUOT or -ENOMEM. */
static int reserve(struct fs_info *fs, u64 subvol, u64 want, u64 min,
		   unsigned flags, u64 *got)
{
	struct qgroup_table *q = fs->qgroups;
	int excl = !(flags & QGROUP_RSV_RFER_ONLY);
	struct qgroup **v;
	u64 room = want;
	u32 i, n;
	int ret;

	*got = want;
	if (!q || !want)
		return 0;
	ret = qgroup_groups_of(q, subvol, &v, &n);
	if (ret || !n)
		return ret;
	spin_lock(&q->rsv_lock);
	for (i = 0; i < n; i++) {
		u64 r = room_of(v[i], excl);

		room = r < room ? r : room;
	}
	*got = room;
	if (room < min) {
		ret = -EDQUOT;
		*got = 0;
	} else {
		for (i = 0; i < n; i++) {
			v[i]->rsv_rfer += room;
			if (excl)
				v[i]->rsv_excl += room;
		}
	}
	spin_unlock(&q->rsv_lock);
	kfree(v);
	return ret;
}

/*
 * Reserve bytes against the limits of subvolume subvol's groups, all or
 * nothing (flags: QGROUP_RSV_RFER_ONLY). Caller is in a change. Returns
 * 0 (also with quotas off), -EDQUOT or -ENOMEM.
 */
int qgroup_reserve(struct fs_info *fs, u64 subvol, u64 bytes,
		   unsigned flags)
{
	u64 got;

	return reserve(fs, subvol, bytes, bytes, flags, &got);
}

/*
 * Reserve as much of want as the limits of subvol's groups leave, when
 * that is at least min (a write goes as far as it may); *got what was
 * reserved (want when no limit applies or quotas are off). Caller is in
 * a change. Returns 0, -EDQUOT or -ENOMEM.
 */
int qgroup_reserve_upto(struct fs_info *fs, u64 subvol, u64 want, u64 min,
			u64 *got)
{
	return reserve(fs, subvol, want, min, 0, got);
}

/* Give back bytes reserved for subvol and not used (in the change that
 * reserved them; flags as reserved). */
void qgroup_release(struct fs_info *fs, u64 subvol, u64 bytes,
		    unsigned flags)
{
	struct qgroup_table *q = fs->qgroups;
	struct qgroup **v;
	u32 i, n;

	if (!q || !bytes || qgroup_groups_of(q, subvol, &v, &n))
		return;	/* no memory: kept until the commit drops it */
	spin_lock(&q->rsv_lock);
	for (i = 0; i < n; i++) {
		v[i]->rsv_rfer -= bytes < v[i]->rsv_rfer ? bytes :
				  v[i]->rsv_rfer;
		if (!(flags & QGROUP_RSV_RFER_ONLY))
			v[i]->rsv_excl -= bytes < v[i]->rsv_excl ? bytes :
					  v[i]->rsv_excl;
	}
	spin_unlock(&q->rsv_lock);
	kfree(v);
}

/* The commit counted every change reserved for: drop the reservations
 * (trans_sem held for write: no change reserves meanwhile). */
void qgroup_reserve_clear(struct qgroup_table *q)
{
	u32 i;

	for (i = 0; i < q->n; i++)
		q->v[i].rsv_rfer = q->v[i].rsv_excl = 0;
}
