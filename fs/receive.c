/*
 * Receive: apply send streams (read by receive_stream.c) to a mounted
 * filesystem, as btrfs receive does on Linux.
 *
 * A stream's first command makes the subvolume under the destination
 * directory: SUBVOL an empty one, SNAPSHOT a writable snapshot of the
 * parent, found by the sender's UUID and ctransid (fs_subvol_find_sent).
 * Every later command names paths relative to that subvolume and is
 * applied through the public fs_* calls. At END the subvolume gets the
 * sender's UUID as received_uuid, stransid and rtransid, and becomes
 * read-only. Without honor_end (-e) the source may hold further streams.
 *
 * Nothing outside the new subvolume changes: a stream path that is
 * absolute or has a ".." component is refused, and every directory on
 * the way to its last component must be a directory, not a symlink (the
 * lookup would follow one out). The last component is never followed.
 * A clone source (another subvolume, read only) is checked the same way.
 *
 * Consecutive WRITEs of one file at following offsets are gathered and
 * written with one fs_write of up to 1 MiB, before any other command.
 * ENCODED_WRITE's compressed bytes are stored as they come where they
 * can be (fs_write_encoded), else inflated and written.
 *
 * On an error the message names the stream offset of the command and
 * what failed; the subvolume received so far stays writable, and is
 * named. Errors of the stream itself (damage) always stop; errors of
 * applying a command stop after max_errors of them (0: never), as -E.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/errno.h>
#include <ghee/progress.h>

#include "compress.h"
#include "fs.h"
#include "fs_info.h"
#include "receive_stream.h"
#include "write_common.h"

#define RCV_PATH_MAX 4096	/* longest path (fs lookups' limit) */
#define RCV_WRITE_MAX (1024 * 1024)	/* bytes of WRITEs gathered */

/* A receive in progress. */
struct rcv {
	struct fs_info *fs;
	const struct fs_receive_args *a;
	struct receive_stream rs;
	const struct receive_cmd *c;	/* command being applied */
	char sub[RCV_PATH_MAX];		/* the subvolume being received;
					 * "" between streams */
	char name[256];			/* its name, for messages */
	uint8_t uuid[16];		/* the sender's UUID of it */
	uint64_t stransid;		/* the sender's ctransid of it */
	char *p1, *p2, *tmp;		/* path buffers, RCV_PATH_MAX */
	/* Consecutive WRITEs of one file, gathered into one fs_write (as
	 * Linux's page cache gathers them into large extents): */
	uint8_t *wbuf;			/* their data, RCV_WRITE_MAX */
	size_t wlen;			/* bytes in wbuf; 0: none */
	uint64_t woff;			/* file offset of wbuf[0] */
	struct fs_ino wino;		/* the file */
	char *wpath;			/* its stream path, RCV_PATH_MAX */
	uint64_t wat;			/* stream offset of the first WRITE */
	int stopped;			/* the stream is damaged, or the
					 * task was stopped: go no further */
};

/* Say an error about the command being applied, with the text of
 * say_err after it (0: none); return err. */
static int vfail(struct rcv *r, int err, int say_err, const char *fmt,
		 va_list ap)
{
	char msg[512];
	int n;

	n = snprintf(msg, sizeof(msg), "at byte %llu of the stream: %s ",
		     (unsigned long long)r->c->offset,
		     receive_cmd_name(r->c->cmd));
	if (n > 0 && (size_t)n < sizeof(msg))
		vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	r->a->say(r->a->say_ctx, FS_RECEIVE_ERROR, msg, say_err);
	return err;
}

