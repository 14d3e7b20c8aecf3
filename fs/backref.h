/*
 * The back-reference walker: every root (and inode, file offset) that
 * reaches an extent, at the current roots or at the commit roots. See
 * backref.c.
 */
#ifndef FS_BACKREF_H
#define FS_BACKREF_H

#include "format.h"
#include "../lib/u64map.h"

struct fs_info;

/* Which state of the filesystem a walk reads. */
enum backref_view {
	/* The current trees and the running transaction's pending
	 * (not yet run) delayed refs: what the next commit will write. */
	BACKREF_CURRENT,
	/* The last committed state: commit roots, no pending refs. */
	BACKREF_COMMIT,
};

/* backref walk flags */
#define BACKREF_DEAD_ROOTS (1u << 0)	/* report roots being dropped by
					 * the cleaner too (hit->dead set) */
#define BACKREF_IGNORE_OFFSET (1u << 1)	/* data: every file extent item on
					 * the extent, not only those whose
					 * range holds the logical address */
#define BACKREF_TRANS_HELD (1u << 2)	/* BACKREF_CURRENT: the caller holds
					 * fs->trans_sem for write (the
					 * commit); else the walk takes it for
					 * write while it gathers, so no change
					 * runs under it */

/* One reference found: a file extent item of (root, ino). */
struct backref_hit {
	u64 root;		/* subvolume tree id */
	u64 ino;		/* inode number in it */
	u64 offset;		/* file offset of the logical address
				 * (IGNORE_OFFSET: of the item's start) */
	int dead;		/* root is being dropped (DEAD_ROOTS only) */
};

/*
 * Called once per hit (data) or root (tree blocks: ino and offset 0), in
 * (root, ino, offset) order, with no lock of the filesystem held: it may
 * search trees and do I/O. Return 0 to go on, 1 to stop (the walk then
 * returns 0), or a negative errno to stop with it.
 */
typedef int (*backref_fn)(void *ctx, const struct backref_hit *hit);

/* Figures of the last walk, for benchmarks and tests. */
struct backref_stats {
	u64 searches;		/* tree searches made */
	u64 blocks;		/* distinct tree blocks resolved upward */
	u64 leaves;		/* distinct leaves holding the extent */
	u64 hits;		/* hits reported */
};

int backref_data(struct fs_info *fs, u64 logical, enum backref_view view,
		 unsigned flags, backref_fn fn, void *ctx,
		 struct backref_stats *st);
int backref_block(struct fs_info *fs, u64 bytenr, enum backref_view view,
		  unsigned flags, backref_fn fn, void *ctx,
		  struct backref_stats *st);

/* Sets of subvolume trees, each held once and named by an id
 * (backref_sets.c). Id 0 is the empty set. */
struct rootsets {
	u64 *ids;		/* every set's roots, each set's together,
				 * sorted ascending */
	u32 nids, ids_cap;
	struct rootset_at {
		u32 at, n;	/* set id (at - 1 here): its roots' place
				 * in ids and how many */
	} *v;
	u32 n, cap;
	struct u64map by_hash;	/* hash of a set's roots -> its id */
	u64 *tmp;		/* a union being made */
	u32 tmp_cap;
};
void rootsets_init(struct rootsets *s);
void rootsets_reset(struct rootsets *s);
u64 rootsets_bytes(const struct rootsets *s);
void rootsets_get(const struct rootsets *s, u32 id, const u64 **v, u32 *n);
int rootsets_has(const struct rootsets *s, u32 id, u64 x);
int rootsets_intern(struct rootsets *s, const u64 *v, u32 n, u32 *id);
int rootsets_union(struct rootsets *s, u32 a, u32 b, u32 *id);
int rootsets_union_ids(struct rootsets *s, u64 *ids, u32 n, u32 *id);
int rootsets_add(struct rootsets *s, u32 a, u64 x, u32 *id);

/* Walks' memory across walks in one view (backref_cache.c). */
struct backref_cache;
int backref_cache_new(struct fs_info *fs, enum backref_view view,
		      struct rootsets *rs, struct backref_cache **out);
void backref_cache_reset(struct backref_cache *c);
void backref_cache_free(struct backref_cache *c);
u64 backref_cache_bytes(const struct backref_cache *c);
void backref_cache_take_sets(struct backref_cache *c,
			     struct backref_cache *from, u64 gen);
int backref_root_set(struct backref_cache *c, u64 bytenr, int data,
		     unsigned flags, u32 *set);

#endif
