/*
 * virtio-blk: each virtio block function on the PCI bus becomes a disk
 * (vda, vdb, ... in PCI order) served by the kernel block layer.
 *
 * Queues: one virtqueue per hardware queue, as many as the device offers
 * (VIRTIO_BLK_F_MQ) up to VBLK_MAX_QUEUES and its MSI-X table size, each
 * with its own MSI-X vector; the block layer picks the queue by CPU.
 *
 * Requests: the block layer hands out tags 0..depth-1 per queue, and tag t
 * owns a fixed place: slot t (the request header, the discard/write-zeroes
 * range and the status byte the device writes) and its descriptors. With
 * indirect descriptors (VIRTIO_F_INDIRECT_DESC) ring descriptor t points
 * at tag t's own table of max_segments + 2 entries, so depth is the ring
 * size; without, tag t owns ring descriptors t*per .. t*per+per-1 and
 * depth is size / per. Nothing is allocated per request.
 *
 * A request is: header (device-readable), data buffers (device-writable
 * for reads) or one range (discard, write-zeroes), status byte
 * (device-writable). Sectors are always 512 bytes on the wire, whatever
 * the logical block size. Status UNSUPP becomes -EOPNOTSUPP, any other
 * non-zero status -EIO.
 *
 * Completions: the queue's MSI-X interrupt (or, when the device has no
 * usable MSI-X, a polling task) calls blk_queue_complete, which takes
 * finished requests back through vblk_next_done under the queue's lock.
 *
 * Watchdog: the event-index protocol (virtqueue.c) needs a full memory
 * barrier on both sides. Under QEMU's TCG with a single vCPU a guest's
 * mfence is not one (QEMU emits host barriers only when vCPUs run in
 * parallel), so once in tens of thousands of requests a doorbell or an
 * interrupt is suppressed that should not be, and the queue would stall
 * for good. Every WATCHDOG_NS a timer reaps completions that came without
 * an interrupt and rings the doorbell of a queue that has requests out
 * but made no progress since the last tick; on a real barrier both are
 * no-ops. The cost: a few ring-index reads per queue 100 times a second.
 *
 * Errors: a used-ring element that names no request in flight means the
 * device (or ring state) is broken: the device is reset, so it stops
 * touching memory, and every request in flight and every later one fails
 * with -EIO.
 *
 * Locking: a queue's ring and slots are under the block layer's hardware
 * queue lock (every callback here runs under it). vb->broken is set once
 * and read without a lock.
 */
#include <errno.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/log.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "../../kernel/arch/x86_64/msi.h"
#include "../../kernel/block/blk_queue.h"
#include "../../kernel/sched/timer.h"
#include "../pci/pci.h"
#include "virtio_blk.h"
#include "virtio_pci.h"

#define VIRTIO_BLK_DEVICE	0x1042	/* modern; 0x1001 is transitional */
#define VIRTIO_BLK_LEGACY	0x1001

#define F_SIZE_MAX	1
#define F_SEG_MAX	2
#define F_RO		5
#define F_BLK_SIZE	6
#define F_FLUSH		9
#define F_TOPOLOGY	10
#define F_MQ		12
#define F_DISCARD	13
#define F_WRITE_ZEROES	14

/* Device configuration offsets. */
#define CFG_CAPACITY	0
#define CFG_SIZE_MAX	8
#define CFG_SEG_MAX	12
#define CFG_BLK_SIZE	20
#define CFG_PHYS_EXP	24
#define CFG_NUM_QUEUES	34
#define CFG_MAX_DISCARD	36
#define CFG_MAX_ZEROES	48
#define CFG_ZEROES_UNMAP 56

#define T_IN		0
#define T_OUT		1
#define T_FLUSH		4
#define T_GET_ID	8
#define T_DISCARD	11
#define T_WRITE_ZEROES	13

#define S_OK		0
#define S_UNSUPP	2

#define VBLK_MAX_QUEUES	8
#define VBLK_MAX_SEGS	64	/* buffers per request, indirect */
#define VBLK_DIRECT_SEGS 14	/* buffers per request, no indirect */
#define VBLK_RING	256	/* queue size used at most */
#define VBLK_MAX_BYTES	(4u << 20)
#define ID_BYTES	20

