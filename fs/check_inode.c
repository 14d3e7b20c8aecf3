/*
 * fsck, inode side: one pass over the items of each subvolume tree (as
 * committed), in key order, so each inode's items come together:
 *
 *  - per inode: it has an INODE_ITEM; a directory has nlink 1 and its size
 *    is the name bytes of its DIR_ITEM and DIR_INDEX entries; any other
 *    inode's nlink is the number of its names (INODE_REF and INODE_EXTREF)
 *    and its nbytes the bytes of its file extents (inline: ram_bytes,
 *    regular: num_bytes unless a hole); file extents do not overlap, and
 *    only directories have entries, only other inodes file extents (as
 *    btrfs check has it: a directory's nbytes is not checked, nor the
 *    size or nbytes of an orphan, whose items Linux deletes over several
 *    commits without updating them);
 *  - every name: the DIR_ITEM (under the name's hash), the DIR_INDEX and
 *    the inode ref (or extref) agree on directory, name, inode, index and
 *    type, and the type matches the inode's mode. Names are collected in
 *    a table, sorted and matched when the tree is done;
 *  - every extended attribute sits under its name's hash, once;
 *  - every file extent item pointing at a data extent is a found data
 *    reference (check.c resolves and compares it), also those of the
 *    inodes that are no files (free-space and inode number caches); a
 *    regular one of an inode without NODATASUM, or a compressed one,
 *    names data that must have checksums (check_csum.c looks for them).
 *    The inode item comes before its file extents in key order, so its
 *    flags are known by then.
 *
 * The subvolume's top directory (256) has the one name "..", pointing at
 * itself, and no directory entry. Entries that link a subvolume (location
 * ROOT_ITEM) count towards the directory's size only.
 *
 * An inode with nlink 0 and no name was unlinked while still open: it must
 * have an orphan item (ORPHAN, ORPHAN_ITEM, ino) so that the next mount
 * deletes it. Orphan items sort after all inodes, so this is checked when
 * the tree is done. The converse is not required: Linux deletes an evicted
 * inode's items before its orphan item, possibly in a later commit, and
 * skips orphan items whose inode is gone.
 *
 * Called by check_all(), reading the commit fs_check() reads.
 */
#include <ghee/errno.h>
#include <stddef.h>
#include <stdlib.h>

#include <ghee/alloc.h>

#include "../lib/crc32c.h"
#include "check.h"
#include "dir.h"
#include "fs_info.h"

#define ROOT_DIR BTRFS_FIRST_FREE_OBJECTID	/* a subvolume's top dir */
#define NAME_BLOCK 65536	/* bytes per block of copied names */

/* Where a name was found. */
enum { LINK_ITEM, LINK_INDEX, LINK_REF, LINK_KINDS };

/* One name of an inode, from one of the three places that hold it. */
struct clink {
	u64 dir, ino;
	u64 index;		/* DIR_INDEX and inode refs */
	const char *name;	/* in a name block */
	u16 len;
	u8 type;		/* BTRFS_FT_* (directory entries) */
	u8 src;			/* LINK_* */
};

/* An inode's number and mode, for matching entry types. */
struct cmode {
	u64 ino;
	u32 mode;
};

/* Copied names; blocks never move, so struct clink can point in. */
struct name_block {
	struct name_block *next;
	u32 used;
	char data[NAME_BLOCK];
};

/* What one inode's items say, gathered while passing them. */
struct cinode {
	u64 ino;
	int has_item, self_ref;
	u32 mode, nlink;
	u64 size, nbytes;
	u64 flags;		/* BTRFS_INODE_* */
	u64 nrefs;		/* names in INODE_REF and INODE_EXTREF */
	u64 dir_size;		/* name bytes of DIR_ITEM and DIR_INDEX */
	u64 found_nbytes;	/* bytes its file extents account */
	u64 extent_end;		/* end of its last file extent */
	u64 nextents;		/* file extent items */
};

/* An inode with nlink 0 and no name, and the sizes its items give. */
struct cunlinked {
	u64 ino;
	int dir;		/* a directory */
	u64 have;		/* its size (directory) or nbytes */
	u64 want;		/* its entries' name bytes, or its extents' */
};

