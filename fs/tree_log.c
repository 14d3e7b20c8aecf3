/*
 * Tree-log replay at mount.
 *
 * Linux makes an fsync durable without a commit by writing the fsynced
 * inodes' items to a tree-log and pointing the superblock at it
 * (super log_root / log_root_level). A mount that finds log_root set must
 * apply the log before anything else changes the filesystem. The log is
 * a tree of trees: the log root tree (owner TREE_LOG, generation = last
 * commit + 1) holds one ROOT_ITEM (TREE_LOG, ROOT_ITEM, subvol id) per
 * subvolume log; each subvolume log holds copies of the fsynced inodes'
 * items, DIR_LOG_INDEX ranges (dir, DIR_LOG_INDEX, first index) -> last
 * index, and the data checksums (EXTENT_CSUM_OBJECTID, EXTENT_CSUM,
 * bytenr) of the extents it names. docs/FORMAT.md describes it.
 *
 * Replay, in one transaction committed before the mount returns (the super
 * names the log until that commit, so a crash during replay replays
 * again):
 *  0. exclude every log tree block and every data extent the log names
 *     from the allocator: Linux allocated them without extent items;
 *  1. per subvolume log, inodes: inode items copied over the subvolume's;
 *     for a directory, entries of its logged index ranges that the log
 *     lacks are unlinked; a regular file loses extents past its size; its
 *     xattrs become the log's;
 *  2. extents: each EXTENT_DATA item replaces its file range (a hole item
 *     only punches with no-holes, and is copied without); a regular
 *     extent not yet in the extent tree gets its extent item through a
 *     delayed ref (must_insert) and its checksums from the log;
 *  3. names: the log's INODE_REF/INODE_EXTREF and DIR_INDEX items are
 *     linked (a conflicting name or index is unlinked first); names of a
 *     logged ref item's directory that the log lacks are unlinked;
 *  4. every inode touched gets nlink recounted from its refs (evicted at
 *     0), files their nbytes from their extents and directories their
 *     size from their entries;
 *  5. the log blocks are pinned (free after the commit) and log_root is
 *     cleared.
 * tree_log_scan says beforehand whether the log holds only items this
 * replay knows; a read-write mount is refused otherwise.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "block_group.h"
#include "csum.h"
#include "delayed_ref.h"
#include "extent_tree.h"
#include "fs_info.h"
#include "tree_log.h"

#define FE ((u32)sizeof(struct d_file_extent_item))

/* The log root tree named by the superblock. */
static void log_root_tree(struct fs_info *fs, struct ctree_root *out)
{
	ctree_root_init(out, fs, BTRFS_TREE_LOG_OBJECTID,
			get_le64(&fs->super->log_root), fs->generation + 1,
			fs->super->log_root_level);
}

/* Step k to the next key; 0 when it was the last. */
static int key_advance(struct key *k)
{
	if (++k->offset)
		return 1;
	if (++k->type)
		return 1;
	return ++k->objectid != 0;
}

/*
 * Call fn on each item of tree with a key in [from, to], in key order. The
 * item is copied out and the path released first, so fn may change any
 * tree, this one too (the next item is searched again). 0 or the first
 * error.
 */
int tree_log_walk(struct replay *r, const struct ctree_root *tree,
		  const struct key *from, const struct key *to,
		  tree_log_item_fn fn)
{
	u8 *buf = kmalloc(tree->fs->nodesize);
	struct key k = *from;
	struct ctree_path p;
	u32 size;
	int ret;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ctree_path_init(&p);
		ret = ctree_search_ge(tree, &k, &p);
		if (ret == 0) {
			const u8 *d = ctree_item_ptr(&p, &size);

			ctree_item_key(&p, &k);
			memcpy(buf, d, size);
		}
		ctree_path_release(&p);
		if (ret || key_cmp(&k, to) > 0)
			break;
		ret = fn(r, &k, buf, size);
		if (ret || !key_advance(&k))
			break;
	}
	kfree(buf);
	return ret == 1 ? 0 : ret;
}

