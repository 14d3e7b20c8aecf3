/*
 * Preallocation (Linux's fallocate without PUNCH_HOLE): the holes of a
 * range get extents allocated and marked preallocated (PREALLOC file
 * extent items: nothing written, no checksums, reading as zeros), so
 * that later writes find the space; data already there stays. The size
 * grows to the range's end unless keep_size (FALLOC_FL_KEEP_SIZE). As in
 * Linux, the inode gets BTRFS_INODE_PREALLOC and its nbytes counts the
 * new extents. A write into a preallocated range copies on write like
 * any other (file_write.c cuts the item around it).
 *
 * Locking: one data change of the file (wctx_begin_file), as fs_write.
 */
#include <ghee/errno.h>

#include "extent_tree.h"
#include "fs_info.h"
#include "qgroup.h"
#include "write_common.h"

#define PREALLOC_MAX (128ull << 20)	/* bytes of one extent, at most */

static u64 min_u64(u64 a, u64 b)
{
	return a < b ? a : b;
}

/* Preallocate the holes of [s, e) (whole sectors) of ino; *nbytes grows
 * by what was allocated. */
static int fill_holes(struct wctx *w, struct ctree_root *root, u64 ino,
		      u64 s, u64 e, u64 *nbytes)
{
	u8 fe[sizeof(struct d_file_extent_item)];
	u64 ks, ke, hole, start, got, freed = 0;
	u32 size;
	int ret;

	while (s < e) {
		ret = file_next_extent(root, ino, s, &ks, fe, &size);
		if (ret < 0)
			return ret;
		if (ret == 1 || ks >= e) {
			hole = e;
		} else {
			if (size < sizeof(fe))
				return -EUCLEAN;
			ke = ks + D_GET64(struct d_file_extent_item, fe,
					  num_bytes);
			if (!D_GET64(struct d_file_extent_item, fe,
				     disk_bytenr))
				hole = min_u64(ke, e);	/* a hole item */
			else if (ks > s)
				hole = ks;
			else
				hole = s;
			if (hole == s) {	/* data or preallocated */
				s = ke;
				continue;
			}
		}
		ret = extent_alloc_data(w->t, min_u64(hole - s, PREALLOC_MAX),
					&start, &got);
		if (ret == 0)
			ret = file_insert_extent(w, root, ino, s, start, got,
						 got, 0, got, 0, NULL, &freed);
		if (ret)
			return ret;
		*nbytes += got - freed;
		freed = 0;
		s += got;
	}
	return 0;
}

/*
 * Preallocate [off, off + len) of regular file ino (see the top of this
 * file). Returns 0, -EINVAL (len 0 or past 2^64), -ENOSPC, -EDQUOT, -EISDIR
 * or <0 as fs_write.
 */
int fs_fallocate(struct fs_info *fs, struct fs_ino ino, uint64_t off,
		 uint64_t len, int keep_size)
{
	u8 ii[sizeof(struct d_inode_item)];
	struct ctree_root *root;
	struct wctx w;
	u32 ss = fs->sectorsize;
	u64 size, nbytes, s = off & ~(u64)(ss - 1), e, rsv = 0;
	int ret, ret2;

	if (!len || off + len < off || off + len > UINT64_MAX - ss)
		return -EINVAL;
	e = (off + len + ss - 1) & ~(u64)(ss - 1);
	ret = wctx_begin_file(fs, &w, ino, 0);
	if (ret)
		return ret;
	ret = file_begin(&w, ino, &root, ii, &size, &nbytes);
	if (ret == 0)
		ret = qgroup_reserve_upto(fs, ino.root, e - s + fs->nodesize,
					  e - s + fs->nodesize, &rsv);
	if (ret)
		goto out;
	ret = file_convert_inline(&w, root, ino.ino, size, &nbytes);
	if (ret == 0)
		ret = fill_holes(&w, root, ino.ino, s, e, &nbytes);
	/* what was allocated stays (as Linux's on ENOSPC): counted */
	if (ret == 0 && !keep_size && off + len > size)
		D_SET64(struct d_inode_item, ii, size, off + len);
	D_SET64(struct d_inode_item, ii, nbytes, nbytes);
	D_SET64(struct d_inode_item, ii, flags,
		D_GET64(struct d_inode_item, ii, flags) | BTRFS_INODE_PREALLOC);
	inode_touch(&w, ii, 0);
	ret2 = inode_item_put(&w, root, ino.ino, ii);
	ret = ret ? ret : ret2;
out:
	if (ret && rsv)
		qgroup_release(fs, ino.root, rsv, 0);
	wctx_end(&w);
	return ret;
}
