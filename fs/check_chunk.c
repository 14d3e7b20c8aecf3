/*
 * fsck, chunk side: the chunk tree's chunk items, the block group items
 * (read by check_extent.c) and the dev tree's device extents describe the
 * same allocations three ways, and must agree. See check.c for the whole
 * picture.
 *
 *  - Each chunk has one block group item with its start, length and
 *    type and profile flags, and each block group item has a chunk.
 *  - Each stripe of a chunk has a device extent (devid, DEV_EXTENT,
 *    physical) naming the chunk, with the stripe's length; each device
 *    extent is such a stripe. ghee mounts only SINGLE and DUP chunks
 *    (volumes.c), whose every stripe is a whole copy of the chunk.
 *  - A device's extents do not overlap, end inside the device (its dev
 *    item's total_bytes), and add up to the dev item's bytes_used.
 *
 * Chunk items come in logical order and block group items too, so the two
 * lists are compared in one pass; stripes are sorted by device and
 * physical offset, the order of device extents in the dev tree.
 *
 * Called by check_all(), reading the commit fs_check() reads.
 */
#include <ghee/errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "check.h"
#include "fs_info.h"

/* A chunk item. */
struct cchunk {
	u64 start, len;		/* logical range */
	u64 type;		/* BLOCK_GROUP_* type and profile */
};

/* A range of a device: a chunk's stripe, or a device extent. */
struct cdext {
	u64 devid, physical;	/* where it starts */
	u64 len;		/* bytes on the device */
	u64 chunk;		/* logical start of the chunk it belongs to */
};

/* A dev item. */
struct cdev {
	u64 devid;
	u64 total, used;	/* total_bytes, bytes_used as recorded */
	u64 found;		/* bytes of its device extents */
};

/* What the chunk tree and the dev tree say. */
struct chunks {
	struct vec chunks;	/* struct cchunk, by start */
	struct vec stripes;	/* struct cdext, of all chunks */
	struct vec devs;	/* struct cdev, by devid */
	struct vec dexts;	/* struct cdext, by devid and physical */
};

/* A CHUNK_ITEM (its size matches its stripes: tree_check.c). */
static int add_chunk(struct check *c, struct chunks *s, const struct key *k,
		     const u8 *item)
{
	struct cchunk *ch = vec_push(&s->chunks);
	u16 n = D_GET16(struct d_chunk, item, num_stripes), i;

	if (!ch)
		return -ENOMEM;
	ch->start = k->offset;
	ch->len = D_GET64(struct d_chunk, item, length);
	ch->type = D_GET64(struct d_chunk, item, type);
	for (i = 0; i < n; i++) {
		const u8 *st = item + sizeof(struct d_chunk) +
			       i * sizeof(struct d_stripe);
		struct cdext *d = vec_push(&s->stripes);

		if (!d)
			return -ENOMEM;
		d->devid = D_GET64(struct d_stripe, st, devid);
		d->physical = D_GET64(struct d_stripe, st, offset);
		d->len = ch->len;
		d->chunk = ch->start;
	}
	c->rep->chunks++;
	return 0;
}

/* One item of the chunk tree, into the struct chunks ctx. */
static int chunk_tree_item(struct check *c, void *ctx, const struct key *k,
			   const u8 *item, u32 size)
{
	struct chunks *s = ctx;
	struct cdev *d;

	if (k->objectid == BTRFS_FIRST_CHUNK_TREE_OBJECTID &&
	    k->type == BTRFS_CHUNK_ITEM_KEY)
		return add_chunk(c, s, k, item);
	if (k->objectid != BTRFS_DEV_ITEMS_OBJECTID ||
	    k->type != BTRFS_DEV_ITEM_KEY ||
	    size != sizeof(struct d_dev_item)) {
		check_err(c, "chunk tree: unexpected item (%llu %u %llu) of "
			  "%u bytes", (unsigned long long)k->objectid,
			  k->type, (unsigned long long)k->offset, size);
		return 0;
	}
	d = vec_push(&s->devs);
	if (!d)
		return -ENOMEM;
	d->devid = k->offset;
	d->total = D_GET64(struct d_dev_item, item, total_bytes);
	d->used = D_GET64(struct d_dev_item, item, bytes_used);
	return 0;
}

