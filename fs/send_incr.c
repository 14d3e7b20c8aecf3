/*
 * Incremental send: the stream that turns the parent snapshot (which the
 * receiver has) into the sent subvolume, from the inodes that differ
 * (send_diff.c), in three passes over them in inode order:
 *
 *  A. vacate: every inode of the parent that is gone (or whose number was
 *     reused) or whose names changed leaves its old names: a file that is
 *     gone is unlinked; any other is renamed to its orphan name
 *     "o<ino>-<gen>-0" at the top (and a file's other names unlinked);
 *  B. directories that are gone are now empty orphans: RMDIR;
 *  C. every new or changed inode of the sent subvolume: new ones are made
 *     under their orphan names, then each inode that left its names gets
 *     its new ones (RENAME from the orphan name, LINK for the others);
 *     then its extended attributes, data (send_data.c), size, owner,
 *     mode and times, each only where it changed.
 * Directories' times go last, once each.
 *
 * Why this is always a valid order: after A, every name that the sent
 * subvolume gives differently from the parent is free (whoever held it
 * left it), so no rename in C lands on a taken name; and a directory is
 * never moved into its own descendant, since in C a directory's new
 * parent is either in place (and then reaches the top through the sent
 * subvolume's own tree, which has no cycle) or an orphan at the top.
 * That covers the hard orderings of fstests' send tests: a directory
 * moved into its former descendant, two names swapped, a name freed and
 * taken in one step, an inode number reused, hard links added and
 * removed, a directory deleted after its contents moved out, a file
 * replaced by a directory of the same name.
 *
 * A move takes one rename, as in Linux, where that keeps the order
 * valid: an inode with one name in the parent and one in the sent
 * subvolume stays at its old name in pass A (c->kept) when nothing in
 * the sent subvolume takes that name and its directory stays, so that
 * the name is never wanted in C before the inode leaves it and pass B
 * never finds it in a directory it removes. In C it is renamed from
 * where it is straight to its new name, which pass A freed as above.
 * Kept inodes are neither in place nor orphans, which the argument
 * above needs of a new parent's way to the top: so before a rename into
 * a directory, every kept inode still on that way (at its old place)
 * goes to its orphan name first (settle), and moves as before, in two
 * renames; a directory moved into its former descendant does so.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/progress.h>

#include "dir.h"
#include "fs_info.h"
#include "send_int.h"
#include "subvol.h"
#include "write_common.h"

/* The values of c->kept: the inode is at its one old name still, or
 * has moved on. */
static const u64 kept_there = 1, kept_moved;

/* One name of an inode. */
struct send_ref {
	u64 dir;
	u32 len;
	u8 name[BTRFS_NAME_LEN];
};

struct ref_list {
	struct send_ref *v;
	u32 n, cap;
};

