/*
 * The filesystem's public API, used by the shell. Everything else in fs/ is
 * internal. A mounted filesystem is a struct fs_info; inodes are named by
 * (subvolume id, inode number). All calls return 0 or a negative errno and
 * log what went wrong (pr_err) before failing on bad on-disk data.
 *
 * A mount is read-write unless asked otherwise or the filesystem uses
 * something ghee cannot write (then it says why and mounts read-only).
 * Changes gather in a transaction committed every few seconds, on fs_sync
 * and at unmount; a failure inside a transaction turns the filesystem
 * read-only (later changes fail with -EROFS).
 */
#ifndef FS_FS_H
#define FS_FS_H

#include <stddef.h>
#include <stdint.h>

#include <ghee/blk.h>

struct fs_info;

/* An inode: which subvolume tree, and its number in that tree. */
struct fs_ino {
	uint64_t root;		/* subvolume id (5 = top level) */
	uint64_t ino;		/* inode number (256 = subvolume root dir) */
};

/* Seconds and nanoseconds since the Unix epoch. */
struct fs_time {
	int64_t sec;
	uint32_t nsec;
};

/* What stat shows. */
struct fs_stat {
	struct fs_ino id;
	uint32_t mode;		/* POSIX type and permissions */
	uint32_t nlink;
	uint32_t uid, gid;
	uint64_t size;		/* bytes */
	uint64_t nbytes;	/* bytes of extents allocated */
	uint64_t rdev;		/* device number of device nodes */
	uint64_t flags;		/* BTRFS_INODE_* */
	uint64_t generation;	/* transaction that created it */
	uint64_t transid;	/* transaction that last changed it */
	struct fs_time atime, mtime, ctime, otime;
};

/* fs_mount flags */
#define FS_MOUNT_RO (1u << 0)	/* mount read-only */
#define FS_MOUNT_SKIP_BALANCE (1u << 1)	/* leave a balance item paused */

int fs_mount(struct blkdev *dev, unsigned flags, struct fs_info **out);
/* Mount the subvolume at path (from the top level), or subvolume id when
 * path is NULL, as "/": right after fs_mount (fs/mount.c). -ENOENT,
 * -EINVAL (not a subvolume). */
int fs_mount_subvol(struct fs_info *fs, const char *path, uint64_t id);

/* Compression of new file data: mount -o compress=SPEC or compress-force
 * (fs/compress.c). */
struct fs_compress {
	uint8_t type;		/* BTRFS_COMPRESS_*: 0 none, 1 zlib, 2 lzo,
				 * 3 zstd */
	int level;		/* zlib 1-9, zstd 1-15; 0 for lzo */
	int force;		/* compress-force: also files marked
				 * NOCOMPRESS, and keep trying after
				 * incompressible data */
};
int fs_compress_parse(const char *spec, int force, struct fs_compress *out);
void fs_set_compress(struct fs_info *fs, const struct fs_compress *c);
/* A file's compression property (btrfs property set PATH compression). */
int fs_compress_prop_set(struct fs_info *fs, struct fs_ino ino,
			 const char *value);
int fs_compress_prop_get(struct fs_info *fs, struct fs_ino ino, char *buf,
			 size_t size);
void fs_umount(struct fs_info *fs);
int fs_is_read_only(const struct fs_info *fs);
int fs_is_metadump(const struct fs_info *fs);
int fs_sync(struct fs_info *fs);
/* The commits since mount (Linux shows the first four figures in
 * /sys/fs/btrfs/FSID/commit_stats) and how the last one spent its time,
 * in nanoseconds. Only commits that wrote a superblock count. */
struct fs_commit_stats {
	uint64_t commits;
	uint64_t last_ns, max_ns, total_ns;
	uint64_t snapshot_ns;	/* making the snapshots asked for */
	uint64_t refs_ns;	/* running the delayed references */
	uint64_t qgroup_ns;	/* quota accounting */
	uint64_t write_ns;	/* writing the tree blocks (and the data
				 * writes they wait for) */
	uint64_t super_ns;	/* flushes and superblocks */
	uint64_t blocks;	/* tree blocks it wrote */
	uint64_t ref_heads;	/* delayed-ref heads it ran */
};
/* Copy them; with reset_max, max_ns starts again from 0 (Linux: writing
 * 0 to commit_stats). Waits for a running commit to end. */
void fs_commit_stats(struct fs_info *fs, struct fs_commit_stats *st,
		     int reset_max);

