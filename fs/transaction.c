/*
 * Transactions. All changes join the one running transaction (trans_join);
 * nothing reaches the disk until trans_commit(), which makes the whole
 * transaction durable at once:
 *
 *  1. apply the delayed refs (extent tree, free-space tree, checksums),
 *     rewrite changed block group items and root items; each of these
 *     copies more blocks and queues more refs, so repeat until a round
 *     changes nothing;
 *  2. write every dirty tree block (each to new addresses: COW), many in
 *     flight, wait for them and for the file data the changes started
 *     writing (writeback.c), then flush the device;
 *  3. write the superblock copies pointing at the new roots, flush again;
 *  4. swap commit roots under commit_root_sem held for write, and only
 *     then give the space freed by this transaction back to the allocator
 *     (or hold it while a reader of an older commit runs: commit_root.c).
 * A crash before the superblock write leaves the old tree, which nothing
 * in this transaction overwrote; a crash after it leaves the new one.
 *
 * A failure in the middle of a change or commit cannot be undone in
 * memory: trans_abort() marks the filesystem read-only with a message
 * naming the function and line, and no later commit happens, so the disk
 * keeps the last committed state.
 *
 * A task commits every commit_interval_ns (trans_start_committer); sync,
 * umount and a write that runs short of metadata space commit at once.
 *
 * Locking: changes join with fs->trans_sem held for read, so many share
 * the running transaction; trans_commit() takes trans_sem for write, which
 * waits for the changes in progress to end and holds new ones off until
 * the superblock is out. Searches take no transaction lock: they go on
 * during the commit, under the tree-block locks. The commit-root swap also
 * takes commit_root_sem for write, briefly (DESIGN.md invariant 5).
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/blk.h>
#include <ghee/log.h>
#include <ghee/sync.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "csum_type.h"
#include "block_group.h"
#include "commit_root.h"
#include "ctree_write.h"
#include "fs_info.h"
#include "qgroup.h"
#include "subvol.h"
#include "subvol_create.h"
#include "super.h"
#include "tree_check.h"
#include "transaction.h"

/* The errno that aborted the last transaction, or 0. */
int fs_aborted(const struct fs_info *fs)
{
	return __atomic_load_n(&fs->aborted, __ATOMIC_ACQUIRE);
}

/* Start a transaction after the last committed generation. */
static int trans_new(struct fs_info *fs, struct trans **out)
{
	struct trans *t = kzalloc(sizeof(*t));
	int ret;

	if (!t)
		return -ENOMEM;
	ret = delayed_refs_init(&t->refs);
	if (ret) {
		kfree(t);
		return ret;
	}
	t->fs = fs;
	t->transid = fs->generation + 1;
	t->start_ns = time_ns();
	spin_init(&t->lock, "trans");
	list_init(&t->dirty);
	list_init(&t->snapshots);
	*out = t;
	return 0;
}

/* Get the running transaction, starting one if none runs. Caller holds
 * fs->trans_sem for read. Returns 0, -EROFS (read-only or aborted),
 * -ENOMEM. */
int trans_join(struct fs_info *fs, struct trans **out)
{
	int ret = 0;

	if (__atomic_load_n(&fs->read_only, __ATOMIC_ACQUIRE))
		return -EROFS;
	spin_lock(&fs->trans_lock);
	if (!fs->running)
		ret = trans_new(fs, &fs->running);
	*out = fs->running;
	spin_unlock(&fs->trans_lock);
	return ret;
}

/* Tree blocks the transaction has made so far. */
u64 trans_ndirty(struct trans *t)
{
	u64 n;

	spin_lock(&t->lock);
	n = t->ndirty;
	spin_unlock(&t->lock);
	return n;
}

/* Remember a freed range; it becomes allocatable after the commit. The
 * commit calls this, running the delayed refs. */
