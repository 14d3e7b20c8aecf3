/*
 * Tree-log replay, names: the links the log adds and removes, and the
 * recount of links and directory sizes after them. See tree_log.c for
 * the whole replay; these run inside its transaction, ns_lock held.
 *
 * A name is a pair: the directory's DIR_ITEM/DIR_INDEX entries and the
 * inode's back-ref (INODE_REF or INODE_EXTREF). Replay adds and removes
 * both together (link_one, unlink_one), so the subvolume stays
 * consistent whatever the log leaves out; nlink and directory sizes are
 * not tracked per change but recounted at the end for every inode a
 * change touched (tree_log_fixup), as Linux's replay does.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "dir.h"
#include "dir_write.h"
#include "fs_info.h"
#include "tree_log.h"

#define DI ((u32)sizeof(struct d_dir_item))
#define IR ((u32)sizeof(struct d_inode_ref))
#define XR ((u32)sizeof(struct d_inode_extref))

/* Remove name of ino from dir: entries and back-ref. */
static int unlink_one(struct replay *r, u64 dir, u64 ino, const char *name,
		      u32 len)
{
	u64 index;
	int ret = iref_del(&r->w, r->root, ino, dir, name, len, &index);

	if (ret == 0)
		ret = dir_del(&r->w, r->root, dir, name, len, index);
	if (ret == 0)
		ret = tree_log_fix_add(r, dir);
	return ret ? ret : tree_log_fix_add(r, ino);
}

/* Unlink whatever dir holds at index (another name took it). */
static int free_index(struct replay *r, u64 dir, u64 index)
{
	struct key k = { dir, BTRFS_DIR_INDEX_KEY, index };
	char name[BTRFS_NAME_LEN];
	struct ctree_path p;
	struct key loc;
	u32 size, len = 0;
	int ret;

	ctree_path_init(&p);
	ret = ctree_lookup(r->root, &k, &p);
	if (ret == 0) {
		const u8 *d = ctree_item_ptr(&p, &size);

		key_from_disk(&loc, D_PTR(struct d_dir_item, d, location));
		len = D_GET16(struct d_dir_item, d, name_len);
		if (len > BTRFS_NAME_LEN || DI + len > size)
			ret = -EUCLEAN;
		else
			memcpy(name, d + DI, len);
	}
	ctree_path_release(&p);
	if (ret)
		return ret == -ENOENT ? 0 : ret;
	if (loc.type != BTRFS_INODE_ITEM_KEY)
		return -EOPNOTSUPP;
	return unlink_one(r, dir, loc.objectid, name, len);
}

/*
 * Make name in dir (with index) link ino, unlinking a different inode of
 * that name or that index first. An inode the subvolume does not hold
 * (yet) is not linked: its own log items link it.
 */
static int link_one(struct replay *r, u64 dir, u64 ino, const char *name,
		    u32 len, u64 index)
{
	u8 ii[sizeof(struct d_inode_item)];
	struct key loc = { ino, BTRFS_INODE_ITEM_KEY, 0 };
	struct key old;
	u8 type;
	int ret;

	if (dir == ino)
		return 0;	/* a subvolume top's ".." ref: no entry */
	ret = inode_item_get(r->root, ino, ii);
	if (ret)
		return ret == -ENOENT ? 0 : ret;
	ret = dir_lookup(r->root, dir, name, len, &old, &type);
	if (ret == 0 && old.type != BTRFS_INODE_ITEM_KEY)
		return -EOPNOTSUPP;
	if (ret == 0 && old.objectid == ino)
		return 0;
	if (ret == 0)
		ret = unlink_one(r, dir, old.objectid, name, len);
	else if (ret == -ENOENT)
		ret = 0;
	if (ret == 0)
		ret = free_index(r, dir, index);
	if (ret == 0)
		ret = iref_add(&r->w, r->root, ino, dir, name, len, index);
	if (ret == 0)
		ret = dir_add(&r->w, r->root, dir, name, len, &loc,
			      dir_ftype_of_mode(D_GET32(struct d_inode_item, ii, mode)),
			      index);
	if (ret == 0)
		ret = tree_log_fix_add(r, dir);
	return ret ? ret : tree_log_fix_add(r, ino);
}

/* Whether the ref item body d (size bytes, INODE_REF) holds name. */
static int ref_has(const u8 *d, u32 size, const u8 *name, u32 len)
{
	u32 at = 0;

	while (at + IR <= size) {
		u32 n = D_GET16(struct d_inode_ref, d + at, name_len);

		if (n == len && at + IR + n <= size &&
		    !memcmp(d + at + IR, name, len))
			return 1;
		at += IR + n;
	}
	return 0;
}

