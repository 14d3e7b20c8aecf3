/*
 * btrfs's four checksum algorithms, chosen per filesystem by the
 * superblock's csum_type and used alike for the superblock, every tree
 * block header and every data sector in the csum tree:
 *
 *   type  name      bytes  stored as
 *   0     crc32c      4    CRC-32C, little-endian (lib/crc32c.c)
 *   1     xxhash64    8    XXH64 with seed 0, little-endian (xxhash.h of
 *                          Debian's libxxhash-dev, header-only)
 *   2     sha256     32    the digest as is (sha2.c of Debian's libmd
 *                          source package, through lib/sha256.c)
 *   3     blake2     32    BLAKE2b-256, unkeyed (blake2b-ref.c from
 *                          Debian's libb2 source package)
 *
 * A checksum occupies the first csum_type_size() bytes of a 32-byte slot
 * (superblock and tree block headers); the rest of the slot is zero.
 * Directory name hashes and extent data ref hashes are crc32c whatever
 * the type: that is btrfs's format, and they do not come here.
 *
 * build/hashes (scripts/build-hashes.sh) holds xxhash.h and the BLAKE2
 * and SHA-2 sources; lib/blake2b.c and lib/libmd_sha2.c compile those.
 */
#include <string.h>
#include <strings.h>

#include <ghee/errno.h>

#define XXH_INLINE_ALL
#include <xxhash.h>
#include <blake2.h>

#include "../lib/crc32c.h"
#include "../lib/sha256.h"
#include "csum_type.h"

/* Bytes of a checksum of this type; 0 for a type ghee does not know. */
u32 csum_type_size(u16 type)
{
	switch (type) {
	case BTRFS_CSUM_TYPE_CRC32:
		return 4;
	case BTRFS_CSUM_TYPE_XXHASH:
		return 8;
	case BTRFS_CSUM_TYPE_SHA256:
	case BTRFS_CSUM_TYPE_BLAKE2:
		return 32;
	default:
		return 0;
	}
}

/* Name of a checksum type as btrfs-progs prints it. */
const char *csum_type_name(u16 type)
{
	switch (type) {
	case BTRFS_CSUM_TYPE_CRC32:
		return "crc32c";
	case BTRFS_CSUM_TYPE_XXHASH:
		return "xxhash64";
	case BTRFS_CSUM_TYPE_SHA256:
		return "sha256";
	case BTRFS_CSUM_TYPE_BLAKE2:
		return "blake2";
	default:
		return "unknown";
	}
}

/*
 * Parse a type name as mkfs.btrfs --csum does: crc32c, xxhash (or
 * xxhash64), sha256, blake2 (or blake2b), any case. 0 or -EINVAL.
 */
int csum_type_parse(const char *name, u16 *type)
{
	static const struct { const char *name; u16 type; } names[] = {
		{ "crc32c", BTRFS_CSUM_TYPE_CRC32 },
		{ "xxhash", BTRFS_CSUM_TYPE_XXHASH },
		{ "xxhash64", BTRFS_CSUM_TYPE_XXHASH },
		{ "sha256", BTRFS_CSUM_TYPE_SHA256 },
		{ "blake2", BTRFS_CSUM_TYPE_BLAKE2 },
		{ "blake2b", BTRFS_CSUM_TYPE_BLAKE2 },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(name, names[i].name)) {
			*type = names[i].type;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * Checksum len bytes of buf with algorithm type (one csum_type_size()
 * accepts) into out: csum_type_size(type) bytes, the rest of the 32
 * zeroed.
 */
void csum_compute(u16 type, const void *buf, size_t len,
		  u8 out[BTRFS_CSUM_SIZE])
{
	memset(out, 0, BTRFS_CSUM_SIZE);
	switch (type) {
	case BTRFS_CSUM_TYPE_CRC32:
		put_le32(out, ~crc32c(~0u, buf, len));
		break;
	case BTRFS_CSUM_TYPE_XXHASH:
		put_le64(out, XXH64(buf, len, 0));
		break;
	case BTRFS_CSUM_TYPE_SHA256:
		sha256(buf, len, out);
		break;
	case BTRFS_CSUM_TYPE_BLAKE2:
		/* Fails only on bad lengths, and these are fixed. */
		(void)blake2b(out, buf, NULL, BTRFS_CSUM_SIZE, len, 0);
		break;
	}
}

/* Set the checksum slot of a block (superblock or tree block) of len
 * bytes: the checksum of bytes 32..len into bytes 0..32. */
void csum_header_set(u16 type, u8 *buf, size_t len)
{
	csum_compute(type, buf + BTRFS_CSUM_SIZE, len - BTRFS_CSUM_SIZE, buf);
}

/*
 * Nonzero when a block's checksum slot holds the checksum of its bytes
 * 32..len (only the type's own bytes are compared, as btrfs does). got
 * (BTRFS_CSUM_SIZE bytes) receives the computed checksum, for messages.
 */
int csum_header_match(u16 type, const u8 *buf, size_t len, u8 *got)
{
	csum_compute(type, buf + BTRFS_CSUM_SIZE, len - BTRFS_CSUM_SIZE, got);
	return !memcmp(got, buf, csum_type_size(type));
}

/* Format size checksum bytes as hex in stored order, as btrfs prints
 * them ("0x" is the caller's). */
void csum_hex(const u8 *csum, u32 size, char out[2 * BTRFS_CSUM_SIZE + 1])
{
	static const char digits[] = "0123456789abcdef";
	u32 i;

	for (i = 0; i < size && i < BTRFS_CSUM_SIZE; i++) {
		out[2 * i] = digits[csum[i] >> 4];
		out[2 * i + 1] = digits[csum[i] & 15];
	}
	out[2 * i] = 0;
}
