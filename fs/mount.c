/*
 * Mount and unmount, and filesystem-wide figures (df).
 *
 * Mount order, each step depending on the one before:
 *  1. superblock (super.c): a valid copy, supported features;
 *  2. chunk map bootstrap from the super's sys_chunk_array (volumes.c);
 *  3. the chunk tree, read through the bootstrap map, adds every chunk;
 *  4. the root tree (root in the super), and from its root items the extent,
 *     csum and block-group trees;
 *  5. the default subvolume: the "default" entry of the root tree directory
 *     (objectid 6), or the top level (5) when there is none; its root
 *     directory must stat.
 * Any failure unwinds everything and returns the error; the message saying
 * what was wrong has been printed by the step that found it.
 *
 * A read-write mount (rw_obstacle says when one is possible) then builds
 * the allocator from the extent and device trees, replays the tree-log
 * Linux left (tree_log.c; committed before anything else may change the
 * filesystem) and starts the periodic commit task; unmounting commits and
 * stops it. A log that cannot be replayed makes the mount read-only, and a
 * read-only mount says what of the log it does not show. A balance item
 * is then resumed as a task (paused with skip_balance or read-only), and
 * unmounting pauses a running balance first (balance_ctl.c).
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include <ghee/time.h>

#include "balance.h"
#include "block_group.h"
#include "cleaner.h"
#include "dir.h"
#include "fs.h"
#include "fs_info.h"
#include "qgroup.h"
#include "relocation.h"
#include "internal.h"
#include "commit_root.h"
#include "compress.h"
#include "csum_type.h"
#include "subvol.h"
#include "super.h"
#include "transaction.h"
#include "tree_log.h"

#define TB_CACHE_BYTES (64ULL << 20)	/* unreferenced tree blocks kept */
#define COMMIT_INTERVAL_NS (5ULL * 1000000000)	/* periodic commit */

/* Load tree `id` from its root item. optional: absent is not an error. */
static int load_tree(struct fs_info *fs, u64 id, struct ctree_root *out,
		     int optional)
{
	u8 item[sizeof(struct d_root_item)];
	u32 size;
	int ret = subvol_read_root_item(fs, id, item, &size);

	memset(out, 0, sizeof(*out));
	if (ret == -ENOENT && optional)
		return 0;
	if (ret) {
		pr_err("cannot load tree %llu: %s", (unsigned long long)id,
		       ret == -ENOENT ? "no root item" : "root tree error");
		return ret;
	}
	ctree_root_init(out, fs, id, D_GET64(struct d_root_item, item, bytenr),
			D_GET64(struct d_root_item, item, generation),
			D_GET8(struct d_root_item, item, level));
	return 0;
}

/* Find the default subvolume through the root tree directory. */
static int find_default_subvol(struct fs_info *fs)
{
	u64 dir = get_le64(&fs->super->root_dir_objectid);
	struct key loc;
	u8 type;
	int ret;

	fs->default_subvol = BTRFS_FS_TREE_OBJECTID;
	ret = dir_lookup(&fs->tree_root, dir, "default", 7, &loc, &type);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	if (loc.type != BTRFS_ROOT_ITEM_KEY ||
	    (loc.objectid != BTRFS_FS_TREE_OBJECTID &&
	     (loc.objectid < BTRFS_FIRST_FREE_OBJECTID ||
	      loc.objectid > BTRFS_LAST_FREE_OBJECTID))) {
		pr_err("root tree: \"default\" entry points at (%llu %u)",
		       (unsigned long long)loc.objectid, loc.type);
		return -EUCLEAN;
	}
	fs->default_subvol = loc.objectid;
	return 0;
}

