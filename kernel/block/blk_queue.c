/*
 * Block layer: bios in, device requests out.
 *
 * Each disk has one blk_queue with one or more hardware queues (a virtio
 * ring each). A hardware queue owns depth preallocated requests (tags);
 * the driver can always take every one of them, so a request handed to
 * the driver never bounces back for lack of room.
 *
 * blk_submit (lib/blk.c) checks a bio and calls the disk's submit
 * (queue_submit here), which appends it to the pending list of the
 * submitting CPU's hardware queue and dispatches: while there is a free
 * request and a pending bio, build a request from the head bio and give
 * it to the driver.
 *   - Splitting: a bio larger than the device's limits (bytes per request,
 *     buffers per request, bytes per buffer, discard sizes) is cut into
 *     several requests, at block boundaries; it ends when the last part
 *     completes (bio->parts counts parts in flight).
 *   - Merging: after the head bio, whole pending bios of the same kind
 *     (read or write) that start where the request ends are appended to it
 *     while it stays within the limits. Pending bios accumulate only while
 *     every request is in flight, which is when merging pays.
 *   - Back-pressure: at most depth bios wait in a pending list; a
 *     submitter that finds it full sleeps on the queue's wait queue until
 *     completions drain it. Nothing is dropped and nobody spins.
 * The driver's interrupt handler calls blk_queue_complete: finished
 * requests are collected, their tags refill the device from the pending
 * list, and bios whose last part finished get end_io, outside the lock.
 *
 * Locking: each hardware queue's lock (irqsave; ranked above the wait
 * queue locks, which are only taken after it is dropped; the driver's ring
 * state is under it too) protects its pending list, free requests,
 * counters, and the dispatch state of the bios on it (cursor, parts).
 * Never held across sleep; end_io runs without it.
 */
#include <errno.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "../sched/sched.h"
#include "../sched/wait.h"
#include "blk_queue.h"

struct blk_hwq {
	struct spinlock lock;		/* see the header comment */
	struct bio *head, *tail;	/* [lock] pending bios, FIFO */
	volatile int nr_pending;	/* [lock] bios on the list */
	struct blk_request *free;	/* [lock] requests not in flight */
	uint64_t requests;		/* [lock] requests dispatched */
	uint64_t merged;		/* [lock] bios merged into another's */
	struct wait_queue space;	/* submitters waiting for room */
	struct blk_request *rqs;	/* [I] depth requests */
	struct bio_vec *segs;		/* [I] their segment arrays, in one */
	struct bio **bios;		/* [I] their bio arrays, in one */
};

struct blk_queue {
	struct blkdev *dev;			/* [I] */
	struct blk_queue_limits lim;		/* [I] */
	const struct blk_queue_driver *drv;	/* [I] */
	void *drv_data;				/* [I] */
	struct blk_hwq *hwq;			/* [I] lim.nr_hwq of them */
};

static int queue_submit(struct blkdev *dev, struct bio *bio);

int blk_queue_create(struct blkdev *dev, const struct blk_queue_limits *lim,
		     const struct blk_queue_driver *drv, void *drv_data,
		     struct blk_queue **out)
{
	size_t nseg = lim->max_segments ? lim->max_segments : 1;
	struct blk_queue *q = kzalloc(sizeof(*q));
	int i, t;

	if (!q)
		return -ENOMEM;
	q->dev = dev;
	q->lim = *lim;
	q->drv = drv;
	q->drv_data = drv_data;
	q->hwq = kzalloc(lim->nr_hwq * sizeof(*q->hwq));
	if (!q->hwq)
		goto out_nomem;
	for (i = 0; i < lim->nr_hwq; i++) {
		struct blk_hwq *hq = &q->hwq[i];

		spin_init(&hq->lock, "blk_hwq");
		waitq_init(&hq->space, "blk_space");
		/* Three allocations, not two per request (512 at boot, on
		 * the boot's critical path). */
		hq->rqs = kzalloc(lim->depth * sizeof(*hq->rqs));
		hq->segs = kmalloc(lim->depth * nseg * sizeof(*hq->segs));
		hq->bios = kmalloc(lim->depth * nseg * sizeof(*hq->bios));
		if (!hq->rqs || !hq->segs || !hq->bios)
			goto out_nomem;
		for (t = 0; t < lim->depth; t++) {
			struct blk_request *rq = &hq->rqs[t];

			rq->tag = t;
			rq->hwq = i;
			rq->segs = &hq->segs[t * nseg];
			rq->bios = &hq->bios[t * nseg];
			rq->next = hq->free;
			hq->free = rq;
		}
	}
	dev->queue = q;
	dev->submit = queue_submit;
	dev->nr_queues = lim->nr_hwq;
	dev->queue_depth = lim->depth;
	dev->max_bytes = lim->max_bytes;
	dev->max_segments = lim->max_segments;
	*out = q;
	return 0;
out_nomem:
	/* Boot-time allocation failed: the machine is unusable anyway, but
	 * free what we can and report it. */
	for (i = 0; q->hwq && i < lim->nr_hwq; i++) {
		kfree(q->hwq[i].rqs);
		kfree(q->hwq[i].segs);
		kfree(q->hwq[i].bios);
	}
	kfree(q->hwq);
	kfree(q);
	return -ENOMEM;
}

