/*
 * The in-memory state of one mounted filesystem (struct fs_info), shared by
 * the fs/ modules. The shell never sees inside it: it uses fs/fs.h.
 *
 * Legend for the fields: [I] immutable after mount, [L] protected by the
 * named lock. fs_lock is the filesystem's big lock: every public call takes
 * it, for read (lookups, reads) or for write (changes, commit). See
 * docs/LOCKING.md for the order.
 */
#ifndef FS_FS_INFO_H
#define FS_FS_INFO_H

#include <ghee/blk.h>
#include <ghee/sync.h>

#include "format.h"
#include "tree_block.h"
#include "volumes.h"
#include "ctree.h"
#include "block_group.h"

struct subvol_root;
struct trans;
struct task;

struct fs_info {
	struct blkdev *dev;		/* the single device [I] */
	struct d_super_block *super;	/* the superblock copy in use [I] */
	int super_mirror;		/* which copy: 0 primary, 1, 2 [I] */
	u32 nodesize;			/* tree block bytes [I] */
	u32 sectorsize;			/* data block bytes [I] */
	u64 generation;			/* last committed generation
					 * [fs_lock, commit_root_sem] */
	u64 incompat;			/* super incompat_flags [I] */
	u64 compat_ro;			/* super compat_ro_flags [I] */
	u64 devid;			/* our device's id [I] */
	/* UUID every tree block header must carry: the fsid, or the
	 * metadata_uuid with the METADATA_UUID feature. [I] */
	u8 meta_fsid[BTRFS_FSID_SIZE];
	u8 chunk_tree_uuid[BTRFS_UUID_SIZE]; /* from the chunk root [I] */
	int read_only;			/* refuses changes [fs_lock] */
	int aborted;			/* errno of the transaction abort
					 * that made it read-only [fs_lock] */

	/*
	 * The big lock, rank 1 (outermost). Write: changing trees (the
	 * running transaction, dirty blocks, delayed refs, the allocator,
	 * root records) and committing. Read: searching the current trees.
	 * Sleeping; held across I/O.
	 */
	struct rwsem fs_lock;
	/*
	 * Rank 2. Guards every root's commit_* fields and the relocation
	 * counter. Readers of commit roots (send, fsck of a live fs) take it
	 * for read without fs_lock; the commit takes it for write only to
	 * swap roots (DESIGN.md invariant 5). Sleeping.
	 */
	struct rwsem commit_root_sem;
	u64 last_reloc_trans;		/* [commit_root_sem] */
	struct trans *running;		/* the running transaction [fs_lock] */
	struct space_info space;	/* block groups, free space [fs_lock] */
	u64 bytes_used;			/* super bytes_used [fs_lock] */
	u64 dev_bytes_used;		/* dev_item bytes_used [fs_lock] */
	struct task *committer;		/* periodic commit task [I] */
	u64 commit_interval_ns;		/* its period [I] */

	struct chunk_map chunks;	/* logical -> physical [fs_lock] */
	struct tb_cache cache;		/* tree blocks, own lock */

	struct ctree_root chunk_root;	/* tree 3 [I] */
	struct ctree_root tree_root;	/* tree 1 [I] */
	struct ctree_root extent_root;	/* tree 2 [I] */
	struct ctree_root csum_root;	/* tree 7; bytenr 0 when absent [I] */
	struct ctree_root bg_root;	/* tree holding block group items [I] */
	struct ctree_root dev_root;	/* tree 4 */
	struct ctree_root fst_root;	/* tree 10; bytenr 0 when absent */
	/* Roots are [fs_lock] (current) and [commit_root_sem] (commit_*)
	 * once mounted read-write. */
	u64 default_subvol;		/* subvolume id mounted as "/" [I] */

	/* Subvolume roots loaded so far (struct subvol_root list). Entries
	 * are immutable once added and freed at umount. [L subvol_lock] */
	struct subvol_root *subvols;
	/* Protects subvols. Leaf lock: no other lock is taken under it, and
	 * it is never held across I/O. */
	struct spinlock subvol_lock;
};

#endif
