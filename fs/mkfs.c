/*
 * mkfs: write a fresh single-device btrfs, the way mkfs.btrfs does by
 * default: features mixed-backref, big-metadata, extended-iref,
 * skinny-metadata and no-holes (either left off when asked, the defaults
 * before btrfs-progs 5.15), the free-space tree, crc32c (or the --csum
 * type asked), 4 KiB sectors, 16 KiB nodes unless asked, metadata (and the
 * system chunk) DUP unless asked single, data single.
 *
 * Layout: three chunks, logical addresses from 1 MiB up — SYSTEM (4 MiB,
 * holding the chunk tree), METADATA (a tenth of the device, 8..256 MiB)
 * and DATA (a tenth, 8 MiB..1 GiB) — placed on the device from 1 MiB up,
 * clear of the superblock copies (chunk_find_hole). Every tree starts as
 * one leaf at generation 1, built in memory with the same leaf primitives
 * the write path uses and written to every copy of its chunk:
 *   chunk tree: device item, three chunk items;
 *   root tree:  root items of the extent, dev, fs, csum, free-space and
 *               data-relocation trees, and the root tree directory (6)
 *               with its "default" entry pointing at the top subvolume;
 *   extent tree: a METADATA_ITEM (without skinny metadata an EXTENT_ITEM
 *               and a d_tree_block_info) with a TREE_BLOCK_REF for each
 *               of the eight tree blocks, and the three block group items;
 *   dev tree:   device statistics and one DEV_EXTENT per chunk copy;
 *   fs tree and data-relocation tree: root directory 256;
 *   csum tree:  empty;
 *   free-space tree: each block group's info and free extents.
 * The superblock copies go last, after a flush, then another flush.
 *
 * Nothing needs to be mounted; the device must not be in use.
 */
#include <ghee/errno.h>
#include <stdio.h>

#include <ghee/alloc.h>
#include <ghee/blk.h>
#include <ghee/log.h>
#include <ghee/time.h>

#include "csum_type.h"
#include "chunk.h"
#include "ctree_write.h"
#include "dir.h"
#include "internal.h"
#include "fs.h"
#include "fs_info.h"
#include "super.h"

#define MIB (1024ULL * 1024)
#define MKFS_MIN_BYTES (40 * MIB)
#define NBLOCKS 8	/* tree blocks mkfs writes */
#define SYS_CHUNK (4 * MIB)

/* Tree blocks mkfs makes, in metadata-chunk order after the chunk root. */
enum { B_CHUNK, B_ROOT, B_EXTENT, B_DEV, B_FS, B_CSUM, B_FST, B_RELOC };

static const u64 block_owner[NBLOCKS] = {
	BTRFS_CHUNK_TREE_OBJECTID, BTRFS_ROOT_TREE_OBJECTID,
	BTRFS_EXTENT_TREE_OBJECTID, BTRFS_DEV_TREE_OBJECTID,
	BTRFS_FS_TREE_OBJECTID, BTRFS_CSUM_TREE_OBJECTID,
	BTRFS_FREE_SPACE_TREE_OBJECTID, BTRFS_DATA_RELOC_TREE_OBJECTID,
};

/* Everything mkfs decides before writing. */
struct mkfs {
	struct fs_info fs;		/* geometry, uuids, space (scratch) */
	struct blkdev *dev;
	u64 size;			/* filesystem bytes */
	u64 now;			/* wall clock seconds */
	u8 fsid[BTRFS_FSID_SIZE], dev_uuid[BTRFS_UUID_SIZE];
	u8 subvol_uuid[BTRFS_UUID_SIZE];
	struct chunk_mapping chunk[3];	/* SYSTEM, METADATA, DATA */
	u64 block[NBLOCKS];		/* logical address of each tree */
	struct tree_block leaf[NBLOCKS];
};

/* Random bytes for UUIDs: xorshift seeded from the clocks. */
static void random_bytes(u8 *out, u32 n)
{
	static u64 state;
	u32 i;

	if (!state)
		state = time_ns() ^ (time_wall_sec() << 20) ^
			(u64)(uintptr_t)&state;
	for (i = 0; i < n; i++) {
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		out[i] = (u8)(state >> 24);
	}
}