/* What mkfs makes (fs_mkfs). */
struct fs_mkfs_opts {
	const char *label;	/* NULL or up to 255 bytes */
	uint32_t nodesize;	/* 0: 16384; else 4096..65536, power of 2 */
	int metadata_single;	/* metadata SINGLE instead of DUP */
	const char *csum;	/* NULL (crc32c) or a checksum type as
				 * mkfs.btrfs --csum names it: crc32c,
				 * xxhash, sha256, blake2 */
};
int fs_mkfs(struct blkdev *dev, const struct fs_mkfs_opts *o);
/* fs_mkfs with default features left off (mkfs.btrfs -O
 * ^skinny-metadata,^no-holes): incompat_off holds only
 * INCOMPAT_SKINNY_METADATA and INCOMPAT_NO_HOLES bits (fs/format.h). */
int fs_mkfs_features(struct blkdev *dev, const struct fs_mkfs_opts *o,
		     uint64_t incompat_off);

/*
 * Namespace and data writes. Paths resolve like fs_lookup; the last
 * component of a path being made must not exist (-EEXIST) and its parent
 * must be a directory. Returns 0 or a negative errno: -EROFS on a
 * read-only filesystem, -ENOSPC when full (nothing changed by the failing
 * step), -ENOTEMPTY, -EISDIR, -ENOTDIR, -EINVAL, and, with nothing
 * changed: -ENAMETOOLONG (a name over 255 bytes, a path of 4096),
 * -EMLINK (too many names of an inode, or of it in one directory without
 * extended refs), -EOVERFLOW (too many names of one hash in a directory).
 */
int fs_create(struct fs_info *fs, const char *path, uint32_t mode,
	      struct fs_ino *out);
int fs_mkdir(struct fs_info *fs, const char *path, uint32_t mode);
int fs_symlink(struct fs_info *fs, const char *target, const char *path);
int fs_link(struct fs_info *fs, const char *existing, const char *path);
int fs_unlink(struct fs_info *fs, const char *path);
int fs_rmdir(struct fs_info *fs, const char *path);
int fs_rename(struct fs_info *fs, const char *from, const char *to);
int fs_write(struct fs_info *fs, struct fs_ino ino, uint64_t off,
	     const void *buf, size_t len);
int fs_truncate(struct fs_info *fs, struct fs_ino ino, uint64_t size);
/* Free a range, which reads as zeros after; the size stays (Linux's
 * fallocate PUNCH_HOLE | KEEP_SIZE; fs/file_write.c). */
int fs_punch_hole(struct fs_info *fs, struct fs_ino ino, uint64_t off,
		  uint64_t len);
/* Allocate the holes of a range as preallocated extents, growing the
 * size to its end unless keep_size (Linux's fallocate; fs/file_prealloc.c). */
int fs_fallocate(struct fs_info *fs, struct fs_ino ino, uint64_t off,
		 uint64_t len, int keep_size);
/* A compressed extent as stored (Linux's encoded I/O; fs/file_encoded.c):
 * its bytes inflate to unencoded_len bytes, of which the file shows len
 * from unencoded_offset on. */
struct fs_encoded {
	uint64_t len;			/* file bytes it gives */
	uint64_t unencoded_len;		/* bytes it inflates to */
	uint64_t unencoded_offset;	/* where the file's bytes start */
	uint8_t compression;		/* BTRFS_COMPRESS_*: zlib, lzo, zstd */
};
int fs_read_encoded(struct fs_info *fs, struct fs_ino ino, uint64_t ext_off,
		    void *buf, size_t cap, size_t *len);
int fs_write_encoded(struct fs_info *fs, struct fs_ino ino, uint64_t off,
		     const void *data, size_t len,
		     const struct fs_encoded *e);
/* Share len bytes (0: to src's end) of src at src_off with dst at dst_off
 * (fs/reflink.c: Linux's FICLONERANGE rules; -EINVAL when broken). */
int fs_clone_range(struct fs_info *fs, struct fs_ino src, uint64_t src_off,
		   uint64_t len, struct fs_ino dst, uint64_t dst_off);
/* Share len bytes of src at src_off with the equal bytes of dst at
 * dst_off (fs/dedupe.c: Linux's FIDEDUPERANGE rules; -EBADE when they
 * differ, -EINVAL when a rule is broken). */
int fs_dedupe_range(struct fs_info *fs, struct fs_ino src, uint64_t src_off,
		    uint64_t len, struct fs_ino dst, uint64_t dst_off);
