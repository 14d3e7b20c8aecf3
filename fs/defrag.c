/*
 * Snapshot-aware defragmentation (`filesystem defragment`): the
 * fragmented ranges of a file are written again as contiguous extents,
 * and every reference to the old data, in every subvolume (snapshots,
 * read-only ones included, reflinks, dedupe) is pointed at the copies,
 * so that data and tree blocks stay shared: used space afterwards is at
 * most what it was plus the bytes rewritten (the old extents go once
 * nothing points at them; a reference that covers more than one copied
 * piece keeps its old extent, within that bound).
 *
 * Runs: consecutive file extent items of the file, plain (not inline,
 * compressed or prealloc), each under the target size, adjoining in the
 * file, together at most the target size, and not already contiguous on
 * disk. Each run's data is copied to one new extent, checksums checked
 * and moved with it (data_copy.c); the copy of each item's bytes is a
 * piece: old address range -> new address. Any item anywhere whose bytes
 * lie wholly inside one piece (after merging pieces adjoining on both
 * sides) is repointed: same bytes, same key, same length; only
 * disk_bytenr, disk_num_bytes, offset and ram_bytes change. This covers
 * items that name only part of an old extent (the reference's case: half
 * the items point into the original 128 MiB extent).
 *
 * Steps (what the reference asks after Linux's livelock): one tree at a
 * time, the file's own subvolume first. The data is copied in the first
 * steps, STEP_COPY_BYTES a commit (a run's extent is allocated whole in
 * the commit that starts it and filled over the next ones); each of
 * them also points the file's own subvolume at everything copied so
 * far, so a new extent is referenced from its first commit. After each
 * of them the file's items that now name adjoining new bytes are merged
 * (defrag_merge.c), so little metadata waits between steps: not inside
 * the commit but as a change of the file's data, under its inode lock
 * for write as a write takes (merge_own). A read of the file walks its
 * items leaf by leaf holding that lock for read, and would see keys
 * vanish under it (bytes read as a hole); the repointing inside the
 * commit changes no key, so readers notice it instead (below). (Merging
 * inside every step's commit once aborted the second one: the copied
 * leaves' FULL_BACKREF bug, defrag_walk.c.) A run whose extent lost
 * every reference between two of them (a writer replaced what was
 * copied: new_ext_alive) is left unfinished, its space never written
 * again. Each
 * step is defrag_walk.c's walk inside trans_commit_with, so its delayed
 * refs are merged as queued and run at its commit: the work of a step
 * follows one tree's changed blocks, not the number of snapshots. A
 * commit holds one step, or as many as keep it within its aim
 * (adapt_batch), and copies or frees STEP_BLOCKS tree blocks at most:
 * a tree whose walk reaches that goes on from the same key in the next
 * commit (defrag_walk.c). Why so: the snapshots share the old leaves,
 * so the first of them to be stepped copied every leaf of the file in
 * one commit, and the last one freed them all, with every old data
 * extent they held, its checksums and its accounting (at 128 MiB and
 * 500 snapshots: 170 leaves, 16,385 extents, 0.7 s of CPU, 2.6-5.5 s
 * at load 13, the longest commit). Measured, the first steps' copying
 * inside the commit costs far less (60-90 ms of CPU for 8 MiB), so the
 * data is still read there, where no change runs beside it. Memory
 * holds the pieces and the blocks seen, never a per-snapshot list of
 * references. Between steps the filesystem is consistent (trees
 * not yet stepped point at the old data, which stays allocated), so a
 * cancel (progress_add: -ECANCELED) or a power cut between steps loses
 * nothing. A range larger than PASS_RUN_BYTES of runs goes in several
 * passes, each stepping every tree.
 *
 * Between steps the system runs: a tree written meanwhile is walked as
 * it is then; an old extent freed and its space reused meanwhile is
 * recognised by its extent item's generation (defrag_piece_ok) and never
 * repointed; nor is anything pointed at a new extent that lost every
 * reference meanwhile (new_ext_alive). A step that repoints a read-only
 * subvolume moves send's restart counter (trans->ro_remapped, as dedupe
 * does: fs/dedupe.c); every step that repoints items moves the file
 * readers' one (trans->moved_data: fs/file.c, "Data that moves under a
 * read").
 */
