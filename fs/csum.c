/*
 * Data checksums. The csum tree (tree 7) holds one checksum per data
 * sector, of the filesystem's csum type (csum_type.c: 4 to 32 bytes,
 * fs->csum_size), in items keyed (EXTENT_CSUM, EXTENT_CSUM, logical
 * address of the first sector) whose body is the array of the checksums of
 * consecutive sectors. Items do not overlap; a sector without a checksum
 * (NODATASUM files, preallocated ranges) has no entry.
 *
 * csum_lookup() fetches the sums for a run of sectors with one search and a
 * walk across items; file.c compares them with what it read and turns a
 * mismatch into -EIO naming the file and offset. csum_insert() adds the sums
 * of newly written data (at most CSUM_ITEM_BYTES per item); csum_delete()
 * removes the sums of a freed extent, cutting items that reach outside it
 * (Linux merges neighbouring extents' sums into one item).
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>

#include "csum.h"
#include "csum_type.h"
#include "ctree_write.h"
#include "fs_info.h"

/* The checksum of one data sector into out (fs->csum_size bytes used of
 * BTRFS_CSUM_SIZE). */
void csum_data(const struct fs_info *fs, const void *buf, u32 len, u8 *out)
{
	csum_compute(fs->csum_type, buf, len, out);
}

/* Take the sums an item at the path provides for sectors [logical, +n). */
static void take_sums(const struct fs_info *fs, const struct ctree_path *p,
		      u64 logical, u32 n, u8 *sums, u8 *present)
{
	struct key k;
	const u8 *data;
	u32 size, i;
	u64 first, count;

	ctree_item_key(p, &k);
	if (k.objectid != BTRFS_EXTENT_CSUM_OBJECTID ||
	    k.type != BTRFS_EXTENT_CSUM_KEY)
		return;
	data = ctree_item_ptr(p, &size);
	count = size / fs->csum_size;
	for (i = 0; i < n; i++) {
		u64 at = logical + (u64)i * fs->sectorsize;

		if (at < k.offset)
			continue;
		first = (at - k.offset) / fs->sectorsize;
		if (first >= count)
			break;
		memcpy(sums + (u64)i * fs->csum_size,
		       data + first * fs->csum_size, fs->csum_size);
		present[i] = 1;
	}
}

/*
 * Find the checksums of nsectors sectors starting at logical (sector
 * aligned). sums (nsectors * fs->csum_size bytes) receives them in sector
 * order; present[i] is 0 when the tree has no checksum for sector i.
 * Returns 0 or a negative errno.
 */
int csum_lookup(struct fs_info *fs, u64 logical, u32 nsectors, u8 *sums,
		u8 *present)
{
	struct key k = { BTRFS_EXTENT_CSUM_OBJECTID, BTRFS_EXTENT_CSUM_KEY,
			 logical };
	u64 end = logical + (u64)nsectors * fs->sectorsize;
	struct ctree_path path;
	int ret;

	memset(present, 0, nsectors);
	if (!ctree_root_exists(&fs->csum_root))
		return 0;
	ctree_path_init(&path);
	ret = ctree_search_le(&fs->csum_root, &k, &path);
	if (ret == 1)
		ret = ctree_search_ge(&fs->csum_root, &k, &path);
	while (ret == 0) {
		ctree_item_key(&path, &k);
		if (k.objectid != BTRFS_EXTENT_CSUM_OBJECTID ||
		    k.type > BTRFS_EXTENT_CSUM_KEY || k.offset >= end)
			break;
		take_sums(fs, &path, logical, nsectors, sums, present);
		ret = ctree_next_item(&path);
	}
	ctree_path_release(&path);
	return ret < 0 ? ret : 0;
}

/* Most bytes of checksums per csum item ghee writes: 256 crc32c sums
 * (1 MiB of 4 KiB sectors), 32 of sha256; small enough for a 4 KiB leaf. */
#define CSUM_ITEM_BYTES 1024

/*
 * Insert nsectors checksums already computed (sums, in sector order) for
 * the data at logical (sector aligned, just written to a newly allocated
 * extent): relocation and defrag, which checked the old sums against the
 * data they copy, insert those. Caller is inside a change. Returns 0 or <0.
 */
int csum_insert_sums(struct trans *t, u64 logical, const u8 *sums,
		     u32 nsectors)
{
	struct fs_info *fs = t->fs;
	u32 cs = fs->csum_size, max = CSUM_ITEM_BYTES / cs, n;
	int ret = 0;

	while (nsectors && ret == 0) {
		struct key k = { BTRFS_EXTENT_CSUM_OBJECTID,
				 BTRFS_EXTENT_CSUM_KEY, logical };

		n = nsectors > max ? max : nsectors;
		ret = ctree_insert_item(t, &fs->csum_root, &k, sums, n * cs);
		logical += (u64)n * fs->sectorsize;
		sums += n * cs;
		nsectors -= n;
	}
	return ret;
}

/*
 * Insert the checksums of len bytes of data at logical (sector aligned,
 * just written to a newly allocated extent). Caller is inside a change.
 * Returns 0 or <0.
 */