/* The state of the pass over one tree. */
struct itree {
	struct check *c;
	u64 root;		/* tree id */
	u64 leaf;		/* leaf holding the current item */
	u64 leaf_owner;		/* its owner tree */
	int leaf_counted;	/* its file extents were counted before,
				 * from another tree sharing it */
	int leaf_sums_known;	/* and so were the sums they need */
	int leaf_all_sums;	/* this pass records every sum the leaf's
				 * file extents need */
	int refs_only;		/* no inodes: record data references only */
	struct cinode cur;
	struct vec links;	/* struct clink */
	struct vec modes;	/* struct cmode, by ino */
	struct vec unlinked;	/* struct cunlinked: nlink 0, no name */
	struct vec orphans;	/* u64 inode numbers of orphan items, sorted */
	struct name_block *names;
};

static int ft_of_mode(u32 mode)
{
	static const u8 ft[16] = {
		[001] = BTRFS_FT_FIFO, [002] = BTRFS_FT_CHRDEV,
		[004] = BTRFS_FT_DIR, [006] = BTRFS_FT_BLKDEV,
		[010] = BTRFS_FT_REG_FILE, [012] = BTRFS_FT_SYMLINK,
		[014] = BTRFS_FT_SOCK,
	};

	return ft[(mode >> 12) & 017];
}

