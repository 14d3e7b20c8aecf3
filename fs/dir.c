/*
 * Directories. A directory entry is stored twice in the directory's
 * subvolume tree:
 *  - (dir, DIR_ITEM, crc32c hash of the name): for lookup by name; entries
 *    whose names hash alike share one item, one d_dir_item after another;
 *  - (dir, DIR_INDEX, index): one entry per item, in creation order; readdir
 *    walks these, so listings come out in index order.
 * An entry's location is (ino, INODE_ITEM, 0) for an inode of the same
 * subvolume, or (subvol id, ROOT_ITEM, -1) for a subvolume linked here.
 */
#include <ghee/errno.h>

#include <ghee/log.h>

#include "../lib/crc32c.h"
#include "dir.h"
#include "fs.h"
#include "fs_info.h"
#include "internal.h"
#include "subvol.h"
#include "write_common.h"

/* btrfs's name hash: CRC-32C seeded with ~1, not inverted at the end. */
u32 dir_name_hash(const char *name, size_t len)
{
	return crc32c(~1u, name, len);
}

/*
 * Look up name in directory dir of tree root. On success *location is the
 * entry's location key and *type its BTRFS_FT_* type. Returns 0, -ENOENT,
 * or <0 on errors.
 */
int dir_lookup(const struct ctree_root *root, u64 dir, const char *name,
	       size_t len, struct key *location, u8 *type)
{
	struct key k = { dir, BTRFS_DIR_ITEM_KEY, dir_name_hash(name, len) };
	struct ctree_path path;
	const u8 *p;
	u32 size, pos = 0;
	int ret;

	if (len == 0 || len > BTRFS_NAME_LEN)
		return -ENOENT;
	ctree_path_init(&path);
	ret = ctree_lookup(root, &k, &path);
	if (ret)
		goto out;
	p = ctree_item_ptr(&path, &size);
	ret = -ENOENT;
	/* The tree checker verified that the entries tile the item. */
	while (pos < size) {
		const u8 *e = p + pos;
		u16 nlen = D_GET16(struct d_dir_item, e, name_len);

		if (nlen == len && !memcmp(e + sizeof(struct d_dir_item), name,
					   len)) {
			key_from_disk(location,
				      D_PTR(struct d_dir_item, e, location));
			*type = D_GET8(struct d_dir_item, e, type);
			ret = 0;
			break;
		}
		pos += sizeof(struct d_dir_item) + nlen +
		       D_GET16(struct d_dir_item, e, data_len);
	}
out:
	ctree_path_release(&path);
	return ret;
}

/*
 * Whether subvolume child is linked into subvolume root: its ROOT_REF.
 * A snapshot copies the entries of the subvolumes nested in its source
 * but not their links: there, as on Linux, they show as empty
 * directories. Returns 1, 0 or <0.
 */
static int subvol_linked(struct fs_info *fs, u64 root, u64 child)
{
	struct key k = { root, BTRFS_ROOT_REF_KEY, child };
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_lookup(&fs->tree_root, &k, &p);
	ctree_path_release(&p);
	return ret == 0 ? 1 : ret == -ENOENT ? 0 : ret;
}

/* Turn an entry's location into an inode name. */
static int location_to_ino(struct fs_info *fs, u64 root, const struct key *loc,
			   struct fs_ino *out)
{
	const struct subvol_root *sv;
	int ret;

	if (loc->type == BTRFS_INODE_ITEM_KEY) {
		out->root = root;
		out->ino = loc->objectid;
		return 0;
	}
	if (loc->type != BTRFS_ROOT_ITEM_KEY) {
		pr_err("subvolume %llu: directory entry with location type %u",
		       (unsigned long long)root, loc->type);
		return -EUCLEAN;
	}
	ret = subvol_linked(fs, root, loc->objectid);
	if (ret == 0) {
		out->root = root;
		out->ino = BTRFS_EMPTY_SUBVOL_DIR_OBJECTID;
		return 0;
	}
	ret = ret < 0 ? ret : subvol_get(fs, loc->objectid, &sv);
	if (ret)
		return ret;
	out->root = loc->objectid;
	out->ino = sv->root_dirid;
	return 0;
}

/* Look up name in dir and name the inode it leads to (entering subvols). */
int dir_lookup_ino(struct fs_info *fs, struct fs_ino dir, const char *name,
		   size_t len, struct fs_ino *out, u8 *type)
{
	const struct subvol_root *sv;
	struct key loc;
	int ret;

	ret = subvol_get(fs, dir.root, &sv);
	if (ret)
		return ret;
	ret = dir_lookup(&sv->root, dir.ino, name, len, &loc, type);
	if (ret)
		return ret;
	return location_to_ino(fs, dir.root, &loc, out);
}

