/*
 * The cleaner: a background task that drops the trees of deleted
 * subvolumes (subvol_delete.c marks them: root item refs 0 and an orphan
 * item (ORPHAN, ORPHAN_ITEM, id) in the root tree), releasing their space
 * as it goes.
 *
 * Dropping walks the dead tree depth first, left to right, without
 * changing any of its blocks ("btrfs_drop_snapshot" in Linux):
 *  - a block only this tree references (refs 1) is descended into; once
 *    everything below it is dropped it is freed: the reference its parent
 *    held goes (a shared ref naming the parent when the parent has
 *    FULL_BACKREF, else the tree's normal ref); a leaf first drops its
 *    file extents' references;
 *  - a block others reference too (refs > 1) is kept: only this tree's
 *    reference to it goes. When this tree made it (its owner, younger
 *    than the tree's creation) and it has no FULL_BACKREF, it and every
 *    block below it that this tree made are first turned into
 *    full-backref blocks (shared refs naming them on their children),
 *    since the normal refs of a tree that is gone can no longer stand for
 *    the other referrers (the reference's case 3b, done for the whole
 *    subtree; Linux's UPDATE_BACKREF stage).
 * Every change is a delayed ref, applied at commit.
 *
 * The work is bounded: after DROP_REFS_PER_STEP reference changes the
 * walk stops and records where it stopped in the root item
 * (drop_progress: the key of the next pointer, drop_level: that node's
 * level); the next step goes down again along drop_progress, skipping
 * the pointers left of it, whose subtrees are gone. The cleaner task
 * commits after STEPS_PER_COMMIT steps and after the last step of a
 * tree (which frees the root block and deletes the root item and the
 * orphan item), so the space comes back step by step and an unmount,
 * crash or reboot resumes from the last step committed. Steps share a
 * transaction as Linux's drop shares one between its throttled ends:
 * each sees the references the ones before it queued
 * (extent_lookup_info); a commit per step made the drop of a snapshot
 * of 100,000 files about 100 commits, each with its flushes and
 * superblocks.
 *
 * Half-dropped trees that Linux left (its drop_progress means the same)
 * are resumed the same way. A read-only mount starts no cleaner.
 *
 * Locking: a step is a change (trans_sem for read, joined with room to
 * free space) that takes no namespace lock: nothing can reach a dead tree.
 * The blocks it reads are committed and never change. fs->cleaner_kick
 * wakes the task early (a delete); fs_subvol_sync polls until no dead root
 * is left.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>
#include <ghee/task.h>

#include "cleaner.h"
#include "extent_tree.h"
#include "fs_info.h"
#include "internal.h"
#include "write_common.h"

/* Work per step: reference changes queued (a block dropped or kept is
 * one, a leaf's file extents one each). */
#define DROP_REFS_PER_STEP 1024
/* Steps the cleaner task runs in one transaction. The commit runs their
 * reference changes with every other change waiting (trans_sem held for
 * write): with 8, the longest commit of a drop was 3-7x that of a
 * one-step commit (QEMU, load 15). */
#define STEPS_PER_COMMIT 4
/* How long the idle cleaner sleeps between looks, when not kicked. */
#define CLEANER_IDLE_NS (1000ull * 1000 * 1000)

/* One step of dropping one dead tree. */
struct drop {
	struct trans *t;
	struct ctree_root root;	/* the dead tree (its id, its root block) */
	u64 created;		/* its ROOT_ITEM key offset: blocks of this
				 * generation or older it did not make */
	u32 budget;		/* reference changes left for this step */
	struct key progress;	/* where the step stopped */
	u8 progress_level;
};

/* Set id's root item refs, and drop_progress/drop_level (progress NULL:
 * zero). Errors are returned; the caller aborts. */