int trans_pin(struct trans *t, u64 start, u64 len)
{
	if (t->npinned == t->pin_cap) {
		u32 cap = t->pin_cap ? t->pin_cap * 2 : 64;
		struct pin_range *v = kmalloc(cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		if (t->npinned)
			memcpy(v, t->pinned, t->npinned * sizeof(*v));
		kfree(t->pinned);
		t->pinned = v;
		t->pin_cap = cap;
	}
	t->pinned[t->npinned].start = start;
	t->pinned[t->npinned++].len = len;
	return 0;
}

/* Free a transaction's memory; dirty blocks it still holds are dropped
 * from the cache (after an abort they are never written). */
void trans_free(struct trans *t)
{
	while (!list_empty(&t->dirty)) {
		struct tree_block *b = list_entry(t->dirty.next,
						  struct tree_block, dirty);

		list_del_init(&b->dirty);
		tb_clear_flag(b, TB_DIRTY);
		tree_block_forget(t->fs, b->start);
		tree_block_put(b);
	}
	delayed_refs_free(&t->refs);
	kfree(t->pinned);
	kfree(t);
}

/*
 * Abort the running transaction because of err, found in func at line:
 * the filesystem becomes read-only and says why. Only the first abort is
 * reported.
 */
void trans_abort_at(struct trans *t, int err, const char *func, int line)
{
	struct fs_info *fs = t->fs;
	int none = 0;

	if (!__atomic_compare_exchange_n(&fs->aborted, &none, err, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&fs->read_only, 1, __ATOMIC_RELEASE);
	pr_err("%s: transaction %llu aborted in %s:%d (error %d); the "
	       "filesystem is read-only now, the disk keeps generation %llu",
	       fs->dev->name, (unsigned long long)t->transid, func, line, err,
	       (unsigned long long)fs->generation);
}

/*
 * Find tree id's root item in the root tree (its last ROOT_ITEM key) and
 * hold it in p for writing. Returns 0 (release p after), -EUCLEAN when
 * there is none, or <0.
 */
int trans_root_item_search(struct trans *t, u64 id, struct ctree_path *p)
{
	struct key k = { id, BTRFS_ROOT_ITEM_KEY, (u64)-1 };
	int ret;

	ctree_path_init(p);
	ret = ctree_search_le(&t->fs->tree_root, &k, p);
	if (ret == 0)
		ctree_item_key(p, &k);
	ctree_path_release(p);
	if (ret || k.objectid != id || k.type != BTRFS_ROOT_ITEM_KEY)
		return ret < 0 ? ret : -EUCLEAN;
	ret = ctree_search_write(t, &t->fs->tree_root, &k, p, 0);
	if (ret)
		ctree_path_release(p);
	return ret == 1 ? -EUCLEAN : ret;
}

/* Write the root item of a changed tree into the root tree. */
int trans_write_root_item(struct trans *t, struct ctree_root *root)
{
	struct ctree_path p;
	u8 *item;
	u32 size;
	int ret = trans_root_item_search(t, root->objectid, &p);

	if (ret)
		return ret;
	item = ctree_item_ptr_w(&p, &size);
	D_SET64(struct d_root_item, item, bytenr, root->bytenr);
	D_SET64(struct d_root_item, item, generation, root->generation);
	D_SET8(struct d_root_item, item, level, root->level);
	if (tree_check_is_subvol_tree(root->objectid))
		D_SET64(struct d_root_item, item, last_snapshot,
			root->last_snapshot);
	if (size >= sizeof(struct d_root_item)) {
		D_SET64(struct d_root_item, item, generation_v2,
			root->generation);
		/* ctransid: the tree changed (a snapshot of it only
		 * rewrites last_snapshot, keeping it). */
		if (root->objectid >= BTRFS_FS_TREE_OBJECTID &&
		    root->objectid != BTRFS_CSUM_TREE_OBJECTID &&
		    root->objectid != BTRFS_FREE_SPACE_TREE_OBJECTID &&
		    root->generation == t->transid)
			D_SET64(struct d_root_item, item, ctransid,
				t->transid);
	}
	ctree_path_release(&p);
	return 0;
}

/* Write the root items of every changed tree; *did when any was. */
static int write_root_items(struct trans *t, int *did)
{
	struct fs_info *fs = t->fs;
	struct ctree_root *fixed[] = { &fs->extent_root, &fs->dev_root,
				       &fs->csum_root, &fs->fst_root,
				       &fs->uuid_root, &fs->quota_root };
	struct subvol_root *s;
	u32 i;
	int ret = 0;

	*did = 0;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]) && ret == 0; i++) {
		if (!fixed[i]->dirty)
			continue;
		fixed[i]->dirty = 0;
		*did = 1;
		ret = trans_write_root_item(t, fixed[i]);
	}
	for (s = subvol_first(fs); s && ret == 0; s = s->next) {
		if (!s->root.dirty)
			continue;
		s->root.dirty = 0;
		*did = 1;
		ret = trans_write_root_item(t, &s->root);
	}
	if (ret)
		trans_abort(t, ret);
	return ret;
}

/* Step 1: apply everything queued until nothing changes any more. Also
 * called by relocation, inside its commit (trans_commit_with). */
