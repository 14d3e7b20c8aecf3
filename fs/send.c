/*
 * Send: read-only subvolumes as a btrfs send stream; the walk of a full
 * send and the entry point.
 *
 * The walk. Send reads the subvolume's tree at its commit root, item by
 * item in key order, the way Linux's send does since it may run beside
 * relocation (reference/send-during-relocation.txt):
 *  1. every tree search (the walk's, and the look-ups of names and inode
 *     items) takes commit_root_sem for read for that search only
 *     (commit_root_search) and no other filesystem lock;
 *  2. before releasing it, the leaf found is cloned, and the walk works
 *     on the clone;
 *  3. commands are built and handed to the sink with no lock held, so a
 *     send piped into a receive on the same filesystem cannot stall the
 *     commits that receive needs;
 *  4. after each item the relocation counter is checked: when a
 *     relocation commit happened since the clone was made, the clone is
 *     dropped and the walk searches again for the key it was at. Keys of
 *     a read-only tree never change, so it finds its place again;
 *  5. when a commit waits for commit_root_sem (it is contended), the walk
 *     yields before its next search.
 * File data is read through fs_read, as any reader of the subvolume
 * (the subvolume cannot change: it is read-only, and it can be neither
 * deleted nor made writable while a send reads it: subvol_root's
 * send_in_progress, checked under ns_lock, as Linux's
 * root->send_in_progress).
 *
 * The stream: SUBVOL (the subvolume's name, UUID and ctransid), then each
 * inode in inode-number order (send_inode.c, send_data.c), the
 * directories' times, END. An incremental send (send_incr.c) starts with
 * SNAPSHOT of the parent and sends only what differs.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>
#include <ghee/progress.h>
#include <ghee/sync.h>
#include <ghee/task.h>

#include "commit_root.h"
#include "fs.h"
#include "fs_info.h"
#include "send_int.h"
#include "subvol.h"

void send_cursor_release(struct send_cursor *cur)
{
	tree_block_put(cur->leaf);
	cur->leaf = NULL;
}

/*
 * Position cur at the first item >= key of tree root (the sent
 * subvolume or the parent), from a fresh clone of its leaf. 0, 1 past the
 * last item (cur->leaf NULL), or <0.
 */
int send_search_in(struct send_ctx *c, const struct ctree_root *root,
		   const struct key *key, struct send_cursor *cur)
{
	struct fs_info *fs = c->fs;

	send_cursor_release(cur);
	if (rwsem_is_contended(&fs->commit_root_sem))
		task_yield();
	return commit_root_search(root, key, &cur->leaf, &cur->slot,
				  &cur->reloc);
}

/* The same in the sent subvolume. */
int send_search(struct send_ctx *c, const struct key *key,
		struct send_cursor *cur)
{
	return send_search_in(c, &c->sv->root, key, cur);
}

/* Copy the inode item of ino in tree root into item. 0, -EUCLEAN when
 * missing. */
int send_read_inode_in(struct send_ctx *c, const struct ctree_root *root,
		       u64 ino, u8 *item)
{
	struct key k = { ino, BTRFS_INODE_ITEM_KEY, 0 };
	struct send_cursor cur = { 0 };
	int ret = send_search_in(c, root, &k, &cur);

	if (ret == 0) {
		struct key f;

		tb_item_key(cur.leaf, cur.slot, &f);
		if (f.objectid != ino || f.type != BTRFS_INODE_ITEM_KEY ||
		    tb_item_size(cur.leaf, cur.slot) <
		    sizeof(struct d_inode_item))
			ret = 1;
		else
			memcpy(item, tb_item_data(cur.leaf, cur.slot),
			       sizeof(struct d_inode_item));
	}
	send_cursor_release(&cur);
	if (ret == 1) {
		pr_err("send: subvolume %llu: no inode item for %llu",
		       (unsigned long long)root->objectid,
		       (unsigned long long)ino);
		ret = -EUCLEAN;
	}
	return ret;
}

