/*
 * Send: a read-only subvolume as a btrfs send stream (fs/send*.c), the
 * stream `btrfs receive` applies. Public API, used by the shell.
 */
#ifndef FS_SEND_H
#define FS_SEND_H

#include <stddef.h>
#include <stdint.h>

struct fs_info;

/*
 * Where the stream goes: called with each piece of it in order, with no
 * filesystem lock held (a pipe to a receive on the same filesystem may
 * block it). Returns 0 or a negative errno, which stops the send.
 */
typedef int (*fs_send_write_t)(void *ctx, const void *buf, size_t len);

/* fs_send flags */
#define FS_SEND_NO_DATA (1u << 0)	/* --no-data: UPDATE_EXTENT, no WRITE */
#define FS_SEND_OMIT_HEADER (1u << 1)	/* not the first subvolume: no
					 * stream header */
#define FS_SEND_OMIT_END (1u << 2)	/* not the last subvolume: no END */
#define FS_SEND_COMPRESSED (1u << 3)	/* --compressed-data (version 2):
					 * compressed extents as stored,
					 * ENCODED_WRITE */

struct fs_send_opts {
	uint32_t proto;		/* stream version: 1 or 2 */
	uint64_t parent;	/* -p: id of the parent snapshot (an
				 * incremental send); 0: a full send */
	const uint64_t *clones;	/* -c: ids of read-only subvolumes the
				 * receiver has, to clone extents from */
	uint32_t nclones;	/* how many */
	unsigned flags;		/* FS_SEND_* */
	fs_send_write_t write;	/* the stream's sink */
	void *ctx;		/* its argument */
	uint64_t bytes;		/* out: stream bytes written */
	uint64_t restarts;	/* out: searches repeated after a
				 * relocation commit */
	uint64_t stale_clones;	/* out: clone sources sent as data
				 * because a relocation commit came
				 * during their lookup */
	uint64_t compared;	/* out: items an incremental send compared
				 * (subtrees shared with the parent are
				 * skipped, not compared) */
};

/*
 * Send subvolume id (named name in the stream's SUBVOL or SNAPSHOT
 * command): whole, or as the changes since o->parent, a read-only
 * snapshot the receiver has.
 * Runs in the calling task, reporting progress (ghee/progress.h) and
 * stopping with -ECANCELED when asked to. Returns 0, -EROFS when the
 * subvolume is not read-only, -ENOENT, -ECANCELED, an error of the sink,
 * or <0 from reading the filesystem.
 */
int fs_send(struct fs_info *fs, uint64_t id, const char *name,
	    struct fs_send_opts *o);

#endif
