/*
 * CRC-32C (Castagnoli), the checksum btrfs uses for superblocks, tree blocks,
 * data blocks and directory-name hashes. One implementation for kernel and
 * host: the SSE4.2 crc32 instruction when CPUID reports it, tables otherwise.
 */
#ifndef LIB_CRC32C_H
#define LIB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * Continue a CRC-32C over len bytes. Like Linux's crc32c(): the seed is used
 * as given and the result is not inverted, so a standard CRC-32C of a buffer
 * is ~crc32c(~0u, buf, len) and btrfs's name hash is crc32c(~1u, name, len).
 */
uint32_t crc32c(uint32_t seed, const void *data, size_t len);

/* The same, always with the tables (for tests comparing both paths). */
uint32_t crc32c_sw(uint32_t seed, const void *data, size_t len);

/*
 * crc32c(seed, block, 4096) of a 4 KiB block known only by its standard
 * CRC-32C (~crc32c(~0u, block, 4096), a btrfs data checksum), without
 * reading it: a CRC is linear in its seed and data, so it is the seed
 * carried over 4096 zero bytes (four table lookups) combined with the
 * block's own.
 */
uint32_t crc32c_4k_known(uint32_t seed, uint32_t block_crc);

/* Nonzero when crc32c() uses the SSE4.2 instruction on this CPU. */
int crc32c_has_hw(void);

#endif
