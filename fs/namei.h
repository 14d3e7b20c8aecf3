/* Shared by namei.c and namei_ops.c: names and the links they make. */
#ifndef FS_NAMEI_H
#define FS_NAMEI_H

#include "write_common.h"

/* Tree blocks a new name (create, mkdir, mknod, link) reserves against
 * its subvolume's quota limits, as Linux's (measured on its loop mount:
 * room for 5 nodes; a symlink, with its inline data, 6). Held until the
 * commit counts what the name used (qgroup_limit.c). */
#define NAME_RSV_NODES 5

/* A path split into its parent directory and last name. */
struct dentry {
	struct fs_ino dir;		/* parent directory */
	const char *name;		/* last component (points into buf) */
	size_t len;
	struct fs_ino ino;		/* the entry's inode when it exists */
	u8 type;			/* its BTRFS_FT_* */
	int exists;
};

int dentry_get(struct fs_info *fs, const char *path, struct dentry *d,
	       char *buf);
int link_check(struct ctree_root *root, const struct dentry *d, u64 ino,
	       const struct dentry *old);
int link_name(struct wctx *w, struct ctree_root *root,
	      const struct dentry *d, u64 ino, u8 type);
int unlink_name(struct wctx *w, struct ctree_root *root,
		const struct dentry *d);

/* Changes of names (namei_lock.c). names_enter takes ns_lock for read;
 * names_lock takes the inode locks of the directories and inodes of d[]
 * (and of *ino), checks that d[] still hold, and joins the transaction:
 * 0 (end with wctx_end), -EAGAIN (something changed: resolve again) or
 * <0; when it fails, only what names_enter took is held, which
 * names_leave drops. names_lock_rename takes fs->rename_lock (a
 * directory moving to another parent), with no inode lock held. */
void names_enter(struct fs_info *fs, struct wctx *w);
void names_lock_rename(struct wctx *w);
int names_lock(struct wctx *w, const struct dentry *const *d, int nd,
	       const struct fs_ino *ino, unsigned flags);
void names_leave(struct wctx *w);

#endif
