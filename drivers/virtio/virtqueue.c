/*
 * The driver's side of a split virtqueue: the descriptor table (filled by
 * the device driver), the available ring (heads the driver offers) and
 * the used ring (heads the device finished).
 *
 * Notifications use the event index when negotiated: the driver rings the
 * doorbell only when the device's avail_event lies in the range of heads
 * just published, and asks for an interrupt at the next used element by
 * writing used_event = last_used when it found the ring empty, checking
 * once more after that store so a completion racing with it is not lost.
 *
 * Memory ordering: x86 keeps stores in order and loads in order, so the
 * compiler barrier suffices between filling descriptors and publishing an
 * index, and between reading an index and the entries; a store followed
 * by a load of another location (publish, then read the device's event
 * index) needs a full fence.
 *
 * Memory: the descriptor table at the start of a page, the available ring
 * and the used ring (4-byte aligned) in the following pages; one
 * allocation of contiguous pages, identity-mapped.
 */
#include <errno.h>
#include <string.h>

#include "../../kernel/mm/page_alloc.h"
#include "virtqueue.h"

#define barrier()	__asm__ volatile("" : : : "memory")
#define mb()		__asm__ volatile("mfence" : : : "memory")

static size_t avail_bytes(uint16_t size)
{
	return 6 + 2 * (size_t)size;
}

static size_t used_bytes(uint16_t size)
{
	return 6 + 8 * (size_t)size;
}

/* Pages of the whole queue: table, then avail, then used (4-aligned). */
static size_t queue_pages(uint16_t size)
{
	size_t used_off = (16 * (size_t)size + avail_bytes(size) + 3) & ~3ul;

	return (used_off + used_bytes(size) + PAGE_SIZE - 1) / PAGE_SIZE;
}

int virtq_alloc(struct virtqueue *vq, uint16_t index, uint16_t size,
		int event_idx)
{
	size_t pages = queue_pages(size), used_off;
	uint8_t *mem = page_alloc(pages);

	if (!mem)
		return -ENOMEM;
	memset(mem, 0, pages * PAGE_SIZE);
	used_off = (16 * (size_t)size + avail_bytes(size) + 3) & ~3ul;
	memset(vq, 0, sizeof(*vq));
	vq->size = size;
	vq->index = index;
	vq->event_idx = event_idx;
	vq->desc = (struct virtq_desc *)mem;
	vq->avail = (struct virtq_avail *)(mem + 16 * (size_t)size);
	vq->used = (struct virtq_used *)(mem + used_off);
	return 0;
}

void virtq_free(struct virtqueue *vq)
{
	if (vq->desc)
		page_free(vq->desc, queue_pages(vq->size));
	vq->desc = NULL;
}

void virtq_publish(struct virtqueue *vq, uint16_t head)
{
	vq->avail->ring[vq->avail_idx++ & (vq->size - 1)] = head;
}

void virtq_kick(struct virtqueue *vq)
{
	volatile uint16_t *avail_event =
		(volatile uint16_t *)&vq->used->ring[vq->size];
	uint16_t old = vq->kicked_idx, new = vq->avail_idx, event;

	if (old == new)
		return;
	barrier();
	*(volatile uint16_t *)&vq->avail->idx = new;
	vq->kicked_idx = new;
	if (vq->event_idx) {
		mb();
		event = *avail_event;
		/* Did the device's wanted index pass by in (old, new]? */
		if ((uint16_t)(new - event - 1) >= (uint16_t)(new - old))
			return;
	} else {
		mb();
		if (*(volatile uint16_t *)&vq->used->flags & 1)
			return;		/* VIRTQ_USED_F_NO_NOTIFY */
	}
	*vq->notify = vq->index;
}

int virtq_next_used(struct virtqueue *vq, uint32_t *id, uint32_t *len)
{
	volatile uint16_t *used_idx = &vq->used->idx;
	volatile uint16_t *used_event =
		(volatile uint16_t *)&vq->avail->ring[vq->size];
	struct virtq_used_elem *e;

	if (*used_idx == vq->last_used) {
		if (!vq->event_idx)
			return 0;
		*used_event = vq->last_used;
		mb();
		if (*used_idx == vq->last_used)
			return 0;
	}
	barrier();
	e = &vq->used->ring[vq->last_used++ & (vq->size - 1)];
	*id = e->id;
	*len = e->len;
	return 1;
}

/*
 * Ring the doorbell when requests are out and the device has finished
 * none since the last call: the recovery for a doorbell that the event
 * index suppressed wrongly (virtio_blk.c, "Watchdog"). A needless
 * doorbell is harmless: the device finds nothing new.
 */
void virtq_kick_if_stalled(struct virtqueue *vq)
{
	uint16_t used = *(volatile uint16_t *)&vq->used->idx;

	if (vq->kicked_idx != used && used == vq->watch_used)
		*vq->notify = vq->index;
	vq->watch_used = used;
}
