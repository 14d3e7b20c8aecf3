/*
 * Resizing the filesystem on its device (btrfs filesystem resize), as
 * Linux's BTRFS_IOC_RESIZE does for a filesystem of one device.
 *
 * Growing is one commit: the device item in the chunk tree, the
 * superblock's copy of it and the superblock's total_bytes take the new
 * size, and the allocator may place chunks up to it from then on.
 *
 * Shrinking moves every chunk that reaches past the new end first:
 *  1. New chunks are placed below the new end from the start
 *     (space.alloc_end), so nothing moved lands past it again.
 *  2. The room is checked before anything moves, as balance does: the
 *     used bytes of the groups to move, less the free bytes of the
 *     groups of their type that stay, must fit (twice for DUP) in the
 *     device space below the new end that no chunk holds; else
 *     -ENOSPC and nothing changed.
 *  3. Each group with a stripe past the new end is relocated
 *     (relocation.c), which frees its chunk and device extents.
 *  4. One commit writes the new sizes.
 * Until step 4 the superblock keeps the old size, and every chunk lies
 * inside it, so a crash at any point leaves a consistent image of the
 * old size (with some groups moved). A shrink that fails or is
 * cancelled after step 3 began keeps what moved and the old size.
 *
 * One resize, and no balance, at a time: fs->resizing under
 * balance_lock, which balance start checks.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/blk.h>
#include <ghee/log.h>
#include <ghee/task.h>

#include "block_group.h"
#include "chunk.h"
#include "fs.h"
#include "fs_info.h"
#include "relocation.h"
#include "transaction.h"
#include "volumes.h"

#define MIB (1024ull * 1024)
#define RESIZE_MIN (256 * MIB)	/* Linux refuses smaller */

static u64 dev_size(const struct fs_info *fs)
{
	return D_GET64(struct d_dev_item, &fs->super->dev_item, total_bytes);
}

/* The commit's work: write size as the device's and the filesystem's. */
static int set_size(struct trans *t, void *arg)
{
	struct fs_info *fs = t->fs;
	u64 size = *(const u64 *)arg, old = dev_size(fs);
	int ret;

	D_SET64(struct d_dev_item, &fs->super->dev_item, total_bytes, size);
	put_le64(&fs->super->total_bytes,
		 get_le64(&fs->super->total_bytes) - old + size);
	ret = chunk_write_dev_item(t);
	if (ret)
		trans_abort(t, ret);
	return ret;
}

/* Whether a stripe of the chunk of group bg ends past end. */
static int past(const struct fs_info *fs, const struct block_group *bg,
		u64 end)
{
	const struct chunk_mapping *m = volumes_lookup(fs, bg->start, 1);
	u32 i;

	for (i = 0; m && i < m->num_stripes; i++)
		if (m->physical[i] + m->length > end)
			return 1;
	return 0;
}

/* Type index of a group: 0 data, 1 metadata, 2 system. */
static int type_index(u64 flags)
{
	return (flags & BTRFS_BLOCK_GROUP_DATA) ? 0 :
	       (flags & BTRFS_BLOCK_GROUP_SYSTEM) ? 2 : 1;
}

/*
 * Step 2, holding alloc_lock: the starts of the groups past end into
 * *out (*n of them), or -ENOSPC when their used bytes cannot fit below
 * end.
 */
