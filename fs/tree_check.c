/*
 * The tree checker. Every tree block read from disk passes through here
 * before anything else looks at it, so code past tree_block_read() may trust
 * a block's structure: item descriptors and data lie inside the block, keys
 * are strictly increasing, node pointers are plausible, and item bodies that
 * the read path decodes have consistent sizes.
 *
 * Two entry points:
 *  - tree_check_block(): what the block says about itself (checksum, bytenr,
 *    fsid, generation bound, level, layout, key order, item sizes). Done once
 *    when the block enters the cache.
 *  - tree_check_expect(): what the referrer says the block must be (level,
 *    generation, owner, first key). Cheap; done on every lookup, because one
 *    cached block can be reached from different referrers.
 * Both return 0 or -EUCLEAN and write the reason into `why`; the caller
 * (tree_block.c) prints it with the block address and the copy it read, and
 * tries another copy if there is one.
 */
#include <ghee/errno.h>
#include <stdio.h>

#include "csum_type.h"
#include "fs_info.h"
#include "tree_check.h"

#define WHY(...) (snprintf(why, whylen, __VA_ARGS__), -EUCLEAN)

/* Nonzero for the trees that hold files: the top level and subvolumes. */
int tree_check_is_subvol_tree(u64 objectid)
{
	return objectid == BTRFS_FS_TREE_OBJECTID ||
	       (objectid >= BTRFS_FIRST_FREE_OBJECTID &&
		objectid <= BTRFS_LAST_FREE_OBJECTID);
}

/* Check a DIR_ITEM, DIR_INDEX or XATTR_ITEM body (one or more entries). */
static int check_dir_item(const struct key *k, const u8 *p, u32 size,
			  char *why, size_t whylen)
{
	u32 pos = 0, n = 0;

	while (pos < size) {
		u32 name_len, data_len, type, len;

		if (size - pos < sizeof(struct d_dir_item))
			return WHY("dir item header truncated");
		name_len = D_GET16(struct d_dir_item, p + pos, name_len);
		data_len = D_GET16(struct d_dir_item, p + pos, data_len);
		type = D_GET8(struct d_dir_item, p + pos, type);
		len = sizeof(struct d_dir_item) + name_len + data_len;
		if (len > size - pos)
			return WHY("dir item name/data past item end");
		if (name_len == 0 || name_len > BTRFS_NAME_LEN)
			return WHY("dir item name length %u", name_len);
		if (type >= BTRFS_FT_MAX)
			return WHY("dir item type %u", type);
		if ((k->type == BTRFS_XATTR_ITEM_KEY) !=
		    (type == BTRFS_FT_XATTR))
			return WHY("dir item type %u in key type %u", type,
				   k->type);
		if (k->type != BTRFS_XATTR_ITEM_KEY && data_len)
			return WHY("dir entry with %u data bytes", data_len);
		pos += len;
		n++;
	}
	if (k->type == BTRFS_DIR_INDEX_KEY && n != 1)
		return WHY("dir index item with %u entries", n);
	return 0;
}

/* Check INODE_REF (hdr 10) or INODE_EXTREF (hdr 18) entries. */
static int check_refs(const u8 *p, u32 size, u32 hdr, u32 name_off,
		      char *why, size_t whylen)
{
	u32 pos = 0;

	while (pos < size) {
		u32 len;

		if (size - pos < hdr)
			return WHY("inode ref header truncated");
		len = hdr + get_le16(p + pos + name_off);
		if (len > size - pos || len == hdr ||
		    len - hdr > BTRFS_NAME_LEN)
			return WHY("inode ref name past item end");
		pos += len;
	}
	return 0;
}

