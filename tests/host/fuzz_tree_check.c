/*
 * libFuzzer target: the tree checker alone (fs/tree_check.c) on one
 * fuzzed tree block.
 *
 * The input is one byte of shape, then the block: bit 0 of the shape
 * picks the node size (0: 4 KiB, 1: 16 KiB), bits 1-2 the checksum type
 * (crc32c, xxhash, sha256, blake2). The block is cut or zero-padded to
 * the node size and given a plausible header: the filesystem's fsid is
 * the block's, the address checked is the one it claims, the last
 * commit its generation, and its checksum is made fresh; so the
 * mutations reach the layout, key order and item checks. A block that
 * passes is checked again against what a referrer would expect of it
 * (its owner, generation, level and first key). Any crash or sanitizer
 * report is a bug; the checker must only ever say -EUCLEAN and why.
 *
 * tests/host/fuzz_seed.py --blocks cuts seeds out of real images.
 * Built by tests/host/fuzz.sh (clang, -fsanitize=fuzzer).
 */
#include <ghee/errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../fs/csum_type.h"
#include "../../fs/fs_info.h"
#include "../../fs/tree_check.h"

static const u16 csum_types[] = {
	BTRFS_CSUM_TYPE_CRC32, BTRFS_CSUM_TYPE_XXHASH,
	BTRFS_CSUM_TYPE_SHA256, BTRFS_CSUM_TYPE_BLAKE2,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fs_info fs;
	static u8 buf[16384];
	struct tb_expect exp;
	char why[256];
	u32 hdr = sizeof(struct d_header), nritems;

	if (size < 1)
		return 0;
	fs.nodesize = data[0] & 1 ? 16384 : 4096;
	fs.sectorsize = 4096;
	fs.csum_type = csum_types[data[0] >> 1 & 3];
	fs.csum_size = csum_type_size(fs.csum_type);
	memset(buf, 0, sizeof(buf));
	memcpy(buf, data + 1, size - 1 < fs.nodesize ? size - 1 : fs.nodesize);
	memcpy(fs.meta_fsid, D_PTR(struct d_header, buf, fsid),
	       BTRFS_FSID_SIZE);
	fs.generation = D_GET64(struct d_header, buf, generation);
	csum_header_set(fs.csum_type, buf, fs.nodesize);
	if (tree_check_block(&fs, buf, D_GET64(struct d_header, buf, bytenr),
			     why, sizeof(why))) {
		if (!why[0])
			abort();	/* a refusal must say why */
		return 0;
	}
	memset(&exp, 0, sizeof(exp));
	exp.owner = D_GET64(struct d_header, buf, owner);
	exp.generation = fs.generation;
	exp.level = D_GET8(struct d_header, buf, level);
	nritems = D_GET32(struct d_header, buf, nritems);
	exp.has_first_key = nritems > 0;
	if (nritems)
		key_from_disk(&exp.first_key, buf + hdr);
	if (tree_check_expect(&fs, buf, &exp, why, sizeof(why)) != 0)
		abort();	/* the block is what a referrer expects */
	return 0;
}
