/*
 * The btrfs on-disk format, as far as ghee uses it. This is the only file that
 * declares on-disk structures (STYLE.md §7). Everything here is btrfs's own
 * format (Linux include/uapi/linux/btrfs_tree.h is the reference); ghee adds
 * nothing to it.
 *
 * Conventions:
 *  - On-disk structures are `struct d_*`, packed, with explicit little-endian
 *    fields (le16/le32/le64 are plain integer types holding little-endian
 *    bytes). Read them only through get_le*() / the d_* helpers below, which
 *    work on any alignment and any host byte order.
 *  - In-memory, CPU-order forms have no d_ prefix (struct key).
 *  - Every structure has a _Static_assert on its size.
 *  - Key types are commented with their key shape: (objectid, TYPE, offset).
 *
 * docs/FORMAT.md describes which structures and feature flags ghee supports.
 */
#ifndef FS_FORMAT_H
#define FS_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

/* Little-endian on-disk integers: byte arrays in disguise, never used raw. */
typedef uint16_t le16;
typedef uint32_t le32;
typedef uint64_t le64;

/* Read little-endian integers from any address. */
static inline u16 get_le16(const void *p)
{
	const u8 *b = p;

	return (u16)(b[0] | (b[1] << 8));
}

static inline u32 get_le32(const void *p)
{
	const u8 *b = p;

	return (u32)b[0] | ((u32)b[1] << 8) | ((u32)b[2] << 16) |
	       ((u32)b[3] << 24);
}

static inline u64 get_le64(const void *p)
{
	const u8 *b = p;

	return (u64)get_le32(b) | ((u64)get_le32(b + 4) << 32);
}

/* Write little-endian integers to any address. */
static inline void put_le16(void *p, u16 v)
{
	u8 *b = p;

	b[0] = (u8)v;
	b[1] = (u8)(v >> 8);
}

static inline void put_le32(void *p, u32 v)
{
	u8 *b = p;

	b[0] = (u8)v;
	b[1] = (u8)(v >> 8);
	b[2] = (u8)(v >> 16);
	b[3] = (u8)(v >> 24);
}

static inline void put_le64(void *p, u64 v)
{
	put_le32(p, (u32)v);
	put_le32((u8 *)p + 4, (u32)(v >> 32));
}

/*
 * Read field F of on-disk struct S at address P (any alignment):
 * D_GET64(struct d_inode_item, p, size).
 */
#define D_GET16(S, P, F) get_le16((const u8 *)(P) + offsetof(S, F))
#define D_GET32(S, P, F) get_le32((const u8 *)(P) + offsetof(S, F))
#define D_GET64(S, P, F) get_le64((const u8 *)(P) + offsetof(S, F))
#define D_GET8(S, P, F) (*((const u8 *)(P) + offsetof(S, F)))
#define D_PTR(S, P, F) ((const u8 *)(P) + offsetof(S, F))

/* Write field F of on-disk struct S at address P (any alignment). */
#define D_SET16(S, P, F, V) put_le16((u8 *)(P) + offsetof(S, F), (V))
#define D_SET32(S, P, F, V) put_le32((u8 *)(P) + offsetof(S, F), (V))
#define D_SET64(S, P, F, V) put_le64((u8 *)(P) + offsetof(S, F), (V))
#define D_SET8(S, P, F, V) (*((u8 *)(P) + offsetof(S, F)) = (u8)(V))
#define D_WPTR(S, P, F) ((u8 *)(P) + offsetof(S, F))

/* ---------------------------------------------------------------- sizes */

#define BTRFS_CSUM_SIZE 32	/* bytes reserved for any checksum */
#define BTRFS_FSID_SIZE 16	/* filesystem UUID */
#define BTRFS_UUID_SIZE 16	/* device, chunk-tree and subvolume UUIDs */
#define BTRFS_LABEL_SIZE 256	/* label, NUL padded */
#define BTRFS_SYSTEM_CHUNK_ARRAY_SIZE 2048 /* bootstrap chunks in super */
#define BTRFS_NUM_BACKUP_ROOTS 4	/* root backups in the super */
#define BTRFS_MAX_LEVEL 8	/* tree levels 0 (leaf) .. 7 */
#define BTRFS_NAME_LEN 255	/* longest directory entry name */

/* Superblock copies: primary at 64 KiB, backups at 64 MiB and 256 GiB. */
#define BTRFS_SUPER_INFO_OFFSET 0x10000ULL
#define BTRFS_SUPER_INFO_SIZE 4096
#define BTRFS_SUPER_MIRROR_MAX 3
#define BTRFS_SUPER_MIRROR_SHIFT 12
/* "_BHRfS_M" read as a little-endian u64. */
#define BTRFS_MAGIC 0x4D5F53665248425FULL

/* Node sizes mkfs.btrfs accepts; sectorsize is 4 KiB for ghee. */
#define BTRFS_MIN_NODESIZE 4096
#define BTRFS_MAX_NODESIZE 65536

/* Checksum algorithms (super.csum_type); sizes 4, 8, 32, 32 (csum_type.c). */
#define BTRFS_CSUM_TYPE_CRC32 0
#define BTRFS_CSUM_TYPE_XXHASH 1
#define BTRFS_CSUM_TYPE_SHA256 2
#define BTRFS_CSUM_TYPE_BLAKE2 3

/* ------------------------------------------------------------ feature flags */

