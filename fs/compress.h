/*
 * Compressed extents: the codecs of btrfs's EXTENT_DATA compression byte
 * (zlib, lzo, zstd) with Linux's framing of each. See compress.c.
 */
#ifndef FS_COMPRESS_H
#define FS_COMPRESS_H

#include <stddef.h>

#include "format.h"

/* Uncompressed bytes of one compressed extent, at most (Linux's bound). */
#define COMPRESS_MAX_RAM (128u * 1024)
/* Levels: zlib 1-9 (default 3), zstd 1-15 (default 3); lzo has none. */
#define COMPRESS_LEVEL_DEFAULT 3

struct ctree_root;

const char *compress_name(u8 type);
u64 compress_incompat_bit(u8 type);
int compress_prop_type(const struct ctree_root *root, u64 ino, u8 *type);
int compress_parse(const char *spec, u8 *type, int *level);
int compress_decompress(u8 type, const u8 *src, size_t src_len, u8 *dst,
			size_t dst_len, u32 sectorsize);
int compress_compress(u8 type, int level, const u8 *src, size_t len,
		      u8 *dst, size_t *dst_len, u32 sectorsize);

/* The codecs, one file each (compress_zlib.c, compress_lzo.c,
 * compress_zstd.c); same contracts as compress_compress and
 * compress_decompress. */
int compress_zlib_decompress(const u8 *src, size_t src_len, u8 *dst,
			     size_t dst_len);
int compress_zlib_compress(int level, const u8 *src, size_t len, u8 *dst,
			   size_t *dst_len);
int compress_lzo_decompress(const u8 *src, size_t src_len, u8 *dst,
			    size_t dst_len, u32 sectorsize);
int compress_lzo_compress(const u8 *src, size_t len, u8 *dst,
			  size_t *dst_len, u32 sectorsize);
int compress_zstd_decompress(const u8 *src, size_t src_len, u8 *dst,
			     size_t dst_len);
int compress_zstd_compress(int level, const u8 *src, size_t len, u8 *dst,
			   size_t *dst_len);

#endif