/* A random (version 4) UUID, for mkfs and for new subvolumes. */
void fs_uuid_generate(u8 *u)
{
	random_bytes(u, BTRFS_UUID_SIZE);
	u[6] = (u8)((u[6] & 0x0f) | 0x40);	/* version 4 */
	u[8] = (u8)((u[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
}

/* Insert an item with data into leaf b at its place in key order. */
static void put(struct tree_block *b, u64 objectid, u8 type, u64 offset,
		const void *data, u32 size)
{
	struct key k = { objectid, type, offset };
	int slot;

	ctree_bin_search(b, &k, &slot);
	leaf_insert_item(b, (u32)slot, &k, size);
	if (size)
		memcpy(tb_item_data_w(b, slot), data, size);
}

/* Record a device range (the scratch array has room for six). */
static void add_sorted(struct space_info *sp, u64 start, u64 len)
{
	u32 i;

	for (i = sp->ndev; i > 0 && sp->dev[i - 1].start > start; i--)
		sp->dev[i] = sp->dev[i - 1];
	sp->dev[i].start = start;
	sp->dev[i].len = len;
	sp->ndev++;
}

/* Choose chunk sizes and device places. */
static int plan_chunks(struct mkfs *m, int meta_dup)
{
	u64 tenth = (m->size / 10) & ~(MIB - 1);
	u64 sizes[3] = { SYS_CHUNK, tenth, tenth };
	u64 types[3] = { BTRFS_BLOCK_GROUP_SYSTEM, BTRFS_BLOCK_GROUP_METADATA,
			 BTRFS_BLOCK_GROUP_DATA };
	u64 logical = MIB;
	int i;
	u32 s;

	sizes[1] = sizes[1] < 8 * MIB ? 8 * MIB :
		   sizes[1] > 256 * MIB ? 256 * MIB : sizes[1];
	sizes[2] = sizes[2] < 8 * MIB ? 8 * MIB :
		   sizes[2] > 1024 * MIB ? 1024 * MIB : sizes[2];
	for (i = 0; i < 3; i++) {
		struct chunk_mapping *c = &m->chunk[i];

		c->logical = logical;
		c->length = sizes[i];
		c->num_stripes = i < 2 && meta_dup ? 2 : 1;
		c->type = types[i] | (c->num_stripes == 2 ?
				      BTRFS_BLOCK_GROUP_DUP : 0);
		for (s = 0; s < c->num_stripes; s++) {
			struct space_info *sp = &m->fs.space;

			c->physical[s] = chunk_find_hole(&m->fs, m->size,
							 c->length);
			if (!c->physical[s])
				return -ENOSPC;
			add_sorted(sp, c->physical[s], c->length);
		}
		logical += c->length;
	}
	return 0;
}

/* Fill the header of tree block i. */
static void init_leaf(struct mkfs *m, int i)
{
	struct tree_block *b = &m->leaf[i];
	u8 *h = b->data;

	b->start = m->block[i];
	b->len = m->fs.nodesize;
	memcpy(D_WPTR(struct d_header, h, fsid), m->fsid, BTRFS_FSID_SIZE);
	D_SET64(struct d_header, h, bytenr, b->start);
	D_SET64(struct d_header, h, flags, BTRFS_HEADER_FLAG_WRITTEN |
		(u64)BTRFS_MIXED_BACKREF_REV << BTRFS_BACKREF_REV_SHIFT);
	memcpy(D_WPTR(struct d_header, h, chunk_tree_uuid),
	       m->fs.chunk_tree_uuid, BTRFS_UUID_SIZE);
	D_SET64(struct d_header, h, generation, 1);
	D_SET64(struct d_header, h, owner, block_owner[i]);
}

static u64 dev_bytes(const struct mkfs *m)
{
	u64 sum = 0;
	int i;

	for (i = 0; i < 3; i++)
		sum += m->chunk[i].length * m->chunk[i].num_stripes;
	return sum;
}

static void fill_dev_item(const struct mkfs *m, u8 *d)
{
	memset(d, 0, sizeof(struct d_dev_item));
	D_SET64(struct d_dev_item, d, devid, 1);
	D_SET64(struct d_dev_item, d, total_bytes, m->size);
	D_SET64(struct d_dev_item, d, bytes_used, dev_bytes(m));
	D_SET32(struct d_dev_item, d, io_align, m->fs.sectorsize);
	D_SET32(struct d_dev_item, d, io_width, m->fs.sectorsize);
	D_SET32(struct d_dev_item, d, sector_size, m->fs.sectorsize);
	memcpy(D_WPTR(struct d_dev_item, d, uuid), m->dev_uuid,
	       BTRFS_UUID_SIZE);
	memcpy(D_WPTR(struct d_dev_item, d, fsid), m->fsid, BTRFS_FSID_SIZE);
}

static void build_chunk_tree(struct mkfs *m)
{
	u8 buf[sizeof(struct d_chunk) + 2 * sizeof(struct d_stripe)];
	u32 size;
	int i;

	fill_dev_item(m, buf);
	put(&m->leaf[B_CHUNK], BTRFS_DEV_ITEMS_OBJECTID, BTRFS_DEV_ITEM_KEY, 1,
	    buf, sizeof(struct d_dev_item));
	for (i = 0; i < 3; i++) {
		size = chunk_item_fill(buf, &m->chunk[i], m->fs.sectorsize, 1,
				       m->dev_uuid);
		put(&m->leaf[B_CHUNK], BTRFS_FIRST_CHUNK_TREE_OBJECTID,
		    BTRFS_CHUNK_ITEM_KEY, m->chunk[i].logical, buf, size);
	}
}

static void build_dev_tree(struct mkfs *m)
{
	u8 stats[BTRFS_DEV_STAT_VALUES_MAX * 8] = { 0 };
	u8 buf[sizeof(struct d_dev_extent)];
	u32 i, s, k;

	put(&m->leaf[B_DEV], BTRFS_DEV_STATS_OBJECTID,
	    BTRFS_PERSISTENT_ITEM_KEY, 1, stats, sizeof(stats));
	/* DEV_EXTENT keys sort by physical offset. */
	for (k = 0; k < m->fs.space.ndev; k++) {
		u64 phys = m->fs.space.dev[k].start;

		for (i = 0; i < 3; i++)
			for (s = 0; s < m->chunk[i].num_stripes; s++) {
				if (m->chunk[i].physical[s] != phys)
					continue;
				chunk_dev_extent_fill(buf, m->chunk[i].logical,
						      m->chunk[i].length,
						      m->fs.chunk_tree_uuid);
				put(&m->leaf[B_DEV], 1, BTRFS_DEV_EXTENT_KEY,
				    phys, buf, sizeof(buf));
			}
	}
}

static void set_time(u8 *ts, u64 sec)
{
	D_SET64(struct d_timespec, ts, sec, sec);
	D_SET32(struct d_timespec, ts, nsec, 0);
}

/* An inode item for a directory made by mkfs. */
static void dir_inode(const struct mkfs *m, u8 *ii, u64 nbytes)
{
	memset(ii, 0, sizeof(struct d_inode_item));
	D_SET64(struct d_inode_item, ii, generation, 1);
	D_SET64(struct d_inode_item, ii, transid, 1);
	D_SET64(struct d_inode_item, ii, nbytes, nbytes);
	D_SET32(struct d_inode_item, ii, nlink, 1);
	D_SET32(struct d_inode_item, ii, mode, 040755);
	set_time(D_WPTR(struct d_inode_item, ii, atime), m->now);
	set_time(D_WPTR(struct d_inode_item, ii, ctime), m->now);
	set_time(D_WPTR(struct d_inode_item, ii, mtime), m->now);
	set_time(D_WPTR(struct d_inode_item, ii, otime), m->now);
}

/* A tree's root item pointing at block i. */
static void root_item(const struct mkfs *m, int i, u8 *ri)
{
	int subvol = i == B_FS || i == B_RELOC;

	memset(ri, 0, sizeof(struct d_root_item));
	dir_inode(m, ri, m->fs.nodesize);
	D_SET64(struct d_inode_item, ri, size, 3);
	D_SET64(struct d_root_item, ri, generation, 1);
	D_SET64(struct d_root_item, ri, root_dirid,
		subvol ? BTRFS_FIRST_FREE_OBJECTID : 0);
	D_SET64(struct d_root_item, ri, bytenr, m->block[i]);
	D_SET64(struct d_root_item, ri, bytes_used, m->fs.nodesize);
	D_SET32(struct d_root_item, ri, refs, 1);
	D_SET64(struct d_root_item, ri, generation_v2, 1);
	if (i == B_FS) {
		D_SET64(struct d_inode_item, ri, flags,
			BTRFS_INODE_ROOT_ITEM_INIT);
		memcpy(D_WPTR(struct d_root_item, ri, uuid), m->subvol_uuid,
		       BTRFS_UUID_SIZE);
		D_SET64(struct d_root_item, ri, ctransid, 1);
		set_time(D_WPTR(struct d_root_item, ri, ctime), m->now);
		set_time(D_WPTR(struct d_root_item, ri, otime), m->now);
	}
}

static void build_root_tree(struct mkfs *m)
{
	static const int order[] = { B_EXTENT, B_DEV, B_FS };
	u8 buf[sizeof(struct d_root_item)];
	u8 ref[sizeof(struct d_inode_ref) + 2];
	u8 di[sizeof(struct d_dir_item) + 7];
	struct tree_block *b = &m->leaf[B_ROOT];
	struct key loc = { BTRFS_FS_TREE_OBJECTID, BTRFS_ROOT_ITEM_KEY,
			   (u64)-1 };
	u32 i;

	for (i = 0; i < 3; i++) {
		root_item(m, order[i], buf);
		put(b, block_owner[order[i]], BTRFS_ROOT_ITEM_KEY, 0, buf,
		    sizeof(buf));
	}
	dir_inode(m, buf, m->fs.nodesize);
	put(b, BTRFS_ROOT_TREE_DIR_OBJECTID, BTRFS_INODE_ITEM_KEY, 0, buf,
	    sizeof(struct d_inode_item));
	D_SET64(struct d_inode_ref, ref, index, 0);
	D_SET16(struct d_inode_ref, ref, name_len, 2);
	memcpy(ref + sizeof(struct d_inode_ref), "..", 2);
	put(b, BTRFS_ROOT_TREE_DIR_OBJECTID, BTRFS_INODE_REF_KEY,
	    BTRFS_ROOT_TREE_DIR_OBJECTID, ref, sizeof(ref));
	memset(di, 0, sizeof(di));
	key_to_disk(D_WPTR(struct d_dir_item, di, location), &loc);
	D_SET16(struct d_dir_item, di, name_len, 7);
	D_SET8(struct d_dir_item, di, type, BTRFS_FT_DIR);
	memcpy(di + sizeof(struct d_dir_item), "default", 7);
	put(b, BTRFS_ROOT_TREE_DIR_OBJECTID, BTRFS_DIR_ITEM_KEY,
	    dir_name_hash("default", 7), di, sizeof(di));
	root_item(m, B_CSUM, buf);
	put(b, BTRFS_CSUM_TREE_OBJECTID, BTRFS_ROOT_ITEM_KEY, 0, buf,
	    sizeof(buf));
	root_item(m, B_FST, buf);
	put(b, BTRFS_FREE_SPACE_TREE_OBJECTID, BTRFS_ROOT_ITEM_KEY, 0, buf,
	    sizeof(buf));
	root_item(m, B_RELOC, buf);
	put(b, BTRFS_DATA_RELOC_TREE_OBJECTID, BTRFS_ROOT_ITEM_KEY, 0, buf,
	    sizeof(buf));
}

/* Root directory 256 of a subvolume tree. */
static void build_subvol_tree(struct mkfs *m, int i)
{
	u8 ii[sizeof(struct d_inode_item)];
	u8 ref[sizeof(struct d_inode_ref) + 2];

	dir_inode(m, ii, m->fs.nodesize);
	put(&m->leaf[i], BTRFS_FIRST_FREE_OBJECTID, BTRFS_INODE_ITEM_KEY, 0,
	    ii, sizeof(ii));
	D_SET64(struct d_inode_ref, ref, index, 0);
	D_SET16(struct d_inode_ref, ref, name_len, 2);
	memcpy(ref + sizeof(struct d_inode_ref), "..", 2);
	put(&m->leaf[i], BTRFS_FIRST_FREE_OBJECTID, BTRFS_INODE_REF_KEY,
	    BTRFS_FIRST_FREE_OBJECTID, ref, sizeof(ref));
}

/* Blocks used in chunk c (they sit at its start, in block order). */
static u64 used_in(const struct mkfs *m, int c)
{
	return c == 0 ? m->fs.nodesize :
	       c == 1 ? (u64)(NBLOCKS - 1) * m->fs.nodesize : 0;
}

static void build_extent_tree(struct mkfs *m)
{
	u8 ei[sizeof(struct d_extent_item) + sizeof(struct d_tree_block_info) +
	      9] = { 0 };
	u8 bg[sizeof(struct d_block_group_item)];
	struct tree_block *b = &m->leaf[B_EXTENT];
	int skinny = !!(m->fs.incompat &
			BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA);
	/* every block is a leaf: level 0, in the key or in the info (whose
	 * first key stays zero: readers take only the level) */
	u32 head = sizeof(struct d_extent_item) +
		   (skinny ? 0 : (u32)sizeof(struct d_tree_block_info));
	int c, i;

	for (c = 0; c < 3; c++) {
		for (i = 0; i < NBLOCKS; i++) {
			if (m->block[i] < m->chunk[c].logical ||
			    m->block[i] >= m->chunk[c].logical +
			    m->chunk[c].length)
				continue;
			D_SET64(struct d_extent_item, ei, refs, 1);
			D_SET64(struct d_extent_item, ei, generation, 1);
			D_SET64(struct d_extent_item, ei, flags,
				BTRFS_EXTENT_FLAG_TREE_BLOCK);
			ei[head] = BTRFS_TREE_BLOCK_REF_KEY;
			put_le64(ei + head + 1, block_owner[i]);
			put(b, m->block[i], skinny ? BTRFS_METADATA_ITEM_KEY :
			    BTRFS_EXTENT_ITEM_KEY, skinny ? 0 : m->fs.nodesize,
			    ei, head + 9);
		}
		D_SET64(struct d_block_group_item, bg, used, used_in(m, c));
		D_SET64(struct d_block_group_item, bg, chunk_objectid,
			BTRFS_FIRST_CHUNK_TREE_OBJECTID);
		D_SET64(struct d_block_group_item, bg, flags, m->chunk[c].type);
		put(b, m->chunk[c].logical, BTRFS_BLOCK_GROUP_ITEM_KEY,
		    m->chunk[c].length, bg, sizeof(bg));
	}
}

static void build_fst(struct mkfs *m)
{
	u8 info[sizeof(struct d_free_space_info)];
	int c;

	for (c = 0; c < 3; c++) {
		u64 used = used_in(m, c);

		D_SET32(struct d_free_space_info, info, extent_count, 1);
		D_SET32(struct d_free_space_info, info, flags, 0);
		put(&m->leaf[B_FST], m->chunk[c].logical,
		    BTRFS_FREE_SPACE_INFO_KEY, m->chunk[c].length, info,
		    sizeof(info));
		put(&m->leaf[B_FST], m->chunk[c].logical + used,
		    BTRFS_FREE_SPACE_EXTENT_KEY, m->chunk[c].length - used,
		    NULL, 0);
	}
}

/* The superblock of the new filesystem (bytenr and csum set per copy). */
static void build_super(const struct mkfs *m, struct d_super_block *sb,
			const char *label)
{
	u8 *a = sb->sys_chunk_array;
	struct key k = { BTRFS_FIRST_CHUNK_TREE_OBJECTID, BTRFS_CHUNK_ITEM_KEY,
			 m->chunk[0].logical };
	u32 n;

	memset(sb, 0, sizeof(*sb));
	memcpy(sb->fsid, m->fsid, BTRFS_FSID_SIZE);
	put_le64(&sb->flags, BTRFS_HEADER_FLAG_WRITTEN);
	put_le64(&sb->magic, BTRFS_MAGIC);
	put_le64(&sb->generation, 1);
	put_le64(&sb->root, m->block[B_ROOT]);
	put_le64(&sb->chunk_root, m->block[B_CHUNK]);
	put_le64(&sb->total_bytes, m->size);
	put_le64(&sb->bytes_used, (u64)NBLOCKS * m->fs.nodesize);
	put_le64(&sb->root_dir_objectid, BTRFS_ROOT_TREE_DIR_OBJECTID);
	put_le64(&sb->num_devices, 1);
	put_le32(&sb->sectorsize, m->fs.sectorsize);
	put_le32(&sb->nodesize, m->fs.nodesize);
	put_le32(&sb->unused_leafsize, m->fs.nodesize);
	put_le32(&sb->stripesize, m->fs.sectorsize);
	key_to_disk(a, &k);
	n = chunk_item_fill(a + sizeof(struct d_key), &m->chunk[0],
			    m->fs.sectorsize, 1, m->dev_uuid);
	put_le32(&sb->sys_chunk_array_size, (u32)sizeof(struct d_key) + n);
	put_le64(&sb->chunk_root_generation, 1);
	put_le64(&sb->compat_ro_flags,
		 BTRFS_FEATURE_COMPAT_RO_FREE_SPACE_TREE |
		 BTRFS_FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID);
	put_le64(&sb->incompat_flags, m->fs.incompat);
	put_le16(&sb->csum_type, m->fs.csum_type);
	fill_dev_item(m, (u8 *)&sb->dev_item);
	if (label)
		snprintf(sb->label, sizeof(sb->label), "%s", label);
}

/* Write tree block i to every copy of its chunk. */
static int write_block(struct mkfs *m, int i)
{
	const struct chunk_mapping *c = &m->chunk[i == B_CHUNK ? 0 : 1];
	u32 s;
	int ret;

	tree_block_csum(&m->fs, &m->leaf[i]);
	for (s = 0; s < c->num_stripes; s++) {
		ret = blk_write(m->dev, c->physical[s] +
				(m->block[i] - c->logical),
				m->leaf[i].data, m->fs.nodesize);
		if (ret)
			return ret;
	}
	return 0;
}

/* Write the trees, flush, the superblock copies, flush. */
static int write_all(struct mkfs *m, struct d_super_block *sb)
{
	u8 *zero = kzalloc(MIB);
	int i, ret;

	if (!zero)
		return -ENOMEM;
	/* Wipe the boot area and any older superblock that might remain. */
	ret = blk_write(m->dev, 0, zero, MIB);
	for (i = 1; ret == 0 && i < BTRFS_SUPER_MIRROR_MAX; i++)
		if (super_offset(i) + BTRFS_SUPER_INFO_SIZE <= m->dev->size)
			ret = blk_write(m->dev, super_offset(i), zero,
					BTRFS_SUPER_INFO_SIZE);
	kfree(zero);
	for (i = 0; ret == 0 && i < NBLOCKS; i++)
		ret = write_block(m, i);
	if (ret == 0)
		ret = blk_flush(m->dev);
	for (i = 0; ret == 0 && i < BTRFS_SUPER_MIRROR_MAX; i++) {
		u64 off = super_offset(i);

		if (off + BTRFS_SUPER_INFO_SIZE > m->size)
			break;
		put_le64(&sb->bytenr, off);
		csum_header_set(m->fs.csum_type, (u8 *)sb,
				BTRFS_SUPER_INFO_SIZE);
		ret = blk_write(m->dev, off, sb, BTRFS_SUPER_INFO_SIZE);
	}
	return ret ? ret : blk_flush(m->dev);
}

/* Check the options; fill geometry. */
static int setup(struct mkfs *m, struct blkdev *dev,
		 const struct fs_mkfs_opts *o, u64 incompat_off)
{
	u32 ns = o->nodesize ? o->nodesize : 16384;
	int i;

	if (ns < BTRFS_MIN_NODESIZE || ns > BTRFS_MAX_NODESIZE ||
	    (ns & (ns - 1))) {
		pr_err("mkfs: node size %u: want a power of two from 4096 to "
		       "65536", ns);
		return -EINVAL;
	}
	if (o->label && strlen(o->label) >= BTRFS_LABEL_SIZE) {
		pr_err("mkfs: label longer than %d bytes", BTRFS_LABEL_SIZE - 1);
		return -EINVAL;
	}
	if (o->csum && csum_type_parse(o->csum, &m->fs.csum_type)) {
		pr_err("mkfs: unknown checksum type '%s': want crc32c, xxhash, "
		       "sha256 or blake2", o->csum);
		return -EINVAL;
	}
	if (incompat_off & ~(BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA |
			     BTRFS_FEATURE_INCOMPAT_NO_HOLES)) {
		pr_err("mkfs: only skinny-metadata and no-holes can be left "
		       "off");
		return -EINVAL;
	}
	m->fs.incompat = (BTRFS_FEATURE_INCOMPAT_MIXED_BACKREF |
			  BTRFS_FEATURE_INCOMPAT_BIG_METADATA |
			  BTRFS_FEATURE_INCOMPAT_EXTENDED_IREF |
			  BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA |
			  BTRFS_FEATURE_INCOMPAT_NO_HOLES) & ~incompat_off;
	if (dev->read_only)
		return -EROFS;
	m->dev = dev;
	m->size = dev->size & ~(u64)4095;
	if (m->size < MKFS_MIN_BYTES) {
		pr_err("mkfs: %s has %llu bytes; at least %llu are needed",
		       dev->name, (unsigned long long)dev->size,
		       (unsigned long long)MKFS_MIN_BYTES);
		return -ENOSPC;
	}
	m->fs.nodesize = ns;
	m->fs.sectorsize = 4096;
	m->fs.csum_size = csum_type_size(m->fs.csum_type);
	m->now = time_wall_sec();
	fs_uuid_generate(m->fsid);
	fs_uuid_generate(m->dev_uuid);
	fs_uuid_generate(m->subvol_uuid);
	fs_uuid_generate(m->fs.chunk_tree_uuid);
	m->fs.space.dev = kzalloc(8 * sizeof(*m->fs.space.dev));
	for (i = 0; i < NBLOCKS; i++) {
		m->leaf[i].data = kzalloc(ns);
		if (!m->leaf[i].data)
			return -ENOMEM;
	}
	return m->fs.space.dev ? 0 : -ENOMEM;
}

/*
 * Write a new filesystem on dev with options o (see struct fs_mkfs_opts),
 * without the default features in incompat_off (fs.h). Returns 0, -EINVAL
 * (bad option), -ENOSPC (device too small), -EROFS, or the device's
 * error; a message says which.
 */
int fs_mkfs_features(struct blkdev *dev, const struct fs_mkfs_opts *o,
		     uint64_t incompat_off)
{
	struct mkfs *m = kzalloc(sizeof(*m));
	struct d_super_block *sb = kzalloc(sizeof(*sb));
	int i, ret = m && sb ? setup(m, dev, o, incompat_off) : -ENOMEM;

	if (ret == 0)
		ret = plan_chunks(m, !o->metadata_single);
	if (ret == -ENOSPC)
		pr_err("mkfs: %s is too small for the chunks", dev->name);
	if (ret == 0) {
		m->block[B_CHUNK] = m->chunk[0].logical;
		for (i = B_ROOT; i < NBLOCKS; i++)
			m->block[i] = m->chunk[1].logical +
				      (u64)(i - 1) * m->fs.nodesize;
		for (i = 0; i < NBLOCKS; i++)
			init_leaf(m, i);
		build_chunk_tree(m);
		build_root_tree(m);
		build_extent_tree(m);
		build_dev_tree(m);
		build_subvol_tree(m, B_FS);
		build_subvol_tree(m, B_RELOC);
		build_fst(m);
		build_super(m, sb, o->label);
		ret = write_all(m, sb);
		if (ret)
			pr_err("mkfs: writing %s failed: %d", dev->name, ret);
	}
	for (i = 0; m && i < NBLOCKS; i++)
		kfree(m->leaf[i].data);
	if (m)
		kfree(m->fs.space.dev);
	kfree(m);
	kfree(sb);
	return ret;
}

/* fs_mkfs_features with every default feature. */
int fs_mkfs(struct blkdev *dev, const struct fs_mkfs_opts *o)
{
	return fs_mkfs_features(dev, o, 0);
}
