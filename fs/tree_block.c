/*
 * Tree-block cache. Every B-tree block ghee looks at comes from
 * tree_block_read(), which returns a referenced, verified struct tree_block:
 *
 *  - On a miss the block is read from the first copy of its chunk, checked by
 *    tree_check_block() and tree_check_expect(); when a copy is bad and the
 *    chunk has another (DUP), the next copy is tried and a warning names the
 *    bad one. When no copy is good the read fails with -EUCLEAN (or the
 *    device's error) and an error message gives the address and the reason.
 *  - On a hit only the referrer's expectations are checked again.
 *
 * Blocks are refcounted. tree_block_put() drops a reference; an unreferenced
 * block stays cached on an LRU list until the unreferenced blocks exceed
 * max_bytes. Referenced blocks (a transaction's dirty blocks, paths) do
 * not count against the limit: they cannot be freed, and counting them
 * would empty the LRU on every put once a large transaction passed it.
 * tree_block_clone() makes a private copy that a holder may keep without
 * affecting the cache (send keeps clones of leaves).
 *
 * The write path: tree_block_new() puts a fresh block for a newly allocated
 * address in the cache (dropping any stale block cached there: an address
 * is reused only after the commit that freed it), the transaction keeps it
 * TB_DIRTY and holds a reference until tree_block_write() at commit puts its
 * checksum on it and writes every copy. tree_block_forget() drops a freed
 * address from the cache; a holder of the old block keeps a valid copy
 * (TB_STALE), freed with its last reference.
 *
 * Locking: cache->lock (a spinlock, leaf of the lock order) guards the hash
 * table, the LRU list and the counters. It is dropped around disk reads;
 * two readers that miss on the same block both read it and the second
 * one to insert frees its copy. A block's refs change atomically, and
 * from or to zero only under the lock (that moves the block off or onto
 * the LRU list): a holder's get and a put that leaves others holding
 * take no lock. The hot blocks of concurrent writers (a tree's root, the
 * leaf they append to) are held all along by the transaction, and every
 * path step gets and puts them: with one lock for all, four writers at
 * -smp 2 spent a quarter of their spinlock time on it.
 */
#include <ghee/errno.h>
#include <stdio.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "csum_type.h"
#include "fs_info.h"
#include "tree_block.h"
#include "tree_check.h"

/* Create an empty cache that keeps up to max_bytes of unreferenced blocks. */
int tb_cache_init(struct tb_cache *c, u64 max_bytes)
{
	memset(c, 0, sizeof(*c));
	c->nbuckets = 1024;
	c->buckets = kzalloc(c->nbuckets * sizeof(*c->buckets));
	if (!c->buckets)
		return -ENOMEM;
	spin_init(&c->lock, "tb_cache");
	list_init(&c->lru);
	c->max_bytes = max_bytes;
	return 0;
}

static void block_free(struct tree_block *b)
{
	if (!b)
		return;
	kfree(b->data);
	kfree(b);
}

/* Fill a new block struct: one reference, unlinked, its lock ready. */
static void block_init(struct tree_block *b, u64 start, u32 len, u8 *data,
		       struct tb_cache *c)
{
	b->start = start;
	b->len = len;
	b->data = data;
	b->cache = c;
	b->refs = 1;
	list_init(&b->lru);
	list_init(&b->dirty);
	rwsem_init(&b->lock, "tree_block");
}

static u32 bucket_of(const struct tb_cache *c, u64 start)
{
	return (u32)(((start >> 12) * 0x9E3779B97F4A7C15ULL) >> 40) &
	       (c->nbuckets - 1);
}

/* Unlink b from its bucket. Caller holds c->lock. */
static void hash_remove(struct tb_cache *c, struct tree_block *b)
{
	struct tree_block **pp = &c->buckets[bucket_of(c, b->start)];

	while (*pp && *pp != b)
		pp = &(*pp)->hash_next;
	if (*pp)
		*pp = b->hash_next;
	c->bytes -= b->len;
}