/* Check a file extent item's size against its type. */
static int check_file_extent(const u8 *p, u32 size, char *why, size_t whylen)
{
	const u32 inl = BTRFS_FILE_EXTENT_INLINE_DATA_START;
	u8 type, comp;

	if (size < inl)
		return WHY("file extent item too small (%u)", size);
	type = D_GET8(struct d_file_extent_item, p, type);
	comp = D_GET8(struct d_file_extent_item, p, compression);
	if (type > BTRFS_FILE_EXTENT_PREALLOC)
		return WHY("file extent type %u", type);
	if (type == BTRFS_FILE_EXTENT_INLINE) {
		if (comp == BTRFS_COMPRESS_NONE &&
		    D_GET64(struct d_file_extent_item, p, ram_bytes) !=
		    size - inl)
			return WHY("inline extent ram_bytes != item data");
		return 0;
	}
	if (size != sizeof(struct d_file_extent_item))
		return WHY("file extent item size %u", size);
	return 0;
}

/* Check the body of leaf item i according to its key type. */
static int check_item(const struct fs_info *fs, const struct key *k,
		      const u8 *p, u32 size, char *why, size_t whylen)
{
	switch (k->type) {
	case BTRFS_INODE_ITEM_KEY:
		if (size != sizeof(struct d_inode_item))
			return WHY("inode item size %u", size);
		return 0;
	case BTRFS_DIR_ITEM_KEY:
	case BTRFS_DIR_INDEX_KEY:
	case BTRFS_XATTR_ITEM_KEY:
		return check_dir_item(k, p, size, why, whylen);
	case BTRFS_INODE_REF_KEY:
		return check_refs(p, size, sizeof(struct d_inode_ref),
				  offsetof(struct d_inode_ref, name_len), why,
				  whylen);
	case BTRFS_INODE_EXTREF_KEY:
		return check_refs(p, size, sizeof(struct d_inode_extref),
				  offsetof(struct d_inode_extref, name_len),
				  why, whylen);
	case BTRFS_EXTENT_DATA_KEY:
		return check_file_extent(p, size, why, whylen);
	case BTRFS_EXTENT_CSUM_KEY:
		if (size == 0 || size % fs->csum_size ||
		    k->offset % fs->sectorsize)
			return WHY("csum item size %u at %llu", size,
				   (unsigned long long)k->offset);
		return 0;
	case BTRFS_ROOT_ITEM_KEY:
		if (size != sizeof(struct d_root_item) &&
		    size != BTRFS_ROOT_ITEM_V1_SIZE)
			return WHY("root item size %u", size);
		return 0;
	case BTRFS_ROOT_REF_KEY:
	case BTRFS_ROOT_BACKREF_KEY:
		if (size < sizeof(struct d_root_ref) ||
		    size != sizeof(struct d_root_ref) +
		    D_GET16(struct d_root_ref, p, name_len) ||
		    size > sizeof(struct d_root_ref) + BTRFS_NAME_LEN)
			return WHY("root ref size %u", size);
		return 0;
	case BTRFS_CHUNK_ITEM_KEY:
		if (size < sizeof(struct d_chunk) + sizeof(struct d_stripe) ||
		    size != sizeof(struct d_chunk) + sizeof(struct d_stripe) *
		    D_GET16(struct d_chunk, p, num_stripes))
			return WHY("chunk item size %u", size);
		return 0;
	case BTRFS_BLOCK_GROUP_ITEM_KEY:
		if (size != sizeof(struct d_block_group_item))
			return WHY("block group item size %u", size);
		return 0;
	default:
		return 0;
	}
}

