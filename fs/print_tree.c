/*
 * Diagnostics for the shell: dump-super and dump-tree, laid out like
 * btrfs-progs' `btrfs inspect-internal dump-super` and `dump-tree` so the two
 * can be compared line by line where ghee decodes the same fields. Item bodies
 * ghee does not decode are shown by key only. Output goes to the console.
 *
 * The dump walks the tree depth first: a node is printed, then each child in
 * turn. Every block is read through the tree-block cache and so is verified;
 * a corrupt block stops the dump with its error. A deleted subvolume's tree
 * the cleaner is dropping is dumped without the subtrees already dropped
 * (their pointers are printed; their blocks may have been reused).
 */
#include <ghee/errno.h>
#include <stdio.h>

#include <ghee/console.h>
#include <ghee/log.h>

#include "../lib/uuid.h"
#include "fs.h"
#include "cleaner.h"
#include "csum_type.h"
#include "fs_info.h"
#include "subvol.h"
#include "super.h"
#include "tree_check.h"
#include "volumes.h"

struct name_map {
	u64 v;
	const char *name;
};

static const struct name_map key_types[] = {
	{ BTRFS_INODE_ITEM_KEY, "INODE_ITEM" },
	{ BTRFS_INODE_REF_KEY, "INODE_REF" },
	{ BTRFS_INODE_EXTREF_KEY, "INODE_EXTREF" },
	{ BTRFS_XATTR_ITEM_KEY, "XATTR_ITEM" },
	{ BTRFS_VERITY_DESC_ITEM_KEY, "VERITY_DESC_ITEM" },
	{ BTRFS_VERITY_MERKLE_ITEM_KEY, "VERITY_MERKLE_ITEM" },
	{ BTRFS_ORPHAN_ITEM_KEY, "ORPHAN_ITEM" },
	{ BTRFS_DIR_LOG_ITEM_KEY, "DIR_LOG_ITEM" },
	{ BTRFS_DIR_LOG_INDEX_KEY, "DIR_LOG_INDEX" },
	{ BTRFS_DIR_ITEM_KEY, "DIR_ITEM" },
	{ BTRFS_DIR_INDEX_KEY, "DIR_INDEX" },
	{ BTRFS_EXTENT_DATA_KEY, "EXTENT_DATA" },
	{ BTRFS_EXTENT_CSUM_KEY, "EXTENT_CSUM" },
	{ BTRFS_ROOT_ITEM_KEY, "ROOT_ITEM" },
	{ BTRFS_ROOT_BACKREF_KEY, "ROOT_BACKREF" },
	{ BTRFS_ROOT_REF_KEY, "ROOT_REF" },
	{ BTRFS_EXTENT_ITEM_KEY, "EXTENT_ITEM" },
	{ BTRFS_METADATA_ITEM_KEY, "METADATA_ITEM" },
	{ BTRFS_TREE_BLOCK_REF_KEY, "TREE_BLOCK_REF" },
	{ BTRFS_EXTENT_DATA_REF_KEY, "EXTENT_DATA_REF" },
	{ BTRFS_SHARED_BLOCK_REF_KEY, "SHARED_BLOCK_REF" },
	{ BTRFS_SHARED_DATA_REF_KEY, "SHARED_DATA_REF" },
	{ BTRFS_BLOCK_GROUP_ITEM_KEY, "BLOCK_GROUP_ITEM" },
	{ BTRFS_FREE_SPACE_INFO_KEY, "FREE_SPACE_INFO" },
	{ BTRFS_FREE_SPACE_EXTENT_KEY, "FREE_SPACE_EXTENT" },
	{ BTRFS_FREE_SPACE_BITMAP_KEY, "FREE_SPACE_BITMAP" },
	{ BTRFS_DEV_EXTENT_KEY, "DEV_EXTENT" },
	{ BTRFS_DEV_ITEM_KEY, "DEV_ITEM" },
	{ BTRFS_CHUNK_ITEM_KEY, "CHUNK_ITEM" },
	{ BTRFS_QGROUP_STATUS_KEY, "QGROUP_STATUS" },
	{ BTRFS_QGROUP_INFO_KEY, "QGROUP_INFO" },
	{ BTRFS_QGROUP_LIMIT_KEY, "QGROUP_LIMIT" },
	{ BTRFS_QGROUP_RELATION_KEY, "QGROUP_RELATION" },
	{ BTRFS_TEMPORARY_ITEM_KEY, "TEMPORARY_ITEM" },
	{ BTRFS_PERSISTENT_ITEM_KEY, "PERSISTENT_ITEM" },
	{ BTRFS_DEV_REPLACE_KEY, "DEV_REPLACE" },
	{ BTRFS_UUID_KEY_SUBVOL, "UUID_KEY_SUBVOL" },
	{ BTRFS_UUID_KEY_RECEIVED_SUBVOL, "UUID_KEY_RECEIVED_SUBVOL" },
	{ BTRFS_STRING_ITEM_KEY, "STRING_ITEM" },
	{ 0, NULL },
};

