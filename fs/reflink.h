/*
 * Reflink's steps (fs/reflink.c), shared with dedupe (fs/dedupe.c): a
 * clone in progress, and the pieces one step is made of.
 */
#ifndef FS_REFLINK_H
#define FS_REFLINK_H

#include "write_common.h"

#define CLONE_BATCH 512		/* source items per change */

/* One source file extent item, copied. */
struct citem {
	u64 ks;			/* its key offset (file offset) */
	u32 size;		/* bytes of body */
	u8 *body;		/* the item (inline ones with their data) */
};

/* One clone call: checked arguments and the step in progress. */
struct clone {
	struct fs_ino src, dst;
	u64 src_off, dst_off;
	u64 len;		/* bytes asked for (to EOF: not rounded) */
	u64 end;		/* src_off + len rounded up to the sector */
	struct citem items[CLONE_BATCH];
	u32 n;			/* items collected for this step */
	int keep_times;		/* dedupe: the destination's times stay */
};

int reflink_regular_item(struct fs_info *fs, struct fs_ino ino, u8 *ii);
int reflink_collect(struct clone *c, const struct ctree_root *root, u64 from,
		    u64 *next);
int reflink_step(struct wctx *w, struct clone *c, struct ctree_root *root,
		 u64 from, u64 next, u8 *ii);
void reflink_items_free(struct clone *c);

#endif