/* Copy what the rest of fs/ uses out of the superblock. */
static void setup_from_super(struct fs_info *fs)
{
	const struct d_super_block *sb = fs->super;

	fs->nodesize = get_le32(&sb->nodesize);
	fs->sectorsize = get_le32(&sb->sectorsize);
	fs->csum_type = get_le16(&sb->csum_type);
	fs->csum_size = csum_type_size(fs->csum_type);
	fs->generation = get_le64(&sb->generation);
	fs->incompat = get_le64(&sb->incompat_flags);
	fs->compat_ro = get_le64(&sb->compat_ro_flags);
	fs->devid = D_GET64(struct d_dev_item, &sb->dev_item, devid);
	if (fs->incompat & BTRFS_FEATURE_INCOMPAT_METADATA_UUID)
		memcpy(fs->meta_fsid, sb->metadata_uuid, BTRFS_FSID_SIZE);
	else
		memcpy(fs->meta_fsid, sb->fsid, BTRFS_FSID_SIZE);
	fs->read_only = 1;
	fs->metadump = !!(get_le64(&sb->flags) & (BTRFS_SUPER_FLAG_METADUMP |
						  BTRFS_SUPER_FLAG_METADUMP_V2));
	ctree_root_init(&fs->chunk_root, fs, BTRFS_CHUNK_TREE_OBJECTID,
			get_le64(&sb->chunk_root),
			get_le64(&sb->chunk_root_generation),
			sb->chunk_root_level);
	ctree_root_init(&fs->tree_root, fs, BTRFS_ROOT_TREE_OBJECTID,
			get_le64(&sb->root), fs->generation, sb->root_level);
}

/* Remember the chunk tree UUID new tree blocks carry. */
static int read_chunk_tree_uuid(struct fs_info *fs)
{
	struct tree_block *b;
	int ret = ctree_read_root(&fs->chunk_root, &b);

	if (ret)
		return ret;
	memcpy(fs->chunk_tree_uuid,
	       D_PTR(struct d_header, b->data, chunk_tree_uuid),
	       BTRFS_UUID_SIZE);
	tree_block_put(b);
	return 0;
}

/* Why the tree-log cannot be replayed, or NULL when it can. */
static const char *log_obstacle(struct fs_info *fs)
{
	struct tree_log_summary s;

	if (tree_log_scan(fs, &s))
		return "the tree-log cannot be read";
	return s.unsupported;
}

/* Say what a read-only mount leaves out of an unreplayed tree-log. */
static void warn_log_ignored(struct fs_info *fs)
{
	struct tree_log_summary s;

	if (tree_log_scan(fs, &s)) {
		pr_warn("%s: the tree-log cannot be read; a read-only mount "
			"does not show its fsyncs", fs->dev->name);
		return;
	}
	pr_warn("%s: the tree-log holds fsyncs of %llu inode%s in %u "
		"subvolume%s that a read-only mount does not show%s%s",
		fs->dev->name, (unsigned long long)s.inodes,
		s.inodes == 1 ? "" : "s", s.subvols, s.subvols == 1 ? "" : "s",
		s.unsupported ? "; not replayable: " : "",
		s.unsupported ? s.unsupported : "");
}

/* Why this filesystem cannot be written, or NULL when it can. */
static const char *rw_obstacle(struct fs_info *fs)
{
	const char *why;
	int reloc;

	if (fs->dev->read_only)
		return "the disk is read-only";
	if (fs->incompat & BTRFS_FEATURE_INCOMPAT_MIXED_GROUPS)
		return "mixed block groups are not supported for writing";
	if (fs->compat_ro & ~(BTRFS_FEATURE_COMPAT_RO_FREE_SPACE_TREE |
			      BTRFS_FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID))
		return "a read-only-compatible feature ghee cannot write is on";
	if ((fs->compat_ro & BTRFS_FEATURE_COMPAT_RO_FREE_SPACE_TREE) &&
	    !(fs->compat_ro & BTRFS_FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID))
		return "the free space tree is not valid";
	if (get_le64(&fs->super->log_root) && (why = log_obstacle(fs)))
		return why;
	if (!fs->csum_root.bytenr || !fs->dev_root.bytenr)
		return "the csum or device tree is missing";
	reloc = reloc_trees_left(fs);
	if (reloc < 0)
		return "the root tree cannot be read";
	if (reloc)
		return "relocation trees of an interrupted Linux balance are "
		       "left (Linux merges them at its next mount)";
	return NULL;
}

