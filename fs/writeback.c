/*
 * Delayed writes: file data written by a change, and the commit's tree
 * blocks, are kept in memory and go to the disk in batches, adjacent
 * writes joined into one request, many requests in flight, instead of one
 * synchronous write after another (each 4 KiB file used to wait for its
 * own write, and on a virtual disk every request costs a doorbell).
 *
 * writeback_submit() copies the bytes (the caller's buffer is free again
 * at once) onto fs->wb.held. When WB_BATCH_BYTES are held, or a commit or
 * a read needs them, start_held() turns the held writes, in order, into
 * runs: the longest stretches of logically adjacent writes in one chunk,
 * each one bio per chunk copy with a buffer per write (the block layer
 * splits it to the device's limits). Runs in flight sit on
 * fs->wb.inflight, oldest first, until a waiter reaps them.
 * writeback_wait() starts and waits for everything and returns the first
 * error the commit must abort on since the last wait.
 *
 * Write errors, as Linux treats them:
 *  - a tree block that fails to write fails the commit, which aborts
 *    (transaction.c: the filesystem goes read-only and says why);
 *  - file data that fails to write does not abort anything: the error
 *    is kept for the next fs_sync to return once (writeback_data_error,
 *    as Linux's fsync and syncfs report a writeback error once). Linux
 *    adds a file's extent item only when its data is on the disk, and
 *    leaves the file as it was when the write fails; here the item went
 *    into the tree at the write, so instead the held copy is written
 *    once more, at once, to the same place, and the file keeps its new
 *    bytes. When that fails too, the tree must not reference the extent:
 *    the error goes to the commit, which aborts.
 *
 * Invariants:
 *  - the commit waits for every write before its flush (transaction.c
 *    write_dirty), so data reaches the disk before the superblock that
 *    references it, and nothing is held or in flight across a commit; a
 *    write that is not on the disk then aborts that commit;
 *  - a write goes only to space that was free in the committed tree and
 *    is not reused before the commit (freed space stays pinned until
 *    then), so two writes never overlap and their order does not matter;
 *  - a read of a range with a write held or in flight waits for the
 *    writes first (volumes_read_start calls writeback_wait_range), so it
 *    never sees the old bytes;
 *  - wb.bytes counts every copy from writeback_submit to its reaping, so
 *    it is 0 only when nothing is held, being started or in flight;
 *  - memory: a submit first reaps the oldest runs until what is held and
 *    in flight fits WB_MAX_BYTES (8 MiB) with it, so at most that many
 *    bytes of copies exist (plus one write's per concurrent writer), and
 *    a record per write.
 *
 * Locking: fs->wb.lock (spinlock, leaf) guards the two lists and the
 * counts and errors; fs->wb.io_lock (mutex, taken under any other fs
 * lock; under it only wb.lock, chunks.lock, kmalloc and the block layer)
 * makes starting, reaping and writing again one task's job, so a waiter
 * that holds it and finds both lists empty knows every earlier write
 * ended. A bio's end_io (perhaps in interrupt context) touches only its
 * run: an atomic count of bios left, the status, and a completion.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "fs_info.h"
#include "writeback.h"

/* Bytes of copies held and in flight at most (see above). */
#define WB_MAX_BYTES (8u << 20)
/* Bytes held before they are started without waiting for a commit. */
#define WB_BATCH_BYTES (2u << 20)

/* One write held or in flight: a copy of its bytes. */
struct wb_write {
	struct list_head link;		/* on wb.held, then on its run */
	u64 logical;			/* first byte [I] */
	u32 len;			/* bytes [I] */
	enum wb_kind kind;		/* file data or a tree block [I] */
	u8 *data;			/* the copy [I] */
};

/* Adjacent writes started as one bio per chunk copy. */
struct wb_run {
	struct list_head link;		/* on wb.inflight [wb.lock] */
	struct list_head writes;	/* its struct wb_write, in order [I] */
	u64 logical;			/* first byte [I] */
	u64 len;			/* bytes [I] */
	enum wb_kind kind;		/* of every write in it [I] */
	int left;			/* bios not yet ended, + 1 [a] */
	int status;			/* first bio error, or 0 [a] */
	struct completion done;		/* completed when left reaches 0 */
	u32 nbios;			/* bios below [I] */
	struct bio bios[CHUNK_MAX_STRIPES];
	struct bio_vec *vecs;		/* nbios * writes buffers [I] */
};

