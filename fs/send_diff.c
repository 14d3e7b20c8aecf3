/*
 * What an incremental send has to say: the inodes that differ between
 * the parent snapshot and the sent subvolume, found by walking both
 * trees' commit roots side by side, item by item in key order (each
 * search as send.c's, on commit roots with cloned leaves, restarting by
 * key after a relocation commit). Where both walks stand at the start of
 * a leaf on the same key, a subtree the two trees share (one block in
 * both: the snapshot did not change it) is skipped whole
 * (commit_root_shared_until), so the cost follows what changed, not the
 * size of the subvolume.
 *
 * Each inode that differs gets one record (struct send_change, in inode
 * order): its generation and mode in each tree (0 where it does not
 * exist; a different generation means the number was reused: the old
 * inode was deleted and a new one made) and which kinds of items differ.
 * A directory whose number was reused is a new directory: the inodes
 * named in it (in either tree) are recorded as renamed too, even when
 * their own items did not change, because the names they have are in a
 * different directory.
 */
#include <ghee/errno.h>
#include <stdlib.h>

#include <ghee/alloc.h>
#include <ghee/progress.h>

#include "commit_root.h"
#include "fs_info.h"
#include "send_int.h"
#include "subvol.h"
#include "write_common.h"

/* The inode being compared and what was found of it so far. */
struct diff_acc {
	struct send_change ch;
	int any;			/* an item of it was seen */
	int inode_seen;			/* its inode item was (not skipped) */
};