/* Free all blocks. Every reference must have been put already. */
void tb_cache_destroy(struct tb_cache *c)
{
	u32 i;

	if (!c->buckets)
		return;
	for (i = 0; i < c->nbuckets; i++) {
		struct tree_block *b = c->buckets[i], *next;

		for (; b; b = next) {
			next = b->hash_next;
			if (b->refs)
				pr_err("tree block %llu still has %d refs at "
				       "unmount", (unsigned long long)b->start,
				       b->refs);
			block_free(b);
		}
	}
	kfree(c->buckets);
	c->buckets = NULL;
}

/* Take an unreferenced block off the LRU list. Caller holds c->lock. */
static void lru_remove(struct tb_cache *c, struct tree_block *b)
{
	list_del_init(&b->lru);
	c->lru_bytes -= b->len;
}

/* Free least recently used blocks while the unreferenced ones are over
 * budget. Caller holds lock. */
static void cache_shrink(struct tb_cache *c)
{
	while (c->lru_bytes > c->max_bytes && !list_empty(&c->lru)) {
		struct tree_block *b = list_entry(c->lru.next,
						  struct tree_block, lru);

		lru_remove(c, b);
		hash_remove(c, b);
		block_free(b);
	}
}

/* Take a reference on a cached block found under the lock. */
static struct tree_block *cache_lookup(struct tb_cache *c, u64 start)
{
	struct tree_block *b = c->buckets[bucket_of(c, start)];

	for (; b; b = b->hash_next) {
		if (b->start == start) {
			if (__atomic_fetch_add(&b->refs, 1,
					       __ATOMIC_ACQUIRE) == 0)
				lru_remove(c, b);
			c->hits++;
			return b;
		}
	}
	c->misses++;
	return NULL;
}

/* Check a block from one copy; on failure why says what was wrong. */
static int verify_copy(struct fs_info *fs, const u8 *buf, u64 bytenr,
		       const struct tb_expect *exp, char *why, size_t whylen)
{
	int ret = tree_check_block(fs, buf, bytenr, why, whylen);

	if (ret)
		return ret;
	return tree_check_expect(fs, buf, exp, why, whylen);
}

/*
 * Read and verify a block, trying each copy in turn. On success *out is
 * a kmalloc'ed nodesize buffer owned by the caller.
 */
static int read_verified(struct fs_info *fs, u64 bytenr,
			 const struct tb_expect *exp, u8 **out)
{
	int copies = volumes_num_copies(fs, bytenr);
	char why[256] = "not mapped by any chunk";
	int ret = -EUCLEAN, i;
	u8 *buf;

	buf = kmalloc(fs->nodesize);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < copies; i++) {
		ret = volumes_read(fs, bytenr, i, buf, fs->nodesize);
		if (ret)
			snprintf(why, sizeof(why), "read error %d", ret);
		else
			ret = verify_copy(fs, buf, bytenr, exp, why,
					  sizeof(why));
		if (ret == 0)
			break;
		if (i + 1 < copies)
			pr_warn("tree block %llu (tree %llu) copy %d of %d is "
				"bad: %s; trying copy %d",
				(unsigned long long)bytenr,
				(unsigned long long)exp->owner, i + 1, copies,
				why, i + 2);
	}
	if (ret == 0) {
		if (i > 0)
			pr_warn("tree block %llu: using good copy %d",
				(unsigned long long)bytenr, i + 1);
		*out = buf;
		return 0;
	}
	pr_err("corrupt tree block %llu (tree %llu, level %u): %s",
	       (unsigned long long)bytenr, (unsigned long long)exp->owner,
	       exp->level, why);
	kfree(buf);
	return ret == -ENOMEM ? ret : ret == -EUCLEAN ? ret : -EIO;
}

/*
 * Check a cached block against this referrer's expectations. Of a block
 * the running transaction made (TB_DIRTY), only the header fields that
 * never change: a writer may be changing its items now, holding the
 * block but not its parent (lock coupling, ctree_write.c), and it was
 * made in memory, not read from disk.
 */
