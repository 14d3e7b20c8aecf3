/* Directory entry and inode back-ref changes. See dir_write.c. */
#ifndef FS_DIR_WRITE_H
#define FS_DIR_WRITE_H

#include "write_common.h"

int dir_next_index(struct ctree_root *root, u64 dir, u64 *out);
int dir_add(struct wctx *w, struct ctree_root *root, u64 dir,
	    const char *name, size_t len, const struct key *loc, u8 type,
	    u64 index);
int dir_add_check(struct ctree_root *root, u64 dir, const char *name,
		  size_t len, const char *old, size_t old_len);
int dir_del(struct wctx *w, struct ctree_root *root, u64 dir,
	    const char *name, size_t len, u64 index);
int iref_add(struct wctx *w, struct ctree_root *root, u64 ino, u64 dir,
	     const char *name, size_t len, u64 index);
int iref_add_check(struct ctree_root *root, u64 ino, u64 dir,
		   const char *name, size_t len, const char *old,
		   size_t old_len);
int iref_del(struct wctx *w, struct ctree_root *root, u64 ino, u64 dir,
	     const char *name, size_t len, u64 *index);

#endif
