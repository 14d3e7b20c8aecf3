/*
 * Writes in flight: data and tree blocks written asynchronously, waited
 * for by the commit before its flush. See writeback.c.
 */
#ifndef FS_WRITEBACK_H
#define FS_WRITEBACK_H

#include <ghee/sync.h>

#include "format.h"
#include "../lib/list.h"

struct fs_info;

/* The writes of one filesystem in flight (fs_info.wb). */
struct writeback {
	/* Rank 1e', sleeping, taken under any lock above: one task reaps
	 * (waits for and frees) at a time. Under it only wb.lock and the
	 * allocator. */
	struct mutex reap_lock;
	/* Rank 1h, leaf spinlock: inflight and err. */
	struct spinlock lock;
	struct list_head inflight;	/* struct wb_write, oldest first [L] */
	u64 bytes;			/* bytes of copies held [a, changed
					 * under L] */
	int err;			/* first write error not yet returned
					 * by writeback_wait [L] */
};

void writeback_init(struct fs_info *fs);
int writeback_submit(struct fs_info *fs, u64 logical, const void *buf,
		     u32 len);
int writeback_wait(struct fs_info *fs);
void writeback_wait_range(struct fs_info *fs, u64 logical, u32 len);

#endif
