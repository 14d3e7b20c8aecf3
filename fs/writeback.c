/*
 * Writes in flight: file data written by a change, and the commit's tree
 * blocks, go to the disk as asynchronous bios, many at once, instead of
 * one synchronous write after another (each 4 KiB file used to wait for
 * its own data write).
 *
 * writeback_submit() copies the bytes (the caller's buffer is free again
 * at once), maps the logical range to every copy of its chunk and submits
 * one bio per copy. The record stays on fs->wb.inflight, oldest first,
 * until a waiter reaps it: writeback_wait() waits for every record and
 * returns the first write error since the last wait.
 *
 * Invariants:
 *  - the commit waits for every write in flight before its flush
 *    (transaction.c write_dirty), so data reaches the disk before the
 *    superblock that references it, and nothing is in flight across a
 *    commit; a failed write aborts that commit;
 *  - a write goes only to space that was free in the committed tree and
 *    is not reused before the commit (freed space stays pinned until
 *    then), so two writes in flight never overlap;
 *  - a read of a range with a write in flight waits for the writes first
 *    (volumes_read calls writeback_wait_range), so it never sees the old
 *    bytes;
 *  - memory: at most WB_MAX_BYTES of copies are held (a submit past it
 *    waits for the oldest writes), plus one record per write.
 *
 * Locking: fs->wb.lock (spinlock, leaf) guards the list and the byte
 * count; fs->wb.reap_lock (mutex, taken under any other fs lock, nothing
 * but wb.lock and the allocator under it) makes reaping one task's job, so
 * a waiter that finds the list empty knows every write before it ended.
 * A bio's end_io (perhaps in interrupt context) touches only its record:
 * an atomic count of copies left and a completion.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "fs_info.h"
#include "writeback.h"

/* Bytes of copies in flight at most before a submit waits (see above). */
#define WB_MAX_BYTES (8u << 20)

/* One logical write: a copy of the bytes and a bio per chunk copy. */
struct wb_write {
	struct list_head link;		/* on fs->wb.inflight [wb.lock] */
	struct fs_info *fs;		/* [I] */
	u64 logical;			/* first byte written [I] */
	u32 len;			/* bytes [I] */
	int left;			/* bios not yet ended [a] */
	int status;			/* first bio error, or 0 [a] */
	struct completion done;		/* completed when left reaches 0 */
	u8 *data;			/* the copy of the bytes [I] */
	u32 nbios;			/* bios below [I] */
	struct bio_vec vecs[CHUNK_MAX_STRIPES];
	struct bio bios[CHUNK_MAX_STRIPES];
};

void writeback_init(struct fs_info *fs)
{
	spin_init(&fs->wb.lock, "wb_lock");
	mutex_init(&fs->wb.reap_lock, "wb_reap_lock");
	list_init(&fs->wb.inflight);
	fs->wb.bytes = 0;
	fs->wb.err = 0;
}

/* One part of w ended with status: keep the first error; the last part
 * completes w. May run in interrupt context. */