int trans_settle(struct trans *t)
{
	int rounds, did_bg, did_roots, ret;

	for (rounds = 0; rounds < 100; rounds++) {
		ret = delayed_refs_run(t);
		if (ret == 0)
			ret = bg_write_dirty(t, &did_bg);
		if (ret == 0)
			ret = write_root_items(t, &did_roots);
		if (ret)
			return ret;
		if (!did_bg && !did_roots && t->refs.nheads == 0)
			return 0;
	}
	pr_err("commit does not settle");
	trans_abort(t, -EUCLEAN);
	return -EUCLEAN;
}

/* Step 1b: count the quota groups from what step 1 ran, write the
 * counts, and settle what writing them queued. */
static int account_qgroups(struct trans *t)
{
	int ret = qgroup_account_commit(t);

	if (ret == 0)
		ret = qgroup_write_all(t);
	if (ret == 0)
		ret = trans_settle(t);
	/* The quota tree's own blocks reach no subvolume: nothing of
	 * this round is left to count. */
	if (t->fs->qgroups)
		t->fs->qgroups->next = 0;
	return ret;
}

/* Step 2: write every dirty block, many in flight, wait for them and the
 * file data the changes wrote (writeback.c), then flush. */
static int write_dirty(struct trans *t)
{
	struct fs_info *fs = t->fs;
	struct tree_block *b;
	int ret = 0, ret2;

	fs->commit_stats.blocks = 0;
	list_for_each_entry(b, &t->dirty, struct tree_block, dirty) {
		ret = tree_block_write(fs, b);
		if (ret)
			break;
		fs->commit_stats.blocks++;
	}
	ret2 = writeback_wait(fs);
	ret = ret ? ret : ret2;
	if (ret == 0)
		ret = blk_flush(fs->dev);
	if (ret)
		trans_abort(t, ret);
	return ret;
}

/* Record the main roots in backup slot generation % 4 of the super. */
static void fill_backup(struct fs_info *fs, struct d_super_block *sb,
			u64 gen)
{
	struct d_root_backup *b = &sb->super_roots[gen % BTRFS_NUM_BACKUP_ROOTS];
	const struct subvol_root *top = NULL;

	subvol_get(fs, BTRFS_FS_TREE_OBJECTID, &top);
	memset(b, 0, sizeof(*b));
	put_le64(&b->tree_root, fs->tree_root.bytenr);
	put_le64(&b->tree_root_gen, fs->tree_root.generation);
	b->tree_root_level = fs->tree_root.level;
	put_le64(&b->chunk_root, fs->chunk_root.bytenr);
	put_le64(&b->chunk_root_gen, fs->chunk_root.generation);
	b->chunk_root_level = fs->chunk_root.level;
	put_le64(&b->extent_root, fs->extent_root.bytenr);
	put_le64(&b->extent_root_gen, fs->extent_root.generation);
	b->extent_root_level = fs->extent_root.level;
	if (top) {
		put_le64(&b->fs_root, top->root.bytenr);
		put_le64(&b->fs_root_gen, top->root.generation);
		b->fs_root_level = top->root.level;
	}
	put_le64(&b->dev_root, fs->dev_root.bytenr);
	put_le64(&b->dev_root_gen, fs->dev_root.generation);
	b->dev_root_level = fs->dev_root.level;
	put_le64(&b->csum_root, fs->csum_root.bytenr);
	put_le64(&b->csum_root_gen, fs->csum_root.generation);
	b->csum_root_level = fs->csum_root.level;
	put_le64(&b->total_bytes, get_le64(&sb->total_bytes));
	put_le64(&b->bytes_used, fs->bytes_used);
	put_le64(&b->num_devices, 1);
}

/*
 * Write the superblock copies that fit the device (n of them), each with
 * its own offset and checksum, all in flight at once: one wait for the
 * device instead of one per copy. 0 or the first error.
 */