/* Tree ids by name; also how dump-tree accepts them (lower case). */
static const struct name_map tree_ids[] = {
	{ BTRFS_ROOT_TREE_OBJECTID, "ROOT_TREE" },
	{ BTRFS_EXTENT_TREE_OBJECTID, "EXTENT_TREE" },
	{ BTRFS_CHUNK_TREE_OBJECTID, "CHUNK_TREE" },
	{ BTRFS_DEV_TREE_OBJECTID, "DEV_TREE" },
	{ BTRFS_FS_TREE_OBJECTID, "FS_TREE" },
	{ BTRFS_ROOT_TREE_DIR_OBJECTID, "ROOT_TREE_DIR" },
	{ BTRFS_CSUM_TREE_OBJECTID, "CSUM_TREE" },
	{ BTRFS_QUOTA_TREE_OBJECTID, "QUOTA_TREE" },
	{ BTRFS_UUID_TREE_OBJECTID, "UUID_TREE" },
	{ BTRFS_FREE_SPACE_TREE_OBJECTID, "FREE_SPACE_TREE" },
	{ BTRFS_BLOCK_GROUP_TREE_OBJECTID, "BLOCK_GROUP_TREE" },
	{ BTRFS_BALANCE_OBJECTID, "BALANCE" },
	{ BTRFS_ORPHAN_OBJECTID, "ORPHAN" },
	{ BTRFS_TREE_LOG_OBJECTID, "TREE_LOG" },
	{ BTRFS_TREE_LOG_FIXUP_OBJECTID, "TREE_LOG_FIXUP" },
	{ BTRFS_TREE_RELOC_OBJECTID, "TREE_RELOC" },
	{ BTRFS_DATA_RELOC_TREE_OBJECTID, "DATA_RELOC_TREE" },
	{ BTRFS_EXTENT_CSUM_OBJECTID, "EXTENT_CSUM" },
	{ BTRFS_FREE_SPACE_OBJECTID, "FREE_SPACE" },
	{ BTRFS_FREE_INO_OBJECTID, "FREE_INO" },
	{ BTRFS_MULTIPLE_OBJECTIDS, "MULTIPLE" },
	{ 0, NULL },
};

static const char *map_name(const struct name_map *m, u64 v)
{
	for (; m->name; m++)
		if (m->v == v)
			return m->name;
	return NULL;
}

/* Print an objectid the way btrfs-progs does for this key type. */
static void print_objectid(u64 id, u8 type)
{
	const char *n = NULL;

	if (type == BTRFS_DEV_ITEM_KEY && id == BTRFS_DEV_ITEMS_OBJECTID)
		n = "DEV_ITEMS";
	else if (type == BTRFS_CHUNK_ITEM_KEY &&
		 id == BTRFS_FIRST_CHUNK_TREE_OBJECTID)
		n = "FIRST_CHUNK_TREE";
	else if (type != BTRFS_DEV_EXTENT_KEY &&
		 (id <= BTRFS_BLOCK_GROUP_TREE_OBJECTID ||
		  id >= BTRFS_MULTIPLE_OBJECTIDS) && id != 0)
		n = map_name(tree_ids, id);
	if (n)
		con_printf("%s", n);
	else
		con_printf("%llu", (unsigned long long)id);
}

static void print_key(const struct key *k)
{
	const char *t = map_name(key_types, k->type);

	con_printf("(");
	print_objectid(k->objectid, k->type);
	if (t)
		con_printf(" %s ", t);
	else
		con_printf(" UNKNOWN.%u ", k->type);
	con_printf("%llu)", (unsigned long long)k->offset);
}

