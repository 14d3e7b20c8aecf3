/*
 * Data checksums from the csum tree. See csum.c.
 */
#ifndef FS_CSUM_H
#define FS_CSUM_H

#include "format.h"

struct fs_info;

int csum_lookup(struct fs_info *fs, u64 logical, u32 nsectors, u8 *sums,
		u8 *present);
void csum_data(const struct fs_info *fs, const void *buf, u32 len, u8 *out);

struct trans;
int csum_insert(struct trans *t, u64 logical, const u8 *data, u64 len);
int csum_insert_sums(struct trans *t, u64 logical, const u8 *sums,
		     u32 nsectors);
int csum_delete(struct trans *t, u64 logical, u64 len);

#endif