int csum_insert(struct trans *t, u64 logical, const u8 *data, u64 len)
{
	struct fs_info *fs = t->fs;
	u32 ss = fs->sectorsize, cs = fs->csum_size, n, i;
	u32 max = CSUM_ITEM_BYTES / cs;
	u8 sums[CSUM_ITEM_BYTES], one[BTRFS_CSUM_SIZE];
	int ret = 0;

	while (len && ret == 0) {
		n = len / ss > max ? max : (u32)(len / ss);
		for (i = 0; i < n; i++) {
			csum_data(fs, data + (u64)i * ss, ss, one);
			memcpy(sums + i * cs, one, cs);
		}
		ret = csum_insert_sums(t, logical, sums, n);
		logical += (u64)n * ss;
		data += (u64)n * ss;
		len -= (u64)n * ss;
	}
	return ret;
}

/* The csum item at or before end - 1: 0 with its key, 1 when none. */
static int csum_item_before(struct fs_info *fs, u64 end, struct key *k,
			    u32 *size)
{
	struct key s = { BTRFS_EXTENT_CSUM_OBJECTID, BTRFS_EXTENT_CSUM_KEY,
			 end - 1 };
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_le(&fs->csum_root, &s, &p);
	if (ret == 0) {
		ctree_item_key(&p, k);
		*size = tb_item_size(p.nodes[0], (u32)p.slots[0]);
		if (k->objectid != BTRFS_EXTENT_CSUM_OBJECTID ||
		    k->type != BTRFS_EXTENT_CSUM_KEY)
			ret = 1;
	}
	ctree_path_release(&p);
	return ret;
}

/* Cut the sums of [start, end) out of the csum item k (size bytes). */
static int csum_cut(struct trans *t, const struct key *k, u32 size,
		    u64 start, u64 end)
{
	struct fs_info *fs = t->fs;
	u32 ss = fs->sectorsize, cs = fs->csum_size;
	u64 iend = k->offset + (u64)size / cs * ss;
	u32 keep_head = start > k->offset ?
			(u32)((start - k->offset) / ss) * cs : 0;
	u32 tail = iend > end ? (u32)((iend - end) / ss) * cs : 0;
	u8 *tail_sums = NULL;
	struct ctree_path p;
	u32 got;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(t, &fs->csum_root, k, &p, 0);
	if (ret) {
		ctree_path_release(&p);
		return ret == 1 ? -EUCLEAN : ret;
	}
	if (tail) {
		tail_sums = kmalloc(tail);
		if (!tail_sums) {
			ctree_path_release(&p);
			return -ENOMEM;
		}
		memcpy(tail_sums, ctree_item_ptr(&p, &got) + size - tail, tail);
	}
	if (keep_head) {
		ctree_truncate_item(&p, keep_head);
		ctree_path_release(&p);
	} else {
		ret = ctree_del_item(t, &fs->csum_root, &p);
	}
	if (ret == 0 && tail) {
		struct key nk = { k->objectid, k->type, end };

		ret = ctree_insert_item(t, &fs->csum_root, &nk, tail_sums,
					tail);
	}
	kfree(tail_sums);
	return ret;
}

/*
 * Delete the csum item k, which lies inside [logical, ...), with the items
 * before it in its leaf that lie inside too: one deletion for the run (a
 * dropped snapshot frees thousands of small files, each with an item of
 * its own). *first gets the lowest key offset deleted.
 */
static int csum_del_run(struct trans *t, const struct key *k, u64 logical,
			u64 *first)
{
	struct fs_info *fs = t->fs;
	struct ctree_path p;
	struct key pk;
	u32 slot;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(t, &fs->csum_root, k, &p, CTREE_DEL_RUN);
	if (ret) {
		ctree_path_release(&p);
		return ret == 1 ? -EUCLEAN : ret;
	}
	slot = (u32)p.slots[0];
	*first = k->offset;
	while (p.slots[0] > 0) {
		tb_item_key(p.nodes[0], (u32)p.slots[0] - 1, &pk);
		if (pk.objectid != BTRFS_EXTENT_CSUM_OBJECTID ||
		    pk.type != BTRFS_EXTENT_CSUM_KEY || pk.offset < logical)
			break;
		p.slots[0]--;
		*first = pk.offset;
	}
	return ctree_del_items(t, &fs->csum_root, &p,
			       slot - (u32)p.slots[0] + 1);
}

/*
 * Delete the checksums of [logical, +len) (an extent that was freed).
 * Items reaching outside the range are cut. Returns 0 or <0.
 */
int csum_delete(struct trans *t, u64 logical, u64 len)
{
	struct fs_info *fs = t->fs;
	u64 end = logical + len;
	int ret = 0;

	while (end > logical && ret == 0) {
		struct key k;
		u32 size;
		u64 iend;

		ret = csum_item_before(fs, end, &k, &size);
		if (ret)
			return ret < 0 ? ret : 0;
		iend = k.offset + (u64)size / fs->csum_size * fs->sectorsize;
		if (iend <= logical)
			return 0;
		if (k.offset >= logical && iend <= end) {
			ret = csum_del_run(t, &k, logical, &end);
			continue;
		}
		ret = csum_cut(t, &k, size,
			       k.offset > logical ? k.offset : logical,
			       iend < end ? iend : end);
		end = k.offset;
	}
	return ret;
}