/* Print a name, with bytes that are not printable as '?'. */
static void print_name(const u8 *p, u32 len)
{
	char buf[BTRFS_NAME_LEN + 1];
	u32 i;

	if (len > BTRFS_NAME_LEN)
		len = BTRFS_NAME_LEN;
	for (i = 0; i < len; i++)
		buf[i] = (p[i] < 32 || p[i] == 127) ? '?' : (char)p[i];
	buf[len] = 0;
	con_printf("%s", buf);
}

static void print_uuid(const u8 *u)
{
	char text[UUID_TEXT_LEN];

	uuid_text(u, text);
	con_printf("%s", text);
}

static void print_bg_flags(u64 f)
{
	con_printf("%s|%s", fs_space_type_name(f), volumes_profile_name(f));
}

static void print_inode_item(const u8 *p)
{
	con_printf("\t\tgeneration %llu transid %llu size %llu nbytes %llu\n",
		   (unsigned long long)D_GET64(struct d_inode_item, p, generation),
		   (unsigned long long)D_GET64(struct d_inode_item, p, transid),
		   (unsigned long long)D_GET64(struct d_inode_item, p, size),
		   (unsigned long long)D_GET64(struct d_inode_item, p, nbytes));
	con_printf("\t\tblock group %llu mode %o links %u uid %u gid %u "
		   "rdev %llu\n",
		   (unsigned long long)D_GET64(struct d_inode_item, p,
					       block_group),
		   D_GET32(struct d_inode_item, p, mode),
		   D_GET32(struct d_inode_item, p, nlink),
		   D_GET32(struct d_inode_item, p, uid),
		   D_GET32(struct d_inode_item, p, gid),
		   (unsigned long long)D_GET64(struct d_inode_item, p, rdev));
	con_printf("\t\tsequence %llu flags 0x%llx\n",
		   (unsigned long long)D_GET64(struct d_inode_item, p, sequence),
		   (unsigned long long)D_GET64(struct d_inode_item, p, flags));
}

static void print_dir_items(const u8 *p, u32 size)
{
	static const char *const ft[] = { "UNKNOWN", "FILE", "DIR", "CHRDEV",
					  "BLKDEV", "FIFO", "SOCK", "SYMLINK",
					  "XATTR" };
	u32 pos = 0;

	while (pos + sizeof(struct d_dir_item) <= size) {
		const u8 *e = p + pos;
		struct key loc;
		u16 nlen = D_GET16(struct d_dir_item, e, name_len);
		u16 dlen = D_GET16(struct d_dir_item, e, data_len);
		u8 type = D_GET8(struct d_dir_item, e, type);

		key_from_disk(&loc, D_PTR(struct d_dir_item, e, location));
		con_printf("\t\tlocation key ");
		print_key(&loc);
		con_printf(" type %s\n", type < BTRFS_FT_MAX ? ft[type] : "?");
		con_printf("\t\ttransid %llu data_len %u name_len %u\n",
			   (unsigned long long)D_GET64(struct d_dir_item, e,
						       transid), dlen, nlen);
		con_printf("\t\tname: ");
		print_name(e + sizeof(struct d_dir_item), nlen);
		con_printf("\n");
		pos += sizeof(struct d_dir_item) + nlen + dlen;
	}
}

static void print_inode_refs(const u8 *p, u32 size)
{
	u32 pos = 0;

	while (pos + sizeof(struct d_inode_ref) <= size) {
		u16 nlen = D_GET16(struct d_inode_ref, p + pos, name_len);

		con_printf("\t\tindex %llu namelen %u name: ",
			   (unsigned long long)D_GET64(struct d_inode_ref,
						       p + pos, index), nlen);
		print_name(p + pos + sizeof(struct d_inode_ref), nlen);
		con_printf("\n");
		pos += sizeof(struct d_inode_ref) + nlen;
	}
}