/* Remember ino for the link and size recount at the end. */
int tree_log_fix_add(struct replay *r, u64 ino)
{
	u32 i;

	for (i = 0; i < r->nfix; i++)
		if (r->fix[i] == ino)
			return 0;
	if (r->nfix == r->fix_cap) {
		u32 cap = r->fix_cap ? r->fix_cap * 2 : 64;
		u64 *n = kmalloc(cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		if (r->nfix)
			memcpy(n, r->fix, r->nfix * sizeof(*n));
		kfree(r->fix);
		r->fix = n;
		r->fix_cap = cap;
	}
	r->fix[r->nfix++] = ino;
	return 0;
}

/* Call fn(fs, bytenr) on every block of tree, depth first. */
static int walk_blocks(const struct ctree_root *tree, struct tree_block *b,
		       int (*fn)(struct fs_info *, u64, void *), void *arg)
{
	struct tree_block *child;
	u32 i;
	int ret = fn(tree->fs, b->start, arg);

	for (i = 0; ret == 0 && tb_level(b) > 0 && i < tb_nritems(b); i++) {
		ret = ctree_read_child(tree, b, (int)i, &child);
		if (ret == 0) {
			ret = walk_blocks(tree, child, fn, arg);
			tree_block_put(child);
		}
	}
	return ret;
}

/* walk_blocks over a whole tree. */
static int walk_tree_blocks(const struct ctree_root *tree,
			    int (*fn)(struct fs_info *, u64, void *),
			    void *arg)
{
	struct tree_block *b;
	int ret = ctree_read_root(tree, &b);

	if (ret)
		return ret;
	ret = walk_blocks(tree, b, fn, arg);
	tree_block_put(b);
	return ret;
}

/* ---------------------------------------------------------------- scan */

/* Whether ghee's replay knows an item of this key. */
static const char *item_unsupported(const struct key *k, const u8 *d,
				    u32 size)
{
	struct key loc;

	switch (k->type) {
	case BTRFS_INODE_ITEM_KEY:
	case BTRFS_INODE_REF_KEY:
	case BTRFS_INODE_EXTREF_KEY:
	case BTRFS_XATTR_ITEM_KEY:
	case BTRFS_DIR_ITEM_KEY:
	case BTRFS_DIR_LOG_INDEX_KEY:
		return NULL;
	case BTRFS_DIR_INDEX_KEY:
		key_from_disk(&loc, D_PTR(struct d_dir_item, d, location));
		return loc.type == BTRFS_INODE_ITEM_KEY ? NULL :
		       "the tree-log links a subvolume into a directory";
	case BTRFS_EXTENT_DATA_KEY:
		if (size < BTRFS_FILE_EXTENT_INLINE_DATA_START ||
		    D_GET8(struct d_file_extent_item, d, encryption) ||
		    D_GET16(struct d_file_extent_item, d, other_encoding))
			return "the tree-log holds an encoded file extent";
		return NULL;
	case BTRFS_EXTENT_CSUM_KEY:
		return k->objectid == BTRFS_EXTENT_CSUM_OBJECTID ? NULL :
		       "the tree-log holds a misplaced checksum item";
	case BTRFS_DIR_LOG_ITEM_KEY:
		return "the tree-log holds DIR_LOG_ITEM ranges (an old kernel's)";
	default:
		return "the tree-log holds an item type replay does not know";
	}
}

/* Scan one subvolume log item. */
static int scan_item(struct replay *r, const struct key *k, const u8 *d,
		     u32 size)
{
	const char *why = item_unsupported(k, d, size);

	if (why && !r->sum->unsupported)
		r->sum->unsupported = why;
	if (k->type == BTRFS_INODE_ITEM_KEY)
		r->sum->inodes++;
	return 0;
}

/* Read the subvolume log root item k of the log root tree into r->log. */
static int open_log(struct replay *r, struct fs_info *fs, const struct key *k,
		    const u8 *d, u32 size)
{
	if (k->objectid != BTRFS_TREE_LOG_OBJECTID ||
	    k->type != BTRFS_ROOT_ITEM_KEY || size < sizeof(struct d_root_item))
		return -EUCLEAN;
	ctree_root_init(&r->log, fs, BTRFS_TREE_LOG_OBJECTID,
			D_GET64(struct d_root_item, d, bytenr),
			D_GET64(struct d_root_item, d, generation),
			D_GET8(struct d_root_item, d, level));
	return 0;
}

/* Scan one subvolume log of the log root tree. */
static int scan_subvol(struct replay *r, const struct key *k, const u8 *d,
		       u32 size)
{
	struct fs_info *fs = r->log.fs;
	const struct subvol_root *sv;
	struct key from = { 0, 0, 0 }, to = { (u64)-1, 255, (u64)-1 };
	int ret = open_log(r, fs, k, d, size);

	if (ret) {
		r->sum->unsupported = "the tree-log root tree holds a stray item";
		return 0;
	}
	r->sum->subvols++;
	if (subvol_get(fs, k->offset, &sv)) {
		r->sum->unsupported = "the tree-log names a missing subvolume";
		return 0;
	}
	if (sv->flags & BTRFS_ROOT_SUBVOL_RDONLY)
		r->sum->unsupported = "the tree-log names a read-only subvolume";
	return tree_log_walk(r, &r->log, &from, &to, scan_item);
}

/*
 * Tell what the tree-log of fs holds: subvolume logs, logged inodes, and
 * why ghee cannot replay it (unsupported NULL when it can). 0, or <0 when
 * the log cannot be read (the reason has been logged).
 */
int tree_log_scan(struct fs_info *fs, struct tree_log_summary *s)
{
	struct key from = { 0, 0, 0 }, to = { (u64)-1, 255, (u64)-1 };
	struct ctree_root lrt;
	struct replay r;

	memset(s, 0, sizeof(*s));
	memset(&r, 0, sizeof(r));
	r.sum = s;
	r.log.fs = fs;
	log_root_tree(fs, &lrt);
	return tree_log_walk(&r, &lrt, &from, &to, scan_subvol);
}

/* ------------------------------------------------------- replay: inodes */

/* Delete the item at k of the subvolume (it must be there). */
static int del_item(struct replay *r, const struct key *k)
{
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(r->w.t, r->root, k, &p, 0);
	if (ret == 0)
		return ctree_del_item(r->w.t, r->root, &p);
	ctree_path_release(&p);
	return ret == 1 ? -EUCLEAN : ret;
}

static int del_xattr(struct replay *r, const struct key *k, const u8 *d,
		     u32 size)
{
	(void)d;
	(void)size;
	return del_item(r, k);
}

static int copy_item(struct replay *r, const struct key *k, const u8 *d,
		     u32 size)
{
	return ctree_insert_item(r->w.t, r->root, k, d, size);
}

/* Make ino's xattrs the log's: the subvolume's go, the log's come in. */
static int replay_xattrs(struct replay *r, u64 ino)
{
	struct key from = { ino, BTRFS_XATTR_ITEM_KEY, 0 };
	struct key to = { ino, BTRFS_XATTR_ITEM_KEY, (u64)-1 };
	int ret = tree_log_walk(r, r->root, &from, &to, del_xattr);

	return ret ? ret : tree_log_walk(r, &r->log, &from, &to, copy_item);
}

/*
 * Remove file data [start, end) of ino from the subvolume. An inline
 * extent (only ever at offset 0, alone) goes when the range starts at 0.
 */
static int drop_extents(struct replay *r, u64 ino, u64 start, u64 end)
{
	struct key k = { ino, BTRFS_EXTENT_DATA_KEY, 0 };
	struct ctree_path p;
	u64 freed = 0;
	u32 size;
	int inl = 0, ret;

	ctree_path_init(&p);
	ret = ctree_lookup(r->root, &k, &p);
	if (ret == 0)
		inl = D_GET8(struct d_file_extent_item,
			     ctree_item_ptr(&p, &size), type) ==
		      BTRFS_FILE_EXTENT_INLINE;
	ctree_path_release(&p);
	if (ret && ret != -ENOENT)
		return ret;
	if (inl)
		return start == 0 ? del_item(r, &k) : 0;
	return file_drop_range(&r->w, r->root, ino, start, end, &freed);
}

/* Copy a logged inode item over the subvolume's (or insert it). */
static int replay_inode(struct replay *r, const struct key *k, const u8 *d,
			u32 size)
{
	u8 old[sizeof(struct d_inode_item)];
	u32 mode = D_GET32(struct d_inode_item, d, mode);
	u64 isize = D_GET64(struct d_inode_item, d, size);
	u64 ss = r->w.fs->sectorsize;
	int ret;

	if (k->type != BTRFS_INODE_ITEM_KEY)
		return 0;
	if (size < sizeof(old))
		return -EUCLEAN;
	ret = inode_item_get(r->root, k->objectid, old);
	if (ret == -ENOENT)
		ret = ctree_insert_item(r->w.t, r->root, k, d, size);
	else if (ret == 0)
		ret = inode_item_put(&r->w, r->root, k->objectid, d);
	if (ret == 0 && (mode & S_IFMT_) == S_IFDIR_)
		ret = tree_log_dir_deletes(r, k->objectid);
	if (ret == 0 && (mode & S_IFMT_) == S_IFREG_)
		ret = drop_extents(r, k->objectid, (isize + ss - 1) / ss * ss,
				   (u64)-1);
	if (ret == 0)
		ret = replay_xattrs(r, k->objectid);
	return ret ? ret : tree_log_fix_add(r, k->objectid);
}

/* ------------------------------------------------------ replay: extents */

/* Copy the overlap of one log csum item with [cs_start, cs_end). */
static int copy_csum(struct replay *r, const struct key *k, const u8 *d,
		     u32 size)
{
	struct fs_info *fs = r->w.fs;
	u64 ss = fs->sectorsize;
	u64 end = k->offset + (u64)size / fs->csum_size * ss;
	u64 s = k->offset > r->cs_start ? k->offset : r->cs_start;
	u64 e = end < r->cs_end ? end : r->cs_end;
	struct key nk = { BTRFS_EXTENT_CSUM_OBJECTID, BTRFS_EXTENT_CSUM_KEY,
			  s };
	int ret;

	if (s >= e)
		return 0;
	ret = csum_delete(r->w.t, s, e - s);
	if (ret == 0)
		ret = ctree_insert_item(r->w.t, &fs->csum_root, &nk,
					d + (s - k->offset) / ss *
					fs->csum_size,
					(u32)((e - s) / ss * fs->csum_size));
	return ret;
}

/*
 * Whether data extent bytenr is known: in the extent tree, or entered by
 * this replay (a must_insert head). 1 yes, 0 no, <0.
 */
static int extent_known(struct replay *r, u64 bytenr)
{
	struct key k = { bytenr, BTRFS_EXTENT_ITEM_KEY, 0 };
	struct trans *t = r->w.t;
	struct dref_head *h;
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_ge(&r->w.fs->extent_root, &k, &p);
	if (ret == 0)
		ctree_item_key(&p, &k);
	ctree_path_release(&p);
	if (ret < 0)
		return ret;
	if (ret == 0 && k.objectid == bytenr &&
	    k.type == BTRFS_EXTENT_ITEM_KEY)
		return 1;
	spin_lock(&t->lock);
	h = delayed_ref_find_head(&t->refs, bytenr);
	ret = h && h->must_insert;
	spin_unlock(&t->lock);
	return ret;
}

/* Reference the disk extent of a replayed regular extent item at k. */
static int ref_extent(struct replay *r, const struct key *k, const u8 *d)
{
	u64 disk = D_GET64(struct d_file_extent_item, d, disk_bytenr);
	u64 dnb = D_GET64(struct d_file_extent_item, d, disk_num_bytes);
	u64 off = D_GET64(struct d_file_extent_item, d, offset);
	struct key from = { BTRFS_EXTENT_CSUM_OBJECTID, BTRFS_EXTENT_CSUM_KEY,
			    0 };
	struct key to = { BTRFS_EXTENT_CSUM_OBJECTID, BTRFS_EXTENT_CSUM_KEY,
			  disk + dnb - 1 };
	struct dref_key dk = { 0 };
	int ret = extent_known(r, disk);

	if (ret < 0)
		return ret;
	if (ret)
		return extent_data_ref(r->w.t, disk, dnb, r->root->objectid,
				       k->objectid, k->offset - off, 1);
	dk.bytenr = disk;
	dk.type = BTRFS_EXTENT_DATA_REF_KEY;
	dk.root = r->root->objectid;
	dk.owner = k->objectid;
	dk.offset = k->offset - off;
	ret = delayed_ref_alloc(r->w.t, &dk, dnb, 1, 0);
	if (ret)
		return ret;
	r->cs_start = disk;
	r->cs_end = disk + dnb;
	return tree_log_walk(r, &r->log, &from, &to, copy_csum);
}

/* Replace the file range of a logged EXTENT_DATA item with it. */
static int replay_extent(struct replay *r, const struct key *k, const u8 *d,
			 u32 size)
{
	u64 ss = r->w.fs->sectorsize;
	u8 type = D_GET8(struct d_file_extent_item, d, type);
	u64 end, disk = 0;
	int ret;

	if (k->type != BTRFS_EXTENT_DATA_KEY)
		return 0;
	if (type == BTRFS_FILE_EXTENT_INLINE) {
		end = k->offset + D_GET64(struct d_file_extent_item, d,
					  ram_bytes);
		end = (end + ss - 1) / ss * ss;
	} else {
		if (size < FE)
			return -EUCLEAN;
		end = k->offset + D_GET64(struct d_file_extent_item, d,
					  num_bytes);
		disk = D_GET64(struct d_file_extent_item, d, disk_bytenr);
	}
	ret = drop_extents(r, k->objectid, k->offset, end);
	if (ret || (type != BTRFS_FILE_EXTENT_INLINE && !disk &&
		    (r->w.fs->incompat & BTRFS_FEATURE_INCOMPAT_NO_HOLES)))
		return ret;	/* a hole: punched, no item with no-holes */
	ret = ctree_insert_item(r->w.t, r->root, k, d, size);
	if (ret == 0 && disk)
		ret = ref_extent(r, k, d);
	return ret;
}

/* --------------------------------------------------------- replay: all */

static int replay_names(struct replay *r, const struct key *k, const u8 *d,
			u32 size)
{
	if (k->type == BTRFS_INODE_REF_KEY || k->type == BTRFS_INODE_EXTREF_KEY)
		return tree_log_replay_ref(r, k, d, size);
	if (k->type == BTRFS_DIR_INDEX_KEY)
		return tree_log_replay_dir_index(r, k, d, size);
	return 0;
}

/* Replay one subvolume log (an item of the log root tree). */
static int replay_subvol(struct replay *r, const struct key *k, const u8 *d,
			 u32 size)
{
	struct key from = { 0, 0, 0 };
	struct key to = { BTRFS_LAST_FREE_OBJECTID, 255, (u64)-1 };
	int ret = open_log(r, r->w.fs, k, d, size);

	if (ret == 0)
		ret = wctx_root(&r->w, k->offset, &r->root);
	r->nfix = 0;
	if (ret == 0)
		ret = tree_log_walk(r, &r->log, &from, &to, replay_inode);
	if (ret == 0)
		ret = tree_log_walk(r, &r->log, &from, &to, replay_extent);
	if (ret == 0)
		ret = tree_log_walk(r, &r->log, &from, &to, replay_names);
	if (ret == 0)
		ret = tree_log_fixup(r);
	return ret;
}

/* Exclude one log block from the allocator. */
static int exclude_block(struct fs_info *fs, u64 bytenr, void *arg)
{
	(void)arg;
	return bg_exclude(fs, bytenr, fs->nodesize);
}

/* Pin one log block: it is free once the replay commit is on disk. */
static int pin_block(struct fs_info *fs, u64 bytenr, void *arg)
{
	return trans_pin(arg, bytenr, fs->nodesize);
}

/* Exclude a logged data extent from the allocator. */
static int exclude_extent(struct replay *r, const struct key *k,
			  const u8 *d, u32 size)
{
	if (k->type != BTRFS_EXTENT_DATA_KEY || size < FE ||
	    D_GET8(struct d_file_extent_item, d, type) ==
	    BTRFS_FILE_EXTENT_INLINE ||
	    !D_GET64(struct d_file_extent_item, d, disk_bytenr))
		return 0;
	return bg_exclude(r->w.fs, D_GET64(struct d_file_extent_item, d,
					   disk_bytenr),
			  D_GET64(struct d_file_extent_item, d,
				  disk_num_bytes));
}

/* Apply fn to the blocks of one subvolume log, and exclude its extents. */
static int each_log(struct replay *r, const struct key *k, const u8 *d,
		    u32 size)
{
	struct key from = { 0, 0, 0 };
	struct key to = { BTRFS_LAST_FREE_OBJECTID, 255, (u64)-1 };
	int ret = open_log(r, r->w.fs, k, d, size);

	if (ret == 0 && !r->w.t)
		ret = walk_tree_blocks(&r->log, exclude_block, NULL);
	if (ret == 0 && !r->w.t)
		ret = tree_log_walk(r, &r->log, &from, &to, exclude_extent);
	if (ret == 0 && r->w.t)
		ret = walk_tree_blocks(&r->log, pin_block, r->w.t);
	return ret;
}

/*
 * Replay the tree-log of fs (super log_root set), which tree_log_scan
 * found replayable, and commit. Called by a read-write mount before
 * anything else changes the filesystem. Returns 0 or <0 (the reason has
 * been logged; the disk still holds the log).
 */
int tree_log_replay(struct fs_info *fs)
{
	struct key from = { 0, 0, 0 }, to = { (u64)-1, 255, (u64)-1 };
	struct ctree_root lrt;
	struct replay r;
	int ret;

	memset(&r, 0, sizeof(r));
	r.w.fs = fs;
	log_root_tree(fs, &lrt);
	ret = walk_tree_blocks(&lrt, exclude_block, NULL);
	if (ret == 0)
		ret = tree_log_walk(&r, &lrt, &from, &to, each_log);
	if (ret == 0)
		ret = wctx_begin(fs, &r.w, 0);
	if (ret)
		goto out;
	ret = tree_log_walk(&r, &lrt, &from, &to, replay_subvol);
	if (ret == 0)
		ret = walk_tree_blocks(&lrt, pin_block, r.w.t);
	if (ret == 0)
		ret = tree_log_walk(&r, &lrt, &from, &to, each_log);
	if (ret == 0) {
		put_le64(&fs->super->log_root, 0);
		fs->super->log_root_level = 0;
	} else {
		trans_abort(r.w.t, ret);
	}
	wctx_end(&r.w);
	if (ret == 0)
		ret = trans_commit(fs);
out:
	kfree(r.fix);
	if (ret)
		pr_err("%s: tree-log replay failed: %d", fs->dev->name, ret);
	else
		pr_info("%s: tree-log replayed", fs->dev->name);
	return ret;
}
