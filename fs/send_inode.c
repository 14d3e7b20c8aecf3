/*
 * An inode's commands in a full send, in the order Linux's send gives
 * them, so that streams match Linux's in shape:
 *  - at its inode item: made under its orphan name (MKFILE, MKDIR,
 *    MKNOD, MKFIFO, MKSOCK, SYMLINK "o<ino>-<gen>-0"), unless it is a
 *    directory an earlier inode needed and that was made then;
 *  - at its names (INODE_REF, INODE_EXTREF items): the first one renames
 *    the orphan into place, the others are LINKs; a parent directory
 *    that comes later in inode order is made first, orphan-named;
 *  - its extended attributes (SET_XATTR), its data (send_data.c);
 *  - at its end: TRUNCATE when the data sent stops short of its size,
 *    CHOWN, CHMOD (not for symlinks), UTIMES.
 * UTIMES goes once per inode: a directory's times would change with
 * every entry made in it later, so directories' go at the end of the
 * subvolume, in inode order.
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "fs.h"
#include "fs_info.h"
#include "send_int.h"
#include "subvol.h"
#include "write_common.h"

#define II(f) D_GET64(struct d_inode_item, c->in.item, f)
#define II32(f) D_GET32(struct d_inode_item, c->in.item, f)

/* Linux's new_encode_dev: the device number as user space sees it. */
static u64 user_dev(u64 rdev)
{
	u64 major = FS_MAJOR(rdev), minor = FS_MINOR(rdev);

	return (minor & 0xff) | (major << 8) | ((minor & ~0xffULL) << 12);
}

static enum send_cmd create_cmd(u32 mode)
{
	switch (mode & S_IFMT_) {
	case S_IFREG_: return SEND_C_MKFILE;
	case S_IFDIR_: return SEND_C_MKDIR;
	case S_IFLNK_: return SEND_C_SYMLINK;
	case S_IFCHR_:
	case S_IFBLK_: return SEND_C_MKNOD;
	case S_IFIFO_: return SEND_C_MKFIFO;
	case S_IFSOCK_: return SEND_C_MKSOCK;
	}
	return SEND_C_UNSPEC;
}

/* Make inode ino (mode, rdev) at path: the create command. */
int send_inode_create(struct send_ctx *c, u64 ino, u32 mode, u64 rdev,
		      const char *path)
{
	struct send_stream *s = &c->out;
	enum send_cmd cmd = create_cmd(mode);
	int ret;

	if (cmd == SEND_C_UNSPEC) {
		pr_err("send: inode %llu has an unknown type (mode %o)",
		       (unsigned long long)ino, mode);
		return -EUCLEAN;
	}
	send_begin(s, cmd);
	ret = send_put_str(s, SEND_A_PATH, path);
	if (ret == 0)
		ret = send_put_u64(s, SEND_A_INO, ino);
	if (ret == 0 && cmd == SEND_C_SYMLINK) {
		size_t n = 0;
		struct fs_ino fi = { c->sv->root.objectid, ino };

		ret = fs_readlink(c->fs, fi, c->tmp, SEND_PATH_MAX - 1, &n);
		if (ret == 0)
			ret = send_put(s, SEND_A_PATH_LINK, c->tmp, (u32)n);
	} else if (ret == 0 && cmd != SEND_C_MKFILE && cmd != SEND_C_MKDIR) {
		ret = send_put_u64(s, SEND_A_RDEV, user_dev(rdev));
		if (ret == 0)
			ret = send_put_u64(s, SEND_A_MODE, mode);
	}
	return ret ? ret : send_end(s);
}

/* Send a command of one or two paths (UNLINK, RMDIR; RENAME, LINK). */
int send_paths_cmd(struct send_ctx *c, enum send_cmd cmd, enum send_attr a1,
		   const char *p1, enum send_attr a2, const char *p2)
{
	int ret;

	send_begin(&c->out, cmd);
	ret = send_put_str(&c->out, a1, p1);
	if (ret == 0 && p2)
		ret = send_put_str(&c->out, a2, p2);
	return ret ? ret : send_end(&c->out);
}

/* Make inode k.objectid (inode item item) the current one; send
 * nothing. An inode without links (unlinked while open) is ignored, as
 * Linux does. */
int send_inode_load(struct send_ctx *c, const struct key *k, const u8 *item)
{
	struct send_inode *in = &c->in;

	memset(in, 0, offsetof(struct send_inode, path));
	in->ino = k->objectid;
	memcpy(in->item, item, sizeof(in->item));
	in->gen = II(generation);
	in->size = II(size);
	in->rdev = II(rdev);
	in->mode = II32(mode);
	in->path[0] = 0;
	in->refs_done = in->ino == c->sv->root_dirid;
	in->ignore = !in->refs_done && II32(nlink) == 0;
	return 0;
}

