/*
 * Paths as the receiver sees them at each point of the stream.
 *
 * Inodes are sent in inode-number order. An inode below c->progress is
 * in place: its path is the path of its first name (its first INODE_REF
 * or INODE_EXTREF item, as Linux's send takes it). Any other inode is
 * still under its orphan name "o<ino>-<gen>-0" at the subvolume's top
 * (a directory made ahead of its turn because an inode sent earlier
 * lives in it). So a path is built from the inode up: names of inodes in
 * place, until the top directory (256) or an orphan.
 *
 * An incremental send follows the parent snapshot instead: an inode that
 * moved or was made during the stream has its place in c->loc (a name in
 * a directory, or its orphan name); any other inode is where the parent
 * has it (its first name there; unchanged inodes have the same names in
 * both trees).
 */
#include <ghee/errno.h>
#include <stdio.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "dir.h"
#include "fs_info.h"
#include "send_int.h"
#include "subvol.h"

/* The name an inode has before it is in place: "o<ino>-<gen>-0". */
/* Whether the top directory of subvolume sv has an entry called name.
 * 1, 0, or <0. */
static int top_has_name(const struct subvol_root *sv, const char *name)
{
	struct key loc;
	u8 type;
	int ret = dir_lookup(&sv->root, sv->root_dirid, name, strlen(name),
			     &loc, &type);

	return ret == -ENOENT ? 0 : ret == 0 ? 1 : ret;
}

/*
 * The orphan name of inode ino of generation gen, as Linux makes it:
 * "o<ino>-<gen>-<n>", n the first from 0 that neither the sent
 * subvolume's top directory nor the parent's holds (a user's file may be
 * called so, and the receiver's top directory holds the parent's names
 * and then the sent ones). Paths name an orphan again and again, so n is
 * remembered per inode. 0 or <0.
 */
int send_orphan_name(struct send_ctx *c, u64 ino, u64 gen, char *out)
{
	u64 memo;
	u32 n = 0;
	int ret = 1;

	if (!u64map_get(&c->orphans, ino, &memo) && memo >> 8 == gen) {
		snprintf(out, 64, "o%llu-%llu-%u", (unsigned long long)ino,
			 (unsigned long long)gen, (u32)(memo & 0xff));
		return 0;
	}
	for (n = 0; n <= 0xff && ret; n += ret > 0) {
		snprintf(out, 64, "o%llu-%llu-%u", (unsigned long long)ino,
			 (unsigned long long)gen, n);
		ret = top_has_name(c->sv, out);
		if (ret == 0 && c->parent)
			ret = top_has_name(c->parent, out);
		if (ret < 0)
			return ret;
	}
	if (ret)
		return -EEXIST;
	memo = gen << 8 | n;
	return u64map_put(&c->orphans, ino, &memo);
}

/* out = dir "/" name (just name when dir is the top, ""). */
int send_join(char *out, const char *dir, const u8 *name, u32 len)
{
	size_t d = strlen(dir);

	if (d + 1 + len + 1 > SEND_PATH_MAX)
		return -ENAMETOOLONG;
	if (out != dir)
		memmove(out, dir, d);
	if (d)
		out[d++] = '/';
	memcpy(out + d, name, len);
	out[d + len] = 0;
	return 0;
}

/*
 * The first name of inode ino in tree root: its parent directory and the
 * name, copied to name (BTRFS_NAME_LEN bytes room). 0, -EUCLEAN when it
 * has none.
 */
static int first_ref(struct send_ctx *c, const struct ctree_root *root,
		     u64 ino, u64 *parent, u8 *name, u32 *len)
{
	struct key k = { ino, BTRFS_INODE_REF_KEY, 0 };
	struct send_cursor cur = { 0 };
	const u8 *p;
	u32 size, hdr;
	int ret = send_search_in(c, root, &k, &cur);

	if (ret == 0) {
		tb_item_key(cur.leaf, cur.slot, &k);
		p = tb_item_data(cur.leaf, cur.slot);
		size = tb_item_size(cur.leaf, cur.slot);
		if (k.objectid != ino || (k.type != BTRFS_INODE_REF_KEY &&
					  k.type != BTRFS_INODE_EXTREF_KEY))
			ret = 1;
	}
	if (ret == 0 && k.type == BTRFS_INODE_REF_KEY) {
		hdr = sizeof(struct d_inode_ref);
		*parent = k.offset;
		*len = size < hdr ? 0 :
			D_GET16(struct d_inode_ref, p, name_len);
	} else if (ret == 0) {
		hdr = sizeof(struct d_inode_extref);
		*parent = size < hdr ? 0 :
			D_GET64(struct d_inode_extref, p, parent_objectid);
		*len = size < hdr ? 0 :
			D_GET16(struct d_inode_extref, p, name_len);
	}
	if (ret == 0 && (size < hdr + *len || !*len || *len > BTRFS_NAME_LEN))
		ret = -EUCLEAN;
	if (ret == 0)
		memcpy(name, p + hdr, *len);
	send_cursor_release(&cur);
	if (ret == 1) {
		pr_err("send: subvolume %llu inode %llu has no name",
		       (unsigned long long)c->sv->root.objectid,
		       (unsigned long long)ino);
		ret = -EUCLEAN;
	}
	return ret;
}

