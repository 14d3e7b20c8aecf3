/*
 * What names a filesystem and its device (btrfs filesystem show|label,
 * device stats): the label and UUID in the superblock, the device's id,
 * and the device's error counters in the device tree's persistent item
 * (DEV_STATS, PERSISTENT_ITEM, devid), which btrfs-progs and Linux keep
 * (ghee counts no errors into it; mkfs writes it with zeros).
 *
 * The label lives only in the superblock, which a commit writes whole.
 * Changing it is a namespace change (ns_lock for write, so readers of
 * fs_ident under ns_lock for read never see half a label) that copies
 * the root tree's path to the top-level root item: the commit that
 * follows must write a new root tree, since a superblock of a new
 * generation points at a tree root of that generation.
 */
#include <ghee/errno.h>
#include <string.h>

#include "ctree.h"
#include "ctree_write.h"
#include "fs_info.h"
#include "transaction.h"
#include "write_common.h"

/* Read the device's error counters; zeros when the item is absent. */
static int read_dev_stats(struct fs_info *fs, u64 devid, uint64_t *v)
{
	struct key k = { BTRFS_DEV_STATS_OBJECTID, BTRFS_PERSISTENT_ITEM_KEY,
			 devid };
	struct ctree_path p;
	const u8 *item;
	u32 size, i;
	int ret;

	memset(v, 0, FS_DEV_STATS * sizeof(*v));
	ctree_path_init(&p);
	ret = ctree_lookup(&fs->dev_root, &k, &p);
	if (ret == 0) {
		item = ctree_item_ptr(&p, &size);
		for (i = 0; i < FS_DEV_STATS && (i + 1) * 8 <= size; i++)
			v[i] = get_le64((const le64 *)(item + 8 * i));
	}
	ctree_path_release(&p);
	return ret == -ENOENT ? 0 : ret;
}

int fs_ident(struct fs_info *fs, struct fs_ident *id)
{
	const struct d_super_block *sb = fs->super;
	int ret;

	down_read(&fs->ns_lock);
	down_read(&fs->trans_sem);
	memcpy(id->label, sb->label, sizeof(id->label) - 1);
	id->label[sizeof(id->label) - 1] = 0;
	memcpy(id->fsid, sb->fsid, sizeof(id->fsid));
	id->devid = D_GET64(struct d_dev_item, &sb->dev_item, devid);
	id->num_devices = get_le64(&sb->num_devices);
	id->dev_size = D_GET64(struct d_dev_item, &sb->dev_item, total_bytes);
	id->disk_size = fs->dev->size;
	id->sectorsize = fs->sectorsize;
	ret = read_dev_stats(fs, id->devid, id->dev_stats);
	up_read(&fs->trans_sem);
	up_read(&fs->ns_lock);
	return ret;
}

/* Copy the path to key in root for writing (dirtying it) and, when
 * zero is set, zero the item's bytes. */
static int touch_item(struct trans *t, struct ctree_root *root,
		      const struct key *k, int zero)
{
	struct ctree_path p;
	u8 *item;
	u32 size;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(t, root, k, &p, 0);
	if (ret == 0 && zero) {
		item = ctree_item_ptr_w(&p, &size);
		memset(item, 0, size);
	}
	ctree_path_release(&p);
	return ret == 1 ? -ENOENT : ret;
}

int fs_label_set(struct fs_info *fs, const char *label)
{
	struct key k = { BTRFS_FS_TREE_OBJECTID, BTRFS_ROOT_ITEM_KEY, 0 };
	struct wctx w;
	size_t len = strlen(label);
	int ret;

	if (len >= BTRFS_LABEL_SIZE)
		return -EINVAL;
	ret = wctx_begin(fs, &w, 0);
	if (ret)
		return ret;
	ret = touch_item(w.t, &fs->tree_root, &k, 0);
	if (ret == 0) {
		memset(fs->super->label, 0, BTRFS_LABEL_SIZE);
		memcpy(fs->super->label, label, len);
	} else {
		trans_abort(w.t, ret);
	}
	if (ret == 0)
		return wctx_end_commit(&w);
	wctx_end(&w);
	return ret;
}

int fs_dev_stats_reset(struct fs_info *fs)
{
	struct fs_ident id;
	struct key k = { BTRFS_DEV_STATS_OBJECTID, BTRFS_PERSISTENT_ITEM_KEY,
			 0 };
	struct wctx w;
	int ret, i, any = 0;

	ret = fs_ident(fs, &id);
	for (i = 0; i < FS_DEV_STATS; i++)
		any |= id.dev_stats[i] != 0;
	if (ret || !any)
		return ret;	/* nothing to write */
	k.offset = id.devid;
	ret = wctx_begin(fs, &w, 0);
	if (ret)
		return ret;
	ret = touch_item(w.t, &fs->dev_root, &k, 1);
	if (ret && ret != -ENOENT)
		trans_abort(w.t, ret);
	if (ret == 0)
		return wctx_end_commit(&w);
	wctx_end(&w);
	return ret == -ENOENT ? 0 : ret;
}