/* compat_ro: unknown ones still allow a read-only mount. */
#define BTRFS_FEATURE_COMPAT_RO_FREE_SPACE_TREE (1ULL << 0)
#define BTRFS_FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID (1ULL << 1)
#define BTRFS_FEATURE_COMPAT_RO_VERITY (1ULL << 2)
#define BTRFS_FEATURE_COMPAT_RO_BLOCK_GROUP_TREE (1ULL << 3)

/* incompat: an unknown one refuses the mount. */
#define BTRFS_FEATURE_INCOMPAT_MIXED_BACKREF (1ULL << 0)
#define BTRFS_FEATURE_INCOMPAT_DEFAULT_SUBVOL (1ULL << 1)
#define BTRFS_FEATURE_INCOMPAT_MIXED_GROUPS (1ULL << 2)
#define BTRFS_FEATURE_INCOMPAT_COMPRESS_LZO (1ULL << 3)
#define BTRFS_FEATURE_INCOMPAT_COMPRESS_ZSTD (1ULL << 4)
#define BTRFS_FEATURE_INCOMPAT_BIG_METADATA (1ULL << 5)
#define BTRFS_FEATURE_INCOMPAT_EXTENDED_IREF (1ULL << 6)
#define BTRFS_FEATURE_INCOMPAT_RAID56 (1ULL << 7)
#define BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA (1ULL << 8)
#define BTRFS_FEATURE_INCOMPAT_NO_HOLES (1ULL << 9)
#define BTRFS_FEATURE_INCOMPAT_METADATA_UUID (1ULL << 10)
#define BTRFS_FEATURE_INCOMPAT_RAID1C34 (1ULL << 11)
#define BTRFS_FEATURE_INCOMPAT_ZONED (1ULL << 12)
#define BTRFS_FEATURE_INCOMPAT_EXTENT_TREE_V2 (1ULL << 13)
#define BTRFS_FEATURE_INCOMPAT_RAID_STRIPE_TREE (1ULL << 14)
#define BTRFS_FEATURE_INCOMPAT_SIMPLE_QUOTA (1ULL << 16)

/* --------------------------------------------------------- tree objectids */

#define BTRFS_DEV_STATS_OBJECTID 0ULL	/* dev stats persistent items */
#define BTRFS_ROOT_TREE_OBJECTID 1ULL	/* tree of tree roots */
#define BTRFS_EXTENT_TREE_OBJECTID 2ULL	/* extent allocation tree */
#define BTRFS_CHUNK_TREE_OBJECTID 3ULL	/* logical -> physical chunks */
#define BTRFS_DEV_TREE_OBJECTID 4ULL	/* physical -> chunk (dev extents) */
#define BTRFS_FS_TREE_OBJECTID 5ULL	/* the top-level subvolume */
#define BTRFS_ROOT_TREE_DIR_OBJECTID 6ULL /* dir holding "default" */
#define BTRFS_CSUM_TREE_OBJECTID 7ULL	/* data checksums */
#define BTRFS_QUOTA_TREE_OBJECTID 8ULL	/* qgroups */
#define BTRFS_UUID_TREE_OBJECTID 9ULL	/* subvolume UUID index */
#define BTRFS_FREE_SPACE_TREE_OBJECTID 10ULL /* free-space tree */
#define BTRFS_BLOCK_GROUP_TREE_OBJECTID 11ULL /* block group items */
#define BTRFS_RAID_STRIPE_TREE_OBJECTID 12ULL /* raid stripe tree */

#define BTRFS_BALANCE_OBJECTID ((u64)-4)
#define BTRFS_ORPHAN_OBJECTID ((u64)-5)
#define BTRFS_TREE_LOG_OBJECTID ((u64)-6)
#define BTRFS_TREE_LOG_FIXUP_OBJECTID ((u64)-7)
#define BTRFS_TREE_RELOC_OBJECTID ((u64)-8)
#define BTRFS_DATA_RELOC_TREE_OBJECTID ((u64)-9)
#define BTRFS_EXTENT_CSUM_OBJECTID ((u64)-10)
#define BTRFS_FREE_SPACE_OBJECTID ((u64)-11)
#define BTRFS_FREE_INO_OBJECTID ((u64)-12)
#define BTRFS_MULTIPLE_OBJECTIDS ((u64)-255)

/* First and last objectid of subvolumes and of inodes inside a subvolume. */
/* The inode number a subvolume's entry shows when its subvolume is not
 * linked there (a snapshot copied the entry): an empty directory. */
#define BTRFS_EMPTY_SUBVOL_DIR_OBJECTID 2ULL
#define BTRFS_FIRST_FREE_OBJECTID 256ULL
#define BTRFS_LAST_FREE_OBJECTID ((u64)-256)
/* Chunk items: (FIRST_CHUNK_TREE, CHUNK_ITEM, logical). */
#define BTRFS_FIRST_CHUNK_TREE_OBJECTID 256ULL
/* Device items: (DEV_ITEMS, DEV_ITEM, devid). */
#define BTRFS_DEV_ITEMS_OBJECTID 1ULL

/* ------------------------------------------------------------- key types */

