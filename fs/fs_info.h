/*
 * The in-memory state of one mounted filesystem (struct fs_info), shared by
 * the fs/ modules. The shell never sees inside it: it uses fs/fs.h.
 *
 * Legend for the fields: [I] immutable after mount, [a] atomic, [L]
 * protected by the named lock. The locks are listed in their order
 * (rank 1a first); docs/LOCKING.md has the whole order and why.
 */
#ifndef FS_FS_INFO_H
#define FS_FS_INFO_H

#include <ghee/blk.h>
#include <ghee/sync.h>

#include "../lib/u64map.h"
#include "format.h"
#include "tree_block.h"
#include "volumes.h"
#include "writeback.h"
#include "ctree.h"
#include "block_group.h"
#include "fs.h"

struct subvol_root;
struct qgroup_table;
struct balance_ctl;
struct trans;
struct task;

/* Inode locks, hashed by (subvolume, inode) (namei.c: inode_lock). */
#define FS_INODE_LOCK_BITS 8
#define FS_INODE_LOCKS (1 << FS_INODE_LOCK_BITS)

struct fs_info {
	struct blkdev *dev;		/* the single device [I] */
	struct d_super_block *super;	/* the superblock copy in use [I] */
	int super_mirror;		/* which copy: 0 primary, 1, 2 [I] */
	u32 nodesize;			/* tree block bytes [I] */
	u32 sectorsize;			/* data block bytes [I] */
	u16 csum_type;			/* BTRFS_CSUM_TYPE_* [I] */
	u32 csum_size;			/* bytes of one checksum [I] */
	u64 generation;			/* last committed generation
					 * [trans_sem, commit_root_sem; the
					 * tree checker reads it atomically
					 * with neither: a read from disk
					 * happens under any lock or none] */
	u64 incompat;			/* super incompat_flags [I] */
	u64 compat_ro;			/* super compat_ro_flags [I] */
	u64 devid;			/* our device's id [I] */
	/* UUID every tree block header must carry: the fsid, or the
	 * metadata_uuid with the METADATA_UUID feature. [I] */
	u8 meta_fsid[BTRFS_FSID_SIZE];
	u8 chunk_tree_uuid[BTRFS_UUID_SIZE]; /* from the chunk root [I] */
	int read_only;			/* refuses changes [a] */
	/* A metadata dump (btrfs-image, METADUMP flags): every tree is
	 * there, file data and checksums are not; read-only. [I] */
	int metadump;
	/* Compression of new data (mount -o compress=, compress-force=);
	 * set by fs_set_compress before the filesystem is in use. [I] */
	struct fs_compress compress;
	int aborted;			/* errno of the transaction abort
					 * that made it read-only [a] */

	/*
	 * Rank 1 (first, before ns_lock). The balance (balance_ctl.c):
	 * taken with no other fs lock held; its item's commits run under
	 * it. Sleeping.
	 */
	struct mutex balance_lock;
	struct balance_ctl *balance;	/* running or paused, or NULL [L] */
	int resizing;			/* a resize runs (resize.c): no
					 * balance starts, no second
					 * resize [L] */
	int resize_cancel;		/* asked to stop [a] */
	struct task *balance_task;	/* its task, until joined [L] */

