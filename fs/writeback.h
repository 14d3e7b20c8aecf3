/*
 * Delayed writes: data and tree blocks kept in memory and written in
 * batches, waited for by the commit before its flush. See writeback.c.
 */
#ifndef FS_WRITEBACK_H
#define FS_WRITEBACK_H

#include <ghee/sync.h>

#include "format.h"
#include "../lib/list.h"

struct fs_info;

/* What a delayed write holds: its errors are treated apart (writeback.c). */
enum wb_kind { WB_DATA, WB_TREE };

/* The delayed writes of one filesystem (fs_info.wb). */
struct writeback {
	/* Rank 1e', sleeping, taken under any lock above: one task starts
	 * or reaps (waits for and frees) writes at a time. Under it only
	 * wb.lock, chunks.lock, kmalloc and the block layer. */
	struct mutex io_lock;
	/* Rank 1h, leaf spinlock: the lists, counts and errors. */
	struct spinlock lock;
	struct list_head held;		/* struct wb_write not started,
					 * in submit order [L] */
	struct list_head inflight;	/* struct wb_run started, oldest
					 * first [L] */
	u64 held_bytes;			/* bytes on held [L] */
	u64 bytes;			/* bytes of copies held, being
					 * started or in flight [L to
					 * change; atomic reads] */
	int starting;			/* start_held has writes on neither
					 * list [L] */
	int err;			/* first error of a tree block, or
					 * of file data that failed twice,
					 * not yet returned by
					 * writeback_wait [L] */
	int data_err;			/* first error of file data that
					 * the second write put right, not
					 * yet returned by
					 * writeback_data_error [L] */
};

void writeback_init(struct fs_info *fs);
int writeback_submit(struct fs_info *fs, enum wb_kind kind, u64 logical,
		     const void *buf, u32 len);
int writeback_wait(struct fs_info *fs);
int writeback_data_error(struct fs_info *fs);
void writeback_wait_range(struct fs_info *fs, u64 logical, u32 len);

#endif
