/*
 * Block groups and free space. Every chunk is a block group (its item in
 * the extent tree says how many bytes are used); the allocator keeps, per
 * block group, a sorted array of free ranges in memory.
 *
 * Mount builds the free ranges from the extent tree (every EXTENT_ITEM and
 * METADATA_ITEM is in use, the rest of each block group is free), minus the
 * 64 KiB around any superblock copy a chunk happens to cover. The
 * free-space tree on disk is kept in step (free_space_tree.c) but memory is
 * rebuilt from the extent tree, the ground truth.
 *
 * Lifecycle of space: bg_alloc() takes a range out of the free array at
 * once (the running transaction owns it). When the extent's last reference
 * goes at commit, extent_tree.c pins the range (trans_pin); the commit
 * gives pinned ranges back with bg_unpin() only after its superblock is on
 * disk, so the previous commit's tree stays intact (DESIGN.md invariant 1).
 * Used bytes change when the extent tree changes (bg_account), which is
 * what the block group items and btrfs check count.
 *
 * When no block group of a type has room, a new chunk is made (chunk.c):
 * it is usable at once, and its chunk item, device extents, block group
 * item and free-space info are inserted at commit (bg_commit_items).
 *
 * Locking: changes allocate and reserve under fs->alloc_lock (bg_alloc,
 * bg_reserve_metadata), which they may take holding tree-block locks; the
 * commit, which excludes every change (fs->trans_sem held for write),
 * accounts, unpins and writes items without it; mount is alone.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "block_group.h"
#include "chunk.h"
#include "ctree_write.h"
#include "free_space_tree.h"
#include "fs_info.h"
#include "super.h"
#include "transaction.h"

/* Free bytes a new run of tree block allocations starts in (take_from). */
#define META_CLUSTER (1u << 20)
#define SUPER_EXCLUDE (64u * 1024)	/* bytes kept free of allocation
					 * around each superblock copy */