struct vblk_slot {
	struct {
		uint32_t type;
		uint32_t reserved;
		uint64_t sector;
	} hdr;				/* device-readable */
	struct {
		uint64_t sector;
		uint32_t num_sectors;
		uint32_t flags;		/* bit 0: unmap (write-zeroes) */
	} range;			/* device-readable */
	uint8_t status;			/* device-writable */
	struct blk_request *rq;		/* in flight on this tag, or NULL */
};

struct vblk;

struct vblk_queue {
	struct virtqueue vq;		/* [hwq lock] */
	struct vblk_slot *slots;	/* [hwq lock] depth of them */
	struct virtq_desc *tables;	/* [I] indirect tables, or NULL */
	struct vblk *vb;		/* [I] */
	int idx;			/* [I] */
};

struct vblk {
	struct blkdev dev;
	struct virtio_pci vp;		/* [I] */
	struct blk_queue *q;		/* [I] */
	int nq;				/* [I] virtqueues */
	int depth;			/* [I] tags per queue */
	int per;			/* [I] descriptors per request */
	int indirect;			/* [I] */
	int polled;			/* [I] no MSI-X: the poll task serves it */
	int zeroes_unmap;		/* [I] device may unmap on write-zeroes */
	volatile int live;		/* block layer takes completions */
	volatile int broken;		/* set once on a device error */
	struct timer watchdog;		/* see "Watchdog" above */
	struct vblk_queue hq[VBLK_MAX_QUEUES];
};

#define WATCHDOG_NS	(10 * 1000000ull)

static struct vblk *polled[26];	/* [I] disks without interrupts */
static int nr_polled;		/* [I] */

