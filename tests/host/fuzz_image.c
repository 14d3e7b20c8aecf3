/*
 * Fuzzed btrfs images as block devices for the mount targets; the input
 * format and the checksum repair are described in fuzz_image.h.
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <string.h>

#include "../../fs/csum_type.h"
#include "fuzz_image.h"

#define SUPER_CSUM_TYPE 0xc4	/* le16 in the superblock */

/* Give superblocks and tree blocks valid checksums (see fuzz_image.h). */
static void fix_csums(struct fuzz_image *im, uint64_t off, uint8_t *buf,
		      size_t len)
{
	if (len == 4096 && (off == 65536 || off == 64ULL << 20)) {
		im->csum_type = (uint16_t)(buf[SUPER_CSUM_TYPE] |
					   buf[SUPER_CSUM_TYPE + 1] << 8);
		if (!csum_type_size(im->csum_type))
			return;	/* unknown: the mount refuses it */
		csum_header_set(im->csum_type, buf, len);
		memcpy(im->fsid, buf + 32, 16);
		im->have_fsid = 1;
	} else if (im->have_fsid && len >= 4096 && !(len & (len - 1)) &&
		   !memcmp(buf + 32, im->fsid, 16)) {
		csum_header_set(im->csum_type, buf, len);
	}
}

/* The last record for block b wins, like writing the blocks in order. */
static const uint8_t *find_block(const struct fuzz_image *im, uint64_t b)
{
	const uint8_t *hit = NULL;
	size_t i;

	for (i = 0; i < im->nrec; i++) {
		const uint8_t *r = im->data + i * (4 + FUZZ_BLOCK);
		uint32_t n = (uint32_t)r[0] | (uint32_t)r[1] << 8 |
			     (uint32_t)r[2] << 16 | (uint32_t)r[3] << 24;

		if (n == b)
			hit = r + 4;
	}
	return hit;
}

static int records_read(struct fuzz_image *im, uint64_t off, uint8_t *out,
			size_t len)
{
	while (len) {
		uint64_t b = off / FUZZ_BLOCK;
		size_t in = off % FUZZ_BLOCK, n = FUZZ_BLOCK - in;
		const uint8_t *blk = find_block(im, b);

		if (n > len)
			n = len;
		if (blk)
			memcpy(out, blk + in, n);
		else
			memset(out, 0, n);
		out += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int image_read(struct blkdev *d, uint64_t off, void *buf, size_t len)
{
	struct fuzz_image *im = d->priv;
	int ret = im->rw ? im->rw->ops->read(im->rw, off, buf, len) :
			   records_read(im, off, buf, len);

	if (ret == 0 && im->fix_csums)
		fix_csums(im, off, buf, len);
	return ret;
}

static int image_write(struct blkdev *d, uint64_t off, const void *buf,
		       size_t len)
{
	struct fuzz_image *im = d->priv;

	return im->rw->ops->write(im->rw, off, buf, len);
}

static int image_flush(struct blkdev *d)
{
	struct fuzz_image *im = d->priv;

	return im->rw->ops->flush(im->rw);
}

static const struct blkdev_ops ro_ops = { image_read, NULL, NULL };
static const struct blkdev_ops rw_ops = { image_read, image_write,
					  image_flush };

void fuzz_image_ro(struct fuzz_image *im, const uint8_t *data, size_t size)
{
	memset(im, 0, sizeof(*im));
	im->data = data;
	im->nrec = size / (4 + FUZZ_BLOCK);
	im->fix_csums = size % (4 + FUZZ_BLOCK) != 1;
	memcpy(im->dev.name, "fuzz", 5);
	im->dev.size = FUZZ_IMAGE_SIZE;
	im->dev.block_size = 512;
	im->dev.read_only = 1;
	im->dev.ops = &ro_ops;
	im->dev.priv = im;
}

int fuzz_image_rw(struct fuzz_image *im, const uint8_t *data, size_t size,
		  struct blkdev *rw)
{
	size_t i;
	int ret;

	fuzz_image_ro(im, data, size);
	for (i = 0; i < im->nrec; i++) {
		const uint8_t *r = data + i * (4 + FUZZ_BLOCK);
		uint64_t b = (uint32_t)r[0] | (uint32_t)r[1] << 8 |
			     (uint32_t)r[2] << 16 | (uint32_t)r[3] << 24;

		if (b >= rw->size / FUZZ_BLOCK)
			continue;	/* past the end: reads as missing */
		ret = rw->ops->write(rw, b * FUZZ_BLOCK, r + 4, FUZZ_BLOCK);
		if (ret)
			return ret;
	}
	ret = rw->ops->flush(rw);	/* no pending copies kept */
	if (ret)
		return ret;
	im->rw = rw;
	im->dev.read_only = 0;
	im->dev.block_size = rw->block_size;
	im->dev.features = rw->features;
	im->dev.ops = &rw_ops;
	return 0;
}

int fuzz_image_save(struct blkdev *dev, const char *path)
{
	static const uint8_t zero[FUZZ_BLOCK];
	uint8_t blk[FUZZ_BLOCK], num[4];
	FILE *f = fopen(path, "wb");
	uint64_t b;
	int ret = f ? 0 : -EIO;

	for (b = 0; ret == 0 && b < FUZZ_IMAGE_SIZE / FUZZ_BLOCK &&
		    b < dev->size / FUZZ_BLOCK; b++) {
		ret = dev->ops->read(dev, b * FUZZ_BLOCK, blk, FUZZ_BLOCK);
		if (ret || !memcmp(blk, zero, FUZZ_BLOCK))
			continue;
		num[0] = (uint8_t)b;
		num[1] = (uint8_t)(b >> 8);
		num[2] = (uint8_t)(b >> 16);
		num[3] = (uint8_t)(b >> 24);
		if (fwrite(num, 4, 1, f) != 1 ||
		    fwrite(blk, FUZZ_BLOCK, 1, f) != 1)
			ret = -EIO;
	}
	if (f && fclose(f))
		ret = -EIO;
	return ret;
}