static void print_file_extent(const u8 *p, u32 size)
{
	static const char *const types[] = { "inline", "regular", "prealloc" };
	u8 type = D_GET8(struct d_file_extent_item, p, type);

	con_printf("\t\tgeneration %llu type %u (%s)\n",
		   (unsigned long long)D_GET64(struct d_file_extent_item, p,
					       generation), type,
		   type < 3 ? types[type] : "?");
	if (type == BTRFS_FILE_EXTENT_INLINE) {
		con_printf("\t\tinline extent data size %u ram_bytes %llu "
			   "compression %u\n",
			   size - (u32)BTRFS_FILE_EXTENT_INLINE_DATA_START,
			   (unsigned long long)D_GET64(
				   struct d_file_extent_item, p, ram_bytes),
			   D_GET8(struct d_file_extent_item, p, compression));
		return;
	}
	con_printf("\t\textent data disk byte %llu nr %llu\n",
		   (unsigned long long)D_GET64(struct d_file_extent_item, p,
					       disk_bytenr),
		   (unsigned long long)D_GET64(struct d_file_extent_item, p,
					       disk_num_bytes));
	con_printf("\t\textent data offset %llu nr %llu ram %llu\n",
		   (unsigned long long)D_GET64(struct d_file_extent_item, p,
					       offset),
		   (unsigned long long)D_GET64(struct d_file_extent_item, p,
					       num_bytes),
		   (unsigned long long)D_GET64(struct d_file_extent_item, p,
					       ram_bytes));
	con_printf("\t\textent compression %u\n",
		   D_GET8(struct d_file_extent_item, p, compression));
}

static void print_root_item(const u8 *p)
{
	con_printf("\t\tgeneration %llu root_dirid %llu bytenr %llu level %u "
		   "refs %u\n",
		   (unsigned long long)D_GET64(struct d_root_item, p, generation),
		   (unsigned long long)D_GET64(struct d_root_item, p, root_dirid),
		   (unsigned long long)D_GET64(struct d_root_item, p, bytenr),
		   D_GET8(struct d_root_item, p, level),
		   D_GET32(struct d_root_item, p, refs));
	con_printf("\t\tflags 0x%llx\n",
		   (unsigned long long)D_GET64(struct d_root_item, p, flags));
}

static void print_chunk(const u8 *p)
{
	u16 n = D_GET16(struct d_chunk, p, num_stripes), i;

	con_printf("\t\tlength %llu owner %llu stripe_len %llu type ",
		   (unsigned long long)D_GET64(struct d_chunk, p, length),
		   (unsigned long long)D_GET64(struct d_chunk, p, owner),
		   (unsigned long long)D_GET64(struct d_chunk, p, stripe_len));
	print_bg_flags(D_GET64(struct d_chunk, p, type));
	con_printf("\n\t\tnum_stripes %u sub_stripes %u\n", n,
		   D_GET16(struct d_chunk, p, sub_stripes));
	for (i = 0; i < n; i++) {
		const u8 *s = p + sizeof(struct d_chunk) +
			      i * sizeof(struct d_stripe);

		con_printf("\t\t\tstripe %u devid %llu offset %llu\n", i,
			   (unsigned long long)D_GET64(struct d_stripe, s,
						       devid),
			   (unsigned long long)D_GET64(struct d_stripe, s,
						       offset));
	}
}

/* Print the body of one leaf item, for the types ghee decodes. */
static void print_item_body(const struct key *k, const u8 *p, u32 size)
{
	switch (k->type) {
	case BTRFS_INODE_ITEM_KEY:
		print_inode_item(p);
		break;
	case BTRFS_INODE_REF_KEY:
		print_inode_refs(p, size);
		break;
	case BTRFS_DIR_ITEM_KEY:
	case BTRFS_DIR_INDEX_KEY:
	case BTRFS_XATTR_ITEM_KEY:
		print_dir_items(p, size);
		break;
	case BTRFS_EXTENT_DATA_KEY:
		print_file_extent(p, size);
		break;
	case BTRFS_EXTENT_CSUM_KEY:
		con_printf("\t\trange start %llu end %llu length %llu\n",
			   (unsigned long long)k->offset,
			   (unsigned long long)(k->offset + size / 4 * 4096ULL),
			   (unsigned long long)(size / 4 * 4096ULL));
		break;
	case BTRFS_ROOT_ITEM_KEY:
		print_root_item(p);
		break;
	case BTRFS_ROOT_REF_KEY:
	case BTRFS_ROOT_BACKREF_KEY:
		con_printf("\t\troot %s key dirid %llu sequence %llu name ",
			   k->type == BTRFS_ROOT_REF_KEY ? "ref" : "backref",
			   (unsigned long long)D_GET64(struct d_root_ref, p,
						       dirid),
			   (unsigned long long)D_GET64(struct d_root_ref, p,
						       sequence));
		print_name(p + sizeof(struct d_root_ref),
			   D_GET16(struct d_root_ref, p, name_len));
		con_printf("\n");
		break;
	case BTRFS_CHUNK_ITEM_KEY:
		print_chunk(p);
		break;
	case BTRFS_BLOCK_GROUP_ITEM_KEY:
		con_printf("\t\tblock group used %llu chunk_objectid %llu "
			   "flags ", (unsigned long long)D_GET64(
				   struct d_block_group_item, p, used),
			   (unsigned long long)D_GET64(
				   struct d_block_group_item, p,
				   chunk_objectid));
		print_bg_flags(D_GET64(struct d_block_group_item, p, flags));
		con_printf("\n");
		break;
	case BTRFS_EXTENT_ITEM_KEY:
	case BTRFS_METADATA_ITEM_KEY:
		if (size < sizeof(struct d_extent_item))
			break;
		con_printf("\t\trefs %llu gen %llu flags %s\n",
			   (unsigned long long)D_GET64(struct d_extent_item, p,
						       refs),
			   (unsigned long long)D_GET64(struct d_extent_item, p,
						       generation),
			   D_GET64(struct d_extent_item, p, flags) &
			   BTRFS_EXTENT_FLAG_TREE_BLOCK ? "TREE_BLOCK" :
			   "DATA");
		break;
	default:
		break;
	}
}