/* Add a name of an inode to the table. */
static int add_link(struct itree *it, u64 dir, u64 ino, u64 index,
		    const u8 *name, u16 len, u8 type, u8 src)
{
	struct name_block *nb = it->names;
	struct clink *l;

	if (!nb || nb->used + len > NAME_BLOCK) {
		nb = kmalloc(sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		nb->next = it->names;
		nb->used = 0;
		it->names = nb;
	}
	l = vec_push(&it->links);
	if (!l)
		return -ENOMEM;
	memcpy(nb->data + nb->used, name, len);
	l->name = nb->data + nb->used;
	nb->used += len;
	l->dir = dir;
	l->ino = ino;
	l->index = index;
	l->len = len;
	l->type = type;
	l->src = src;
	return 0;
}

/* Append inode number ino to v. */
static int push_ino(struct vec *v, u64 ino)
{
	u64 *p = vec_push(v);

	if (!p)
		return -ENOMEM;
	*p = ino;
	return 0;
}

/* Holes need no file extent item (the NO_HOLES feature). */
static int no_holes(const struct itree *it)
{
	return !!(it->c->fs->incompat & BTRFS_FEATURE_INCOMPAT_NO_HOLES);
}

/* Without NO_HOLES, file extents cover a file whole: [from, to) is not. */
static void report_gap(struct itree *it, u64 ino, u64 from, u64 to)
{
	check_err(it->c, "tree %llu: inode %llu: no file extent for [%llu, "
		  "%llu) (holes need one without the no-holes feature)",
		  (unsigned long long)it->root, (unsigned long long)ino,
		  (unsigned long long)from, (unsigned long long)to);
}

/* A directory's size or a file's nbytes (have) is not what its items
 * add up to (want). */
static void report_size(struct itree *it, u64 ino, int dir, u64 have,
			u64 want)
{
	check_err(it->c, "tree %llu: %s %llu has %s %llu, its %s %llu",
		  (unsigned long long)it->root, dir ? "directory" : "inode",
		  (unsigned long long)ino, dir ? "size" : "nbytes",
		  (unsigned long long)have, dir ? "entries" : "extents",
		  (unsigned long long)want);
}

/*
 * Keep an unlinked inode for check_orphans(). Its size (directory) or
 * nbytes is checked there only when it has no orphan item: Linux deletes
 * the items of an orphan over several commits without updating them.
 */
static int push_unlinked(struct itree *it, const struct cinode *ci, int dir)
{
	struct cunlinked *u = vec_push(&it->unlinked);

	if (!u)
		return -ENOMEM;
	u->ino = ci->ino;
	u->dir = dir;
	u->have = dir ? ci->size : ci->nbytes;
	u->want = dir ? ci->dir_size : ci->found_nbytes;
	return 0;
}

/* Check what the items of the inode just passed say about it. */
static int finish_inode(struct itree *it)
{
	struct check *c = it->c;
	struct cinode *ci = &it->cur;
	int dir = (ci->mode & 0170000) == 0040000;
	int unlinked = !ci->nrefs && !ci->self_ref && ci->nlink == 0;
	struct cmode *m;

	if (!ci->ino)
		return 0;
	if (!ci->has_item) {
		check_err(c, "tree %llu: inode %llu has items but no inode "
			  "item", (unsigned long long)it->root,
			  (unsigned long long)ci->ino);
		return 0;
	}
	c->rep->inodes++;
	m = vec_push(&it->modes);
	if (!m)
		return -ENOMEM;
	m->ino = ci->ino;
	m->mode = ci->mode;
	if (dir && ci->nlink != 1 && !unlinked)
		check_err(c, "tree %llu: directory %llu has nlink %u",
			  (unsigned long long)it->root,
			  (unsigned long long)ci->ino, ci->nlink);
	if (!dir && ci->nlink != ci->nrefs)
		check_err(c, "tree %llu: inode %llu has nlink %u and %llu "
			  "names", (unsigned long long)it->root,
			  (unsigned long long)ci->ino, ci->nlink,
			  (unsigned long long)ci->nrefs);
	if (dir ? ci->nextents != 0 : ci->dir_size != 0)
		check_err(c, "tree %llu: inode %llu (mode 0%o) has %s",
			  (unsigned long long)it->root,
			  (unsigned long long)ci->ino, ci->mode,
			  dir ? "file extents" : "directory entries");
	if (unlinked)
		return push_unlinked(it, ci, dir);
	if ((ci->mode & 0170000) == 0100000 && !no_holes(it) &&
	    ci->extent_end < ci->size)
		report_gap(it, ci->ino, ci->extent_end, ci->size);
	if (dir ? ci->size != ci->dir_size : ci->nbytes != ci->found_nbytes)
		report_size(it, ci->ino, dir, dir ? ci->size : ci->nbytes,
			    dir ? ci->dir_size : ci->found_nbytes);
	if (!ci->nrefs && !ci->self_ref)
		check_err(c, "tree %llu: inode %llu has no name",
			  (unsigned long long)it->root,
			  (unsigned long long)ci->ino);
	return 0;
}

/*
 * An inode's generation and transid come no later than the transaction
 * after the commit checked (btrfs check's bound: a log replay may be due).
 */
static void check_inode_gens(struct itree *it, const u8 *item)
{
	u64 gen = D_GET64(struct d_inode_item, item, generation);
	u64 transid = D_GET64(struct d_inode_item, item, transid);
	u64 limit = it->c->cr.generation + 1;

	if (gen > limit || transid > limit)
		check_err(it->c, "tree %llu: inode %llu has generation %llu "
			  "and transid %llu, past the last commit %llu",
			  (unsigned long long)it->root,
			  (unsigned long long)it->cur.ino,
			  (unsigned long long)gen, (unsigned long long)transid,
			  (unsigned long long)it->c->cr.generation);
}

static int inode_item(struct itree *it, const u8 *item, u32 size)
{
	struct cinode *ci = &it->cur;

	if (size != sizeof(struct d_inode_item)) {
		check_err(it->c, "tree %llu: inode item of %llu is %u bytes",
			  (unsigned long long)it->root,
			  (unsigned long long)ci->ino, size);
		return 0;
	}
	ci->has_item = 1;
	ci->mode = D_GET32(struct d_inode_item, item, mode);
	ci->nlink = D_GET32(struct d_inode_item, item, nlink);
	ci->size = D_GET64(struct d_inode_item, item, size);
	ci->nbytes = D_GET64(struct d_inode_item, item, nbytes);
	ci->flags = D_GET64(struct d_inode_item, item, flags);
	check_inode_gens(it, item);
	if (!ft_of_mode(ci->mode))
		check_err(it->c, "tree %llu: inode %llu has mode 0%o, of no "
			  "file type", (unsigned long long)it->root,
			  (unsigned long long)ci->ino, ci->mode);
	if ((ci->mode & 0170000) == 0120000 &&
	    (ci->flags & (BTRFS_INODE_IMMUTABLE | BTRFS_INODE_APPEND)))
		check_err(it->c, "tree %llu: symlink %llu has the immutable or "
			  "append-only flag", (unsigned long long)it->root,
			  (unsigned long long)ci->ino);
	return 0;
}

/* INODE_REF (parent in the key) or INODE_EXTREF: one or more names. */
static int inode_refs(struct itree *it, const struct key *k, const u8 *item,
		      u32 size)
{
	int ext = k->type == BTRFS_INODE_EXTREF_KEY;
	u32 hdr = ext ? sizeof(struct d_inode_extref) :
			sizeof(struct d_inode_ref);
	u32 pos = 0;

	while (pos < size) {
		const u8 *r = item + pos;
		u64 dir = ext ? D_GET64(struct d_inode_extref, r,
					 parent_objectid) : k->offset;
		u64 index = ext ? D_GET64(struct d_inode_extref, r, index) :
				  D_GET64(struct d_inode_ref, r, index);
		u16 len = ext ? D_GET16(struct d_inode_extref, r, name_len) :
				D_GET16(struct d_inode_ref, r, name_len);
		const u8 *name = r + hdr;
		int ret;

		if (pos + hdr > size || pos + hdr + len > size) {
			check_err(it->c, "tree %llu: inode %llu: bad inode ref",
				  (unsigned long long)it->root,
				  (unsigned long long)k->objectid);
			return 0;
		}
		pos += hdr + len;
		if (ext && crc32c((u32)dir, name, len) != k->offset)
			check_err(it->c, "tree %llu: inode %llu: extref hash",
				  (unsigned long long)it->root,
				  (unsigned long long)k->objectid);
		if (!ext && k->objectid == ROOT_DIR && dir == ROOT_DIR &&
		    len == 2 && !memcmp(name, "..", 2)) {
			it->cur.self_ref = 1;
			continue;
		}
		it->cur.nrefs++;
		ret = add_link(it, dir, k->objectid, index, name, len, 0,
			       LINK_REF);
		if (ret)
			return ret;
	}
	return 0;
}

/* DIR_ITEM (several entries, hash in the key) or DIR_INDEX (one). */
static int dir_entries(struct itree *it, const struct key *k,
		       const u8 *item, u32 size)
{
	int index = k->type == BTRFS_DIR_INDEX_KEY;
	u32 pos = 0, hdr = sizeof(struct d_dir_item);

	while (pos < size) {
		const u8 *d = item + pos;
		u16 len = D_GET16(struct d_dir_item, d, name_len);
		u16 dlen = D_GET16(struct d_dir_item, d, data_len);
		const char *name = (const char *)d + hdr;
		struct key loc;
		int ret;

		if (pos + hdr > size || pos + hdr + len + dlen > size ||
		    (index && pos + hdr + len + dlen != size)) {
			check_err(it->c, "tree %llu: dir %llu: bad entry",
				  (unsigned long long)it->root,
				  (unsigned long long)k->objectid);
			return 0;
		}
		pos += hdr + len + dlen;
		key_from_disk(&loc, D_PTR(struct d_dir_item, d, location));
		if (!index && dir_name_hash(name, len) != k->offset)
			check_err(it->c, "tree %llu: dir %llu: entry \"%.*s\" "
				  "under the wrong hash",
				  (unsigned long long)it->root,
				  (unsigned long long)k->objectid, len, name);
		it->cur.dir_size += len;
		if (loc.type == BTRFS_ROOT_ITEM_KEY)
			continue;
		it->c->rep->dir_entries += index;
		ret = add_link(it, k->objectid, loc.objectid,
			       index ? k->offset : 0, (const u8 *)name, len,
			       D_GET8(struct d_dir_item, d, type),
			       index ? LINK_INDEX : LINK_ITEM);
		if (ret)
			return ret;
	}
	return 0;
}

/* The name of the XATTR_ITEM entry at d, and its length. */
static const char *xattr_name(const u8 *d, u16 *len)
{
	*len = D_GET16(struct d_dir_item, d, name_len);
	return (const char *)d + sizeof(struct d_dir_item);
}

/* The entry after the XATTR_ITEM entry at d. */
static const u8 *xattr_next(const u8 *d)
{
	return d + sizeof(struct d_dir_item) +
	       D_GET16(struct d_dir_item, d, name_len) +
	       D_GET16(struct d_dir_item, d, data_len);
}

/* XATTR_ITEM (several entries, the name hash in the key): each name under
 * its hash, and once. Bounds and types were checked when the leaf was
 * read (tree_check.c). */
static void xattr_entries(struct itree *it, const struct key *k,
			  const u8 *item, u32 size)
{
	const u8 *d, *e, *end = item + size;
	const char *name;
	u16 len, elen;

	for (d = item; d < end; d = xattr_next(d)) {
		name = xattr_name(d, &len);
		if (dir_name_hash(name, len) != k->offset)
			check_err(it->c, "tree %llu: inode %llu: xattr \"%.*s\" "
				  "under the wrong hash",
				  (unsigned long long)it->root,
				  (unsigned long long)k->objectid, len, name);
		for (e = item; e < d; e = xattr_next(e)) {
			const char *en = xattr_name(e, &elen);

			if (elen == len && !memcmp(en, name, len))
				check_err(it->c, "tree %llu: inode %llu: xattr "
					  "\"%.*s\" repeated",
					  (unsigned long long)it->root,
					  (unsigned long long)k->objectid, len,
					  name);
		}
	}
}

/*
 * Record the data regular file extent fe reads, which must have sums: all
 * of a compressed extent (it is read whole), else the part it uses.
 */
static int need_csum(struct itree *it, const struct key *k, const u8 *fe)
{
	struct cneed *n;

	if (it->leaf_sums_known)
		return 0;
	n = vec_push(&it->c->need_csum);
	if (!n)
		return -ENOMEM;
	n->root = it->root;
	n->ino = k->objectid;
	n->file_offset = k->offset;
	n->start = D_GET64(struct d_file_extent_item, fe, disk_bytenr);
	if (D_GET8(struct d_file_extent_item, fe, compression)) {
		n->len = D_GET64(struct d_file_extent_item, fe,
				 disk_num_bytes);
	} else {
		n->start += D_GET64(struct d_file_extent_item, fe, offset);
		n->len = D_GET64(struct d_file_extent_item, fe, num_bytes);
	}
	return 0;
}

/*
 * Record the data reference of file extent item fe (regular, not a hole):
 * the reference of the leaf's owner, once for a leaf snapshots share.
 */
static int found_data_ref(struct itree *it, const struct key *k,
			  const u8 *fe)
{
	struct cref *r;

	if (it->leaf_counted)
		return 0;
	r = vec_push(&it->c->found);
	if (!r)
		return -ENOMEM;
	r->bytenr = D_GET64(struct d_file_extent_item, fe, disk_bytenr);
	r->type = BTRFS_EXTENT_DATA_REF_KEY;
	r->root = it->leaf_owner;
	r->parent = it->leaf;
	r->owner = k->objectid;
	r->offset = k->offset - D_GET64(struct d_file_extent_item, fe, offset);
	r->num_bytes = D_GET64(struct d_file_extent_item, fe, disk_num_bytes);
	r->count = 1;
	return 0;
}

/* A file extent item: nbytes, overlap, and the data reference it makes. */
static int file_extent(struct itree *it, const struct key *k,
		       const u8 *fe, u32 size)
{
	struct cinode *ci = &it->cur;
	u8 type = size > BTRFS_FILE_EXTENT_INLINE_DATA_START ?
		  D_GET8(struct d_file_extent_item, fe, type) : 0xff;
	u64 len, disk = 0;

	if (type == BTRFS_FILE_EXTENT_INLINE) {
		len = D_GET64(struct d_file_extent_item, fe, ram_bytes);
		ci->found_nbytes += len;
	} else if ((type == BTRFS_FILE_EXTENT_REG ||
		    type == BTRFS_FILE_EXTENT_PREALLOC) &&
		   size == sizeof(struct d_file_extent_item)) {
		len = D_GET64(struct d_file_extent_item, fe, num_bytes);
		disk = D_GET64(struct d_file_extent_item, fe, disk_bytenr);
		if (disk)
			ci->found_nbytes += len;
	} else {
		check_err(it->c, "tree %llu: inode %llu: bad file extent at "
			  "%llu", (unsigned long long)it->root,
			  (unsigned long long)k->objectid,
			  (unsigned long long)k->offset);
		return 0;
	}
	if (k->offset < ci->extent_end)
		check_err(it->c, "tree %llu: inode %llu: file extent at %llu "
			  "overlaps the one before",
			  (unsigned long long)it->root,
			  (unsigned long long)k->objectid,
			  (unsigned long long)k->offset);
	else if (k->offset > ci->extent_end && !no_holes(it))
		report_gap(it, k->objectid, ci->extent_end, k->offset);
	ci->extent_end = k->offset + len;
	ci->nextents++;
	if (type == BTRFS_FILE_EXTENT_INLINE || !disk)
		return 0;
	/* Compressed data always has checksums, whatever the inode says. */
	if (type == BTRFS_FILE_EXTENT_REG &&
	    (!(ci->flags & BTRFS_INODE_NODATASUM) ||
	     D_GET8(struct d_file_extent_item, fe, compression))) {
		int ret = need_csum(it, k, fe);

		if (ret)
			return ret;
	} else if (type == BTRFS_FILE_EXTENT_REG) {
		it->leaf_all_sums = 0;	/* another tree's inode may want them */
	}
	return found_data_ref(it, k, fe);
}

/*
 * A file extent of an inode that is no file: the free-space cache's in
 * the root tree, the old inode number cache's (FREE_INO) in a subvolume.
 * Only its data reference is recorded.
 */
static int special_file_extent(struct itree *it, const struct key *k,
			       const u8 *fe, u32 size)
{
	u8 type;

	if (size != sizeof(struct d_file_extent_item))
		return 0;	/* inline: no reference */
	type = D_GET8(struct d_file_extent_item, fe, type);
	if ((type != BTRFS_FILE_EXTENT_REG &&
	     type != BTRFS_FILE_EXTENT_PREALLOC) ||
	    !D_GET64(struct d_file_extent_item, fe, disk_bytenr))
		return 0;
	return found_data_ref(it, k, fe);
}

/*
 * An inode of the root tree (past its directory 6) holds a free-space
 * cache: a regular file.
 */
static int cache_inode_item(struct itree *it, const struct key *k,
			    const u8 *item, u32 size)
{
	u32 mode;

	if (size != sizeof(struct d_inode_item)) {
		check_err(it->c, "tree %llu: inode item of %llu is %u bytes",
			  (unsigned long long)it->root,
			  (unsigned long long)k->objectid, size);
		return 0;
	}
	mode = D_GET32(struct d_inode_item, item, mode);
	if (ft_of_mode(mode) != BTRFS_FT_REG_FILE)
		check_err(it->c, "free space cache inode %llu has mode 0%o, "
			  "not a regular file", (unsigned long long)k->objectid,
			  mode);
	return 0;
}

/* One item of the tree; a new objectid finishes the inode before. */
static int fs_item(struct itree *it, const struct key *k, const u8 *item,
		   u32 size)
{
	int ret;

	if (k->objectid == BTRFS_ORPHAN_OBJECTID &&
	    k->type == BTRFS_ORPHAN_ITEM_KEY)
		return push_ino(&it->orphans, k->offset);
	if (it->root == BTRFS_ROOT_TREE_OBJECTID &&
	    k->type == BTRFS_INODE_ITEM_KEY &&
	    k->objectid >= BTRFS_FIRST_FREE_OBJECTID &&
	    k->objectid <= BTRFS_LAST_FREE_OBJECTID)
		return cache_inode_item(it, k, item, size);
	if (it->refs_only || k->objectid < BTRFS_FIRST_FREE_OBJECTID ||
	    k->objectid > BTRFS_LAST_FREE_OBJECTID)
		return k->type == BTRFS_EXTENT_DATA_KEY ?
		       special_file_extent(it, k, item, size) : 0;
	if (k->objectid != it->cur.ino) {
		ret = finish_inode(it);
		if (ret)
			return ret;
		memset(&it->cur, 0, sizeof(it->cur));
		it->cur.ino = k->objectid;
	}
	switch (k->type) {
	case BTRFS_INODE_ITEM_KEY:
		return inode_item(it, item, size);
	case BTRFS_INODE_REF_KEY:
	case BTRFS_INODE_EXTREF_KEY:
		return inode_refs(it, k, item, size);
	case BTRFS_DIR_ITEM_KEY:
	case BTRFS_DIR_INDEX_KEY:
		return dir_entries(it, k, item, size);
	case BTRFS_EXTENT_DATA_KEY:
		return file_extent(it, k, item, size);
	case BTRFS_XATTR_ITEM_KEY:
		xattr_entries(it, k, item, size);
		return 0;
	default:
		return 0;
	}
}

/* Order names by directory, name, inode, then where they were found. */
static int link_cmp(const void *a, const void *b)
{
	const struct clink *x = a, *y = b;
	int m;

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	m = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);
	if (m || x->len != y->len)
		return m ? m : x->len < y->len ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->src - y->src;
}

