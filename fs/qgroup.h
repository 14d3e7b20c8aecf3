/*
 * Quota groups: the quota tree, the in-memory table of qgroups and their
 * exact accounting at every commit. See qgroup.c (table and tree),
 * qgroup_ops.c (commands), qgroup_account.c (counting) and
 * qgroup_rescan.c (the rescan task).
 */
#ifndef FS_QGROUP_H
#define FS_QGROUP_H

#include <ghee/sync.h>

#include "../lib/u64map.h"
#include "backref.h"
#include "format.h"

struct fs_info;
struct trans;
struct dref_head;

/* One quota group. */
struct qgroup {
	u64 id;			/* level << 48 | number */
	u64 rfer, excl;		/* referenced, exclusive bytes */
	u64 lim_flags;		/* BTRFS_QGROUP_LIMIT_* */
	u64 max_rfer, max_excl;	/* limits, bytes (with their flag) */
	/* Bytes the running transaction's changes reserved against the
	 * limits and the commit has not counted yet [rsv_lock]: data
	 * (both counts) and reflinks (referenced only). */
	u64 rsv_rfer, rsv_excl;
	u64 *parents;		/* ids of the groups it is a member of */
	u32 nparents;
	int dirty;		/* info item to rewrite at the commit */
	/* Accounting scratch (qgroup_account.c, commit only): how many of
	 * the old and new roots reaching the extent being counted it holds,
	 * valid when mark is the table's round; visit: the last root whose
	 * walk up reached it. */
	u32 old_n, new_n;
	u64 mark, visit;
};

/* A snapshot this commit counted without a walk (qgroup_snapshot.c). */
struct qgroup_snap {
	u64 src, id;		/* source and snapshot subvolumes */
	u64 src_root;		/* the source's root block, as committed */
	u64 snap_root;		/* the snapshot's root block */
};

/*
 * The table of a filesystem with quotas on (fs->qgroups). Its set of
 * groups and their relations change in a change holding ns_lock for
 * write (the commands) or in the commit (trans_sem for write: snapshots
 * and accounting, which also changes the counts). Readers hold ns_lock
 * and trans_sem for read.
 */
struct qgroup_table {
	struct qgroup *v;	/* sorted by id */
	u32 n, cap;
	u64 status_flags;	/* BTRFS_QGROUP_STATUS_FLAG_* */
	int rescan;		/* begin a rescan at the next commit */
	/* A rescan in progress (status flag RESCAN): extents from this
	 * bytenr on are not counted yet; each commit counts a batch. */
	u64 rescan_progress;
	u64 rescan_done;	/* extents the rescans counted, for progress */
	u32 rescan_batch;	/* extents per commit; 0: RESCAN_BATCH
				 * (tests make it small) */
	/* Extents whose references changed in the running transaction,
	 * recorded as the commit runs delayed refs [commit only]. */
	struct qgroup_ext *ext;
	u32 next, ext_cap;
	u64 round;		/* extents counted (qgroup.mark) */
	u64 seq;		/* roots walked up (qgroup.visit) */
	int status_dirty;	/* status item to rewrite at the commit */
	u32 resolved;		/* extents the last commit resolved: its
				 * cost (tests, benchmarks) */
	struct qgroup_snap snap;	/* [commit only] valid when has_snap */
	int has_snap;
	/* Leaves whose data extents each have one reference in all, the
	 * leaf's own, and the bytes of those extents: a drop meets every
	 * leaf a deleted snapshot shared, once per snapshot
	 * (qgroup_account.c, queue_children). Kept across commits: a leaf
	 * is forgotten when it goes, and all of them when an extent that
	 * was there gains a reference (single_stale). [commit only] */
	struct u64map single_leaves;
	int single_stale;
	/* The accounting's table of sets, and the block sets the last
	 * commit's accounting found at its current roots, which are the
	 * commit roots of the commit after it (carry_gen): the next
	 * accounting starts its commit view from them, as a drop of one
	 * snapshot after another meets the same shared leaves each
	 * commit. Kept across commits while both stay under CARRY_BOUND
	 * (qgroup_account.c); carry NULL: none. [commit only] */
	struct rootsets sets;
	struct backref_cache *carry;
	u64 carry_gen;
	/* Rank 1h, leaf spinlock: every group's rsv_rfer and rsv_excl
	 * (changes reserve concurrently under trans_sem for read). */
	struct spinlock rsv_lock;
};

/* qgroup.c */
struct qgroup *qgroup_find(struct qgroup_table *q, u64 id);
struct qgroup_table *qgroup_table_new(void);
int qgroup_load(struct fs_info *fs);
void qgroup_table_free(struct fs_info *fs);
struct fs_qgroup_inherit;
int qgroup_inherit_check(struct fs_info *fs,
			 const struct fs_qgroup_inherit *qi);
int qgroup_subvol_created(struct trans *t, u64 id,
			  const struct fs_qgroup_inherit *qi);
int qgroup_write_all(struct trans *t);
/* Shared with qgroup_ops.c (the commands). */
void qgroup_table_del(struct qgroup_table *q, u64 id);
void qgroup_parent_del(struct qgroup *g, u64 parent);
int qgroup_subvol_exists(struct fs_info *fs, u64 id);
int qgroup_del_item(struct trans *t, const struct key *k);
int qgroup_put_limit(struct trans *t, const struct qgroup *g);
int qgroup_put_status(struct trans *t, u64 flags, u64 progress);
int qgroup_create(struct trans *t, u64 id);
int qgroup_relation_add(struct trans *t, u64 id, u64 parent);

/* qgroup_rescan.c */
int qgroup_rescan_start(struct fs_info *fs);
void qgroup_rescan_stop(struct fs_info *fs);
int qgroup_rescan_busy(const struct qgroup_table *q);

/* qgroup_limit.c */
#define QGROUP_RSV_RFER_ONLY (1u << 0)	/* reflink: excl cannot grow */
int qgroup_reserve(struct fs_info *fs, u64 subvol, u64 bytes,
		   unsigned flags);
int qgroup_reserve_upto(struct fs_info *fs, u64 subvol, u64 want, u64 min,
			u64 *got);
void qgroup_release(struct fs_info *fs, u64 subvol, u64 bytes,
		    unsigned flags);
void qgroup_reserve_clear(struct qgroup_table *q);
int qgroup_groups_of(struct qgroup_table *q, u64 subvol,
		     struct qgroup ***out, u32 *n);

/* qgroup_snapshot.c */
struct ctree_root;
int qgroup_snapshot_created(struct trans *t, u64 src, u64 id,
			    const struct fs_qgroup_inherit *qi,
			    const struct ctree_root *src_root, u64 snap_root);

/* qgroup_account.c */
int qgroup_record_head(struct trans *t, const struct dref_head *h);
void qgroup_record_gone(struct trans *t, const struct dref_head *h);
int qgroup_account_commit(struct trans *t);

#endif