/* Add the names of one INODE_REF or INODE_EXTREF item to l. */
static int refs_add(struct ref_list *l, const struct key *k, const u8 *item,
		    u32 size)
{
	int ext = k->type == BTRFS_INODE_EXTREF_KEY;
	u32 hdr = ext ? sizeof(struct d_inode_extref) :
		  sizeof(struct d_inode_ref), at = 0;

	while (at < size) {
		const u8 *p = item + at;
		struct send_ref *r;
		u32 len;

		if (size - at < hdr)
			return -EUCLEAN;
		len = ext ? D_GET16(struct d_inode_extref, p, name_len) :
			D_GET16(struct d_inode_ref, p, name_len);
		if (size - at - hdr < len || !len || len > BTRFS_NAME_LEN)
			return -EUCLEAN;
		if (l->n == l->cap) {
			u32 cap = l->cap * 2 + 4;
			struct send_ref *v = kmalloc(cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			if (l->n)
				memcpy(v, l->v, l->n * sizeof(*v));
			kfree(l->v);
			l->v = v;
			l->cap = cap;
		}
		r = &l->v[l->n++];
		r->dir = ext ? D_GET64(struct d_inode_extref, p,
				       parent_objectid) : k->offset;
		r->len = len;
		memcpy(r->name, p + hdr, len);
		at += hdr + len;
	}
	return 0;
}

/* Every name of inode ino in tree root, in key order. */
static int collect_refs(struct send_ctx *c, const struct ctree_root *root,
			u64 ino, struct ref_list *l)
{
	struct key k = { ino, BTRFS_INODE_REF_KEY, 0 };
	struct send_cursor cur = { 0 };
	int ret = send_search_in(c, root, &k, &cur);

	l->n = 0;
	while (ret == 0) {
		tb_item_key(cur.leaf, cur.slot, &k);
		if (k.objectid != ino || (k.type != BTRFS_INODE_REF_KEY &&
					  k.type != BTRFS_INODE_EXTREF_KEY))
			break;
		ret = refs_add(l, &k, tb_item_data(cur.leaf, cur.slot),
			       tb_item_size(cur.leaf, cur.slot));
		if (ret == 0)
			ret = send_next(c, root, &cur);
	}
	send_cursor_release(&cur);
	return ret < 0 ? ret : 0;
}

/* Whether directory dir is there in the sent subvolume as in the parent. */
static int dir_stays(struct send_ctx *c, u64 dir)
{
	const struct send_change *ch = send_change_find(c, dir);

	return !ch || (ch->new_gen && ch->new_gen == ch->old_gen);
}

/* The orphan path of ino of generation gen; where it is now. */
static int to_orphan(struct send_ctx *c, u64 ino, u64 gen, char *path)
{
	struct send_loc l = { .orphan = 1, .gen = gen };
	int ret = send_orphan_name(c, ino, gen, path);

	return ret ? ret : send_loc_set(c, ino, &l);
}

/* Pass A for ch: leave the names it has in the parent. */
static int vacate(struct send_ctx *c, const struct send_change *ch,
		  struct ref_list *refs)
{
	int gone = ch->new_gen != ch->old_gen;
	int dir = SEND_IS(ch->old_mode, S_IFDIR_);
	char *path = (char *)c->data, *orphan = c->in.path;
	u32 i;
	int ret = collect_refs(c, &c->parent->root, ch->ino, refs);

	for (i = 0; i < refs->n && ret == 0; i++) {
		const struct send_ref *r = &refs->v[i];

		ret = send_path_of(c, r->dir, path);
		if (ret == 0)
			ret = send_join(path, path, r->name, r->len);
		if (ret)
			break;
		if ((gone && !dir) || i > 0) {
			ret = send_paths_cmd(c, SEND_C_UNLINK, SEND_A_PATH,
					     path, 0, NULL);
		} else {
			ret = to_orphan(c, ch->ino, ch->old_gen, orphan);
			if (ret == 0)
				ret = send_paths_cmd(c, SEND_C_RENAME,
						     SEND_A_PATH, path,
						     SEND_A_PATH_TO, orphan);
		}
		if (ret == 0 && dir_stays(c, r->dir))
			ret = u64map_put(&c->dirs, r->dir, NULL);
	}
	return ret;
}

/*
 * Whether ch (an inode whose names changed) may stay at its old name in
 * pass A and move straight to its new one in C (see the top): one name
 * in each tree, its old directory stays, and the sent subvolume has
 * nothing under the old name. 1, 0, or <0.
 */
static int moves_directly(struct send_ctx *c, const struct send_change *ch,
			  struct ref_list *refs)
{
	struct send_ref old;
	struct key loc;
	u8 type;
	int ret = collect_refs(c, &c->parent->root, ch->ino, refs);

	if (ret || refs->n != 1 || !dir_stays(c, refs->v[0].dir))
		return ret;
	old = refs->v[0];
	ret = collect_refs(c, &c->sv->root, ch->ino, refs);
	if (ret || refs->n != 1)
		return ret;
	ret = dir_lookup(&c->sv->root, old.dir, (const char *)old.name,
			 old.len, &loc, &type);
	if (ret != -ENOENT)
		return ret < 0 ? ret : 0;
	ret = u64map_put(&c->kept, ch->ino, &kept_there);
	return ret ? ret : u64map_put(&c->dirs, old.dir, NULL);
}

/*
 * Move every inode that pass A kept at its old name and that is now on
 * the way from dir up to the top to its orphan name (the current inode
 * too, in->path following): the way then holds only inodes in place,
 * unchanged ones and orphans, so a rename into dir never lands a
 * directory below itself.
 */
static int settle(struct send_ctx *c, u64 dir)
{
	char *path = (char *)c->data, orphan[64];
	const struct send_change *ch;
	u64 a;
	int ret;

	while ((ret = send_path_find_in(c, dir, &c->kept, &a)) == 0 && a) {
		ch = send_change_find(c, a);
		ret = send_path_of(c, a, path);
		if (ret == 0)
			ret = to_orphan(c, a, ch->old_gen, orphan);
		if (ret == 0)
			ret = send_paths_cmd(c, SEND_C_RENAME, SEND_A_PATH,
					     path, SEND_A_PATH_TO, orphan);
		if (ret == 0)
			ret = u64map_put(&c->kept, a, &kept_moved);
		if (ret)
			break;
		if (a == c->in.ino) {
			c->in.orphan = 1;
			strcpy(c->in.path, orphan);
		}
	}
	return ret;
}

/* Make directory dir now, orphan-named, if it is new and not made yet. */
static int make_dir_early(struct send_ctx *c, u64 dir)
{
	const struct send_change *ch = send_change_find(c, dir);
	u8 ii[sizeof(struct d_inode_item)];
	char name[64];
	int ret;

	if (!ch || ch->new_gen == ch->old_gen ||
	    !u64map_get(&c->created, dir, NULL))
		return 0;
	ret = send_read_inode(c, dir, ii);
	if (ret == 0)
		ret = to_orphan(c, dir, ch->new_gen, name);
	if (ret == 0)
		ret = send_inode_create(c, dir, D_GET32(struct d_inode_item,
							ii, mode), 0, name);
	return ret ? ret : u64map_put(&c->created, dir, &ch->new_gen);
}

/* Give the current inode (an orphan now, or kept at its old name: not
 * in->orphan) its names in the sent tree. */
static int place(struct send_ctx *c, struct ref_list *refs)
{
	struct send_inode *in = &c->in;
	char *path = (char *)c->data;
	u32 i;
	int ret = collect_refs(c, &c->sv->root, in->ino, refs);

	for (i = 0; i < refs->n && ret == 0; i++) {
		const struct send_ref *r = &refs->v[i];
		struct send_loc l = { .dir = r->dir, .len = r->len };

		ret = make_dir_early(c, r->dir);
		if (ret == 0)
			ret = settle(c, r->dir);
		if (ret == 0)
			ret = send_path_of(c, r->dir, path);
		if (ret == 0)
			ret = send_join(path, path, r->name, r->len);
		if (ret)
			break;
		if (i > 0) {
			ret = send_paths_cmd(c, SEND_C_LINK, SEND_A_PATH, path,
					     SEND_A_PATH_LINK, in->path);
		} else {
			ret = send_paths_cmd(c, SEND_C_RENAME, SEND_A_PATH,
					     in->path, SEND_A_PATH_TO, path);
			memcpy(l.name, r->name, r->len);
			if (ret == 0)
				ret = send_loc_set(c, in->ino, &l);
			if (ret == 0)
				strcpy(in->path, path);
		}
		if (ret == 0)
			ret = u64map_put(&c->dirs, r->dir, NULL);
	}
	in->orphan = 0;
	if (ret == 0 && !u64map_get(&c->kept, in->ino, NULL))
		ret = u64map_put(&c->kept, in->ino, &kept_moved);	/* in place */
	return ret;
}

/* Send what items (ino, type) of the sent tree say, through fn. */
static int each_item(struct send_ctx *c, u64 ino, u8 type,
		     int (*fn)(struct send_ctx *c, const struct key *k,
			       const u8 *data, u32 size))
{
	struct key k = { ino, type, 0 };
	struct send_cursor cur = { 0 };
	int ret = send_search(c, &k, &cur);

	while (ret == 0) {
		tb_item_key(cur.leaf, cur.slot, &k);
		if (k.objectid != ino || k.type != type)
			break;
		ret = fn(c, &k, tb_item_data(cur.leaf, cur.slot),
			 tb_item_size(cur.leaf, cur.slot));
		if (ret == 0)
			ret = send_next(c, &c->sv->root, &cur);
	}
	send_cursor_release(&cur);
	return ret < 0 ? ret : 0;
}

static int xattr_item(struct send_ctx *c, const struct key *k,
		      const u8 *data, u32 size)
{
	(void)k;
	return send_inode_xattrs(c, data, size);
}

/* The extended attributes of an inode, entry after entry as XATTR items
 * hold them (struct d_dir_item, name, value). */
struct xattr_list {
	u8 *buf;
	u32 len, cap;
};

static int xattrs_of(struct send_ctx *c, const struct ctree_root *root,
		     u64 ino, struct xattr_list *l)
{
	struct key k = { ino, BTRFS_XATTR_ITEM_KEY, 0 };
	struct send_cursor cur = { 0 };
	int ret = send_search_in(c, root, &k, &cur);

	while (ret == 0) {
		u32 size;

		tb_item_key(cur.leaf, cur.slot, &k);
		if (k.objectid != ino || k.type != BTRFS_XATTR_ITEM_KEY)
			break;
		size = tb_item_size(cur.leaf, cur.slot);
		if (l->len + size > l->cap) {
			u32 cap = (l->len + size) * 2;
			u8 *v = kmalloc(cap);

			if (!v) {
				ret = -ENOMEM;
				break;
			}
			if (l->len)
				memcpy(v, l->buf, l->len);
			kfree(l->buf);
			l->buf = v;
			l->cap = cap;
		}
		memcpy(l->buf + l->len, tb_item_data(cur.leaf, cur.slot), size);
		l->len += size;
		ret = send_next(c, root, &cur);
	}
	send_cursor_release(&cur);
	return ret < 0 ? ret : 0;
}

/* Entry sizes: name and value of the entry at p. */
static u32 entry_len(const u8 *p, u32 *nlen, u32 *dlen)
{
	*nlen = D_GET16(struct d_dir_item, p, name_len);
	*dlen = D_GET16(struct d_dir_item, p, data_len);
	return sizeof(struct d_dir_item) + *nlen + *dlen;
}

/* The entry of l named like the entry e, or NULL. */
static const u8 *xattr_find(const struct xattr_list *l, const u8 *e)
{
	u32 en, ed, at = 0;

	entry_len(e, &en, &ed);
	while (at < l->len) {
		const u8 *p = l->buf + at;
		u32 n, d, step = entry_len(p, &n, &d);

		if (step > l->len - at)
			return NULL;
		if (n == en && !memcmp(p + sizeof(struct d_dir_item),
				       e + sizeof(struct d_dir_item), n))
			return p;
		at += step;
	}
	return NULL;
}

/* SET_XATTR the new or changed attributes of the current inode,
 * REMOVE_XATTR those it lost. */
static int xattrs_diff(struct send_ctx *c, struct xattr_list *o,
		       struct xattr_list *n)
{
	u32 at, hdr = sizeof(struct d_dir_item);
	int ret = 0;

	for (at = 0; at < n->len && ret == 0;) {
		const u8 *e = n->buf + at, *old = xattr_find(o, e);
		u32 nl, dl, step = entry_len(e, &nl, &dl), onl, odl;

		if (step > n->len - at)
			return -EUCLEAN;
		if (!old || entry_len(old, &onl, &odl) != step ||
		    memcmp(old + hdr + nl, e + hdr + nl, dl))
			ret = send_inode_xattrs(c, e, step);
		at += step;
	}
	for (at = 0; at < o->len && ret == 0;) {
		const u8 *e = o->buf + at;
		u32 nl, dl, step = entry_len(e, &nl, &dl);

		if (step > o->len - at)
			return -EUCLEAN;
		if (!xattr_find(n, e)) {
			send_begin(&c->out, SEND_C_REMOVE_XATTR);
			ret = send_put_str(&c->out, SEND_A_PATH, c->in.path);
			if (ret == 0)
				ret = send_put(&c->out, SEND_A_XATTR_NAME,
					       e + hdr, nl);
			if (ret == 0)
				ret = send_end(&c->out);
		}
		at += step;
	}
	return ret;
}

/* Send how the current inode's extended attributes changed. */
int send_xattrs_diff(struct send_ctx *c)
{
	struct xattr_list o = { 0 }, n = { 0 };
	int ret = xattrs_of(c, &c->parent->root, c->in.ino, &o);

	if (ret == 0)
		ret = xattrs_of(c, &c->sv->root, c->in.ino, &n);
	if (ret == 0)
		ret = xattrs_diff(c, &o, &n);
	kfree(o.buf);
	kfree(n.buf);
	return ret;
}

/* Pass C for a new inode: made, named, and sent whole. */
static int send_new(struct send_ctx *c, const struct send_change *ch,
		    struct ref_list *refs)
{
	struct send_inode *in = &c->in;
	int ret = 0;

	if (in->ignore)
		return 0;
	in->orphan = 1;
	ret = send_orphan_name(c, in->ino, ch->new_gen, in->path);
	if (ret == 0 && u64map_get(&c->created, in->ino, NULL)) {
		ret = to_orphan(c, in->ino, ch->new_gen, in->path);
		if (ret == 0)
			ret = send_inode_create(c, in->ino, in->mode, in->rdev,
						in->path);
		if (ret == 0)
			ret = u64map_put(&c->created, in->ino, &in->gen);
	}
	if (ret == 0)
		ret = place(c, refs);
	if (ret == 0)
		ret = each_item(c, in->ino, BTRFS_XATTR_ITEM_KEY, xattr_item);
	if (ret == 0)
		ret = each_item(c, in->ino, BTRFS_EXTENT_DATA_KEY,
				send_extent);
	return ret ? ret : send_inode_finish(c);
}

/* Pass C for one inode of the sent subvolume. */
static int update(struct send_ctx *c, const struct send_change *ch,
		  struct ref_list *refs)
{
	struct send_inode *in = &c->in;
	struct key k = { ch->ino, BTRFS_INODE_ITEM_KEY, 0 };
	u8 ii[sizeof(struct d_inode_item)];
	int ret = send_read_inode(c, ch->ino, ii);

	if (ret == 0)
		ret = send_inode_load(c, &k, ii);
	if (ret || in->ignore)
		return ret;
	if (ch->new_gen != ch->old_gen)
		return send_new(c, ch, refs);
	if (in->ino != c->sv->root_dirid && (ch->what & SEND_CH_REFS)) {
		in->orphan = u64map_get(&c->kept, in->ino, NULL) != 0;
		ret = in->orphan ? send_orphan_name(c, in->ino, in->gen,
						    in->path)
				 : send_path_of(c, in->ino, in->path);
		if (ret == 0)
			ret = place(c, refs);
	} else {
		ret = send_path_of(c, in->ino, in->path);
	}
	if (ret == 0 && (ch->what & SEND_CH_XATTR))
		ret = send_xattrs_diff(c);
	if (ret == 0 && (ch->what & SEND_CH_DATA) &&
	    SEND_IS(in->mode, S_IFREG_))
		ret = send_data_diff(c);	/* sets in->recv_size */
	return ret ? ret : send_inode_finish_changed(c);
}

/* The stream of an incremental send, after SNAPSHOT. */
int send_incremental(struct send_ctx *c)
{
	struct ref_list refs = { 0 };
	u32 i;
	int ret;

	progress_phase("comparing", 0, "items");
	ret = send_diff(c);
	progress_phase("sending changes", c->nchanges * 3, "steps");
	for (i = 0; i < c->nchanges && ret == 0; i++) {
		const struct send_change *ch = &c->changes[i];

		if (ch->old_gen && ch->new_gen == ch->old_gen &&
		    (ch->what & SEND_CH_REFS))
			ret = moves_directly(c, ch, &refs);
		if (ret == 0 && ch->old_gen &&
		    (ch->new_gen != ch->old_gen || (ch->what & SEND_CH_REFS)) &&
		    u64map_get(&c->kept, ch->ino, NULL))
			ret = vacate(c, ch, &refs);
		if (ret == 0)
			ret = progress_add(1);
	}
	for (i = 0; i < c->nchanges && ret == 0; i++) {
		const struct send_change *ch = &c->changes[i];

		if (ch->old_gen && ch->new_gen != ch->old_gen &&
		    SEND_IS(ch->old_mode, S_IFDIR_)) {
			ret = send_orphan_name(c, ch->ino, ch->old_gen,
					       c->in.path);
			if (ret == 0)
				ret = send_paths_cmd(c, SEND_C_RMDIR,
						     SEND_A_PATH, c->in.path,
						     0, NULL);
		}
		if (ret == 0)
			ret = progress_add(1);
	}
	for (i = 0; i < c->nchanges && ret == 0; i++) {
		if (c->changes[i].new_gen)
			ret = update(c, &c->changes[i], &refs);
		if (ret == 0)
			ret = progress_add(1);
	}
	kfree(refs.v);
	return ret ? ret : send_dir_times(c);
}