static const struct cmode *find_mode(const struct itree *it, u64 ino)
{
	return vec_find(&it->modes, ino, offsetof(struct cmode, ino));
}

/* Check one name's group: links[0..n) share directory, name and inode. */
static void check_name(struct itree *it, const struct clink *l, u64 n)
{
	const struct clink *by[LINK_KINDS] = { NULL, NULL, NULL };
	const struct cmode *m = find_mode(it, l->ino);
	int repeated = 0, i;
	const char *why;
	u64 j;

	for (j = 0; j < n; j++) {
		repeated |= by[l[j].src] != NULL;
		by[l[j].src] = &l[j];
	}
	for (i = 0; i < LINK_KINDS; i++)
		if (!by[i] || (i != LINK_REF && (!m ||
					by[i]->type != ft_of_mode(m->mode))))
			break;
	if (!repeated && i == LINK_KINDS && by[LINK_INDEX]->index ==
	    by[LINK_REF]->index)
		return;
	why = !m ? "the inode does not exist" :
	      i < LINK_KINDS && by[i] ? "the type or inode disagrees" :
	      i == LINK_KINDS && !repeated ? "indexes disagree" : "";
	check_err(it->c, "tree %llu: name \"%.*s\" in dir %llu -> inode %llu:"
		  "%s%s%s%s %s", (unsigned long long)it->root, l->len, l->name,
		  (unsigned long long)l->dir, (unsigned long long)l->ino,
		  by[LINK_ITEM] ? "" : " no dir item;",
		  by[LINK_INDEX] ? "" : " no dir index;",
		  by[LINK_REF] ? "" : " no inode ref;",
		  repeated ? " repeated items;" : "", why);
}

