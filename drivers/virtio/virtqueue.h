/*
 * Split virtqueues (virtio 1.x section 2.7), as the device sees them in
 * memory, and the driver's side of the protocol (virtqueue.c). The
 * transport (virtio_pci.c) tells the device where the three parts are;
 * the device driver (virtio_blk.c) builds descriptor chains itself and
 * publishes their heads here.
 */
#ifndef DRIVERS_VIRTIO_VIRTQUEUE_H
#define DRIVERS_VIRTIO_VIRTQUEUE_H

#include <stdint.h>

#define VIRTQ_DESC_F_NEXT	1	/* chain continues at next */
#define VIRTQ_DESC_F_WRITE	2	/* device writes this buffer */
#define VIRTQ_DESC_F_INDIRECT	4	/* buffer is a table of descriptors */

struct virtq_desc {
	uint64_t addr;		/* physical address */
	uint32_t len;		/* bytes */
	uint16_t flags;		/* VIRTQ_DESC_F_* */
	uint16_t next;		/* next descriptor of the chain */
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;		/* where the driver puts the next head */
	uint16_t ring[];	/* size entries, then used_event */
};

struct virtq_used_elem {
	uint32_t id;		/* head of the finished chain */
	uint32_t len;		/* bytes the device wrote */
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;		/* where the device puts the next element */
	struct virtq_used_elem ring[];	/* size entries, then avail_event */
};

/* Driver state of one queue. Callers serialize all calls for a queue
 * (virtio-blk: under its hardware queue's lock). */
struct virtqueue {
	uint16_t size;		/* entries, a power of two [I] */
	int event_idx;		/* VIRTIO_F_EVENT_IDX negotiated [I] */
	struct virtq_desc *desc;	/* [I] size entries */
	struct virtq_avail *avail;	/* [I] */
	struct virtq_used *used;	/* [I] */
	volatile uint16_t *notify;	/* doorbell; the queue index goes there */
	uint16_t index;		/* queue number on the device [I] */
	uint16_t avail_idx;	/* next avail slot (not yet visible) */
	uint16_t kicked_idx;	/* avail->idx at the last notification */
	uint16_t last_used;	/* next used element to read */
	uint16_t watch_used;	/* used idx at the last virtq_kick_if_stalled */
};

/* Allocate the rings of a size-entry queue (zeroed). 0 or -ENOMEM. */
int virtq_alloc(struct virtqueue *vq, uint16_t index, uint16_t size,
		int event_idx);
void virtq_free(struct virtqueue *vq);
/* Offer the chain starting at descriptor head (visible at virtq_kick). */
void virtq_publish(struct virtqueue *vq, uint16_t head);
/* Make the published chains visible and ring the doorbell if the device
 * asked for it (event index) or always (without). */
void virtq_kick(struct virtqueue *vq);
/* Take the next finished chain: 1 and *id, *len filled, or 0 when none
 * (the device is then asked to interrupt at the next one). */
int virtq_next_used(struct virtqueue *vq, uint32_t *id, uint32_t *len);
/* Ring the doorbell again if chains are out and none finished since the
 * last call (a periodic watchdog). */
void virtq_kick_if_stalled(struct virtqueue *vq);

#endif
