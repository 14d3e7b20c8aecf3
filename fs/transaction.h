/*
 * Transactions: every change to the filesystem happens inside the one
 * running transaction, and reaches the disk atomically at its commit. See
 * transaction.c.
 */
#ifndef FS_TRANSACTION_H
#define FS_TRANSACTION_H

#include "../lib/list.h"
#include "delayed_ref.h"
#include "format.h"

struct fs_info;

/* One freed range, reusable once the commit that freed it is on disk. */
struct pin_range {
	u64 start, len;
};

/*
 * The running transaction. Everything here is under fs->fs_lock held for
 * write: one writer at a time changes trees, and commit runs under it too.
 */
struct trans {
	struct fs_info *fs;		/* [I] */
	u64 transid;			/* generation it will commit as [I] */
	struct list_head dirty;		/* TB_DIRTY tree blocks, one ref each */
	u64 ndirty;			/* blocks on dirty */
	struct delayed_refs refs;	/* queued reference changes */
	struct pin_range *pinned;	/* ranges freed in this transaction */
	u32 npinned, pin_cap;
	u64 start_ns;			/* when it started (time_ns) */
	int in_commit;			/* commit is running the queue */
};

int trans_join(struct fs_info *fs, struct trans **out);
int trans_commit(struct fs_info *fs);
int trans_pin(struct trans *t, u64 start, u64 len);
void trans_abort_at(struct trans *t, int err, const char *func, int line);
void trans_free(struct trans *t);
int trans_start_committer(struct fs_info *fs);
void trans_stop_committer(struct fs_info *fs);

/* Abort the transaction at the failing line: the fs turns read-only. */
#define trans_abort(t, err) trans_abort_at((t), (err), __func__, __LINE__)

#endif