/* Whether ino was unlinked and has an orphan item (it is being deleted). */
static int is_orphan(const struct itree *it, u64 ino)
{
	return vec_find(&it->unlinked, ino, offsetof(struct cunlinked, ino)) &&
	       vec_find(&it->orphans, ino, 0);
}

/*
 * Match every name of the tree once all its inodes are known. The entries
 * left in a directory being deleted (an orphan) are not checked: Linux
 * deletes them with it.
 */
static void check_names(struct itree *it)
{
	struct vec *v = &it->links;
	u64 i = 0, j;

	if (v->n)
		qsort(v->v, v->n, sizeof(struct clink), link_cmp);
	while (i < v->n) {
		const struct clink *a = vec_at(v, i);

		for (j = i + 1; j < v->n; j++) {
			const struct clink *b = vec_at(v, j);

			if (b->dir != a->dir || b->ino != a->ino ||
			    b->len != a->len || memcmp(a->name, b->name, a->len))
				break;
		}
		if (!is_orphan(it, a->dir))
			check_name(it, a, j - i);
		i = j;
	}
}

/* Each unlinked inode has an orphan item, or else the right sizes. */
static void check_orphans(struct itree *it)
{
	u64 i;

	for (i = 0; i < it->unlinked.n; i++) {
		const struct cunlinked *u = vec_at(&it->unlinked, i);

		if (vec_find(&it->orphans, u->ino, 0))
			continue;
		check_err(it->c, "tree %llu: inode %llu has nlink 0 and no "
			  "name but no orphan item",
			  (unsigned long long)it->root,
			  (unsigned long long)u->ino);
		if (u->have != u->want)
			report_size(it, u->ino, u->dir, u->have, u->want);
	}
}