static int recheck_cached(struct fs_info *fs, struct tree_block *b,
			  const struct tb_expect *exp)
{
	struct tb_expect fixed = *exp;
	char why[256];
	int ret;

	if (tb_flags(b) & TB_DIRTY)
		fixed.has_first_key = 0;
	ret = tree_check_expect(fs, b->data, &fixed, why, sizeof(why));

	if (ret)
		pr_err("corrupt tree block %llu (tree %llu, level %u): %s",
		       (unsigned long long)b->start,
		       (unsigned long long)exp->owner, exp->level, why);
	return ret;
}

/*
 * Get the verified tree block at logical address bytenr, as the referrer
 * describes it in exp. On success *out holds a reference the caller drops
 * with tree_block_put(). Returns 0, -EUCLEAN (corrupt, message printed),
 * -EIO or -ENOMEM.
 */
int tree_block_read(struct fs_info *fs, u64 bytenr,
		    const struct tb_expect *exp, struct tree_block **out)
{
	struct tb_cache *c = &fs->cache;
	struct tree_block *b, *other;
	u8 *data;
	int ret;

	if (bytenr == 0 || bytenr % fs->sectorsize) {
		pr_err("corrupt pointer to tree block %llu (tree %llu)",
		       (unsigned long long)bytenr,
		       (unsigned long long)exp->owner);
		return -EUCLEAN;
	}
	spin_lock(&c->lock);
	b = cache_lookup(c, bytenr);
	spin_unlock(&c->lock);
	if (b)
		goto found;

	ret = read_verified(fs, bytenr, exp, &data);
	if (ret)
		return ret;
	b = kzalloc(sizeof(*b));
	if (!b) {
		kfree(data);
		return -ENOMEM;
	}
	block_init(b, bytenr, fs->nodesize, data, c);

	spin_lock(&c->lock);
	other = cache_lookup(c, bytenr);
	if (!other) {
		u32 h = bucket_of(c, bytenr);

		b->hash_next = c->buckets[h];
		c->buckets[h] = b;
		c->bytes += b->len;
		cache_shrink(c);
		spin_unlock(&c->lock);
		*out = b;
		return 0;
	}
	spin_unlock(&c->lock);
	block_free(b);
	b = other;
found:
	ret = recheck_cached(fs, b, exp);
	if (ret) {
		tree_block_put(b);
		return ret;
	}
	*out = b;
	return 0;
}

/* Take another reference on b (the caller holds one). Returns b. */
struct tree_block *tree_block_get(struct tree_block *b)
{
	__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
	return b;
}

/* Drop a reference that is not the last one; 0 when it is the last. */
static int put_not_last(struct tree_block *b)
{
	int n = __atomic_load_n(&b->refs, __ATOMIC_RELAXED);

	while (n > 1)
		if (__atomic_compare_exchange_n(&b->refs, &n, n - 1, 0,
						__ATOMIC_RELEASE,
						__ATOMIC_RELAXED))
			return 1;
	return 0;
}

/* Drop a reference. A clone is freed with its last reference; a cached
 * block moves to the LRU list. NULL is ignored. */