/* Print a block's two header lines and the fs/chunk UUID lines. */
static void print_header(const struct tree_block *b)
{
	const u8 *h = b->data;
	u32 n = tb_nritems(b);
	u64 flags = D_GET64(struct d_header, h, flags);
	u64 owner = tb_owner(b);
	const char *on = map_name(tree_ids, owner);
	const char *kind = tb_level(b) ? "node" : "leaf";
	u32 used = tb_level(b) ? n * (u32)sizeof(struct d_key_ptr) : 0;
	u32 i;

	for (i = 0; !tb_level(b) && i < n; i++)
		used += (u32)sizeof(struct d_item) + tb_item_size(b, i);
	con_printf("%s %llu ", kind, (unsigned long long)b->start);
	if (tb_level(b))
		con_printf("level %u ", tb_level(b));
	con_printf("items %u free space %u generation %llu owner ", n,
		   b->len - (u32)sizeof(struct d_header) - used,
		   (unsigned long long)tb_generation(b));
	if (on)
		con_printf("%s\n", on);
	else
		con_printf("%llu\n", (unsigned long long)owner);
	con_printf("%s %llu flags 0x%llx(%s) backref revision %llu\n", kind,
		   (unsigned long long)b->start,
		   (unsigned long long)(flags & ((1ULL << 56) - 1)),
		   flags & BTRFS_HEADER_FLAG_WRITTEN ? "WRITTEN" : "none",
		   (unsigned long long)(flags >> BTRFS_BACKREF_REV_SHIFT));
	con_printf("fs uuid ");
	print_uuid(D_PTR(struct d_header, h, fsid));
	con_printf("\nchunk uuid ");
	print_uuid(D_PTR(struct d_header, h, chunk_tree_uuid));
	con_printf("\n");
}

static void print_leaf(const struct tree_block *b)
{
	u32 i, n = tb_nritems(b);

	for (i = 0; i < n; i++) {
		struct key k;

		tb_item_key(b, i, &k);
		con_printf("\titem %u key ", i);
		print_key(&k);
		con_printf(" itemoff %u itemsize %u\n",
			   D_GET32(struct d_item, tb_item_desc(b, i), offset),
			   tb_item_size(b, i));
		print_item_body(&k, tb_item_data(b, i), tb_item_size(b, i));
	}
}

/* How far the cleaner has dropped the tree being dumped. */
struct dump_drop {
	int dead;		/* the tree is being dropped */
	struct key key;		/* its drop_progress */
	u8 level;		/* its drop_level */
};

/* Print block b of tree owner and, for a node, every child below it,
 * but those a drop in progress (d) freed: they may hold anything now. */
static int dump_block(struct fs_info *fs, u64 owner, const struct dump_drop *d,
		      struct tree_block *b)
{
	u32 i, n = tb_nritems(b);
	int ret;