/* (inode number, INODE_ITEM, 0) -> struct d_inode_item */
#define BTRFS_INODE_ITEM_KEY 1
/* (inode, INODE_REF, parent dir inode) -> d_inode_ref + name, repeated */
#define BTRFS_INODE_REF_KEY 12
/* (inode, INODE_EXTREF, crc32c(parent, name)) -> d_inode_extref + name... */
#define BTRFS_INODE_EXTREF_KEY 13
/* (inode, XATTR_ITEM, name hash) -> d_dir_item + name + value */
#define BTRFS_XATTR_ITEM_KEY 24
/* (inode, VERITY_DESC_ITEM, offset) and (inode, VERITY_MERKLE_ITEM, off) */
#define BTRFS_VERITY_DESC_ITEM_KEY 36
#define BTRFS_VERITY_MERKLE_ITEM_KEY 37
/* (ORPHAN, ORPHAN_ITEM, inode) -> empty */
#define BTRFS_ORPHAN_ITEM_KEY 48
/* (dir, DIR_LOG_ITEM / DIR_LOG_INDEX, first) -> le64 last: a range of the
 * directory the tree-log covers (tree-log only) */
#define BTRFS_DIR_LOG_ITEM_KEY 60
#define BTRFS_DIR_LOG_INDEX_KEY 72
/* (dir, DIR_ITEM, name hash) -> d_dir_item + name, repeated on collision */
#define BTRFS_DIR_ITEM_KEY 84
/* (dir, DIR_INDEX, index) -> one d_dir_item + name; readdir order */
#define BTRFS_DIR_INDEX_KEY 96
/* (inode, EXTENT_DATA, file offset) -> d_file_extent_item */
#define BTRFS_EXTENT_DATA_KEY 108
/* (EXTENT_CSUM, EXTENT_CSUM, logical) -> one checksum per sector */
#define BTRFS_EXTENT_CSUM_KEY 128
/* (tree id, ROOT_ITEM, 0 or snapshot transid) -> d_root_item */
#define BTRFS_ROOT_ITEM_KEY 132
/* (child subvol, ROOT_BACKREF, parent subvol) -> d_root_ref + name */
#define BTRFS_ROOT_BACKREF_KEY 144
/* (parent subvol, ROOT_REF, child subvol) -> d_root_ref + name */
#define BTRFS_ROOT_REF_KEY 156
/* (logical, EXTENT_ITEM, length) -> d_extent_item + inline refs */
#define BTRFS_EXTENT_ITEM_KEY 168
/* (logical, METADATA_ITEM, level) -> d_extent_item (skinny metadata) */
#define BTRFS_METADATA_ITEM_KEY 169
/* Extent back-references, keyed (logical, TYPE, root / hash / parent). */
#define BTRFS_TREE_BLOCK_REF_KEY 176
#define BTRFS_EXTENT_DATA_REF_KEY 178
#define BTRFS_EXTENT_REF_V0_KEY 180
#define BTRFS_SHARED_BLOCK_REF_KEY 182
#define BTRFS_SHARED_DATA_REF_KEY 184
/* (logical, BLOCK_GROUP_ITEM, length) -> d_block_group_item */
#define BTRFS_BLOCK_GROUP_ITEM_KEY 192
/* Free-space tree: (bg start, FREE_SPACE_INFO, bg length) etc. */
#define BTRFS_FREE_SPACE_INFO_KEY 198
#define BTRFS_FREE_SPACE_EXTENT_KEY 199
#define BTRFS_FREE_SPACE_BITMAP_KEY 200
/* (devid, DEV_EXTENT, physical) -> d_dev_extent */
#define BTRFS_DEV_EXTENT_KEY 204
/* (DEV_ITEMS, DEV_ITEM, devid) -> d_dev_item */
#define BTRFS_DEV_ITEM_KEY 216
/* (FIRST_CHUNK_TREE, CHUNK_ITEM, logical) -> d_chunk + stripes */
#define BTRFS_CHUNK_ITEM_KEY 228
/* Quota tree items (tree 8). A qgroup id is level << 48 | subvolume or
 * group number ("level/id"). */
/* (0, QGROUP_STATUS, 0) -> d_qgroup_status_item */
#define BTRFS_QGROUP_STATUS_KEY 240
/* (0, QGROUP_INFO, qgroupid) -> d_qgroup_info_item */
#define BTRFS_QGROUP_INFO_KEY 242
/* (0, QGROUP_LIMIT, qgroupid) -> d_qgroup_limit_item */
#define BTRFS_QGROUP_LIMIT_KEY 244
/* (child, QGROUP_RELATION, parent) and (parent, QGROUP_RELATION, child),
 * both present, no data */
#define BTRFS_QGROUP_RELATION_KEY 246
/* (BALANCE, TEMPORARY_ITEM, 0): balance status */
#define BTRFS_TEMPORARY_ITEM_KEY 248
/* (DEV_STATS, PERSISTENT_ITEM, devid): device statistics */
#define BTRFS_PERSISTENT_ITEM_KEY 249
#define BTRFS_DEV_REPLACE_KEY 250
/* (uuid low half, UUID_KEY_*, uuid high half) -> le64 subvolume ids */
#define BTRFS_UUID_KEY_SUBVOL 251
#define BTRFS_UUID_KEY_RECEIVED_SUBVOL 252
#define BTRFS_STRING_ITEM_KEY 253

/* ------------------------------------------------------------------ keys */

/* A key as stored in tree blocks: sorted by objectid, then type, then offset. */
struct d_key {
	le64 objectid;		/* what the item is about (inode, tree, bytenr) */
	u8 type;		/* BTRFS_*_KEY */
	le64 offset;		/* meaning depends on type (see key types) */
} __attribute__((packed));
_Static_assert(sizeof(struct d_key) == 17, "d_key size");