void writeback_init(struct fs_info *fs)
{
	spin_init(&fs->wb.lock, "wb_lock");
	mutex_init(&fs->wb.io_lock, "wb_io_lock");
	list_init(&fs->wb.held);
	list_init(&fs->wb.inflight);
	fs->wb.held_bytes = 0;
	fs->wb.bytes = 0;
	fs->wb.starting = 0;
	fs->wb.err = 0;
	fs->wb.data_err = 0;
}

/* Keep err as the first error the next writeback_wait (or, for file
 * data written again, writeback_data_error) returns. */
static void keep_error(struct fs_info *fs, int *slot, int err)
{
	spin_lock(&fs->wb.lock);
	if (!*slot)
		*slot = err;
	spin_unlock(&fs->wb.lock);
}

static void free_writes(struct list_head *writes)
{
	while (!list_empty(writes)) {
		struct wb_write *w = list_entry(writes->next, struct wb_write,
						link);

		list_del_init(&w->link);
		kfree(w->data);
		kfree(w);
	}
}

/* One part of r ended with status: keep the first error; the last part
 * completes r. May run in interrupt context. */
static void run_put(struct wb_run *r, int status)
{
	int zero = 0;

	if (status)
		__atomic_compare_exchange_n(&r->status, &zero, status, 0,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	if (__atomic_sub_fetch(&r->left, 1, __ATOMIC_ACQ_REL) == 0)
		complete(&r->done);
}

static void run_end_io(struct bio *bio)
{
	run_put(bio->private, bio->status);
}

/* Write r's file data once more, one synchronous write each (the file
 * comment, "Write errors"). 0 or the first error. */
static int rewrite_data(struct fs_info *fs, struct wb_run *r)
{
	struct wb_write *w;
	int ret = 0;

	list_for_each_entry(w, &r->writes, struct wb_write, link)
		if (ret == 0)
			ret = volumes_write(fs, w->logical, w->data, w->len);
	return ret;
}

/* Wait for r and deal with its error. Caller holds io_lock; r stays on
 * wb.inflight meanwhile, so a reader of its range still waits for it. */
static void finish_run(struct fs_info *fs, struct wb_run *r)
{
	int status;

	wait_for_completion(&r->done);
	status = __atomic_load_n(&r->status, __ATOMIC_ACQUIRE);
	if (!status)
		return;
	pr_err("%s: write of %llu bytes of %s at logical %llu failed: %d",
	       fs->dev->name, (unsigned long long)r->len,
	       r->kind == WB_DATA ? "file data" : "tree blocks",
	       (unsigned long long)r->logical, status);
	if (r->kind == WB_DATA && rewrite_data(fs, r) == 0) {
		pr_warn("%s: file data at logical %llu written again; the "
			"next sync reports the error", fs->dev->name,
			(unsigned long long)r->logical);
		keep_error(fs, &fs->wb.data_err, status);
	} else {
		keep_error(fs, &fs->wb.err, status);
	}
}

/*
 * Reap the oldest runs until at most keep bytes are in flight. Caller
 * holds io_lock. A run leaves wb.inflight only once it has ended (and
 * been written again after an error): a reader that finds no overlapping
 * run there may read the disk (writeback_wait_range).
 */
static void reap_until(struct fs_info *fs, u64 keep)
{
	struct wb_run *r;

	for (;;) {
		spin_lock(&fs->wb.lock);
		if (list_empty(&fs->wb.inflight) || fs->wb.bytes <= keep) {
			spin_unlock(&fs->wb.lock);
			return;
		}
		r = list_entry(fs->wb.inflight.next, struct wb_run, link);
		spin_unlock(&fs->wb.lock);
		finish_run(fs, r);
		spin_lock(&fs->wb.lock);
		list_del_init(&r->link);
		__atomic_sub_fetch(&fs->wb.bytes, r->len, __ATOMIC_RELEASE);
		spin_unlock(&fs->wb.lock);
		free_writes(&r->writes);
		kfree(r->vecs);
		kfree(r);
	}
}

/* Fill r's bios over its writes (n of them), mapped by m. 0 or -ENOMEM. */
static int build_bios(struct fs_info *fs, struct wb_run *r, u32 n,
		      const struct chunk_mapping *m)
{
	struct wb_write *w;
	u32 i, k;

	r->vecs = kmalloc((u64)m->num_stripes * n * sizeof(*r->vecs));
	if (!r->vecs)
		return -ENOMEM;
	r->nbios = m->num_stripes;
	for (i = 0; i < r->nbios; i++) {
		struct bio *b = &r->bios[i];

		k = 0;
		list_for_each_entry(w, &r->writes, struct wb_write, link) {
			r->vecs[i * n + k].base = w->data;
			r->vecs[i * n + k++].len = w->len;
		}
		b->dev = fs->dev;
		b->op = BLK_OP_WRITE;
		b->off = m->physical[i] + (r->logical - m->logical);
		b->len = r->len;
		b->vecs = &r->vecs[i * n];
		b->nr_vecs = (int)n;
		b->end_io = run_end_io;
		b->private = r;
	}
	return 0;
}

/* Start r (its writes, n of them, in one chunk) and put it in flight. A
 * failure is kept for writeback_wait. Caller holds io_lock. */
static void start_run(struct fs_info *fs, struct wb_run *r, u32 n)
{
	struct chunk_mapping m;
	int ret = volumes_map_copy(fs, r->logical, r->len, &m);
	u32 i;

	completion_init(&r->done);
	r->left = 1;
	if (ret == 0)
		ret = build_bios(fs, r, n, &m);
	if (ret == 0)
		r->left += (int)r->nbios;
	spin_lock(&fs->wb.lock);
	list_add_tail(&r->link, &fs->wb.inflight);	/* counted when held */
	spin_unlock(&fs->wb.lock);
	for (i = 0; ret == 0 && i < r->nbios; i++) {
		ret = blk_submit(&r->bios[i]);
		if (ret) {
			pr_err("%s: write of %llu bytes at %llu refused: %d",
			       fs->dev->name, (unsigned long long)r->len,
			       (unsigned long long)r->bios[i].off, ret);
			for (; i < r->nbios; i++)	/* never started */
				run_put(r, ret);
		}
	}
	run_put(r, ret);
}

/* Whether w can join the run r: of its kind, adjacent, and in r's
 * chunk. */
static int joins(const struct wb_run *r, const struct wb_write *w,
		 const struct chunk_mapping *m)
{
	return w->kind == r->kind && w->logical == r->logical + r->len &&
	       w->logical + w->len <= m->logical + m->length;
}

/* Start every held write, adjacent ones joined. Caller holds io_lock. */
static void start_held(struct fs_info *fs)
{
	struct list_head held;
	struct wb_run *r = NULL;
	struct chunk_mapping m;
	u32 n = 0;

	list_init(&held);
	spin_lock(&fs->wb.lock);
	if (!list_empty(&fs->wb.held)) {	/* move the list to held */
		held.next = fs->wb.held.next;
		held.prev = fs->wb.held.prev;
		held.next->prev = &held;
		held.prev->next = &held;
		list_init(&fs->wb.held);
		fs->wb.starting = 1;
	}
	fs->wb.held_bytes = 0;	/* wb.bytes still counts them */
	spin_unlock(&fs->wb.lock);
	while (!list_empty(&held)) {
		struct wb_write *w = list_entry(held.next, struct wb_write,
						link);

		list_del_init(&w->link);
		if (r && !joins(r, w, &m)) {
			start_run(fs, r, n);
			r = NULL;
		}
		if (!r) {
			r = kzalloc(sizeof(*r));
			if (!r || volumes_map_copy(fs, w->logical, w->len,
						   &m)) {
				pr_err("%s: cannot start the write at logical "
				       "%llu", fs->dev->name,
				       (unsigned long long)w->logical);
				keep_error(fs, &fs->wb.err,
					   r ? -EIO : -ENOMEM);
				kfree(r);
				r = NULL;
				spin_lock(&fs->wb.lock);
				__atomic_sub_fetch(&fs->wb.bytes, w->len,
						   __ATOMIC_RELEASE);
				spin_unlock(&fs->wb.lock);
				kfree(w->data);
				kfree(w);
				continue;
			}
			list_init(&r->writes);
			r->kind = w->kind;
			r->logical = w->logical;
			r->len = 0;
			n = 0;
		}
		list_add_tail(&w->link, &r->writes);
		r->len += w->len;
		n++;
	}
	if (r)
		start_run(fs, r, n);
	spin_lock(&fs->wb.lock);
	fs->wb.starting = 0;
	spin_unlock(&fs->wb.lock);
}

/*
 * Write len bytes of buf (file data or a tree block: kind) at a logical
 * address to every copy, later (see above); the range lies in one chunk.
 * buf may be reused when this returns. Device errors come from
 * writeback_wait and writeback_data_error. Returns 0, -ENOMEM, or -EIO
 * when the range is in no chunk (logged).
 */
int writeback_submit(struct fs_info *fs, enum wb_kind kind, u64 logical,
		     const void *buf, u32 len)
{
	struct chunk_mapping m;
	struct wb_write *w;
	int start;

	if (volumes_map_copy(fs, logical, len, &m)) {
		pr_err("write to logical %llu (+%u): not in any chunk",
		       (unsigned long long)logical, len);
		return -EIO;
	}
	/* Unlocked read: other writers may pass the bound by a write each. */
	if (__atomic_load_n(&fs->wb.bytes, __ATOMIC_RELAXED) + len >
	    WB_MAX_BYTES) {
		mutex_lock(&fs->wb.io_lock);
		start_held(fs);
		reap_until(fs, len < WB_MAX_BYTES ? WB_MAX_BYTES - len : 0);
		mutex_unlock(&fs->wb.io_lock);
	}
	w = kzalloc(sizeof(*w));
	if (w)
		w->data = kmalloc(len);
	if (!w || !w->data) {
		kfree(w);
		return -ENOMEM;
	}
	memcpy(w->data, buf, len);
	w->kind = kind;
	w->logical = logical;
	w->len = len;
	spin_lock(&fs->wb.lock);
	list_add_tail(&w->link, &fs->wb.held);
	fs->wb.held_bytes += len;
	__atomic_add_fetch(&fs->wb.bytes, len, __ATOMIC_RELEASE);
	start = fs->wb.held_bytes >= WB_BATCH_BYTES;
	spin_unlock(&fs->wb.lock);
	if (start) {
		mutex_lock(&fs->wb.io_lock);
		start_held(fs);
		mutex_unlock(&fs->wb.io_lock);
	}
	return 0;
}

/*
 * Start and wait for every write. Returns 0, or the first error since the
 * last call of a tree block write or of file data that failed twice
 * (then forgotten: the commit that gets it aborts, so nothing written
 * after it is ever referenced).
 */
int writeback_wait(struct fs_info *fs)
{
	int err;

	mutex_lock(&fs->wb.io_lock);
	start_held(fs);
	reap_until(fs, 0);
	mutex_unlock(&fs->wb.io_lock);
	spin_lock(&fs->wb.lock);
	err = fs->wb.err;
	fs->wb.err = 0;
	spin_unlock(&fs->wb.lock);
	return err;
}

/* The first error of file data that its second write put right (see
 * above) since the last call, then forgotten; 0 when none. fs_sync
 * reports it. */
int writeback_data_error(struct fs_info *fs)
{
	int err;

	spin_lock(&fs->wb.lock);
	err = fs->wb.data_err;
	fs->wb.data_err = 0;
	spin_unlock(&fs->wb.lock);
	return err;
}

/* Whether a write on held or inflight overlaps [logical, +len). Caller
 * holds wb.lock. */
static int overlaps(struct fs_info *fs, u64 logical, u32 len)
{
	struct wb_write *w;
	struct wb_run *r;

	list_for_each_entry(w, &fs->wb.held, struct wb_write, link)
		if (w->logical < logical + len &&
		    logical < w->logical + w->len)
			return 1;
	list_for_each_entry(r, &fs->wb.inflight, struct wb_run, link)
		if (r->logical < logical + len &&
		    logical < r->logical + r->len)
			return 1;
	return 0;
}

/*
 * Start and wait for the writes when one overlaps [logical, +len). The
 * writes start_held has taken off held are on neither list until it ends
 * (wb.starting): io_lock waits for that.
 */
void writeback_wait_range(struct fs_info *fs, u64 logical, u32 len)
{
	int overlap;

	if (!__atomic_load_n(&fs->wb.bytes, __ATOMIC_ACQUIRE))
		return;		/* nothing held or in flight (common) */
	spin_lock(&fs->wb.lock);
	overlap = fs->wb.starting || overlaps(fs, logical, len);
	spin_unlock(&fs->wb.lock);
	if (!overlap)
		return;
	mutex_lock(&fs->wb.io_lock);
	spin_lock(&fs->wb.lock);
	overlap = overlaps(fs, logical, len);
	spin_unlock(&fs->wb.lock);
	if (overlap) {		/* an error stays for the commit */
		start_held(fs);
		reap_until(fs, 0);
	}
	mutex_unlock(&fs->wb.io_lock);
}