/* One extent of a file, as FIEMAP reports it (fs/fiemap.c). Holes are
 * not reported. */
struct fs_fiemap_extent {
	uint64_t logical;	/* file offset */
	uint64_t physical;	/* disk address of its first byte (inline: 0;
				 * compressed: the extent's start) */
	uint64_t length;	/* file bytes it covers */
	unsigned flags;		/* FS_FIEMAP_* */
};
#define FS_FIEMAP_INLINE (1u << 0)	/* data inside the tree item */
#define FS_FIEMAP_UNWRITTEN (1u << 1)	/* preallocated, reads as zeros */
#define FS_FIEMAP_ENCODED (1u << 2)	/* compressed */
#define FS_FIEMAP_SHARED (1u << 3)	/* another item refers to it too */
/* Called for each extent in file order, with no lock of the filesystem
 * held. 0 goes on, 1 stops (fs_fiemap returns 0), <0 stops with it. */
typedef int (*fs_fiemap_fn)(void *ctx, const struct fs_fiemap_extent *e);
int fs_fiemap(struct fs_info *fs, struct fs_ino ino, fs_fiemap_fn fn,
	      void *ctx);
/* Make the device (and filesystem) size bytes: grow, or shrink after
 * moving the chunks past the new end (fs/resize.c). */
int fs_resize(struct fs_info *fs, uint64_t size);
int fs_resize_cancel(struct fs_info *fs);
/* A file extent item written at generation gen or later, for
 * fs_find_new (fs/find_new.c: `subvolume find-new`). */
struct fs_new_extent {
	uint64_t ino, offset;	/* its key: inode, file offset */
	uint64_t len;		/* num_bytes (inline: ram_bytes) */
	uint64_t disk_start;	/* disk_bytenr (0: inline or a hole) */
	uint64_t disk_offset;	/* offset into the disk extent */
	uint64_t gen;		/* generation that wrote it */
	uint8_t type;		/* BTRFS_FILE_EXTENT_* */
	uint8_t compression;	/* 0: none */
};
/* Called in key order with no lock held: 0 goes on, 1 stops (0 is
 * returned), <0 stops with it. */
typedef int (*fs_new_extent_fn)(void *ctx, const struct fs_new_extent *e);
int fs_find_new(struct fs_info *fs, uint64_t root, uint64_t gen,
		fs_new_extent_fn fn, void *ctx);
/* Find equal ranges of at least min bytes across files by their data
 * checksums and dedupe them (fs/dedupe_scan.c): a task with progress
 * ("hashing", "deduping"), cancellable (-ECANCELED). */
struct fs_dedupe_scan_report {
	uint64_t files;		/* files scanned */
	uint64_t bytes;		/* bytes of data with checksums hashed */
	uint64_t ranges;	/* ranges deduped */
	uint64_t deduped;	/* bytes deduped */
	uint64_t differed;	/* candidate ranges the byte compare refused */
};
int fs_dedupe_scan(struct fs_info *fs, const struct fs_ino *files,
		   uint32_t nfiles, uint64_t min,
		   struct fs_dedupe_scan_report *rep);
/* Rewrite the fragmented ranges of a regular file into extents of up to
 * target bytes and point every other reference to the old data at them,
 * sharing kept (fs/defrag.c): a task with progress, cancellable between
 * steps (-ECANCELED). */
struct fs_defrag_opts {
	uint64_t start, len;	/* file range; len 0: to the end */
	uint64_t target;	/* extent size aimed at; 0: 32 MiB */
};
struct fs_defrag_report {
	uint64_t runs;		/* ranges rewritten */
	uint64_t bytes;		/* bytes rewritten */
	uint64_t items;		/* file extent items repointed */
	uint64_t blocks;	/* tree blocks copied */
	uint64_t trees;		/* trees changed (per pass) */
	uint64_t trees_total;	/* trees stepped (per pass) */
	uint64_t steps;		/* commits */
	uint64_t longest_step_ns; /* the longest of them */
	uint64_t longest_step_cpu_ns; /* the most CPU time one took (on a
				 * loaded machine, far less than its
				 * wall time) */
	uint64_t most_step_blocks; /* the most tree blocks one commit
				 * copied or freed */
};
int fs_defrag(struct fs_info *fs, struct fs_ino ino,
	      const struct fs_defrag_opts *o, struct fs_defrag_report *rep);