/* Turn a read-only mount into a read-write one when possible. */
static int go_read_write(struct fs_info *fs)
{
	const char *why = rw_obstacle(fs);
	int ret;

	if (why) {
		pr_warn("%s: mounting read-only: %s", fs->dev->name, why);
		return 0;
	}
	fs->bytes_used = get_le64(&fs->super->bytes_used);
	fs->dev_bytes_used = D_GET64(struct d_dev_item, &fs->super->dev_item,
				     bytes_used);
	ret = bg_load(fs);
	if (ret)
		return ret;
	fs->read_only = 0;
	fs->commit_interval_ns = COMMIT_INTERVAL_NS;
	if (get_le64(&fs->super->log_root)) {
		ret = tree_log_replay(fs);
		if (ret)
			return ret;
	}
	ret = trans_start_committer(fs);
	if (ret == 0)
		ret = cleaner_start(fs);
	return ret ? ret : qgroup_rescan_start(fs);
}

/* Steps 2-5 of mount, on an fs_info whose super is set up. */
static int load_trees(struct fs_info *fs)
{
	const struct subvol_root *sv;
	struct fs_stat st;
	struct fs_ino top;
	int ret;

	ret = volumes_read_sys_array(fs);
	if (ret)
		return ret;
	ret = volumes_read_chunk_tree(fs);
	if (ret)
		return ret;
	ret = load_tree(fs, BTRFS_EXTENT_TREE_OBJECTID, &fs->extent_root, 0);
	if (ret == 0)
		ret = load_tree(fs, BTRFS_CSUM_TREE_OBJECTID, &fs->csum_root, 1);
	if (ret == 0 && (fs->compat_ro &
			 BTRFS_FEATURE_COMPAT_RO_BLOCK_GROUP_TREE))
		ret = load_tree(fs, BTRFS_BLOCK_GROUP_TREE_OBJECTID,
				&fs->bg_root, 0);

	if (ret == 0)
		ret = load_tree(fs, BTRFS_DEV_TREE_OBJECTID, &fs->dev_root, 1);
	if (ret == 0 && (fs->compat_ro & BTRFS_FEATURE_COMPAT_RO_FREE_SPACE_TREE))
		ret = load_tree(fs, BTRFS_FREE_SPACE_TREE_OBJECTID,
				&fs->fst_root, 0);
	if (ret == 0)
		ret = load_tree(fs, BTRFS_UUID_TREE_OBJECTID, &fs->uuid_root, 1);
	if (ret == 0)
		ret = load_tree(fs, BTRFS_QUOTA_TREE_OBJECTID, &fs->quota_root,
				1);
	if (ret == 0)
		ret = qgroup_load(fs);
	if (ret == 0)
		ret = read_chunk_tree_uuid(fs);
	if (ret == 0)
		ret = find_default_subvol(fs);
	if (ret == 0)
		ret = subvol_get(fs, fs->default_subvol, &sv);
	if (ret)
		return ret;
	top.root = fs->default_subvol;
	top.ino = sv->root_dirid;
	ret = inode_stat(fs, top, &st);
	if (ret == -ENOENT) {
		pr_err("subvolume %llu: root directory %llu has no inode item",
		       (unsigned long long)top.root,
		       (unsigned long long)top.ino);
		ret = -EUCLEAN;
	} else if (ret == 0 && (st.mode & 0170000) != 0040000) {
		pr_err("subvolume %llu: root inode %llu is not a directory",
		       (unsigned long long)top.root,
		       (unsigned long long)top.ino);
		ret = -EUCLEAN;
	}
	return ret;
}

/*
 * Make a subvolume the mounted root, "/" of every path, in place of the
 * default one (mount -o subvol=PATH, subvolid=ID): the subvolume whose
 * root directory is path (looked up from the top level, as Linux does),
 * or, when path is NULL, subvolume id. Called right after fs_mount,
 * before anything else uses fs (default_subvol is immutable from then
 * on). Returns 0, -ENOENT, -EINVAL (path is no subvolume's root) or <0;
 * on failure the default subvolume stays the root.
 */
int fs_mount_subvol(struct fs_info *fs, const char *path, uint64_t id)
{
	const struct subvol_root *sv;
	u64 old = fs->default_subvol;
	struct fs_ino ino = { id, 0 };
	struct fs_stat st;
	int ret;

	if (path) {
		fs->default_subvol = BTRFS_FS_TREE_OBJECTID;
		ret = inode_lookup(fs, path, FS_LOOKUP_FOLLOW, &ino);
		if (ret == 0)
			ret = subvol_get(fs, ino.root, &sv);
		if (ret == 0 && ino.ino != sv->root_dirid)
			ret = -EINVAL;
	} else {
		ret = subvol_get(fs, id, &sv);
		if (ret == 0) {
			ino.ino = sv->root_dirid;
			ret = inode_stat(fs, ino, &st);
		}
	}
	fs->default_subvol = ret ? old : ino.root;
	return ret;
}