/* Report the entry in slot of leaf (a private copy). */
static int emit_entry(struct fs_info *fs, struct fs_ino dir,
		      const struct tree_block *leaf, u32 slot,
		      fs_filldir_t fn, void *ctx)
{
	char name[BTRFS_NAME_LEN + 1];
	const u8 *p;
	struct key loc;
	struct fs_ino ino;
	u16 nlen;
	u8 type;
	int ret;

	p = tb_item_data(leaf, slot);
	nlen = D_GET16(struct d_dir_item, p, name_len);
	memcpy(name, p + sizeof(struct d_dir_item), nlen);
	name[nlen] = 0;
	key_from_disk(&loc, D_PTR(struct d_dir_item, p, location));
	type = D_GET8(struct d_dir_item, p, type);
	ret = location_to_ino(fs, dir.root, &loc, &ino);
	if (ret)
		return ret;
	/* fn may call the public API, which takes ns_lock itself. */
	up_read(&fs->ns_lock);
	ret = fn(ctx, name, nlen, ino, type);
	down_read(&fs->ns_lock);
	return ret;
}

/* Report dir's index entries in leaf (a private copy) from slot on. *k
 * is left at the last key looked at. 0 to go on with the next leaf, 1
 * past dir's entries or when fn stopped with 1, or fn's negative errno. */
static int emit_leaf(struct fs_info *fs, struct fs_ino dir,
		     const struct tree_block *leaf, u32 slot, struct key *k,
		     fs_filldir_t fn, void *ctx)
{
	int ret;

	for (; slot < tb_nritems(leaf); slot++) {
		tb_item_key(leaf, slot, k);
		if (k->objectid != dir.ino || k->type != BTRFS_DIR_INDEX_KEY)
			return 1;
		ret = emit_entry(fs, dir, leaf, slot, fn, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Call fn for every entry of directory dir in index order ("." and ".." are
 * not stored and not reported). Entries are reported from a private copy
 * of each leaf (read under the directory's lock), one search per leaf
 * rather than per entry, with the path and every lock released around
 * each call, so fn may use the public API or
 * recurse; an entry added or removed meanwhile may or may not be
 * reported. Returns 0 (also when fn stopped with 1), or fn's or the
 * search's negative errno.
 */
int fs_readdir(struct fs_info *fs, struct fs_ino dir, fs_filldir_t fn,
	       void *ctx)
{
	const struct subvol_root *sv;
	struct key k = { dir.ino, BTRFS_DIR_INDEX_KEY, 0 };
	struct rwsem *dl = inode_lock(fs, dir);
	struct ctree_path path;
	struct tree_block *leaf;
	struct fs_stat st;
	u32 slot;
	int ret;

	down_read(&fs->ns_lock);
	ret = inode_stat(fs, dir, &st);
	if (ret == 0 && (st.mode & 0170000) != 0040000)
		ret = -ENOTDIR;
	if (ret == 0)
		ret = subvol_get(fs, dir.root, &sv);
	if (ret) {
		up_read(&fs->ns_lock);
		return ret;
	}
	ctree_path_init(&path);
	for (;;) {
		/* The directory's lock while its leaf is read: no change of
		 * its names is half in it. */
		down_read(dl);
		ret = ctree_search_ge(&sv->root, &k, &path);
		if (ret == 0)
			ret = tree_block_clone(path.nodes[0], &leaf);
		slot = (u32)path.slots[0];
		ctree_path_release(&path);
		up_read(dl);
		if (ret)
			break;
		ret = emit_leaf(fs, dir, leaf, slot, &k, fn, ctx);
		tree_block_put(leaf);
		if (ret || k.offset == (u64)-1)
			break;
		k.offset++;	/* the leaf's last item was dir's */
	}
	ctree_path_release(&path);
	up_read(&fs->ns_lock);
	return ret == 1 ? 0 : ret;
}

/* The BTRFS_FT_* of an inode mode, as its directory entries name it. */
u8 dir_ftype_of_mode(u32 mode)
{
	switch (mode & S_IFMT_) {
	case S_IFDIR_:
		return BTRFS_FT_DIR;
	case S_IFLNK_:
		return BTRFS_FT_SYMLINK;
	case S_IFCHR_:
		return BTRFS_FT_CHRDEV;
	case S_IFBLK_:
		return BTRFS_FT_BLKDEV;
	case S_IFIFO_:
		return BTRFS_FT_FIFO;
	case S_IFSOCK_:
		return BTRFS_FT_SOCK;
	default:
		return BTRFS_FT_REG_FILE;
	}
}