/*
 * Unlink the names ino has in dir (its INODE_REF item at k of the
 * subvolume) that the log's ref item (d, size) lacks: renamed away or
 * removed before the fsync.
 */
static int drop_old_refs(struct replay *r, const struct key *k,
			 const u8 *d, u32 size)
{
	u8 *old = kmalloc(r->w.fs->nodesize);
	struct ctree_path p;
	u32 osize = 0, at = 0;
	int ret;

	if (!old)
		return -ENOMEM;
	ctree_path_init(&p);
	ret = ctree_lookup(r->root, k, &p);
	if (ret == 0) {
		const u8 *o = ctree_item_ptr(&p, &osize);

		memcpy(old, o, osize);
	}
	ctree_path_release(&p);
	while (ret == 0 && at + IR <= osize) {
		u32 n = D_GET16(struct d_inode_ref, old + at, name_len);

		if (at + IR + n > osize)
			ret = -EUCLEAN;
		else if (!ref_has(d, size, old + at + IR, n))
			ret = unlink_one(r, k->offset, k->objectid,
					 (const char *)old + at + IR, n);
		at += IR + n;
	}
	kfree(old);
	return ret == -ENOENT ? 0 : ret;
}

/* Replay a logged INODE_REF or INODE_EXTREF item: link each name. */
int tree_log_replay_ref(struct replay *r, const struct key *k, const u8 *d,
			u32 size)
{
	int ext = k->type == BTRFS_INODE_EXTREF_KEY;
	u32 hdr = ext ? XR : IR, at = 0;
	int ret = 0;

	while (ret == 0 && at + hdr <= size) {
		const u8 *e = d + at;
		u32 n = ext ? D_GET16(struct d_inode_extref, e, name_len) :
			      D_GET16(struct d_inode_ref, e, name_len);
		u64 dir = ext ? D_GET64(struct d_inode_extref, e,
					parent_objectid) : k->offset;
		u64 index = ext ? D_GET64(struct d_inode_extref, e, index) :
				  D_GET64(struct d_inode_ref, e, index);

		if (at + hdr + n > size || n > BTRFS_NAME_LEN)
			return -EUCLEAN;
		ret = link_one(r, dir, k->objectid, (const char *)e + hdr, n,
			       index);
		at += hdr + n;
	}
	if (ret == 0 && !ext)
		ret = drop_old_refs(r, k, d, size);
	return ret;
}

/* Replay a logged DIR_INDEX item: the entry's name links its inode. */
int tree_log_replay_dir_index(struct replay *r, const struct key *k,
			      const u8 *d, u32 size)
{
	u32 n = D_GET16(struct d_dir_item, d, name_len);
	struct key loc;

	if (size < DI || DI + n > size || n > BTRFS_NAME_LEN)
		return -EUCLEAN;
	key_from_disk(&loc, D_PTR(struct d_dir_item, d, location));
	return link_one(r, k->objectid, loc.objectid, (const char *)d + DI, n,
			k->offset);
}

/* Unlink a subvolume entry of a logged index range the log lacks. */
static int drop_unlogged(struct replay *r, const struct key *k,
			 const u8 *d, u32 size)
{
	u32 n = D_GET16(struct d_dir_item, d, name_len), lsize;
	struct ctree_path p;
	struct key loc;
	int ret, keep = 0;

	if (size < DI || DI + n > size)
		return -EUCLEAN;
	key_from_disk(&loc, D_PTR(struct d_dir_item, d, location));
	if (loc.type != BTRFS_INODE_ITEM_KEY)
		return 0;	/* a subvolume's entry is never logged */
	ctree_path_init(&p);
	ret = ctree_lookup(&r->log, k, &p);
	if (ret == 0) {
		const u8 *l = ctree_item_ptr(&p, &lsize);

		keep = lsize >= DI + n &&
		       D_GET16(struct d_dir_item, l, name_len) == n &&
		       !memcmp(l + DI, d + DI, n);
	}
	ctree_path_release(&p);
	if (ret && ret != -ENOENT)
		return ret;
	return keep ? 0 : unlink_one(r, k->objectid, loc.objectid,
				     (const char *)d + DI, n);
}