/* The CPU-order form of struct d_key. */
struct key {
	u64 objectid;
	u8 type;
	u64 offset;
};

/* Decode an on-disk key at p. */
static inline void key_from_disk(struct key *k, const void *p)
{
	k->objectid = D_GET64(struct d_key, p, objectid);
	k->type = D_GET8(struct d_key, p, type);
	k->offset = D_GET64(struct d_key, p, offset);
}

/* Encode a key to its on-disk form at p. */
static inline void key_to_disk(void *p, const struct key *k)
{
	u8 *b = p;

	put_le64(b + offsetof(struct d_key, objectid), k->objectid);
	b[offsetof(struct d_key, type)] = k->type;
	put_le64(b + offsetof(struct d_key, offset), k->offset);
}

/* Compare two keys in tree order: <0, 0, >0. */
static inline int key_cmp(const struct key *a, const struct key *b)
{
	if (a->objectid != b->objectid)
		return a->objectid < b->objectid ? -1 : 1;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	return 0;
}

/* Make k the smallest key after k (searches resume there). */
static inline void key_next_after(struct key *k)
{
	if (++k->offset)
		return;
	if (++k->type)
		return;
	k->objectid++;
}

/* --------------------------------------------------------- tree blocks */

/* Header flags (low 56 bits) and backref revision (top 8 bits). */
#define BTRFS_HEADER_FLAG_WRITTEN (1ULL << 0)	/* block was written */
#define BTRFS_HEADER_FLAG_RELOC (1ULL << 1)	/* relocation copy */
#define BTRFS_BACKREF_REV_SHIFT 56
#define BTRFS_MIXED_BACKREF_REV 1		/* the only revision ghee reads */

/* Every tree block (node or leaf) starts with this header. */
struct d_header {
	u8 csum[BTRFS_CSUM_SIZE];	/* checksum of bytes 32..nodesize */
	u8 fsid[BTRFS_FSID_SIZE];	/* metadata UUID of the filesystem */
	le64 bytenr;			/* logical address of this block */
	le64 flags;			/* HEADER_FLAG_* | backref rev << 56 */
	u8 chunk_tree_uuid[BTRFS_UUID_SIZE]; /* UUID of the chunk tree */
	le64 generation;		/* transaction that wrote the block */
	le64 owner;			/* objectid of the tree it belongs to */
	le32 nritems;			/* items (leaf) or pointers (node) */
	u8 level;			/* 0 for a leaf */
} __attribute__((packed));
_Static_assert(sizeof(struct d_header) == 101, "d_header size");

/* A leaf item descriptor; data grows down from the end of the leaf. */
struct d_item {
	struct d_key key;
	le32 offset;	/* item data offset, counted from the end of the header */
	le32 size;	/* item data size in bytes */
} __attribute__((packed));
_Static_assert(sizeof(struct d_item) == 25, "d_item size");

/* A node's pointer to a child block. */
struct d_key_ptr {
	struct d_key key;	/* first key of the child */
	le64 blockptr;		/* child's logical address */
	le64 generation;	/* child's header generation */
} __attribute__((packed));
_Static_assert(sizeof(struct d_key_ptr) == 33, "d_key_ptr size");

/* ------------------------------------------------------------ superblock */

/* One device, as recorded in the super and in the chunk tree. */
struct d_dev_item {
	le64 devid;		/* device id, 1 for single-device filesystems */
	le64 total_bytes;	/* size of the device in bytes */
	le64 bytes_used;	/* bytes allocated to chunks */
	le32 io_align;		/* optimal I/O alignment */
	le32 io_width;		/* optimal I/O width */
	le32 sector_size;	/* minimal I/O size */
	le64 type;		/* unused */
	le64 generation;	/* last generation the item changed */
	le64 start_offset;	/* unused */
	le32 dev_group;		/* unused */
	u8 seek_speed;		/* unused */
	u8 bandwidth;		/* unused */
	u8 uuid[BTRFS_UUID_SIZE];	/* device UUID */
	u8 fsid[BTRFS_FSID_SIZE];	/* filesystem UUID */
} __attribute__((packed));
_Static_assert(sizeof(struct d_dev_item) == 98, "d_dev_item size");

/* Backup copy of the main tree roots, written on each commit. */
struct d_root_backup {
	le64 tree_root;
	le64 tree_root_gen;
	le64 chunk_root;
	le64 chunk_root_gen;
	le64 extent_root;
	le64 extent_root_gen;
	le64 fs_root;
	le64 fs_root_gen;
	le64 dev_root;
	le64 dev_root_gen;
	le64 csum_root;
	le64 csum_root_gen;
	le64 total_bytes;
	le64 bytes_used;
	le64 num_devices;
	le64 unused_64[4];	/* reserved, zero */
	u8 tree_root_level;
	u8 chunk_root_level;
	u8 extent_root_level;
	u8 fs_root_level;
	u8 dev_root_level;
	u8 csum_root_level;
	u8 unused_8[10];	/* reserved, zero */
} __attribute__((packed));
_Static_assert(sizeof(struct d_root_backup) == 168, "d_root_backup size");

