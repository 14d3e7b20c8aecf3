/*
 * Shared by balance's files: balance.c (choosing and relocating the
 * groups), balance_item.c (the item in the root tree) and balance_ctl.c
 * (running it as a task; pause, resume, cancel; resume at mount).
 */
#ifndef FS_BALANCE_H
#define FS_BALANCE_H

#include "format.h"
#include "fs.h"

struct fs_info;

/*
 * The running or paused balance of a filesystem (fs->balance, under
 * fs->balance_lock). The figures of its last run are written by the run
 * alone and read by status, atomically.
 */
struct balance_ctl {
	struct fs_balance req;	/* the request [balance_lock] */
	u64 expected, considered, relocated;	/* the last run's [a] */
	int running;		/* a run is in progress [balance_lock] */
	int pause_req;		/* stop after this group, keep it [a] */
	int cancel_req;		/* stop after this group, drop it [a] */
};

/* balance.c: relocate the groups c chooses, stopping between groups
 * or data extents when asked (-ECANCELED). */
int balance_groups(struct fs_info *fs, struct balance_ctl *c);

/* balance_item.c: (BALANCE, TEMPORARY_ITEM, 0) in the root tree. */
int balance_item_write(struct fs_info *fs, const struct fs_balance *b);
int balance_item_delete(struct fs_info *fs);
int balance_item_read(struct fs_info *fs, struct fs_balance *b);

/* balance_ctl.c: at mount and unmount (mount.c). */
int balance_recover(struct fs_info *fs, unsigned mount_flags);
void balance_unmount(struct fs_info *fs);

#endif
