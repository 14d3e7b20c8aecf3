/*
 * Shared by the back-reference walker's files (backref.c, backref_refs.c):
 * the walk, its records and its reading functions.
 */
#ifndef FS_BACKREF_INT_H
#define FS_BACKREF_INT_H

#include "../lib/array.h"
#include "../lib/u64map.h"
#include "backref.h"
#include "ctree.h"
#include "tree_block.h"

struct trans;

/* One back-reference of an extent, inline, keyed or pending. */
struct bref {
	u8 type;		/* BTRFS_*_REF_KEY */
	u64 id;			/* root (TREE_BLOCK, EXTENT_DATA) or parent */
	u64 ino, offset;	/* EXTENT_DATA_REF only */
	long long count;	/* references it stands for */
};

struct bref_list {
	struct bref *v;
	u32 n, cap;
};

/* What the extent item says (or the pending head of a new extent). */
struct extent_info {
	u64 bytenr, len;	/* the extent */
	u64 generation;		/* transaction that allocated it */
	u8 level;		/* tree blocks */
	int is_data;
	int found;		/* it exists in this view */
};

/* A tree's root in the walk's view, and whether it is being dropped. */
struct root_rec {
	u64 id, bytenr, generation;
	u8 level;
	int dead;		/* root item refs 0 */
	struct key drop;	/* dead: keys below this are dropped */
};

/* The root records a walk (or a cache of walks) read, each once. */
struct root_recs {
	struct root_rec *v;
	u32 n, cap;
	struct u64map idx;	/* tree id -> index in v */
};

/* Trees whose last leaf found a cache keeps (see leaf_hint). */
#define BACKREF_HINTS 4

/*
 * What walks in one view remember across walks (backref_cache.c): the
 * set of subvolume trees reaching each tree block resolved so far (an
 * id in a table of sets that several caches may share), and the root
 * records.
 */
struct backref_cache {
	struct fs_info *fs;
	enum backref_view view;
	u64 gen;		/* BACKREF_COMMIT: the generation it holds */
	struct rootsets *rs;	/* the sets named by sets' ids */
	struct u64map sets;	/* tree block -> set id in rs */
	struct root_recs roots;
	/* The leaf the last search of each of a few trees found
	 * (backref_view_search): the extents counted one after another
	 * mostly have their items, and their extent items, in the leaf
	 * the one before them had. */
	struct leaf_hint {
		u64 id;		/* the tree searched */
		struct tree_block *leaf;	/* kept (keep_block), or NULL */
	} hints[BACKREF_HINTS];
	u32 next_hint;		/* the slot the next new tree takes */
};

/* One file extent item pointing at the extent. */
struct fitem {
	u64 ino, key_offset, extent_offset, num_bytes;
};

/* A leaf holding items that point at the extent. */
struct leaf_items {
	u64 bytenr;
	struct fitem *v;
	u32 n;
};

/* One walk; private to the task running it (no lock). */
struct walk {
	struct fs_info *fs;
	enum backref_view view;
	unsigned flags;		/* BACKREF_* */
	u64 gen;		/* BACKREF_COMMIT: the generation read */
	struct trans *t;	/* BACKREF_CURRENT: running transaction, or
				 * NULL (no pending refs) */
	struct backref_cache *cache;	/* NULL, or kept across walks */
	struct root_recs own_roots;	/* without a cache */
	struct root_recs *roots;	/* subvolume roots met, read once:
					 * own_roots or the cache's */
	struct leaf_items *leaves;	/* leaves holding the extent */
	u32 nleaves, leaves_cap;
	struct backref_hit *hits;	/* what the caller will get */
	u32 nhits, hits_cap;
	u32 set;		/* with a cache: the id (in its table) of
				 * the set of subvolume trees reaching the
				 * extent (backref_root_set) */
	struct backref_stats st;	/* figures of this pass */
	struct extent_info item;	/* item_once: what was found */
};

/* What a search of the view is for, and what it found. */
struct view_q {
	int mode;		/* VIEW_GE, VIEW_LE or VIEW_PARENT */
	u8 level;		/* VIEW_PARENT: the child's level */
	u64 child;		/* VIEW_PARENT: the child's address */
	struct tree_block *leaf;	/* GE, LE: clone of the leaf found */
	int slot;		/* GE, LE: the item in it */
	u64 parent;		/* VIEW_PARENT: the block pointing at child
				 * on the path to k, 0 when none does */
};
#define VIEW_GE 0	/* the first item >= k */
#define VIEW_LE 1	/* the last item <= k */
#define VIEW_PARENT 2	/* the parent of q->child, whose first key is k */

int backref_extent_info(struct backref_cache *c, u64 bytenr,
			struct extent_info *ei);
int backref_set_add(struct u64map *s, u64 x);
int backref_view_search(struct walk *w, const struct root_rec *rec, u64 id,
			const struct key *k, struct view_q *q);
int backref_view_read_block(struct walk *w, u64 bytenr, u64 generation,
			    u8 level, struct tree_block **out);
int backref_get_root(struct walk *w, u64 id, const struct root_rec **out);
int backref_collect_refs(struct walk *w, u64 bytenr, struct extent_info *ei,
			 struct bref_list *l);
void backref_roots_reset(struct root_recs *r);
void backref_hints_reset(struct backref_cache *c);
int backref_cache_set(const struct backref_cache *c, u64 bytenr, u32 *id);
int backref_cache_put_set(struct backref_cache *c, u64 bytenr, u32 id);

#endif