/* Begin inode k.objectid at its inode item: make it, orphan-named. */
int send_inode_begin(struct send_ctx *c, const struct key *k,
		     const u8 *item)
{
	struct send_inode *in = &c->in;
	u64 gen;
	int ret;

	send_inode_load(c, k, item);
	if (in->ino == c->sv->root_dirid)
		return 0;
	c->progress = in->ino;
	if (in->ignore)
		return 0;
	in->orphan = 1;
	ret = send_orphan_name(c, in->ino, in->gen, in->path);
	if (ret)
		return ret;
	if (SEND_IS(in->mode, S_IFDIR_) &&
	    !u64map_get(&c->created, in->ino, &gen))
		return 0;
	return send_inode_create(c, in->ino, in->mode, in->rdev, in->path);
}

/* Make directory dir now, orphan-named: an entry of it comes first. */
static int create_dir_early(struct send_ctx *c, u64 dir)
{
	u8 ii[sizeof(struct d_inode_item)];
	char name[64];
	u64 gen;
	int ret;

	if (dir < c->progress || !u64map_get(&c->created, dir, NULL))
		return 0;
	ret = send_read_inode(c, dir, ii);
	if (ret)
		return ret;
	gen = D_GET64(struct d_inode_item, ii, generation);
	ret = send_orphan_name(c, dir, gen, name);
	if (ret)
		return ret;
	ret = send_inode_create(c, dir, D_GET32(struct d_inode_item, ii, mode),
				0, name);
	return ret ? ret : u64map_put(&c->created, dir, &gen);
}

/* Put the current inode at name in directory dir. */
static int new_ref(struct send_ctx *c, u64 dir, const u8 *name, u32 len)
{
	struct send_inode *in = &c->in;
	char *path = (char *)c->data;	/* free until the data */
	int ret = create_dir_early(c, dir);

	if (ret == 0)
		ret = send_path_of(c, dir, path);
	if (ret == 0)
		ret = send_join(path, path, name, len);
	if (ret)
		return ret;
	if (!in->orphan)
		return send_paths_cmd(c, SEND_C_LINK, SEND_A_PATH, path,
				      SEND_A_PATH_LINK, in->path);
	ret = send_paths_cmd(c, SEND_C_RENAME, SEND_A_PATH, in->path,
			     SEND_A_PATH_TO, path);
	if (ret == 0) {
		strcpy(in->path, path);
		in->orphan = 0;
	}
	return ret;
}

/* Send the names of one INODE_REF or INODE_EXTREF item of the inode. */
int send_inode_refs(struct send_ctx *c, const struct key *k, const u8 *item,
		    u32 size)
{
	int ext = k->type == BTRFS_INODE_EXTREF_KEY;
	u32 hdr = ext ? sizeof(struct d_inode_extref) :
		  sizeof(struct d_inode_ref);
	u32 at = 0;

	if (c->in.ignore || c->in.ino == c->sv->root_dirid)
		return 0;
	while (at < size) {
		const u8 *p = item + at;
		u64 dir = k->offset;
		u32 len;
		int ret;

		if (size - at < hdr)
			return -EUCLEAN;
		if (ext) {
			dir = D_GET64(struct d_inode_extref, p,
				      parent_objectid);
			len = D_GET16(struct d_inode_extref, p, name_len);
		} else {
			len = D_GET16(struct d_inode_ref, p, name_len);
		}
		if (size - at - hdr < len)
			return -EUCLEAN;
		ret = new_ref(c, dir, p + hdr, len);
		if (ret)
			return ret;
		at += hdr + len;
	}
	return 0;
}

/* The inode's names are all sent: it is in place from now on. */
int send_inode_refs_done(struct send_ctx *c)
{
	if (c->in.refs_done)
		return 0;
	c->in.refs_done = 1;
	c->progress = c->in.ino + 1;
	if (c->in.orphan && !c->in.ignore) {
		pr_err("send: subvolume %llu inode %llu has links but no "
		       "name", (unsigned long long)c->sv->root.objectid,
		       (unsigned long long)c->in.ino);
		return -EUCLEAN;
	}
	return 0;
}

/* Send the extended attributes of one XATTR_ITEM of the inode. */
int send_inode_xattrs(struct send_ctx *c, const u8 *item, u32 size)
{
	u32 hdr = sizeof(struct d_dir_item), at = 0;

	while (at < size) {
		const u8 *p = item + at;
		u32 nlen, dlen;
		int ret;

		if (size - at < hdr)
			return -EUCLEAN;
		nlen = D_GET16(struct d_dir_item, p, name_len);
		dlen = D_GET16(struct d_dir_item, p, data_len);
		if (size - at - hdr < nlen + dlen)
			return -EUCLEAN;
		send_begin(&c->out, SEND_C_SET_XATTR);
		ret = send_put_str(&c->out, SEND_A_PATH, c->in.path);
		if (ret == 0)
			ret = send_put(&c->out, SEND_A_XATTR_NAME, p + hdr,
				       nlen);
		if (ret == 0)
			ret = send_put(&c->out, SEND_A_XATTR_DATA,
				       p + hdr + nlen, dlen);
		if (ret == 0)
			ret = send_end(&c->out);
		if (ret)
			return ret;
		at += hdr + nlen + dlen;
	}
	return 0;
}