static int groups_past(struct fs_info *fs, u64 end, u64 **out, u32 *n)
{
	static const u64 types[3] = { BTRFS_BLOCK_GROUP_DATA,
				      BTRFS_BLOCK_GROUP_METADATA,
				      BTRFS_BLOCK_GROUP_SYSTEM };
	const struct space_info *s = &fs->space;
	u64 moving[3] = { 0, 0, 0 }, staying[3] = { 0, 0, 0 };
	u64 below = end - MIB, need = 0, *v;
	u32 i;
	int t;

	v = kmalloc((s->nbg + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	*n = 0;
	for (i = 0; i < s->nbg; i++) {
		const struct block_group *bg = s->bg[i];

		t = type_index(bg->flags);
		if (past(fs, bg, end)) {
			v[(*n)++] = bg->start;
			moving[t] += bg->used;
		} else if (!bg->ro) {
			staying[t] += bg->free_bytes;
		}
	}
	for (i = 0; i < s->ndev; i++)
		if (s->dev[i].start + s->dev[i].len <= end)
			below -= s->dev[i].len < below ? s->dev[i].len : below;
	for (t = 0; t < 3; t++)
		if (moving[t] > staying[t])
			need += (moving[t] - staying[t]) *
				(chunk_profile(fs, types[t]) &
				 BTRFS_BLOCK_GROUP_DUP ? 2 : 1);
	if (need > below) {
		pr_err("resize: %llu bytes must move below %llu but only %llu "
		       "are unallocated there", (unsigned long long)need,
		       (unsigned long long)end, (unsigned long long)below);
		kfree(v);
		return -ENOSPC;
	}
	*out = v;
	return 0;
}

/* Whether the device still has chunks past end (holding alloc_lock). */
static int chunks_past(const struct fs_info *fs, u64 end)
{
	const struct space_info *s = &fs->space;

	return s->ndev && s->dev[s->ndev - 1].start +
			  s->dev[s->ndev - 1].len > end;
}

static int stop_asked(void *arg)
{
	struct fs_info *fs = arg;

	return __atomic_load_n(&fs->resize_cancel, __ATOMIC_ACQUIRE) ||
	       task_should_stop();
}

/* Steps 1-3 of a shrink to end. */
static int move_tail(struct fs_info *fs, u64 end)
{
	struct reloc_stats st;
	u64 *v = NULL;
	u32 n = 0, i;
	int ret;

	mutex_lock(&fs->alloc_lock);
	fs->space.alloc_end = end;
	ret = groups_past(fs, end, &v, &n);
	mutex_unlock(&fs->alloc_lock);
	for (i = 0; ret == 0 && i < n; i++) {
		if (stop_asked(fs)) {
			ret = -ECANCELED;
			break;
		}
		ret = reloc_block_group(fs, v[i], stop_asked, fs, &st);
		if (ret == -ENOENT)	/* emptied and gone meanwhile */
			ret = 0;
	}
	kfree(v);
	mutex_lock(&fs->alloc_lock);
	if (ret == 0 && chunks_past(fs, end)) {
		/* a reader of an older commit holds a moved group's space
		 * until it ends (relocation.c, step 6) */
		pr_err("resize: device space past %llu is still held by a "
		       "reader of an older commit (send, fsck); try again "
		       "when it ends", (unsigned long long)end);
		ret = -EBUSY;
	}
	fs->space.alloc_end = 0;
	mutex_unlock(&fs->alloc_lock);
	return ret;
}

/*
 * Make the filesystem's device size (and so the filesystem's) size
 * bytes, rounded down to the sector size. Returns 0; -EINVAL (below
 * 256 MiB); -EFBIG (past the disk's end); -EROFS; -EBUSY (a balance or
 * resize runs, or a reader holds moved space); -ENOSPC (the tail's
 * data does not fit below the new end); -ECANCELED (fs_resize_cancel
 * or the task's stop); or the error that stopped a relocation.
 */
int fs_resize(struct fs_info *fs, uint64_t size)
{
	u64 old;
	int ret;

	size -= size % fs->sectorsize;
	if (fs_is_read_only(fs))
		return -EROFS;
	if (size < RESIZE_MIN)
		return -EINVAL;
	if (size > fs->dev->size)
		return -EFBIG;
	mutex_lock(&fs->balance_lock);
	ret = fs->balance || fs->resizing ? -EBUSY : 0;
	if (ret == 0) {
		fs->resizing = 1;
		__atomic_store_n(&fs->resize_cancel, 0, __ATOMIC_RELEASE);
	}
	mutex_unlock(&fs->balance_lock);
	if (ret)
		return ret;
	old = dev_size(fs);
	if (size < old)
		ret = move_tail(fs, size);
	if (ret == 0 && size != old)
		ret = trans_commit_with(fs, set_size, &size, 0);
	if (ret == 0 && size != old)
		pr_info("resize: device %s (devid %llu) from %llu to %llu",
			fs->dev->name, (unsigned long long)fs->devid,
			(unsigned long long)old, (unsigned long long)size);
	mutex_lock(&fs->balance_lock);
	fs->resizing = 0;
	mutex_unlock(&fs->balance_lock);
	return ret;
}

/* Ask a running resize to stop: 0, or -ENOTCONN when none runs. */
int fs_resize_cancel(struct fs_info *fs)
{
	int ret = 0;

	mutex_lock(&fs->balance_lock);
	if (fs->resizing)
		__atomic_store_n(&fs->resize_cancel, 1, __ATOMIC_RELEASE);
	else
		ret = -ENOTCONN;
	mutex_unlock(&fs->balance_lock);
	return ret;
}
