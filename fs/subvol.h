/*
 * Subvolume roots: loading a subvolume's tree root from its root item, and
 * listing subvolumes. See subvol.c.
 */
#ifndef FS_SUBVOL_H
#define FS_SUBVOL_H

#include "ctree.h"
#include "format.h"

struct fs_info;

/* A loaded subvolume; stays on fs->subvols until unmount. */
struct subvol_root {
	struct subvol_root *next;	/* fs->subvols chain [L subvol_lock] */
	struct ctree_root root;		/* its fs tree (own lock) */
	u64 next_ino;			/* next free inode number, 0 until
					 * looked up [ns_lock for write] */
	u64 root_dirid;			/* inode of its top directory [I] */
	int deleted;			/* deleted: lookups fail [a] */
	u64 flags;			/* BTRFS_ROOT_SUBVOL_* [a]; RDONLY
					 * changes under ns_lock for write */
	u32 send_in_progress;		/* sends reading it [a]; raised
					 * under ns_lock for read: while
					 * set, it is neither deleted nor
					 * made writable (-EPERM) */
};

int subvol_get(struct fs_info *fs, u64 id, const struct subvol_root **out);
const struct subvol_root *subvol_loaded(struct fs_info *fs, u64 id);
struct subvol_root *subvol_first(struct fs_info *fs);
int subvol_read_root_item(struct fs_info *fs, u64 id, u8 *item, u32 *size);
void subvol_free_all(struct fs_info *fs);
int subvol_is_read_only(const struct subvol_root *sv);
int subvol_check_writable(const struct subvol_root *sv);
int subvol_sent(const struct subvol_root *sv);
void subvol_mark_deleted(const struct subvol_root *sv);
int subvol_default_read(struct fs_info *fs, u64 *id);
int subvol_prepend(char *buf, size_t cap, const u8 *name, size_t len);
int subvol_prepend_dir_path(const struct subvol_root *sv, u64 dirid,
			    char *buf, size_t cap);

#endif
