/*
 * Relocation, step 2 (see relocation.c): copying the next batch of the
 * data extents of the group being relocated to new extents outside it,
 * checksums checked and moved with them (data_copy.c). Runs inside the
 * batch's relocation commit.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>
#include <ghee/sync.h>

#include "backref_int.h"
#include "block_group.h"
#include "ctree.h"
#include "data_copy.h"
#include "fs_info.h"
#include "relocation_int.h"
#include "transaction.h"

static int add_data(struct reloc *r, const struct key *k, u64 flags,
		    void *arg)
{
	struct moved m = { k->objectid, 0, k->offset, 0, 1, 0 };
	u64 *bytes = arg;

	if (k->type != BTRFS_EXTENT_ITEM_KEY ||
	    !(flags & BTRFS_EXTENT_FLAG_DATA))
		return 0;
	if (r->data_moves.n && *bytes + m.len > reloc_batch_bytes) {
		r->more = 1;
		return 1;
	}
	*bytes += m.len;
	r->cursor = m.old + m.len;
	return reloc_moved_add(&r->data_moves, &m);
}

/*
 * The group's next batch of data extents, from r->cursor in address
 * order: at most reloc_batch_bytes (or one bigger extent); r->more when
 * any are left after them. Read inside the commit, with every queued
 * reference run, so an extent a writer freed since the last batch is
 * not there (and none is new: the group is read-only).
 */
static int collect_data(struct reloc *r)
{
	u64 bytes = 0;

	r->more = 0;
	return reloc_scan_extents(r, r->cursor, add_data, &bytes);
}

u64 reloc_batch_bytes = RELOC_BATCH_BYTES;

/* A batch holding this many bytes ends early when a change waits for
 * trans_sem (start_piece): a writer waits for about this much copying,
 * and a balance beside a busy writer still moves this much per commit. */
#define BATCH_MIN_BYTES (2ull << 20)

/* A piece of the copy: bytes [off, off + len) of data_moves.v[i]. */
struct piece {
	u32 i;
	u64 off;
	u32 len;
	u64 before;	/* bytes of the batch's extents before extent i */
};

/*
 * Start reading a piece into copier c: the first one, or the one after
 * p (the last started); p becomes it. 0 when started, 1 when there is
 * none (the last extent was started, or a stop was asked before a new
 * extent, or a change waits for this commit and the batch holds
 * BATCH_MIN_BYTES: then only the extents before it stay moves), or <0.
 */
static int start_piece(struct reloc *r, struct data_copy *c,
		       struct piece *p, int first)
{
	const struct moved *m;

	if (!first) {
		p->off += p->len;
		if (p->off == r->data_moves.v[p->i].len) {
			p->before += r->data_moves.v[p->i].len;
			p->i++;
			p->off = 0;
		}
	}
	if (p->i == r->data_moves.n)
		return 1;
	if (p->off == 0 && p->before >= BATCH_MIN_BYTES &&
	    rwsem_is_contended(&r->fs->trans_sem)) {
		/* the rest waits for the next batch */
		r->cursor = r->data_moves.v[p->i].old;
		r->data_moves.n = p->i;
		r->more = 1;
		return 1;
	}
	if (p->off == 0 && r->stop && r->stop(r->stop_arg)) {
		r->data_moves.n = p->i;
		r->stopped = 1;
		r->more = 0;
		return 1;
	}
	m = &r->data_moves.v[p->i];
	p->len = m->len - p->off < DATA_COPY_CHUNK ? (u32)(m->len - p->off)
						   : DATA_COPY_CHUNK;
	return data_copy_read_start(r->fs, c, m->old + p->off, 0, p->len);
}

/* Check piece p, read into c, and write it to its extent's new place,
 * which its first piece allocates. */
static int finish_piece(struct reloc *r, struct data_copy *c,
			const struct piece *p)
{
	struct moved *m = &r->data_moves.v[p->i];
	u64 got;
	int ret = data_copy_read_end(r->fs, c);

	if (ret == 0 && p->off == 0) {
		ret = bg_alloc(r->t, BTRFS_BLOCK_GROUP_DATA, m->len, m->len,
			       &m->new_, &got);
		if (ret == 0)
			ret = u64map_put(&r->data, m->old, &m->new_);
		r->st->data_extents++;
		r->st->data_bytes += m->len;
		r->batch_bytes += m->len;
	}
	if (ret == 0)
		ret = data_copy_write(r->t, c, m->new_ + p->off, p->len);
	return ret;
}

/* Pieces read ahead: reads in flight while one piece is checked. */
#define COPIERS 4

/*
 * Step 2: copy the next batch of data extents to a new place, a chunk
 * (DATA_COPY_CHUNK) at a time through COPIERS copiers in turn: the disk
 * reads the next pieces while this one is checked and handed to the
 * delayed writes (writeback.c), and no write is waited for here (the
 * commit waits for them all before its superblock). Pieces finish in
 * order. Asked to stop (r->stop) before an extent, it keeps only the
 * extents copied so far as moves (the commit fixes their references as
 * usual; the group keeps the rest) and sets r->stopped.
 */