static void itree_free(struct itree *it)
{
	while (it->names) {
		struct name_block *nb = it->names;

		it->names = nb->next;
		kfree(nb);
	}
	vec_free(&it->links);
	vec_free(&it->modes);
	vec_free(&it->unlinked);
	vec_free(&it->orphans);
}

/* The pass is done with its leaf: when it recorded every sum the
 * leaf's file extents need, other trees sharing the leaf need not. */
static int leaf_done(struct itree *it)
{
	int was;

	if (!it->leaf || !it->leaf_all_sums || it->leaf_sums_known)
		return 0;
	return check_set_add(&it->c->sum_leaves, it->leaf, &was);
}

/*
 * The pass reached leaf b. Its file extents are recorded once, by the
 * first tree to reach it: data references (a leaf's references are the
 * same whichever tree reaches it) and the sums their data needs, these
 * unless the inode then had NODATASUM (another tree's copy of the inode
 * might not). Recorded per tree, the needs of a file that 5,000
 * snapshots share took 40 bytes per item per snapshot (6.5 GB).
 */
static int new_leaf(struct itree *it, const struct tree_block *b)
{
	int ret = leaf_done(it);

	it->leaf = b->start;
	it->leaf_owner = tb_owner(b);
	it->leaf_sums_known = check_set_has(&it->c->sum_leaves, b->start);
	it->leaf_all_sums = !it->refs_only;
	return ret ? ret : check_set_add(&it->c->data_leaves, b->start,
					 &it->leaf_counted);
}

