/*
 * The compression property of a file or directory (`btrfs property set
 * PATH compression VALUE`), kept as Linux keeps it: the attribute
 * "btrfs.compression" holds VALUE as given ("zlib", "lzo", "zstd",
 * optionally ":LEVEL", or "no"/"none"), and the inode flags follow it:
 * a type sets BTRFS_INODE_COMPRESS and clears NOCOMPRESS, "no" or "none"
 * the reverse, an empty value removes the attribute and clears both.
 * The file writer (file_write.c) compresses a file whose property names
 * a type with that type, at the mount's level when the mount compresses
 * with the same type, else the default level.
 *
 * Locking: a change enters by wctx_begin_file (the inode's lock for
 * write), a read by the writer holds that lock already.
 */
#include <string.h>

#include <ghee/errno.h>

#include "compress.h"
#include "fs_info.h"
#include "internal.h"
#include "subvol.h"
#include "write_common.h"

#define PROP_NAME "btrfs.compression"
#define PROP_MAX 16	/* longest value: "zstd:15" and room */

/* Set the flags of ino's inode item from a property of type (-1: none
 * set), in change w. */
static int set_flags(struct wctx *w, struct fs_ino ino, int type)
{
	u8 ii[sizeof(struct d_inode_item)];
	struct ctree_root *root;
	u64 flags;
	int ret = wctx_root(w, ino.root, &root);

	if (ret == 0)
		ret = inode_item_get(root, ino.ino, ii);
	if (ret)
		return ret;
	flags = D_GET64(struct d_inode_item, ii, flags) &
		~(BTRFS_INODE_COMPRESS | BTRFS_INODE_NOCOMPRESS);
	if (type == BTRFS_COMPRESS_NONE)
		flags |= BTRFS_INODE_NOCOMPRESS;
	else if (type > 0)
		flags |= BTRFS_INODE_COMPRESS;
	D_SET64(struct d_inode_item, ii, flags, flags);
	return inode_item_put(w, root, ino.ino, ii);
}

/*
 * Set ino's compression property to value ("" removes it). Returns 0,
 * -EINVAL (not a compression Linux knows), -EROFS, <0.
 */
int fs_compress_prop_set(struct fs_info *fs, struct fs_ino ino,
			 const char *value)
{
	size_t n = strlen(value);
	struct wctx w;
	int level, ret;
	u8 type = 0;
	u64 bit;

	if (n && (n >= PROP_MAX || compress_parse(value, &type, &level)))
		return -EINVAL;
	ret = wctx_begin_file(fs, &w, ino, 0);
	if (ret)
		return ret;
	ret = xattr_set_in(&w, ino, PROP_NAME, n ? value : NULL, n);
	if (ret == -ENODATA && !n)
		ret = 0;	/* removing what is not there */
	if (ret == 0)
		ret = set_flags(&w, ino, n ? type : -1);
	bit = compress_incompat_bit(type);
	if (ret == 0 && bit)
		put_le64(&fs->super->incompat_flags,
			 get_le64(&fs->super->incompat_flags) | bit);
	wctx_end(&w);
	return ret;
}

/*
 * Read ino's compression property into buf (size bytes, NUL-terminated).
 * 0, -ENODATA (none set), <0.
 */
int fs_compress_prop_get(struct fs_info *fs, struct fs_ino ino, char *buf,
			 size_t size)
{
	const struct subvol_root *sv;
	size_t len;
	int ret;

	if (size == 0)
		return -ERANGE;
	down_read(&fs->ns_lock);
	down_read(inode_lock(fs, ino));
	ret = subvol_get(fs, ino.root, &sv);
	if (ret == 0)
		ret = xattr_get_in(&sv->root, ino.ino, PROP_NAME, buf, size - 1,
				   &len);
	up_read(inode_lock(fs, ino));
	up_read(&fs->ns_lock);
	if (ret == 0)
		buf[len] = 0;
	return ret;
}

/*
 * The compression type the property of ino in root names: 0 when none
 * is set or it says "no". Caller holds the inode's lock.
 */
int compress_prop_type(const struct ctree_root *root, u64 ino, u8 *type)
{
	char v[PROP_MAX];
	size_t len;
	int level, ret = xattr_get_in(root, ino, PROP_NAME, v, sizeof(v) - 1,
				      &len);

	*type = 0;
	if (ret == -ENODATA || ret == -ERANGE)
		return 0;	/* none, or not a value ghee would write */
	if (ret)
		return ret;
	v[len] = 0;
	if (compress_parse(v, type, &level))
		*type = 0;
	return 0;
}