int reloc_move_data(struct reloc *r)
{
	struct data_copy c[COPIERS] = { 0 };
	struct piece p[COPIERS], at = { 0 };
	u32 head = 0, n = 0, i;
	int first = 1, more = 0, ret = 0;

	for (i = 0; i < COPIERS && ret == 0; i++)
		ret = data_copy_init(r->fs, &c[i]);
	if (ret == 0)
		ret = collect_data(r);
	while (ret == 0) {
		/* p[head..head + n) (mod COPIERS) are being read */
		while (more == 0 && n < COPIERS) {
			i = (head + n) % COPIERS;
			more = start_piece(r, &c[i], &at, first);
			first = 0;
			if (more == 0) {
				p[i] = at;
				n++;
			}
		}
		if (more < 0)
			ret = more;
		if (ret || n == 0)
			break;
		ret = finish_piece(r, &c[head], &p[head]);
		head = (head + 1) % COPIERS;
		n--;
	}
	for (; n; n--, head = (head + 1) % COPIERS)
		data_copy_read_end(r->fs, &c[head]);	/* free its buffer */
	for (i = 0; i < COPIERS; i++)
		data_copy_free(&c[i]);
	return ret;
}

/* Add a file extent item of tree root (key ino, offset) as a target. */
static int add_target(struct reloc *r, u64 root, u64 ino, u64 offset)
{
	struct reloc_target *x;
	int ret = array_grow((void **)&r->targets, &r->targets_cap,
			       r->ntargets, sizeof(*r->targets));

	if (ret)
		return ret;
	x = &r->targets[r->ntargets++];
	x->root = root;
	x->key.objectid = ino;
	x->key.type = BTRFS_EXTENT_DATA_KEY;
	x->key.offset = offset;
	x->level = 0;
	return 0;
}

/* Add the item a back-reference walk found (hit) as a target. */
static int add_item_target(void *arg, const struct backref_hit *hit)
{
	return add_target(arg, hit->root, hit->ino, hit->offset);
}

/*
 * Add as targets the root tree's file extent items of inode ino naming
 * extent bytenr: an older Linux's free space cache (v1) files, which
 * the back-reference walker does not follow (it knows subvolume trees
 * only).
 */
static int root_tree_targets(struct reloc *r, u64 bytenr, u64 ino)
{
	struct key k = { ino, BTRFS_EXTENT_DATA_KEY, 0 };
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_ge(&r->fs->tree_root, &k, &p);
	while (ret == 0) {
		u32 size;
		const u8 *fe = ctree_item_ptr(&p, &size);

		ctree_item_key(&p, &k);
		if (k.objectid != ino || k.type != BTRFS_EXTENT_DATA_KEY)
			break;
		if (D_GET8(struct d_file_extent_item, fe, type) !=
		    BTRFS_FILE_EXTENT_INLINE &&
		    D_GET64(struct d_file_extent_item, fe, disk_bytenr) ==
		    bytenr)
			ret = add_target(r, BTRFS_ROOT_TREE_OBJECTID, ino,
					 k.offset);
		if (ret == 0)
			ret = ctree_next_item(&p);
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : 0;
}

/*
 * The targets of extent bytenr and its count of references: the root
 * tree's items from its refs there, every other from the back-reference
 * walker (a normal ref searched in its tree, a shared ref's leaf read,
 * and every tree reaching those leaves).
 */
static int extent_targets(struct reloc *r, u64 bytenr)
{
	struct walk w = { 0 };
	struct extent_info ei;
	struct bref_list l = { 0 };
	u32 i;
	int ret;

	w.fs = r->fs;
	w.view = BACKREF_CURRENT;	/* the extent tree alone: w.t NULL */
	ret = backref_collect_refs(&w, bytenr, &ei, &l);
	if (ret == 0 && !ei.found)
		ret = -EUCLEAN;
	for (i = 0; i < l.n && ret == 0; i++) {
		r->data_refs += (u64)l.v[i].count;
		if (l.v[i].type == BTRFS_EXTENT_DATA_REF_KEY &&
		    l.v[i].id == BTRFS_ROOT_TREE_OBJECTID)
			ret = root_tree_targets(r, bytenr, l.v[i].ino);
	}
	kfree(l.v);
	if (ret == 0)
		ret = backref_data(r->fs, bytenr, BACKREF_CURRENT,
				   BACKREF_TRANS_HELD | BACKREF_IGNORE_OFFSET,
				   add_item_target, r, NULL);
	return ret;
}

/*
 * The walk's targets for the batch's moved data (step 3): every file
 * extent item naming one of the old extents, by tree and key, so the
 * walk reads only the paths to those leaves, not every tree; and their
 * count of references (data_refs), which the walk must match. Run in the
 * relocation commit after the batch settled: the extent tree holds
 * every reference (trans_sem is the commit's).
 */
int reloc_data_targets(struct reloc *r)
{
	u32 i;
	int ret = 0;

	r->ntargets = 0;
	for (i = 0; i < r->data_moves.n && ret == 0; i++)
		ret = extent_targets(r, r->data_moves.v[i].old);
	if (ret == 0)
		reloc_targets_sort(r);
	return ret;
}
