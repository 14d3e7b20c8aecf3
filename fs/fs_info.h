/*
 * The in-memory state of one mounted filesystem (struct fs_info), shared by
 * the fs/ modules. The shell never sees inside it: it uses fs/fs.h.
 *
 * Legend for the fields: [I] immutable after mount, [L] protected by the
 * named lock. In this read-only issue everything is [I] after fs_mount()
 * returns, except the tree-block cache and the subvolume-root list, which
 * have their own locks.
 */
#ifndef FS_FS_INFO_H
#define FS_FS_INFO_H

#include <ghee/blk.h>
#include <ghee/sync.h>

#include "format.h"
#include "tree_block.h"
#include "volumes.h"
#include "ctree.h"

struct subvol_root;

struct fs_info {
	struct blkdev *dev;		/* the single device [I] */
	struct d_super_block *super;	/* the superblock copy in use [I] */
	int super_mirror;		/* which copy: 0 primary, 1, 2 [I] */
	u32 nodesize;			/* tree block bytes [I] */
	u32 sectorsize;			/* data block bytes [I] */
	u64 generation;			/* super generation [I] */
	u64 incompat;			/* super incompat_flags [I] */
	u64 compat_ro;			/* super compat_ro_flags [I] */
	u64 devid;			/* our device's id [I] */
	/* UUID every tree block header must carry: the fsid, or the
	 * metadata_uuid with the METADATA_UUID feature. [I] */
	u8 meta_fsid[BTRFS_FSID_SIZE];
	u8 chunk_tree_uuid[BTRFS_UUID_SIZE]; /* from the chunk root [I] */
	int read_only;			/* always 1 in this issue [I] */

	struct chunk_map chunks;	/* logical -> physical [I] */
	struct tb_cache cache;		/* tree blocks, own lock */

	struct ctree_root chunk_root;	/* tree 3 [I] */
	struct ctree_root tree_root;	/* tree 1 [I] */
	struct ctree_root extent_root;	/* tree 2 [I] */
	struct ctree_root csum_root;	/* tree 7; bytenr 0 when absent [I] */
	struct ctree_root bg_root;	/* tree holding block group items [I] */
	u64 default_subvol;		/* subvolume id mounted as "/" [I] */

	/* Subvolume roots loaded so far (struct subvol_root list). Entries
	 * are immutable once added and freed at umount. [L subvol_lock] */
	struct subvol_root *subvols;
	/* Protects subvols. Leaf lock: no other lock is taken under it, and
	 * it is never held across I/O. */
	struct spinlock subvol_lock;
};

#endif