int fs_chmod(struct fs_info *fs, struct fs_ino ino, uint32_t mode);
/* uid or gid (uint32_t)-1: unchanged. */
int fs_chown(struct fs_info *fs, struct fs_ino ino, uint32_t uid,
	     uint32_t gid);
int fs_mknod(struct fs_info *fs, const char *path, uint32_t mode,
	     uint64_t rdev, struct fs_ino *out);
/* A device number as inode items store it (Linux's in-kernel dev_t:
 * major in the bits above 20, minor in the low 20), and back. */
#define FS_MKDEV(major, minor) \
	(((uint64_t)(major) << 20) | ((uint64_t)(minor) & 0xfffff))
#define FS_MAJOR(rdev) ((uint32_t)((rdev) >> 20))
#define FS_MINOR(rdev) ((uint32_t)((rdev) & 0xfffff))
int fs_utimes(struct fs_info *fs, struct fs_ino ino,
	      const struct fs_time *atime, const struct fs_time *mtime);


/*
 * Extended attributes (fs/xattr.c), with Linux's rules: names "user.",
 * "trusted." or "security." plus at least one byte (else -EOPNOTSUPP,
 * -EINVAL), 1..255 bytes (-ERANGE); values up to 64 KiB (-E2BIG) and,
 * with the name, one leaf item (-ENOSPC); "user." only on regular files
 * and directories (-EPERM to change, -ENODATA to read). A missing name is
 * -ENODATA; a buffer too small -ERANGE (size 0: *len gets the length).
 * fs_listxattr gives the names NUL-terminated, one after another.
 */
#define FS_XATTR_CREATE 0x1	/* fail with -EEXIST when name exists */
#define FS_XATTR_REPLACE 0x2	/* fail with -ENODATA when it does not */
#define FS_XATTR_NAME_MAX 255	/* longest name, bytes */
#define FS_XATTR_SIZE_MAX 65536	/* longest value, bytes */

int fs_setxattr(struct fs_info *fs, struct fs_ino ino, const char *name,
		const void *value, size_t size, unsigned flags);
int fs_getxattr(struct fs_info *fs, struct fs_ino ino, const char *name,
		void *buf, size_t size, size_t *len);
int fs_listxattr(struct fs_info *fs, struct fs_ino ino, char *buf,
		 size_t size, size_t *len);
int fs_removexattr(struct fs_info *fs, struct fs_ino ino, const char *name);

/* fs_lookup flags */
#define FS_LOOKUP_FOLLOW (1u << 0)	/* follow a symlink in the last part */

int fs_lookup(struct fs_info *fs, const char *path, unsigned flags,
	      struct fs_ino *out);
int fs_stat(struct fs_info *fs, struct fs_ino ino, struct fs_stat *st);

/* Entry types fs_readdir reports (btrfs's BTRFS_FT_* values). */
#define FS_FT_REG 1		/* regular file */
#define FS_FT_DIR 2		/* directory */
#define FS_FT_CHRDEV 3		/* character device */
#define FS_FT_BLKDEV 4		/* block device */
#define FS_FT_FIFO 5		/* named pipe */
#define FS_FT_SOCK 6		/* socket */
#define FS_FT_SYMLINK 7		/* symbolic link */

/*
 * Called by fs_readdir for each entry, in index (creation) order. name is
 * is NUL terminated too (a name holds no NUL). type is a BTRFS_FT_* value
 * (FS_FT_* above, or another kind ghee does not make).
 * Return 0 to go on, 1 to stop quietly (fs_readdir returns 0), or a
 * negative errno to stop with that error.
 */
typedef int (*fs_filldir_t)(void *ctx, const char *name, size_t name_len,
			    struct fs_ino ino, unsigned type);
int fs_readdir(struct fs_info *fs, struct fs_ino dir, fs_filldir_t fn,
	       void *ctx);

int fs_read(struct fs_info *fs, struct fs_ino ino, uint64_t off, void *buf,
	    size_t len, size_t *done);
/*
 * What fs_read_crcs hands back besides the bytes: have[i] says that
 * sector i of the caller's buffer (its bytes [i * 4096, (i + 1) * 4096))
 * was read straight from the disk into it and matched its data checksum,
 * and crc[i] is that checksum (~crc32c(~0u, sector, 4096)): so send
 * continues its stream CRC over the sector without reading it again
 * (crc32c_4k_known). Only on crc32c filesystems of 4 KiB sectors; other
 * sectors (holes, inline, compressed, a partial last sector, NODATASUM)
 * have none. n: the entries of both arrays.
 */
