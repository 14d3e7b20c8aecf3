/*
 * Chunks: a logical range of the filesystem mapped onto device ranges
 * (one for SINGLE, two for DUP on the one device). Making one takes device
 * space not given to any chunk (from the dev tree's DEV_EXTENT items, kept
 * sorted in fs->space.dev), stays clear of the superblock copies at 64 MiB
 * and 256 GiB, and puts the chunk right after the highest logical address.
 *
 * A chunk made during a transaction is usable at once (chunk map, block
 * group, free space); chunk_insert_items() writes its chunk item, device
 * extents, device usage, block group item and free-space info at commit.
 * A SYSTEM chunk (where the chunk tree lives: made when balance moves the
 * chunk tree, or when it outgrows its groups) is also appended to the
 * superblock's sys_chunk_array in that commit, and taken out of it in the
 * commit that deletes its items, so every superblock written names
 * exactly the SYSTEM chunks of its chunk tree: a mount reads the chunk
 * tree through them.
 *
 * Caller holds fs->alloc_lock (a change allocating) or is the commit.
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

#define MIB (1024ULL * 1024)
#define SUPER_GUARD (64ULL * 1024)	/* device bytes kept off chunks at
					 * each superblock copy */

/* Record a device range as in use (sorted insert). */
static int dev_add(struct space_info *s, u64 start, u64 len)
{
	u32 i;

	if (s->ndev == s->dev_cap) {
		u32 cap = s->dev_cap ? s->dev_cap * 2 : 16;
		struct dev_range *v = kmalloc(cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		if (s->ndev)
			memcpy(v, s->dev, s->ndev * sizeof(*v));
		kfree(s->dev);
		s->dev = v;
		s->dev_cap = cap;
	}
	for (i = s->ndev; i > 0 && s->dev[i - 1].start > start; i--)
		s->dev[i] = s->dev[i - 1];
	s->dev[i].start = start;
	s->dev[i].len = len;
	s->ndev++;
	return 0;
}

/* Read the device ranges given to chunks from the dev tree. */
int chunk_load_dev_extents(struct fs_info *fs)
{
	struct key k = { fs->devid, BTRFS_DEV_EXTENT_KEY, 0 };
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_ge(&fs->dev_root, &k, &p);
	while (ret == 0) {
		u32 size;
		const u8 *d;

		ctree_item_key(&p, &k);
		if (k.objectid != fs->devid || k.type != BTRFS_DEV_EXTENT_KEY)
			break;
		d = ctree_item_ptr(&p, &size);
		ret = dev_add(&fs->space, k.offset,
			      D_GET64(struct d_dev_extent, d, length));
		if (ret == 0)
			ret = ctree_next_item(&p);
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : 0;
}

/* Whether [start, start + len) covers a superblock copy. */
static int hits_super(u64 start, u64 len)
{
	int i;

	for (i = 0; i < BTRFS_SUPER_MIRROR_MAX; i++) {
		u64 off = super_offset(i);

		if (start < off + SUPER_GUARD && off < start + len)
			return 1;
	}
	return 0;
}

/* The lowest device offset (>= 1 MiB, MiB aligned) where len bytes are
 * free of chunks and superblocks; 0 when there is none. */
u64 chunk_find_hole(const struct fs_info *fs, u64 dev_size, u64 len)
{
	const struct space_info *s = &fs->space;
	u64 cand = MIB;
	u32 i = 0;

	for (;;) {
		if (cand + len > dev_size)
			return 0;
		while (i < s->ndev && s->dev[i].start + s->dev[i].len <= cand)
			i++;
		if (i < s->ndev && s->dev[i].start < cand + len) {
			cand = (s->dev[i].start + s->dev[i].len + MIB - 1) &
			       ~(MIB - 1);
			continue;
		}
		if (hits_super(cand, len)) {
			cand = (cand + len + MIB - 1) & ~(MIB - 1);
			continue;
		}
		return cand;
	}
}

/* Fill a chunk item for m into buf; returns its size. */
u32 chunk_item_fill(u8 *buf, const struct chunk_mapping *m, u32 sectorsize,
		    u64 devid, const u8 *dev_uuid)
{
	u32 i, size = (u32)(sizeof(struct d_chunk) +
			    m->num_stripes * sizeof(struct d_stripe));

	memset(buf, 0, size);
	D_SET64(struct d_chunk, buf, length, m->length);
	D_SET64(struct d_chunk, buf, owner, BTRFS_EXTENT_TREE_OBJECTID);
	D_SET64(struct d_chunk, buf, stripe_len, CHUNK_STRIPE_LEN);
	D_SET64(struct d_chunk, buf, type, m->type);
	D_SET32(struct d_chunk, buf, io_align, CHUNK_STRIPE_LEN);
	D_SET32(struct d_chunk, buf, io_width, CHUNK_STRIPE_LEN);
	D_SET32(struct d_chunk, buf, sector_size, sectorsize);
	D_SET16(struct d_chunk, buf, num_stripes, (u16)m->num_stripes);
	D_SET16(struct d_chunk, buf, sub_stripes, 1);
	for (i = 0; i < m->num_stripes; i++) {
		u8 *st = buf + sizeof(struct d_chunk) +
			 i * sizeof(struct d_stripe);

		D_SET64(struct d_stripe, st, devid, devid);
		D_SET64(struct d_stripe, st, offset, m->physical[i]);
		memcpy(D_WPTR(struct d_stripe, st, dev_uuid), dev_uuid,
		       BTRFS_UUID_SIZE);
	}
	return size;
}

/* Fill a DEV_EXTENT item body. */
void chunk_dev_extent_fill(u8 *buf, u64 logical, u64 len,
			   const u8 *chunk_tree_uuid)
{
	memset(buf, 0, sizeof(struct d_dev_extent));
	D_SET64(struct d_dev_extent, buf, chunk_tree,
		BTRFS_CHUNK_TREE_OBJECTID);
	D_SET64(struct d_dev_extent, buf, chunk_objectid,
		BTRFS_FIRST_CHUNK_TREE_OBJECTID);
	D_SET64(struct d_dev_extent, buf, chunk_offset, logical);
	D_SET64(struct d_dev_extent, buf, length, len);
	memcpy(D_WPTR(struct d_dev_extent, buf, chunk_tree_uuid),
	       chunk_tree_uuid, BTRFS_UUID_SIZE);
}

/* Size of a new chunk of type on a filesystem of total bytes (SYSTEM
 * at most 32 MiB, as Linux's). */
static u64 chunk_size(u64 type, u64 total)
{
	u64 max = type == BTRFS_BLOCK_GROUP_DATA ? 1024 * MIB :
		  type == BTRFS_BLOCK_GROUP_SYSTEM ? 32 * MIB : 256 * MIB;
	u64 want = type == BTRFS_BLOCK_GROUP_DATA ? total / 10 : total / 20;

	if (want > max)
		want = max;
	if (want < 8 * MIB)
		want = 8 * MIB;
	return want & ~(MIB - 1);
}

/* Find device space for every copy; 0, -ENOSPC. */
static int place_stripes(struct fs_info *fs, struct chunk_mapping *m)
{
	u64 dev_size = get_le64(&fs->super->dev_item.total_bytes);

	if (fs->space.alloc_end && fs->space.alloc_end < dev_size)
		dev_size = fs->space.alloc_end;	/* a shrink runs */
	u32 i;
	int ret;

	for (i = 0; i < m->num_stripes; i++) {
		m->physical[i] = chunk_find_hole(fs, dev_size, m->length);
		if (!m->physical[i])
			return -ENOSPC;
		ret = dev_add(&fs->space, m->physical[i], m->length);
		if (ret)
			return ret;
	}
	return 0;
}

/* Forget the device ranges of a chunk that could not be placed. */
static void unplace(struct fs_info *fs, const struct chunk_mapping *m,
		    u32 n)
{
	struct space_info *s = &fs->space;
	u32 i, j;

	for (i = 0; i < n && m->physical[i]; i++)
		for (j = 0; j < s->ndev; j++)
			if (s->dev[j].start == m->physical[i]) {
				memmove(&s->dev[j], &s->dev[j + 1],
					(s->ndev - j - 1) * sizeof(*s->dev));
				s->ndev--;
				break;
			}
}

/* The profile bits new chunks of type (DATA, METADATA, SYSTEM) get.
 * Caller holds fs->alloc_lock or is the commit. */
u64 chunk_profile(const struct fs_info *fs, u64 type)
{
	switch (type) {
	case BTRFS_BLOCK_GROUP_DATA: return fs->space.data_profile;
	case BTRFS_BLOCK_GROUP_SYSTEM: return fs->space.sys_profile;
	default: return fs->space.meta_profile;
	}
}

static const char *type_name(u64 type)
{
	switch (type) {
	case BTRFS_BLOCK_GROUP_DATA: return "data";
	case BTRFS_BLOCK_GROUP_SYSTEM: return "system";
	default: return "metadata";
	}
}

/*
 * Make a new chunk of type (DATA, METADATA or SYSTEM) with that type's
 * profile. Returns 0, or -ENOSPC when the device has no room (nothing
 * changed).
 */
int chunk_alloc(struct trans *t, u64 type)
{
	struct fs_info *fs = t->fs;
	const struct chunk_mapping *last = &fs->chunks.v[fs->chunks.n - 1];
	u64 prof = chunk_profile(fs, type);
	struct chunk_mapping m;
	struct block_group *bg;
	int ret = -ENOSPC;

	memset(&m, 0, sizeof(m));
	m.logical = last->logical + last->length;
	m.type = type | prof;
	m.num_stripes = prof & BTRFS_BLOCK_GROUP_DUP ? 2 : 1;
	for (m.length = chunk_size(type, get_le64(&fs->super->total_bytes));
	     m.length >= MIB; m.length /= 2) {
		memset(m.physical, 0, sizeof(m.physical));
		ret = place_stripes(fs, &m);
		if (ret == 0)
			break;
		unplace(fs, &m, m.num_stripes);
	}
	if (ret)
		return ret;
	ret = volumes_add_chunk(fs, &m);
	if (ret == 0)
		ret = bg_add(fs, &m, 0, &bg);
	if (ret == 0)
		ret = bg_init_free(fs, bg);
	if (ret) {
		trans_abort(t, ret);
		return ret;
	}
	bg->is_new = 1;
	fs->dev_bytes_used += m.length * m.num_stripes;
	pr_info("new %s chunk at %llu, %llu MiB (%s)", type_name(type),
		(unsigned long long)m.logical,
		(unsigned long long)(m.length / MIB),
		volumes_profile_name(m.type));
	return 0;
}

/* Set the device item's bytes_used and total_bytes in the chunk tree
 * from fs->dev_bytes_used and the superblock's copy of the item. */
int chunk_write_dev_item(struct trans *t)
{
	struct fs_info *fs = t->fs;
	struct key k = { BTRFS_DEV_ITEMS_OBJECTID, BTRFS_DEV_ITEM_KEY,
			 fs->devid };
	struct ctree_path p;
	u32 size;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(t, &fs->chunk_root, &k, &p, 0);
	if (ret == 0) {
		u8 *item = ctree_item_ptr_w(&p, &size);

		D_SET64(struct d_dev_item, item, bytes_used,
			fs->dev_bytes_used);
		D_SET64(struct d_dev_item, item, total_bytes,
			D_GET64(struct d_dev_item, &fs->super->dev_item,
				total_bytes));
	}
	ctree_path_release(&p);
	return ret == 1 ? -EUCLEAN : ret;
}

/* Append SYSTEM chunk k (item chunk of size bytes) to the superblock's
 * sys_chunk_array. Returns 0, or -EFBIG when the array is full. */
static int sys_array_add(struct fs_info *fs, const struct key *k,
			 const u8 *chunk, u32 size)
{
	struct d_super_block *sb = fs->super;
	u32 used = get_le32(&sb->sys_chunk_array_size);

	if (used + sizeof(struct d_key) + size >
	    BTRFS_SYSTEM_CHUNK_ARRAY_SIZE) {
		pr_err("no room for SYSTEM chunk %llu in the superblock's "
		       "sys_chunk_array (%u bytes used)",
		       (unsigned long long)k->offset, used);
		return -EFBIG;
	}
	key_to_disk(sb->sys_chunk_array + used, k);
	memcpy(sb->sys_chunk_array + used + sizeof(struct d_key), chunk, size);
	put_le32(&sb->sys_chunk_array_size,
		 used + (u32)sizeof(struct d_key) + size);
	return 0;
}

/* Take SYSTEM chunk logical out of the superblock's sys_chunk_array.
 * Returns 0, or -EUCLEAN when it is not there or is the last one. */
static int sys_array_remove(struct fs_info *fs, u64 logical)
{
	struct d_super_block *sb = fs->super;
	u8 *a = sb->sys_chunk_array;
	u32 size = get_le32(&sb->sys_chunk_array_size), pos = 0, len;
	struct key k;

	for (; pos < size; pos += len) {
		key_from_disk(&k, a + pos);
		len = (u32)(sizeof(struct d_key) + sizeof(struct d_chunk) +
			    D_GET16(struct d_chunk, a + pos +
				    sizeof(struct d_key), num_stripes) *
			    sizeof(struct d_stripe));
		if (k.offset == logical)
			break;
	}
	if (pos >= size || pos + len > size || len == size) {
		pr_err("SYSTEM chunk %llu: not removable from the "
		       "superblock's sys_chunk_array",
		       (unsigned long long)logical);
		return -EUCLEAN;
	}
	memmove(a + pos, a + pos + len, size - pos - len);
	memset(a + size - len, 0, len);
	put_le32(&sb->sys_chunk_array_size, size - len);
	return 0;
}

/* Insert the on-disk items of a block group made in this transaction. */
int chunk_insert_items(struct trans *t, struct block_group *bg)
{
	struct fs_info *fs = t->fs;
	const struct chunk_mapping *m = volumes_lookup(fs, bg->start, 1);
	u8 buf[sizeof(struct d_chunk) + CHUNK_MAX_STRIPES *
	       sizeof(struct d_stripe)];
	struct key k = { BTRFS_FIRST_CHUNK_TREE_OBJECTID, BTRFS_CHUNK_ITEM_KEY,
			 bg->start };
	u32 size, i;
	int ret;

	size = chunk_item_fill(buf, m, fs->sectorsize, fs->devid,
			       fs->super->dev_item.uuid);
	ret = ctree_insert_item(t, &fs->chunk_root, &k, buf, size);
	if (ret == 0 && (bg->flags & BTRFS_BLOCK_GROUP_SYSTEM))
		ret = sys_array_add(fs, &k, buf, size);
	for (i = 0; i < m->num_stripes && ret == 0; i++) {
		struct key dk = { fs->devid, BTRFS_DEV_EXTENT_KEY,
				  m->physical[i] };

		chunk_dev_extent_fill(buf, m->logical, m->length,
				      fs->chunk_tree_uuid);
		ret = ctree_insert_item(t, &fs->dev_root, &dk, buf,
					sizeof(struct d_dev_extent));
	}
	if (ret == 0)
		ret = chunk_write_dev_item(t);
	if (ret == 0) {
		struct key bk = { bg->start, BTRFS_BLOCK_GROUP_ITEM_KEY,
				  bg->length };

		memset(buf, 0, sizeof(struct d_block_group_item));
		D_SET64(struct d_block_group_item, buf, used, bg->used);
		D_SET64(struct d_block_group_item, buf, chunk_objectid,
			BTRFS_FIRST_CHUNK_TREE_OBJECTID);
		D_SET64(struct d_block_group_item, buf, flags, bg->flags);
		ret = ctree_insert_item(t, &fs->extent_root, &bk, buf,
					sizeof(struct d_block_group_item));
	}
	if (ret == 0 && fs->fst_root.bytenr)
		ret = fst_add_block_group(t, bg);
	return ret;
}

/*
 * Delete the on-disk items of empty block group bg (relocated): its
 * block group item, free-space items, device extents and chunk item,
 * and count its device space free in the device item. The group stays
 * in memory (read-only, not dirty) until the commit is on disk; then
 * chunk_forget() drops it. Caller is inside the commit.
 */
int chunk_remove_items(struct trans *t, struct block_group *bg)
{
	struct fs_info *fs = t->fs;
	const struct chunk_mapping *m = volumes_lookup(fs, bg->start, 1);
	struct key k = { bg->start, BTRFS_BLOCK_GROUP_ITEM_KEY, bg->length };
	u32 i;
	int ret;

	if (!m || bg->used)
		return -EUCLEAN;
	ret = ctree_del_key(t, &fs->extent_root, &k);
	if (ret == 0 && fs->fst_root.bytenr)
		ret = fst_remove_block_group(t, bg);
	for (i = 0; i < m->num_stripes && ret == 0; i++) {
		struct key dk = { fs->devid, BTRFS_DEV_EXTENT_KEY,
				  m->physical[i] };

		ret = ctree_del_key(t, &fs->dev_root, &dk);
	}
	if (ret == 0) {
		struct key ck = { BTRFS_FIRST_CHUNK_TREE_OBJECTID,
				  BTRFS_CHUNK_ITEM_KEY, bg->start };

		ret = ctree_del_key(t, &fs->chunk_root, &ck);
	}
	if (ret == 0 && (bg->flags & BTRFS_BLOCK_GROUP_SYSTEM))
		ret = sys_array_remove(fs, bg->start);
	if (ret == 0) {
		fs->dev_bytes_used -= m->length * m->num_stripes;
		ret = chunk_write_dev_item(t);
	}
	bg->dirty = 0;
	return ret;
}

/*
 * Forget the chunk at logical whose items chunk_remove_items() deleted,
 * once that commit is on disk: its device ranges, block group and
 * mapping. Caller holds fs->alloc_lock.
 */
void chunk_forget(struct fs_info *fs, u64 logical)
{
	const struct chunk_mapping *m = volumes_lookup(fs, logical, 1);
	struct chunk_mapping copy;

	if (!m)
		return;
	copy = *m;
	unplace(fs, &copy, copy.num_stripes);
	bg_remove(fs, logical);
	volumes_remove_chunk(fs, logical);
}
