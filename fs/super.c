/*
 * Superblock handling. A btrfs device carries up to three copies of the
 * 4 KiB superblock (64 KiB, 64 MiB, 256 GiB; a copy exists only where the
 * device is large enough). Mount uses the primary when it is valid. When it
 * is not, the valid backup with the highest generation is used, with a
 * warning naming what was wrong with the primary.
 *
 * A copy is valid when its magic, checksum (of its csum_type, csum_type.c)
 * and recorded bytenr are right and its geometry (sector and node sizes,
 * chunk array size, root levels) is sane; fields that later code divides by
 * or indexes with are all checked here.
 */
#include <ghee/errno.h>
#include <stdio.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "csum_type.h"
#include "super.h"

#define WHY(...) (snprintf(why, whylen, __VA_ARGS__), -EUCLEAN)

const struct super_flag_name super_incompat_names[] = {
	{ BTRFS_FEATURE_INCOMPAT_MIXED_BACKREF, "mixed_backref" },
	{ BTRFS_FEATURE_INCOMPAT_DEFAULT_SUBVOL, "default_subvol" },
	{ BTRFS_FEATURE_INCOMPAT_MIXED_GROUPS, "mixed_groups" },
	{ BTRFS_FEATURE_INCOMPAT_COMPRESS_LZO, "compress_lzo" },
	{ BTRFS_FEATURE_INCOMPAT_COMPRESS_ZSTD, "compress_zstd" },
	{ BTRFS_FEATURE_INCOMPAT_BIG_METADATA, "big_metadata" },
	{ BTRFS_FEATURE_INCOMPAT_EXTENDED_IREF, "extended_iref" },
	{ BTRFS_FEATURE_INCOMPAT_RAID56, "raid56" },
	{ BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA, "skinny_metadata" },
	{ BTRFS_FEATURE_INCOMPAT_NO_HOLES, "no_holes" },
	{ BTRFS_FEATURE_INCOMPAT_METADATA_UUID, "metadata_uuid" },
	{ BTRFS_FEATURE_INCOMPAT_RAID1C34, "raid1c34" },
	{ BTRFS_FEATURE_INCOMPAT_ZONED, "zoned" },
	{ BTRFS_FEATURE_INCOMPAT_EXTENT_TREE_V2, "extent_tree_v2" },
	{ BTRFS_FEATURE_INCOMPAT_RAID_STRIPE_TREE, "raid_stripe_tree" },
	{ BTRFS_FEATURE_INCOMPAT_SIMPLE_QUOTA, "simple_quota" },
	{ 0, NULL },
};

const struct super_flag_name super_compat_ro_names[] = {
	{ BTRFS_FEATURE_COMPAT_RO_FREE_SPACE_TREE, "free_space_tree" },
	{ BTRFS_FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID,
	  "free_space_tree_valid" },
	{ BTRFS_FEATURE_COMPAT_RO_VERITY, "verity" },
	{ BTRFS_FEATURE_COMPAT_RO_BLOCK_GROUP_TREE, "block_group_tree" },
	{ 0, NULL },
};

/*
 * Incompat features the read path handles. Compression is accepted at mount
 * (uncompressed files read fine); reading a compressed extent fails with
 * -EOPNOTSUPP. Mixed block groups only change which chunk holds what.
 */
#define SUPPORTED_INCOMPAT                                                  \
	(BTRFS_FEATURE_INCOMPAT_MIXED_BACKREF |                             \
	 BTRFS_FEATURE_INCOMPAT_DEFAULT_SUBVOL |                            \
	 BTRFS_FEATURE_INCOMPAT_MIXED_GROUPS |                              \
	 BTRFS_FEATURE_INCOMPAT_COMPRESS_LZO |                              \
	 BTRFS_FEATURE_INCOMPAT_COMPRESS_ZSTD |                             \
	 BTRFS_FEATURE_INCOMPAT_BIG_METADATA |                              \
	 BTRFS_FEATURE_INCOMPAT_EXTENDED_IREF |                             \
	 BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA |                           \
	 BTRFS_FEATURE_INCOMPAT_NO_HOLES |                                  \
	 BTRFS_FEATURE_INCOMPAT_METADATA_UUID)