static int write_super_copies(struct fs_info *fs, int n)
{
	struct d_super_block *sb = fs->super;
	struct bio bio[BTRFS_SUPER_MIRROR_MAX];
	struct bio_vec vec[BTRFS_SUPER_MIRROR_MAX];
	struct completion done[BTRFS_SUPER_MIRROR_MAX];
	u8 *bufs = kmalloc((u64)n * BTRFS_SUPER_INFO_SIZE);
	int i, started, ret = bufs ? 0 : -ENOMEM;

	for (started = 0; started < n && ret == 0; started++) {
		u8 *buf = bufs + (u64)started * BTRFS_SUPER_INFO_SIZE;

		put_le64(&sb->bytenr, super_offset(started));
		csum_header_set(fs->csum_type, (u8 *)sb,
				BTRFS_SUPER_INFO_SIZE);
		memcpy(buf, sb, BTRFS_SUPER_INFO_SIZE);
		vec[started].base = buf;
		vec[started].len = BTRFS_SUPER_INFO_SIZE;
		memset(&bio[started], 0, sizeof(bio[started]));
		bio[started].dev = fs->dev;
		bio[started].op = BLK_OP_WRITE;
		bio[started].off = super_offset(started);
		bio[started].len = BTRFS_SUPER_INFO_SIZE;
		bio[started].vecs = &vec[started];
		bio[started].nr_vecs = 1;
		bio[started].end_io = blk_end_io_complete;
		bio[started].private = &done[started];
		completion_init(&done[started]);
		ret = blk_submit(&bio[started]);
		if (ret)
			break;
	}
	for (i = 0; i < started; i++) {
		wait_for_completion(&done[i]);
		if (ret == 0)
			ret = bio[i].status;
	}
	put_le64(&sb->bytenr, super_offset(0));
	kfree(bufs);
	return ret;
}

/* Step 3: write every superblock copy that fits the device, flushed. */
static int write_super(struct trans *t)
{
	struct fs_info *fs = t->fs;
	struct d_super_block *sb = fs->super;
	int n, ret;

	put_le64(&sb->generation, t->transid);
	put_le64(&sb->root, fs->tree_root.bytenr);
	sb->root_level = fs->tree_root.level;
	put_le64(&sb->chunk_root, fs->chunk_root.bytenr);
	put_le64(&sb->chunk_root_generation, fs->chunk_root.generation);
	sb->chunk_root_level = fs->chunk_root.level;
	put_le64(&sb->bytes_used, fs->bytes_used);
	D_SET64(struct d_dev_item, &sb->dev_item, bytes_used,
		fs->dev_bytes_used);
	fill_backup(fs, sb, t->transid);
	for (n = 0; n < BTRFS_SUPER_MIRROR_MAX; n++)
		if (super_offset(n) + BTRFS_SUPER_INFO_SIZE > fs->dev->size)
			break;
	ret = write_super_copies(fs, n);
	if (ret == 0)
		ret = blk_flush(fs->dev);
	if (ret) {
		pr_err("%s: superblock write failed: %d", fs->dev->name, ret);
		trans_abort(t, ret);
	}
	return ret;
}

static void swap_root(struct ctree_root *r)
{
	r->commit_bytenr = r->bytenr;
	r->commit_generation = r->generation;
	r->commit_level = r->level;
}

/* Step 4: the new tree is on disk; make it the commit root everywhere. */
static void swap_commit_roots(struct trans *t)
{
	struct fs_info *fs = t->fs;
	struct subvol_root *s;
	struct tree_block *b;

	down_write(&fs->commit_root_sem);
	swap_root(&fs->tree_root);
	swap_root(&fs->chunk_root);
	swap_root(&fs->extent_root);
	swap_root(&fs->dev_root);
	swap_root(&fs->csum_root);
	swap_root(&fs->fst_root);
	swap_root(&fs->uuid_root);
	swap_root(&fs->quota_root);
	for (s = subvol_first(fs); s; s = s->next)
		swap_root(&s->root);
	/* atomic: the tree checker reads it without commit_root_sem */
	__atomic_store_n(&fs->generation, t->transid, __ATOMIC_RELEASE);
	/* Readers of commit roots (send) restart by key when this moves:
	 * blocks they hold copies of may be freed from now on (relocation
	 * moved blocks; a dedupe repointed extents of a read-only subvolume:
	 * fs/dedupe.c, "Dedupe beside send"). */
	if (t->relocation ||
	    __atomic_load_n(&t->ro_remapped, __ATOMIC_ACQUIRE))
		fs->last_reloc_trans++;
	/* File reads that found an item this commit repointed read again
	 * (fs/file.c): before the old extents' space can be reused. */
	if (t->moved_data)
		__atomic_add_fetch(&fs->extent_moves, 1, __ATOMIC_RELEASE);
	up_write(&fs->commit_root_sem);
	while (!list_empty(&t->dirty)) {
		b = list_entry(t->dirty.next, struct tree_block, dirty);
		list_del_init(&b->dirty);
		tb_clear_flag(b, TB_DIRTY);
		tree_block_put(b);
	}
	commit_root_unpin(fs, t->pinned, t->npinned);
}

/*
 * Commit the running transaction (nothing to do when none runs). A
 * transaction that changed no block (a change that failed before
 * touching anything) ends without writing: a superblock of a new
 * generation must point at a root of that generation. Caller holds
 * trans_sem for write. Returns 0, or the error that aborted it.
 */