int cleaner_set_root_item(struct trans *t, u64 id, u32 refs,
			  const struct key *progress, u8 level)
{
	struct key zero = { 0, 0, 0 };
	struct ctree_path p;
	u8 *item;
	u32 size;
	int ret = trans_root_item_search(t, id, &p);

	if (ret)
		return ret;
	item = ctree_item_ptr_w(&p, &size);
	D_SET32(struct d_root_item, item, refs, refs);
	key_to_disk(D_WPTR(struct d_root_item, item, drop_progress),
		    progress ? progress : &zero);
	D_SET8(struct d_root_item, item, drop_level, level);
	ctree_path_release(&p);
	return 0;
}

/* Drop the reference parent b (flags bflags) holds on its child at
 * bytenr, of level. */
static int drop_parent_ref(struct drop *d, struct tree_block *b,
			   u64 bflags, u64 bytenr, u8 level)
{
	struct dref_key k = { 0 };

	k.bytenr = bytenr;
	k.owner = level;
	if (bflags & BTRFS_BLOCK_FLAG_FULL_BACKREF) {
		k.type = BTRFS_SHARED_BLOCK_REF_KEY;
		k.parent = b->start;
	} else {
		k.type = BTRFS_TREE_BLOCK_REF_KEY;
		k.root = d->root.objectid;
	}
	return delayed_ref_add(d->t, &k, d->t->fs->nodesize, 0, -1);
}

/*
 * Turn block c, which the dead tree made and still shares, and the blocks
 * below it that the tree made, into full-backref blocks.
 */
static int convert_full(struct drop *d, struct tree_block *c)
{
	u32 i, n = tb_nritems(c);
	int ret = extent_block_refs(d->t, &d->root, c, 1, 1);

	if (ret == 0)
		ret = extent_block_refs(d->t, &d->root, c, 0, -1);
	if (ret == 0)
		ret = delayed_ref_set_flags(d->t, c->start, d->t->fs->nodesize,
					    BTRFS_BLOCK_FLAG_FULL_BACKREF);
	for (i = 0; tb_level(c) > 0 && i < n && ret == 0; i++) {
		struct tree_block *cb;
		u64 refs, flags;

		if (tb_node_ptr_gen(c, i) <= d->created)
			continue;
		ret = extent_lookup_info(d->t, tb_node_blockptr(c, i), &refs,
					 &flags);
		if (ret || (flags & BTRFS_BLOCK_FLAG_FULL_BACKREF))
			continue;
		ret = ctree_read_child(&d->root, c, (int)i, &cb);
		if (ret)
			break;
		if (tb_owner(cb) == d->root.objectid)
			ret = convert_full(d, cb);
		tree_block_put(cb);
	}
	return ret;
}

static int drop_children(struct drop *d, struct tree_block *b, u64 bflags,
			 const struct key *resume, u8 resume_level);

/* Drop the child at slot of b (resume: continue inside it). */
static int drop_child(struct drop *d, struct tree_block *b, u64 bflags,
		      u32 slot, const struct key *resume, u8 resume_level)
{
	u64 bytenr = tb_node_blockptr(b, slot), refs, flags;
	u8 level = (u8)(tb_level(b) - 1);
	struct tree_block *cb;
	int ret = extent_lookup_info(d->t, bytenr, &refs, &flags);

	if (ret)
		return ret;
	if (refs == 0)
		return -EUCLEAN;
	/* A shared child made no later than the tree's creation (its
	 * pointer's generation is the block's) is not the tree's own: only
	 * the reference goes, and the block is not read (a snapshot's few
	 * blocks of its own point at thousands of such). */
	if (refs == 1 || ((flags & BTRFS_BLOCK_FLAG_FULL_BACKREF) == 0 &&
			  tb_node_ptr_gen(b, slot) > d->created)) {
		ret = ctree_read_child(&d->root, b, (int)slot, &cb);
		if (ret)
			return ret;
		if (refs == 1)
			ret = drop_children(d, cb, flags, resume,
					    resume_level);
		else if (tb_owner(cb) == d->root.objectid)
			ret = convert_full(d, cb);
		tree_block_put(cb);
	}
	if (ret == 0) {
		d->budget -= d->budget ? 1 : 0;
		ret = drop_parent_ref(d, b, bflags, bytenr, level);
	}
	return ret;
}

