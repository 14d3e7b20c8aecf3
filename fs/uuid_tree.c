/*
 * The UUID tree (tree 9): for every subvolume, (uuid, UUID_KEY_SUBVOL)
 * -> its id, and for a received one (received_uuid,
 * UUID_KEY_RECEIVED_SUBVOL) -> its id; receive and send find a snapshot's
 * parent through it. A key is the UUID split in two: its first 8 bytes
 * (little-endian) as the objectid, the last 8 as the offset; the item is
 * an array of le64 ids, as several subvolumes may carry one received
 * UUID.
 *
 * A filesystem without the tree (older mkfs) gets it with its first new
 * subvolume, filled from every subvolume's root item, so it is complete
 * whenever ghee has touched it. (Linux checks and refills it at mount
 * when the superblock's uuid_tree_generation is stale, which ghee leaves
 * as it found it.)
 *
 * Callers are inside a change or the commit (trans_sem held), under
 * ns_lock for write or the commit, so two changes of one key never race.
 */
#include <ghee/errno.h>

#include <ghee/log.h>

#include "ctree_write.h"
#include "fs_info.h"
#include "tree_check.h"
#include "uuid_tree.h"

/* The key of uuid with type. */
static void uuid_key(const u8 *uuid, u8 type, struct key *k)
{
	k->objectid = get_le64(uuid);
	k->type = type;
	k->offset = get_le64(uuid + 8);
}

/* Add (type, uuid) -> id to the tree; nothing when it is there already. */
static int add_entry(struct trans *t, u8 type, const u8 *uuid, u64 id)
{
	struct ctree_root *root = &t->fs->uuid_root;
	struct ctree_path p;
	struct key k;
	u8 le[8];
	u32 size, i;
	int ret;

	uuid_key(uuid, type, &k);
	put_le64(le, id);
	ctree_path_init(&p);
	ret = ctree_search_write(t, root, &k, &p,
				 (int)sizeof(struct d_item) + 8);
	if (ret == 1) {
		ctree_path_release(&p);
		return ctree_insert_item(t, root, &k, le, 8);
	}
	if (ret == 0) {
		const u8 *d = ctree_item_ptr(&p, &size);

		for (i = 0; i + 8 <= size; i += 8)
			if (get_le64(d + i) == id)
				break;
		if (i + 8 > size)
			ret = ctree_extend_item(t, root, &p, 8);
		if (ret == 0 && i + 8 > size)
			memcpy(ctree_item_ptr_w(&p, &size) + size - 8, le, 8);
	}
	ctree_path_release(&p);
	return ret;
}