struct fs_read_crcs {
	uint32_t n;
	uint32_t *crc;
	uint8_t *have;
};
/* fs_read, and the checksums of the sectors it verified into out. */
int fs_read_crcs(struct fs_info *fs, struct fs_ino ino, uint64_t off,
		 void *buf, size_t len, size_t *done,
		 struct fs_read_crcs *out);
int fs_readlink(struct fs_info *fs, struct fs_ino ino, char *buf,
		size_t len, size_t *done);

/* One subvolume, for fs_subvol_list. */
struct fs_subvol {
	uint64_t id;		/* subvolume id */
	uint64_t parent;	/* id of the subvolume holding its entry */
	uint64_t generation;	/* root item generation */
	uint64_t dirid;		/* directory in the parent holding it */
	int read_only;		/* snapshot made read-only */
	uint64_t otransid;	/* transaction that made it */
	struct fs_time otime;	/* when it was made */
	uint8_t uuid[16];	/* its UUID */
	uint8_t parent_uuid[16];	/* the snapshot source's, or zero */
	uint8_t received_uuid[16];	/* set by receive, or zero */
	uint64_t stransid;	/* receive: the sent subvolume's ctransid */
	uint64_t rtransid;	/* receive: the transaction it ended in */
	struct fs_time rtime;	/* receive: when it ended, or zero */
	char path[1024];	/* path from the top level, "" for 5 */
};
typedef int (*fs_subvol_fn)(void *ctx, const struct fs_subvol *sv);

/* fs_subvol_snapshot flags */
#define FS_SNAP_RDONLY (1u << 0)	/* a read-only snapshot */

/* Quota groups a new subvolume's qgroup joins (subvolume create -i). */
#define FS_QGROUP_INHERIT_MAX 16
struct fs_qgroup_inherit {
	uint32_t n;
	uint64_t ids[FS_QGROUP_INHERIT_MAX];	/* level > 0 qgroup ids */
};

int fs_subvol_create(struct fs_info *fs, const char *path);
int fs_subvol_create_inherit(struct fs_info *fs, const char *path,
			     const struct fs_qgroup_inherit *qi);
int fs_subvol_snapshot(struct fs_info *fs, const char *src, const char *dst,
		       unsigned flags);
int fs_subvol_snapshot_inherit(struct fs_info *fs, const char *src,
			       const char *dst, unsigned flags,
			       const struct fs_qgroup_inherit *qi);
int fs_subvol_list(struct fs_info *fs, fs_subvol_fn fn, void *ctx);
int fs_subvol_get(struct fs_info *fs, const char *path, struct fs_subvol *sv);
int fs_subvol_set_ro(struct fs_info *fs, const char *path, int ro);
int fs_subvol_default_get(struct fs_info *fs, uint64_t *id);
int fs_subvol_set_default(struct fs_info *fs, uint64_t id);
int fs_subvol_delete(struct fs_info *fs, const char *path, uint64_t id);
/* Wait until every deleted subvolume (or the one with this id) is dropped
 * by the cleaner. */
int fs_subvol_sync(struct fs_info *fs);
int fs_subvol_sync_id(struct fs_info *fs, uint64_t id);

/*
 * Receive (fs/receive*.c): apply send streams read through read (up to
 * len bytes; how many, 0 at the end, or <0) under directory dir, or with
 * fs_receive_dump print them as btrfs receive --dump does (fs may be
 * NULL). What there is to say goes to say: a dump line (OUT), a note
 * (INFO: "At subvol NAME"), or an error message (ERROR; err the negative
 * errno behind it, or 0 when msg says all). Both return 0 or the
 * negative errno that stopped them (each error said).
 * fs_subvol_find_sent: the subvolume a stream names by its sender's UUID
 * and ctransid (received from it, else the original; -ENOENT).
 * fs_subvol_set_received: BTRFS_IOC_SET_RECEIVED_SUBVOL on path.
 */
enum fs_receive_say {
	FS_RECEIVE_OUT,		/* a line of output, no newline */
	FS_RECEIVE_INFO,	/* a note for the error stream */
	FS_RECEIVE_ERROR,	/* an error */
};
struct fs_receive_args {
	const char *dir;	/* directory the subvolumes go in */
	const char *shown_dir;	/* dir as messages name it */
	long (*read)(void *ctx, void *buf, size_t len);
	void *read_ctx;
	int honor_end;		/* -e: stop at the first END */
	uint64_t max_errors;	/* -E: stop after so many; 0: never */
	int force_decompress;	/* --force-decompress: ENCODED_WRITE data
				 * is inflated and written, never stored
				 * as it comes */
	void (*say)(void *ctx, enum fs_receive_say kind, const char *msg,
		    int err);
	void *say_ctx;
};
int fs_receive(struct fs_info *fs, const struct fs_receive_args *a);
int fs_receive_dump(const struct fs_receive_args *a);
int fs_subvol_find_sent(struct fs_info *fs, const uint8_t *uuid,
			uint64_t transid, uint64_t *id);