/*
 * Drop everything block b (only the dead tree's; flags bflags) points to:
 * a leaf's file extents, a node's children from the one holding resume
 * (NULL: all; at resume_level, exactly the pointer resume). Returns 0
 * when all is dropped, 1 when the step's budget ran out (d->progress
 * set), or <0.
 */
static int drop_children(struct drop *d, struct tree_block *b, u64 bflags,
			 const struct key *resume, u8 resume_level)
{
	u32 n = tb_nritems(b), slot = 0;
	u8 level = tb_level(b);
	int ret = 0, s;

	if (level == 0) {
		d->budget -= n < d->budget ? n : d->budget;
		return extent_block_refs(d->t, &d->root, b,
					 !!(bflags & BTRFS_BLOCK_FLAG_FULL_BACKREF),
					 -1);
	}
	if (resume) {
		if (ctree_bin_search(b, resume, &s) && s > 0 &&
		    level > resume_level)
			s--;
		slot = (u32)s;
		if (level == resume_level)
			resume = NULL;
	}
	for (; slot < n && ret == 0; slot++) {
		if (d->budget == 0) {
			tb_node_key(b, slot, &d->progress);
			d->progress_level = level;
			return 1;
		}
		ret = drop_child(d, b, bflags, slot, resume, resume_level);
		resume = NULL;
	}
	return ret;
}

/*
 * Whether child slot of node b of a tree being dropped, whose root item
 * says drop_progress drop at drop_level level, is gone (its subtree
 * dropped, its blocks possibly reused): at that level and above, a child
 * whose keys all come before drop. Every reader of a dead tree must skip
 * such children (drop_children resumes past exactly them).
 */
int cleaner_child_dropped(const struct tree_block *b, u32 slot,
			  const struct key *drop, u8 level)
{
	struct key next;

	if (tb_level(b) == 0 || tb_level(b) < level ||
	    slot + 1 >= tb_nritems(b))
		return 0;
	tb_node_key(b, slot + 1, &next);
	return key_cmp(&next, drop) <= 0;
}

/* Read dead root id's root item: its tree, creation key offset and
 * drop progress. */
static int load_dead(struct fs_info *fs, u64 id, struct drop *d,
		     struct key *resume, u8 *resume_level)
{
	struct key k = { id, BTRFS_ROOT_ITEM_KEY, (u64)-1 };
	struct ctree_path p;
	const u8 *item;
	u32 size;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_le(&fs->tree_root, &k, &p);
	if (ret == 0) {
		ctree_item_key(&p, &k);
		item = ctree_item_ptr(&p, &size);
		if (k.objectid != id || k.type != BTRFS_ROOT_ITEM_KEY ||
		    size < BTRFS_ROOT_ITEM_V1_SIZE)
			ret = -ENOENT;
	}
	if (ret == 0) {
		ctree_root_init(&d->root, fs, id,
				D_GET64(struct d_root_item, item, bytenr),
				D_GET64(struct d_root_item, item, generation),
				D_GET8(struct d_root_item, item, level));
		d->created = k.offset;
		key_from_disk(resume, D_PTR(struct d_root_item, item,
					    drop_progress));
		*resume_level = D_GET8(struct d_root_item, item, drop_level);
	}
	ctree_path_release(&p);
	return ret == 1 ? -ENOENT : ret;
}

/* Delete the root-tree item at k (it must exist: -EUCLEAN if not); the
 * cleaner's and subvolume deletion's. Errors are returned; the caller
 * aborts. */
