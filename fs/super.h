/*
 * Superblock: read, verify, pick a copy, check feature flags. See super.c.
 */
#ifndef FS_SUPER_H
#define FS_SUPER_H

#include <ghee/blk.h>

#include "format.h"

/* Byte offset of superblock copy i (0 primary, 1 at 64 MiB, 2 at 256 GiB). */
static inline u64 super_offset(int i)
{
	return i == 0 ? BTRFS_SUPER_INFO_OFFSET
		      : 16384ULL << (BTRFS_SUPER_MIRROR_SHIFT * i);
}

/* One named feature bit, for messages and dump-super. */
struct super_flag_name {
	u64 bit;
	const char *name;
};

extern const struct super_flag_name super_incompat_names[];
extern const struct super_flag_name super_compat_ro_names[];

int super_read(struct blkdev *dev, struct d_super_block **out, int *mirror);
int super_check_features(const struct d_super_block *sb);

#endif
