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

int dentry_parent(struct fs_info *fs, const char *path, struct dentry *d,
		  char *buf);
int dentry_find(struct fs_info *fs, struct dentry *d);
int link_check(struct ctree_root *root, const struct dentry *d, u64 ino,
	       const struct dentry *old);
int link_name(struct wctx *w, struct ctree_root *root,
	      const struct dentry *d, u64 ino, u8 type);
int unlink_name(struct wctx *w, struct ctree_root *root,
		const struct dentry *d);

/* Changes of names (namei_lock.c). names_enter takes ns_lock for read.
 * names_lock takes for write the inode locks of the directories of d[]
 * (whose d->dir dentry_parent resolved) and of *ino, looks d[]'s names
 * up under them (dentry_find), and takes the locks of the inodes they
 * name too: 0, or <0 with the inode locks let go. names_join then joins
 * the transaction (flags: wctx_begin's; end with wctx_end), or fails
 * with the inode locks let go. names_unlock lets go of the inode locks;
 * names_lock_rename takes fs->rename_lock (a directory moving to
 * another parent), with no inode lock held; names_leave drops what is
 * left. */
void names_enter(struct fs_info *fs, struct wctx *w);
void names_lock_rename(struct wctx *w);
int names_lock(struct wctx *w, struct dentry *const *d, int nd,
	       const struct fs_ino *ino);
int names_join(struct wctx *w, unsigned flags);
void names_unlock(struct wctx *w);
void names_leave(struct wctx *w);

#endif