static int is_pow2(u64 v)
{
	return v && !(v & (v - 1));
}

/* Check sizes and levels that later code relies on. */
static int check_geometry(const struct d_super_block *sb, char *why,
			  size_t whylen)
{
	u32 sectorsize = get_le32(&sb->sectorsize);
	u32 nodesize = get_le32(&sb->nodesize);

	if (!is_pow2(sectorsize) || sectorsize < 4096 || sectorsize > 65536)
		return WHY("bad sectorsize %u", sectorsize);
	if (!is_pow2(nodesize) || nodesize < sectorsize ||
	    nodesize < BTRFS_MIN_NODESIZE || nodesize > BTRFS_MAX_NODESIZE)
		return WHY("bad nodesize %u", nodesize);
	if (get_le32(&sb->sys_chunk_array_size) >
	    BTRFS_SYSTEM_CHUNK_ARRAY_SIZE)
		return WHY("bad sys_chunk_array_size %u",
			   get_le32(&sb->sys_chunk_array_size));
	if (sb->root_level >= BTRFS_MAX_LEVEL ||
	    sb->chunk_root_level >= BTRFS_MAX_LEVEL)
		return WHY("bad root level %u or chunk root level %u",
			   sb->root_level, sb->chunk_root_level);
	if (get_le64(&sb->root) % sectorsize ||
	    get_le64(&sb->chunk_root) % sectorsize)
		return WHY("unaligned root %llu or chunk root %llu",
			   (unsigned long long)get_le64(&sb->root),
			   (unsigned long long)get_le64(&sb->chunk_root));
	if (get_le64(&sb->generation) == 0)
		return WHY("generation 0");
	return 0;
}

/*
 * Check one copy read from byte offset off. Returns 0 or -EUCLEAN with the
 * reason in why; -EINVAL (not btrfs) when the magic is missing.
 */
static int super_validate(const struct d_super_block *sb, u64 off, char *why,
			  size_t whylen)
{
	u16 csum_type = get_le16(&sb->csum_type);
	u8 got[BTRFS_CSUM_SIZE];
	char want_hex[2 * BTRFS_CSUM_SIZE + 1], got_hex[sizeof(want_hex)];

	if (get_le64(&sb->magic) != BTRFS_MAGIC) {
		snprintf(why, whylen, "no btrfs magic");
		return -EINVAL;
	}
	if (!csum_type_size(csum_type)) {
		snprintf(why, whylen, "checksum type %u is not supported "
			 "(crc32c, xxhash64, sha256, blake2)", csum_type);
		return -EOPNOTSUPP;
	}
	if (!csum_header_match(csum_type, (const u8 *)sb,
			       BTRFS_SUPER_INFO_SIZE, got)) {
		csum_hex(sb->csum, csum_type_size(csum_type), want_hex);
		csum_hex(got, csum_type_size(csum_type), got_hex);
		return WHY("%s checksum mismatch (stored 0x%s, computed 0x%s)",
			   csum_type_name(csum_type), want_hex, got_hex);
	}
	if (get_le64(&sb->bytenr) != off)
		return WHY("bytenr %llu, copy is at %llu",
			   (unsigned long long)get_le64(&sb->bytenr),
			   (unsigned long long)off);
	return check_geometry(sb, why, whylen);
}

/* Read and check copy i into sb. Returns 0, -ENXIO if absent, or error. */
static int read_copy(struct blkdev *dev, int i, struct d_super_block *sb,
		     char *why, size_t whylen)
{
	u64 off = super_offset(i);
	int ret;

	if (off + BTRFS_SUPER_INFO_SIZE > dev->size) {
		snprintf(why, whylen, "device too small for this copy");
		return -ENXIO;
	}
	ret = blk_read(dev, off, sb, BTRFS_SUPER_INFO_SIZE);
	if (ret) {
		snprintf(why, whylen, "read error %d", ret);
		return ret;
	}
	return super_validate(sb, off, why, whylen);
}

