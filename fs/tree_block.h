/*
 * Tree blocks in memory: refcounted buffers, verified when read, kept in a
 * cache keyed by logical address. See tree_block.c.
 */
#ifndef FS_TREE_BLOCK_H
#define FS_TREE_BLOCK_H

#include <ghee/sync.h>

#include "../lib/list.h"
#include "format.h"

struct fs_info;
struct tb_cache;

/* tree_block.flags */
#define TB_CLONE (1u << 0)	/* private copy, not in the cache; writable */
#define TB_DIRTY (1u << 1)	/* made in the running transaction, not yet
				 * written; on the transaction's dirty list */
#define TB_STALE (1u << 2)	/* dropped from the cache (its address was
				 * freed); freed with its last reference */

/*
 * One tree block. A cached block that was read from disk or written by a
 * commit is shared by everyone holding a reference and is never modified (a
 * committed block never changes, DESIGN.md invariant 2): the write path
 * copies it to a new address first (COW, ctree_write.c). Only a TB_DIRTY
 * block, created in the running transaction, is changed in place, by a
 * writer holding the block's lock for write; searches hold it for read
 * (ctree.c, ctree_write.c: paths lock top-down and let go of the blocks
 * above the ones they still need). A block that is not TB_DIRTY when
 * seen never becomes so again (a change copies it), so it needs no lock.
 * Code that wants to keep a block independently of the cache takes a clone.
 */
struct tree_block {
	u64 start;		/* logical address [I] */
	u32 len;		/* nodesize [I] */
	unsigned flags;		/* TB_* [a: read by searches before they
				 * lock; TB_DIRTY set before the block is
				 * linked in, cleared by a change holding
				 * lock for write or by the commit;
				 * TB_STALE set under the cache lock] */
	struct list_head dirty;	/* on trans->dirty while TB_DIRTY
				 * [trans->lock] */
	/*
	 * Rank 1d (docs/LOCKING.md), sleeping: the block's contents. Paths
	 * take it root to leaf, a child only while holding its parent (or,
	 * for a tree's root block, after reading the root record), for
	 * write to change a TB_DIRTY block, for read to search. Clones
	 * never need it.
	 */
	struct rwsem lock;
	u8 *data;		/* len bytes, verified by tree_check [I] */
	struct tb_cache *cache;	/* owning cache; NULL for clones [I] */
	int refs;		/* holders [a; from or to 0 only under
				 * cache->lock (tree_block.c)] */
	struct tree_block *hash_next;	/* bucket chain [L cache->lock] */
	struct list_head lru;	/* on cache->lru while refs == 0 [L] */
};

/*
 * The cache. Blocks with references stay; unreferenced ones sit on an LRU
 * list and are freed, oldest first, when the cache grows past max_bytes.
 */
struct tb_cache {
	/* Protects everything below and every cached block's refs,
	 * hash_next and lru. A leaf lock: taken with no other fs lock held
	 * inside it, never across I/O. */
	struct spinlock lock;
	struct tree_block **buckets;	/* hash table by start [L] */
	u32 nbuckets;			/* power of two [I] */
	struct list_head lru;		/* unreferenced blocks, oldest first */
	u64 bytes;			/* bytes of cached blocks [L] */
	u64 lru_bytes;			/* bytes of those on lru [L] */
	u64 max_bytes;			/* limit of lru_bytes [I] */
	u64 hits, misses;		/* statistics [L] */
};

/*
 * What the referrer (a parent node, root item or superblock) says a block
 * must be. The tree checker compares the block against it.
 */
struct tb_expect {
	u64 owner;		/* tree id being read (see tree_check.c) */
	u64 generation;		/* generation recorded by the referrer */
	u8 level;		/* level recorded by the referrer */
	int has_first_key;	/* the referrer knows the first key */
	struct key first_key;	/* then: the block's first key */
};

static inline unsigned tb_flags(const struct tree_block *b)
{
	return __atomic_load_n(&b->flags, __ATOMIC_ACQUIRE);
}

static inline void tb_set_flag(struct tree_block *b, unsigned f)
{
	__atomic_fetch_or(&b->flags, f, __ATOMIC_RELEASE);
}

/* Cleared after the last change of the block's contents: a search that
 * then sees the flag clear reads them without the lock. */
static inline void tb_clear_flag(struct tree_block *b, unsigned f)
{
	__atomic_fetch_and(&b->flags, ~f, __ATOMIC_RELEASE);
}

/* How a path holds a block's lock (ctree_path.locks): not at all (a
 * committed block, which never changes), for read, for write, or no
 * longer (TB_RELEASED: the path let go of it on the way down, keeping
 * only its reference; its contents may change and must not be read). */
