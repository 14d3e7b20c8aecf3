/*
 * Tree-log replay at mount: the fsyncs Linux wrote to the tree-log after
 * the last commit are applied to the subvolumes. See tree_log.c.
 */
#ifndef FS_TREE_LOG_H
#define FS_TREE_LOG_H

#include "write_common.h"

/* What the tree-log holds, found by tree_log_scan. */
struct tree_log_summary {
	u32 subvols;		/* subvolume logs */
	u64 inodes;		/* inode items logged */
	const char *unsupported;	/* why ghee cannot replay it, or NULL */
};

int tree_log_scan(struct fs_info *fs, struct tree_log_summary *s);
int tree_log_replay(struct fs_info *fs);

/* Shared by tree_log.c and tree_log_names.c: one subvolume's replay. */
struct replay {
	struct wctx w;			/* the replay's change (ns_lock held) */
	struct ctree_root log;		/* this subvolume's log tree */
	struct ctree_root *root;	/* the subvolume's tree */
	u64 *fix;			/* inodes whose links, nlink and (dirs)
					 * size are recounted at the end */
	u32 nfix, fix_cap;
	u64 cs_start, cs_end;		/* csum range being copied */
	u64 acc;			/* a count being taken (fixup) */
	struct tree_log_summary *sum;	/* tree_log_scan's answer */
};

/* Called on each item of a walk, with the item copied out. */
typedef int (*tree_log_item_fn)(struct replay *r, const struct key *k,
				const u8 *data, u32 size);

int tree_log_walk(struct replay *r, const struct ctree_root *tree,
		  const struct key *from, const struct key *to,
		  tree_log_item_fn fn);
int tree_log_fix_add(struct replay *r, u64 ino);

/* tree_log_names.c */
int tree_log_dir_deletes(struct replay *r, u64 dir);
int tree_log_replay_ref(struct replay *r, const struct key *k,
			const u8 *d, u32 size);
int tree_log_replay_dir_index(struct replay *r, const struct key *k,
			      const u8 *d, u32 size);
int tree_log_fixup(struct replay *r);

#endif