/* The superblock: 4 KiB at 64 KiB, 64 MiB and 256 GiB. */
struct d_super_block {
	u8 csum[BTRFS_CSUM_SIZE];	/* checksum of bytes 32..4096 */
	u8 fsid[BTRFS_FSID_SIZE];	/* filesystem UUID (user visible) */
	le64 bytenr;			/* physical offset of this copy */
	le64 flags;			/* SUPER_FLAG_* */
	le64 magic;			/* BTRFS_MAGIC */
	le64 generation;		/* last committed transaction */
	le64 root;			/* logical address of the root tree */
	le64 chunk_root;		/* logical address of the chunk tree */
	le64 log_root;			/* tree-log root, 0 when none */
	le64 unused_log_root_transid;	/* reserved */
	le64 total_bytes;		/* filesystem size */
	le64 bytes_used;		/* bytes used by extents */
	le64 root_dir_objectid;		/* 6: ROOT_TREE_DIR */
	le64 num_devices;		/* devices in the filesystem */
	le32 sectorsize;		/* data block size */
	le32 nodesize;			/* tree block size */
	le32 unused_leafsize;		/* equals nodesize */
	le32 stripesize;		/* unused, equals sectorsize */
	le32 sys_chunk_array_size;	/* bytes used in sys_chunk_array */
	le64 chunk_root_generation;	/* generation of the chunk root */
	le64 compat_flags;		/* none defined */
	le64 compat_ro_flags;		/* FEATURE_COMPAT_RO_* */
	le64 incompat_flags;		/* FEATURE_INCOMPAT_* */
	le16 csum_type;			/* CSUM_TYPE_* */
	u8 root_level;			/* level of the root tree's root */
	u8 chunk_root_level;		/* level of the chunk tree's root */
	u8 log_root_level;		/* level of the tree-log root */
	struct d_dev_item dev_item;	/* this device */
	char label[BTRFS_LABEL_SIZE];	/* NUL padded label */
	le64 cache_generation;		/* v1 space cache generation */
	le64 uuid_tree_generation;	/* generation of the UUID tree */
	u8 metadata_uuid[BTRFS_FSID_SIZE]; /* fsid in headers if METADATA_UUID */
	le64 nr_global_roots;		/* extent-tree-v2 only */
	le64 reserved[27];		/* reserved, zero */
	/* (KEY, d_chunk + stripes) pairs mapping the SYSTEM chunks. */
	u8 sys_chunk_array[BTRFS_SYSTEM_CHUNK_ARRAY_SIZE];
	struct d_root_backup super_roots[BTRFS_NUM_BACKUP_ROOTS];
	u8 padding[565];		/* pads the super to 4096 bytes */
} __attribute__((packed));
_Static_assert(sizeof(struct d_super_block) == BTRFS_SUPER_INFO_SIZE,
	       "d_super_block size");
_Static_assert(offsetof(struct d_super_block, sys_chunk_array) == 0x32b,
	       "sys_chunk_array offset");

/* super.flags */
#define BTRFS_SUPER_FLAG_SEEDING (1ULL << 32)	/* seed device */
#define BTRFS_SUPER_FLAG_METADUMP (1ULL << 33)	/* btrfs-image dump */
#define BTRFS_SUPER_FLAG_METADUMP_V2 (1ULL << 34)
#define BTRFS_SUPER_FLAG_CHANGING_FSID (1ULL << 35)
#define BTRFS_SUPER_FLAG_CHANGING_FSID_V2 (1ULL << 36)

/* ---------------------------------------------------------------- chunks */

/* Block group / chunk type and profile bits (chunk.type, bg.flags). */
#define BTRFS_BLOCK_GROUP_DATA (1ULL << 0)
#define BTRFS_BLOCK_GROUP_SYSTEM (1ULL << 1)
#define BTRFS_BLOCK_GROUP_METADATA (1ULL << 2)
#define BTRFS_BLOCK_GROUP_RAID0 (1ULL << 3)
#define BTRFS_BLOCK_GROUP_RAID1 (1ULL << 4)
#define BTRFS_BLOCK_GROUP_DUP (1ULL << 5)
#define BTRFS_BLOCK_GROUP_RAID10 (1ULL << 6)
#define BTRFS_BLOCK_GROUP_RAID5 (1ULL << 7)
#define BTRFS_BLOCK_GROUP_RAID6 (1ULL << 8)
#define BTRFS_BLOCK_GROUP_RAID1C3 (1ULL << 9)
#define BTRFS_BLOCK_GROUP_RAID1C4 (1ULL << 10)
#define BTRFS_BLOCK_GROUP_TYPE_MASK                                       \
	(BTRFS_BLOCK_GROUP_DATA | BTRFS_BLOCK_GROUP_SYSTEM |              \
	 BTRFS_BLOCK_GROUP_METADATA)
#define BTRFS_BLOCK_GROUP_PROFILE_MASK                                    \
	(BTRFS_BLOCK_GROUP_RAID0 | BTRFS_BLOCK_GROUP_RAID1 |              \
	 BTRFS_BLOCK_GROUP_DUP | BTRFS_BLOCK_GROUP_RAID10 |               \
	 BTRFS_BLOCK_GROUP_RAID5 | BTRFS_BLOCK_GROUP_RAID6 |              \
	 BTRFS_BLOCK_GROUP_RAID1C3 | BTRFS_BLOCK_GROUP_RAID1C4)

/* Where one copy (stripe) of a chunk lives. */
struct d_stripe {
	le64 devid;		/* device holding this copy */
	le64 offset;		/* physical byte offset on that device */
	u8 dev_uuid[BTRFS_UUID_SIZE];	/* that device's UUID */
} __attribute__((packed));
_Static_assert(sizeof(struct d_stripe) == 32, "d_stripe size");

