/*
 * Chunk map: btrfs addresses all metadata and data by *logical* address; a
 * chunk maps a logical range to one or more physical copies (stripes) on
 * devices. ghee handles single-device filesystems with the SINGLE (one copy)
 * and DUP (two copies on the same device) profiles, which is what mkfs.btrfs
 * makes on one device.
 *
 * Bootstrapping: the chunk tree itself lives in SYSTEM chunks, so the
 * superblock carries those chunks in sys_chunk_array as (d_key, d_chunk,
 * stripes) records. volumes_read_sys_array() loads them; then the chunk tree
 * can be read, and volumes_read_chunk_tree() adds every chunk.
 *
 * The map is a sorted array, searched by binary search. It is built during
 * mount; afterwards only the allocator adds chunks (volumes_add_chunk,
 * under fs->alloc_lock), which may move the array: so I/O copies the
 * mapping it needs under the map's spinlock (map_copy), and the pointer
 * volumes_lookup returns is for the allocator and the commit only.
 *
 * Writes go to every copy (volumes_write): DUP keeps two identical copies.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/blk.h>
#include <ghee/log.h>

#include "fs_info.h"
#include "volumes.h"
#include "writeback.h"

/* Name of the profile bits of a chunk type, as btrfs-progs prints them. */
const char *volumes_profile_name(u64 type)
{
	switch (type & BTRFS_BLOCK_GROUP_PROFILE_MASK) {
	case 0:
		return "single";
	case BTRFS_BLOCK_GROUP_DUP:
		return "DUP";
	case BTRFS_BLOCK_GROUP_RAID0:
		return "RAID0";
	case BTRFS_BLOCK_GROUP_RAID1:
		return "RAID1";
	case BTRFS_BLOCK_GROUP_RAID10:
		return "RAID10";
	case BTRFS_BLOCK_GROUP_RAID5:
		return "RAID5";
	case BTRFS_BLOCK_GROUP_RAID6:
		return "RAID6";
	case BTRFS_BLOCK_GROUP_RAID1C3:
		return "RAID1C3";
	case BTRFS_BLOCK_GROUP_RAID1C4:
		return "RAID1C4";
	default:
		return "mixed-profile";
	}
}

/*
 * Check one chunk item and turn it into a mapping. where names the source
 * ("sys_chunk_array" or "chunk tree") in messages. Returns 0, -EUCLEAN for a
 * malformed item, -EOPNOTSUPP for a profile or device layout ghee lacks.
 */
static int chunk_parse(const struct fs_info *fs, const struct key *k,
		       const u8 *p, u32 size, const char *where,
		       struct chunk_mapping *m)
{
	u64 align = fs->sectorsize;
	u32 i, n;

	if (size < sizeof(struct d_chunk)) {
		pr_err("%s: chunk %llu: item too small (%u bytes)", where,
		       (unsigned long long)k->offset, size);
		return -EUCLEAN;
	}
	n = D_GET16(struct d_chunk, p, num_stripes);
	m->logical = k->offset;
	m->length = D_GET64(struct d_chunk, p, length);
	m->type = D_GET64(struct d_chunk, p, type);
	if (n == 0 || size != sizeof(struct d_chunk) + n *
	    sizeof(struct d_stripe)) {
		pr_err("%s: chunk %llu: %u stripes do not fit item size %u",
		       where, (unsigned long long)k->offset, n, size);
		return -EUCLEAN;
	}
	if (m->length == 0 || m->length % align || m->logical % align ||
	    m->logical + m->length < m->logical ||
	    !(m->type & BTRFS_BLOCK_GROUP_TYPE_MASK)) {
		pr_err("%s: chunk %llu: bad length %llu or type 0x%llx", where,
		       (unsigned long long)k->offset,
		       (unsigned long long)m->length,
		       (unsigned long long)m->type);
		return -EUCLEAN;
	}
	switch (m->type & BTRFS_BLOCK_GROUP_PROFILE_MASK) {
	case 0:
		if (n != 1)
			goto bad_profile;
		break;
	case BTRFS_BLOCK_GROUP_DUP:
		if (n != 2)
			goto bad_profile;
		break;
	default:
		pr_err("%s: chunk %llu: profile %s is not supported (only "
		       "single and DUP)", where, (unsigned long long)k->offset,
		       volumes_profile_name(m->type));
		return -EOPNOTSUPP;
	}
	m->num_stripes = n;
	for (i = 0; i < n; i++) {
		const u8 *s = p + sizeof(struct d_chunk) +
			      i * sizeof(struct d_stripe);
		u64 devid = D_GET64(struct d_stripe, s, devid);

		if (devid != fs->devid) {
			pr_err("%s: chunk %llu: stripe on device %llu, but "
			       "only device %llu is present", where,
			       (unsigned long long)k->offset,
			       (unsigned long long)devid,
			       (unsigned long long)fs->devid);
			return -EOPNOTSUPP;
		}
		m->physical[i] = D_GET64(struct d_stripe, s, offset);
	}
	return 0;

bad_profile:
	pr_err("%s: chunk %llu: profile %s with %u stripes", where,
	       (unsigned long long)k->offset, volumes_profile_name(m->type),
	       n);
	return -EUCLEAN;
}