int cleaner_del_root_tree_item(struct trans *t, const struct key *k)
{
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(t, &t->fs->tree_root, k, &p, 0);
	if (ret == 0)
		return ctree_del_item(t, &t->fs->tree_root, &p);
	ctree_path_release(&p);
	return ret == 1 ? -EUCLEAN : ret;
}

/* The dead tree is dropped: free its root block, forget the root. */
static int finish_drop(struct drop *d, struct tree_block *rb)
{
	struct key k = { d->root.objectid, BTRFS_ROOT_ITEM_KEY, d->created };
	struct dref_key r = { 0 };
	int ret;

	r.bytenr = rb->start;
	r.type = BTRFS_TREE_BLOCK_REF_KEY;
	r.root = d->root.objectid;
	r.owner = tb_level(rb);
	ret = delayed_ref_add(d->t, &r, d->t->fs->nodesize, 0, -1);
	if (ret == 0)
		ret = cleaner_del_root_tree_item(d->t, &k);
	if (ret == 0) {
		k.objectid = BTRFS_ORPHAN_OBJECTID;
		k.type = BTRFS_ORPHAN_ITEM_KEY;
		k.offset = d->root.objectid;
		ret = cleaner_del_root_tree_item(d->t, &k);
	}
	return ret;
}

/* One bounded step of dropping dead tree id, inside change w. Returns 0
 * when the tree is gone, 1 when more steps are needed, or <0. */
static int drop_step_locked(struct wctx *w, u64 id)
{
	struct drop d;
	struct key resume;
	struct tree_block *rb;
	u64 refs, flags;
	u8 resume_level;
	int ret;

	memset(&d, 0, sizeof(d));
	d.t = w->t;
	d.budget = DROP_REFS_PER_STEP;
	ret = load_dead(w->fs, id, &d, &resume, &resume_level);
	if (ret == 0)
		ret = ctree_read_root(&d.root, &rb);
	if (ret)
		return ret;
	ret = extent_lookup_info(w->t, rb->start, &refs, &flags);
	if (ret == 0)
		ret = drop_children(&d, rb, flags,
				    resume_level || resume.objectid ||
				    resume.type ? &resume : NULL,
				    resume_level);
	if (ret == 0)
		ret = finish_drop(&d, rb);
	else if (ret == 1 &&
		 cleaner_set_root_item(w->t, id, 0, &d.progress,
				       d.progress_level))
		ret = -EIO;
	tree_block_put(rb);
	if (ret < 0)
		trans_abort(w->t, ret);
	return ret;
}