/* Index of the first free range of bg ending after pos. */
static u32 range_find(const struct block_group *bg, u64 pos)
{
	u32 lo = 0, hi = bg->nfree;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (bg->free[mid].start + bg->free[mid].len <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Make room for one more range at index i. */
static int range_open(struct block_group *bg, u32 i)
{
	if (bg->nfree == bg->free_cap) {
		u32 cap = bg->free_cap ? bg->free_cap * 2 : 8;
		struct free_range *v = kmalloc(cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		if (bg->nfree)
			memcpy(v, bg->free, bg->nfree * sizeof(*v));
		kfree(bg->free);
		bg->free = v;
		bg->free_cap = cap;
	}
	memmove(&bg->free[i + 1], &bg->free[i],
		(bg->nfree - i) * sizeof(*bg->free));
	bg->nfree++;
	return 0;
}

static void range_close(struct block_group *bg, u32 i)
{
	memmove(&bg->free[i], &bg->free[i + 1],
		(bg->nfree - i - 1) * sizeof(*bg->free));
	bg->nfree--;
}

/* Mark [start, +len) free, merging with neighbours. */
static int free_add(struct block_group *bg, u64 start, u64 len)
{
	u32 i = range_find(bg, start);
	struct free_range *prev = i ? &bg->free[i - 1] : NULL;
	int ret;

	bg->free_bytes += len;
	if (prev && prev->start + prev->len == start) {
		prev->len += len;
		if (i < bg->nfree && bg->free[i].start == start + len) {
			prev->len += bg->free[i].len;
			range_close(bg, i);
		}
		return 0;
	}
	if (i < bg->nfree && bg->free[i].start == start + len) {
		bg->free[i].start = start;
		bg->free[i].len += len;
		return 0;
	}
	ret = range_open(bg, i);
	if (ret) {
		bg->free_bytes -= len;
		return ret;
	}
	bg->free[i].start = start;
	bg->free[i].len = len;
	return 0;
}

/* Take [start, +len) out of the free ranges (the parts that are free). */
static int free_remove(struct block_group *bg, u64 start, u64 len)
{
	u64 end = start + len;
	u32 i = range_find(bg, start);

	while (i < bg->nfree && bg->free[i].start < end) {
		struct free_range *r = &bg->free[i];
		u64 rend = r->start + r->len;
		u64 cut_s = r->start > start ? r->start : start;
		u64 cut_e = rend < end ? rend : end;

		bg->free_bytes -= cut_e - cut_s;
		if (cut_s > r->start && cut_e < rend) {
			if (range_open(bg, i + 1))
				return -ENOMEM;
			r = &bg->free[i];
			bg->free[i + 1].start = cut_e;
			bg->free[i + 1].len = rend - cut_e;
			r->len = cut_s - r->start;
			return 0;
		}
		if (cut_s > r->start) {
			r->len = cut_s - r->start;
			i++;
		} else if (cut_e < rend) {
			r->len = rend - cut_e;
			r->start = cut_e;
			i++;
		} else {
			range_close(bg, i);
		}
	}
	return 0;
}

/* Keep allocations away from superblock copies inside bg's chunk. */
static int exclude_super(struct fs_info *fs, struct block_group *bg)
{
	const struct chunk_mapping *m = volumes_lookup(fs, bg->start, 1);
	u32 s;
	int i, ret;

	for (i = 0; m && i < BTRFS_SUPER_MIRROR_MAX; i++) {
		u64 off = super_offset(i);

		for (s = 0; s < m->num_stripes; s++) {
			u64 p = m->physical[s], end = p + m->length;
			u64 a = off > p ? off : p;
			u64 b = off + SUPER_EXCLUDE < end ? off + SUPER_EXCLUDE
							  : end;

			if (a >= b)
				continue;
			ret = free_remove(bg, m->logical + (a - p), b - a);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* The block group holding bytenr, or NULL. */
struct block_group *bg_lookup(struct fs_info *fs, u64 bytenr)
{
	struct space_info *s = &fs->space;
	u32 lo = 0, hi = s->nbg;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;
		struct block_group *bg = s->bg[mid];

		if (bytenr < bg->start)
			hi = mid;
		else if (bytenr >= bg->start + bg->length)
			lo = mid + 1;
		else
			return bg;
	}
	return NULL;
}

/* Add a block group for chunk m (sorted insert). */
int bg_add(struct fs_info *fs, const struct chunk_mapping *m, u64 used,
	   struct block_group **out)
{
	struct space_info *s = &fs->space;
	struct block_group *bg = kzalloc(sizeof(*bg));
	u32 i;

	if (!bg)
		return -ENOMEM;
	if (s->nbg == s->bg_cap) {
		u32 cap = s->bg_cap ? s->bg_cap * 2 : 16;
		struct block_group **v = kmalloc(cap * sizeof(*v));

		if (!v) {
			kfree(bg);
			return -ENOMEM;
		}
		if (s->nbg)
			memcpy(v, s->bg, s->nbg * sizeof(*v));
		kfree(s->bg);
		s->bg = v;
		s->bg_cap = cap;
	}
	for (i = s->nbg; i > 0 && s->bg[i - 1]->start > m->logical; i--)
		s->bg[i] = s->bg[i - 1];
	s->bg[i] = bg;
	s->nbg++;
	bg->start = m->logical;
	bg->length = m->length;
	bg->flags = m->type;
	bg->used = used;
	bg->cursor = m->logical;
	*out = bg;
	return 0;
}

/* Read the block group item of chunk m and add the block group. */
static int load_one(struct fs_info *fs, const struct chunk_mapping *m)
{
	struct key k = { m->logical, BTRFS_BLOCK_GROUP_ITEM_KEY, m->length };
	struct block_group *bg;
	struct ctree_path p;
	u64 used = 0;
	u32 size;
	int ret;

	ctree_path_init(&p);
	ret = ctree_lookup(&fs->extent_root, &k, &p);
	if (ret == 0)
		used = D_GET64(struct d_block_group_item,
			       ctree_item_ptr(&p, &size), used);
	ctree_path_release(&p);
	if (ret == -ENOENT)
		pr_err("chunk %llu has no block group item",
		       (unsigned long long)m->logical);
	if (ret)
		return ret == -ENOENT ? -EUCLEAN : ret;
	ret = bg_add(fs, m, used, &bg);
	if (ret)
		return ret;
	if (m->type & BTRFS_BLOCK_GROUP_METADATA)
		fs->space.meta_profile = m->type &
					 BTRFS_BLOCK_GROUP_PROFILE_MASK;
	if (m->type & BTRFS_BLOCK_GROUP_DATA)
		fs->space.data_profile = m->type &
					 BTRFS_BLOCK_GROUP_PROFILE_MASK;
	if (m->type & BTRFS_BLOCK_GROUP_SYSTEM)
		fs->space.sys_profile = m->type &
					BTRFS_BLOCK_GROUP_PROFILE_MASK;
	return 0;
}

/* Free ranges from the extent tree: a sweep in bytenr order appends the
 * gaps between extents of each block group. */
static int sweep_extents(struct fs_info *fs)
{
	struct key k = { 0, 0, 0 };
	struct ctree_path p;
	struct block_group *bg = NULL;
	u64 cursor = 0;
	u32 i;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_ge(&fs->extent_root, &k, &p);
	while (ret == 0) {
		u64 len;

		ctree_item_key(&p, &k);
		if (k.type == BTRFS_EXTENT_ITEM_KEY ||
		    k.type == BTRFS_METADATA_ITEM_KEY) {
			len = k.type == BTRFS_EXTENT_ITEM_KEY ? k.offset :
			      fs->nodesize;
			if (!bg || k.objectid >= bg->start + bg->length) {
				if (bg)
					ret = free_add(bg, cursor, bg->start +
						       bg->length - cursor);
				bg = bg_lookup(fs, k.objectid);
				cursor = bg ? bg->start : 0;
			}
			if (bg && ret == 0 && k.objectid > cursor)
				ret = free_add(bg, cursor,
					       k.objectid - cursor);
			if (bg && k.objectid + len > cursor)
				cursor = k.objectid + len;
			if (ret)
				break;
		}
		ret = ctree_next_item(&p);
	}
	ctree_path_release(&p);
	if (ret < 0)
		return ret;
	ret = 0;	/* 1: past the last item */
	if (bg && cursor < bg->start + bg->length)
		ret = free_add(bg, cursor, bg->start + bg->length - cursor);
	for (i = 0; ret == 0 && i < fs->space.nbg; i++) {
		struct block_group *g = fs->space.bg[i];

		if (g->nfree == 0 && g->free_bytes == 0 && g != bg &&
		    !g->used)
			ret = free_add(g, g->start, g->length);
	}
	return ret;
}

/*
 * Build the allocator at a read-write mount: block groups from the chunk
 * map and their items, free ranges from the extent tree, device ranges
 * from the device tree. Returns 0 or <0 (logged).
 */
int bg_load(struct fs_info *fs)
{
	u32 i;
	int ret = 0;

	for (i = 0; i < fs->chunks.n && ret == 0; i++)
		ret = load_one(fs, &fs->chunks.v[i]);
	if (ret == 0)
		ret = sweep_extents(fs);
	for (i = 0; i < fs->space.nbg && ret == 0; i++)
		ret = exclude_super(fs, fs->space.bg[i]);
	if (ret == 0)
		ret = chunk_load_dev_extents(fs);
	return ret;
}

/* Exclude the superblock copies from a new block group. */
int bg_init_free(struct fs_info *fs, struct block_group *bg)
{
	int ret = free_add(bg, bg->start, bg->length);

	return ret ? ret : exclude_super(fs, bg);
}

/* Free the allocator's memory (unmount). */
void bg_free_all(struct fs_info *fs)
{
	u32 i;

	for (i = 0; i < fs->space.nbg; i++) {
		kfree(fs->space.bg[i]->free);
		kfree(fs->space.bg[i]);
	}
	kfree(fs->space.bg);
	kfree(fs->space.dev);
	memset(&fs->space, 0, sizeof(fs->space));
}

/* Drop the block group starting at start from memory (its chunk was
 * removed). Caller holds fs->alloc_lock. */
void bg_remove(struct fs_info *fs, u64 start)
{
	struct space_info *s = &fs->space;
	u32 i;

	for (i = 0; i < s->nbg; i++)
		if (s->bg[i]->start == start) {
			kfree(s->bg[i]->free);
			kfree(s->bg[i]);
			memmove(&s->bg[i], &s->bg[i + 1],
				(s->nbg - i - 1) * sizeof(s->bg[0]));
			s->nbg--;
			return;
		}
}

/* Index of the first free range of bg from range first on (cyclic) of at
 * least want bytes, else of the largest of at least min; nfree if none. */
static u32 pick_range(const struct block_group *bg, u32 first, u64 want,
		      u64 min)
{
	u32 i, n = bg->nfree, best = n;

	for (i = 0; i < n; i++) {
		u32 j = (first + i) % n;

		if (bg->free[j].len >= want)
			return j;
		if (bg->free[j].len >= min &&
		    (best == n || bg->free[j].len > bg->free[best].len))
			best = j;
	}
	return best;
}

/*
 * Take want bytes (or the largest run >= min) from bg, from its cursor
 * on. 0, 1 if none. With cluster (tree blocks), allocation goes on where
 * the last one ended while that free range lasts, and a new run starts in
 * a free range of at least cluster bytes when there is one, not in the
 * next one-block hole: so a commit's blocks lie together (fewer, longer
 * writes), and their extent items, and those of the next commit that
 * frees them, fall into a few extent-tree leaves instead of one leaf per
 * hole.
 */
static int take_from(struct block_group *bg, u64 want, u64 min, u64 cluster,
		     u64 *start, u64 *len)
{
	u32 n = bg->nfree, first = range_find(bg, bg->cursor), best = n;

	if (cluster > want &&
	    !(first < n && bg->free[first].start == bg->cursor))
		best = pick_range(bg, first, cluster, cluster);
	if (best == n)
		best = pick_range(bg, first, want, min);
	if (best == n)
		return 1;
	*start = bg->free[best].start;
	*len = bg->free[best].len < want ? bg->free[best].len : want;
	bg->cursor = *start + *len;
	return free_remove(bg, *start, *len);
}

/* Try every block group of type; 0, 1 when none has room, <0. */
static int alloc_in(struct fs_info *fs, u64 type, u64 want, u64 min,
		    u64 *start, u64 *len)
{
	u32 i;

	for (i = 0; i < fs->space.nbg; i++) {
		struct block_group *bg = fs->space.bg[i];
		int ret;

		if ((bg->flags & BTRFS_BLOCK_GROUP_TYPE_MASK) != type ||
		    bg->free_bytes < min || bg->ro)
			continue;
		ret = take_from(bg, want, min, type == BTRFS_BLOCK_GROUP_DATA ?
				0 : META_CLUSTER, start, len);
		if (ret <= 0)
			return ret;
	}
	return 1;
}

/*
 * Allocate a range of type (DATA, METADATA or SYSTEM) of want bytes, or
 * failing that the largest run of at least min bytes; make a new chunk
 * when no block group has room. Returns 0 or -ENOSPC (nothing changed).
 */
int bg_alloc(struct trans *t, u64 type, u64 want, u64 min, u64 *start,
	     u64 *len)
{
	struct fs_info *fs = t->fs;
	int ret;

	mutex_lock(&fs->alloc_lock);
	ret = alloc_in(fs, type, want, want, start, len);
	if (ret == 1 && min < want)
		ret = alloc_in(fs, type, want, min, start, len);
	if (ret == 1) {
		ret = chunk_alloc(t, type);
		if (ret == 0)
			ret = alloc_in(fs, type, want, min, start, len);
	}
	mutex_unlock(&fs->alloc_lock);
	return ret == 1 ? -ENOSPC : ret;
}

/*
 * Take up to want bytes of type starting exactly at start, when start is
 * free in a writable block group of that type that also holds the byte
 * before it: the free run there, capped at want (a data extent grows into
 * the space after it, never into the next block group; file_grow.c).
 * Returns 0 with *len, 1 when start is not free, or -ENOMEM.
 */
int bg_alloc_at(struct fs_info *fs, u64 type, u64 start, u64 want, u64 *len)
{
	struct block_group *bg;
	int ret = 1;
	u32 i;

	mutex_lock(&fs->alloc_lock);
	bg = bg_lookup(fs, start);
	/* start == bg->start: what ends there lies in the group before */
	if (bg && !bg->ro && start > bg->start &&
	    (bg->flags & BTRFS_BLOCK_GROUP_TYPE_MASK) == type) {
		i = range_find(bg, start);
		if (i < bg->nfree && bg->free[i].start <= start) {
			u64 run = bg->free[i].start + bg->free[i].len - start;

			*len = run < want ? run : want;
			bg->cursor = start + *len;
			ret = free_remove(bg, start, *len);
		}
	}
	mutex_unlock(&fs->alloc_lock);
	return ret;
}

/*
 * Make the block group starting at start read-only (ro 1: nothing new is
 * allocated in it; relocation empties it) or writable again; *out gets
 * a copy of its figures (free list not included). Returns 0, or -ENOENT
 * when no group starts there.
 */
int bg_set_ro(struct fs_info *fs, u64 start, int ro, struct block_group *out)
{
	struct block_group *bg;
	int ret = 0;

	mutex_lock(&fs->alloc_lock);
	bg = bg_lookup(fs, start);
	if (!bg || bg->start != start) {
		ret = -ENOENT;
	} else {
		bg->ro = ro;
		if (out) {
			*out = *bg;
			out->free = NULL;
		}
	}
	mutex_unlock(&fs->alloc_lock);
	return ret;
}

/*
 * Keep [start, +len) from being allocated: space in use that the extent
 * tree does not record (tree-log blocks and the data extents they name,
 * until replay enters or pins them). Parts already in use are left as
 * they are. Returns 0, or -ENOMEM.
 */
int bg_exclude(struct fs_info *fs, u64 start, u64 len)
{
	struct block_group *bg;
	int ret = 0;

	mutex_lock(&fs->alloc_lock);
	bg = bg_lookup(fs, start);
	if (bg)
		ret = free_remove(bg, start, len);
	mutex_unlock(&fs->alloc_lock);
	return ret;
}

/* Return a pinned range to the free space (after its commit). */
void bg_unpin(struct fs_info *fs, u64 start, u64 len)
{
	struct block_group *bg = bg_lookup(fs, start);

	if (!bg || free_add(bg, start, len))
		pr_warn("cannot return %llu (+%llu) to free space; it stays "
			"unused until the next mount",
			(unsigned long long)start, (unsigned long long)len);
}

/*
 * An extent entered (add) or left the extent tree: count its bytes in its
 * block group and the superblock (the free-space tree is the caller's).
 */
int bg_account_used(struct trans *t, u64 start, u64 len, int add)
{
	struct fs_info *fs = t->fs;
	struct block_group *bg = bg_lookup(fs, start);

	if (!bg || (!add && bg->used < len)) {
		pr_err("extent %llu (+%llu) outside any block group or "
		       "above its use", (unsigned long long)start,
		       (unsigned long long)len);
		return -EUCLEAN;
	}
	bg->used = add ? bg->used + len : bg->used - len;
	fs->bytes_used = add ? fs->bytes_used + len : fs->bytes_used - len;
	bg->dirty = 1;
	return 0;
}

/* bg_account_used, and the free-space tree updated. */
int bg_account(struct trans *t, u64 start, u64 len, int add)
{
	int ret = bg_account_used(t, start, len, add);

	if (ret || !t->fs->fst_root.bytenr)
		return ret;
	return add ? fst_remove_range(t, start, len) :
		     fst_add_range(t, start, len);
}

/* Rewrite the item of a block group whose use changed. */
static int write_item(struct trans *t, struct block_group *bg)
{
	struct key k = { bg->start, BTRFS_BLOCK_GROUP_ITEM_KEY, bg->length };
	struct ctree_path p;
	u8 *item;
	u32 size;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(t, &t->fs->extent_root, &k, &p, 0);
	if (ret == 0) {
		item = ctree_item_ptr_w(&p, &size);
		D_SET64(struct d_block_group_item, item, used, bg->used);
	}
	ctree_path_release(&p);
	return ret == 1 ? -EUCLEAN : ret;
}

/*
 * Insert the items of block groups made in this transaction. Runs before
 * each round of delayed refs, so the free-space info of a new group exists
 * before the refs of extents allocated in it are applied.
 */
int bg_create_pending(struct trans *t)
{
	struct space_info *s = &t->fs->space;
	u32 i;
	int ret = 0;

	for (i = 0; i < s->nbg && ret == 0; i++) {
		struct block_group *bg = s->bg[i];

		if (!bg->is_new)
			continue;
		bg->is_new = 0;
		bg->dirty = 1;
		ret = chunk_insert_items(t, bg);
	}
	if (ret)
		trans_abort(t, ret);
	return ret;
}

/*
 * Rewrite the items of block groups whose use changed. *did says whether
 * anything was written (the commit repeats until nothing is).
 */
int bg_write_dirty(struct trans *t, int *did)
{
	struct space_info *s = &t->fs->space;
	u32 i;
	int ret = 0;

	*did = 0;
	for (i = 0; i < s->nbg && ret == 0; i++) {
		struct block_group *bg = s->bg[i];

		if (!bg->dirty)
			continue;
		bg->dirty = 0;
		ret = write_item(t, bg);
		*did = 1;
	}
	if (ret)
		trans_abort(t, ret);
	return ret;
}

/* Free bytes in block groups of type. Caller holds fs->alloc_lock, or is
 * the commit. */
u64 bg_free_bytes(struct fs_info *fs, u64 type)
{
	u64 sum = 0;
	u32 i;

	for (i = 0; i < fs->space.nbg; i++)
		if ((fs->space.bg[i]->flags & BTRFS_BLOCK_GROUP_TYPE_MASK) ==
		    type && !fs->space.bg[i]->ro)
			sum += fs->space.bg[i]->free_bytes;
	return sum;
}

/* Is there room for need more reserved bytes with also_free spare? */
static int meta_room(struct fs_info *fs, u64 need, u64 also_free)
{
	return bg_free_bytes(fs, BTRFS_BLOCK_GROUP_METADATA) >=
	       fs->space.meta_reserved + need + also_free;
}

/*
 * Reserve need bytes of metadata for a change about to start, counting
 * what the changes in progress have reserved, and make sure also_free
 * bytes stay free beyond that (the commit's share, which no single change
 * reserves); add a chunk if that helps. Blocks the change allocates come
 * from free space as usual: the reservation only keeps other changes from
 * promising the same bytes. Returns 0 or -ENOSPC (nothing reserved).
 */
int bg_reserve_metadata(struct trans *t, u64 need, u64 also_free)
{
	struct fs_info *fs = t->fs;
	int ret = 0;

	mutex_lock(&fs->alloc_lock);
	if (!meta_room(fs, need, also_free) &&
	    (chunk_alloc(t, BTRFS_BLOCK_GROUP_METADATA) ||
	     !meta_room(fs, need, also_free)))
		ret = -ENOSPC;
	else
		fs->space.meta_reserved += need;
	mutex_unlock(&fs->alloc_lock);
	return ret;
}

/* Give back a reservation when its change ends. */
void bg_release_metadata(struct fs_info *fs, u64 bytes)
{
	mutex_lock(&fs->alloc_lock);
	fs->space.meta_reserved -= bytes;
	mutex_unlock(&fs->alloc_lock);
}
