/*
 * The kernel block layer's request queues (blk_queue.c), between the bios
 * of include/ghee/blk.h and a driver's hardware queues. A driver creates
 * one blk_queue per disk (which sets the disk's submit call) and calls
 * blk_queue_complete from its interrupt handler.
 */
#ifndef KERNEL_BLOCK_BLK_QUEUE_H
#define KERNEL_BLOCK_BLK_QUEUE_H

#include <stdint.h>

#include <ghee/blk.h>
#include <ghee/sync.h>

struct blk_queue;

/*
 * A request as the driver sees it: one device command over nr_segs
 * buffers (read/write), or a range (discard, write-zeroes), or nothing
 * (flush). Made from one bio, part of a bio, or several adjacent bios.
 */
struct blk_request {
	int tag;		/* [I] 0 .. depth-1 within its hardware queue */
	int hwq;		/* [I] hardware queue index */
	enum blk_op op;
	uint64_t off;		/* bytes */
	uint64_t len;		/* bytes */
	int nr_segs;
	struct bio_vec *segs;	/* [I] array of max_segments */
	int status;		/* set by the driver before completion */
	int nr_bios;
	struct bio **bios;	/* [I] array of max_segments: bios served */
	struct blk_request *next;	/* on a free or done list */
};

struct blk_queue_driver {
	/* Put rq on hardware queue hwq's ring. 0, or -errno (rq then fails
	 * with that error). Never out of room: the queue never has more
	 * than depth requests out. Called with interrupts off, under the
	 * hardware queue's lock. */
	int (*queue_rq)(void *drv, int hwq, struct blk_request *rq);
	/* Tell the device about the requests just queued. Same context. */
	void (*commit)(void *drv, int hwq);
	/* The next request the device finished (status set), or NULL.
	 * Same context. */
	struct blk_request *(*next_done)(void *drv, int hwq);
	/* Optional, for blk_queue_watchdog: recover from a lost doorbell
	 * (ring it again when requests are out and none finished since the
	 * last call). Same context. */
	void (*watch)(void *drv, int hwq);
};

struct blk_queue_limits {
	int nr_hwq;		/* hardware queues */
	int depth;		/* requests in flight per hardware queue */
	uint32_t max_segments;	/* buffers per request */
	uint32_t max_seg_bytes;	/* bytes per buffer */
	uint32_t max_bytes;	/* bytes per read/write request */
	uint64_t max_discard_bytes;	/* bytes per discard request */
	uint64_t max_zeroes_bytes;	/* bytes per write-zeroes request */
};

/* Set up the queue of dev for a driver; fills dev's queue fields and
 * submit. 0 or -ENOMEM. */
int blk_queue_create(struct blkdev *dev, const struct blk_queue_limits *lim,
		     const struct blk_queue_driver *drv, void *drv_data,
		     struct blk_queue **out);
/* Collect the finished requests of hardware queue hwq, start waiting
 * ones, and end the bios that are done. From the driver's interrupt
 * handler (or a poller); any context. */
void blk_queue_complete(struct blk_queue *q, int hwq);
/* blk_queue_complete, then the driver's watch: from a driver's periodic
 * timer, to recover from a lost interrupt or doorbell. Any context. */
void blk_queue_watchdog(struct blk_queue *q, int hwq);
/* Requests and bios merged since boot (for `blk`). */
void blk_queue_stats(struct blk_queue *q, uint64_t *requests,
		     uint64_t *merged);

#endif
