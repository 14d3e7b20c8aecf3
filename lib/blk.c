/*
 * Block device registry and request checks, shared by the kernel and the
 * host build. Drivers register disks in discovery order and get the names
 * vda, vdb, ...; blk_read/blk_write/blk_flush check each request against
 * the error contract in include/ghee/blk.h before the driver sees it.
 *
 * The registry is filled at boot (or host start-up) before the shell runs
 * and is read-only afterwards, so it needs no lock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ghee/blk.h>
#include <ghee/log.h>

#define BLK_MAX 26	/* vda .. vdz */

static struct blkdev *disks[BLK_MAX];
static int nr_disks;

int blk_register(struct blkdev *dev)
{
	if (nr_disks == BLK_MAX)
		return -ENOSPC;
	snprintf(dev->name, sizeof(dev->name), "vd%c", 'a' + nr_disks);
	disks[nr_disks++] = dev;
	return 0;
}

int blk_count(void)
{
	return nr_disks;
}

struct blkdev *blk_get(int i)
{
	return i >= 0 && i < nr_disks ? disks[i] : NULL;
}

struct blkdev *blk_lookup(const char *name)
{
	int i;

	for (i = 0; i < nr_disks; i++)
		if (strcmp(disks[i]->name, name) == 0)
			return disks[i];
	return NULL;
}

/* Check a request's alignment and range; print why it is refused. */
static int check_request(struct blkdev *dev, uint64_t off, size_t len,
			 const char *op)
{
	if (off % dev->block_size || len % dev->block_size) {
		pr_err("%s: %s of %zu bytes at %llu is not aligned to the "
		       "%u-byte block size", dev->name, op, len,
		       (unsigned long long)off, dev->block_size);
		return -EINVAL;
	}
	if (off > dev->size || len > dev->size - off) {
		pr_err("%s: %s of %zu bytes at %llu is past the end of the "
		       "disk (%llu bytes)", dev->name, op, len,
		       (unsigned long long)off,
		       (unsigned long long)dev->size);
		return -ENXIO;
	}
	return 0;
}

int blk_read(struct blkdev *dev, uint64_t off, void *buf, size_t len)
{
	int ret = check_request(dev, off, len, "read");

	return ret ? ret : dev->ops->read(dev, off, buf, len);
}

int blk_write(struct blkdev *dev, uint64_t off, const void *buf, size_t len)
{
	int ret;

	if (dev->read_only) {
		pr_err("%s: the disk is read-only", dev->name);
		return -EROFS;
	}
	ret = check_request(dev, off, len, "write");
	return ret ? ret : dev->ops->write(dev, off, buf, len);
}

int blk_flush(struct blkdev *dev)
{
	return dev->ops->flush(dev);
}
