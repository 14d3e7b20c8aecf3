/*
 * Shared pieces of the namespace and file writers (namei.c, file_write.c,
 * xattr.c, reflink.c):
 * entering a change with the lock and a transaction, and inode items.
 */
#ifndef FS_WRITE_COMMON_H
#define FS_WRITE_COMMON_H

#include "ctree_write.h"
#include "fs.h"
#include "subvol.h"

#define S_IFMT_ 0170000
#define S_IFREG_ 0100000
#define S_IFDIR_ 0040000
#define S_IFLNK_ 0120000
#define S_IFCHR_ 0020000
#define S_IFBLK_ 0060000
#define S_IFIFO_ 0010000
#define S_IFSOCK_ 0140000

/* Most inode locks a namespace change holds: a rename's two directories,
 * the inode moved and the one it replaces, and when it looks its names
 * up again (namei_lock.c, names_lock) those two as the first lookup
 * found them beside the two the second one finds. */
#define NAMES_LOCKS_MAX 6

/* One change in progress: its locks held, the transaction joined. */
struct wctx {
	struct fs_info *fs;
	struct trans *t;
	struct rwsem *inode_lock;	/* a data change's inode lock, held
					 * for write; NULL: a namespace
					 * change */
	int background;			/* no namespace lock (the cleaner) */
	/* A change of names (namei_lock.c): ns_lock for read and these
	 * inode locks for write, distinct, in address order. */
	int names;			/* 0: ns_lock held for write */
	int rename_locked;		/* fs->rename_lock held */
	int nlocks;
	struct rwsem *locks[NAMES_LOCKS_MAX];
};

/* wctx_begin flags */
#define WCTX_FREES (1u << 0)	/* the change gives space back */

int wctx_begin(struct fs_info *fs, struct wctx *w, unsigned flags);
int wctx_begin_file(struct fs_info *fs, struct wctx *w, struct fs_ino ino,
		    unsigned flags);
void wctx_end(struct wctx *w);
int wctx_begin_bg(struct fs_info *fs, struct wctx *w);
int wctx_join(struct fs_info *fs, struct wctx *w, unsigned flags);
int wctx_end_commit(struct wctx *w);
int wctx_root(struct wctx *w, u64 subvol, struct ctree_root **out);
int wctx_root_remap(struct wctx *w, u64 id, struct ctree_root **out);
int inode_item_get(struct ctree_root *root, u64 ino, u8 *item);
int inode_item_put(struct wctx *w, struct ctree_root *root, u64 ino,
		   const u8 *item);
void inode_touch(struct wctx *w, u8 *item, int mtime);
int file_drop_range(struct wctx *w, struct ctree_root *root, u64 ino,
		    u64 start, u64 end, u64 *freed);
int file_evict(struct wctx *w, struct ctree_root *root, u64 ino);
/* How file_fill_holes covers a gap (fs/file_holes.c). */
enum fill_how {
	FILL_EXPAND,	/* a hole item of its own (file grown) */
	FILL_PUNCH,	/* join a neighbouring hole item when there is one */
};
int file_fill_holes(struct wctx *w, struct ctree_root *root, u64 ino,
		    u64 start, u64 end, enum fill_how how);
int file_write_range(struct wctx *w, struct ctree_root *root, u64 ino,
		     u64 size, u64 off, const u8 *buf, u64 len, u64 *nbytes,
		     u64 *done);
int file_convert_inline(struct wctx *w, struct ctree_root *root, u64 ino,
			u64 size, u64 *nbytes);
int file_insert_extent(struct wctx *w, struct ctree_root *root, u64 ino,
		       u64 cs, u64 start, u64 disk_len, u64 len, u8 comp,
		       u64 ram, u64 ext_off, const u8 *disk_data, u64 *freed);
int file_grow_extent(struct wctx *w, struct ctree_root *root, u64 ino,
		     u64 cs, const u8 *data, u64 len, u64 *got, u64 *freed);
int file_next_extent(struct ctree_root *root, u64 ino, u64 from, u64 *ks,
		     u8 *fe, u32 *size);
int file_begin(struct wctx *w, struct fs_ino id, struct ctree_root **root,
	       u8 *ii, u64 *size, u64 *nbytes);
int file_inline_data(struct fs_info *fs, const u8 *fe, u32 size, u8 **data,
		     u64 *len);
int xattr_set_in(struct wctx *w, struct fs_ino ino, const char *name,
		 const void *value, size_t vlen);
int xattr_get_in(const struct ctree_root *root, u64 ino, const char *name,
		 void *buf, size_t size, size_t *len);

#endif
