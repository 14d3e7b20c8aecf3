/*
 * The checksum algorithms of btrfs (the superblock's csum_type). See
 * csum_type.c.
 */
#ifndef FS_CSUM_TYPE_H
#define FS_CSUM_TYPE_H

#include <stddef.h>

#include "format.h"

u32 csum_type_size(u16 type);
const char *csum_type_name(u16 type);
int csum_type_parse(const char *name, u16 *type);
void csum_compute(u16 type, const void *buf, size_t len,
		  u8 out[BTRFS_CSUM_SIZE]);
void csum_header_set(u16 type, u8 *buf, size_t len);
int csum_header_match(u16 type, const u8 *buf, size_t len, u8 *got);
void csum_hex(const u8 *csum, u32 size, char out[2 * BTRFS_CSUM_SIZE + 1]);

#endif