static int commit_locked(struct fs_info *fs)
{
	struct fs_commit_stats *st = &fs->commit_stats;
	struct trans *t = fs->running;
	u64 t0 = time_ns(), t1, t2, t3, t4, t5;
	int ret;

	if (fs_aborted(fs))
		return -EROFS;
	if (!t)
		return 0;
	ret = snapshot_create_pending(t);
	t1 = time_ns();
	if (ret == 0)
		ret = trans_settle(t);
	t2 = time_ns();
	if (ret == 0 && fs->qgroups)
		ret = account_qgroups(t);
	t3 = time_ns();
	if (ret == 0 && list_empty(&t->dirty) && !t->npinned)
		goto out_free;	/* nothing changed: the disk stays as is */
	if (ret == 0)
		ret = write_dirty(t);
	t4 = time_ns();
	if (ret == 0)
		ret = write_super(t);
	if (ret)
		return ret;
	swap_commit_roots(t);
	t5 = time_ns();
	st->commits++;
	st->last_ns = t5 - t0;
	st->total_ns += st->last_ns;
	if (st->last_ns > st->max_ns)
		st->max_ns = st->last_ns;
	st->snapshot_ns = t1 - t0;
	st->refs_ns = t2 - t1;
	st->qgroup_ns = t3 - t2;
	st->write_ns = t4 - t3;
	st->super_ns = t5 - t4;
	st->ref_heads = t->refs.heads_run;
out_free:
	fs->running = NULL;
	trans_free(t);
	return 0;
}

/* Commit the running transaction, waiting for the changes in progress to
 * end. Caller holds no fs lock but ns_lock and an inode lock. Returns 0,
 * -EROFS after an abort, or the error that aborted this one. */
int trans_commit(struct fs_info *fs)
{
	int ret;

	down_write(&fs->trans_sem);
	ret = commit_locked(fs);
	up_write(&fs->trans_sem);
	return ret;
}

/*
 * Commit with fn run inside, at a quiet point: after the changes in
 * progress have ended and their references have run, before the commit
 * writes anything; no change runs until the superblock is out. Used by
 * relocation, which rewrites blocks many trees share and must not let a
 * change modify one of its unwritten copies in place. relocation marks
 * the commit as one (last_reloc_trans). Returns 0 or <0.
 */
int trans_commit_with(struct fs_info *fs, int (*fn)(struct trans *, void *),
		      void *arg, int relocation)
{
	struct trans *t;
	int ret;

	down_write(&fs->trans_sem);
	ret = fs_aborted(fs) ? -EROFS : trans_join(fs, &t);
	if (ret == 0) {
		t->relocation = relocation;
		ret = trans_settle(t);
	}
	if (ret == 0)
		ret = fn(t, arg);
	if (ret == 0)
		ret = commit_locked(fs);
	up_write(&fs->trans_sem);
	return ret;
}

void fs_commit_stats(struct fs_info *fs, struct fs_commit_stats *st,
		     int reset_max)
{
	if (!reset_max) {
		down_read(&fs->trans_sem);
		*st = fs->commit_stats;
		up_read(&fs->trans_sem);
		return;
	}
	down_write(&fs->trans_sem);
	*st = fs->commit_stats;
	fs->commit_stats.max_ns = 0;
	up_write(&fs->trans_sem);
}

/* The periodic commit: every interval, commit what is running. */
static int committer(void *arg)
{
	struct fs_info *fs = arg;

	while (!task_should_stop()) {
		if (task_sleep_ns(fs->commit_interval_ns))
			break;
		down_write(&fs->trans_sem);
		if (fs->running && !fs_aborted(fs) &&
		    time_ns() - fs->running->start_ns >=
		    fs->commit_interval_ns / 2)
			commit_locked(fs);
		up_write(&fs->trans_sem);
	}
	return 0;
}

/* Start the periodic commit task of a read-write mount. */
int trans_start_committer(struct fs_info *fs)
{
	/* NORMAL, with the commands: every writer waits for a commit, so a
	 * busy command must not keep it off the CPU */
	fs->committer = task_create("btrfs-commit", committer, fs,
				    TASK_PRIO_NORMAL);
	return fs->committer ? 0 : -ENOMEM;
}

/* Stop it (umount). Caller holds no fs lock. */
void trans_stop_committer(struct fs_info *fs)
{
	if (!fs->committer)
		return;
	task_stop(task_id(fs->committer));
	task_join(fs->committer);
	fs->committer = NULL;
}