/* A chunk: maps [key.offset, key.offset + length) to num_stripes copies. */
struct d_chunk {
	le64 length;		/* bytes of logical address space */
	le64 owner;		/* objectid of the extent tree root (2) */
	le64 stripe_len;	/* striping unit (64 KiB) */
	le64 type;		/* BLOCK_GROUP_* type and profile */
	le32 io_align;		/* optimal I/O alignment */
	le32 io_width;		/* optimal I/O width */
	le32 sector_size;	/* minimal I/O size */
	le16 num_stripes;	/* struct d_stripe entries that follow */
	le16 sub_stripes;	/* RAID10 only */
	struct d_stripe stripe[];	/* num_stripes copies, at least one */
} __attribute__((packed));
_Static_assert(sizeof(struct d_chunk) == 48, "d_chunk size");

/* Physical range of a device handed to a chunk. */
struct d_dev_extent {
	le64 chunk_tree;	/* 3 */
	le64 chunk_objectid;	/* 256 */
	le64 chunk_offset;	/* logical start of the chunk */
	le64 length;		/* bytes */
	u8 chunk_tree_uuid[BTRFS_UUID_SIZE];
} __attribute__((packed));
_Static_assert(sizeof(struct d_dev_extent) == 48, "d_dev_extent size");

/* Space use of one block group. */
struct d_block_group_item {
	le64 used;		/* bytes in use */
	le64 chunk_objectid;	/* 256 */
	le64 flags;		/* BLOCK_GROUP_* */
} __attribute__((packed));
_Static_assert(sizeof(struct d_block_group_item) == 24, "d_bg_item size");

/* -------------------------------------------------------------- extents */

/* Header of an EXTENT_ITEM or METADATA_ITEM; inline refs follow. */
struct d_extent_item {
	le64 refs;		/* references to the extent */
	le64 generation;	/* transaction that allocated it */
	le64 flags;		/* EXTENT_FLAG_* */
} __attribute__((packed));
_Static_assert(sizeof(struct d_extent_item) == 24, "d_extent_item size");

/*
 * A tree block's EXTENT_ITEM (without skinny metadata) puts this between the
 * d_extent_item and the inline refs. METADATA_ITEM keys carry the level in
 * the key instead.
 */
struct d_tree_block_info {
	struct d_key key;	/* first key of the block */
	u8 level;		/* level of the block */
} __attribute__((packed));
_Static_assert(sizeof(struct d_tree_block_info) == 18, "d_tbi size");

/*
 * An inline back-reference inside an extent item: a type byte, then
 * - TREE_BLOCK_REF:   le64 root id of the tree that owns the block;
 * - SHARED_BLOCK_REF: le64 bytenr of the parent block (full backref);
 * - EXTENT_DATA_REF:  a d_extent_data_ref in place of the le64;
 * - SHARED_DATA_REF:  le64 parent bytenr, then le32 count.
 * Inline refs are sorted by type ascending; within one type by "seq"
 * descending, seq being the hash for EXTENT_DATA_REF and the le64 otherwise.
 */
struct d_extent_inline_ref {
	u8 type;		/* BTRFS_*_REF_KEY */
	le64 offset;		/* root or parent, see above */
} __attribute__((packed));
_Static_assert(sizeof(struct d_extent_inline_ref) == 9, "d_eir size");

/* A data reference from a file: (bytenr, EXTENT_DATA_REF, hash) keyed. */
struct d_extent_data_ref {
	le64 root;		/* subvolume tree id */
	le64 objectid;		/* inode number */
	le64 offset;		/* file offset of the extent's start */
	le32 count;		/* file extent items making this reference */
} __attribute__((packed));
_Static_assert(sizeof(struct d_extent_data_ref) == 28, "d_edr size");

/* A full-backref data reference: (bytenr, SHARED_DATA_REF, parent). */
struct d_shared_data_ref {
	le32 count;		/* file extent items in the parent leaf */
} __attribute__((packed));
_Static_assert(sizeof(struct d_shared_data_ref) == 4, "d_sdr size");

/* (bg start, FREE_SPACE_INFO, bg length) in the free-space tree. */
struct d_free_space_info {
	le32 extent_count;	/* free extents (or bitmap runs) in the bg */
	le32 flags;		/* FREE_SPACE_USING_BITMAPS */
} __attribute__((packed));
_Static_assert(sizeof(struct d_free_space_info) == 8, "d_fsi size");
/* The block group's free space is in FREE_SPACE_BITMAP items. */
#define BTRFS_FREE_SPACE_USING_BITMAPS (1u << 0)

/* Device statistics: (DEV_STATS, PERSISTENT_ITEM, devid) -> 5 le64. */
#define BTRFS_DEV_STAT_VALUES_MAX 5

#define BTRFS_EXTENT_FLAG_DATA (1ULL << 0)
#define BTRFS_EXTENT_FLAG_TREE_BLOCK (1ULL << 1)
#define BTRFS_BLOCK_FLAG_FULL_BACKREF (1ULL << 8)

/* ---------------------------------------------------------------- roots */

/* Seconds and nanoseconds since the Unix epoch. */
struct d_timespec {
	le64 sec;
	le32 nsec;
} __attribute__((packed));
_Static_assert(sizeof(struct d_timespec) == 12, "d_timespec size");