/* Move bio's cursor to bio->done bytes from its start. */
static void bio_seek(struct bio *bio)
{
	uint64_t left = bio->done;

	bio->vec_idx = 0;
	while (bio->vec_idx < bio->nr_vecs &&
	       left >= bio->vecs[bio->vec_idx].len)
		left -= bio->vecs[bio->vec_idx++].len;
	bio->vec_off = left;
}

/* Take as much of bio's data as fits into rq (at least one block when rq
 * is empty), cutting at a block boundary when the bio does not fit. */
static void take_data(struct blk_queue *q, struct blk_request *rq,
		      struct bio *bio)
{
	const struct blk_queue_limits *lim = &q->lim;
	uint64_t before = rq->len, excess;

	while (bio->done < bio->len && (uint32_t)rq->nr_segs <
	       lim->max_segments && rq->len < lim->max_bytes) {
		struct bio_vec *v = &bio->vecs[bio->vec_idx];
		uint64_t n = v->len - bio->vec_off;

		if (n > lim->max_seg_bytes)
			n = lim->max_seg_bytes;
		if (n > lim->max_bytes - rq->len)
			n = lim->max_bytes - rq->len;
		rq->segs[rq->nr_segs].base = (char *)v->base + bio->vec_off;
		rq->segs[rq->nr_segs++].len = n;
		rq->len += n;
		bio->done += n;
		bio->vec_off += n;
		if (bio->vec_off == v->len) {
			bio->vec_idx++;
			bio->vec_off = 0;
		}
	}
	excess = rq->len % q->dev->block_size;
	if (bio->done < bio->len && excess) {
		/* Cut back to a block boundary; the rest goes next time. */
		rq->len -= excess;
		bio->done -= excess;
		while (excess) {
			struct bio_vec *s = &rq->segs[rq->nr_segs - 1];
			uint64_t n = excess < s->len ? excess : s->len;

			s->len -= n;
			excess -= n;
			if (!s->len)
				rq->nr_segs--;
		}
		bio_seek(bio);
	}
	if (rq->len > before) {
		rq->bios[rq->nr_bios++] = bio;
		bio->parts++;
	}
}

/* Nonzero when all of bio (not yet started) fits after rq's data. */
static int fits(struct blk_queue *q, struct blk_request *rq, struct bio *b)
{
	int i;

	if (b->op != rq->op || b->done || b->off != rq->off + rq->len ||
	    b->len > q->lim.max_bytes - rq->len ||
	    (uint32_t)(rq->nr_segs + b->nr_vecs) > q->lim.max_segments)
		return 0;
	for (i = 0; i < b->nr_vecs; i++)
		if (b->vecs[i].len > q->lim.max_seg_bytes)
			return 0;
	return 1;
}

/* Unlink bio (whose predecessor is prev, or NULL) from the pending list. */
static void pending_del(struct blk_hwq *hq, struct bio *prev,
			struct bio *bio)
{
	if (prev)
		prev->next = bio->next;
	else
		hq->head = bio->next;
	if (hq->tail == bio)
		hq->tail = prev;
	bio->next = NULL;
	hq->nr_pending--;
}

/* Fill rq from the head of hq's pending list, merging adjacent bios.
 * Caller holds hq->lock. */
static void build_request(struct blk_queue *q, struct blk_hwq *hq,
			  struct blk_request *rq)
{
	struct bio *bio = hq->head, *prev, *b;
	uint64_t max, left = bio->len - bio->done;

	rq->op = bio->op;
	rq->off = bio->off + bio->done;
	rq->len = 0;
	rq->nr_segs = 0;
	rq->nr_bios = 0;
	rq->status = 0;
	if (bio->op != BLK_OP_READ && bio->op != BLK_OP_WRITE) {
		max = bio->op == BLK_OP_DISCARD ? q->lim.max_discard_bytes :
		      bio->op == BLK_OP_WRITE_ZEROES ? q->lim.max_zeroes_bytes :
		      left;
		rq->len = left < max ? left : max;
		bio->done += rq->len;
		rq->bios[rq->nr_bios++] = bio;
		bio->parts++;
		if (bio->done == bio->len)
			pending_del(hq, NULL, bio);
		return;
	}
	take_data(q, rq, bio);
	if (bio->done < bio->len)
		return;
	pending_del(hq, NULL, bio);
	for (;;) {
		prev = NULL;
		for (b = hq->head; b && !fits(q, rq, b); b = b->next)
			prev = b;
		if (!b)
			return;
		take_data(q, rq, b);
		pending_del(hq, prev, b);
		hq->merged++;
	}
}