	print_header(b);
	if (tb_level(b) == 0) {
		print_leaf(b);
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct key k;

		tb_node_key(b, i, &k);
		con_printf("\tkey ");
		print_key(&k);
		con_printf(" block %llu gen %llu\n",
			   (unsigned long long)tb_node_blockptr(b, i),
			   (unsigned long long)tb_node_ptr_gen(b, i));
	}
	for (i = 0; i < n; i++) {
		struct tb_expect exp = { owner, tb_node_ptr_gen(b, i),
					 (u8)(tb_level(b) - 1), 1, { 0, 0, 0 } };
		struct tree_block *c;

		if (d->dead && cleaner_child_dropped(b, i, &d->key, d->level))
			continue;
		tb_node_key(b, i, &exp.first_key);
		ret = tree_block_read(fs, tb_node_blockptr(b, i), &exp, &c);
		if (ret)
			return ret;
		ret = dump_block(fs, owner, d, c);
		tree_block_put(c);
		if (ret)
			return ret;
	}
	return 0;
}

/* Turn a tree name ("root", "fs", "csum", "FS_TREE", "256") into an id. */
static int parse_tree_name(const char *s, u64 *id)
{
	static const struct name_map short_names[] = {
		{ 1, "root" }, { 2, "extent" }, { 3, "chunk" }, { 4, "dev" },
		{ 5, "fs" }, { 7, "csum" }, { 8, "quota" }, { 9, "uuid" },
		{ 10, "free-space" }, { 11, "block-group" }, { 0, NULL },
	};
	const struct name_map *m;
	const char *end;

	for (m = short_names; m->name; m++)
		if (!strcmp(s, m->name))
			break;
	if (!m->name)
		for (m = tree_ids; m->name; m++)
			if (!strcmp(s, m->name))
				break;
	if (m->name) {
		*id = m->v;
		return 0;
	}
	*id = 0;
	for (end = s; *end >= '0' && *end <= '9'; end++) {
		if (*id > ((u64)-1 - 9) / 10)
			return -EINVAL;
		*id = *id * 10 + (u64)(*end - '0');
	}
	return (*end || end == s) ? -EINVAL : 0;
}

/*
 * Print tree `tree` (a name or a number) like btrfs inspect-internal
 * dump-tree -t. Returns 0, -EINVAL (unknown name), -ENOENT (no such tree),
 * or the error of a block read.
 */
static int dump_tree_locked(struct fs_info *fs, const char *tree)
{
	struct ctree_root r;
	struct tb_expect exp;
	struct tree_block *b;
	struct dump_drop drop = { 0, { 0, 0, 0 }, 0 };
	u8 item[sizeof(struct d_root_item)];
	u32 size;
	u64 id;
	int ret;

	if (parse_tree_name(tree, &id))
		return -EINVAL;
	if (id == BTRFS_ROOT_TREE_OBJECTID) {
		r = fs->tree_root;
	} else if (id == BTRFS_CHUNK_TREE_OBJECTID) {
		r = fs->chunk_root;
	} else {
		ret = subvol_read_root_item(fs, id, item, &size);
		if (ret)
			return ret;
		ctree_root_init(&r, fs, id,
				D_GET64(struct d_root_item, item, bytenr),
				D_GET64(struct d_root_item, item, generation),
				D_GET8(struct d_root_item, item, level));
		drop.dead = tree_check_is_subvol_tree(id) &&
			    D_GET32(struct d_root_item, item, refs) == 0;
		key_from_disk(&drop.key, D_PTR(struct d_root_item, item,
					       drop_progress));
		drop.level = D_GET8(struct d_root_item, item, drop_level);
	}
	memset(&exp, 0, sizeof(exp));
	exp.owner = id;
	exp.generation = r.generation;
	exp.level = r.level;
	ret = tree_block_read(fs, r.bytenr, &exp, &b);
	if (ret)
		return ret;
	ret = dump_block(fs, id, &drop, b);
	tree_block_put(b);
	return ret;
}

static void print_flag_names(u64 v, const struct super_flag_name *names)
{
	const char *sep = "";

	if (!v)
		return;
	con_printf("\t\t\t( ");
	for (; names->name; names++) {
		if (!(v & names->bit))
			continue;
		con_printf("%s%s", sep, names->name);
		sep = " |\n\t\t\t  ";
		v &= ~names->bit;
	}
	if (v)
		con_printf("%sunknown 0x%llx", sep, (unsigned long long)v);
	con_printf(" )\n");
}

#define SB64(f) ((unsigned long long)get_le64(&sb->f))
#define SB32(f) (get_le32(&sb->f))

