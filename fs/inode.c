/*
 * Inodes and path names. An inode is (subvolume, inode number); its
 * attributes are the INODE_ITEM at (ino, INODE_ITEM, 0) in the subvolume's
 * tree. Paths are resolved from the root directory of the default
 * subvolume, one component at a time through dir.c, entering subvolumes
 * where a directory entry points at one.
 *
 * "." and ".." are handled with a stack of the directories walked through,
 * so ".." never needs the on-disk back references. Symbolic links in the
 * middle of a path are always followed (and in the last component with
 * FS_LOOKUP_FOLLOW), at most FS_MAX_SYMLINKS times per lookup, by splicing
 * the link's target in front of the rest of the path.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/time.h>

#include "dir.h"
#include "fs.h"
#include "fs_info.h"
#include "internal.h"
#include "subvol.h"

#define FS_MAX_SYMLINKS 40	/* like Linux's MAXSYMLINKS */
#define FS_PATH_MAX 4096	/* longest path a lookup works on */
#define FS_MAX_DEPTH 512	/* deepest directory nesting walked */

static void time_from_disk(struct fs_time *t, const u8 *p)
{
	t->sec = (int64_t)D_GET64(struct d_timespec, p, sec);
	t->nsec = D_GET32(struct d_timespec, p, nsec);
}

/* Fill st from an on-disk inode item. */
static void stat_from_disk(struct fs_stat *st, const u8 *p)
{
	st->mode = D_GET32(struct d_inode_item, p, mode);
	st->nlink = D_GET32(struct d_inode_item, p, nlink);
	st->uid = D_GET32(struct d_inode_item, p, uid);
	st->gid = D_GET32(struct d_inode_item, p, gid);
	st->size = D_GET64(struct d_inode_item, p, size);
	st->nbytes = D_GET64(struct d_inode_item, p, nbytes);
	st->rdev = D_GET64(struct d_inode_item, p, rdev);
	st->flags = D_GET64(struct d_inode_item, p, flags);
	st->generation = D_GET64(struct d_inode_item, p, generation);
	st->transid = D_GET64(struct d_inode_item, p, transid);
	time_from_disk(&st->atime, D_PTR(struct d_inode_item, p, atime));
	time_from_disk(&st->mtime, D_PTR(struct d_inode_item, p, mtime));
	time_from_disk(&st->ctime, D_PTR(struct d_inode_item, p, ctime));
	time_from_disk(&st->otime, D_PTR(struct d_inode_item, p, otime));
}

/* What a nested subvolume's entry in a snapshot shows (dir.c): an empty
 * directory, made up as Linux makes it up. */
static void empty_subvol_dir(struct fs_ino ino, struct fs_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->id = ino;
	st->mode = 040755;
	st->nlink = 1;
	st->atime.sec = st->mtime.sec = st->ctime.sec =
		(int64_t)time_wall_sec();
}

/* Read an inode's attributes. Returns 0, -ENOENT, or <0. Caller holds
 * ns_lock. An inode found by a name whose directory lock the caller no
 * longer holds may have been removed since (-ENOENT). */
int inode_stat(struct fs_info *fs, struct fs_ino ino, struct fs_stat *st)
{
	const struct subvol_root *sv;
	struct key k = { ino.ino, BTRFS_INODE_ITEM_KEY, 0 };
	struct ctree_path path;
	u32 size;
	int ret;

	ret = subvol_get(fs, ino.root, &sv);
	if (ret)
		return ret;
	if (ino.ino == BTRFS_EMPTY_SUBVOL_DIR_OBJECTID) {
		empty_subvol_dir(ino, st);
		return 0;
	}
	ctree_path_init(&path);
	ret = ctree_lookup(&sv->root, &k, &path);
	if (ret == 0) {
		memset(st, 0, sizeof(*st));
		st->id = ino;
		stat_from_disk(st, ctree_item_ptr(&path, &size));
	}
	ctree_path_release(&path);
	return ret;
}

/* State of one path walk. Each step reads its directory as dir_step
 * does (namei_lock.c): no half change of names seen, no inode lock held
 * between steps; a directory removed meanwhile ends it with -ENOENT. */
struct walk {
	struct fs_info *fs;
	char *rest;		/* what is left to resolve (FS_PATH_MAX) */
	struct fs_ino *stack;	/* directories walked through, [0] = root */
	int depth;		/* entries on the stack; top is current dir */
	int links;		/* symlinks followed so far */
};