int fs_subvol_set_received(struct fs_info *fs, const char *path,
			   const uint8_t *uuid, uint64_t stransid);

/* One quota group, for fs_qgroup_list (qgroup.c). */
#define FS_QGROUP_REL_MAX 64
struct fs_qgroup {
	uint64_t id;		/* level << 48 | number */
	uint64_t rfer, excl;	/* referenced, exclusive bytes */
	uint64_t lim_flags;	/* BTRFS_QGROUP_LIMIT_* set */
	uint64_t max_rfer, max_excl;	/* limits, bytes */
	uint32_t nparents, nchildren;
	uint64_t parents[FS_QGROUP_REL_MAX];	/* groups it is in */
	uint64_t children[FS_QGROUP_REL_MAX];	/* its members, directly or
						 * through others */
	int subvol_exists;	/* level 0: its subvolume is there */
};
typedef int (*fs_qgroup_fn)(void *ctx, const struct fs_qgroup *g);

int fs_quota_enable(struct fs_info *fs);
int fs_quota_disable(struct fs_info *fs);
int fs_quota_rescan(struct fs_info *fs);
int fs_quota_rescan_wait(struct fs_info *fs);
int fs_quota_status(struct fs_info *fs, uint64_t *flags,
		    uint64_t *progress);
int fs_qgroup_create(struct fs_info *fs, uint64_t id);
int fs_qgroup_destroy(struct fs_info *fs, uint64_t id);
int fs_qgroup_relation(struct fs_info *fs, uint64_t src, uint64_t dst,
		       int assign);
int fs_qgroup_limit(struct fs_info *fs, uint64_t id, uint64_t which,
		    uint64_t bytes);
int fs_qgroup_list(struct fs_info *fs, fs_qgroup_fn fn, void *ctx);

/* Space figures for df: one row per chunk type and profile. */
struct fs_space {
	uint64_t type;		/* BTRFS_BLOCK_GROUP_* type and profile */
	uint64_t total;		/* bytes of chunks */
	uint64_t used;		/* bytes used in them */
};
#define FS_SPACE_MAX 8
struct fs_df {
	uint64_t dev_size;	/* device bytes */
	uint64_t total_bytes;	/* filesystem size (super) */
	uint64_t bytes_used;	/* super bytes_used */
	uint32_t nspace;	/* rows in space[] */
	struct fs_space space[FS_SPACE_MAX];
};
int fs_df(struct fs_info *fs, struct fs_df *df);

/* What names a filesystem and its device (fs/ident.c). */
#define FS_DEV_STATS 5	/* write, read, flush, corruption, generation */
struct fs_ident {
	char label[256];	/* NUL-terminated; "" when none */
	uint8_t fsid[16];	/* the filesystem's UUID */
	uint64_t devid;		/* this device's id (1) */
	uint64_t num_devices;	/* devices of the filesystem */
	uint64_t dev_size;	/* bytes of the device the filesystem uses */
	uint64_t disk_size;	/* bytes the disk holds (dev_size or more) */
	uint32_t sectorsize;	/* data block bytes */
	uint64_t dev_stats[FS_DEV_STATS];	/* error counters, in the
						 * order above */
};
int fs_ident(struct fs_info *fs, struct fs_ident *id);
/* Set the label (at most 255 bytes: -EINVAL) and commit it. -EROFS. */
int fs_label_set(struct fs_info *fs, const char *label);
/* Zero the device's error counters (committed when any was not). */
int fs_dev_stats_reset(struct fs_info *fs);
/*
 * balance (fs/balance*.c): relocate the block groups the filters choose
 * (btrfs balance's filters, one set per type: data, metadata, system).
 * A balance is recorded by an item in the root tree while it runs or is
 * paused (Linux's), and resumed at a read-write mount.
 */