	/*
	 * Rank 1a. The namespace: write for a change of the whole
	 * namespace or of what every change reads (subvolumes, quotas,
	 * receive, dedupe, reflink, labels); read for everything else:
	 * changes of names (namei_lock.c), lookups, readdir, stat, file
	 * reads and data writes. The commit does not take it. Sleeping;
	 * held across I/O.
	 */
	struct rwsem ns_lock;
	struct task *ns_writer;		/* the task holding ns_lock for
					 * write (wctx_begin), or NULL
					 * [ns_lock write; read atomically] */
	/*
	 * Rank 1a'. Held by a rename that moves a directory to another
	 * parent, under ns_lock for read, before its inode locks
	 * (namei_lock.c): no two such renames run at once. Sleeping.
	 */
	struct mutex rename_lock;
	/*
	 * Rank 1b. Hashed by inode (inode_lock()), under ns_lock held for
	 * read: write for a file data write or truncate, and for a change
	 * of names, the locks of each directory and inode it changes (taken
	 * in address order, namei_lock.c); read for a file read or readlink
	 * and for a lookup reading a directory's entries (one directory at
	 * a time) when its lockless try saw a change (inode_seq).
	 * Sleeping; held across I/O.
	 */
	struct rwsem inode_locks[FS_INODE_LOCKS];
	/* Per inode lock: odd while a change of names holds it for write,
	 * bumped as it takes and lets go of it, so a path walk's step may
	 * read a directory without its lock and check afterwards that no
	 * change ran meanwhile (namei_lock.c dir_step). [atomic] */
	u32 inode_seq[FS_INODE_LOCKS];
	/*
	 * Rank 1c. A change holds it for read from joining the running
	 * transaction to its end (wctx_begin/wctx_end); the commit holds it
	 * for write, so everything it writes is whole changes. Searches do
	 * not take it. Sleeping; held across I/O.
	 */
	struct rwsem trans_sem;
	/*
	 * Rank 1c'. Guards every root's commit_* fields and the relocation
	 * counter. Readers of commit roots (send, fsck of a live fs) take it
	 * for read and no other fs lock; the commit takes it for write only
	 * to swap roots (DESIGN.md invariant 5). Sleeping.
	 */
	struct rwsem commit_root_sem;
	u64 last_reloc_trans;		/* [commit_root_sem] relocation
					 * commits so far (commit_root.c) */
	u64 extent_moves;		/* [commit_root_sem for write, read
					 * atomically] commits that pointed
					 * file extent items at moved data
					 * (trans->moved_data): a file read
					 * checks it (file.c) */
	/* Readers of a commit (commit_root.c) and the freed ranges held
	 * from reuse for them. */
	u32 commit_readers;		/* registered readers [a] */
	struct pin_range *held_pins;	/* held ranges [commit only] */
	u32 nheld, held_cap;		/* [commit only] */
	/*
	 * Rank 1e, sleeping: the allocator (space, bytes_used,
	 * dev_bytes_used, new chunks). Taken under tree-block locks (a copy
	 * allocates); nothing under it takes a tree-block lock. The commit,
	 * which excludes every change, reads space without it.
	 */
	struct mutex alloc_lock;
	struct space_info space;	/* block groups, free space [L] */
	u64 bytes_used;			/* super bytes_used [L] */
	u64 dev_bytes_used;		/* dev_item bytes_used [L] */
	/* Rank 1g, leaf spinlock: starting the running transaction. */
	struct spinlock trans_lock;
	struct trans *running;		/* the running transaction [L to set;
					 * the commit clears it holding
					 * trans_sem for write] */
	struct task *committer;		/* periodic commit task [I] */
	struct task *cleaner;		/* drops deleted subvolumes [I] */
	struct completion cleaner_kick;	/* wakes the cleaner early */
	u64 commit_interval_ns;		/* its period [I] */
	struct fs_commit_stats commit_stats;	/* [trans_sem] */

	struct writeback wb;		/* writes in flight, own locks */
	struct chunk_map chunks;	/* logical -> physical, own lock */
	struct tb_cache cache;		/* tree blocks, own lock */

	struct ctree_root chunk_root;	/* tree 3 [I] */
	struct ctree_root tree_root;	/* tree 1 [I] */
	struct ctree_root extent_root;	/* tree 2 [I] */
	struct ctree_root csum_root;	/* tree 7; bytenr 0 when absent [I] */
	struct ctree_root bg_root;	/* tree holding block group items [I] */
	struct ctree_root dev_root;	/* tree 4 */
	struct ctree_root fst_root;	/* tree 10; bytenr 0 when absent */
	struct ctree_root uuid_root;	/* tree 9; bytenr 0 when absent (made
					 * with the first new subvolume) */
	struct ctree_root quota_root;	/* tree 8; bytenr 0 when quotas
					 * are off */
	/* Each root's current fields are under its own lock (ctree.h), its
	 * commit_* fields under commit_root_sem. */
	struct qgroup_table *qgroups;	/* quota groups; NULL when off
					 * (qgroup.h says what guards it) */
	struct task *qgroup_rescan;	/* the rescan task, or NULL
					 * [ns_lock write] */
	int qgroup_rescan_exiting;	/* it found no work and is ending
					 * [a] */
	u64 default_subvol;		/* subvolume id mounted as "/" [I] */
	u64 next_subvol_id;		/* id for the next new subvolume, 0
					 * until looked up [ns_lock write] */

	/* Subvolume roots loaded so far (struct subvol_root list). Entries
	 * are immutable once added and freed at umount. [L subvol_lock;
	 * subvol_first() starts a walk that needs no lock] */
	struct subvol_root *subvols;
	/* The same entries by id (-> the struct subvol_root's address), for
	 * lookups: thousands of snapshots make the list long. [L
	 * subvol_lock] */
	struct u64map subvol_ids;
	/* Protects subvols and subvol_ids. Leaf among the filesystem's
	 * locks: only kmalloc runs under it (subvol_ids grows), and it is
	 * never held across I/O. */
	struct spinlock subvol_lock;
};

#endif
