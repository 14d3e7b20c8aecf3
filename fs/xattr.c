/*
 * Extended attributes: set, get, list, remove, with Linux's rules.
 *
 * An attribute is an entry of an XATTR_ITEM, (ino, XATTR_ITEM,
 * dir_name_hash(name)): a d_dir_item with a zero location, type
 * BTRFS_FT_XATTR, name_len and data_len, then the name and the value.
 * Names that hash alike share one item, entry after entry, as directory
 * names do in a DIR_ITEM. Every change rewrites the whole item: the old
 * one is deleted and the new body (the other entries, plus the new one)
 * inserted, so replacing a value, adding beside a colliding name and
 * removing one name are one path. Readers hold the inode's lock for read
 * and a change holds it for write, so nobody sees the item missing.
 *
 * Linux's limits, checked before anything changes:
 *  - names are "user.", "trusted." or "security." followed by at least
 *    one byte (-EINVAL without it); "system." (POSIX ACLs, which ghee does
 *    not interpret) and other prefixes are -EOPNOTSUPP;
 *  - a name is 1..255 bytes (-ERANGE), a value at most 64 KiB (-E2BIG);
 *  - name and value together fit one item of a leaf (btrfs's
 *    BTRFS_MAX_XATTR_SIZE) else -ENOSPC, and so must the item holding
 *    every name of that hash;
 *  - "user." attributes belong to regular files and directories only: a
 *    change elsewhere is -EPERM, a read -ENODATA.
 * A missing name is -ENODATA; XATTR_CREATE of an existing one -EEXIST,
 * XATTR_REPLACE of a missing one -ENODATA; a buffer too small for a
 * value or the name list -ERANGE (size 0 asks for the length only).
 *
 * Locking: a change enters by wctx_begin_file (ns_lock for read, the
 * inode's lock for write, the transaction joined), as a file data write
 * does; a read takes ns_lock and the inode's lock for read.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>

#include "dir.h"
#include "fs_info.h"
#include "internal.h"
#include "write_common.h"

#define DI ((u32)sizeof(struct d_dir_item))

/* Bytes of a leaf one item may take, its header included. */
static u32 max_item(const struct fs_info *fs)
{
	return leaf_capacity(fs->nodesize) - (u32)sizeof(struct d_item);
}

/* Check name against Linux's namespaces and length. */
static int name_ok(const char *name, size_t *len)
{
	static const char *const ok[] = { "user.", "trusted.", "security." };
	size_t i, n = strlen(name);

	*len = n;
	if (n == 0 || n > FS_XATTR_NAME_MAX)
		return -ERANGE;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		size_t p = strlen(ok[i]);

		if (!strncmp(name, ok[i], p))
			return n > p ? 0 : -EINVAL;
	}
	return -EOPNOTSUPP;
}

/* Whether a "user." name may sit on an inode of this mode. */
static int user_ok(const char *name, u32 mode)
{
	u32 type = mode & S_IFMT_;

	return strncmp(name, "user.", 5) || type == S_IFREG_ ||
	       type == S_IFDIR_;
}

/*
 * Copy the XATTR_ITEM of ino at hash into body (max_item bytes); *size
 * gets its size. 0, -ENOENT (no item), <0.
 */
static int item_get(const struct ctree_root *root, u64 ino, u32 hash,
		    u8 *body, u32 *size)
{
	struct key k = { ino, BTRFS_XATTR_ITEM_KEY, hash };
	struct ctree_path p;
	const u8 *d;
	int ret;

	ctree_path_init(&p);
	ret = ctree_lookup(root, &k, &p);
	if (ret == 0) {
		d = ctree_item_ptr(&p, size);
		memcpy(body, d, *size);
	}
	ctree_path_release(&p);
	return ret;
}

/*
 * Find name in an item body: its entry's offset and length, 0; or
 * -ENODATA. Entries were checked when the leaf was read (tree_check.c).
 */