#include <ghee/errno.h>
#include <stdlib.h>

#include <ghee/alloc.h>
#include <ghee/log.h>
#include <ghee/progress.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "../lib/array.h"
#include "ctree.h"
#include "data_copy.h"
#include "defrag_int.h"
#include "extent_tree.h"
#include "fs.h"
#include "fs_info.h"
#include "internal.h"
#include "reflink.h"
#include "subvol.h"
#include "tree_check.h"
#include "transaction.h"
#include "write_common.h"

#define DEFRAG_TARGET_DEFAULT (32ULL << 20)	/* btrfs-progs' -t */
#define PASS_RUN_BYTES (128ULL << 20)		/* run data per pass */
#define STEP_BUDGET_NS 1000000000ULL		/* longest commit aimed at */
#define STEP_COPY_BYTES (8ULL << 20)		/* data copied per commit */
#define STEP_BLOCKS 32			/* tree blocks copied or freed per
					 * commit of the later steps */

/* One item of the file, as the run finder sees it. */
struct fitem_view {
	u64 fo, len;		/* file range */
	u64 disk, at;		/* extent start, address of its bytes */
	int plain;		/* REG, uncompressed, on disk */
};

/* A run of items: being gathered (run_find), or being copied
 * (defrag_call.copy), with its cursor: bytes at of item i copied, done
 * of the run, into new extent ext. */
struct run {
	struct fitem_view *v;
	u32 n, cap;
	u64 bytes;
	int scattered;		/* two items not contiguous on disk */
	u32 i, ext;
	u64 at, done;
};

static void run_reset(struct run *r)
{
	r->n = 0;
	r->bytes = 0;
	r->scattered = 0;
}

/* One call: the file, its range and the pass in progress. */
struct defrag_call {
	struct defrag d;
	struct fs_ino file;
	u64 pos, end, target;
	struct fs_defrag_report *rep;
	u64 pass_from;			/* where the pass began in the file */
	u64 pass_bytes;			/* run bytes started in this pass */
	struct run copy;		/* the run being copied (n 0: none) */
	u32 nx_queued;			/* new extents given their item */
	int copied;			/* the pass's runs are all copied */
	u64 *ids;			/* the trees of this pass */
	u32 ntrees, next;		/* how many; the next to step */
	int next_changed;		/* the steps of ids[next] so far
					 * changed it */
	u32 batch;			/* trees per commit now */
	u64 fixed_ns;			/* what a commit of one tree cost */
};

/* ------------------------------------------------------------ pieces */

struct piece *defrag_piece_find(const struct defrag *d, u64 addr)
{
	u32 lo = 0, hi = d->npc;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;
		struct piece *p = &d->pc[mid];

		if (addr < p->old)
			hi = mid;
		else if (addr >= p->old + p->len)
			lo = mid + 1;
		else
			return p;
	}
	return NULL;
}

