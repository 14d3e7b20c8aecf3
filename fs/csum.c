/*
 * Data checksums. The csum tree (tree 7) holds one crc32c per data sector,
 * in items keyed (EXTENT_CSUM, EXTENT_CSUM, logical address of the first
 * sector) whose body is an array of little-endian u32, one per consecutive
 * sector. Items do not overlap; a sector without a checksum (NODATASUM
 * files, preallocated ranges) has no entry.
 *
 * csum_lookup() fetches the sums for a run of sectors with one search and a
 * walk across items; file.c compares them with what it read and turns a
 * mismatch into -EIO naming the file and offset.
 */
#include <ghee/errno.h>

#include "../lib/crc32c.h"
#include "csum.h"
#include "fs_info.h"

/* The btrfs data checksum of one sector: standard CRC-32C. */
u32 csum_data(const void *buf, u32 len)
{
	return ~crc32c(~0u, buf, len);
}

/* Take the sums an item at the path provides for sectors [logical, +n). */
static void take_sums(const struct fs_info *fs, const struct ctree_path *p,
		      u64 logical, u32 n, u32 *sums, u8 *present)
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
	count = size / BTRFS_CRC32_SIZE;
	for (i = 0; i < n; i++) {
		u64 at = logical + (u64)i * fs->sectorsize;

		if (at < k.offset)
			continue;
		first = (at - k.offset) / fs->sectorsize;
		if (first >= count)
			break;
		sums[i] = get_le32(data + first * BTRFS_CRC32_SIZE);
		present[i] = 1;
	}
}

/*
 * Find the checksums of nsectors sectors starting at logical (sector
 * aligned). sums[i] and present[i] describe sector i; present[i] is 0 when
 * the tree has no checksum for it. Returns 0 or a negative errno.
 */
int csum_lookup(struct fs_info *fs, u64 logical, u32 nsectors, u32 *sums,
		u8 *present)
{
	struct key k = { BTRFS_EXTENT_CSUM_OBJECTID, BTRFS_EXTENT_CSUM_KEY,
			 logical };
	u64 end = logical + (u64)nsectors * fs->sectorsize;
	struct ctree_path path;
	int ret;

	memset(present, 0, nsectors);
	if (!fs->csum_root.bytenr)
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