/* The generation of inode ino, for its orphan name. */
static int orphan_gen(struct send_ctx *c, u64 ino, u64 *gen)
{
	u8 ii[sizeof(struct d_inode_item)];
	int ret;

	if (ino == c->in.ino) {
		*gen = c->in.gen;
		return 0;
	}
	if (!u64map_get(&c->created, ino, gen))
		return 0;
	ret = send_read_inode(c, ino, ii);
	if (ret == 0)
		*gen = D_GET64(struct d_inode_item, ii, generation);
	return ret;
}

/* Put len bytes of s before the path being built backwards at *at. */
static int prepend(char *buf, size_t *at, const void *s, size_t len)
{
	if (len + 1 > *at)
		return -ENAMETOOLONG;
	if (*at < SEND_PATH_MAX - 1)
		buf[--*at] = '/';
	*at -= len;
	memcpy(buf + *at, s, len);
	return 0;
}

/* Record where inode ino is now (an incremental send). */
int send_loc_set(struct send_ctx *c, u64 ino, const struct send_loc *l)
{
	u64 v;
	struct send_loc *n;
	int ret;

	if (!u64map_get(&c->loc, ino, &v)) {
		*(struct send_loc *)(uintptr_t)v = *l;
		return 0;
	}
	n = kmalloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	*n = *l;
	v = (u64)(uintptr_t)n;
	ret = u64map_put(&c->loc, ino, &v);
	if (ret)
		kfree(n);
	return ret;
}

void send_loc_free_all(struct send_ctx *c)
{
	u32 pos = 0;
	u64 ino, v;

	while (u64map_next(&c->loc, &pos, &ino, &v))
		kfree((void *)(uintptr_t)v);
	u64map_free(&c->loc);
}

/*
 * One step up from ino in an incremental send: its name and directory,
 * or (*orphan_gen set) its orphan name's generation.
 */
static int incr_step(struct send_ctx *c, u64 ino, u64 *parent, u8 *name,
		     u32 *len, u64 *orphan_gen)
{
	const struct send_change *ch;
	u64 v;

	*orphan_gen = 0;
	if (!u64map_get(&c->loc, ino, &v)) {
		const struct send_loc *l = (const void *)(uintptr_t)v;

		if (l->orphan) {
			*orphan_gen = l->gen;
			return 0;
		}
		*parent = l->dir;
		*len = l->len;
		memcpy(name, l->name, l->len);
		return 0;
	}
	ch = send_change_find(c, ino);
	return first_ref(c, ch && ch->old_gen ? &c->parent->root :
			 &c->sv->root, ino, parent, name, len);
}

/*
 * The first inode on the way from ino (itself included) up to the top,
 * as the receiver has it now, that set s holds with value 1 (an
 * incremental send's c->kept): *found, or 0 when the way reaches the top
 * or an orphan first. 0 or <0.
 */
int send_path_find_in(struct send_ctx *c, u64 ino, const struct u64map *s,
		      u64 *found)
{
	u8 name[BTRFS_NAME_LEN];
	int depth = 0, ret = 0;

	*found = 0;
	while (ino != c->sv->root_dirid && ret == 0) {
		u64 parent = 0, gen, v;
		u32 len = 0;

		if (!u64map_get(s, ino, &v) && v == 1) {
			*found = ino;
			break;
		}
		ret = incr_step(c, ino, &parent, name, &len, &gen);
		if (ret == 0 && gen)
			break;
		if (ret == 0 && ++depth > SEND_PATH_MAX / 2)
			ret = -ELOOP;
		ino = parent;
	}
	return ret;
}

/* Where inode ino is now for the receiver, into out (SEND_PATH_MAX). */
int send_path_of(struct send_ctx *c, u64 ino, char *out)
{
	char *buf = c->tmp;
	size_t at = SEND_PATH_MAX - 1;
	u8 name[BTRFS_NAME_LEN];
	int depth = 0, ret = 0;

	buf[at] = 0;
	while (c->parent && ino != c->sv->root_dirid && ret == 0) {
		u64 parent = 0, gen;
		u32 len = 0;

		ret = incr_step(c, ino, &parent, name, &len, &gen);
		if (ret == 0 && gen) {
			char orphan[64];

			ret = send_orphan_name(c, ino, gen, orphan);
			if (ret == 0)
				ret = prepend(buf, &at, orphan, strlen(orphan));
			break;
		}
		if (ret == 0)
			ret = prepend(buf, &at, name, len);
		if (ret == 0 && ++depth > SEND_PATH_MAX / 2)
			ret = -ELOOP;
		ino = parent;
	}
	while (!c->parent && ino != c->sv->root_dirid && ret == 0) {
		u64 parent, gen;
		u32 len;

		if (ino >= c->progress) {
			char orphan[64];

			ret = orphan_gen(c, ino, &gen);
			if (ret == 0)
				ret = send_orphan_name(c, ino, gen, orphan);
			if (ret == 0)
				ret = prepend(buf, &at, orphan, strlen(orphan));
			break;
		}
		ret = first_ref(c, &c->sv->root, ino, &parent, name, &len);
		if (ret == 0)
			ret = prepend(buf, &at, name, len);
		if (ret == 0 && ++depth > SEND_PATH_MAX / 2)
			ret = -ELOOP;
		ino = parent;
	}
	if (ret == 0)
		memmove(out, buf + at, SEND_PATH_MAX - at);
	return ret;
}