static int entry_find(const u8 *body, u32 size, const char *name,
		      size_t len, u32 *pos, u32 *elen)
{
	u32 at = 0;

	while (at + DI <= size) {
		u32 n = D_GET16(struct d_dir_item, body + at, name_len);
		u32 l = DI + n + D_GET16(struct d_dir_item, body + at,
					 data_len);

		if (n == len && !memcmp(body + at + DI, name, len)) {
			*pos = at;
			*elen = l;
			return 0;
		}
		at += l;
	}
	return -ENODATA;
}

/* Replace the XATTR_ITEM at hash with body (size 0: delete it). had: an
 * item was there. Aborts the transaction on failure. */
static int item_put(struct wctx *w, struct ctree_root *root, u64 ino,
		    u32 hash, int had, const u8 *body, u32 size)
{
	struct key k = { ino, BTRFS_XATTR_ITEM_KEY, hash };
	struct ctree_path p;
	int ret = 0;

	if (had) {
		ctree_path_init(&p);
		ret = ctree_search_write(w->t, root, &k, &p, 0);
		if (ret == 0)
			ret = ctree_del_item(w->t, root, &p);
		else
			ctree_path_release(&p);
		ret = ret == 1 ? -EUCLEAN : ret;
	}
	if (ret == 0 && size)
		ret = ctree_insert_item(w->t, root, &k, body, size);
	if (ret)
		trans_abort(w->t, ret);
	return ret;
}

/* Append the entry name = value to body at *size. */
static void entry_add(struct wctx *w, u8 *body, u32 *size, const char *name,
		      size_t len, const void *value, size_t vlen)
{
	u8 *e = body + *size;

	memset(e, 0, DI);
	D_SET64(struct d_dir_item, e, transid, w->t->transid);
	D_SET16(struct d_dir_item, e, data_len, (u16)vlen);
	D_SET16(struct d_dir_item, e, name_len, (u16)len);
	D_SET8(struct d_dir_item, e, type, BTRFS_FT_XATTR);
	memcpy(e + DI, name, len);
	if (vlen)
		memcpy(e + DI + len, value, vlen);
	*size += DI + (u32)(len + vlen);
}

/* The inode changed: ctime, transid, sequence. */
static int touch(struct wctx *w, struct ctree_root *root, u64 ino, u8 *ii)
{
	inode_touch(w, ii, 0);
	return inode_item_put(w, root, ino, ii);
}

/*
 * Set (value != NULL) or remove (value NULL) attribute name of ino, with
 * its item body in body (max_item bytes). Caller is inside the change.
 */
static int change(struct wctx *w, struct fs_ino ino, const char *name,
		  size_t len, const void *value, size_t vlen, unsigned flags,
		  u8 *body)
{
	u8 ii[sizeof(struct d_inode_item)];
	u32 hash = dir_name_hash(name, len), size = 0, pos, elen;
	struct ctree_root *root;
	int had, found, ret = wctx_root(w, ino.root, &root);

	if (ret == 0)
		ret = inode_item_get(root, ino.ino, ii);
	if (ret)
		return ret;
	if (!user_ok(name, D_GET32(struct d_inode_item, ii, mode)))
		return -EPERM;
	ret = item_get(root, ino.ino, hash, body, &size);
	if (ret && ret != -ENOENT)
		return ret;
	had = ret == 0;
	found = had && entry_find(body, size, name, len, &pos, &elen) == 0;
	if (found && (flags & FS_XATTR_CREATE))
		return -EEXIST;
	if (!found && (!value || (flags & FS_XATTR_REPLACE)))
		return -ENODATA;
	if (found) {
		memmove(body + pos, body + pos + elen, size - pos - elen);
		size -= elen;
	}
	if (value && size + DI + len + vlen > max_item(w->fs))
		return -ENOSPC;	/* the names of this hash fill the item */
	if (value)
		entry_add(w, body, &size, name, len, value, vlen);
	ret = item_put(w, root, ino.ino, hash, had, body, size);
	return ret ? ret : touch(w, root, ino.ino, ii);
}