/*
 * Mount the btrfs filesystem on dev. flags: FS_MOUNT_RO (the mount is
 * read-only in any case for now). On success *out is the mounted fs.
 * Returns -EINVAL (not btrfs), -EUCLEAN (corrupt), -EOPNOTSUPP (feature),
 * -EIO, -ENOMEM; the reason has been logged.
 */
int fs_mount(struct blkdev *dev, unsigned flags, struct fs_info **out)
{
	struct fs_info *fs = kzalloc(sizeof(*fs));
	int ret, i;

	if (!fs)
		return -ENOMEM;
	fs->dev = dev;
	spin_init(&fs->subvol_lock, "subvols");
	u64map_init(&fs->subvol_ids, 1);
	rwsem_init(&fs->ns_lock, "ns_lock");
	for (i = 0; i < FS_INODE_LOCKS; i++)
		rwsem_init(&fs->inode_locks[i], "inode_lock");
	rwsem_init(&fs->trans_sem, "trans_sem");
	rwsem_init(&fs->commit_root_sem, "commit_root_sem");
	mutex_init(&fs->alloc_lock, "alloc_lock");
	mutex_init(&fs->balance_lock, "balance_lock");
	mutex_init(&fs->rename_lock, "rename_lock");
	spin_init(&fs->trans_lock, "trans_lock");
	spin_init(&fs->chunks.lock, "chunk_map");
	writeback_init(fs);
	ret = tb_cache_init(&fs->cache, TB_CACHE_BYTES);
	if (ret)
		goto out_free;
	ret = super_read(dev, &fs->super, &fs->super_mirror);
	if (ret)
		goto out_free;
	ret = super_check_features(fs->super);
	if (ret)
		goto out_free;
	setup_from_super(fs);
	ret = load_trees(fs);
	if (ret)
		goto out_free;
	if (!(flags & FS_MOUNT_RO) && fs->metadump) {
		pr_err("%s: a metadata dump (btrfs-image) has no file data; "
		       "it mounts read-only", dev->name);
		ret = -EROFS;
	} else if (!(flags & FS_MOUNT_RO)) {
		ret = go_read_write(fs);
	}
	if (ret)
		goto out_free;
	if (fs->read_only && get_le64(&fs->super->log_root))
		warn_log_ignored(fs);
	ret = balance_recover(fs, flags);
	if (ret)
		goto out_free;
	*out = fs;
	return 0;

out_free:
	fs_umount(fs);
	return ret;
}

/*
 * Unmount: commit what is running (read-write), then free every in-memory
 * structure of fs. A failed final commit has been reported; the disk then
 * keeps the last good commit.
 */
void fs_umount(struct fs_info *fs)
{
	if (!fs)
		return;
	balance_unmount(fs);
	qgroup_rescan_stop(fs);
	cleaner_stop(fs);
	trans_stop_committer(fs);
	if (fs->running) {
		if (trans_commit(fs))
			pr_err("%s: final commit failed", fs->dev->name);
		if (fs->running)
			trans_free(fs->running);
		fs->running = NULL;
	}
	/* After an abort, delayed writes may still be held or in flight
	 * (to space no commit references): end them before freeing. */
	if (writeback_wait(fs))
		pr_err("%s: writes since the last commit failed",
		       fs->dev->name);
	bg_free_all(fs);
	commit_root_free(fs);
	subvol_free_all(fs);
	qgroup_table_free(fs);
	volumes_free(&fs->chunks);
	tb_cache_destroy(&fs->cache);
	kfree(fs->super);
	kfree(fs);
}

/* Nonzero when fs is a metadata dump: trees without file data. */
int fs_is_metadump(const struct fs_info *fs)
{
	return fs->metadump;
}