/* Inode flags (inode_item.flags) that matter to reads. */
#define BTRFS_INODE_NODATASUM (1ULL << 0)	/* no data checksums */
#define BTRFS_INODE_NODATACOW (1ULL << 1)
#define BTRFS_INODE_READONLY (1ULL << 2)
#define BTRFS_INODE_NOCOMPRESS (1ULL << 3)
#define BTRFS_INODE_PREALLOC (1ULL << 4)
#define BTRFS_INODE_IMMUTABLE (1ULL << 6)	/* chattr +i */
#define BTRFS_INODE_APPEND (1ULL << 7)	/* chattr +a */
#define BTRFS_INODE_COMPRESS (1ULL << 11)	/* chattr +c: compress */
/* In a root item's embedded inode only: the root item's flags and
 * byte_limit are meaningful. Linux zeroes both (the read-only flag!) in
 * a root item without it, as written by kernels older than the flags. */
#define BTRFS_INODE_ROOT_ITEM_INIT (1ULL << 31)

/* An inode: (ino, INODE_ITEM, 0). Also embedded in the root item. */
struct d_inode_item {
	le64 generation;	/* transaction that created the inode */
	le64 transid;		/* transaction that last changed it */
	le64 size;		/* file size in bytes (dirs: 2 * name bytes) */
	le64 nbytes;		/* bytes of extents referenced */
	le64 block_group;	/* allocation hint */
	le32 nlink;		/* hard links */
	le32 uid;
	le32 gid;
	le32 mode;		/* POSIX type and permission bits */
	le64 rdev;		/* device number for device nodes */
	le64 flags;		/* INODE_* flags */
	le64 sequence;		/* NFS change counter */
	le64 reserved[4];	/* zero */
	struct d_timespec atime;
	struct d_timespec ctime;
	struct d_timespec mtime;
	struct d_timespec otime;	/* creation time */
} __attribute__((packed));
_Static_assert(sizeof(struct d_inode_item) == 160, "d_inode_item size");

/* A tree's root: (tree id, ROOT_ITEM, 0 or snapshot transid). */
struct d_root_item {
	struct d_inode_item inode;	/* unused except for a few fields */
	le64 generation;	/* generation of the root block */
	le64 root_dirid;	/* subvolume's root directory inode (256) */
	le64 bytenr;		/* logical address of the root block */
	le64 byte_limit;	/* unused */
	le64 bytes_used;	/* bytes of tree blocks */
	le64 last_snapshot;	/* transid of the last snapshot */
	le64 flags;		/* ROOT_SUBVOL_RDONLY, ... */
	le32 refs;		/* 0 when the subvolume is being deleted */
	struct d_key drop_progress;	/* deletion progress */
	u8 drop_level;		/* deletion progress level */
	u8 level;		/* level of the root block */
	le64 generation_v2;	/* equals generation when the rest is valid */
	u8 uuid[BTRFS_UUID_SIZE];		/* subvolume UUID */
	u8 parent_uuid[BTRFS_UUID_SIZE];	/* snapshot source UUID */
	u8 received_uuid[BTRFS_UUID_SIZE];	/* set by receive */
	le64 ctransid;		/* last change to the subvolume */
	le64 otransid;		/* creation */
	le64 stransid;		/* send transid (received) */
	le64 rtransid;		/* receive transid */
	struct d_timespec ctime;
	struct d_timespec otime;
	struct d_timespec stime;
	struct d_timespec rtime;
	le64 reserved[8];	/* zero */
} __attribute__((packed));
_Static_assert(sizeof(struct d_root_item) == 439, "d_root_item size");

/* Oldest root items end at generation_v2; fields after it are then zero. */
#define BTRFS_ROOT_ITEM_V1_SIZE offsetof(struct d_root_item, generation_v2)
#define BTRFS_ROOT_SUBVOL_RDONLY (1ULL << 0)

/* Subvolume link: ROOT_REF and ROOT_BACKREF. The name follows. */
struct d_root_ref {
	le64 dirid;		/* directory (in the parent) holding the link */
	le64 sequence;		/* that entry's DIR_INDEX */
	le16 name_len;		/* bytes of name that follow */
} __attribute__((packed));
_Static_assert(sizeof(struct d_root_ref) == 18, "d_root_ref size");

/* ---------------------------------------------------------- directories */

/* File types in dir items (dir_item.type). */
#define BTRFS_FT_UNKNOWN 0
#define BTRFS_FT_REG_FILE 1
#define BTRFS_FT_DIR 2
#define BTRFS_FT_CHRDEV 3
#define BTRFS_FT_BLKDEV 4
#define BTRFS_FT_FIFO 5
#define BTRFS_FT_SOCK 6
#define BTRFS_FT_SYMLINK 7
#define BTRFS_FT_XATTR 8
#define BTRFS_FT_MAX 9

/* A directory entry (or xattr); name_len name bytes then data_len bytes. */
struct d_dir_item {
	struct d_key location;	/* (ino, INODE_ITEM, 0) or (subvol, ROOT_ITEM, -1) */
	le64 transid;		/* transaction that made the entry */
	le16 data_len;		/* xattr value bytes after the name */
	le16 name_len;		/* name bytes */
	u8 type;		/* BTRFS_FT_* */
} __attribute__((packed));
_Static_assert(sizeof(struct d_dir_item) == 30, "d_dir_item size");