#define FS_BAL_USAGE (1u << 0)		/* usage_min..usage_max percent */
#define FS_BAL_LIMIT (1u << 1)		/* limit_min..limit_max groups */
#define FS_BAL_DEVID (1u << 2)		/* a stripe on devid */
#define FS_BAL_DRANGE (1u << 3)		/* a stripe in [pstart, pend) */
#define FS_BAL_VRANGE (1u << 4)		/* logical range meets [vstart, vend) */
#define FS_BAL_PROFILES (1u << 5)	/* profile in profiles */
#define FS_BAL_CONVERT (1u << 6)	/* rewrite into profile target */
#define FS_BAL_SOFT (1u << 7)		/* convert: skip groups already so */
#define FS_BAL_STRIPES (1u << 8)	/* stripes_min..stripes_max stripes */
/* The profile bit standing for SINGLE in profiles and target (btrfs's
 * "avail alloc" single bit). */
#define FS_BAL_SINGLE (1ull << 48)
struct fs_balance_filter {
	unsigned flags;			/* FS_BAL_* given */
	uint64_t usage_min, usage_max;	/* percent used */
	uint64_t limit_min, limit_max;	/* groups of this type */
	uint64_t devid;
	uint64_t pstart, pend;		/* device bytes */
	uint64_t vstart, vend;		/* logical bytes */
	uint64_t profiles;		/* BLOCK_GROUP_* profile bits */
	uint64_t target;		/* convert: profile bits */
	uint32_t stripes_min, stripes_max;
};
/* fs_balance types */
#define FS_BAL_DATA 0
#define FS_BAL_META 1
#define FS_BAL_SYS 2
/* fs_balance state (btrfs's BTRFS_BALANCE_STATE_* bits) */
#define FS_BAL_RUNNING (1u << 0)
#define FS_BAL_PAUSE_REQ (1u << 1)
#define FS_BAL_CANCEL_REQ (1u << 2)
struct fs_balance {
	unsigned types;			/* 1 << FS_BAL_DATA ...: types to
					 * relocate */
	int force;			/* -f given */
	int resumed;			/* resumed (at mount or by resume):
					 * btrfs's RESUME flag */
	struct fs_balance_filter f[3];	/* per type */
	unsigned state;			/* FS_BAL_* state (out) */
	uint64_t expected;		/* block groups to relocate (out) */
	uint64_t considered;		/* block groups looked at (out) */
	uint64_t relocated;		/* block groups relocated (out) */
};
/*
 * Start balance b: its item is committed, then it runs to its end in the
 * calling task (background 0) or in a task of its own (background 1:
 * returns once started). In the foreground b gets the figures; a pause
 * or cancel from another command ends it with -ECANCELED and b->state
 * saying which was asked; a stop of the calling task (Ctrl-C, kill)
 * cancels it. -EINPROGRESS when a balance runs or is paused, -EROFS.
 */
int fs_balance_start(struct fs_info *fs, struct fs_balance *b,
		     int background);
/* Resume the paused balance in the calling task, as fs_balance_start in
 * the foreground; *b gets its request and figures. -ENOTCONN when none
 * is paused, -EINPROGRESS when it runs. */
int fs_balance_resume(struct fs_info *fs, struct fs_balance *b);
/* Pause the running balance once its current group is done, keeping its
 * item; returns when it stopped. -ENOTCONN when none runs. */
int fs_balance_pause(struct fs_info *fs);
/* Cancel the running or paused balance and delete its item; returns when
 * it stopped. -ENOTCONN when there is none. */
int fs_balance_cancel(struct fs_info *fs);
/* The running or paused balance's request, state and figures.
 * -ENOTCONN when there is none. */
int fs_balance_status(struct fs_info *fs, struct fs_balance *b);
/* The flags btrfs's balance args carry for f (BTRFS_BALANCE_ARGS_*), as
 * `balance status -v` prints them. */
uint64_t fs_balance_args_flags(const struct fs_balance_filter *f);
const char *fs_space_type_name(uint64_t type);
const char *fs_space_profile_name(uint64_t type);

/*
 * fsck: check the last committed state (fs/check.c). Every problem is
 * printed ("error: fsck: ..."); rep says what was checked and how many
 * problems were found. Returns 0 when clean, -EUCLEAN when problems were
 * found, or another negative errno when the check itself failed.
 */