/* Check a change's arguments, then make it under the inode's lock. */
static int xattr_change(struct fs_info *fs, struct fs_ino ino,
			const char *name, const void *value, size_t vlen,
			unsigned flags)
{
	struct wctx w;
	size_t len;
	u8 *body;
	int ret = name_ok(name, &len);

	if (ret)
		return ret;
	if (flags & ~(unsigned)(FS_XATTR_CREATE | FS_XATTR_REPLACE))
		return -EINVAL;
	if (value && vlen > FS_XATTR_SIZE_MAX)
		return -E2BIG;
	if (value && DI + len + vlen > max_item(fs))
		return -ENOSPC;
	body = kmalloc(max_item(fs));
	if (!body)
		return -ENOMEM;
	ret = wctx_begin_file(fs, &w, ino, value ? 0 : WCTX_FREES);
	if (ret == 0) {
		ret = change(&w, ino, name, len, value, vlen, flags, body);
		wctx_end(&w);
	}
	kfree(body);
	return ret;
}

/*
 * Set attribute name of ino to size bytes of value. flags: 0 (make or
 * replace), FS_XATTR_CREATE, FS_XATTR_REPLACE. Errors: see the top.
 */
int fs_setxattr(struct fs_info *fs, struct fs_ino ino, const char *name,
		const void *value, size_t size, unsigned flags)
{
	if (!value && size)
		return -EINVAL;
	return xattr_change(fs, ino, name, value ? value : "", size, flags);
}

/* Remove attribute name of ino: 0, -ENODATA, or another error. */
int fs_removexattr(struct fs_info *fs, struct fs_ino ino, const char *name)
{
	return xattr_change(fs, ino, name, NULL, 0, 0);
}

/* Take ns_lock and ino's lock for read; *mode gets ino's mode. */
static int read_begin(struct fs_info *fs, struct fs_ino ino, u32 *mode)
{
	struct fs_stat st;
	int ret;

	down_read(&fs->ns_lock);
	down_read(inode_lock(fs, ino));
	ret = inode_stat(fs, ino, &st);
	*mode = st.mode;
	if (ret) {
		up_read(inode_lock(fs, ino));
		up_read(&fs->ns_lock);
	}
	return ret;
}

static void read_end(struct fs_info *fs, struct fs_ino ino)
{
	up_read(inode_lock(fs, ino));
	up_read(&fs->ns_lock);
}

/* Copy n bytes to buf of size (0: only say the length): 0 or -ERANGE. */
static int copy_out(void *buf, size_t size, const void *src, size_t n,
		    size_t *len)
{
	*len = n;
	if (size == 0)
		return 0;
	if (n > size)
		return -ERANGE;
	memcpy(buf, src, n);
	return 0;
}

/*
 * Read attribute name of ino into buf (size bytes; 0 asks for the length
 * only). *len gets the value's length. 0, -ENODATA, -ERANGE, <0.
 */
int fs_getxattr(struct fs_info *fs, struct fs_ino ino, const char *name,
		void *buf, size_t size, size_t *len)
{
	const struct subvol_root *sv;
	u32 mode, bsize = 0, pos, elen;
	size_t n;
	u8 *body;
	int ret = name_ok(name, &n);

	*len = 0;
	if (ret)
		return ret;
	body = kmalloc(max_item(fs));
	if (!body)
		return -ENOMEM;
	ret = read_begin(fs, ino, &mode);
	if (ret) {
		kfree(body);
		return ret;
	}
	ret = user_ok(name, mode) ? subvol_get(fs, ino.root, &sv) : -ENODATA;
	if (ret == 0)
		ret = item_get(&sv->root, ino.ino, dir_name_hash(name, n), body,
			       &bsize);
	if (ret == 0)
		ret = entry_find(body, bsize, name, n, &pos, &elen);
	if (ret == 0)
		ret = copy_out(buf, size, body + pos + DI + n, elen - DI - n,
			       len);
	read_end(fs, ino);
	kfree(body);
	return ret == -ENOENT ? -ENODATA : ret;
}