/*
 * Compress new data of fs as c says, from now on. Called once after
 * mounting, before the filesystem is in use. As Linux at mount, a
 * read-write filesystem gets the incompat flag of lzo or zstd (zlib has
 * none), so a reader that lacks the codec refuses it.
 */
void fs_set_compress(struct fs_info *fs, const struct fs_compress *c)
{
	u64 bit = compress_incompat_bit(c->type);

	fs->compress = *c;
	if (bit && !fs_is_read_only(fs)) {
		fs->incompat |= bit;
		put_le64(&fs->super->incompat_flags,
			 get_le64(&fs->super->incompat_flags) | bit);
	}
}

/* Nonzero when fs is read-only (mounted so, or after an abort). */
int fs_is_read_only(const struct fs_info *fs)
{
	return __atomic_load_n(&fs->read_only, __ATOMIC_ACQUIRE);
}

/* Commit the running transaction now. 0, -EROFS, the commit's error, or
 * else once the error of file data that failed to write since the last
 * sync (fs/writeback.c, "Write errors": the commit still went through,
 * as Linux's syncfs reports a writeback error without aborting). */
int fs_sync(struct fs_info *fs)
{
	int ret, data_err;

	if (fs_is_read_only(fs))
		return fs_aborted(fs) ? -EROFS : 0;
	ret = trans_commit(fs);
	data_err = writeback_data_error(fs);
	return ret ? ret : data_err;
}

/* Name of a chunk type, as btrfs filesystem df prints it. */
const char *fs_space_type_name(uint64_t type)
{
	switch (type & BTRFS_BLOCK_GROUP_TYPE_MASK) {
	case BTRFS_BLOCK_GROUP_DATA:
		return "Data";
	case BTRFS_BLOCK_GROUP_SYSTEM:
		return "System";
	case BTRFS_BLOCK_GROUP_METADATA:
		return "Metadata";
	case BTRFS_BLOCK_GROUP_DATA | BTRFS_BLOCK_GROUP_METADATA:
		return "Data+Metadata";
	default:
		return "Unknown";
	}
}

/* Name of a chunk profile. */
const char *fs_space_profile_name(uint64_t type)
{
	return volumes_profile_name(type);
}

/* Add a chunk's size and its block group's use to the df rows. */
static int df_add(struct fs_info *fs, struct fs_df *df,
		  const struct chunk_mapping *m)
{
	struct key k = { m->logical, BTRFS_BLOCK_GROUP_ITEM_KEY, m->length };
	struct ctree_path path;
	u64 used = 0;
	u32 i, size;
	int ret;

	ctree_path_init(&path);
	ret = ctree_lookup(fs->compat_ro &
			   BTRFS_FEATURE_COMPAT_RO_BLOCK_GROUP_TREE ?
			   &fs->bg_root : &fs->extent_root, &k, &path);
	if (ret == 0)
		used = D_GET64(struct d_block_group_item,
			       ctree_item_ptr(&path, &size), used);
	ctree_path_release(&path);
	if (ret && ret != -ENOENT)
		return ret;
	for (i = 0; i < df->nspace && df->space[i].type != m->type; i++)
		;
	if (i == df->nspace) {
		if (i == FS_SPACE_MAX)
			return 0;
		df->nspace++;
		df->space[i].type = m->type;
	}
	df->space[i].total += m->length;
	df->space[i].used += used;
	return 0;
}

/* Fill df with the space figures of fs. Returns 0 or <0. */
static int df_locked(struct fs_info *fs, struct fs_df *df)
{
	struct chunk_mapping *v;
	u32 i, n;
	int ret;

	memset(df, 0, sizeof(*df));
	df->dev_size = fs->dev->size;
	df->total_bytes = get_le64(&fs->super->total_bytes);
	df->bytes_used = get_le64(&fs->super->bytes_used);
	ret = volumes_copy_all(fs, &v, &n);
	for (i = 0; i < n && ret == 0; i++)
		ret = df_add(fs, df, &v[i]);
	kfree(v);
	return ret;
}

/* fs_df with trans_sem held for read: the figures are those of the last
 * commit, which rewrites the superblock and block group items. */
int fs_df(struct fs_info *fs, struct fs_df *df)
{
	int ret;

	down_read(&fs->trans_sem);
	ret = df_locked(fs, df);
	up_read(&fs->trans_sem);
	return ret;
}