/* UTIMES for path from inode item ii (otime from version 2 on). */
int send_utimes(struct send_ctx *c, const char *path, const u8 *ii)
{
	struct send_stream *s = &c->out;
	int ret;

	send_begin(s, SEND_C_UTIMES);
	ret = send_put_str(s, SEND_A_PATH, path);
	if (ret == 0)
		ret = send_put_time(s, SEND_A_ATIME,
				    D_PTR(struct d_inode_item, ii, atime));
	if (ret == 0)
		ret = send_put_time(s, SEND_A_MTIME,
				    D_PTR(struct d_inode_item, ii, mtime));
	if (ret == 0)
		ret = send_put_time(s, SEND_A_CTIME,
				    D_PTR(struct d_inode_item, ii, ctime));
	if (ret == 0 && s->proto >= SEND_VERSION_2)
		ret = send_put_time(s, SEND_A_OTIME,
				    D_PTR(struct d_inode_item, ii, otime));
	return ret ? ret : send_end(s);
}

/* CHOWN and CHMOD (not for symlinks) of the current inode, each when
 * asked. */
static int owner_and_mode(struct send_ctx *c, int chown, int chmod)
{
	struct send_inode *in = &c->in;
	struct send_stream *s = &c->out;
	int ret = 0;

	if (!chown)
		goto chmod;
	send_begin(s, SEND_C_CHOWN);
	ret = send_put_str(s, SEND_A_PATH, in->path);
	if (ret == 0)
		ret = send_put_u64(s, SEND_A_UID, II32(uid));
	if (ret == 0)
		ret = send_put_u64(s, SEND_A_GID, II32(gid));
	if (ret == 0)
		ret = send_end(s);
chmod:
	if (ret == 0 && chmod && !SEND_IS(in->mode, S_IFLNK_)) {
		send_begin(s, SEND_C_CHMOD);
		ret = send_put_str(s, SEND_A_PATH, in->path);
		if (ret == 0)
			ret = send_put_u64(s, SEND_A_MODE, in->mode & 07777);
		if (ret == 0)
			ret = send_end(s);
	}
	return ret;
}

/* The current inode's times: now, or a directory's at the end. */
static int times(struct send_ctx *c)
{
	struct send_inode *in = &c->in;

	if (SEND_IS(in->mode, S_IFDIR_))
		return u64map_put(&c->dirs, in->ino, NULL);
	return send_utimes(c, in->path, in->item);
}

/* The inode's last commands: size, owner, mode, times. */
int send_inode_finish(struct send_ctx *c)
{
	struct send_inode *in = &c->in;
	int ret;

	if (!in->ino || in->ignore)
		return 0;
	ret = send_inode_refs_done(c);
	if (ret == 0 && SEND_IS(in->mode, S_IFREG_) &&
	    in->next_write != in->size)
		ret = send_truncate(c, in->size);
	if (ret == 0)
		ret = owner_and_mode(c, 1, 1);
	return ret ? ret : times(c);
}

/*
 * The last commands of an inode that changed since the parent: TRUNCATE
 * when the size changed (and the data sent did not set it), CHOWN and
 * CHMOD where they changed, its times.
 */
int send_inode_finish_changed(struct send_ctx *c)
{
	struct send_inode *in = &c->in;
	u8 old[sizeof(struct d_inode_item)];
	u64 old_size;
	int ret = send_read_inode_in(c, &c->parent->root, in->ino, old);

	if (ret)
		return ret;
	old_size = D_GET64(struct d_inode_item, old, size);
	if (SEND_IS(in->mode, S_IFREG_) && old_size != in->size &&
	    !(in->size > old_size && in->next_write == in->size))
		ret = send_truncate(c, in->size);
	if (ret == 0)
		ret = owner_and_mode(c,
			D_GET32(struct d_inode_item, old, uid) != II32(uid) ||
			D_GET32(struct d_inode_item, old, gid) != II32(gid),
			D_GET32(struct d_inode_item, old, mode) != in->mode);
	return ret ? ret : times(c);
}

/* The directories' times, once each, now that every entry is made. */
int send_dir_times(struct send_ctx *c)
{
	u64 *inos = kmalloc((c->dirs.n + 1) * sizeof(u64));
	u8 ii[sizeof(struct d_inode_item)];
	u32 i, n = 0, pos = 0;
	int ret = 0;

	if (!inos)
		return -ENOMEM;
	while (u64map_next(&c->dirs, &pos, &inos[n], NULL))
		n++;
	qsort(inos, n, sizeof(u64), u64_cmp);
	for (i = 0; i < n && ret == 0; i++) {
		ret = send_read_inode(c, inos[i], ii);
		if (ret == 0)
			ret = send_path_of(c, inos[i], c->in.path);
		if (ret == 0)
			ret = send_utimes(c, c->in.path, ii);
	}
	kfree(inos);
	return ret;
}
