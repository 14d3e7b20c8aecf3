/*
 * Block device service. A disk is a struct blkdev named vda, vdb, ... in the
 * order the disks were given (QEMU: virtio-blk in PCI order; host: image file
 * arguments).
 *
 * Two ways to do I/O:
 *   - synchronous: blk_read, blk_write, blk_flush, blk_discard,
 *     blk_write_zeroes sleep until the I/O completes;
 *   - asynchronous: fill a struct bio (scatter-gather buffers, a completion
 *     callback) and blk_submit() it; many may be in flight. The kernel's
 *     block layer (kernel/block) merges adjacent bios, splits them to the
 *     device's limits and makes the submitter wait when the device queue is
 *     full (back-pressure), so blk_submit may sleep but never drops a bio.
 *
 * Error contract (both ways): -EINVAL for a misaligned request (offset or
 * length not a multiple of block_size, or buffers that do not add up to the
 * length), -ENXIO for a request past the end, -EROFS for a write to a
 * read-only disk, -EIO for a device error, -EOPNOTSUPP for an operation
 * the device does not offer. The first three are found before the device
 * sees the request and are returned by blk_submit itself (the callback is
 * then not called); device errors arrive in bio->status.
 */
#ifndef GHEE_BLK_H
#define GHEE_BLK_H

#include <stddef.h>
#include <stdint.h>

struct blkdev_ops;
struct bio;

/* Features a disk offers (struct blkdev.features). */
#define BLK_FEAT_FLUSH		(1u << 0)	/* volatile write cache: flush it */
#define BLK_FEAT_DISCARD	(1u << 1)	/* BLK_OP_DISCARD works */
#define BLK_FEAT_WRITE_ZEROES	(1u << 2)	/* BLK_OP_WRITE_ZEROES works */

struct blkdev {
	char name[8];		/* "vda", "vdb", ... [I] */
	uint64_t size;		/* capacity in bytes [I] */
	uint32_t block_size;	/* logical block size in bytes: 512 or 4096 [I] */
	int read_only;		/* writes fail with -EROFS [I] */
	uint32_t features;	/* BLK_FEAT_* [I] */
	char id[24];		/* device serial ("" when unknown) [I] */
	int nr_queues;		/* hardware queues in use (1 when unknown) [I] */
	int queue_depth;	/* requests in flight per queue at most [I] */
	uint32_t max_bytes;	/* largest read/write request, bytes [I] */
	uint32_t max_segments;	/* buffers per request at most [I] */
	const struct blkdev_ops *ops;	/* synchronous driver calls [I] */
	/* Start bio; bio->end_io runs when it is done. 0 or -errno (then
	 * end_io is not called). NULL: only ops (see below). [I] */
	int (*submit)(struct blkdev *dev, struct bio *bio);
	void *priv;		/* driver state [I] */
	void *queue;		/* kernel block layer's queue, or NULL [I] */
};

/*
 * Driver callbacks. A driver gives either blkdev.submit (asynchronous; the
 * kernel block layer provides it) or these synchronous ones (image files
 * on the host); either sees only requests that passed the checks.
 */
struct blkdev_ops {
	int (*read)(struct blkdev *dev, uint64_t off, void *buf, size_t len);
	int (*write)(struct blkdev *dev, uint64_t off, const void *buf,
		     size_t len);
	int (*flush)(struct blkdev *dev);
};

enum blk_op {
	BLK_OP_READ,
	BLK_OP_WRITE,
	BLK_OP_FLUSH,		/* make every completed write durable */
	BLK_OP_DISCARD,		/* the range's contents become undefined */
	BLK_OP_WRITE_ZEROES,	/* the range reads back as zeros */
};

/* One buffer of a bio: len bytes at base (kernel memory, identity-mapped,
 * so any buffer the allocator gives is physically contiguous). */
struct bio_vec {
	void *base;
	uint32_t len;
};

/*
 * An asynchronous request. The caller fills the fields down to private and
 * keeps the bio and its buffers alive until end_io. end_io may run in
 * interrupt context (or inside blk_submit): it must not sleep, so it may
 * call complete() but not blk_submit().
 */
struct bio {
	struct blkdev *dev;
	enum blk_op op;
	uint64_t off;		/* byte offset on the disk */
	uint64_t len;		/* bytes; for read/write the sum of vecs' len */
	struct bio_vec *vecs;	/* read/write buffers; unused otherwise */
	int nr_vecs;
	void (*end_io)(struct bio *bio);
	void *private;		/* for end_io */
	int status;		/* set before end_io: 0 or -errno */
	/* Block layer state (kernel/block), not for callers. */
	struct bio *next;	/* on a queue's pending list */
	int vec_idx;		/* next buffer to dispatch */
	uint32_t vec_off;	/* bytes of it already dispatched */
	uint64_t done;		/* bytes dispatched */
	int parts;		/* dispatched requests not yet completed */
};

/* Number of disks, and the i-th (0-based) or NULL. */
int blk_count(void);
struct blkdev *blk_get(int i);
/* The disk with this name ("vda"), or NULL. */
struct blkdev *blk_lookup(const char *name);

/* Read/write len bytes at byte offset off; both multiples of block_size. */
int blk_read(struct blkdev *dev, uint64_t off, void *buf, size_t len);
int blk_write(struct blkdev *dev, uint64_t off, const void *buf, size_t len);
/* Make every completed write durable. */
int blk_flush(struct blkdev *dev);
/* Discard or zero len bytes at off (-EOPNOTSUPP when not offered). */
int blk_discard(struct blkdev *dev, uint64_t off, uint64_t len);
int blk_write_zeroes(struct blkdev *dev, uint64_t off, uint64_t len);

/* Check bio and start it; see the error contract above. */
int blk_submit(struct bio *bio);
/* Wait for bio to end (it is submitted here, end_io and private are
 * overwritten) and return its status. */
int blk_submit_wait(struct bio *bio);
/* An end_io that completes the struct completion in bio->private: for a
 * caller that submits several bios and waits for each. */
void blk_end_io_complete(struct bio *bio);

/* Register a disk; the next free name is given to it. 0 or -ENOSPC. */
int blk_register(struct blkdev *dev);

#endif