struct fs_check_report {
	uint64_t generation;	/* the commit checked */
	uint64_t trees;		/* trees walked */
	uint64_t tree_blocks;	/* distinct tree blocks */
	uint64_t extents;	/* extent items */
	uint64_t backrefs;	/* back-references, inline and keyed */
	uint64_t block_groups;	/* block group items */
	uint64_t chunks;	/* chunk items */
	uint64_t dev_extents;	/* device extent items */
	uint64_t csum_bytes;	/* bytes of data with checksums */
	uint64_t sums_needed;	/* file extents whose data was looked up
				 * for checksums: once per leaf, however
				 * many trees share it */
	uint64_t qgroup_sets;	/* distinct sets of subvolumes reaching
				 * extents, each counted in the quota
				 * groups once however many extents
				 * share it */
	uint64_t inodes;	/* inodes of subvolume trees */
	uint64_t dir_entries;	/* directory index entries */
	uint64_t errors;	/* problems found */
};
int fs_check(struct fs_info *fs, struct fs_check_report *rep);

/*
 * Scrub (fs/scrub*.c): read every copy of every tree block and of every
 * data block of the last commit, verify it, and rewrite a bad copy from
 * a good one. Counts as Linux's scrub keeps them (btrfs scrub status
 * -R); errors in sectors. The scrub updates *p as it goes (atomically,
 * field by field: another task may copy it for a status). A task with
 * progress ("scrubbing", bytes); cancellable (-ECANCELED, p->last_physical
 * says how far it got). Returns 0 when it ran to the end (errors found
 * are counted, not returned), or the error that stopped it.
 */
struct fs_scrub_progress {
	uint64_t data_extents_scrubbed;	/* data extents, per 64 KiB stripe
					 * of each copy they lie in */
	uint64_t tree_extents_scrubbed;	/* tree blocks, per copy */
	uint64_t data_bytes_scrubbed;	/* bytes of data read, all copies */
	uint64_t tree_bytes_scrubbed;	/* bytes of tree blocks read */
	uint64_t read_errors;		/* sectors the device failed */
	uint64_t csum_errors;		/* data sectors with a bad
					 * checksum */
	uint64_t verify_errors;		/* tree-block sectors with a bad
					 * checksum or header, or failing
					 * the tree checker */
	uint64_t no_csum;		/* data sectors without a checksum */
	uint64_t csum_discards;		/* (Linux: always 0) */
	uint64_t super_errors;		/* bad superblock copies */
	uint64_t malloc_errors;		/* (always 0: no memory fails the
					 * scrub instead) */
	uint64_t uncorrectable_errors;	/* sectors no copy could repair */
	uint64_t corrected_errors;	/* sectors repaired from a copy */
	uint64_t last_physical;		/* device byte scrubbed up to */
};
struct fs_scrub_args {
	int readonly;		/* -r: report, never rewrite */
	uint64_t start;		/* device byte to start at (resume: the
				 * last run's last_physical); 0: all */
	uint64_t limit;		/* bytes per second read at most; 0: no
				 * limit (read atomically: may change
				 * while it runs) */
};
int fs_scrub(struct fs_info *fs, const struct fs_scrub_args *a,
	     struct fs_scrub_progress *p);

/*
 * Back-references (fs/backref_path.c): who uses a data extent, and the
 * names of an inode. fs_logical_resolve calls fn for every (subvolume,
 * inode, file offset) whose file extent points at the data extent holding
 * address logical, in (root, ino, offset) order, as the current state
 * (with changes not yet committed) has them; with FS_LOGICAL_IGNORE_OFFSET
 * for every file extent on that extent, at its own file offset. Returns
 * 0, -ENOENT when no data extent holds logical (a tree block is none),
 * or <0. fs_inode_paths calls fn for every name of an inode, a
 * path relative to its subvolume's top directory. fs_subvol_path: a
 * subvolume's path from the top level ("" for 5). fn may call fs/.
 */
#define FS_LOGICAL_IGNORE_OFFSET (1u << 0)
struct fs_logical_hit {
	uint64_t root, ino, offset;
};
typedef int (*fs_logical_fn)(void *ctx, const struct fs_logical_hit *h);
int fs_logical_resolve(struct fs_info *fs, uint64_t logical, unsigned flags,
		       fs_logical_fn fn, void *ctx);
typedef int (*fs_path_fn)(void *ctx, const char *path);
int fs_inode_paths(struct fs_info *fs, struct fs_ino ino, fs_path_fn fn,
		   void *ctx);
int fs_subvol_path(struct fs_info *fs, uint64_t id, char *buf, size_t cap);

/* Diagnostics in the layout of btrfs inspect-internal. */
int fs_dump_super(struct fs_info *fs);
int fs_dump_tree(struct fs_info *fs, const char *tree);

#endif