/* One item of the dev tree: device extents (device stats are not ours). */
static int dev_tree_item(struct check *c, void *ctx, const struct key *k,
			 const u8 *item, u32 size)
{
	struct chunks *s = ctx;
	struct cdext *d;

	if (k->type != BTRFS_DEV_EXTENT_KEY)
		return 0;
	if (size != sizeof(struct d_dev_extent)) {
		check_err(c, "dev extent (device %llu at %llu): item of %u "
			  "bytes", (unsigned long long)k->objectid,
			  (unsigned long long)k->offset, size);
		return 0;
	}
	d = vec_push(&s->dexts);
	if (!d)
		return -ENOMEM;
	d->devid = k->objectid;
	d->physical = k->offset;
	d->len = D_GET64(struct d_dev_extent, item, length);
	d->chunk = D_GET64(struct d_dev_extent, item, chunk_offset);
	c->rep->dev_extents++;
	return 0;
}

/* Each chunk has a block group item of its size and type, and back. */
static void match_block_groups(struct check *c, const struct vec *chunks)
{
	u64 i = 0, j = 0;

	while (i < chunks->n || j < c->bgs.n) {
		const struct cchunk *ch = i < chunks->n ? vec_at(chunks, i) :
							  NULL;
		const struct cbg *g = j < c->bgs.n ? vec_at(&c->bgs, j) : NULL;

		if (g && (!ch || g->start < ch->start)) {
			check_err(c, "block group %llu+%llu has no chunk",
				  (unsigned long long)g->start,
				  (unsigned long long)g->len);
			j++;
		} else if (!g || ch->start < g->start) {
			check_err(c, "chunk %llu+%llu has no block group item",
				  (unsigned long long)ch->start,
				  (unsigned long long)ch->len);
			i++;
		} else {
			if (g->len != ch->len || g->flags != ch->type)
				check_err(c, "chunk %llu+%llu type 0x%llx has "
					  "block group item %llu+%llu type "
					  "0x%llx", (unsigned long long)ch->start,
					  (unsigned long long)ch->len,
					  (unsigned long long)ch->type,
					  (unsigned long long)g->start,
					  (unsigned long long)g->len,
					  (unsigned long long)g->flags);
			i++;
			j++;
		}
	}
}

/* Order of struct cdext: device, then physical offset. */
static int cdext_cmp(const void *a, const void *b)
{
	const struct cdext *x = a, *y = b;

	if (x->devid != y->devid)
		return x->devid < y->devid ? -1 : 1;
	if (x->physical != y->physical)
		return x->physical < y->physical ? -1 : 1;
	return 0;
}

/* Each stripe has a device extent pointing back at its chunk, and back. */
static void match_dev_extents(struct check *c, struct chunks *s)
{
	struct vec *st = &s->stripes, *de = &s->dexts;
	u64 i = 0, j = 0;

	if (st->n)
		qsort(st->v, st->n, sizeof(struct cdext), cdext_cmp);
	while (i < st->n || j < de->n) {
		const struct cdext *a = i < st->n ? vec_at(st, i) : NULL;
		const struct cdext *d = j < de->n ? vec_at(de, j) : NULL;
		int cmp = !a ? 1 : !d ? -1 : cdext_cmp(a, d);

		if (cmp < 0)
			check_err(c, "chunk %llu: stripe on device %llu at "
				  "%llu has no dev extent",
				  (unsigned long long)a->chunk,
				  (unsigned long long)a->devid,
				  (unsigned long long)a->physical);
		else if (cmp > 0)
			check_err(c, "dev extent (device %llu at %llu) for "
				  "chunk %llu is no stripe of a chunk",
				  (unsigned long long)d->devid,
				  (unsigned long long)d->physical,
				  (unsigned long long)d->chunk);
		else if (a->chunk != d->chunk || a->len != d->len)
			check_err(c, "dev extent (device %llu at %llu) says "
				  "chunk %llu length %llu, the stripe there is "
				  "of chunk %llu length %llu",
				  (unsigned long long)d->devid,
				  (unsigned long long)d->physical,
				  (unsigned long long)d->chunk,
				  (unsigned long long)d->len,
				  (unsigned long long)a->chunk,
				  (unsigned long long)a->len);
		i += cmp <= 0;
		j += cmp >= 0;
	}
}

