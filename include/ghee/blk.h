/*
 * Block device service. A disk is a struct blkdev named vda, vdb, ... in the
 * order the disks were given (QEMU: virtio-blk in PCI order; host: image file
 * arguments). The synchronous calls below sleep until the I/O completes.
 *
 * Error contract: -EINVAL for a misaligned request (offset or length not a
 * multiple of block_size), -ENXIO for a request past the end,
 * -EROFS for a write to a read-only disk, -EIO for a device error,
 * -EOPNOTSUPP for an operation the device does not offer.
 */
#ifndef GHEE_BLK_H
#define GHEE_BLK_H

#include <stddef.h>
#include <stdint.h>

struct blkdev_ops;

struct blkdev {
	char name[8];		/* "vda", "vdb", ... [I] */
	uint64_t size;		/* capacity in bytes [I] */
	uint32_t block_size;	/* logical block size in bytes: 512 or 4096 [I] */
	int read_only;		/* writes fail with -EROFS [I] */
	const struct blkdev_ops *ops;	/* [I] */
	void *priv;		/* driver state [I] */
};

struct blkdev_ops {
	int (*read)(struct blkdev *dev, uint64_t off, void *buf, size_t len);
	int (*write)(struct blkdev *dev, uint64_t off, const void *buf,
		     size_t len);
	int (*flush)(struct blkdev *dev);
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

/* Register a disk; the next free name is given to it. 0 or -ENOSPC. */
int blk_register(struct blkdev *dev);

#endif
