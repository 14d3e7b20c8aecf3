/*
 * Block device registry, request checks and the synchronous calls, shared
 * by the kernel and the host build. Drivers register disks in discovery
 * order and get the names vda, vdb, ...; every request (sync or bio) is
 * checked against the error contract in include/ghee/blk.h before the
 * driver sees it.
 *
 * A driver with a submit op (virtio-blk through kernel/block) gets every
 * request as a bio; the synchronous calls wrap one bio and sleep on a
 * completion. A driver with only read/write/flush (host image files) gets
 * the synchronous calls directly, and a bio is run synchronously inside
 * blk_submit, one buffer at a time, before end_io is called.
 *
 * The registry is filled at boot (or host start-up) before the shell runs
 * and is read-only afterwards, so it needs no lock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ghee/blk.h>
#include <ghee/log.h>
#include <ghee/sync.h>

#define BLK_MAX 26	/* vda .. vdz */

static struct blkdev *disks[BLK_MAX];
static int nr_disks;

static const char *const op_names[] = {
	[BLK_OP_READ] = "read", [BLK_OP_WRITE] = "write",
	[BLK_OP_FLUSH] = "flush", [BLK_OP_DISCARD] = "discard",
	[BLK_OP_WRITE_ZEROES] = "write-zeroes",
};

int blk_register(struct blkdev *dev)
{
	if (nr_disks == BLK_MAX)
		return -ENOSPC;
	snprintf(dev->name, sizeof(dev->name), "vd%c", 'a' + nr_disks);
	if (!dev->nr_queues)
		dev->nr_queues = 1;
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

/* Check a request's permission, alignment and range; print why it is
 * refused. */
static int check_request(struct blkdev *dev, enum blk_op op, uint64_t off,
			 uint64_t len)
{
	const char *what = op_names[op];

	if (op != BLK_OP_READ && op != BLK_OP_FLUSH && dev->read_only) {
		pr_err("%s: %s refused: the disk is read-only", dev->name,
		       what);
		return -EROFS;
	}
	if ((op == BLK_OP_DISCARD && !(dev->features & BLK_FEAT_DISCARD)) ||
	    (op == BLK_OP_WRITE_ZEROES &&
	     !(dev->features & BLK_FEAT_WRITE_ZEROES)))
		return -EOPNOTSUPP;
	if (op == BLK_OP_FLUSH)
		return 0;
	if (off % dev->block_size || len % dev->block_size) {
		pr_err("%s: %s of %llu bytes at %llu is not aligned to the "
		       "%u-byte block size", dev->name, what,
		       (unsigned long long)len, (unsigned long long)off,
		       dev->block_size);
		return -EINVAL;
	}
	if (off > dev->size || len > dev->size - off) {
		pr_err("%s: %s of %llu bytes at %llu is past the end of the "
		       "disk (%llu bytes)", dev->name, what,
		       (unsigned long long)len, (unsigned long long)off,
		       (unsigned long long)dev->size);
		return -ENXIO;
	}
	return 0;
}

/* Run bio with the driver's synchronous ops (drivers without submit). */
static int bio_run_sync(struct bio *bio)
{
	struct blkdev *dev = bio->dev;
	uint64_t off = bio->off;
	int i, ret = 0;

	switch (bio->op) {
	case BLK_OP_FLUSH:
		ret = dev->ops->flush(dev);
		break;
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		for (i = 0; i < bio->nr_vecs && !ret; i++) {
			struct bio_vec *v = &bio->vecs[i];

			ret = bio->op == BLK_OP_READ ?
			      dev->ops->read(dev, off, v->base, v->len) :
			      dev->ops->write(dev, off, v->base, v->len);
			off += v->len;
		}
		break;
	default:
		ret = -EOPNOTSUPP;
	}
	return ret;
}

int blk_submit(struct bio *bio)
{
	struct blkdev *dev = bio->dev;
	uint64_t sum = 0;
	int i, ret;

	ret = check_request(dev, bio->op, bio->off, bio->len);
	if (ret)
		return ret;
	if (bio->op == BLK_OP_READ || bio->op == BLK_OP_WRITE) {
		for (i = 0; i < bio->nr_vecs; i++)
			sum += bio->vecs[i].len;
		if (sum != bio->len || bio->nr_vecs <= 0) {
			pr_err("%s: bio buffers hold %llu bytes, not %llu",
			       dev->name, (unsigned long long)sum,
			       (unsigned long long)bio->len);
			return -EINVAL;
		}
	}
	if (bio->op == BLK_OP_FLUSH && !(dev->features & BLK_FEAT_FLUSH) &&
	    dev->submit) {
		bio->status = 0;	/* no volatile cache: nothing to do */
		bio->end_io(bio);
		return 0;
	}
	if (dev->submit)
		return dev->submit(dev, bio);
	bio->status = bio_run_sync(bio);
	bio->end_io(bio);
	return 0;
}

void blk_end_io_complete(struct bio *bio)
{
	complete(bio->private);
}

int blk_submit_wait(struct bio *bio)
{
	struct completion done;
	int ret;

	completion_init(&done);
	bio->end_io = blk_end_io_complete;
	bio->private = &done;
	ret = blk_submit(bio);
	if (ret)
		return ret;
	wait_for_completion(&done);
	return bio->status;
}

/* One synchronous request of op over a single buffer. */
static int blk_sync(struct blkdev *dev, enum blk_op op, uint64_t off,
		    void *buf, uint64_t len)
{
	struct bio_vec vec = { buf, (uint32_t)len };
	struct bio bio;

	memset(&bio, 0, sizeof(bio));
	bio.dev = dev;
	bio.op = op;
	bio.off = off;
	bio.len = len;
	if (op == BLK_OP_READ || op == BLK_OP_WRITE) {
		if (len > UINT32_MAX) {
			int ret = blk_sync(dev, op, off, buf, 1u << 31);

			return ret ? ret : blk_sync(dev, op, off + (1u << 31),
						    (char *)buf + (1u << 31),
						    len - (1u << 31));
		}
		bio.vecs = &vec;
		bio.nr_vecs = 1;
	}
	return blk_submit_wait(&bio);
}

int blk_read(struct blkdev *dev, uint64_t off, void *buf, size_t len)
{
	int ret = check_request(dev, BLK_OP_READ, off, len);

	if (ret || !len)
		return ret;
	if (!dev->submit)
		return dev->ops->read(dev, off, buf, len);
	return blk_sync(dev, BLK_OP_READ, off, buf, len);
}

int blk_write(struct blkdev *dev, uint64_t off, const void *buf, size_t len)
{
	int ret = check_request(dev, BLK_OP_WRITE, off, len);

	if (ret || !len)
		return ret;
	if (!dev->submit)
		return dev->ops->write(dev, off, buf, len);
	return blk_sync(dev, BLK_OP_WRITE, off, (void *)buf, len);
}

int blk_flush(struct blkdev *dev)
{
	if (!dev->submit)
		return dev->ops->flush(dev);
	return blk_sync(dev, BLK_OP_FLUSH, 0, NULL, 0);
}

int blk_discard(struct blkdev *dev, uint64_t off, uint64_t len)
{
	return blk_sync(dev, BLK_OP_DISCARD, off, NULL, len);
}

int blk_write_zeroes(struct blkdev *dev, uint64_t off, uint64_t len)
{
	return blk_sync(dev, BLK_OP_WRITE_ZEROES, off, NULL, len);
}