/* The same in the sent subvolume. */
int send_read_inode(struct send_ctx *c, u64 ino, u8 *item)
{
	return send_read_inode_in(c, &c->sv->root, ino, item);
}

/*
 * Step cur, a walk of tree root, to the next item: searching again from
 * the current key first when a relocation commit made the clone stale.
 * 0, 1 at the end.
 */
int send_next(struct send_ctx *c, const struct ctree_root *root,
	      struct send_cursor *cur)
{
	struct key k;
	int ret;

	tb_item_key(cur->leaf, cur->slot, &k);
	if (commit_root_reloc_count(c->fs) != cur->reloc) {
		c->restarts++;
		ret = send_search_in(c, root, &k, cur);
		if (ret)
			return ret;
	}
	if (cur->slot + 1 < tb_nritems(cur->leaf)) {
		cur->slot++;
		return 0;
	}
	tb_item_key(cur->leaf, tb_nritems(cur->leaf) - 1, &k);
	if (!commit_root_key_after(&k)) {
		send_cursor_release(cur);
		return 1;
	}
	return send_search_in(c, root, &k, cur);
}

/* Send what item k (data, size bytes) of the subvolume says. */
static int send_item(struct send_ctx *c, const struct key *k,
		     const u8 *data, u32 size)
{
	int ret = 0;

	if (k->objectid != c->in.ino) {
		ret = send_inode_finish(c);
		if (ret)
			return ret;
		if (k->type != BTRFS_INODE_ITEM_KEY ||
		    size < sizeof(struct d_inode_item)) {
			pr_err("send: subvolume %llu: inode %llu has no inode "
			       "item", (unsigned long long)c->sv->root.objectid,
			       (unsigned long long)k->objectid);
			return -EUCLEAN;
		}
		return send_inode_begin(c, k, data);
	}
	if (c->in.ignore)
		return 0;
	switch (k->type) {
	case BTRFS_INODE_REF_KEY:
	case BTRFS_INODE_EXTREF_KEY:
		return send_inode_refs(c, k, data, size);
	case BTRFS_XATTR_ITEM_KEY:
		ret = send_inode_refs_done(c);
		return ret ? ret : send_inode_xattrs(c, data, size);
	case BTRFS_EXTENT_DATA_KEY:
		ret = send_inode_refs_done(c);
		return ret ? ret : send_extent(c, k, data, size);
	}
	return 0;
}

/* Walk every inode of the subvolume. */
static int send_walk(struct send_ctx *c)
{
	struct key k = { c->sv->root_dirid, BTRFS_INODE_ITEM_KEY, 0 };
	int ret = send_search(c, &k, &c->cur);

	while (ret == 0) {
		u32 size;
		const u8 *data;

		tb_item_key(c->cur.leaf, c->cur.slot, &k);
		if (k.objectid > BTRFS_LAST_FREE_OBJECTID)
			break;	/* orphan items and the like */
		size = tb_item_size(c->cur.leaf, c->cur.slot);
		data = tb_item_data(c->cur.leaf, c->cur.slot);
		ret = send_item(c, &k, data, size);
		if (ret == 0)
			ret = progress_add(1);
		if (ret == 0)
			ret = send_next(c, &c->sv->root, &c->cur);
	}
	send_cursor_release(&c->cur);
	if (ret < 0)
		return ret;
	ret = send_inode_finish(c);
	return ret ? ret : send_dir_times(c);
}

/* Put the UUID a receiver knows subvolume id by (its received UUID when
 * it was received, as Linux does) and its ctransid, as attributes. */
int send_put_identity(struct send_ctx *c, u64 id, enum send_attr uuid,
		      enum send_attr ctransid)
{
	static const u8 zero[BTRFS_UUID_SIZE];
	u8 *ri = kmalloc(sizeof(struct d_root_item));
	const u8 *u;
	u32 size;
	int ret;