/* Say that applying the command failed with err; return err. */
static int rcv_fail(struct rcv *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int rcv_fail(struct rcv *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = vfail(r, err, err, fmt, ap);
	va_end(ap);
	return err;
}

/* Say why the command is refused (a path leaving the subvolume);
 * return -EPERM. */
static int rcv_refuse(struct rcv *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int rcv_refuse(struct rcv *r, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vfail(r, -EPERM, 0, fmt, ap);
	va_end(ap);
	return err;
}

/* Say "At subvol NAME" (what: subvol or snapshot), as btrfs receive. */
static void rcv_info(struct rcv *r, const char *what)
{
	char msg[300];

	snprintf(msg, sizeof(msg), "At %s %s", what, r->name);
	r->a->say(r->a->say_ctx, FS_RECEIVE_INFO, msg, 0);
}

/*
 * Check that every directory on the way to the last component of path
 * (from byte from on; the part before is trusted) is a directory.
 * 0, -ELOOP (a symlink), -ENOTDIR, or the lookup's error.
 */
static int check_dirs(struct rcv *r, char *path, size_t from)
{
	struct fs_stat st;
	struct fs_ino ino;
	char *s;
	int ret;

	for (s = strchr(path + from, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		ret = fs_lookup(r->fs, path, 0, &ino);
		if (ret == 0)
			ret = fs_stat(r->fs, ino, &st);
		*s = '/';
		if (ret)
			return ret;
		if ((st.mode & S_IFMT_) == S_IFLNK_)
			return -ELOOP;
		if ((st.mode & S_IFMT_) != S_IFDIR_)
			return -ENOTDIR;
	}
	return 0;
}

/*
 * Join base (a subvolume's path) and the command's path attribute attr
 * into out, refusing a path that could leave the subvolume. 0, or an
 * error already said.
 */
static int join(struct rcv *r, const char *base, unsigned attr, char *out)
{
	const char *s;
	size_t n = strlen(base);
	int ret;

	ret = receive_attr_str(r->c, attr, r->tmp, RCV_PATH_MAX);
	if (ret)
		return rcv_fail(r, ret, "path attribute %u", attr);
	if (r->tmp[0] == '/')
		return rcv_refuse(r, "%s: absolute path leaves the subvolume",
				  r->tmp);
	for (s = r->tmp; s; s = strchr(s, '/')) {
		s += *s == '/';
		if (s[0] == '.' && s[1] == '.' && (!s[2] || s[2] == '/'))
			return rcv_refuse(r, "%s: path with \"..\" leaves "
					  "the subvolume", r->tmp);
	}
	if (n + 1 + strlen(r->tmp) >= RCV_PATH_MAX)
		return rcv_fail(r, -ENAMETOOLONG, "%s", r->tmp);
	memcpy(out, base, n);
	out[n] = 0;
	if (r->tmp[0]) {
		out[n] = '/';
		strcpy(out + n + 1, r->tmp);
	}
	ret = check_dirs(r, out, n + 1);
	if (ret == -ELOOP)
		return rcv_refuse(r, "%s: path through a symlink leaves the "
				  "subvolume", r->tmp);
	if (ret)
		return rcv_fail(r, ret, "%s", r->tmp);
	return 0;
}

/* The inode the command's PATH names (never following a symlink). */
static int path_ino(struct rcv *r, struct fs_ino *ino)
{
	int ret = join(r, r->sub, SEND_A_PATH, r->p1);

	if (ret == 0) {
		ret = fs_lookup(r->fs, r->p1, 0, ino);
		if (ret)
			rcv_fail(r, ret, "%s", r->tmp);
	}
	return ret;
}

/* Say the failure of a call on the command's PATH. */
static int on_path(struct rcv *r, int ret)
{
	return ret ? rcv_fail(r, ret, "%s", r->tmp) : 0;
}

/* SUBVOL and SNAPSHOT: make the subvolume. */
static int begin_subvol(struct rcv *r)
{
	const struct receive_cmd *c = r->c;
	size_t n = strlen(r->a->dir);
	uint64_t parent;
	int ret;

	if (r->sub[0])
		return rcv_fail(r, -EINVAL, "before the end of %s", r->name);
	ret = receive_attr_str(c, SEND_A_PATH, r->name, sizeof(r->name));
	if (ret || !r->name[0] || strchr(r->name, '/') ||
	    !strcmp(r->name, ".") || !strcmp(r->name, ".."))
		return rcv_fail(r, -EINVAL, "bad subvolume name");
	if (n + 1 + strlen(r->name) >= RCV_PATH_MAX)
		return rcv_fail(r, -ENAMETOOLONG, "%s", r->name);
	snprintf(r->p1, RCV_PATH_MAX, "%s/%s", r->a->dir, r->name);
	memcpy(r->uuid, receive_attr_uuid(c, SEND_A_UUID), 16);
	r->stransid = receive_attr_u64(c, SEND_A_CTRANSID);
	if (c->cmd == SEND_C_SUBVOL) {
		rcv_info(r, "subvol");
		ret = fs_subvol_create(r->fs, r->p1);
		if (ret)
			return rcv_fail(r, ret, "%s", r->name);
	} else {
		rcv_info(r, "snapshot");
		ret = fs_subvol_find_sent(r->fs,
					  receive_attr_uuid(c,
							    SEND_A_CLONE_UUID),
					  receive_attr_u64(c,
							   SEND_A_CLONE_CTRANSID),
					  &parent);
		if (ret == 0)
			ret = fs_subvol_path(r->fs, parent, r->p2,
					     RCV_PATH_MAX);
		if (ret)
			return rcv_fail(r, ret, "%s: cannot find parent "
					"subvolume", r->name);
		ret = fs_subvol_snapshot(r->fs, r->p2, r->p1, 0);
		if (ret)
			return rcv_fail(r, ret, "%s from %s", r->name, r->p2);
	}
	strcpy(r->sub, r->p1);
	return 0;
}

/* END: mark the subvolume received and read-only. */
static int end_subvol(struct rcv *r)
{
	int ret = fs_subvol_set_received(r->fs, r->sub, r->uuid, r->stransid);

	if (ret == 0)
		ret = fs_subvol_set_ro(r->fs, r->sub, 1);
	if (ret)
		return rcv_fail(r, ret, "%s", r->name);
	r->sub[0] = 0;
	return 0;
}

/* MKFILE, MKDIR, MKNOD, MKFIFO, MKSOCK, SYMLINK: a new inode. */
static int make_inode(struct rcv *r)
{
	const struct receive_cmd *c = r->c;
	uint64_t dev;
	uint32_t mode;
	int ret = join(r, r->sub, SEND_A_PATH, r->p1);

	if (ret)
		return ret;
	switch (c->cmd) {
	case SEND_C_MKFILE:
		return on_path(r, fs_create(r->fs, r->p1, 0600, NULL));
	case SEND_C_MKDIR:
		return on_path(r, fs_mkdir(r->fs, r->p1, 0700));
	case SEND_C_MKNOD:
		/* rdev as Linux's new_encode_dev packs it */
		dev = receive_attr_u64(c, SEND_A_RDEV);
		mode = (uint32_t)receive_attr_u64(c, SEND_A_MODE) & S_IFMT_;
		return on_path(r, fs_mknod(r->fs, r->p1, mode | 0600,
					   FS_MKDEV((dev >> 8) & 0xfff,
						    (dev & 0xff) |
						    ((dev >> 12) & 0xfff00)),
					   NULL));
	case SEND_C_MKFIFO:
		return on_path(r, fs_mknod(r->fs, r->p1, S_IFIFO_ | 0600, 0,
					   NULL));
	case SEND_C_MKSOCK:
		return on_path(r, fs_mknod(r->fs, r->p1, S_IFSOCK_ | 0600, 0,
					   NULL));
	default:	/* SYMLINK: the target is data, never followed here */
		ret = receive_attr_str(c, SEND_A_PATH_LINK, r->p2,
				       RCV_PATH_MAX);
		return on_path(r, ret ? ret : fs_symlink(r->fs, r->p2, r->p1));
	}
}

/* RENAME, LINK, UNLINK, RMDIR. */
static int change_names(struct rcv *r)
{
	const struct receive_cmd *c = r->c;
	int ret;

	if (c->cmd == SEND_C_RENAME || c->cmd == SEND_C_LINK) {
		ret = join(r, r->sub, c->cmd == SEND_C_RENAME ?
			   SEND_A_PATH_TO : SEND_A_PATH_LINK, r->p2);
		if (ret)
			return ret;
	}
	ret = join(r, r->sub, SEND_A_PATH, r->p1);
	if (ret)
		return ret;
	switch (c->cmd) {
	case SEND_C_RENAME:
		return on_path(r, fs_rename(r->fs, r->p1, r->p2));
	case SEND_C_LINK:
		return on_path(r, fs_link(r->fs, r->p2, r->p1));
	case SEND_C_UNLINK:
		return on_path(r, fs_unlink(r->fs, r->p1));
	default:
		return on_path(r, fs_rmdir(r->fs, r->p1));
	}
}

/* CLONE: share a range of a file of this or another subvolume. */
static int clone_range(struct rcv *r, struct fs_ino dst)
{
	const struct receive_cmd *c = r->c;
	const uint8_t *uuid = receive_attr_uuid(c, SEND_A_CLONE_UUID);
	struct fs_ino src;
	uint64_t id;
	int ret;

	if (!memcmp(uuid, r->uuid, 16)) {
		strcpy(r->p2, r->sub);
	} else {
		ret = fs_subvol_find_sent(r->fs, uuid,
					  receive_attr_u64(c,
							   SEND_A_CLONE_CTRANSID),
					  &id);
		if (ret == 0)
			ret = fs_subvol_path(r->fs, id, r->p2, RCV_PATH_MAX);
		if (ret)
			return rcv_fail(r, ret, "cannot find the clone's "
					"source subvolume");
	}
	strcpy(r->p1, r->p2);
	ret = join(r, r->p1, SEND_A_CLONE_PATH, r->p2);
	if (ret)
		return ret;
	ret = fs_lookup(r->fs, r->p2, 0, &src);
	if (ret == 0)
		ret = fs_clone_range(r->fs, src,
				     receive_attr_u64(c, SEND_A_CLONE_OFFSET),
				     receive_attr_u64(c, SEND_A_CLONE_LEN),
				     dst,
				     receive_attr_u64(c, SEND_A_FILE_OFFSET));
	return ret ? rcv_fail(r, ret, "from %s", r->p2) : 0;
}

/*
 * FALLOCATE: a hole punched (PUNCH_HOLE with KEEP_SIZE, as Linux
 * requires), or a preallocation (fs_fallocate, as btrfs receive calls
 * fallocate), with or without KEEP_SIZE.
 */
static int fallocate(struct rcv *r, struct fs_ino ino)
{
	const struct receive_cmd *c = r->c;
	uint32_t mode = receive_attr_u32(c, SEND_A_FALLOCATE_MODE);
	uint64_t off = receive_attr_u64(c, SEND_A_FILE_OFFSET);
	uint64_t len = receive_attr_u64(c, SEND_A_SIZE);

	if (mode == (SEND_FALLOC_KEEP_SIZE | SEND_FALLOC_PUNCH_HOLE))
		return on_path(r, fs_punch_hole(r->fs, ino, off, len));
	if (mode & ~(uint32_t)SEND_FALLOC_KEEP_SIZE)
		return rcv_fail(r, -EOPNOTSUPP, "%s: mode %u", r->tmp, mode);
	if (len > UINT64_MAX - off)
		return rcv_fail(r, -EINVAL, "%s: range past 2^64", r->tmp);
	return on_path(r, len ? fs_fallocate(r->fs, ino, off, len,
					     mode & SEND_FALLOC_KEEP_SIZE) : 0);
}

/* The compression type of ENCODED_WRITE's COMPRESSION value v, and
 * the sector size its lzo framing uses; -EOPNOTSUPP for others. */
static int encoded_type(uint32_t v, uint8_t *type, uint32_t *sector)
{
	*sector = 4096;
	if (v == SEND_ENC_ZLIB)
		*type = BTRFS_COMPRESS_ZLIB;
	else if (v == SEND_ENC_ZSTD)
		*type = BTRFS_COMPRESS_ZSTD;
	else if (v >= SEND_ENC_LZO_4K && v <= SEND_ENC_LZO_64K)
		*type = BTRFS_COMPRESS_LZO;
	else
		return -EOPNOTSUPP;
	if (*type == BTRFS_COMPRESS_LZO)
		*sector <<= v - SEND_ENC_LZO_4K;
	return 0;
}

/* ENCODED_WRITE's data inflated (type, lzo framing of sector bytes),
 * the file's part of it written at off. */
static int inflate_write(struct rcv *r, struct fs_ino ino, uint64_t off,
			 uint8_t type, uint32_t sector,
			 const struct fs_encoded *e)
{
	const struct receive_attr *d = &r->c->attr[SEND_A_DATA];
	uint8_t *ram;
	int ret;

	if (e->unencoded_len > COMPRESS_MAX_RAM ||
	    e->unencoded_offset > e->unencoded_len ||
	    e->len > e->unencoded_len - e->unencoded_offset)
		return rcv_fail(r, -EINVAL, "%s: bad unencoded range",
				r->tmp);
	ram = kmalloc(e->unencoded_len ? e->unencoded_len : 1);
	if (!ram)
		return rcv_fail(r, -ENOMEM, "%s", r->tmp);
	ret = compress_decompress(type, d->data, d->len, ram,
				  e->unencoded_len, sector);
	if (ret)
		ret = rcv_fail(r, ret, "%s: %s data does not decompress",
			       r->tmp, compress_name(type));
	else
		ret = on_path(r, fs_write(r->fs, ino, off,
					  ram + e->unencoded_offset, e->len));
	kfree(ram);
	return ret;
}

/*
 * ENCODED_WRITE: a compressed extent's stored bytes, written as they are
 * (fs_write_encoded) unless --force-decompress or lzo framed for another
 * sector size. Where ghee's encoded write refuses the extent (-EINVAL)
 * or finds no free run for it whole (-ENOSPC), the data is inflated and
 * written, as btrfs receive falls back.
 */
static int encoded_write(struct rcv *r, struct fs_ino ino)
{
	const struct receive_cmd *c = r->c;
	const struct receive_attr *d = &c->attr[SEND_A_DATA];
	uint64_t off = receive_attr_u64(c, SEND_A_FILE_OFFSET);
	struct fs_encoded e;
	uint32_t v, sector;
	int ret;

	v = c->attr[SEND_A_ENCRYPTION].data ?
	    receive_attr_u32(c, SEND_A_ENCRYPTION) : 0;
	if (v)
		return rcv_fail(r, -EOPNOTSUPP, "%s: encryption %u", r->tmp,
				v);
	v = c->attr[SEND_A_COMPRESSION].data ?
	    receive_attr_u32(c, SEND_A_COMPRESSION) : 0;
	e.len = receive_attr_u64(c, SEND_A_UNENCODED_FILE_LEN);
	e.unencoded_len = receive_attr_u64(c, SEND_A_UNENCODED_LEN);
	e.unencoded_offset = receive_attr_u64(c, SEND_A_UNENCODED_OFFSET);
	if (encoded_type(v, &e.compression, &sector))
		return rcv_fail(r, -EOPNOTSUPP, "%s: compression %u", r->tmp,
				v);
	if (!r->a->force_decompress && (e.compression != BTRFS_COMPRESS_LZO ||
					sector == r->fs->sectorsize)) {
		ret = fs_write_encoded(r->fs, ino, off, d->data, d->len, &e);
		if (ret != -EINVAL && ret != -ENOSPC)
			return on_path(r, ret);
	}
	return inflate_write(r, ino, off, e.compression, sector, &e);
}

/* Write out the gathered WRITEs. 0, or an error already said. */
static int flush_writes(struct rcv *r)
{
	char msg[RCV_PATH_MAX + 64];
	int ret;

	if (!r->wlen)
		return 0;
	ret = fs_write(r->fs, r->wino, r->woff, r->wbuf, r->wlen);
	r->wlen = 0;
	if (ret) {
		snprintf(msg, sizeof(msg), "at byte %llu of the stream: write "
			 "%s", (unsigned long long)r->wat, r->wpath);
		r->a->say(r->a->say_ctx, FS_RECEIVE_ERROR, msg, ret);
	}
	return ret;
}

/* WRITE: gather it after the WRITEs before when it follows them. */
static int write_data(struct rcv *r)
{
	const struct receive_attr *d = &r->c->attr[SEND_A_DATA];
	const struct receive_attr *p = &r->c->attr[SEND_A_PATH];
	uint64_t off = receive_attr_u64(r->c, SEND_A_FILE_OFFSET);
	int ret;

	if (r->wlen && off == r->woff + r->wlen &&
	    d->len <= RCV_WRITE_MAX - r->wlen && p->len == strlen(r->wpath) &&
	    !memcmp(p->data, r->wpath, p->len)) {
		memcpy(r->wbuf + r->wlen, d->data, d->len);
		r->wlen += d->len;
		return 0;
	}
	ret = flush_writes(r);
	if (ret == 0)
		ret = path_ino(r, &r->wino);
	if (ret)
		return ret;
	if (d->len > RCV_WRITE_MAX)
		return on_path(r, fs_write(r->fs, r->wino, off, d->data,
					   d->len));
	strcpy(r->wpath, r->tmp);
	memcpy(r->wbuf, d->data, d->len);
	r->wlen = d->len;
	r->woff = off;
	r->wat = r->c->offset;
	return 0;
}

/*
 * SET_XATTR and REMOVE_XATTR. The property btrfs.compression, which
 * Linux keeps as an attribute and sends as one, is set as `btrfs
 * property set` sets it (the inode's flags follow), as Linux's setxattr
 * of it does.
 */
static int set_xattr(struct rcv *r, struct fs_ino ino)
{
	const struct receive_attr *v = &r->c->attr[SEND_A_XATTR_DATA];
	int set = r->c->cmd == SEND_C_SET_XATTR;
	char value[32];
	int ret = receive_attr_str(r->c, SEND_A_XATTR_NAME, r->p2, 256);

	if (ret == 0 && !strcmp(r->p2, "btrfs.compression")) {
		if (set && v->len >= sizeof(value))
			return -EINVAL;
		value[0] = 0;
		if (set) {
			memcpy(value, v->data, v->len);
			value[v->len] = 0;
		}
		return fs_compress_prop_set(r->fs, ino, value);
	}
	if (ret == 0 && set)
		ret = fs_setxattr(r->fs, ino, r->p2, v->data, v->len, 0);
	else if (ret == 0)
		ret = fs_removexattr(r->fs, ino, r->p2);
	return ret;
}

/* The commands that change an existing inode's data or attributes. */
static int change_inode(struct rcv *r)
{
	const struct receive_cmd *c = r->c;
	struct fs_time at, mt;
	struct fs_ino ino;
	int ret = path_ino(r, &ino);

	if (ret)
		return ret;
	switch (c->cmd) {
	case SEND_C_SET_XATTR:
	case SEND_C_REMOVE_XATTR:
		return on_path(r, set_xattr(r, ino));
	case SEND_C_CLONE:
		return clone_range(r, ino);
	case SEND_C_TRUNCATE:
		return on_path(r, fs_truncate(r->fs, ino,
					      receive_attr_u64(c,
							       SEND_A_SIZE)));
	case SEND_C_CHMOD:
		return on_path(r, fs_chmod(r->fs, ino,
					   (uint32_t)receive_attr_u64(
						   c, SEND_A_MODE) & 07777));
	case SEND_C_CHOWN:
		return on_path(r, fs_chown(r->fs, ino,
					   (uint32_t)receive_attr_u64(
						   c, SEND_A_UID),
					   (uint32_t)receive_attr_u64(
						   c, SEND_A_GID)));
	case SEND_C_UTIMES:
		receive_attr_time(c, SEND_A_ATIME, &at.sec, &at.nsec);
		receive_attr_time(c, SEND_A_MTIME, &mt.sec, &mt.nsec);
		return on_path(r, fs_utimes(r->fs, ino, &at, &mt));
	case SEND_C_FALLOCATE:
		return fallocate(r, ino);
	case SEND_C_ENCODED_WRITE:
		return encoded_write(r, ino);
	default:	/* FILEATTR: ignored, as btrfs-progs 6.2 does */
		return 0;
	}
}

/* Apply one command (not END). 0, or an error already said. */
static int apply(struct rcv *r)
{
	switch (r->c->cmd) {
	case SEND_C_SUBVOL:
	case SEND_C_SNAPSHOT:
		return begin_subvol(r);
	case SEND_C_UPDATE_EXTENT:
		return 0;	/* --no-data: only says what changed */
	default:
		break;
	}
	if (!r->sub[0])
		return rcv_fail(r, -EINVAL, "before subvol or snapshot");
	switch (r->c->cmd) {
	case SEND_C_WRITE:
		return write_data(r);
	case SEND_C_MKFILE:
	case SEND_C_MKDIR:
	case SEND_C_MKNOD:
	case SEND_C_MKFIFO:
	case SEND_C_MKSOCK:
	case SEND_C_SYMLINK:
		return make_inode(r);
	case SEND_C_RENAME:
	case SEND_C_LINK:
	case SEND_C_UNLINK:
	case SEND_C_RMDIR:
		return change_names(r);
	default:
		return change_inode(r);
	}
}

/*
 * Apply one stream's commands up to its END. 0, a stream error (said,
 * stops everything), or the last apply error when max_errors allowed
 * going on.
 */
static int receive_one(struct rcv *r, uint64_t *errors)
{
	uint64_t pos = r->rs.pos;
	int ret, last = 0;

	for (;;) {
		ret = receive_stream_next(&r->rs, &r->c);
		if (ret) {
			r->a->say(r->a->say_ctx, FS_RECEIVE_ERROR, r->rs.err,
				  0);
			r->stopped = 1;
			flush_writes(r);	/* what came whole; said */
			return ret;
		}
		ret = r->c->cmd == SEND_C_WRITE ? 0 : flush_writes(r);
		if (ret == 0 && r->c->cmd == SEND_C_END)
			ret = r->sub[0] ? end_subvol(r) :
			      rcv_fail(r, -EINVAL, "without subvol or snapshot");
		else if (ret == 0)
			ret = apply(r);
		if (ret) {
			last = ret;
			if (++*errors >= r->a->max_errors && r->a->max_errors)
				return ret;
		}
		if (r->c->cmd == SEND_C_END)
			return last;
		ret = progress_add(r->rs.pos - pos);
		pos = r->rs.pos;
		if (ret) {
			r->stopped = 1;
			flush_writes(r);	/* said when it fails */
			return rcv_fail(r, ret, "stopped");
		}
	}
}

/* Apply every stream of the source; see the top of this file. */
int fs_receive(struct fs_info *fs, const struct fs_receive_args *a)
{
	struct rcv *r = kzalloc(sizeof(*r));
	uint64_t errors = 0;
	int ret, streams = 0, last = 0;
	size_t n;

	if (!r)
		return -ENOMEM;
	r->fs = fs;
	r->a = a;
	r->p1 = kmalloc(4 * RCV_PATH_MAX);
	r->wbuf = kmalloc(RCV_WRITE_MAX);
	if (!r->p1 || !r->wbuf) {
		kfree(r->p1);
		kfree(r->wbuf);
		kfree(r);
		return -ENOMEM;
	}
	r->p2 = r->p1 + RCV_PATH_MAX;
	r->tmp = r->p2 + RCV_PATH_MAX;
	r->wpath = r->tmp + RCV_PATH_MAX;
	receive_stream_init(&r->rs, a->read, a->read_ctx);
	progress_phase("receiving", 0, "bytes");
	for (;;) {
		ret = receive_stream_begin(&r->rs);
		if (ret == 1 && streams == 0)
			ret = receive_stream_error(&r->rs, 0, -EBADMSG,
						   "empty stream");
		if (ret == 1) {
			ret = last;
			break;
		}
		if (ret) {
			a->say(a->say_ctx, FS_RECEIVE_ERROR, r->rs.err, 0);
			break;
		}
		streams++;
		ret = receive_one(r, &errors);
		if (ret)
			last = ret;
		if (ret && (r->sub[0] || r->stopped || (a->max_errors &&
					  errors >= a->max_errors)))
			break;
		if (a->honor_end)
			break;
	}
	if (ret && r->sub[0]) {
		n = strlen(a->shown_dir);
		snprintf(r->tmp, RCV_PATH_MAX, "what was received is left "
			 "writable in %s%s%s", a->shown_dir,
			 n && a->shown_dir[n - 1] == '/' ? "" : "/", r->name);
		a->say(a->say_ctx, FS_RECEIVE_ERROR, r->tmp, 0);
	}
	progress_end();
	receive_stream_free(&r->rs);
	kfree(r->wbuf);
	kfree(r->p1);
	kfree(r);
	return ret ? ret : last;
}