#define TB_UNLOCKED 0
#define TB_READ 1
#define TB_WRITE 2
#define TB_RELEASED 3

static inline void tb_lock(struct tree_block *b, int mode)
{
	if (mode == TB_WRITE)
		down_write(&b->lock);
	else
		down_read(&b->lock);
}

static inline void tb_unlock(struct tree_block *b, int mode)
{
	if (mode == TB_WRITE)
		up_write(&b->lock);
	else
		up_read(&b->lock);
}

int tb_cache_init(struct tb_cache *c, u64 max_bytes);
void tb_cache_destroy(struct tb_cache *c);

int tree_block_read(struct fs_info *fs, u64 bytenr,
		    const struct tb_expect *exp, struct tree_block **out);
struct tree_block *tree_block_cached(struct fs_info *fs, u64 bytenr);
struct tree_block *tree_block_get(struct tree_block *b);
void tree_block_put(struct tree_block *b);
int tree_block_clone(const struct tree_block *b, struct tree_block **out);
int tree_block_new(struct fs_info *fs, u64 bytenr, struct tree_block **out);
void tree_block_forget(struct fs_info *fs, u64 bytenr);
void tree_block_csum(const struct fs_info *fs, struct tree_block *b);
int tree_block_write(struct fs_info *fs, struct tree_block *b);


/* Header fields of a verified block. */
static inline u32 tb_nritems(const struct tree_block *b)
{
	return D_GET32(struct d_header, b->data, nritems);
}

static inline u8 tb_level(const struct tree_block *b)
{
	return D_GET8(struct d_header, b->data, level);
}

static inline u64 tb_generation(const struct tree_block *b)
{
	return D_GET64(struct d_header, b->data, generation);
}

static inline u64 tb_owner(const struct tree_block *b)
{
	return D_GET64(struct d_header, b->data, owner);
}

/* Leaf item i: descriptor address, key, data and size. */
static inline const u8 *tb_item_desc(const struct tree_block *b, u32 i)
{
	return b->data + sizeof(struct d_header) + i * sizeof(struct d_item);
}

static inline void tb_item_key(const struct tree_block *b, u32 i,
			       struct key *k)
{
	key_from_disk(k, tb_item_desc(b, i));
}

static inline u32 tb_item_size(const struct tree_block *b, u32 i)
{
	return D_GET32(struct d_item, tb_item_desc(b, i), size);
}

static inline const u8 *tb_item_data(const struct tree_block *b, u32 i)
{
	return b->data + sizeof(struct d_header) +
	       D_GET32(struct d_item, tb_item_desc(b, i), offset);
}

/* Node pointer i: key, child address and child generation. */
static inline const u8 *tb_ptr_desc(const struct tree_block *b, u32 i)
{
	return b->data + sizeof(struct d_header) + i * sizeof(struct d_key_ptr);
}

static inline void tb_node_key(const struct tree_block *b, u32 i,
			       struct key *k)
{
	key_from_disk(k, tb_ptr_desc(b, i));
}

/* The first key of a block, a leaf or a node (it must hold one). */
static inline void tb_first_key(const struct tree_block *b, struct key *k)
{
	if (tb_level(b) == 0)
		tb_item_key(b, 0, k);
	else
		tb_node_key(b, 0, k);
}

static inline u64 tb_node_blockptr(const struct tree_block *b, u32 i)
{
	return D_GET64(struct d_key_ptr, tb_ptr_desc(b, i), blockptr);
}

static inline u64 tb_node_ptr_gen(const struct tree_block *b, u32 i)
{
	return D_GET64(struct d_key_ptr, tb_ptr_desc(b, i), generation);
}

/* Writable header and item access for dirty blocks (ctree_write.c). */
static inline void tb_set_nritems(struct tree_block *b, u32 n)
{
	D_SET32(struct d_header, b->data, nritems, n);
}

static inline u8 *tb_item_desc_w(struct tree_block *b, u32 i)
{
	return b->data + sizeof(struct d_header) + i * sizeof(struct d_item);
}

static inline u8 *tb_item_data_w(struct tree_block *b, u32 i)
{
	return b->data + sizeof(struct d_header) +
	       D_GET32(struct d_item, tb_item_desc(b, i), offset);
}

static inline u32 tb_item_offset(const struct tree_block *b, u32 i)
{
	return D_GET32(struct d_item, tb_item_desc(b, i), offset);
}

static inline u8 *tb_ptr_desc_w(struct tree_block *b, u32 i)
{
	return b->data + sizeof(struct d_header) +
	       i * sizeof(struct d_key_ptr);
}

#endif
