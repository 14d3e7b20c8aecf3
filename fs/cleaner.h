/* The cleaner: dropping deleted subvolumes' trees. See cleaner.c. */
#ifndef FS_CLEANER_H
#define FS_CLEANER_H

#include "transaction.h"

struct tree_block;

int cleaner_start(struct fs_info *fs);
void cleaner_stop(struct fs_info *fs);
void cleaner_kick(struct fs_info *fs);
int cleaner_set_root_item(struct trans *t, u64 id, u32 refs,
			  const struct key *progress, u8 level);
int cleaner_del_root_tree_item(struct trans *t, const struct key *k);
int cleaner_step(struct fs_info *fs, u64 *last);
int cleaner_child_dropped(const struct tree_block *b, u32 slot,
			  const struct key *drop, u8 level);

#endif
