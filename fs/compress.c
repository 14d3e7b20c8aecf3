/*
 * Compressed extents. An EXTENT_DATA item whose compression byte is 1
 * (zlib), 2 (lzo) or 3 (zstd) holds compressed bytes: inline in the item,
 * or in a disk extent of disk_num_bytes (the compressed size rounded up to
 * whole sectors, zero-padded). ram_bytes is the size of the whole
 * uncompressed extent, at most COMPRESS_MAX_RAM; the item's offset and
 * num_bytes select the part of that uncompressed extent the file uses.
 * Data checksums cover the compressed bytes as they sit on disk, so an
 * extent is read whole, checked, then inflated.
 *
 * Each codec is the real library, built from Debian's source packages
 * (scripts/build-codecs.sh), used with the framing Linux gives it:
 *  - zlib: one zlib stream (header and Adler-32), deflate's window of
 *    32 KiB, levels 1-9;
 *  - lzo: a 4-byte little-endian total length (itself included), then per
 *    sector of input a 4-byte length and the lzo1x_1 output of that
 *    sector; a length never straddles a sector boundary: when fewer than
 *    4 bytes of a sector are left after a segment they are zero padding;
 *  - zstd: one zstd frame with a window of at most 128 KiB (2^17, what
 *    Linux's decompressor accepts), levels 1-15.
 * Decompression fills exactly the bytes asked for: output the stream does
 * not reach reads as zeros (as Linux reads it), output beyond is cut off.
 * Compression fails with -E2BIG when the result would not fit the room
 * the caller gives (Linux's test of whether compressing is worth it).
 *
 * The codecs allocate with kmalloc (their allocator hooks) and hold no
 * state between calls, so any number of tasks may call them at once.
 */
#include <string.h>

#include <ghee/errno.h>

#include "compress.h"
#include "fs.h"

/* Name of a compression type as btrfs-progs and Linux spell it. */
const char *compress_name(u8 type)
{
	switch (type) {
	case BTRFS_COMPRESS_NONE:
		return "none";
	case BTRFS_COMPRESS_ZLIB:
		return "zlib";
	case BTRFS_COMPRESS_LZO:
		return "lzo";
	case BTRFS_COMPRESS_ZSTD:
		return "zstd";
	default:
		return "unknown";
	}
}

/* The incompat flag a filesystem holding extents of type needs. */
u64 compress_incompat_bit(u8 type)
{
	if (type == BTRFS_COMPRESS_LZO)
		return BTRFS_FEATURE_INCOMPAT_COMPRESS_LZO;
	if (type == BTRFS_COMPRESS_ZSTD)
		return BTRFS_FEATURE_INCOMPAT_COMPRESS_ZSTD;
	return 0;
}

/* Parse digits into *out (1..max); 0 or -EINVAL. */
static int parse_level(const char *s, int max, int *out)
{
	int v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > max)
			return -EINVAL;
		v = v * 10 + (*s - '0');
	}
	if (v < 1 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * Parse a compression spec as Linux's mount option and btrfs property
 * take it: "zlib", "lzo", "zstd", optionally ":LEVEL" (zlib 1-9, zstd
 * 1-15), or "no"/"none" (type 0). "zlib" alone is level 3, like "zstd".
 * Returns 0 or -EINVAL.
 */
int compress_parse(const char *spec, u8 *type, int *level)
{
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);

	*level = COMPRESS_LEVEL_DEFAULT;
	if ((n == 2 && !strncmp(spec, "no", 2)) ||
	    (n == 4 && !strncmp(spec, "none", 4))) {
		*type = BTRFS_COMPRESS_NONE;
		return colon ? -EINVAL : 0;
	}
	if (n == 3 && !strncmp(spec, "lzo", 3)) {
		*type = BTRFS_COMPRESS_LZO;
		*level = 0;
		return colon ? -EINVAL : 0;
	}
	if (n == 4 && !strncmp(spec, "zlib", 4))
		*type = BTRFS_COMPRESS_ZLIB;
	else if (n == 4 && !strncmp(spec, "zstd", 4))
		*type = BTRFS_COMPRESS_ZSTD;
	else
		return -EINVAL;
	if (!colon)
		return 0;
	return parse_level(colon + 1, *type == BTRFS_COMPRESS_ZLIB ? 9 : 15,
			   level);
}

/*
 * Inflate src_len bytes of an extent compressed with type into exactly
 * dst_len bytes at dst (the extent's ram_bytes, or fewer). sectorsize is
 * the filesystem's, for lzo's framing. Returns 0, -EUCLEAN (the data is
 * not a valid stream of its type), -EOPNOTSUPP (unknown type), -ENOMEM.
 */
int compress_decompress(u8 type, const u8 *src, size_t src_len, u8 *dst,
			size_t dst_len, u32 sectorsize)
{
	switch (type) {
	case BTRFS_COMPRESS_ZLIB:
		return compress_zlib_decompress(src, src_len, dst, dst_len);
	case BTRFS_COMPRESS_LZO:
		return compress_lzo_decompress(src, src_len, dst, dst_len,
					       sectorsize);
	case BTRFS_COMPRESS_ZSTD:
		return compress_zstd_decompress(src, src_len, dst, dst_len);
	default:
		return -EOPNOTSUPP;
	}
}

/*
 * Compress len bytes (at most COMPRESS_MAX_RAM) of src with type and
 * level into dst. *dst_len is the most bytes the result may take (the
 * caller's test of being worth it: for a disk extent, a sector less than
 * the input rounded up, as Linux asks); it becomes the compressed size.
 * sectorsize is the filesystem's, for lzo's framing. Returns 0, -E2BIG
 * when the result would not fit (store the data plain), -EINVAL (bad type
 * or length), -ENOMEM.
 */
int compress_compress(u8 type, int level, const u8 *src, size_t len,
		      u8 *dst, size_t *dst_len, u32 sectorsize)
{
	if (len == 0 || len > COMPRESS_MAX_RAM)
		return -EINVAL;
	switch (type) {
	case BTRFS_COMPRESS_ZLIB:
		return compress_zlib_compress(level, src, len, dst, dst_len);
	case BTRFS_COMPRESS_LZO:
		return compress_lzo_compress(src, len, dst, dst_len,
					     sectorsize);
	case BTRFS_COMPRESS_ZSTD:
		return compress_zstd_compress(level, src, len, dst, dst_len);
	default:
		return -EINVAL;
	}
}

/*
 * Parse a mount option's compression spec ("zstd:3"; NULL: the bare
 * option, zlib as Linux takes it) into out. 0 or -EINVAL.
 */
int fs_compress_parse(const char *spec, int force, struct fs_compress *out)
{
	int ret = compress_parse(spec ? spec : "zlib", &out->type,
				 &out->level);

	out->force = out->type ? force : 0;
	return ret;
}