static int push(struct send_ctx *c, const struct send_change *ch)
{
	if (c->nchanges == c->changes_cap) {
		u32 cap = c->changes_cap ? c->changes_cap * 2 : 64;
		struct send_change *v = kmalloc(cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		if (c->nchanges)
			memcpy(v, c->changes, c->nchanges * sizeof(*v));
		kfree(c->changes);
		c->changes = v;
		c->changes_cap = cap;
	}
	c->changes[c->nchanges++] = *ch;
	return 0;
}

static void note_inode(struct diff_acc *a, int side, const u8 *ii, u32 size);

/* Record the accumulated inode if it differs; start ino. An inode whose
 * inode item lay in a skipped shared subtree is the same inode in both
 * trees: its item is read for the record. */
static int flush(struct send_ctx *c, struct diff_acc *a, u64 ino)
{
	u8 ii[sizeof(struct d_inode_item)];
	int ret = 0;

	if (a->any && a->ch.what && !a->inode_seen) {
		ret = send_read_inode(c, a->ch.ino, ii);
		note_inode(a, 0, ii, sizeof(ii));
		note_inode(a, 1, ii, sizeof(ii));
	}
	if (ret == 0 && a->any &&
	    (a->ch.what || a->ch.old_gen != a->ch.new_gen))
		ret = push(c, &a->ch);
	memset(a, 0, sizeof(*a));
	a->ch.ino = ino;
	return ret;
}

static u8 kind_of(u8 type)
{
	switch (type) {
	case BTRFS_INODE_ITEM_KEY: return SEND_CH_INODE;
	case BTRFS_INODE_REF_KEY:
	case BTRFS_INODE_EXTREF_KEY: return SEND_CH_REFS;
	case BTRFS_XATTR_ITEM_KEY: return SEND_CH_XATTR;
	case BTRFS_EXTENT_DATA_KEY: return SEND_CH_DATA;
	}
	return SEND_CH_OTHER;
}

/* Note an inode item of the old (side 0) or new (1) tree. */
static void note_inode(struct diff_acc *a, int side, const u8 *ii, u32 size)
{
	u64 gen;
	u32 mode;

	if (size < sizeof(struct d_inode_item))
		return;
	a->inode_seen = 1;
	gen = D_GET64(struct d_inode_item, ii, generation);
	mode = D_GET32(struct d_inode_item, ii, mode);
	if (side) {
		a->ch.new_gen = gen;
		a->ch.new_mode = mode;
	} else {
		a->ch.old_gen = gen;
		a->ch.old_mode = mode;
	}
}

/* The key at cur, or 0 (and k untouched) when cur is past the inodes. */
static int at_key(const struct send_cursor *cur, struct key *k)
{
	if (!cur->leaf)
		return 0;
	tb_item_key(cur->leaf, cur->slot, k);
	return k->objectid <= BTRFS_LAST_FREE_OBJECTID;
}

/* Whether the items at o and n are the same bytes. */
static int same_item(const struct send_cursor *o, const struct send_cursor *n)
{
	u32 so = tb_item_size(o->leaf, o->slot);

	return so == tb_item_size(n->leaf, n->slot) &&
	       !memcmp(tb_item_data(o->leaf, o->slot),
		       tb_item_data(n->leaf, n->slot), so);
}

/*
 * Both walks stand on key k at the start of their leaves: when k starts a
 * subtree both trees share, move both past it. 1 when moved (both
 * released when the trees end there), 0 when not, <0 on errors. A
 * relocation commit since the walks' searches makes it 0: the walks
 * search again first (send_next).
 */
static int skip_shared(struct send_ctx *c, struct send_cursor *o,
		       struct send_cursor *n, const struct key *k)
{
	struct key next;
	u64 reloc;
	int ret = commit_root_shared_until(&c->parent->root, &c->sv->root, k,
					   &next, &reloc);

	if (ret == -ENOENT || (ret >= 0 && (reloc != o->reloc ||
					    reloc != n->reloc)))
		return 0;
	if (ret < 0)
		return ret;
	if (ret == 1) {
		send_cursor_release(o);
		send_cursor_release(n);
		return 1;
	}
	ret = send_search_in(c, &c->parent->root, &next, o);
	if (ret >= 0)
		ret = send_search_in(c, &c->sv->root, &next, n);
	return ret < 0 ? ret : 1;
}

/* Walk both trees and record every inode that differs. */
static int diff_walk(struct send_ctx *c)
{
	const struct ctree_root *ro = &c->parent->root, *rn = &c->sv->root;
	struct send_cursor o = { 0 }, n = { 0 };
	struct key k0 = { c->sv->root_dirid, BTRFS_INODE_ITEM_KEY, 0 };
	struct key ko, kn;
	struct diff_acc a = { 0 };
	int ret = send_search_in(c, ro, &k0, &o);

	if (ret >= 0)
		ret = send_search_in(c, rn, &k0, &n);
	a.ch.ino = k0.objectid;
	while (ret >= 0) {
		int ho = at_key(&o, &ko), hn = at_key(&n, &kn), cmp, side;
		const struct key *k;

		if (!ho && !hn)
			break;
		cmp = !ho ? 1 : !hn ? -1 : key_cmp(&ko, &kn);
		if (cmp == 0 && o.slot == 0 && n.slot == 0) {
			ret = skip_shared(c, &o, &n, &ko);
			if (ret)
				continue;
		}
		c->compared++;
		k = cmp <= 0 ? &ko : &kn;
		if (k->objectid != a.ch.ino) {
			ret = flush(c, &a, k->objectid);
			if (ret)
				break;
		}
		a.any = 1;
		for (side = 0; side < 2; side++) {
			struct send_cursor *cur = side ? &n : &o;

			if ((side && cmp < 0) || (!side && cmp > 0))
				continue;
			if (k->type == BTRFS_INODE_ITEM_KEY)
				note_inode(&a, side,
					   tb_item_data(cur->leaf, cur->slot),
					   tb_item_size(cur->leaf, cur->slot));
		}
		if (cmp != 0 || !same_item(&o, &n))
			a.ch.what |= kind_of(k->type);
		ret = progress_add(1);
		if (ret == 0 && cmp <= 0)
			ret = send_next(c, ro, &o);
		if (ret >= 0 && cmp >= 0)
			ret = send_next(c, rn, &n);
	}
	send_cursor_release(&o);
	send_cursor_release(&n);
	return ret < 0 ? ret : flush(c, &a, 0);
}

static int change_cmp(const void *x, const void *y)
{
	const struct send_change *a = x, *b = y;

	return a->ino < b->ino ? -1 : a->ino > b->ino;
}

/* The record of ino, or NULL when it did not change. */
struct send_change *send_change_find(struct send_ctx *c, u64 ino)
{
	struct send_change key = { .ino = ino };

	return bsearch(&key, c->changes, c->nchanges, sizeof(key),
		       change_cmp);
}

/* Record inode ino, named in a reused directory, as renamed. */
static int mark_renamed(struct send_ctx *c, u64 ino)
{
	struct send_change *ch = send_change_find(c, ino), add = { 0 };
	u8 ii[sizeof(struct d_inode_item)];
	int ret;

	if (ch) {
		ch->what |= SEND_CH_REFS;
		return 0;
	}
	/* Unchanged: the same inode item in both trees. */
	ret = send_read_inode(c, ino, ii);
	if (ret)
		return ret;
	add.ino = ino;
	add.old_gen = add.new_gen = D_GET64(struct d_inode_item, ii,
					    generation);
	add.old_mode = add.new_mode = D_GET32(struct d_inode_item, ii, mode);
	add.what = SEND_CH_REFS;
	return push(c, &add);
}

/* Inodes named in directory dir of tree root (DIR_INDEX items). */
static int list_children(struct send_ctx *c, const struct ctree_root *root,
			 u64 dir, u64 **out, u32 *n, u32 *cap)
{
	struct key k = { dir, BTRFS_DIR_INDEX_KEY, 0 };
	struct send_cursor cur = { 0 };
	int ret = send_search_in(c, root, &k, &cur);

	while (ret == 0) {
		struct key loc;

		tb_item_key(cur.leaf, cur.slot, &k);
		if (k.objectid != dir || k.type != BTRFS_DIR_INDEX_KEY)
			break;
		key_from_disk(&loc, D_PTR(struct d_dir_item,
					  tb_item_data(cur.leaf, cur.slot),
					  location));
		if (loc.type == BTRFS_INODE_ITEM_KEY) {
			if (*n == *cap) {
				u64 *v = kmalloc((*cap * 2 + 16) * sizeof(u64));

				if (!v) {
					ret = -ENOMEM;
					break;
				}
				if (*n)
					memcpy(v, *out, *n * sizeof(u64));
				kfree(*out);
				*out = v;
				*cap = *cap * 2 + 16;
			}
			(*out)[(*n)++] = loc.objectid;
		}
		ret = send_next(c, root, &cur);
	}
	send_cursor_release(&cur);
	return ret < 0 ? ret : 0;
}

/* Inodes named in reused directories count as renamed. */
static int reused_dirs(struct send_ctx *c)
{
	u64 *kids = NULL;
	u32 n = 0, cap = 0, i, count = c->nchanges;
	int ret = 0;

	for (i = 0; i < count && ret == 0; i++) {
		const struct send_change *ch = &c->changes[i];

		if (!ch->old_gen || !ch->new_gen || ch->old_gen == ch->new_gen)
			continue;
		if (SEND_IS(ch->new_mode, S_IFDIR_))
			ret = list_children(c, &c->sv->root, ch->ino, &kids,
					    &n, &cap);
		if (ret == 0 && SEND_IS(ch->old_mode, S_IFDIR_))
			ret = list_children(c, &c->parent->root, ch->ino,
					    &kids, &n, &cap);
	}
	for (i = 0; i < n && ret == 0; i++) {
		ret = mark_renamed(c, kids[i]);
		if (ret == 0)
			qsort(c->changes, c->nchanges, sizeof(*c->changes),
			      change_cmp);
	}
	kfree(kids);
	return ret;
}

/* Find every inode that differs between parent and sent subvolume. */
int send_diff(struct send_ctx *c)
{
	int ret = diff_walk(c);

	return ret ? ret : reused_dirs(c);
}
