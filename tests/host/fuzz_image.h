/*
 * Fuzzed btrfs images for the mount targets (tests/host/fuzz_image.c).
 *
 * A btrfs image is mostly zeros, so an input describes a sparse image:
 * records of a little-endian u32 block number followed by that 4 KiB
 * block. Blocks not given read as zeros; the image is FUZZ_IMAGE_SIZE
 * bytes. tests/host/fuzz_seed.py turns real images into such inputs.
 *
 * Checksums would stop almost every mutation at the first block read, so
 * by default the device "repairs" them: a 4 KiB read at a superblock
 * offset, or a read of a whole tree block (it carries the superblock's
 * fsid at byte 32), gets a fresh checksum of the superblock's type, and
 * the mutated structure reaches the tree checker and the code behind it.
 * An input one byte longer than a whole number of records keeps its
 * checksums as they are; other bytes past the last whole record are
 * ignored (so that a mutation changing the length keeps the repair).
 */
#ifndef FUZZ_IMAGE_H
#define FUZZ_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include <ghee/blk.h>

#define FUZZ_BLOCK 4096
#define FUZZ_IMAGE_SIZE (300ULL << 20)	/* what the seeds were made with */

struct fuzz_image {
	struct blkdev dev;	/* what the filesystem mounts */
	const uint8_t *data;	/* the fuzz input */
	size_t nrec;		/* records in it */
	int fix_csums;		/* recompute metadata checksums on read */
	uint8_t fsid[16];	/* fsid of the first superblock read */
	int have_fsid;
	uint16_t csum_type;	/* of that superblock */
	struct blkdev *rw;	/* writable copy (fuzz_image_rw), or NULL */
};

/* A read-only device over the records of data (kept by the caller). */
void fuzz_image_ro(struct fuzz_image *im, const uint8_t *data, size_t size);
/* A writable device: the records copied into the RAM disk rw (as big as
 * FUZZ_IMAGE_SIZE), which then takes every read and write; checksums are
 * still repaired on reads. 0 or -ENOMEM. */
int fuzz_image_rw(struct fuzz_image *im, const uint8_t *data, size_t size,
		  struct blkdev *rw);
/* Write the nonzero 4 KiB blocks of dev (its first FUZZ_IMAGE_SIZE
 * bytes) to path as an input of the above. 0 or a negative errno. */
int fuzz_image_save(struct blkdev *dev, const char *path);

#endif