/* Print the superblock in use like btrfs inspect-internal dump-super. */
static int dump_super_locked(struct fs_info *fs)
{
	const struct d_super_block *sb = fs->super;
	const u8 *dev = (const u8 *)&sb->dev_item;
	u32 i;

	con_printf("superblock: bytenr=%llu, device=%s\n",
		   (unsigned long long)super_offset(fs->super_mirror),
		   fs->dev->name);
	con_printf("---------------------------------------------------------"
		   "\n");
	con_printf("csum_type\t\t%u (%s)\n", fs->csum_type,
		   csum_type_name(fs->csum_type));
	con_printf("csum_size\t\t%u\n", fs->csum_size);
	con_printf("csum\t\t\t0x");
	for (i = 0; i < fs->csum_size; i++)
		con_printf("%02x", sb->csum[i]);
	con_printf(" [match]\n");
	con_printf("bytenr\t\t\t%llu\n", SB64(bytenr));
	con_printf("flags\t\t\t0x%llx\n", SB64(flags));
	con_printf("magic\t\t\t_BHRfS_M [match]\n");
	con_printf("fsid\t\t\t");
	print_uuid(sb->fsid);
	con_printf("\nmetadata_uuid\t\t");
	print_uuid(fs->meta_fsid);
	con_printf("\nlabel\t\t\t%.*s\n", BTRFS_LABEL_SIZE, sb->label);
	con_printf("generation\t\t%llu\n", SB64(generation));
	con_printf("root\t\t\t%llu\n", SB64(root));
	con_printf("sys_array_size\t\t%u\n", SB32(sys_chunk_array_size));
	con_printf("chunk_root_generation\t%llu\n", SB64(chunk_root_generation));
	con_printf("root_level\t\t%u\n", sb->root_level);
	con_printf("chunk_root\t\t%llu\n", SB64(chunk_root));
	con_printf("chunk_root_level\t%u\n", sb->chunk_root_level);
	con_printf("log_root\t\t%llu\n", SB64(log_root));
	con_printf("log_root_level\t\t%u\n", sb->log_root_level);
	con_printf("total_bytes\t\t%llu\n", SB64(total_bytes));
	con_printf("bytes_used\t\t%llu\n", SB64(bytes_used));
	con_printf("sectorsize\t\t%u\n", SB32(sectorsize));
	con_printf("nodesize\t\t%u\n", SB32(nodesize));
	con_printf("stripesize\t\t%u\n", SB32(stripesize));
	con_printf("root_dir\t\t%llu\n", SB64(root_dir_objectid));
	con_printf("num_devices\t\t%llu\n", SB64(num_devices));
	con_printf("compat_flags\t\t0x%llx\n", SB64(compat_flags));
	con_printf("compat_ro_flags\t\t0x%llx\n", SB64(compat_ro_flags));
	print_flag_names(get_le64(&sb->compat_ro_flags), super_compat_ro_names);
	con_printf("incompat_flags\t\t0x%llx\n", SB64(incompat_flags));
	print_flag_names(get_le64(&sb->incompat_flags), super_incompat_names);
	con_printf("cache_generation\t%llu\n", SB64(cache_generation));
	con_printf("uuid_tree_generation\t%llu\n", SB64(uuid_tree_generation));
	con_printf("dev_item.uuid\t\t");
	print_uuid(D_PTR(struct d_dev_item, dev, uuid));
	con_printf("\ndev_item.fsid\t\t");
	print_uuid(D_PTR(struct d_dev_item, dev, fsid));
	con_printf("\ndev_item.total_bytes\t%llu\n",
		   (unsigned long long)D_GET64(struct d_dev_item, dev,
					       total_bytes));
	con_printf("dev_item.bytes_used\t%llu\n",
		   (unsigned long long)D_GET64(struct d_dev_item, dev,
					       bytes_used));
	con_printf("dev_item.devid\t\t%llu\n",
		   (unsigned long long)D_GET64(struct d_dev_item, dev, devid));
	return 0;
}

/* A tree dump is a search (tree-block locks only); a superblock dump
 * holds trans_sem for read, which keeps the commit from rewriting it. */
int fs_dump_tree(struct fs_info *fs, const char *tree)
{
	return dump_tree_locked(fs, tree);
}

int fs_dump_super(struct fs_info *fs)
{
	int ret;

	down_read(&fs->trans_sem);
	ret = dump_super_locked(fs);
	up_read(&fs->trans_sem);
	return ret;
}