/* Device extents fit their device and add up to its bytes_used; the
 * devices fit the superblock's total_bytes. */
static void check_devices(struct check *c, struct chunks *s)
{
	u64 i, total = 0, super_total;

	for (i = 0; i < s->dexts.n; i++) {
		const struct cdext *d = vec_at(&s->dexts, i);
		const struct cdext *prev = i ? d - 1 : NULL;
		struct cdev *dev = vec_find(&s->devs, d->devid,
					    offsetof(struct cdev, devid));

		if (prev && prev->devid == d->devid &&
		    prev->physical + prev->len > d->physical)
			check_err(c, "dev extents %llu+%llu and %llu+%llu of "
				  "device %llu overlap",
				  (unsigned long long)prev->physical,
				  (unsigned long long)prev->len,
				  (unsigned long long)d->physical,
				  (unsigned long long)d->len,
				  (unsigned long long)d->devid);
		if (!dev) {
			check_err(c, "dev extent (device %llu at %llu) is on "
				  "no device of the chunk tree",
				  (unsigned long long)d->devid,
				  (unsigned long long)d->physical);
			continue;
		}
		if (d->physical + d->len > dev->total)
			check_err(c, "dev extent %llu+%llu ends past the end "
				  "of device %llu (%llu bytes)",
				  (unsigned long long)d->physical,
				  (unsigned long long)d->len,
				  (unsigned long long)d->devid,
				  (unsigned long long)dev->total);
		dev->found += d->len;
	}
	for (i = 0; i < s->devs.n; i++) {
		const struct cdev *dev = vec_at(&s->devs, i);

		total += dev->total;
		if (dev->used != dev->found)
			check_err(c, "device %llu: bytes_used %llu, its dev "
				  "extents total %llu",
				  (unsigned long long)dev->devid,
				  (unsigned long long)dev->used,
				  (unsigned long long)dev->found);
	}
	/* Linux refuses to mount a filesystem whose devices outgrow it. */
	super_total = get_le64(&c->cr.super->total_bytes);
	if (super_total < total)
		check_err(c, "superblock total_bytes %llu is less than its "
			  "devices' %llu", (unsigned long long)super_total,
			  (unsigned long long)total);
}

/*
 * Read the chunk tree and the dev tree and check that chunks, block
 * groups, device extents and devices agree.
 */
int check_chunks(struct check *c)
{
	const struct commit_tree *ct, *dt;
	struct chunks s = {
		.chunks.elem = sizeof(struct cchunk),
		.stripes.elem = sizeof(struct cdext),
		.devs.elem = sizeof(struct cdev),
		.dexts.elem = sizeof(struct cdext),
	};
	int ret;

	ct = check_find_tree(c, BTRFS_CHUNK_TREE_OBJECTID);
	dt = check_find_tree(c, BTRFS_DEV_TREE_OBJECTID);
	if (!dt) {
		check_err(c, "the dev tree has no root item");
		return 0;
	}
	ret = check_read_items(c, ct, chunk_tree_item, &s);
	if (ret == 0)
		ret = check_read_items(c, dt, dev_tree_item, &s);
	if (ret == 0) {
		match_block_groups(c, &s.chunks);
		match_dev_extents(c, &s);
		check_devices(c, &s);
	}
	vec_free(&s.chunks);
	vec_free(&s.stripes);
	vec_free(&s.devs);
	vec_free(&s.dexts);
	return ret;
}