/* Check a leaf's item layout, key order and item bodies. */
static int check_leaf(const struct fs_info *fs, const u8 *buf, u32 nritems,
		      char *why, size_t whylen)
{
	const u32 hdr = sizeof(struct d_header);
	const u32 data_size = fs->nodesize - hdr;
	u32 i, expect_end = data_size;
	struct key prev, k;
	int ret;

	if ((u64)nritems * sizeof(struct d_item) > data_size)
		return WHY("leaf claims %u items", nritems);
	for (i = 0; i < nritems; i++) {
		const u8 *d = buf + hdr + i * sizeof(struct d_item);
		u32 off = D_GET32(struct d_item, d, offset);
		u32 size = D_GET32(struct d_item, d, size);

		key_from_disk(&k, d);
		if (i > 0 && key_cmp(&prev, &k) >= 0)
			return WHY("leaf key %u (%llu %u %llu) not above the "
				   "previous one", i,
				   (unsigned long long)k.objectid, k.type,
				   (unsigned long long)k.offset);
		if (off > data_size || size > data_size - off ||
		    off + size != expect_end)
			return WHY("leaf item %u data [%u, +%u) misplaced", i,
				   off, size);
		if (off < (i + 1) * sizeof(struct d_item))
			return WHY("leaf item %u data overlaps item headers",
				   i);
		ret = check_item(fs, &k, buf + hdr + off, size, why, whylen);
		if (ret) {
			size_t n = strlen(why);

			snprintf(why + n, whylen - n, " (item %u)", i);
			return ret;
		}
		expect_end = off;
		prev = k;
	}
	return 0;
}

/* The last commit's generation: a block is read from disk under any lock
 * or none, while a commit sets it under commit_root_sem. */
static u64 last_commit(const struct fs_info *fs)
{
	return __atomic_load_n(&fs->generation, __ATOMIC_ACQUIRE);
}

/*
 * The newest generation a block may carry: the last commit's, or the one
 * after it for a tree-log block (the log is written by the transaction
 * that had not committed yet; see tree_log.c).
 */
static u64 gen_bound(const struct fs_info *fs, const u8 *buf)
{
	return last_commit(fs) +
	       (D_GET64(struct d_header, buf, owner) == BTRFS_TREE_LOG_OBJECTID);
}

/* Check a node's pointer count, key order and child pointers. */
static int check_node(const struct fs_info *fs, const u8 *buf, u32 nritems,
		      char *why, size_t whylen)
{
	const u32 max = (fs->nodesize - sizeof(struct d_header)) /
			sizeof(struct d_key_ptr);
	struct key prev, k;
	u32 i;

	if (nritems == 0 || nritems > max)
		return WHY("node has %u pointers (1..%u allowed)", nritems,
			   max);
	for (i = 0; i < nritems; i++) {
		const u8 *d = buf + sizeof(struct d_header) +
			      i * sizeof(struct d_key_ptr);
		u64 ptr = D_GET64(struct d_key_ptr, d, blockptr);
		u64 gen = D_GET64(struct d_key_ptr, d, generation);

		key_from_disk(&k, d);
		if (i > 0 && key_cmp(&prev, &k) >= 0)
			return WHY("node key %u not above the previous one", i);
		if (ptr == 0 || ptr % fs->sectorsize)
			return WHY("node pointer %u to unaligned block %llu", i,
				   (unsigned long long)ptr);
		if (gen == 0 || gen > gen_bound(fs, buf))
			return WHY("node pointer %u generation %llu (super "
				   "%llu)", i, (unsigned long long)gen,
				   (unsigned long long)last_commit(fs));
		prev = k;
	}
	return 0;
}

/*
 * Verify what a block says about itself. buf holds fs->nodesize bytes read
 * for logical address bytenr. Returns 0 or -EUCLEAN with the reason in why.
 */