/* Append each name of one XATTR_ITEM body, NUL-terminated, to buf. */
static int list_item(const u8 *d, u32 size, char *buf, size_t cap,
		     size_t *len)
{
	u32 at = 0;

	while (at + DI <= size) {
		u32 n = D_GET16(struct d_dir_item, d + at, name_len);

		if (cap && *len + n + 1 > cap)
			return -ERANGE;
		if (cap) {
			memcpy(buf + *len, d + at + DI, n);
			buf[*len + n] = 0;
		}
		*len += n + 1;
		at += DI + n + D_GET16(struct d_dir_item, d + at, data_len);
	}
	return 0;
}

/*
 * List the attribute names of ino into buf: each NUL-terminated, in key
 * (name hash) order, as Linux's listxattr gives them. size 0 asks for the
 * length only. *len gets the bytes of the list. 0, -ERANGE, <0.
 */
int fs_listxattr(struct fs_info *fs, struct fs_ino ino, char *buf,
		 size_t size, size_t *len)
{
	const struct subvol_root *sv;
	struct key k = { ino.ino, BTRFS_XATTR_ITEM_KEY, 0 };
	struct ctree_path p;
	const u8 *item;
	u32 mode, isize;
	int ret = read_begin(fs, ino, &mode);

	*len = 0;
	if (ret)
		return ret;
	ret = subvol_get(fs, ino.root, &sv);
	ctree_path_init(&p);
	if (ret == 0)
		ret = ctree_search_ge(&sv->root, &k, &p);
	for (; ret == 0; ret = ctree_next_item(&p)) {
		ctree_item_key(&p, &k);
		if (k.objectid != ino.ino || k.type != BTRFS_XATTR_ITEM_KEY)
			break;
		item = ctree_item_ptr(&p, &isize);
		ret = list_item(item, isize, buf, size, len);
		if (ret)
			break;
	}
	ctree_path_release(&p);
	read_end(fs, ino);
	return ret < 0 ? ret : 0;
}

/*
 * Set (value != NULL) or remove (value NULL) attribute name of ino
 * inside the caller's change, without the namespace rules: for btrfs's
 * own "btrfs." properties, which Linux keeps as attributes. 0, -ENODATA
 * (removing a missing one), <0.
 */
int xattr_set_in(struct wctx *w, struct fs_ino ino, const char *name,
		 const void *value, size_t vlen)
{
	u8 *body = kmalloc(max_item(w->fs));
	int ret;

	if (!body)
		return -ENOMEM;
	ret = change(w, ino, name, strlen(name), value, vlen, 0, body);
	kfree(body);
	return ret;
}

/*
 * Read attribute name of ino in root into buf (size bytes), with the
 * inode's lock held by the caller: *len gets the value's length. 0,
 * -ENODATA, -ERANGE, <0.
 */
int xattr_get_in(const struct ctree_root *root, u64 ino, const char *name,
		 void *buf, size_t size, size_t *len)
{
	size_t n = strlen(name);
	u32 bsize = 0, pos, elen;
	u8 *body = kmalloc(max_item(root->fs));
	int ret;

	*len = 0;
	if (!body)
		return -ENOMEM;
	ret = item_get(root, ino, dir_name_hash(name, n), body, &bsize);
	if (ret == 0)
		ret = entry_find(body, bsize, name, n, &pos, &elen);
	if (ret == 0)
		ret = copy_out(buf, size, body + pos + DI + n, elen - DI - n,
			       len);
	kfree(body);
	return ret == -ENOENT ? -ENODATA : ret;
}