void tree_block_put(struct tree_block *b)
{
	struct tb_cache *c;

	if (!b)
		return;
	c = b->cache;
	if (!c) {
		if (__atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
			block_free(b);
		return;
	}
	if (put_not_last(b))
		return;
	spin_lock(&c->lock);
	if (__atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		if (tb_flags(b) & TB_STALE) {
			spin_unlock(&c->lock);
			block_free(b);
			return;
		}
		list_add_tail(&b->lru, &c->lru);
		c->lru_bytes += b->len;
		cache_shrink(c);
	}
	spin_unlock(&c->lock);
}

/* Unhash the block cached at start, if any. Caller holds c->lock. Returns
 * the block when nobody references it (the caller frees it), else NULL. */
static struct tree_block *unhash_locked(struct tb_cache *c, u64 start)
{
	struct tree_block *b = c->buckets[bucket_of(c, start)];

	for (; b && b->start != start; b = b->hash_next)
		;
	if (!b)
		return NULL;
	hash_remove(c, b);
	if (__atomic_load_n(&b->refs, __ATOMIC_ACQUIRE) == 0) {
		lru_remove(c, b);
		return b;
	}
	tb_set_flag(b, TB_STALE);
	return NULL;
}

/*
 * The block cached at bytenr with a reference taken, or NULL when it is
 * not cached (nothing is read).
 */
struct tree_block *tree_block_cached(struct fs_info *fs, u64 bytenr)
{
	struct tree_block *b;

	spin_lock(&fs->cache.lock);
	b = cache_lookup(&fs->cache, bytenr);
	spin_unlock(&fs->cache.lock);
	return b;
}

/*
 * Drop the block cached at bytenr (its extent was freed). A holder of a
 * reference keeps a valid copy, freed with the last reference.
 */
void tree_block_forget(struct fs_info *fs, u64 bytenr)
{
	struct tb_cache *c = &fs->cache;
	struct tree_block *dead;

	spin_lock(&c->lock);
	dead = unhash_locked(c, bytenr);
	spin_unlock(&c->lock);
	block_free(dead);
}

/*
 * Make a zeroed block for the newly allocated address bytenr and cache it.
 * *out holds one reference. Returns 0 or -ENOMEM.
 */
int tree_block_new(struct fs_info *fs, u64 bytenr, struct tree_block **out)
{
	struct tb_cache *c = &fs->cache;
	struct tree_block *b = kzalloc(sizeof(*b)), *dead;
	u8 *data = kzalloc(fs->nodesize);
	u32 h;

	if (!b || !data) {
		kfree(b);
		kfree(data);
		return -ENOMEM;
	}
	block_init(b, bytenr, fs->nodesize, data, c);
	spin_lock(&c->lock);
	dead = unhash_locked(c, bytenr);
	h = bucket_of(c, bytenr);
	b->hash_next = c->buckets[h];
	c->buckets[h] = b;
	c->bytes += b->len;
	spin_unlock(&c->lock);
	block_free(dead);
	*out = b;
	return 0;
}

/* Put the checksum (fs's type) of bytes 32..len into the header. */
void tree_block_csum(const struct fs_info *fs, struct tree_block *b)
{
	csum_header_set(fs->csum_type, b->data, b->len);
}

/*
 * Start writing a dirty block to every copy of its chunk, with its WRITTEN
 * flag and checksum set; writeback_wait() waits for it. Searches may be
 * reading the block (the commit runs beside them): the header is set under
 * the block's write lock, the bytes are copied out under its read lock.
 * Returns 0 or the error of a refused request (logged).
 */
int tree_block_write(struct fs_info *fs, struct tree_block *b)
{
	u64 flags;
	int ret;

	down_write(&b->lock);
	flags = D_GET64(struct d_header, b->data, flags);
	D_SET64(struct d_header, b->data, flags,
		flags | BTRFS_HEADER_FLAG_WRITTEN);
	tree_block_csum(fs, b);
	downgrade_write(&b->lock);
	ret = writeback_submit(fs, WB_TREE, b->start, b->data, b->len);
	up_read(&b->lock);
	return ret;
}

/*
 * Make a private copy of b (TB_CLONE, one reference, not in the cache). The
 * copy stays valid whatever happens to the cache or the disk afterwards.
 */
int tree_block_clone(const struct tree_block *b, struct tree_block **out)
{
	struct tree_block *n = kzalloc(sizeof(*n));
	u8 *data = kmalloc(b->len);

	if (!n || !data) {
		kfree(n);
		kfree(data);
		return -ENOMEM;
	}
	memcpy(data, b->data, b->len);
	block_init(n, b->start, b->len, data, NULL);
	n->flags = TB_CLONE;
	*out = n;
	return 0;
}