/* Pick the valid backup with the highest generation into sb. */
static int read_best_backup(struct blkdev *dev, struct d_super_block *sb,
			    int *mirror)
{
	struct d_super_block *tmp = kmalloc(sizeof(*tmp));
	char why[256];
	int i, best = -1;

	if (!tmp)
		return -ENOMEM;
	for (i = 1; i < BTRFS_SUPER_MIRROR_MAX; i++) {
		int ret = read_copy(dev, i, tmp, why, sizeof(why));

		if (ret == -ENXIO)
			break;
		if (ret) {
			pr_warn("%s: superblock copy %d at %llu: %s", dev->name,
				i, (unsigned long long)super_offset(i), why);
			continue;
		}
		if (best < 0 || get_le64(&tmp->generation) >
		    get_le64(&sb->generation)) {
			memcpy(sb, tmp, sizeof(*sb));
			best = i;
		}
	}
	kfree(tmp);
	if (best < 0)
		return -EUCLEAN;
	*mirror = best;
	return 0;
}

/*
 * Read the superblock to use. On success *out is a kmalloc'ed copy and
 * *mirror says which one it is. Returns -EINVAL with a message when the
 * device holds no btrfs, -EIO when the primary copy cannot be read and
 * no backup is good, -EOPNOTSUPP for a checksum type btrfs does not
 * define.
 */
int super_read(struct blkdev *dev, struct d_super_block **out, int *mirror)
{
	struct d_super_block *sb = kmalloc(sizeof(*sb));
	char why[256];
	int ret, primary;

	if (!sb)
		return -ENOMEM;
	ret = read_copy(dev, 0, sb, why, sizeof(why));
	if (ret == 0) {
		*mirror = 0;
		*out = sb;
		return 0;
	}
	if (ret == -EOPNOTSUPP || ret == -ENXIO) {
		pr_err("%s: %s", dev->name, ret == -ENXIO ?
		       "device too small to hold btrfs" : why);
		kfree(sb);
		return ret == -ENXIO ? -EINVAL : ret;
	}
	pr_warn("%s: primary superblock at %llu is bad: %s", dev->name,
		(unsigned long long)super_offset(0), why);
	primary = ret;
	ret = read_best_backup(dev, sb, mirror);
	if (ret) {
		pr_err("%s: no valid btrfs superblock (primary: %s)",
		       dev->name, why);
		kfree(sb);
		/* a device that cannot be read is no device without btrfs */
		return ret == -ENOMEM ? ret : primary == -EIO ? -EIO : -EINVAL;
	}
	pr_warn("%s: using backup superblock copy %d at %llu (generation "
		"%llu)", dev->name, *mirror,
		(unsigned long long)super_offset(*mirror),
		(unsigned long long)get_le64(&sb->generation));
	*out = sb;
	return 0;
}

/*
 * Refuse what the read path cannot handle, naming it: unknown or unsupported
 * incompat flags, several devices, seed devices. A metadata dump (restored
 * by btrfs-image -r) passes: it mounts read-only, without file data.
 */
int super_check_features(const struct d_super_block *sb)
{
	u64 bad = get_le64(&sb->incompat_flags) & ~SUPPORTED_INCOMPAT;
	u64 flags = get_le64(&sb->flags);
	int i;

	if (bad) {
		for (i = 0; super_incompat_names[i].name; i++)
			if (bad & super_incompat_names[i].bit)
				break;
		if (super_incompat_names[i].name)
			pr_err("unsupported incompat feature: %s",
			       super_incompat_names[i].name);
		else
			pr_err("unsupported incompat feature bits 0x%llx",
			       (unsigned long long)bad);
		return -EOPNOTSUPP;
	}
	if (get_le64(&sb->num_devices) != 1) {
		pr_err("filesystem has %llu devices; only single-device "
		       "filesystems are supported",
		       (unsigned long long)get_le64(&sb->num_devices));
		return -EOPNOTSUPP;
	}
	if (flags & (BTRFS_SUPER_FLAG_SEEDING |
		     BTRFS_SUPER_FLAG_CHANGING_FSID |
		     BTRFS_SUPER_FLAG_CHANGING_FSID_V2)) {
		pr_err("unsupported superblock flags 0x%llx (seed device or "
		       "fsid change in progress)",
		       (unsigned long long)flags);
		return -EOPNOTSUPP;
	}
	return 0;
}
