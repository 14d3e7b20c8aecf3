/* fs/format.h: structure sizes and offsets, little-endian helpers, keys. */
#include <stddef.h>
#include <string.h>

#include "../../fs/format.h"
#include "test.h"

TEST(format, sizes_and_offsets)
{
	/* The sizes are also _Static_asserts; these document the offsets
	 * docs/FORMAT.md quotes. */
	CHECK_EQ(sizeof(struct d_super_block), 4096);
	CHECK_EQ(offsetof(struct d_super_block, magic), 0x40);
	CHECK_EQ(offsetof(struct d_super_block, sectorsize), 0x90);
	CHECK_EQ(offsetof(struct d_super_block, incompat_flags), 0xbc);
	CHECK_EQ(offsetof(struct d_super_block, csum_type), 0xc4);
	CHECK_EQ(offsetof(struct d_super_block, dev_item), 0xc9);
	CHECK_EQ(offsetof(struct d_super_block, label), 0x12b);
	CHECK_EQ(offsetof(struct d_super_block, sys_chunk_array), 0x32b);
	CHECK_EQ(offsetof(struct d_super_block, super_roots), 0xb2b);
	CHECK_EQ(offsetof(struct d_header, nritems), 0x60);
	CHECK_EQ(offsetof(struct d_header, level), 0x64);
	CHECK_EQ(offsetof(struct d_root_item, generation_v2), 239);
	CHECK_EQ(BTRFS_FILE_EXTENT_INLINE_DATA_START, 21);
}

TEST(format, le_helpers)
{
	unsigned char b[8];

	put_le64(b, 0x0102030405060708ULL);
	CHECK_EQ(b[0], 0x08);
	CHECK_EQ(b[7], 0x01);
	CHECK_EQ(get_le64(b), 0x0102030405060708ULL);
	put_le32(b + 1, 0xdeadbeef);
	CHECK_EQ(get_le32(b + 1), 0xdeadbeef);
	put_le16(b + 3, 0xabcd);
	CHECK_EQ(get_le16(b + 3), 0xabcd);
}

TEST(format, key_order_and_roundtrip)
{
	struct key a = { 256, BTRFS_INODE_ITEM_KEY, 0 };
	struct key b = { 256, BTRFS_DIR_ITEM_KEY, 5 };
	struct key c = { 257, 0, 0 };
	struct key d;
	unsigned char raw[17];

	CHECK(key_cmp(&a, &b) < 0);
	CHECK(key_cmp(&b, &c) < 0);
	CHECK(key_cmp(&c, &a) > 0);
	CHECK_EQ(key_cmp(&b, &b), 0);
	key_to_disk(raw, &b);
	key_from_disk(&d, raw);
	CHECK_EQ(key_cmp(&b, &d), 0);
	CHECK_EQ(raw[8], BTRFS_DIR_ITEM_KEY);
}