/* Account a finished request: its bios whose last part this was go on
 * *ended; the request becomes free. Caller holds hq->lock. */
static void retire(struct blk_hwq *hq, struct blk_request *rq,
		   struct bio **ended)
{
	int i;

	for (i = 0; i < rq->nr_bios; i++) {
		struct bio *bio = rq->bios[i];

		if (rq->status && !bio->status)
			bio->status = rq->status;
		if (--bio->parts == 0 && bio->done == bio->len) {
			bio->next = *ended;
			*ended = bio;
		}
	}
	rq->next = hq->free;
	hq->free = rq;
}

/* Dispatch pending bios while requests are free; requests the driver
 * refused are retired onto *ended. Caller holds hq->lock. */
static void run_queue(struct blk_queue *q, int i, struct bio **ended)
{
	struct blk_hwq *hq = &q->hwq[i];
	struct blk_request *rq;
	int queued = 0, ret;

	while (hq->head && hq->free) {
		rq = hq->free;
		hq->free = rq->next;
		build_request(q, hq, rq);
		hq->requests++;
		ret = q->drv->queue_rq(q->drv_data, i, rq);
		if (ret) {
			rq->status = ret;
			retire(hq, rq, ended);
		} else {
			queued++;
		}
	}
	if (queued)
		q->drv->commit(q->drv_data, i);
}

/* End the bios on the list (built newest first: end them oldest first). */
static void end_bios(struct bio *ended)
{
	struct bio *rev = NULL, *next;

	for (; ended; ended = next) {
		next = ended->next;
		ended->next = rev;
		rev = ended;
	}
	for (; rev; rev = next) {
		next = rev->next;
		rev->next = NULL;
		rev->end_io(rev);
	}
}

static int queue_submit(struct blkdev *dev, struct bio *bio)
{
	struct blk_queue *q = dev->queue;
	int i = this_cpu()->id % q->lim.nr_hwq;
	struct blk_hwq *hq = &q->hwq[i];
	struct bio *ended = NULL;
	unsigned long flags;

	bio->next = NULL;
	bio->vec_idx = 0;
	bio->vec_off = 0;
	bio->done = 0;
	bio->parts = 0;
	bio->status = 0;
	if (bio->len == 0 && bio->op != BLK_OP_FLUSH) {
		bio->end_io(bio);
		return 0;
	}
	for (;;) {
		flags = spin_lock_irqsave(&hq->lock);
		if (hq->nr_pending < q->lim.depth)
			break;
		spin_unlock_irqrestore(&hq->lock, flags);
		wait_event(&hq->space, hq->nr_pending < q->lim.depth);
	}
	if (hq->tail)
		hq->tail->next = bio;
	else
		hq->head = bio;
	hq->tail = bio;
	hq->nr_pending++;
	run_queue(q, i, &ended);
	spin_unlock_irqrestore(&hq->lock, flags);
	end_bios(ended);
	return 0;
}

/* blk_queue_complete, and with watchdog set also the driver's watch. */
static void complete_queue(struct blk_queue *q, int i, int watchdog)
{
	struct blk_hwq *hq = &q->hwq[i];
	struct blk_request *rq;
	struct bio *ended = NULL;
	unsigned long flags;
	int was_full;

	flags = spin_lock_irqsave(&hq->lock);
	was_full = hq->nr_pending >= q->lim.depth;
	while ((rq = q->drv->next_done(q->drv_data, i)) != NULL)
		retire(hq, rq, &ended);
	run_queue(q, i, &ended);
	if (watchdog && q->drv->watch)
		q->drv->watch(q->drv_data, i);
	was_full = was_full && hq->nr_pending < q->lim.depth;
	spin_unlock_irqrestore(&hq->lock, flags);
	end_bios(ended);
	if (was_full)
		waitq_wake_all(&hq->space);
}

void blk_queue_complete(struct blk_queue *q, int i)
{
	complete_queue(q, i, 0);
}

void blk_queue_watchdog(struct blk_queue *q, int i)
{
	complete_queue(q, i, 1);
}

void blk_queue_stats(struct blk_queue *q, uint64_t *requests,
		     uint64_t *merged)
{
	unsigned long flags;
	int i;

	*requests = *merged = 0;
	for (i = 0; i < q->lim.nr_hwq; i++) {
		flags = spin_lock_irqsave(&q->hwq[i].lock);
		*requests += q->hwq[i].requests;
		*merged += q->hwq[i].merged;
		spin_unlock_irqrestore(&q->hwq[i].lock, flags);
	}
}