/*
 * Check the inodes and names of subvolume tree t; with refs_only (the
 * root tree, whose inodes are the free-space cache's), only record the
 * data references of its file extents. So too for a subvolume being
 * deleted, from where its deletion has come to.
 */
int check_fs_tree(struct check *c, const struct commit_tree *t, int refs_only)
{
	const struct cdrop *drop = check_find_drop(c, t->id);
	struct commit_cursor cur = { 0 };
	struct key k = { 0, 0, 0 };
	struct itree it;
	const u8 *item;
	u32 size;
	int ret;

	memset(&it, 0, sizeof(it));
	it.c = c;
	it.root = t->id;
	it.refs_only = refs_only || drop;
	if (drop)
		k = drop->key;
	it.links.elem = sizeof(struct clink);
	it.modes.elem = sizeof(struct cmode);
	it.unlinked.elem = sizeof(struct cunlinked);
	it.orphans.elem = sizeof(u64);
	ret = commit_cursor_search(&cur, &c->cr, t, &k);
	for (; ret == 0; ret = commit_cursor_next(&cur)) {
		commit_cursor_key(&cur, &k);
		item = commit_cursor_item(&cur, &size);
		if (cur.leaf->start != it.leaf)
			ret = new_leaf(&it, cur.leaf);
		if (ret == 0)
			ret = fs_item(&it, &k, item, size);
		if (ret)
			break;
	}
	commit_cursor_release(&cur);
	if (ret == 1 || ret == 0)	/* the walk's end: its last leaf done */
		ret = leaf_done(&it);
	if (ret < 0 && ret != -ENOMEM) {
		check_err(c, "tree %llu: read error %d",
			  (unsigned long long)t->id, ret);
		c->read_errors += ret == -EIO;
		ret = 0;
	}
	if (ret >= 0)
		ret = finish_inode(&it);
	if (ret == 0) {
		check_names(&it);
		check_orphans(&it);
	}
	itree_free(&it);
	return ret;
}