static void desc_set(struct virtq_desc *d, const void *p, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	d->addr = (uintptr_t)p;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/* Fill tag's descriptors for a request of type over segs; returns the
 * head to publish. Caller holds the queue's lock. */
static uint16_t build_chain(struct vblk *vb, struct vblk_queue *h, int tag,
			    const struct bio_vec *segs, int nsegs, int to_dev)
{
	struct vblk_slot *s = &h->slots[tag];
	struct virtq_desc *t;
	uint16_t base, n = 0;
	int i;

	if (vb->indirect) {
		t = &h->tables[tag * vb->per];
		base = 0;
	} else {
		base = tag * vb->per;
		t = &h->vq.desc[base];
	}
	desc_set(&t[n], &s->hdr, sizeof(s->hdr), VIRTQ_DESC_F_NEXT,
		 base + n + 1);
	n++;
	for (i = 0; i < nsegs; i++, n++)
		desc_set(&t[n], segs[i].base, segs[i].len,
			 VIRTQ_DESC_F_NEXT | (to_dev ? 0 : VIRTQ_DESC_F_WRITE),
			 base + n + 1);
	desc_set(&t[n], &s->status, 1, VIRTQ_DESC_F_WRITE, 0);
	n++;
	s->status = 0xff;
	if (!vb->indirect)
		return base;
	desc_set(&h->vq.desc[tag], t, n * sizeof(*t), VIRTQ_DESC_F_INDIRECT,
		 0);
	return tag;
}

static int vblk_queue_rq(void *drv, int i, struct blk_request *rq)
{
	struct vblk *vb = drv;
	struct vblk_queue *h = &vb->hq[i];
	struct vblk_slot *s = &h->slots[rq->tag];
	struct bio_vec range = { &s->range, sizeof(s->range) };
	static const uint32_t types[] = {
		[BLK_OP_READ] = T_IN, [BLK_OP_WRITE] = T_OUT,
		[BLK_OP_FLUSH] = T_FLUSH, [BLK_OP_DISCARD] = T_DISCARD,
		[BLK_OP_WRITE_ZEROES] = T_WRITE_ZEROES,
	};
	uint16_t head;

	if (vb->broken)
		return -EIO;
	s->hdr.type = types[rq->op];
	s->hdr.reserved = 0;
	s->hdr.sector = rq->op == BLK_OP_FLUSH ? 0 : rq->off / 512;
	s->rq = rq;
	switch (rq->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		head = build_chain(vb, h, rq->tag, rq->segs, rq->nr_segs,
				   rq->op == BLK_OP_WRITE);
		break;
	case BLK_OP_DISCARD:
	case BLK_OP_WRITE_ZEROES:
		s->range.sector = rq->off / 512;
		s->range.num_sectors = rq->len / 512;
		s->range.flags = rq->op == BLK_OP_WRITE_ZEROES &&
				 vb->zeroes_unmap;
		head = build_chain(vb, h, rq->tag, &range, 1, 1);
		break;
	default:
		head = build_chain(vb, h, rq->tag, NULL, 0, 1);
	}
	virtq_publish(&h->vq, head);
	return 0;
}

static void vblk_commit(void *drv, int i)
{
	struct vblk *vb = drv;

	virtq_kick(&vb->hq[i].vq);
}

/* The device broke its side of the ring: stop it, fail what is in flight
 * (vblk_next_done hands those back) and everything after. */
static void device_error(struct vblk *vb, const char *why, uint32_t what)
{
	if (vb->broken)
		return;
	pr_err("%s: device error: %s (%u); resetting it, I/O now fails",
	       vb->dev.name, why, what);
	vb->broken = 1;
	virtio_pci_reset(&vb->vp);
}

static struct blk_request *vblk_next_done(void *drv, int i)
{
	struct vblk *vb = drv;
	struct vblk_queue *h = &vb->hq[i];
	struct blk_request *rq;
	uint32_t id, len;
	int tag;

	while (!vb->broken && virtq_next_used(&h->vq, &id, &len)) {
		tag = vb->indirect ? (int)id : (int)(id / vb->per);
		if (id >= h->vq.size || (!vb->indirect && id % vb->per) ||
		    tag >= vb->depth || !h->slots[tag].rq) {
			device_error(vb, "used ring names a free descriptor",
				     id);
			break;
		}
		rq = h->slots[tag].rq;
		h->slots[tag].rq = NULL;
		rq->status = h->slots[tag].status == S_OK ? 0 :
			     h->slots[tag].status == S_UNSUPP ? -EOPNOTSUPP :
			     -EIO;
		return rq;
	}
	if (!vb->broken)
		return NULL;
	for (tag = 0; tag < vb->depth; tag++) {
		rq = h->slots[tag].rq;
		if (rq) {
			h->slots[tag].rq = NULL;
			rq->status = -EIO;
			return rq;
		}
	}
	return NULL;
}

static void vblk_watch(void *drv, int i)
{
	struct vblk *vb = drv;

	virtq_kick_if_stalled(&vb->hq[i].vq);
}

static const struct blk_queue_driver vblk_driver = {
	.queue_rq = vblk_queue_rq,
	.commit = vblk_commit,
	.next_done = vblk_next_done,
	.watch = vblk_watch,
};

static void vblk_irq(void *arg)
{
	struct vblk_queue *h = arg;
	struct vblk *vb = h->vb;
	int i;

	if (!vb->live)
		return;
	blk_queue_complete(vb->q, h->idx);
	if (vb->broken)		/* the other queues' requests fail too */
		for (i = 0; i < vb->nq; i++)
			if (i != h->idx)
				blk_queue_complete(vb->q, i);
}

/* Recover from a suppressed interrupt or doorbell (see the top). Runs in
 * the timer interrupt; re-arms itself. */
static void vblk_watchdog(struct timer *t)
{
	struct vblk *vb = container_of(t, struct vblk, watchdog);
	int i;

	for (i = 0; i < vb->nq && !vb->broken; i++)
		blk_queue_watchdog(vb->q, i);
	timer_add(t, time_ns() + WATCHDOG_NS);
}

/* Serve the disks that have no interrupts. */
static int poll_task(void *arg)
{
	int d, i;

	(void)arg;
	for (;;) {
		for (d = 0; d < nr_polled; d++)
			for (i = 0; i < polled[d]->nq; i++)
				blk_queue_complete(polled[d]->q, i);
		task_yield();
	}
	return 0;
}

/* Read the device serial with a polled GET_ID on queue 0, before the
 * block layer owns the queue. */
static void read_id(struct vblk *vb)
{
	struct vblk_queue *h = &vb->hq[0];
	char id[ID_BYTES + 4];
	struct bio_vec seg = { id, ID_BYTES };
	uint64_t deadline = time_ns() + 1000000000ull;
	uint32_t used, len;

	memset(id, 0, sizeof(id));
	h->slots[0].hdr.type = T_GET_ID;
	h->slots[0].hdr.sector = 0;
	virtq_publish(&h->vq, build_chain(vb, h, 0, &seg, 1, 0));
	virtq_kick(&h->vq);
	while (!virtq_next_used(&h->vq, &used, &len)) {
		if (time_ns() > deadline) {
			pr_warn("%s: no answer to GET_ID", vb->dev.name);
			return;
		}
		__asm__ volatile("pause");
	}
	if (h->slots[0].status == S_OK)
		memcpy(vb->dev.id, id, sizeof(vb->dev.id) - 1);
}

/* Allocate queue i's ring, slots and tables and give them to the device
 * with MSI-X entry i (or none). */
static int queue_setup(struct vblk *vb, int i, uint16_t size, int msix)
{
	struct vblk_queue *h = &vb->hq[i];
	int ret;

	h->vb = vb;
	h->idx = i;
	ret = virtq_alloc(&h->vq, i, size,
			  !!(vb->vp.features & (1ull << VIRTIO_F_EVENT_IDX)));
	if (ret)
		return ret;
	h->slots = kzalloc(vb->depth * sizeof(*h->slots));
	if (!h->slots)
		return -ENOMEM;
	if (vb->indirect) {
		/* Not zeroed (a quarter MiB): build_chain writes every entry
		 * of a table the device is given. */
		h->tables = kmalloc((size_t)vb->depth * vb->per *
				    sizeof(*h->tables));
		if (!h->tables)
			return -ENOMEM;
	}
	return virtio_pci_queue_enable(&vb->vp, &h->vq,
				       msix ? i : VIRTIO_NO_VECTOR);
}

/* Take an MSI vector per queue and program the MSI-X table; 0 when the
 * interrupts are on, else the disk is polled. */
static int irq_setup(struct vblk *vb)
{
	uint8_t vec[VBLK_MAX_QUEUES];
	int i, v, ret;

	for (i = 0; i < vb->nq; i++) {
		v = msi_vector_alloc(vblk_irq, &vb->hq[i]);
		if (v < 0) {
			while (i--)
				msi_vector_free(vec[i]);
			return v;
		}
		vec[i] = v;
	}
	ret = pci_msix_enable(vb->vp.pci, vb->nq, vec);
	if (ret)
		for (i = 0; i < vb->nq; i++)
			msi_vector_free(vec[i]);
	return ret;
}

/* Negotiate and read the configuration into vb->dev and lim. */
static int negotiate(struct vblk *vb, struct blk_queue_limits *lim)
{
	struct virtio_pci *vp = &vb->vp;
	uint64_t offered = virtio_pci_features(vp), want;
	uint32_t v;

	want = offered & ((1ull << F_SIZE_MAX) | (1ull << F_SEG_MAX) |
			  (1ull << F_RO) | (1ull << F_BLK_SIZE) |
			  (1ull << F_FLUSH) | (1ull << F_TOPOLOGY) |
			  (1ull << F_MQ) | (1ull << F_DISCARD) |
			  (1ull << F_WRITE_ZEROES) |
			  (1ull << VIRTIO_F_INDIRECT_DESC) |
			  (1ull << VIRTIO_F_EVENT_IDX));
	if (!(offered & (1ull << VIRTIO_F_VERSION_1)) ||
	    virtio_pci_set_features(vp, want))
		return -ENODEV;
	vb->indirect = !!(want & (1ull << VIRTIO_F_INDIRECT_DESC));
	vb->dev.size = virtio_cfg64(vp, CFG_CAPACITY) * 512;
	vb->dev.block_size = 512;
	if (want & (1ull << F_BLK_SIZE)) {
		v = virtio_cfg32(vp, CFG_BLK_SIZE);
		if (v < 512 || v > 65536 || (v & (v - 1)))
			return -ENODEV;
		vb->dev.block_size = v;
	}
	vb->dev.size -= vb->dev.size % vb->dev.block_size;
	vb->dev.read_only = !!(want & (1ull << F_RO));
	if (want & (1ull << F_FLUSH))
		vb->dev.features |= BLK_FEAT_FLUSH;
	memset(lim, 0, sizeof(*lim));
	lim->max_segments = vb->indirect ? VBLK_MAX_SEGS : VBLK_DIRECT_SEGS;
	if (want & (1ull << F_SEG_MAX)) {
		v = virtio_cfg32(vp, CFG_SEG_MAX);
		if (v && v < lim->max_segments)
			lim->max_segments = v;
	}
	lim->max_seg_bytes = VBLK_MAX_BYTES;
	if (want & (1ull << F_SIZE_MAX)) {
		v = virtio_cfg32(vp, CFG_SIZE_MAX);
		if (v >= 512 && v < lim->max_seg_bytes)
			lim->max_seg_bytes = v;
	}
	lim->max_bytes = VBLK_MAX_BYTES;
	if (want & (1ull << F_DISCARD)) {
		v = virtio_cfg32(vp, CFG_MAX_DISCARD);
		lim->max_discard_bytes = (uint64_t)(v ? v : UINT32_MAX) * 512;
		lim->max_discard_bytes -= lim->max_discard_bytes %
					  vb->dev.block_size;
		vb->dev.features |= BLK_FEAT_DISCARD;
	}
	if (want & (1ull << F_WRITE_ZEROES)) {
		v = virtio_cfg32(vp, CFG_MAX_ZEROES);
		lim->max_zeroes_bytes = (uint64_t)(v ? v : UINT32_MAX) * 512;
		lim->max_zeroes_bytes -= lim->max_zeroes_bytes %
					 vb->dev.block_size;
		vb->zeroes_unmap = virtio_cfg8(vp, CFG_ZEROES_UNMAP);
		vb->dev.features |= BLK_FEAT_WRITE_ZEROES;
	}
	vb->nq = 1;
	if (want & (1ull << F_MQ)) {
		v = virtio_cfg16(vp, CFG_NUM_QUEUES);
		vb->nq = v < 1 ? 1 : v > VBLK_MAX_QUEUES ? VBLK_MAX_QUEUES : v;
	}
	return 0;
}

/* Bring up one virtio-blk function and register it as the next disk. */
static int vblk_probe(struct pci_dev *pci)
{
	struct blk_queue_limits lim;
	struct vblk *vb = kzalloc(sizeof(*vb));
	uint16_t size;
	int i, ret;

	if (!vb)
		return -ENOMEM;
	ret = virtio_pci_init(&vb->vp, pci);
	if (!ret)
		ret = negotiate(vb, &lim);
	if (ret)
		goto out_fail;
	if (pci->msix_size < vb->nq)
		vb->nq = pci->msix_size ? pci->msix_size : 1;
	size = virtio_pci_queue_max(&vb->vp, 0);
	if (size > VBLK_RING)
		size = VBLK_RING;
	vb->per = lim.max_segments + 2;
	vb->depth = vb->indirect ? size : size / vb->per;
	if (vb->depth < 1 || (size & (size - 1))) {
		ret = -ENODEV;
		goto out_fail;
	}
	vb->polled = irq_setup(vb) != 0;
	for (i = 0; i < vb->nq && !ret; i++)
		ret = queue_setup(vb, i, size, !vb->polled);
	if (ret)
		goto out_fail;
	virtio_pci_ready(&vb->vp);
	vb->dev.priv = vb;
	ret = blk_register(&vb->dev);
	if (ret)
		goto out_fail;
	read_id(vb);
	lim.nr_hwq = vb->nq;
	lim.depth = vb->depth;
	ret = blk_queue_create(&vb->dev, &lim, &vblk_driver, vb, &vb->q);
	if (ret)
		goto out_fail;
	vb->live = 1;
	if (vb->polled) {
		polled[nr_polled++] = vb;	/* blk_register allows 26 */
	} else {
		timer_init(&vb->watchdog, vblk_watchdog);
		timer_add(&vb->watchdog, time_ns() + WATCHDOG_NS);
	}
	return 0;
out_fail:
	/* The device is left reset and failed; its memory stays (a few
	 * KiB, once at boot) because it may have been handed to it. */
	virtio_pci_reset(&vb->vp);
	virtio_pci_fail(&vb->vp);
	return ret;
}

void virtio_blk_init(void)
{
	struct pci_dev *d;
	struct task *t;
	int i, ret;

	for (i = 0; (d = pci_get(i)) != NULL; i++) {
		if (d->vendor != VIRTIO_VENDOR ||
		    (d->device != VIRTIO_BLK_DEVICE &&
		     d->device != VIRTIO_BLK_LEGACY))
			continue;
		ret = vblk_probe(d);
		if (ret)
			pr_err("virtio-blk at 00:%02x.%x: cannot use it (%d)",
			       d->slot, d->fn, ret);
	}
	if (!nr_polled)
		return;
	pr_warn("virtio-blk: %d disk(s) without MSI-X, polled", nr_polled);
	t = task_create("vblk-poll", poll_task, NULL, TASK_PRIO_BACKGROUND);
	if (!t)
		pr_err("virtio-blk: no memory for the poll task");
	else
		task_detach(t);
}
