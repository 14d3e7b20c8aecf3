/*
 * From references to names: the public face of the back-reference walker
 * (backref.c) for the shell, and the paths of an inode (btrfs's
 * INO_PATHS): every INODE_REF and INODE_EXTREF name of the inode, each
 * with its directory's path up to the subvolume's top directory
 * (subvol.c's path building), and a subvolume's own path from the top
 * level (from fs_subvol_list).
 *
 * Paths are built under ns_lock held for read (no subvolume changes
 * meanwhile), copied out, and handed to the caller's function after it
 * is released, so the function may call fs/ again. Names are read
 * without the directories' locks (namei_lock.c): a path built while a
 * rename in another directory runs may show the name before or after
 * it, as on Linux; each back-reference read is whole.
 */
#include <ghee/errno.h>
#include <stdio.h>

#include <ghee/alloc.h>

#include "backref.h"
#include "fs.h"
#include "fs_info.h"
#include "internal.h"
#include "subvol.h"

/* Adapt a walker hit to the public form. */
struct logical_ctx {
	fs_logical_fn fn;
	void *ctx;
};

static int logical_hit(void *ctx, const struct backref_hit *h)
{
	const struct logical_ctx *c = ctx;
	struct fs_logical_hit p = { h->root, h->ino, h->offset };

	return c->fn(c->ctx, &p);
}

/* See fs.h. */
int fs_logical_resolve(struct fs_info *fs, uint64_t logical, unsigned flags,
		       fs_logical_fn fn, void *ctx)
{
	struct logical_ctx c = { fn, ctx };

	return backref_data(fs, logical, BACKREF_CURRENT,
			    flags & FS_LOGICAL_IGNORE_OFFSET ?
			    BACKREF_IGNORE_OFFSET : 0, logical_hit, &c, NULL);
}

/* Paths gathered before they are handed out. */
struct path_list {
	char **v;
	u32 n, cap;
};

static int path_list_add(struct path_list *l, const char *p)
{
	size_t len = strlen(p) + 1;

	if (l->n == l->cap) {
		u32 c = l->cap ? 2 * l->cap : 8;
		char **v = kmalloc(c * sizeof(*v));

		if (!v)
			return -ENOMEM;
		if (l->n)
			memcpy(v, l->v, l->n * sizeof(*v));
		kfree(l->v);
		l->v = v;
		l->cap = c;
	}
	l->v[l->n] = kmalloc(len);
	if (!l->v[l->n])
		return -ENOMEM;
	memcpy(l->v[l->n++], p, len);
	return 0;
}

/* Add the path of name (len bytes) in directory dir of subvolume sv. */
static int add_name(struct path_list *l, const struct subvol_root *sv,
		    u64 dir, const u8 *name, size_t len)
{
	char *buf = kmalloc(4096);
	int ret;

	if (!buf)
		return -ENOMEM;
	buf[0] = 0;
	ret = subvol_prepend(buf, 4096, name, len);
	if (ret == 0)
		ret = subvol_prepend_dir_path(sv, dir, buf, 4096);
	if (ret == 0)
		ret = path_list_add(l, buf);
	kfree(buf);
	return ret;
}

/* Add every name in one INODE_REF (key offset: the directory) or
 * INODE_EXTREF item. */
static int add_ref_item(struct path_list *l, const struct subvol_root *sv,
			const struct key *k, const u8 *p, u32 size)
{
	u32 pos = 0, hdr = k->type == BTRFS_INODE_REF_KEY ?
		  (u32)sizeof(struct d_inode_ref) :
		  (u32)sizeof(struct d_inode_extref);
	int ret = 0;

	while (pos + hdr <= size && ret == 0) {
		const u8 *e = p + pos;
		u32 nlen = k->type == BTRFS_INODE_REF_KEY ?
			   D_GET16(struct d_inode_ref, e, name_len) :
			   D_GET16(struct d_inode_extref, e, name_len);
		u64 dir = k->type == BTRFS_INODE_REF_KEY ? k->offset :
			  D_GET64(struct d_inode_extref, e, parent_objectid);

		if (pos + hdr + nlen > size)
			return -EUCLEAN;
		ret = add_name(l, sv, dir, e + hdr, nlen);
		pos += hdr + nlen;
	}
	return ret;
}

/* Gather the paths of ino. Caller holds ns_lock for read. */
static int gather_paths(struct fs_info *fs, struct fs_ino ino,
			struct path_list *l)
{
	struct key k = { ino.ino, BTRFS_INODE_REF_KEY, 0 };
	const struct subvol_root *sv;
	struct ctree_path p;
	u8 *item = NULL;
	int ret = subvol_get(fs, ino.root, &sv);

	ctree_path_init(&p);
	if (ret == 0)
		ret = ctree_search_ge(&sv->root, &k, &p);
	while (ret == 0) {
		const u8 *d;
		u32 size;

		ctree_item_key(&p, &k);
		if (k.objectid != ino.ino || (k.type != BTRFS_INODE_REF_KEY &&
					      k.type != BTRFS_INODE_EXTREF_KEY))
			break;
		d = ctree_item_ptr(&p, &size);
		item = kmalloc(size + 1);
		if (!item) {
			ret = -ENOMEM;
			break;
		}
		memcpy(item, d, size);
		ctree_path_release(&p);
		ret = add_ref_item(l, sv, &k, item, size);
		kfree(item);
		if (ret)
			break;
		key_next_after(&k);
		ret = ctree_search_ge(&sv->root, &k, &p);
	}
	ctree_path_release(&p);
	/* No such inode (or one without a name). */
	if (ret >= 0 && l->n == 0)
		ret = -ENOENT;
	return ret < 0 ? ret : 0;
}

/* See fs.h. */
int fs_inode_paths(struct fs_info *fs, struct fs_ino ino, fs_path_fn fn,
		   void *ctx)
{
	struct path_list l = { NULL, 0, 0 };
	u32 i;
	int ret;

	down_read(&fs->ns_lock);
	ret = gather_paths(fs, ino, &l);
	up_read(&fs->ns_lock);
	for (i = 0; ret == 0 && i < l.n; i++)
		ret = fn(ctx, l.v[i]);
	for (i = 0; i < l.n; i++)
		kfree(l.v[i]);
	kfree(l.v);
	return ret == 1 ? 0 : ret;
}

struct subvol_find {
	u64 id;
	char *buf;
	size_t cap;
	int found;
};

static int subvol_find_fn(void *ctx, const struct fs_subvol *sv)
{
	struct subvol_find *f = ctx;

	if (sv->id != f->id)
		return 0;
	f->found = 1;
	return snprintf(f->buf, f->cap, "%s", sv->path) >= (int)f->cap ?
	       -ENAMETOOLONG : 1;
}

/* See fs.h. */
int fs_subvol_path(struct fs_info *fs, uint64_t id, char *buf, size_t cap)
{
	struct subvol_find f = { id, buf, cap, 0 };
	int ret;

	if (cap == 0)
		return -ENAMETOOLONG;
	buf[0] = 0;
	if (id == BTRFS_FS_TREE_OBJECTID)
		return 0;
	ret = fs_subvol_list(fs, subvol_find_fn, &f);
	if (ret < 0)
		return ret;
	return f.found ? 0 : -ENOENT;
}