int tree_check_block(const struct fs_info *fs, const u8 *buf, u64 bytenr,
		     char *why, size_t whylen)
{
	u64 hdr_bytenr = D_GET64(struct d_header, buf, bytenr);
	u64 gen = D_GET64(struct d_header, buf, generation);
	u64 flags = D_GET64(struct d_header, buf, flags);
	u32 nritems = D_GET32(struct d_header, buf, nritems);
	u8 level = D_GET8(struct d_header, buf, level);
	u8 got[BTRFS_CSUM_SIZE];
	char want_hex[2 * BTRFS_CSUM_SIZE + 1], got_hex[sizeof(want_hex)];

	if (!csum_header_match(fs->csum_type, buf, fs->nodesize, got)) {
		csum_hex(buf, fs->csum_size, want_hex);
		csum_hex(got, fs->csum_size, got_hex);
		return WHY("%s checksum mismatch (stored 0x%s, computed 0x%s)",
			   csum_type_name(fs->csum_type), want_hex, got_hex);
	}
	if (hdr_bytenr != bytenr)
		return WHY("header bytenr %llu", (unsigned long long)hdr_bytenr);
	if (memcmp(D_PTR(struct d_header, buf, fsid), fs->meta_fsid,
		   BTRFS_FSID_SIZE))
		return WHY("fsid does not match the superblock");
	if (gen == 0 || gen > gen_bound(fs, buf))
		return WHY("generation %llu (super %llu)",
			   (unsigned long long)gen,
			   (unsigned long long)last_commit(fs));
	if ((flags >> BTRFS_BACKREF_REV_SHIFT) != BTRFS_MIXED_BACKREF_REV)
		return WHY("backref revision %llu",
			   (unsigned long long)(flags >>
						BTRFS_BACKREF_REV_SHIFT));
	if (level >= BTRFS_MAX_LEVEL)
		return WHY("level %u", level);
	if (level == 0)
		return check_leaf(fs, buf, nritems, why, whylen);
	return check_node(fs, buf, nritems, why, whylen);
}

/*
 * Whether a block owned by owner may sit in tree. Subvolume trees share
 * blocks after a snapshot, so any subvolume tree may own a block of one.
 * A relocation tree is a snapshot balance takes of a subvolume tree or
 * of the data relocation tree, so it holds blocks of those and its own.
 * Every other tree owns its blocks outright.
 */
static int owner_fits(u64 owner, u64 tree)
{
	if (tree_check_is_subvol_tree(tree))
		return tree_check_is_subvol_tree(owner);
	if (tree == BTRFS_TREE_RELOC_OBJECTID)
		return owner == tree || owner == BTRFS_DATA_RELOC_TREE_OBJECTID ||
		       tree_check_is_subvol_tree(owner);
	return owner == tree;
}

/*
 * Verify a block against what its referrer recorded: level, generation,
 * owner (owner_fits) and (when known) first key.
 */
int tree_check_expect(const struct fs_info *fs, const u8 *buf,
		      const struct tb_expect *exp, char *why, size_t whylen)
{
	u64 gen = D_GET64(struct d_header, buf, generation);
	u64 owner = D_GET64(struct d_header, buf, owner);
	u8 level = D_GET8(struct d_header, buf, level);
	struct key k;

	(void)fs;
	if (level != exp->level)
		return WHY("level %u, parent says %u", level, exp->level);
	if (gen != exp->generation)
		return WHY("generation %llu, parent says %llu",
			   (unsigned long long)gen,
			   (unsigned long long)exp->generation);
	if (!owner_fits(owner, exp->owner))
		return WHY("owner %llu in tree %llu", (unsigned long long)owner,
			   (unsigned long long)exp->owner);
	/* Only the header fields above are fixed for a block the running
	 * transaction is changing: tree_block.c checks no more of one
	 * (a writer may hold it without its parent). */
	if (!exp->has_first_key)
		return 0;
	if (D_GET32(struct d_header, buf, nritems) == 0)
		return WHY("empty block below a node");
	key_from_disk(&k, buf + sizeof(struct d_header));
	if (key_cmp(&k, &exp->first_key))
		return WHY("first key (%llu %u %llu), parent says (%llu %u "
			   "%llu)", (unsigned long long)k.objectid, k.type,
			   (unsigned long long)k.offset,
			   (unsigned long long)exp->first_key.objectid,
			   exp->first_key.type,
			   (unsigned long long)exp->first_key.offset);
	return 0;
}