/* Apply one DIR_LOG_INDEX range of the log (first index, item: last). */
static int dir_range(struct replay *r, const struct key *k, const u8 *d,
		     u32 size)
{
	struct key from = { k->objectid, BTRFS_DIR_INDEX_KEY, k->offset };
	struct key to = { k->objectid, BTRFS_DIR_INDEX_KEY, 0 };

	if (size < 8)
		return -EUCLEAN;
	to.offset = get_le64(d);
	return tree_log_walk(r, r->root, &from, &to, drop_unlogged);
}

/*
 * For a logged directory: unlink the subvolume's entries inside the
 * index ranges the log covers that the log does not hold (they were
 * removed before the fsync).
 */
int tree_log_dir_deletes(struct replay *r, u64 dir)
{
	struct key from = { dir, BTRFS_DIR_LOG_INDEX_KEY, 0 };
	struct key to = { dir, BTRFS_DIR_LOG_INDEX_KEY, (u64)-1 };

	return tree_log_walk(r, &r->log, &from, &to, dir_range);
}

/* Count the names in one back-ref item (into r->acc). */
static int count_refs(struct replay *r, const struct key *k, const u8 *d,
		      u32 size)
{
	int ext = k->type == BTRFS_INODE_EXTREF_KEY;
	u32 hdr = ext ? XR : IR, at = 0;

	if (k->type != BTRFS_INODE_REF_KEY && !ext)
		return 0;
	while (at + hdr <= size) {
		at += hdr + (ext ? D_GET16(struct d_inode_extref, d + at,
					   name_len) :
				   D_GET16(struct d_inode_ref, d + at,
					   name_len));
		r->acc++;
	}
	return 0;
}

/* Add one entry's name bytes, twice, to r->acc (a directory's size). */
static int count_size(struct replay *r, const struct key *k, const u8 *d,
		      u32 size)
{
	(void)k;
	(void)size;
	r->acc += 2 * (u64)D_GET16(struct d_dir_item, d, name_len);
	return 0;
}

/* Add one extent item's bytes on disk to r->acc (an inode's nbytes). */
static int count_nbytes(struct replay *r, const struct key *k, const u8 *d,
			u32 size)
{
	(void)k;
	if (D_GET8(struct d_file_extent_item, d, type) ==
	    BTRFS_FILE_EXTENT_INLINE)
		r->acc += D_GET64(struct d_file_extent_item, d, ram_bytes);
	else if (size >= sizeof(struct d_file_extent_item) &&
		 D_GET64(struct d_file_extent_item, d, disk_bytenr))
		r->acc += D_GET64(struct d_file_extent_item, d, num_bytes);
	return 0;
}

/*
 * Recount one inode: nlink from its refs (evicted at none), a directory's
 * size from its entries, a file's nbytes from its extents (the log's
 * inode item has the nbytes of the logged extents only).
 */
static int fix_one(struct replay *r, u64 ino)
{
	struct key from = { ino, BTRFS_INODE_REF_KEY, 0 };
	struct key to = { ino, BTRFS_INODE_EXTREF_KEY, (u64)-1 };
	u8 ii[sizeof(struct d_inode_item)];
	int dir, ret = inode_item_get(r->root, ino, ii);

	if (ret)
		return ret == -ENOENT ? 0 : ret;
	dir = (D_GET32(struct d_inode_item, ii, mode) & S_IFMT_) == S_IFDIR_;
	r->acc = 0;
	ret = tree_log_walk(r, r->root, &from, &to, count_refs);
	if (ret)
		return ret;
	if (r->acc == 0)
		return file_evict(&r->w, r->root, ino);
	D_SET32(struct d_inode_item, ii, nlink, dir ? 1 : (u32)r->acc);
	from.type = to.type = dir ? BTRFS_DIR_INDEX_KEY :
				    BTRFS_EXTENT_DATA_KEY;
	r->acc = 0;
	ret = tree_log_walk(r, r->root, &from, &to,
			    dir ? count_size : count_nbytes);
	if (dir)
		D_SET64(struct d_inode_item, ii, size, r->acc);
	else
		D_SET64(struct d_inode_item, ii, nbytes, r->acc);
	return ret ? ret : inode_item_put(&r->w, r->root, ino, ii);
}

/* Recount every inode the replay of this subvolume touched. */
int tree_log_fixup(struct replay *r)
{
	u32 i;
	int ret = 0;

	for (i = 0; i < r->nfix && ret == 0; i++)
		ret = fix_one(r, r->fix[i]);
	return ret;
}
