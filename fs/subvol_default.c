/*
 * The default subvolume: the one a mount shows as "/". It is named by the
 * "default" entry of the root tree's directory (ROOT_TREE_DIR, 6), whose
 * location is (id, ROOT_ITEM, -1). Setting it changes that entry and
 * turns on the DEFAULT_SUBVOL incompat flag, as Linux does; like Linux,
 * it takes effect at the next mount (fs->default_subvol, the mounted one,
 * stays).
 */
#include <ghee/errno.h>

#include "dir.h"
#include "fs_info.h"
#include "write_common.h"

#define DI ((u32)sizeof(struct d_dir_item))

/* The on-disk default subvolume (subvolume get-default): 5 when the
 * entry is missing. Caller holds ns_lock. */
int subvol_default_read(struct fs_info *fs, u64 *id)
{
	struct key loc;
	u8 type;
	int ret = dir_lookup(&fs->tree_root,
			     get_le64(&fs->super->root_dir_objectid), "default",
			     7, &loc, &type);

	*id = ret == 0 ? loc.objectid : BTRFS_FS_TREE_OBJECTID;
	return ret == -ENOENT ? 0 : ret;
}

int fs_subvol_default_get(struct fs_info *fs, uint64_t *id)
{
	int ret;

	down_read(&fs->ns_lock);
	ret = subvol_default_read(fs, id);
	up_read(&fs->ns_lock);
	return ret;
}

/* Point the "default" entry at subvolume id. */
static int set_entry(struct trans *t, u64 id)
{
	u64 dir = get_le64(&t->fs->super->root_dir_objectid);
	struct key k = { dir, BTRFS_DIR_ITEM_KEY, dir_name_hash("default", 7) };
	struct key loc = { id, BTRFS_ROOT_ITEM_KEY, (u64)-1 };
	struct ctree_path p;
	u32 size, pos = 0;
	u8 *d;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(t, &t->fs->tree_root, &k, &p, 0);
	if (ret == 0) {
		d = ctree_item_ptr_w(&p, &size);
		ret = -ENOENT;
		while (pos + DI <= size) {
			u16 n = D_GET16(struct d_dir_item, d + pos, name_len);

			if (n == 7 && !memcmp(d + pos + DI, "default", 7)) {
				key_to_disk(D_WPTR(struct d_dir_item, d + pos,
						   location), &loc);
				D_SET64(struct d_dir_item, d + pos, transid,
					t->transid);
				ret = 0;
				break;
			}
			pos += DI + n + D_GET16(struct d_dir_item, d + pos,
						data_len);
		}
	}
	ctree_path_release(&p);
	return ret == 1 ? -ENOENT : ret;
}

/*
 * Make subvolume id the default (btrfs subvolume set-default): 5 or an
 * existing subvolume. Returns 0, -ENOENT (no such subvolume, or no
 * "default" entry: Linux does not make one either), -EROFS or <0.
 */
int fs_subvol_set_default(struct fs_info *fs, uint64_t id)
{
	const struct subvol_root *sv;
	struct wctx w;
	int ret = wctx_begin(fs, &w, 0);

	if (ret)
		return ret;
	ret = subvol_get(fs, id, &sv);
	if (ret == 0)
		ret = set_entry(w.t, id);
	if (ret == 0 && id != BTRFS_FS_TREE_OBJECTID)
		put_le64(&fs->super->incompat_flags,
			 get_le64(&fs->super->incompat_flags) |
			 BTRFS_FEATURE_INCOMPAT_DEFAULT_SUBVOL);
	wctx_end(&w);
	return ret;
}