/* Replace walk->rest by link target + "/" + rest (rest starts at tail). */
static int splice_link(struct walk *w, struct fs_ino link, const char *tail)
{
	char *buf = kmalloc(FS_PATH_MAX);
	size_t n, tl = strlen(tail);
	struct rwsem *l;
	int ret;

	if (!buf)
		return -ENOMEM;
	if (++w->links > FS_MAX_SYMLINKS) {
		kfree(buf);
		return -ELOOP;
	}
	l = lookup_lock(w->fs, link);
	ret = file_readlink(w->fs, link, buf, FS_PATH_MAX - 1, &n);
	lookup_unlock(l);
	if (ret == 0 && n + 1 + tl + 1 > FS_PATH_MAX)
		ret = -ENAMETOOLONG;
	if (ret == 0) {
		buf[n] = '/';
		memcpy(buf + n + 1, tail, tl + 1);
		if (buf[0] == '/')
			w->depth = 1;	/* absolute target: back to "/" */
		memcpy(w->rest, buf, n + 1 + tl + 1);
	}
	kfree(buf);
	return ret;
}

/* Resolve one component name[0..len) in the current directory. */
static int walk_step(struct walk *w, const char *name, size_t len,
		     const char *tail, unsigned flags)
{
	struct fs_ino cur = w->stack[w->depth - 1], next;
	u8 type;
	int ret;

	if (len == 1 && name[0] == '.')
		return 0;
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		if (w->depth > 1)
			w->depth--;
		return 0;
	}
	ret = dir_step(w->fs, cur, name, len, &next, &type);
	if (ret)
		return ret;
	if (type == BTRFS_FT_SYMLINK && (*tail || (flags & FS_LOOKUP_FOLLOW)))
		return splice_link(w, next, tail);
	if (w->depth >= FS_MAX_DEPTH)
		return -ENAMETOOLONG;
	w->stack[w->depth++] = next;
	return 0;
}

/* Walk w->rest until it is used up. */
static int walk_path(struct walk *w, unsigned flags)
{
	char name[BTRFS_NAME_LEN + 1];

	for (;;) {
		char *s = w->rest, *e;
		size_t len;
		int ret;

		while (*s == '/')
			s++;
		if (!*s)
			return 0;
		for (e = s; *e && *e != '/'; e++)
			;
		len = (size_t)(e - s);
		if (len > BTRFS_NAME_LEN)
			return -ENAMETOOLONG;
		memcpy(name, s, len);
		while (*e == '/')
			e++;
		/* Keep the unresolved tail at the start of rest. */
		memmove(w->rest, e, strlen(e) + 1);
		ret = walk_step(w, name, len, w->rest, flags);
		if (ret)
			return ret;
	}
}

/*
 * Resolve path (absolute or relative, both from the root of the default
 * subvolume) to an inode. Returns 0, -ENOENT, -ENOTDIR, -ELOOP,
 * -ENAMETOOLONG or another negative errno.
 */
int inode_lookup(struct fs_info *fs, const char *path, unsigned flags,
		 struct fs_ino *out)
{
	const struct subvol_root *sv;
	struct walk w;
	int ret;

	if (strlen(path) >= FS_PATH_MAX)
		return -ENAMETOOLONG;
	ret = subvol_get(fs, fs->default_subvol, &sv);
	if (ret)
		return ret;
	w.fs = fs;
	w.depth = 1;
	w.links = 0;
	w.rest = kmalloc(FS_PATH_MAX);
	w.stack = kmalloc(FS_MAX_DEPTH * sizeof(*w.stack));
	if (!w.rest || !w.stack) {
		ret = -ENOMEM;
		goto out_free;
	}
	w.stack[0].root = fs->default_subvol;
	w.stack[0].ino = sv->root_dirid;
	memcpy(w.rest, path, strlen(path) + 1);
	ret = walk_path(&w, flags);
	if (ret == 0)
		*out = w.stack[w.depth - 1];
out_free:
	kfree(w.rest);
	kfree(w.stack);
	return ret;
}

/* fs_stat and fs_lookup: the calls above under ns_lock held for read. */
int fs_stat(struct fs_info *fs, struct fs_ino ino, struct fs_stat *st)
{
	int ret;

	down_read(&fs->ns_lock);
	ret = inode_stat(fs, ino, st);
	up_read(&fs->ns_lock);
	return ret;
}

int fs_lookup(struct fs_info *fs, const char *path, unsigned flags,
	      struct fs_ino *out)
{
	int ret;

	down_read(&fs->ns_lock);
	ret = inode_lookup(fs, path, flags, out);
	up_read(&fs->ns_lock);
	return ret;
}
