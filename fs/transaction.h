/*
 * Transactions: every change to the filesystem happens inside the one
 * running transaction, and reaches the disk atomically at its commit. See
 * transaction.c.
 */
#ifndef FS_TRANSACTION_H
#define FS_TRANSACTION_H

#include <ghee/sync.h>

#include "../lib/list.h"
#include "delayed_ref.h"
#include "format.h"

struct fs_info;

/* One freed range, reusable once the commit that freed it is on disk. */
struct pin_range {
	u64 start, len;
};

/*
 * The running transaction, shared by every change in progress (each holds
 * fs->trans_sem for read). The commit holds trans_sem for write and so
 * uses all of it without the lock below.
 */
struct trans {
	struct fs_info *fs;		/* [I] */
	u64 transid;			/* generation it will commit as [I] */
	/* Rank 1f, leaf spinlock: dirty, ndirty and refs, which changes
	 * running at once update. */
	struct spinlock lock;
	struct list_head dirty;		/* TB_DIRTY tree blocks, one ref
					 * each [L] */
	u64 ndirty;			/* blocks on dirty [L] */
	struct delayed_refs refs;	/* queued reference changes [L] */
	struct pin_range *pinned;	/* ranges freed in this transaction
					 * [commit only] */
	u32 npinned, pin_cap;
	u64 start_ns;			/* when it started (time_ns) [I] */
	struct list_head snapshots;	/* struct snapshot_pending, made at
					 * the commit [L] */
	int relocation;			/* relocation moved blocks in it: its
					 * commit bumps last_reloc_trans
					 * [commit only] */
	int ro_remapped;		/* a dedupe repointed extents of a
					 * read-only subvolume: the commit
					 * moves last_reloc_trans [a] */
	int moved_data;			/* relocation or defrag pointed file
					 * extent items at moved data without
					 * the readers' locks: the commit
					 * moves extent_moves (file.c)
					 * [commit only] */
};

int trans_join(struct fs_info *fs, struct trans **out);
int trans_commit(struct fs_info *fs);
int trans_commit_with(struct fs_info *fs, int (*fn)(struct trans *, void *),
		      void *arg, int relocation);
int trans_settle(struct trans *t);
struct ctree_root;
struct ctree_path;
int trans_write_root_item(struct trans *t, struct ctree_root *root);
int trans_root_item_search(struct trans *t, u64 id, struct ctree_path *p);
u64 trans_ndirty(struct trans *t);
int fs_aborted(const struct fs_info *fs);
int trans_pin(struct trans *t, u64 start, u64 len);
void trans_abort_at(struct trans *t, int err, const char *func, int line);
void trans_free(struct trans *t);
int trans_start_committer(struct fs_info *fs);
void trans_stop_committer(struct fs_info *fs);

/* Abort the transaction at the failing line: the fs turns read-only. */
#define trans_abort(t, err) trans_abort_at((t), (err), __func__, __LINE__)

#endif