/* The generation of data extent bytenr's item, 0 when it has none. */
static int extent_gen(struct fs_info *fs, u64 bytenr, u64 *gen)
{
	struct key k = { bytenr, BTRFS_EXTENT_ITEM_KEY, 0 };
	struct ctree_path p;
	int ret;

	*gen = 0;
	ctree_path_init(&p);
	ret = ctree_search_ge(&fs->extent_root, &k, &p);
	if (ret == 0) {
		u32 size;
		const u8 *item = ctree_item_ptr(&p, &size);

		ctree_item_key(&p, &k);
		if (k.objectid == bytenr && k.type == BTRFS_EXTENT_ITEM_KEY)
			*gen = D_GET64(struct d_extent_item, item, generation);
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : 0;
}

/* Whether new extent x still holds the item the commit that made it
 * gave it: 1, 0 or <0. Between commits a writer may have replaced
 * everything that pointed at it, freeing it (its space may then be
 * someone else's). */
static int new_ext_alive(struct defrag *d, const struct new_ext *x)
{
	u64 gen;
	int ret;

	if (x->gen == d->t->transid)
		return 1;	/* its item comes with this commit */
	ret = extent_gen(d->fs, x->start, &gen);
	return ret < 0 ? ret : gen == x->gen;
}

/* Whether p may be used: its old extent is still the one copied (not
 * freed and its space reused since) and its new extent is alive: 1, 0
 * or <0. Looked up once per transaction (no change runs beside a
 * step). */
int defrag_piece_ok(struct defrag *d, struct piece *p)
{
	u64 gen;
	int ret;

	if (p->ok_trans == d->t->transid)
		return 1;
	ret = extent_gen(d->fs, p->old_ext, &gen);
	if (ret < 0 || gen != p->old_gen)
		return ret < 0 ? ret : 0;
	ret = new_ext_alive(d, &d->nx[p->ext]);
	if (ret == 1)
		p->ok_trans = d->t->transid;
	return ret;
}

static int piece_cmp(const void *x, const void *y)
{
	const struct piece *a = x, *b = y;

	return a->old < b->old ? -1 : a->old > b->old;
}

/* Sort the pieces; drop one that overlaps an earlier (the same bytes
 * copied twice: either copy serves) and merge adjoining ones. */
static void pieces_settle(struct defrag *d)
{
	u32 i, n = 0;

	qsort(d->pc, d->npc, sizeof(*d->pc), piece_cmp);
	for (i = 0; i < d->npc; i++) {
		struct piece *p = &d->pc[i], *q = n ? &d->pc[n - 1] : NULL;

		if (q && p->old < q->old + q->len)
			continue;
		if (q && q->old + q->len == p->old && q->ext == p->ext &&
		    q->new_ + q->len == p->new_ && q->old_ext == p->old_ext) {
			q->len += p->len;
			continue;
		}
		d->pc[n++] = *p;
	}
	d->npc = n;
}

/* -------------------------------------------------------------- runs */

static void view_item(const struct key *k, const u8 *fe, u32 size,
		      struct fitem_view *v)
{
	v->fo = k->offset;
	v->plain = size >= sizeof(struct d_file_extent_item) &&
		   D_GET8(struct d_file_extent_item, fe, type) ==
		   BTRFS_FILE_EXTENT_REG &&
		   !D_GET8(struct d_file_extent_item, fe, compression) &&
		   !D_GET8(struct d_file_extent_item, fe, encryption) &&
		   !D_GET16(struct d_file_extent_item, fe, other_encoding);
	if (!v->plain) {
		v->len = 0;
		return;
	}
	v->disk = D_GET64(struct d_file_extent_item, fe, disk_bytenr);
	v->at = v->disk + D_GET64(struct d_file_extent_item, fe, offset);
	v->len = D_GET64(struct d_file_extent_item, fe, num_bytes);
	v->plain = v->disk != 0;
}

/* Start copying run r: its new extent allocated, r handed over to
 * c->copy (r gets the old buffer back, empty). */
static int run_start(struct defrag_call *c, struct run *r)
{
	struct defrag *d = &c->d;
	struct new_ext x = { 0, r->bytes, d->t->transid };
	struct run spare = c->copy;
	int ret = extent_alloc_data_whole(d->t, r->bytes, &x.start);

	if (ret == 0)
		ret = array_grow((void **)&d->nx, &d->nx_cap, d->nnx,
				   sizeof(x));
	if (ret)
		return ret;
	d->nx[d->nnx++] = x;
	c->copy = *r;
	c->copy.i = 0;
	c->copy.at = c->copy.done = 0;
	c->copy.ext = d->nnx - 1;
	*r = spare;
	run_reset(r);
	c->rep->runs++;
	c->pass_bytes += c->copy.bytes;
	return 0;
}

/* Copy the next bytes of c->copy, *budget at most (taken off it): items
 * are gathered in the copier's chunk and written a chunk at a time; a
 * piece per part of an item copied. What a commit copies is written in
 * it (the rest of the run's extent is written by the next ones). */
static int run_copy(struct defrag_call *c, struct data_copy *dc,
		    u64 *budget)
{
	struct defrag *d = &c->d;
	struct run *r = &c->copy;
	const struct new_ext *x = &d->nx[r->ext];
	u32 fill = 0;
	int ret = 0;

	while (r->i < r->n && *budget && ret == 0) {
		const struct fitem_view *v = &r->v[r->i];
		struct piece p = { v->at + r->at, v->len - r->at,
				   x->start + r->done, v->disk, 0,
				   d->t->transid, r->ext };

		if (p.len > DATA_COPY_CHUNK - fill)
			p.len = DATA_COPY_CHUNK - fill;
		if (p.len > *budget)
			p.len = *budget;
		ret = extent_gen(d->fs, p.old_ext, &p.old_gen);
		if (ret == 0)
			ret = data_copy_read(d->fs, dc, p.old, fill,
					     (u32)p.len);
		if (ret == 0)
			ret = array_grow((void **)&d->pc, &d->pc_cap, d->npc,
					   sizeof(p));
		if (ret)
			break;
		d->pc[d->npc++] = p;
		fill += (u32)p.len;
		r->at += p.len;
		r->done += p.len;
		*budget -= p.len;
		c->rep->bytes += p.len;
		if (r->at == v->len) {
			r->i++;
			r->at = 0;
		}
		if (fill == DATA_COPY_CHUNK || r->i == r->n || !*budget) {
			ret = data_copy_write(d->t, dc,
					      x->start + r->done - fill, fill);
			fill = 0;
		}
	}
	if (r->i == r->n)
		run_reset(r);	/* copied whole */
	return ret;
}

/* The new extents made in this commit need an extent item: a first
 * reference (given back at once) makes each head insert one. */
static int new_extents_queue(struct defrag_call *c)
{
	struct defrag *d = &c->d;
	int ret = 0;

	for (; c->nx_queued < d->nnx && ret == 0; c->nx_queued++) {
		struct dref_key k = { 0 };

		k.bytenr = d->nx[c->nx_queued].start;
		k.type = BTRFS_EXTENT_DATA_REF_KEY;
		k.root = c->file.root;
		k.owner = c->file.ino;
		ret = delayed_ref_alloc(d->t, &k, d->nx[c->nx_queued].len, 1,
					0);
		if (ret == 0)
			ret = delayed_ref_add(d->t, &k,
					      d->nx[c->nx_queued].len, 1, -1);
	}
	return ret;
}

/* Whether item v can go on run r: plain, small, adjoining its last item
 * in the file, and the run stays within the target. */
static int run_takes(const struct defrag_call *c, const struct run *r,
		     const struct fitem_view *v)
{
	const struct fitem_view *last = r->n ? &r->v[r->n - 1] : NULL;

	if (!v->plain || v->len >= c->target)
		return 0;
	return !last || (last->fo + last->len == v->fo &&
			 r->bytes + v->len <= c->target);
}

static int run_append(struct run *r, const struct fitem_view *v)
{
	int ret = array_grow((void **)&r->v, &r->cap, r->n, sizeof(*v));
	const struct fitem_view *last = r->n ? &r->v[r->n - 1] : NULL;

	if (ret)
		return ret;
	if (last && last->at + last->len != v->at)
		r->scattered = 1;
	r->v[r->n++] = *v;
	r->bytes += v->len;
	return 0;
}

/* A run is worth copying when its items are not already contiguous. */
static int run_worth(const struct run *r)
{
	return r->n >= 2 && r->scattered;
}

/* Find the next run from c->pos and start copying it (c->copy); c->pos
 * moves past what was looked at (the item that ended the run is looked
 * at again), to c->end when the file's items or the range end. */
static int run_find(struct defrag_call *c)
{
	const struct subvol_root *sv;
	struct key k = { c->file.ino, BTRFS_EXTENT_DATA_KEY, c->pos };
	struct run r = { 0 };
	struct ctree_path p;
	int ret = subvol_get(c->d.fs, c->file.root, &sv);

	if (ret)
		return ret;
	ctree_path_init(&p);
	ret = ctree_search_ge(&sv->root, &k, &p);
	while (ret == 0) {
		struct fitem_view v;
		u32 size;
		const u8 *fe = ctree_item_ptr(&p, &size);

		ctree_item_key(&p, &k);
		if (k.objectid != c->file.ino ||
		    k.type != BTRFS_EXTENT_DATA_KEY || k.offset >= c->end) {
			ret = 1;
			break;
		}
		view_item(&k, fe, size, &v);
		if (!run_takes(c, &r, &v)) {
			if (run_worth(&r))
				break;
			run_reset(&r);
		}
		if (run_takes(c, &r, &v))
			ret = run_append(&r, &v);
		c->pos = k.offset + 1;
		if (ret == 0)
			ret = ctree_next_item(&p);
	}
	ctree_path_release(&p);
	if (ret == 1)
		c->pos = c->end;
	if (ret >= 0 && run_worth(&r))
		ret = run_start(c, &r);
	kfree(r.v);
	return ret < 0 ? ret : 0;
}

/* ------------------------------------------------------------- steps */

/* Point tree id at the copies, from c->d.resume on and as far as the
 * step's budget goes (c->d.stopped when it ran out first). A subvolume
 * deleted meanwhile has nothing to point. */
static int step_tree(struct defrag_call *c, u64 id)
{
	const struct subvol_root *sv;
	int changed = 0, ret = subvol_get(c->d.fs, id, &sv);

	c->d.stopped = 0;
	if (ret == 0)
		ret = defrag_tree(&c->d, (struct ctree_root *)&sv->root,
				  &changed);
	else if (ret == -ENOENT)
		ret = 0;
	if (ret == 0 && changed) {
		c->next_changed = 1;
		c->d.t->moved_data = 1;
		if (subvol_is_read_only(sv))
			__atomic_store_n(&c->d.t->ro_remapped, 1,
					 __ATOMIC_RELEASE);
	}
	if (ret == 0 && !c->d.stopped) {
		c->rep->trees += c->next_changed;
		c->next_changed = 0;
		memset(&c->d.resume, 0, sizeof(c->d.resume));
	}
	return ret;
}

/* Copy up to STEP_COPY_BYTES of the pass's runs; c->copied set when the
 * pass has no more to copy. */
static int copy_some(struct defrag_call *c)
{
	u64 budget = STEP_COPY_BYTES;
	struct data_copy dc;
	int ret = data_copy_init(c->d.fs, &dc);

	if (ret == 0 && c->copy.n) {
		ret = new_ext_alive(&c->d, &c->d.nx[c->copy.ext]);
		if (ret == 0)
			run_reset(&c->copy);	/* freed: the rest is left */
		ret = ret < 0 ? ret : 0;
	}
	while (ret == 0 && budget) {
		if (c->copy.n)
			ret = run_copy(c, &dc, &budget);
		else if (c->pos < c->end && c->pass_bytes < PASS_RUN_BYTES)
			ret = run_find(c);
		else
			break;
	}
	c->copied = !c->copy.n && (c->pos >= c->end ||
				   c->pass_bytes >= PASS_RUN_BYTES);
	data_copy_free(&dc);
	return ret;
}

/*
 * Merge the file's items the steps so far pointed at adjoining new
 * bytes, as a change of the file's data (see the file comment). Not in
 * a read-only subvolume, whose keys stay as send saw them (defrag only
 * repoints items there, as dedupe does). A failure aborts the
 * transaction: a group half merged would read as a hole.
 */
static int merge_own(struct defrag_call *c)
{
	struct ctree_root *root;
	struct wctx w;
	int ret = wctx_begin_file(c->d.fs, &w, c->file, 0);

	if (ret)
		return ret;
	ret = wctx_root(&w, c->file.root, &root);
	if (ret == 0) {
		ret = defrag_merge_file(&c->d, &w, root, c->file.ino,
					c->pass_from, c->pos);
		if (ret)
			trans_abort(w.t, ret);
	} else if (ret == -EROFS || ret == -ENOENT) {
		ret = 0;	/* read-only, or deleted: nothing to merge */
	}
	wctx_end(&w);
	return ret;
}

/* The first steps of a pass, a commit each: copy the next of the runs'
 * data and point the file's own subvolume at all copied so far. The
 * memo is of this walk only: the tree's blocks changed since the last
 * (what it holds at the end is right for every tree, as every piece of
 * the pass was known to the walk). */
static int first_step(struct trans *t, void *arg)
{
	struct defrag_call *c = arg;
	int ret;

	c->d.t = t;
	c->d.budget = (u32)-1;	/* bounded by the data copied */
	u64map_free(&c->d.memo);
	u64map_free(&c->d.made);
	u64map_free(&c->d.partial);
	ret = copy_some(c);
	if (ret == 0 && c->d.nnx) {
		pieces_settle(&c->d);
		ret = new_extents_queue(c);
		if (ret == 0)
			ret = step_tree(c, c->file.root);
	}
	if (ret)
		trans_abort(t, ret);
	return ret;
}

/* Later steps, in one commit: point trees ids[next...] at the copies,
 * c->batch of them at most, STEP_BLOCKS tree blocks copied or freed at
 * most (a tree may take several commits); c->next moves past those
 * done. */
static int trees_step(struct trans *t, void *arg)
{
	struct defrag_call *c = arg;
	u32 end = c->next + c->batch < c->ntrees ? c->next + c->batch
						 : c->ntrees;
	int ret = 0;

	c->d.t = t;
	c->d.budget = STEP_BLOCKS;
	while (c->next < end && ret == 0) {
		ret = step_tree(c, c->ids[c->next]);
		if (c->d.stopped)
			break;
		c->next++;
	}
	if (ret)
		trans_abort(t, ret);
	return ret;
}

/* Every subvolume but first, in id order, after first: *ids, *n. */
static int list_trees(struct fs_info *fs, u64 first, u64 **ids, u32 *n)
{
	struct key k = { 0, BTRFS_ROOT_ITEM_KEY, 0 };
	struct ctree_path p;
	u32 cap = 0;
	int ret = array_grow((void **)ids, &cap, 0, sizeof(u64));

	*n = 0;
	if (ret)
		return ret;
	(*ids)[(*n)++] = first;
	ctree_path_init(&p);
	ret = ctree_search_ge(&fs->tree_root, &k, &p);
	while (ret == 0) {
		u32 size;
		const u8 *item = ctree_item_ptr(&p, &size);

		ctree_item_key(&p, &k);
		if (k.type == BTRFS_ROOT_ITEM_KEY && k.objectid != first &&
		    tree_check_is_subvol_tree(k.objectid) &&
		    (*ids)[*n - 1] != k.objectid &&
		    D_GET32(struct d_root_item, item, refs)) {
			ret = array_grow((void **)ids, &cap, *n, sizeof(u64));
			if (ret)
				break;
			(*ids)[(*n)++] = k.objectid;
		}
		ret = ctree_next_item(&p);
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : 0;
}

/* Commit one step, timing it; *cpu (unless NULL) gets the CPU time it
 * took. */
static int step_commit(struct defrag_call *c,
		       int (*fn)(struct trans *, void *), u64 *cpu)
{
	u64 t0 = time_ns(), c0 = task_cpu_ns(), dt, dc;
	u64 blocks = c->d.blocks_copied + c->d.blocks_freed;
	int ret;

	c->d.spent = 0;
	ret = trans_commit_with(c->d.fs, fn, c, 0);
	dt = time_ns() - t0;
	dc = task_cpu_ns() - c0;
	blocks = c->d.blocks_copied + c->d.blocks_freed - blocks;
	if (blocks > c->rep->most_step_blocks)
		c->rep->most_step_blocks = blocks;
	if (cpu)
		*cpu = dc;
	if (dt > c->rep->longest_step_ns)
		c->rep->longest_step_ns = dt;
	if (dc > c->rep->longest_step_cpu_ns)
		c->rep->longest_step_cpu_ns = dc;
	c->rep->steps++;
	return ret;
}

static void pass_free(struct defrag *d)
{
	kfree(d->pc);
	kfree(d->nx);
	u64map_free(&d->memo);
	u64map_free(&d->made);
	u64map_free(&d->partial);
	d->pc = NULL;
	d->nx = NULL;
	d->npc = d->pc_cap = d->nnx = d->nx_cap = 0;
}

/*
 * The next commit's number of trees, from dt, the CPU time the last one
 * took: its work, which a loaded machine does not inflate as it does
 * the wall time (sized by wall time, steps under load shrank to one
 * tree a commit and paid the fixed part per tree: the 8 MiB sample took
 * 86 s instead of 0.7). A commit costs a part that does
 * not grow with the trees stepped in it (the superblock write and, with
 * quotas, the accounting of every extent whose set of trees changed:
 * each is resolved once, against every tree reaching it) and a part per
 * tree. c->fixed_ns: the first commit's cost (one tree). Aimed at: half
 * of STEP_BUDGET_NS; when the fixed part alone is over that (quotas
 * with thousands of snapshots), twice the fixed part, so that no commit
 * costs more than twice the least one can while fewer commits make the
 * whole shorter.
 */
static void adapt_batch(struct defrag_call *c, u64 dt)
{
	u64 aim = STEP_BUDGET_NS / 2, per, want;

	if (!c->fixed_ns) {
		c->fixed_ns = dt ? dt : 1;
		c->batch = 2;
		return;
	}
	if (aim < 2 * c->fixed_ns)
		aim = 2 * c->fixed_ns;
	per = dt > c->fixed_ns ? (dt - c->fixed_ns) / c->batch : 0;
	want = per ? (aim > c->fixed_ns ? (aim - c->fixed_ns) / per : 1)
		   : 2ULL * c->batch;
	if (want > 2ULL * c->batch)
		want = 2ULL * c->batch;	/* grow gently: estimates are rough */
	c->batch = want < 1 ? 1 : want > 1024 ? 1024 : (u32)want;
}

/* One pass: copy up to PASS_RUN_BYTES of runs, then step every tree. */
static int one_pass(struct defrag_call *c)
{
	int ret;

	c->pass_bytes = 0;
	c->pass_from = c->pos;
	c->ids = NULL;
	c->ntrees = 0;
	c->nx_queued = 0;
	do {
		ret = step_commit(c, first_step, NULL);
		if (ret == 0 && c->d.nnx)
			ret = merge_own(c);
		if (ret == 0 && !c->copied)
			ret = progress_add(0);	/* a cancellation point */
	} while (ret == 0 && !c->copied);
	if (ret == 0 && c->d.nnx)
		ret = list_trees(c->d.fs, c->file.root, &c->ids, &c->ntrees);
	if (ret == 0 && c->ntrees) {
		progress_total(c->rep->trees_total += c->ntrees);
		ret = progress_add(1);
	}
	c->next = 1;
	c->next_changed = 0;
	memset(&c->d.resume, 0, sizeof(c->d.resume));
	c->batch = 1;
	c->fixed_ns = 0;
	while (ret == 0 && c->next < c->ntrees) {
		u32 from = c->next;
		u64 cpu = 0;

		ret = step_commit(c, trees_step, &cpu);
		adapt_batch(c, cpu);
		if (ret == 0)
			ret = progress_add(c->next - from);
	}
	c->rep->items += c->d.items;
	c->rep->blocks += c->d.blocks_copied;
	c->d.items = c->d.blocks_copied = c->d.blocks_freed = 0;
	kfree(c->ids);
	pass_free(&c->d);
	return ret;
}

/*
 * Defragment regular file f's range (o: see fs.h); *rep gets what was
 * done, also when it stops early. A task with progress ("defragmenting",
 * trees stepped), cancellable between steps (-ECANCELED, the filesystem
 * consistent). Returns 0, -EISDIR/-EINVAL (not a regular file), -EROFS,
 * -ENOSPC, -EIO (old data failing its checksum: the step aborts), <0.
 */
int fs_defrag(struct fs_info *fs, struct fs_ino f,
	      const struct fs_defrag_opts *o, struct fs_defrag_report *rep)
{
	u8 ii[sizeof(struct d_inode_item)];
	struct defrag_call *c;
	int ret;

	memset(rep, 0, sizeof(*rep));
	ret = reflink_regular_item(fs, f, ii);
	if (ret)
		return ret;
	c = kzalloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->d.fs = fs;
	u64map_init(&c->d.memo, 2);
	u64map_init(&c->d.made, 2);
	u64map_init(&c->d.partial, 0);
	c->file = f;
	c->rep = rep;
	c->pos = o->start;
	c->end = o->len && o->start + o->len > o->start ? o->start + o->len
							 : (u64)-1;
	c->target = o->target ? o->target : DEFRAG_TARGET_DEFAULT;
	progress_phase("defragmenting", 0, "trees");
	while (ret == 0 && c->pos < c->end)
		ret = one_pass(c);
	progress_end();
	kfree(c->copy.v);
	kfree(c);
	return ret;
}
