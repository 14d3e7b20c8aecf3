/* The cleaner: dropping deleted subvolumes' trees. See cleaner.c. */
#ifndef FS_CLEANER_H
#define FS_CLEANER_H

#include "transaction.h"

int cleaner_start(struct fs_info *fs);
void cleaner_stop(struct fs_info *fs);
void cleaner_kick(struct fs_info *fs);
int cleaner_set_root_item(struct trans *t, u64 id, u32 refs,
			  const struct key *progress, u8 level);
int cleaner_del_root_tree_item(struct trans *t, const struct key *k);

#endif
