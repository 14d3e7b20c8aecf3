/*
 * ghee's own filesystem checker (fsck), shared between its parts:
 * check.c (driver, tree walk, growable arrays, reporting), check_extent.c
 * (extent tree, back-references), check_space.c (block groups, free-space
 * tree), check_chunk.c (chunks, block groups, device extents),
 * check_csum.c (the csum tree), check_qgroup.c (quota group counts) and
 * check_inode.c (inodes and directories of each subvolume tree).
 *
 * Everything here belongs to one fs_check() call; nothing is shared with
 * other tasks.
 */
#ifndef FS_CHECK_H
#define FS_CHECK_H

#include "commit_root.h"
#include "ctree.h"
#include "fs.h"

/* A growable array of elem-sized records. */
struct vec {
	void *v;		/* n records of elem bytes */
	u64 n, cap;
	size_t elem;
};

/*
 * One reference to an extent: found while walking the trees (a node's
 * pointer, a root, a file extent item) or recorded in the extent tree (an
 * inline or keyed back-reference). Compared on (bytenr, type, root,
 * parent, owner, offset).
 */
struct cref {
	u64 bytenr;		/* extent start */
	u64 root;		/* TREE_BLOCK_REF, EXTENT_DATA_REF: tree id */
	u64 parent;		/* SHARED_*_REF: referring block; found refs
				 * carry it until resolved (0: a tree root) */
	u64 owner;		/* EXTENT_DATA_REF: inode number */
	u64 offset;		/* EXTENT_DATA_REF: file offset of the start */
	u64 num_bytes;		/* found: extent length the referrer claims */
	u32 count;		/* references this entry stands for */
	u8 type;		/* BTRFS_*_REF_KEY */
	u8 level;		/* found tree block refs: the block's level */
};

/* One extent item of the extent tree. bytenr and len come first, for
 * vec_first_ending_after(). */
struct cext {
	u64 bytenr, len;	/* range (len = nodesize for METADATA_ITEM) */
	u64 refs;		/* reference count in the item */
	u64 flags;		/* EXTENT_FLAG_* | BLOCK_FLAG_FULL_BACKREF */
	u64 ref_sum;		/* sum of its back-references' counts */
	u8 level;		/* tree blocks: level in key or block info */
};

/* One block group item (start and len first, as in struct cext). */
struct cbg {
	u64 start, len, flags;
	u64 used;		/* what the item says */
	u64 found;		/* bytes of extents counted inside */
};

/*
 * File data that must have checksums: what one regular file extent of an
 * inode without NODATASUM reads.
 */
struct cneed {
	u64 start, len;		/* logical range of data */
	u64 root, ino;		/* the file extent item's tree and inode */
	u64 file_offset;	/* its key offset */
};

/* A subvolume being deleted (root item refs 0): Linux drops its blocks
 * left to right; those before key at level and above are gone. */
struct cdrop {
	u64 id;			/* its tree */
	struct key key;		/* root item drop_progress */
	u8 level;		/* root item drop_level */
};

/* The state of one check. Trees to check (struct commit_tree) come from
 * the superblock or a root item. */
struct check {
	struct fs_info *fs;
	struct commit_reader cr;	/* the commit checked */
	struct fs_check_report *rep;
	struct vec trees;	/* struct commit_tree, in root tree order */
	struct vec found;	/* struct cref, from walking the trees */
	struct vec recorded;	/* struct cref, from the extent tree */
	struct vec exts;	/* struct cext, sorted by bytenr */
	struct vec bgs;		/* struct cbg, sorted by start */
	struct vec drops;	/* struct cdrop, by tree id */
	struct vec seen;	/* u64 hash set of visited tree blocks */
	struct vec data_leaves;	/* u64 hash set of leaves whose file
				 * extents were counted */
	struct vec sum_leaves;	/* u64 hash set of leaves whose file
				 * extents' need for sums was recorded
				 * whole (check_inode.c, new_leaf) */
	struct vec need_csum;	/* struct cneed, from the subvolume trees */
	u64 read_errors;	/* tree walks a device error cut short: the
				 * check is incomplete */
};

void *vec_push(struct vec *v);
/* The record whose u64 at byte key_off equals key, in a vec sorted by
 * that field; NULL when none. */
void *vec_find(const struct vec *v, u64 key, size_t key_off);
/* In a vec of records that begin with u64 start and u64 len, sorted by
 * start and not overlapping: the index of the first record ending after
 * pos (v->n when none does). */
u64 vec_first_ending_after(const struct vec *v, u64 pos);
void vec_free(struct vec *v);
int check_set_add(struct vec *s, u64 bytenr, int *was);
int check_set_has(const struct vec *s, u64 bytenr);
const struct cdrop *check_find_drop(const struct check *c, u64 id);
static inline void *vec_at(const struct vec *v, u64 i)
{
	return (char *)v->v + i * v->elem;
}

/* Report one problem (counted; the first CHECK_PRINT_MAX are printed). */
void check_err(struct check *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define CHECK_PRINT_MAX 100

/* Called for each item of a tree, in key order: 0 to go on, 1 to stop,
 * or a negative errno. */
typedef int (*check_item_fn)(struct check *c, void *ctx, const struct key *k,
			     const u8 *item, u32 size);
/* Walk every item of committed tree t through fn. A read error is
 * reported as a problem (the walk stops there); returns 0 or -ENOMEM. */
int check_read_items(struct check *c, const struct commit_tree *t,
		     check_item_fn fn, void *ctx);
int check_is_fs_tree(u64 id);
/* The committed tree with this id, or NULL when it has no root item. */
const struct commit_tree *check_find_tree(const struct check *c, u64 id);
const char *check_ref_name(u8 type);

/* check_extent.c */
int check_extent_tree(struct check *c);
int check_refs(struct check *c);
const struct cext *check_find_extent(const struct check *c, u64 bytenr);

/* check_space.c */
int check_block_groups(struct check *c);
int check_free_space(struct check *c);

/* check_inode.c */
int check_fs_tree(struct check *c, const struct commit_tree *r, int refs_only);

/* check_chunk.c */
int check_chunks(struct check *c);

/* check_csum.c */
int check_csums(struct check *c);

/* check_qgroup.c */
int check_qgroups(struct check *c);

#endif
