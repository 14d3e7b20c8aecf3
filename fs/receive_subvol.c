/*
 * The subvolume side of receive: finding the subvolume a stream names by
 * UUID (the parent of an incremental stream, a clone source), and marking
 * a received subvolume with the sender's UUID and transid.
 *
 * A stream names a subvolume by the UUID it had on the sending side and
 * that side's ctransid. Here that subvolume is either one received
 * earlier (its received_uuid is that UUID and its stransid that ctransid:
 * UUID tree key RECEIVED_SUBVOL) or, when sender and receiver are one
 * filesystem, the original (its own uuid and ctransid: key SUBVOL). As
 * btrfs receive does, received ones are searched first.
 *
 * Lookups hold ns_lock for read (the UUID tree changes only under it
 * held for write, or in the commit, which searches never race with
 * harmfully: a search reads a consistent tree under the tree locks).
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>
#include <ghee/time.h>

#include "fs_info.h"
#include "internal.h"
#include "subvol.h"
#include "uuid_tree.h"
#include "write_common.h"

#define RI ((u32)sizeof(struct d_root_item))

/*
 * Find among the ids of UUID tree item (uuid, type) the subvolume whose
 * root item's transid field (stransid for RECEIVED_SUBVOL, ctransid for
 * SUBVOL) is transid. 0 with *id, -ENOENT, or <0.
 */
static int find_by(struct fs_info *fs, u8 type, const u8 *uuid,
		   u64 transid, u64 *id)
{
	struct key k = { get_le64(uuid), type, get_le64(uuid + 8) };
	u8 item[sizeof(struct d_root_item)];
	struct ctree_path p;
	u64 *ids = NULL, want;	/* every holder of uuid */
	u32 size, i, n = 0;
	int ret;

	if (!fs->uuid_root.bytenr)
		return -ENOENT;
	ctree_path_init(&p);
	ret = ctree_lookup(&fs->uuid_root, &k, &p);
	if (ret == 0) {
		const u8 *d = ctree_item_ptr(&p, &size);

		ids = kmalloc(size ? size : 1);
		if (!ids)
			ret = -ENOMEM;
		for (i = 0; ret == 0 && i + 8 <= size; i += 8)
			ids[n++] = get_le64(d + i);
	}
	ctree_path_release(&p);
	for (i = 0; ret == 0 && i < n; i++) {
		ret = subvol_read_root_item(fs, ids[i], item, &size);
		if (ret == -ENOENT) {
			ret = 0;	/* deleted since */
			continue;
		}
		if (ret)
			break;
		want = type == BTRFS_UUID_KEY_SUBVOL ?
		       D_GET64(struct d_root_item, item, ctransid) :
		       D_GET64(struct d_root_item, item, stransid);
		if (D_GET32(struct d_root_item, item, refs) &&
		    want == transid) {
			*id = ids[i];
			break;
		}
	}
	if (ret == 0 && i == n)
		ret = -ENOENT;
	kfree(ids);
	return ret;
}

/*
 * Find the subvolume a stream names by (uuid, transid): one received
 * from it, else the original. 0 with *id, -ENOENT when there is none,
 * or <0.
 */
int fs_subvol_find_sent(struct fs_info *fs, const uint8_t *uuid,
			uint64_t transid, uint64_t *id)
{
	int ret;

	down_read(&fs->ns_lock);
	ret = find_by(fs, BTRFS_UUID_KEY_RECEIVED_SUBVOL, uuid, transid, id);
	if (ret == -ENOENT)
		ret = find_by(fs, BTRFS_UUID_KEY_SUBVOL, uuid, transid, id);
	up_read(&fs->ns_lock);
	return ret;
}

/* Write received_uuid, stransid, rtransid and rtime into id's root item,
 * and the UUID tree's record of it. */
static int set_received_item(struct trans *t, u64 id, const u8 *uuid,
			     u64 stransid)
{
	static const u8 zero[BTRFS_UUID_SIZE];
	struct ctree_path p;
	u8 old[BTRFS_UUID_SIZE];
	u8 *item;
	u32 size;
	int ret = trans_root_item_search(t, id, &p);

	if (ret)
		return ret;
	item = ctree_item_ptr_w(&p, &size);
	if (size < RI) {
		ctree_path_release(&p);
		return -EUCLEAN;	/* a v1 item: no room for UUIDs */
	}
	memcpy(old, D_PTR(struct d_root_item, item, received_uuid),
	       BTRFS_UUID_SIZE);
	memcpy(D_WPTR(struct d_root_item, item, received_uuid), uuid,
	       BTRFS_UUID_SIZE);
	D_SET64(struct d_root_item, item, stransid, stransid);
	D_SET64(struct d_root_item, item, rtransid, t->transid);
	D_SET64(struct d_timespec, D_WPTR(struct d_root_item, item, rtime),
		sec, time_wall_sec());
	D_SET32(struct d_timespec, D_WPTR(struct d_root_item, item, rtime),
		nsec, 0);
	/* btrfs receive passes no send time: Linux stores zero */
	memset(D_WPTR(struct d_root_item, item, stime), 0,
	       sizeof(struct d_timespec));
	ctree_path_release(&p);
	if (memcmp(old, zero, BTRFS_UUID_SIZE))
		ret = uuid_tree_remove(t, BTRFS_UUID_KEY_RECEIVED_SUBVOL, old,
				       id);
	if (ret == 0)
		ret = uuid_tree_add(t, BTRFS_UUID_KEY_RECEIVED_SUBVOL, uuid,
				    id);
	return ret;
}

/*
 * Mark the subvolume whose top directory is path as received from the
 * sender's subvolume uuid at its transid stransid (Linux's
 * BTRFS_IOC_SET_RECEIVED_SUBVOL): rtransid is this transaction, rtime now,
 * stime zero (as btrfs receive leaves it). Returns
 * 0, -EINVAL (not a subvolume), -EROFS (read-only), or <0.
 */
int fs_subvol_set_received(struct fs_info *fs, const char *path,
			   const uint8_t *uuid, uint64_t stransid)
{
	const struct subvol_root *sv;
	struct fs_ino ino;
	struct wctx w;
	int ret = wctx_begin(fs, &w, 0);

	if (ret)
		return ret;
	ret = inode_lookup(fs, path, 0, &ino);
	if (ret == 0)
		ret = subvol_get(fs, ino.root, &sv);
	if (ret == 0 && ino.ino != sv->root_dirid)
		ret = -EINVAL;
	if (ret == 0)
		ret = subvol_check_writable(sv);
	if (ret == 0) {
		ret = set_received_item(w.t, ino.root, uuid, stransid);
		if (ret)
			trans_abort(w.t, ret);
	}
	wctx_end(&w);
	return ret;
}