static void wb_put(struct wb_write *w, int status)
{
	int zero = 0;

	if (status)
		__atomic_compare_exchange_n(&w->status, &zero, status, 0,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	if (__atomic_sub_fetch(&w->left, 1, __ATOMIC_ACQ_REL) == 0)
		complete(&w->done);
}

static void wb_end_io(struct bio *bio)
{
	wb_put(bio->private, bio->status);
}

/* Wait for w, log and keep its error, free it. Caller holds reap_lock
 * and took w off the list. */
static void reap_one(struct fs_info *fs, struct wb_write *w)
{
	int status;

	wait_for_completion(&w->done);
	status = __atomic_load_n(&w->status, __ATOMIC_ACQUIRE);
	if (status) {
		pr_err("%s: write of %u bytes at logical %llu failed: %d",
		       fs->dev->name, w->len, (unsigned long long)w->logical,
		       status);
		spin_lock(&fs->wb.lock);
		if (!fs->wb.err)
			fs->wb.err = status;
		spin_unlock(&fs->wb.lock);
	}
	kfree(w->data);
	kfree(w);
}

/* Reap the oldest writes until at most keep bytes are in flight. */
static void reap_until(struct fs_info *fs, u64 keep)
{
	struct wb_write *w;

	mutex_lock(&fs->wb.reap_lock);
	for (;;) {
		spin_lock(&fs->wb.lock);
		if (list_empty(&fs->wb.inflight) ||
		    __atomic_load_n(&fs->wb.bytes, __ATOMIC_RELAXED) <= keep) {
			spin_unlock(&fs->wb.lock);
			break;
		}
		w = list_entry(fs->wb.inflight.next, struct wb_write, link);
		list_del_init(&w->link);
		__atomic_sub_fetch(&fs->wb.bytes, w->len, __ATOMIC_RELEASE);
		spin_unlock(&fs->wb.lock);
		reap_one(fs, w);
	}
	mutex_unlock(&fs->wb.reap_lock);
}

/* Fill w's bios, one per copy of its chunk. 0 or -EIO (unmapped). */
static int map_bios(struct fs_info *fs, struct wb_write *w)
{
	struct chunk_mapping m;
	u32 i;

	if (volumes_map_copy(fs, w->logical, w->len, &m)) {
		pr_err("write to logical %llu (+%u): not in any chunk",
		       (unsigned long long)w->logical, w->len);
		return -EIO;
	}
	w->nbios = m.num_stripes;
	for (i = 0; i < m.num_stripes; i++) {
		struct bio *b = &w->bios[i];

		w->vecs[i].base = w->data;
		w->vecs[i].len = w->len;
		b->dev = fs->dev;
		b->op = BLK_OP_WRITE;
		b->off = m.physical[i] + (w->logical - m.logical);
		b->len = w->len;
		b->vecs = &w->vecs[i];
		b->nr_vecs = 1;
		b->end_io = wb_end_io;
		b->private = w;
	}
	return 0;
}

/*
 * Start writing len bytes of buf at a logical address to every copy; the
 * range lies in one chunk. buf may be reused when this returns. Device
 * errors come later, from writeback_wait. Returns 0, -ENOMEM, or the
 * error of a request the device refused outright (logged).
 */
int writeback_submit(struct fs_info *fs, u64 logical, const void *buf,
		     u32 len)
{
	struct wb_write *w = kzalloc(sizeof(*w));
	u32 i;
	int ret;

	if (w)
		w->data = kmalloc(len);
	if (!w || !w->data) {
		kfree(w);
		return -ENOMEM;
	}
	memcpy(w->data, buf, len);
	w->fs = fs;
	w->logical = logical;
	w->len = len;
	completion_init(&w->done);
	ret = map_bios(fs, w);
	if (ret) {
		kfree(w->data);
		kfree(w);
		return ret;
	}
	/* Unlocked read: other writers may pass the bound by a write each. */
	if (__atomic_load_n(&fs->wb.bytes, __ATOMIC_RELAXED) + len >
	    WB_MAX_BYTES)
		reap_until(fs, len < WB_MAX_BYTES ? WB_MAX_BYTES - len : 0);
	w->left = (int)w->nbios + 1;	/* + 1: held until all are out */
	spin_lock(&fs->wb.lock);
	list_add_tail(&w->link, &fs->wb.inflight);
	__atomic_add_fetch(&fs->wb.bytes, len, __ATOMIC_RELEASE);
	spin_unlock(&fs->wb.lock);
	for (i = 0, ret = 0; i < w->nbios; i++) {
		ret = blk_submit(&w->bios[i]);
		if (ret) {
			pr_err("%s: write of %u bytes at %llu refused: %d",
			       fs->dev->name, len,
			       (unsigned long long)w->bios[i].off, ret);
			for (; i < w->nbios; i++)	/* never started */
				wb_put(w, ret);
			break;
		}
	}
	wb_put(w, 0);
	return ret;
}

/*
 * Wait for every write in flight. Returns 0, or the first device error
 * of a write since the last call (then forgotten: the commit that gets it
 * aborts, so nothing written after it is ever referenced).
 */
int writeback_wait(struct fs_info *fs)
{
	int err;

	reap_until(fs, 0);
	spin_lock(&fs->wb.lock);
	err = fs->wb.err;
	fs->wb.err = 0;
	spin_unlock(&fs->wb.lock);
	return err;
}

/* Wait for the writes in flight when one overlaps [logical, +len). */
void writeback_wait_range(struct fs_info *fs, u64 logical, u32 len)
{
	struct wb_write *w;
	int overlap = 0;

	if (!__atomic_load_n(&fs->wb.bytes, __ATOMIC_ACQUIRE))
		return;		/* nothing in flight (the common case) */
	spin_lock(&fs->wb.lock);
	list_for_each_entry(w, &fs->wb.inflight, struct wb_write, link) {
		if (w->logical < logical + len &&
		    logical < w->logical + w->len) {
			overlap = 1;
			break;
		}
	}
	spin_unlock(&fs->wb.lock);
	if (overlap)
		reap_until(fs, 0);	/* its error stays for the commit */
}
