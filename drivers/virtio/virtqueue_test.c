/*
 * Self tests of the split virtqueue against a fake device: the test plays
 * the device's side in memory (reads the available ring, writes the used
 * ring and avail_event) and counts doorbell writes to a fake register.
 * `test virtqueue` runs them.
 */
#include "../../kernel/tests/ktest.h"
#include "virtqueue.h"

#define QSIZE 8

static volatile uint16_t doorbell_reg = 0xffff;

static void fake_used(struct virtqueue *vq, uint32_t id, uint32_t len)
{
	struct virtq_used_elem *e = &vq->used->ring[vq->used->idx % vq->size];

	e->id = id;
	e->len = len;
	vq->used->idx++;
}

KTEST(virtqueue, publish_kick_without_event_idx)
{
	struct virtqueue vq;

	KEXPECT_EQ(virtq_alloc(&vq, 3, QSIZE, 0), 0);
	vq.notify = &doorbell_reg;
	doorbell_reg = 0xffff;
	virtq_kick(&vq);			/* nothing published */
	KEXPECT_EQ(doorbell_reg, 0xffff);
	virtq_publish(&vq, 5);
	virtq_publish(&vq, 6);
	KEXPECT_EQ(vq.avail->idx, 0);		/* not visible before the kick */
	virtq_kick(&vq);
	KEXPECT_EQ(vq.avail->idx, 2);
	KEXPECT_EQ(vq.avail->ring[0], 5);
	KEXPECT_EQ(vq.avail->ring[1], 6);
	KEXPECT_EQ(doorbell_reg, 3);		/* the queue index */
	doorbell_reg = 0xffff;
	vq.used->flags = 1;			/* device: no notifications */
	virtq_publish(&vq, 7);
	virtq_kick(&vq);
	KEXPECT_EQ(doorbell_reg, 0xffff);
	virtq_free(&vq);
}

KTEST(virtqueue, event_idx_suppresses_doorbells)
{
	struct virtqueue vq;
	volatile uint16_t *avail_event;
	int i;

	KEXPECT_EQ(virtq_alloc(&vq, 1, QSIZE, 1), 0);
	vq.notify = &doorbell_reg;
	avail_event = (volatile uint16_t *)&vq.used->ring[QSIZE];
	*avail_event = 2;	/* device wants a kick once head 2 is offered */
	doorbell_reg = 0xffff;
	virtq_publish(&vq, 0);
	virtq_publish(&vq, 1);
	virtq_kick(&vq);			/* idx 0..1 published: not yet */
	KEXPECT_EQ(doorbell_reg, 0xffff);
	virtq_publish(&vq, 2);
	virtq_kick(&vq);			/* idx 2 crossed: kick */
	KEXPECT_EQ(doorbell_reg, 1);
	/* Wrap the 16-bit index: the comparison must survive it. */
	vq.avail_idx = vq.kicked_idx = 0xfffe;
	*avail_event = 0xffff;
	doorbell_reg = 0xffff;
	for (i = 0; i < 3; i++)
		virtq_publish(&vq, i);
	virtq_kick(&vq);
	KEXPECT_EQ(doorbell_reg, 1);
	virtq_free(&vq);
}

KTEST(virtqueue, used_ring_and_interrupt_request)
{
	struct virtqueue vq;
	volatile uint16_t *used_event;
	uint32_t id, len;

	KEXPECT_EQ(virtq_alloc(&vq, 0, QSIZE, 1), 0);
	used_event = (volatile uint16_t *)&vq.avail->ring[QSIZE];
	KEXPECT_EQ(virtq_next_used(&vq, &id, &len), 0);
	KEXPECT_EQ(*used_event, 0);
	fake_used(&vq, 4, 512);
	fake_used(&vq, 2, 1);
	KEXPECT_EQ(virtq_next_used(&vq, &id, &len), 1);
	KEXPECT_EQ(id, 4);
	KEXPECT_EQ(len, 512);
	KEXPECT_EQ(virtq_next_used(&vq, &id, &len), 1);
	KEXPECT_EQ(id, 2);
	/* Empty again: the driver asks for an interrupt at element 2. */
	KEXPECT_EQ(virtq_next_used(&vq, &id, &len), 0);
	KEXPECT_EQ(*used_event, 2);
	virtq_free(&vq);
}