	if (!ri)
		return -ENOMEM;
	ret = subvol_read_root_item(c->fs, id, ri, &size);
	u = D_PTR(struct d_root_item, ri, received_uuid);
	if (!memcmp(u, zero, sizeof(zero)))
		u = D_PTR(struct d_root_item, ri, uuid);
	if (ret == 0)
		ret = send_put(&c->out, uuid, u, BTRFS_UUID_SIZE);
	if (ret == 0)
		ret = send_put_u64(&c->out, ctransid,
				   D_GET64(struct d_root_item, ri, ctransid));
	kfree(ri);
	return ret;
}

/* SUBVOL (or SNAPSHOT of the parent): the subvolume's name, UUID and
 * ctransid (and the parent's). */
static int send_subvol_begin(struct send_ctx *c, const char *name)
{
	int ret;

	send_begin(&c->out, c->parent ? SEND_C_SNAPSHOT : SEND_C_SUBVOL);
	ret = send_put_str(&c->out, SEND_A_PATH, name);
	if (ret == 0)
		ret = send_put_identity(c, c->sv->root.objectid, SEND_A_UUID,
				   SEND_A_CTRANSID);
	if (ret == 0 && c->parent)
		ret = send_put_identity(c, c->parent->root.objectid,
				   SEND_A_CLONE_UUID, SEND_A_CLONE_CTRANSID);
	return ret ? ret : send_end(&c->out);
}

/*
 * Mark sv as read by a send, if it is read-only (ns_lock orders this
 * against `property set ro false` and deletion, which refuse while
 * send_in_progress is set). 0 or -EROFS.
 */
static int hold_subvol(struct fs_info *fs, const struct subvol_root *sv)
{
	struct subvol_root *w = (struct subvol_root *)sv;
	int ret = 0;

	down_read(&fs->ns_lock);
	if (!subvol_is_read_only(sv))
		ret = -EROFS;
	else
		__atomic_add_fetch(&w->send_in_progress, 1, __ATOMIC_ACQ_REL);
	up_read(&fs->ns_lock);
	return ret;
}

static void release_subvol(const struct subvol_root *sv)
{
	struct subvol_root *w = (struct subvol_root *)sv;

	__atomic_sub_fetch(&w->send_in_progress, 1, __ATOMIC_ACQ_REL);
}

/* Load and hold the -c clone sources (read-only, as the sent one);
 * on failure, release the sent subvolume and the parent too. */
static int hold_clones(struct send_ctx *c, const struct fs_send_opts *o)
{
	const struct subvol_root *sv;
	u32 i;
	int ret = 0;

	if (o->nclones) {
		c->clones = kmalloc(o->nclones * sizeof(*c->clones));
		if (!c->clones)
			ret = -ENOMEM;
	}
	for (i = 0; i < o->nclones && ret == 0; i++) {
		ret = subvol_get(c->fs, o->clones[i], &sv);
		if (ret == 0)
			ret = hold_subvol(c->fs, sv);
		if (ret == 0)
			c->clones[c->nclones++] = sv;
	}
	if (ret) {
		while (c->nclones)
			release_subvol(c->clones[--c->nclones]);
		release_subvol(c->sv);
		if (c->parent)
			release_subvol(c->parent);
	}
	return ret;
}

/* Whether root's last commit is older than its current state. */
static int behind(struct fs_info *fs, const struct subvol_root *sv)
{
	struct ctree_root *r = (struct ctree_root *)&sv->root;
	u64 cur, committed;

	spin_lock(&r->lock);
	cur = r->bytenr;
	spin_unlock(&r->lock);
	down_read(&fs->commit_root_sem);
	committed = r->commit_bytenr;
	up_read(&fs->commit_root_sem);
	return cur != committed;
}

/*
 * Commit when a subvolume read has changes its commit root lacks (made
 * read-only before they were committed), as Linux's send does: it reads
 * commit roots only.
 */
static int commit_roots_current(struct send_ctx *c)
{
	int stale = behind(c->fs, c->sv) ||
		    (c->parent && behind(c->fs, c->parent));
	u32 i;

	for (i = 0; i < c->nclones; i++)
		stale |= behind(c->fs, c->clones[i]);
	return stale ? fs_sync(c->fs) : 0;
}