/* The first dead root (an orphan item in the root tree), 0 when none. */
static int first_dead_root(struct fs_info *fs, u64 *id)
{
	struct key k = { BTRFS_ORPHAN_OBJECTID, BTRFS_ORPHAN_ITEM_KEY, 0 };
	struct ctree_path p;
	int ret;

	*id = 0;
	ctree_path_init(&p);
	ret = ctree_search_ge(&fs->tree_root, &k, &p);
	if (ret == 0) {
		ctree_item_key(&p, &k);
		if (k.objectid == BTRFS_ORPHAN_OBJECTID &&
		    k.type == BTRFS_ORPHAN_ITEM_KEY)
			*id = k.offset;
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : 0;
}

/*
 * Drop one step of the first dead root, not committed. A root met for
 * the first time is committed first: its root item gets the root block
 * its last changes made (the delete may share their transaction).
 * *last: the root of the previous step (0 at first). Returns 2 when the
 * step dropped the last of the tree, 1 when more is left, 0 when no
 * dead root is left, <0 on errors.
 */
static int drop_step(struct fs_info *fs, u64 *last)
{
	struct wctx w;
	u64 id;
	int ret = first_dead_root(fs, &id);

	if (ret || !id)
		return ret;
	if (id != *last) {
		*last = id;
		ret = trans_commit(fs);
		if (ret)
			return ret;
	}
	ret = wctx_begin_bg(fs, &w);
	if (ret)
		return ret;
	ret = drop_step_locked(&w, id);
	wctx_end(&w);
	return ret < 0 ? ret : ret == 0 ? 2 : 1;
}

/*
 * Drop one step of the first dead root and commit it: for a test that
 * stopped the task to look at every commit of a drop. Returns 1 when
 * there was work, 0 when none, <0 on errors.
 */
int cleaner_step(struct fs_info *fs, u64 *last)
{
	int ret = drop_step(fs, last);

	if (ret <= 0)
		return ret;
	ret = trans_commit(fs);
	return ret ? ret : 1;
}

static int cleaner(void *arg)
{
	struct fs_info *fs = arg;
	u32 steps = 0;		/* steps not committed yet */
	u64 last = 0;

	while (!task_should_stop()) {
		int ret = drop_step(fs, &last);

		steps += ret > 0;
		if (steps && (ret != 1 || steps >= STEPS_PER_COMMIT)) {
			int err = trans_commit(fs);

			if (ret >= 0 && err)
				ret = err;
			steps = 0;
		}
		if (ret < 0 && ret != -EROFS)
			pr_err("%s: cleaner: dropping a deleted subvolume "
			       "failed: %d", fs->dev->name, ret);
		if (ret <= 0)
			wait_for_completion_timeout(&fs->cleaner_kick,
						    CLEANER_IDLE_NS);
	}
	return 0;
}

/* Start the cleaner of a read-write mount; it resumes any dead root. */
int cleaner_start(struct fs_info *fs)
{
	completion_init(&fs->cleaner_kick);
	/* BACKGROUND: nobody waits for it; the scheduler still gives it a
	 * slice when it has waited long, so the locks it holds are let go */
	fs->cleaner = task_create("btrfs-cleaner", cleaner, fs,
				  TASK_PRIO_BACKGROUND);
	return fs->cleaner ? 0 : -ENOMEM;
}

/* Stop it (umount), at the end of its step. Caller holds no fs lock. */
void cleaner_stop(struct fs_info *fs)
{
	if (!fs->cleaner)
		return;
	task_stop(task_id(fs->cleaner));
	complete(&fs->cleaner_kick);
	task_join(fs->cleaner);
	fs->cleaner = NULL;
}

/* Wake the cleaner: there is a new dead root. */
void cleaner_kick(struct fs_info *fs)
{
	if (fs->cleaner)
		complete(&fs->cleaner_kick);
}

/* Whether dead root id (0: any) is still waiting to be dropped. */
static int dead_root_left(struct fs_info *fs, u64 id, int *left)
{
	struct key k = { BTRFS_ORPHAN_OBJECTID, BTRFS_ORPHAN_ITEM_KEY, id };
	struct ctree_path p;
	u64 first;
	int ret;

	down_read(&fs->ns_lock);
	if (!id) {
		ret = first_dead_root(fs, &first);
		*left = first != 0;
	} else {
		ctree_path_init(&p);
		ret = ctree_lookup(&fs->tree_root, &k, &p);
		ctree_path_release(&p);
		*left = ret == 0;
		ret = ret == -ENOENT ? 0 : ret;
	}
	up_read(&fs->ns_lock);
	return ret;
}

/*
 * Wait until deleted subvolume id (0: every one) is dropped (btrfs
 * subvolume sync). An id that is not a deleted subvolume returns at once.
 * Returns 0, -EROFS when no cleaner runs while it is left, or <0.
 */
int fs_subvol_sync_id(struct fs_info *fs, uint64_t id)
{
	int ret, left;

	for (;;) {
		ret = dead_root_left(fs, id, &left);
		if (ret || !left)
			return ret;
		if (!fs->cleaner || fs_aborted(fs))
			return -EROFS;
		cleaner_kick(fs);
		msleep(10);
	}
}

int fs_subvol_sync(struct fs_info *fs)
{
	return fs_subvol_sync_id(fs, 0);
}