/* A hard link back to a directory: (ino, INODE_REF, parent). Name follows. */
struct d_inode_ref {
	le64 index;		/* the entry's DIR_INDEX in the parent */
	le16 name_len;		/* name bytes that follow */
} __attribute__((packed));
_Static_assert(sizeof(struct d_inode_ref) == 10, "d_inode_ref size");

/* Extended ref, used when INODE_REF items overflow a leaf. Name follows. */
struct d_inode_extref {
	le64 parent_objectid;	/* parent directory */
	le64 index;		/* DIR_INDEX in the parent */
	le16 name_len;		/* name bytes that follow */
} __attribute__((packed));
_Static_assert(sizeof(struct d_inode_extref) == 18, "d_inode_extref size");

/* --------------------------------------------------------- file extents */

#define BTRFS_FILE_EXTENT_INLINE 0	/* data follows the header in the item */
#define BTRFS_FILE_EXTENT_REG 1		/* data in a disk extent */
#define BTRFS_FILE_EXTENT_PREALLOC 2	/* allocated, reads as zeros */

#define BTRFS_COMPRESS_NONE 0
#define BTRFS_COMPRESS_ZLIB 1
#define BTRFS_COMPRESS_LZO 2
#define BTRFS_COMPRESS_ZSTD 3

/*
 * A file extent: (ino, EXTENT_DATA, file offset). Inline extents end after
 * `type`, with the (possibly compressed) data in the rest of the item.
 */
struct d_file_extent_item {
	le64 generation;	/* transaction that wrote it */
	le64 ram_bytes;		/* uncompressed size of the whole extent */
	u8 compression;		/* COMPRESS_* */
	u8 encryption;		/* 0 */
	le16 other_encoding;	/* 0 */
	u8 type;		/* FILE_EXTENT_* */
	/* The fields below exist only for REG and PREALLOC extents. */
	le64 disk_bytenr;	/* logical start of the disk extent; 0: hole */
	le64 disk_num_bytes;	/* size of the disk extent */
	le64 offset;		/* where in the (decompressed) extent we start */
	le64 num_bytes;		/* file bytes this item covers */
} __attribute__((packed));
_Static_assert(sizeof(struct d_file_extent_item) == 53, "d_fe_item size");
#define BTRFS_FILE_EXTENT_INLINE_DATA_START                               \
	offsetof(struct d_file_extent_item, disk_bytenr)
/* Longest data extent Linux makes (uncompressed; its
 * BTRFS_MAX_EXTENT_SIZE): ghee's grown extents stop there too. */
#define BTRFS_MAX_EXTENT_SIZE (128ull << 20)

/* ---------------------------------------------------------- quota groups */

#define BTRFS_QGROUP_LEVEL_SHIFT 48
#define BTRFS_QGROUP_STATUS_VERSION 1
/* d_qgroup_status_item.flags */
#define BTRFS_QGROUP_STATUS_FLAG_ON (1ULL << 0)		/* accounting on */
#define BTRFS_QGROUP_STATUS_FLAG_RESCAN (1ULL << 1)	/* a rescan runs */
#define BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT (1ULL << 2) /* counts wrong */
/* d_qgroup_limit_item.flags: which limits are set */
#define BTRFS_QGROUP_LIMIT_MAX_RFER (1ULL << 0)
#define BTRFS_QGROUP_LIMIT_MAX_EXCL (1ULL << 1)
#define BTRFS_QGROUP_LIMIT_RSV_RFER (1ULL << 2)
#define BTRFS_QGROUP_LIMIT_RSV_EXCL (1ULL << 3)
#define BTRFS_QGROUP_LIMIT_RFER_CMPR (1ULL << 4)
#define BTRFS_QGROUP_LIMIT_EXCL_CMPR (1ULL << 5)

/* The quota tree's state: one per filesystem. */
struct d_qgroup_status_item {
	le64 version;		/* BTRFS_QGROUP_STATUS_VERSION */
	le64 generation;	/* transaction that last wrote the counts */
	le64 flags;		/* BTRFS_QGROUP_STATUS_FLAG_* */
	le64 rescan;		/* a rescan's progress: the next extent
				 * bytenr to count */
} __attribute__((packed));
_Static_assert(sizeof(struct d_qgroup_status_item) == 32, "qg status");

/* One qgroup's counts, in bytes. Referenced: extents any of its
 * subvolumes reaches; exclusive: those only its subvolumes reach. */
struct d_qgroup_info_item {
	le64 generation;	/* transaction that last wrote it */
	le64 rfer;		/* referenced bytes */
	le64 rfer_cmpr;		/* referenced bytes, compressed (= rfer) */
	le64 excl;		/* exclusive bytes */
	le64 excl_cmpr;		/* exclusive bytes, compressed (= excl) */
} __attribute__((packed));
_Static_assert(sizeof(struct d_qgroup_info_item) == 40, "qg info");

/* One qgroup's limits; 0 with its flag clear: none. */
struct d_qgroup_limit_item {
	le64 flags;		/* BTRFS_QGROUP_LIMIT_* set */
	le64 max_rfer;		/* referenced bytes at most */
	le64 max_excl;		/* exclusive bytes at most */
	le64 rsv_rfer;		/* reserved (unused by Linux) */
	le64 rsv_excl;		/* reserved (unused by Linux) */
} __attribute__((packed));
_Static_assert(sizeof(struct d_qgroup_limit_item) == 40, "qg limit");

#endif