static int send_run(struct send_ctx *c, const char *name)
{
	int ret = commit_roots_current(c);

	if (ret == 0 && !(c->flags & FS_SEND_OMIT_HEADER))
		ret = send_stream_header(&c->out);
	if (ret == 0)
		ret = send_subvol_begin(c, name);
	if (ret == 0)
		ret = c->parent ? send_incremental(c) : send_walk(c);
	if (ret == 0 && !(c->flags & FS_SEND_OMIT_END)) {
		send_begin(&c->out, SEND_C_END);
		ret = send_end(&c->out);
	}
	return ret;
}

/* A SEND_DATA_BUF buffer and room for the CRCs of its sectors
 * (send_data.c). */
static int buf_alloc(u8 **buf, struct fs_read_crcs *x)
{
	*buf = kmalloc(SEND_DATA_BUF);
	x->n = SEND_DATA_BUF / 4096;
	x->crc = kmalloc(x->n * sizeof(*x->crc));
	x->have = kmalloc(x->n);
	return *buf && x->crc && x->have ? 0 : -ENOMEM;
}

static void buf_free(u8 *buf, struct fs_read_crcs *x)
{
	kfree(buf);
	kfree(x->crc);
	kfree(x->have);
}

/* See send.h. */
int fs_send(struct fs_info *fs, uint64_t id, const char *name,
	    struct fs_send_opts *o)
{
	struct send_ctx *c;
	int ret, i;

	if ((o->proto != SEND_VERSION_1 && o->proto != SEND_VERSION_2) ||
	    ((o->flags & FS_SEND_COMPRESSED) && o->proto < SEND_VERSION_2))
		return -EINVAL;
	c = kzalloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fs = fs;
	c->flags = o->flags;
	c->progress = BTRFS_FIRST_FREE_OBJECTID + 1;
	u64map_init(&c->created, 1);
	u64map_init(&c->dirs, 0);
	u64map_init(&c->orphans, 1);
	u64map_init(&c->loc, 1);
	u64map_init(&c->kept, 1);
	ret = buf_alloc(&c->data, &c->data_crcs);
	for (i = 0; ret == 0 && i < SEND_READ_AHEAD; i++)
		ret = buf_alloc(&c->ahead[i], &c->ahead_crcs[i]);
	if (ret == 0)
		ret = subvol_get(fs, id, &c->sv);
	if (ret == 0 && o->parent)
		ret = subvol_get(fs, o->parent, &c->parent);
	if (ret == 0)
		ret = hold_subvol(fs, c->sv);
	if (ret == 0 && c->parent) {
		ret = hold_subvol(fs, c->parent);
		if (ret)
			release_subvol(c->sv);
	}
	if (ret == 0)
		ret = hold_clones(c, o);
	if (ret)
		goto out_free;
	ret = send_stream_init(&c->out, o->proto, o->write, o->ctx);
	if (ret == 0) {
		progress_phase("sending", 0, "items");
		ret = send_run(c, name);
		progress_end();
	}
	o->bytes = c->out.bytes;
	o->restarts = c->restarts;
	o->stale_clones = c->stale_clones;
	o->compared = c->compared;
	send_stream_free(&c->out);
	release_subvol(c->sv);
	if (c->parent)
		release_subvol(c->parent);
	while (c->nclones)
		release_subvol(c->clones[--c->nclones]);
out_free:
	kfree(c->clones);
	send_loc_free_all(c);
	kfree(c->changes);
	u64map_free(&c->created);
	u64map_free(&c->dirs);
	u64map_free(&c->orphans);
	u64map_free(&c->kept);
	buf_free(c->data, &c->data_crcs);
	for (i = 0; i < SEND_READ_AHEAD; i++)
		buf_free(c->ahead[i], &c->ahead_crcs[i]);
	kfree(c);
	return ret;
}