/* Fill a new UUID tree from every subvolume's root item. */
static int fill_tree(struct trans *t)
{
	static const u8 zero[BTRFS_UUID_SIZE];
	struct key k = { BTRFS_FS_TREE_OBJECTID, BTRFS_ROOT_ITEM_KEY, 0 };
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	for (ret = ctree_search_ge(&t->fs->tree_root, &k, &p); ret == 0;) {
		u8 item[sizeof(struct d_root_item)];
		const u8 *d;
		u32 size;

		ctree_item_key(&p, &k);
		if (k.type != BTRFS_ROOT_ITEM_KEY ||
		    !tree_check_is_subvol_tree(k.objectid)) {
			ret = ctree_next_item(&p);
			continue;
		}
		d = ctree_item_ptr(&p, &size);
		memset(item, 0, sizeof(item));
		memcpy(item, d, size < sizeof(item) ? size : sizeof(item));
		ctree_path_release(&p);
		if (size < sizeof(item))
			ret = 0;	/* a v1 item has no UUIDs */
		else if (D_GET32(struct d_root_item, item, refs) == 0)
			ret = 0;	/* being deleted */
		else if (memcmp(D_PTR(struct d_root_item, item, uuid), zero,
				BTRFS_UUID_SIZE))
			ret = add_entry(t, BTRFS_UUID_KEY_SUBVOL,
					D_PTR(struct d_root_item, item, uuid),
					k.objectid);
		if (ret == 0 &&
		    memcmp(D_PTR(struct d_root_item, item, received_uuid),
			   zero, BTRFS_UUID_SIZE))
			ret = add_entry(t, BTRFS_UUID_KEY_RECEIVED_SUBVOL,
					D_PTR(struct d_root_item, item,
					      received_uuid), k.objectid);
		if (ret || k.objectid == BTRFS_LAST_FREE_OBJECTID)
			break;
		k.objectid++;
		k.offset = 0;
		ret = ctree_search_ge(&t->fs->tree_root, &k, &p);
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : 0;
}

/* Make the UUID tree when the filesystem has none: an empty leaf, its
 * root item, and an entry for every existing subvolume. */
static int make_tree(struct trans *t)
{
	struct fs_info *fs = t->fs;
	u8 item[sizeof(struct d_root_item)];
	struct key k = { BTRFS_UUID_TREE_OBJECTID, BTRFS_ROOT_ITEM_KEY, 0 };
	int ret;

	ctree_root_init(&fs->uuid_root, fs, BTRFS_UUID_TREE_OBJECTID, 0, 0, 0);
	ret = ctree_create_empty(t, &fs->uuid_root);
	if (ret)
		return ret;
	memset(item, 0, sizeof(item));
	D_SET64(struct d_inode_item, item, generation, 1);
	D_SET64(struct d_inode_item, item, size, 3);
	D_SET32(struct d_inode_item, item, nlink, 1);
	D_SET64(struct d_inode_item, item, nbytes, fs->nodesize);
	D_SET32(struct d_inode_item, item, mode, 040755);
	D_SET64(struct d_root_item, item, bytenr, fs->uuid_root.bytenr);
	D_SET64(struct d_root_item, item, generation, t->transid);
	D_SET64(struct d_root_item, item, generation_v2, t->transid);
	D_SET32(struct d_root_item, item, refs, 1);
	D_SET64(struct d_root_item, item, bytes_used, fs->nodesize);
	ret = ctree_insert_item(t, &fs->tree_root, &k, item, sizeof(item));
	if (ret == 0)
		ret = fill_tree(t);
	return ret;
}

/*
 * Record that subvolume id carries uuid (type UUID_KEY_SUBVOL or
 * UUID_KEY_RECEIVED_SUBVOL), making the tree first when there is none.
 * Errors abort the transaction.
 */
int uuid_tree_add(struct trans *t, u8 type, const u8 *uuid, u64 id)
{
	int ret = 0;

	if (!t->fs->uuid_root.bytenr)
		ret = make_tree(t);
	if (ret == 0)
		ret = add_entry(t, type, uuid, id);
	if (ret)
		trans_abort(t, ret);
	return ret;
}

/*
 * Forget that subvolume id carries uuid: take id out of the item, and
 * the item out when it was the only one. Absent entries are fine (an
 * image whose tree Linux has not filled yet). Errors abort.
 */
int uuid_tree_remove(struct trans *t, u8 type, const u8 *uuid, u64 id)
{
	struct ctree_root *root = &t->fs->uuid_root;
	struct ctree_path p;
	struct key k;
	u32 size, i;
	u8 *d;
	int ret;

	if (!root->bytenr)
		return 0;
	uuid_key(uuid, type, &k);
	ctree_path_init(&p);
	ret = ctree_search_write(t, root, &k, &p, 0);
	if (ret == 0) {
		d = ctree_item_ptr_w(&p, &size);
		for (i = 0; i + 8 <= size && get_le64(d + i) != id; i += 8)
			;
		if (i + 8 <= size && size == 8) {
			ret = ctree_del_item(t, root, &p);
		} else if (i + 8 <= size) {
			memmove(d + i, d + i + 8, size - i - 8);
			ctree_truncate_item(&p, size - 8);
		}
	}
	ctree_path_release(&p);
	if (ret < 0)
		trans_abort(t, ret);
	return ret < 0 ? ret : 0;
}