/* Index of the first mapping whose end is above logical (may be map->n). */
static u32 map_find(const struct chunk_map *map, u64 logical)
{
	u32 lo = 0, hi = map->n;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;
		const struct chunk_mapping *m = &map->v[mid];

		if (m->logical + m->length <= logical)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Insert a mapping, keeping the array sorted. A chunk seen twice (sys array,
 * then chunk tree) must be identical; any other overlap is corruption.
 */
static int map_insert(struct chunk_map *map, const struct chunk_mapping *m,
		      const char *where)
{
	u32 i = map_find(map, m->logical);

	if (i < map->n && map->v[i].logical < m->logical + m->length) {
		const struct chunk_mapping *o = &map->v[i];

		if (o->logical == m->logical && o->length == m->length &&
		    o->num_stripes == m->num_stripes &&
		    !memcmp(o->physical, m->physical, sizeof(m->physical)))
			return 0;
		pr_err("%s: chunk %llu overlaps chunk %llu", where,
		       (unsigned long long)m->logical,
		       (unsigned long long)o->logical);
		return -EUCLEAN;
	}
	if (map->n == map->cap) {
		u32 cap = map->cap ? map->cap * 2 : 16;
		struct chunk_mapping *v = kmalloc(cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		if (map->n)
			memcpy(v, map->v, map->n * sizeof(*v));
		kfree(map->v);
		map->v = v;
		map->cap = cap;
	}
	memmove(&map->v[i + 1], &map->v[i], (map->n - i) * sizeof(*m));
	map->v[i] = *m;
	map->n++;
	return 0;
}

/* Add a chunk the allocator made. Caller holds fs->alloc_lock. */
int volumes_add_chunk(struct fs_info *fs, const struct chunk_mapping *m)
{
	int ret;

	spin_lock(&fs->chunks.lock);
	ret = map_insert(&fs->chunks, m, "new chunk");
	spin_unlock(&fs->chunks.lock);
	return ret;
}

/* Drop the mapping of the chunk starting at logical (its chunk item was
 * deleted and that commit is on disk). */
void volumes_remove_chunk(struct fs_info *fs, u64 logical)
{
	struct chunk_map *map = &fs->chunks;
	u32 i;

	spin_lock(&map->lock);
	for (i = 0; i < map->n; i++)
		if (map->v[i].logical == logical) {
			memmove(&map->v[i], &map->v[i + 1],
				(map->n - i - 1) * sizeof(map->v[0]));
			map->n--;
			break;
		}
	spin_unlock(&map->lock);
}

/* Parse and insert one chunk item. */
static int chunk_add(struct fs_info *fs, const struct key *k, const u8 *p,
		     u32 size, const char *where)
{
	struct chunk_mapping m;
	int ret;

	memset(&m, 0, sizeof(m));
	ret = chunk_parse(fs, k, p, size, where, &m);
	if (ret)
		return ret;
	return map_insert(&fs->chunks, &m, where);
}

/* Load the SYSTEM chunks recorded in the superblock. */
int volumes_read_sys_array(struct fs_info *fs)
{
	const struct d_super_block *sb = fs->super;
	u32 size = get_le32(&sb->sys_chunk_array_size);
	const u8 *a = sb->sys_chunk_array;
	u32 pos = 0;
	int ret;

	if (size > BTRFS_SYSTEM_CHUNK_ARRAY_SIZE || size == 0) {
		pr_err("superblock: bad sys_chunk_array_size %u", size);
		return -EUCLEAN;
	}
	while (pos < size) {
		struct key k;
		u32 n, len;

		if (size - pos < sizeof(struct d_key) + sizeof(struct d_chunk))
			goto truncated;
		key_from_disk(&k, a + pos);
		pos += sizeof(struct d_key);
		if (k.type != BTRFS_CHUNK_ITEM_KEY) {
			pr_err("superblock: sys_chunk_array has key type %u "
			       "at byte %u, want CHUNK_ITEM", k.type, pos);
			return -EUCLEAN;
		}
		n = D_GET16(struct d_chunk, a + pos, num_stripes);
		len = sizeof(struct d_chunk) + n * sizeof(struct d_stripe);
		if (len > size - pos)
			goto truncated;
		ret = chunk_add(fs, &k, a + pos, len, "sys_chunk_array");
		if (ret)
			return ret;
		pos += len;
	}
	return 0;

truncated:
	pr_err("superblock: sys_chunk_array entry at byte %u is truncated",
	       pos);
	return -EUCLEAN;
}

/* Add every CHUNK_ITEM of the chunk tree to the map. */
int volumes_read_chunk_tree(struct fs_info *fs)
{
	struct key k = { BTRFS_FIRST_CHUNK_TREE_OBJECTID,
			 BTRFS_CHUNK_ITEM_KEY, 0 };
	struct ctree_path path;
	int ret;

	ctree_path_init(&path);
	ret = ctree_search_ge(&fs->chunk_root, &k, &path);
	while (ret == 0) {
		const u8 *p;
		u32 size;

		ctree_item_key(&path, &k);
		if (k.objectid != BTRFS_FIRST_CHUNK_TREE_OBJECTID ||
		    k.type != BTRFS_CHUNK_ITEM_KEY)
			break;
		p = ctree_item_ptr(&path, &size);
		ret = chunk_add(fs, &k, p, size, "chunk tree");
		if (ret)
			break;
		ret = ctree_next_item(&path);
	}
	ctree_path_release(&path);
	return ret < 0 ? ret : 0;
}

/* The chunk holding all of [logical, logical + len), or NULL. For the
 * allocator (fs->alloc_lock held), the commit and mount. */
const struct chunk_mapping *volumes_lookup(const struct fs_info *fs,
					   u64 logical, u64 len)
{
	const struct chunk_map *map = &fs->chunks;
	u32 i = map_find(map, logical);
	const struct chunk_mapping *m;

	if (i >= map->n)
		return NULL;
	m = &map->v[i];
	if (logical < m->logical || len > m->length ||
	    logical - m->logical > m->length - len)
		return NULL;
	return m;
}

/* Copy the chunk holding all of [logical, +len) into *out, under the map's
 * lock. Returns 0, or -ENOENT when no chunk holds it. */
int volumes_map_copy(struct fs_info *fs, u64 logical, u64 len,
		     struct chunk_mapping *out)
{
	const struct chunk_mapping *m;

	spin_lock(&fs->chunks.lock);
	m = volumes_lookup(fs, logical, len);
	if (m)
		*out = *m;
	spin_unlock(&fs->chunks.lock);
	return m ? 0 : -ENOENT;
}

/* A copy of the whole map (*out, n entries; kfree it). 0 or -ENOMEM. */
int volumes_copy_all(struct fs_info *fs, struct chunk_mapping **out, u32 *n)
{
	struct chunk_map *map = &fs->chunks;

	spin_lock(&map->lock);
	*n = map->n;
	*out = kmalloc(map->n * sizeof(**out) + 1);
	if (*out)
		memcpy(*out, map->v, map->n * sizeof(**out));
	spin_unlock(&map->lock);
	return *out ? 0 : -ENOMEM;
}

/* How many copies hold logical (0 when it is not mapped). */
int volumes_num_copies(struct fs_info *fs, u64 logical)
{
	struct chunk_mapping m;

	return volumes_map_copy(fs, logical, 1, &m) ? 0 : (int)m.num_stripes;
}

static void read_end_io(struct bio *bio)
{
	complete(bio->private);
}

/*
 * Start reading len bytes at a logical address from copy `mirror`
 * (0-based) into buf; volumes_read_end waits for it. The range must lie in
 * one chunk; delayed writes to it are waited for first (writeback.c).
 * Returns 0 (then call volumes_read_end), -EINVAL for a bad mirror, -EIO
 * with a message when unmapped or past the end of the device, or the
 * error of a refused request.
 */
int volumes_read_start(struct fs_info *fs, u64 logical, int mirror,
		       void *buf, u32 len, struct volumes_read_req *req)
{
	struct chunk_mapping m;
	u64 phys;
	int ret;

	if (volumes_map_copy(fs, logical, len, &m)) {
		pr_err("logical %llu (+%u) is not in any chunk",
		       (unsigned long long)logical, len);
		return -EIO;
	}
	if (mirror < 0 || (u32)mirror >= m.num_stripes)
		return -EINVAL;
	phys = m.physical[mirror] + (logical - m.logical);
	if (phys + len > fs->dev->size || phys + len < phys) {
		pr_err("logical %llu maps to %s byte %llu, past the end of "
		       "the device (%llu bytes; image truncated?)",
		       (unsigned long long)logical, fs->dev->name,
		       (unsigned long long)phys,
		       (unsigned long long)fs->dev->size);
		return -EIO;
	}
	writeback_wait_range(fs, logical, len);
	memset(req, 0, sizeof(*req));
	req->logical = logical;
	req->vec.base = buf;
	req->vec.len = len;
	req->bio.dev = fs->dev;
	req->bio.op = BLK_OP_READ;
	req->bio.off = phys;
	req->bio.len = len;
	req->bio.vecs = &req->vec;
	req->bio.nr_vecs = 1;
	req->bio.end_io = read_end_io;
	req->bio.private = &req->done;
	completion_init(&req->done);
	ret = blk_submit(&req->bio);
	if (ret)
		pr_err("%s: read of %u bytes at %llu (logical %llu) refused: "
		       "%d", fs->dev->name, len, (unsigned long long)phys,
		       (unsigned long long)logical, ret);
	return ret;
}

/* Wait for a read volumes_read_start started. Returns 0 or the device's
 * error (logged). */
int volumes_read_end(struct fs_info *fs, struct volumes_read_req *req)
{
	int ret;

	wait_for_completion(&req->done);
	ret = req->bio.status;
	if (ret)
		pr_err("%s: read of %u bytes at %llu (logical %llu) failed: %d",
		       fs->dev->name, req->vec.len,
		       (unsigned long long)req->bio.off,
		       (unsigned long long)req->logical, ret);
	return ret;
}

/*
 * Read len bytes at a logical address from copy `mirror` (0-based): see
 * volumes_read_start.
 */
int volumes_read(struct fs_info *fs, u64 logical, int mirror, void *buf,
		 u32 len)
{
	struct volumes_read_req req;
	int ret = volumes_read_start(fs, logical, mirror, buf, len, &req);

	return ret ? ret : volumes_read_end(fs, &req);
}

/*
 * Write len bytes at a logical address to every copy. The range must lie in
 * one chunk. Returns 0, -EIO when unmapped, or the device's error (logged).
 */
int volumes_write(struct fs_info *fs, u64 logical, const void *buf, u32 len)
{
	struct chunk_mapping m;
	u32 i;
	int ret;

	if (volumes_map_copy(fs, logical, len, &m)) {
		pr_err("write to logical %llu (+%u): not in any chunk",
		       (unsigned long long)logical, len);
		return -EIO;
	}
	for (i = 0; i < m.num_stripes; i++) {
		u64 phys = m.physical[i] + (logical - m.logical);

		ret = blk_write(fs->dev, phys, buf, len);
		if (ret) {
			pr_err("%s: write of %u bytes at %llu (logical %llu) "
			       "failed: %d", fs->dev->name, len,
			       (unsigned long long)phys,
			       (unsigned long long)logical, ret);
			return ret;
		}
	}
	return 0;
}

/* Free the map's memory. */
void volumes_free(struct chunk_map *map)
{
	kfree(map->v);
	map->v = NULL;
	map->n = map->cap = 0;
}
