/*
 * virtio-pci modern transport. The device's PCI vendor capabilities
 * (cfg_type 1..4) point into its BARs at the common configuration, the
 * notification area, the ISR status and the device-specific configuration;
 * pci_init has placed the BARs, so each is a pointer into MMIO here.
 *
 * Initialization follows the spec's order: reset, ACKNOWLEDGE, DRIVER,
 * features, FEATURES_OK (checked), queues, DRIVER_OK. Interrupts are
 * MSI-X only (ISR-based INTx is never used): the configuration-change
 * vector is left unset and each queue gets its own table entry.
 *
 * A struct virtio_pci belongs to one driver instance, which serializes
 * its calls (init at boot; afterwards only doorbells, from the queue's
 * lock, and reset on error).
 */
#include <errno.h>

#include "virtio_pci.h"

#define CAP_COMMON	1
#define CAP_NOTIFY	2
#define CAP_ISR		3
#define CAP_DEVICE	4

/* Common configuration layout (virtio 1.x 4.1.4.3). */
#define C_DFSELECT	0x00
#define C_DF		0x04
#define C_GFSELECT	0x08
#define C_GF		0x0c
#define C_MSIX_CONFIG	0x10
#define C_NUM_QUEUES	0x12
#define C_STATUS	0x14
#define C_GENERATION	0x15
#define C_Q_SELECT	0x16
#define C_Q_SIZE	0x18
#define C_Q_MSIX	0x1a
#define C_Q_ENABLE	0x1c
#define C_Q_NOTIFY_OFF	0x1e
#define C_Q_DESC	0x20
#define C_Q_DRIVER	0x28
#define C_Q_DEVICE	0x30

#define S_ACKNOWLEDGE	1
#define S_DRIVER	2
#define S_DRIVER_OK	4
#define S_FEATURES_OK	8
#define S_NEEDS_RESET	0x40
#define S_FAILED	0x80

#define R8(vp, o)	(*(volatile uint8_t *)((vp)->common + (o)))
#define R16(vp, o)	(*(volatile uint16_t *)((vp)->common + (o)))
#define R32(vp, o)	(*(volatile uint32_t *)((vp)->common + (o)))

static void w64(struct virtio_pci *vp, uint32_t off, uint64_t v)
{
	R32(vp, off) = (uint32_t)v;
	R32(vp, off + 4) = (uint32_t)(v >> 32);
}

int virtio_pci_init(struct virtio_pci *vp, struct pci_dev *pci)
{
	uint8_t cap = 0;

	vp->pci = pci;
	vp->common = vp->device = vp->notify = NULL;
	while ((cap = pci_find_cap(pci, PCI_CAP_VENDOR, cap)) != 0) {
		uint8_t type = pci_read8(pci, cap + 3), bar = pci_read8(pci, cap + 4);
		uint32_t off = pci_read32(pci, cap + 8);
		uint32_t len = pci_read32(pci, cap + 12);
		volatile uint8_t *p = pci_bar_ptr(pci, bar, off, len);

		if (!p)
			continue;
		if (type == CAP_COMMON && !vp->common)
			vp->common = p;
		else if (type == CAP_DEVICE && !vp->device)
			vp->device = p;
		else if (type == CAP_NOTIFY && !vp->notify) {
			vp->notify = p;
			vp->notify_mult = pci_read32(pci, cap + 16);
		}
	}
	if (!vp->common || !vp->notify || !vp->device)
		return -ENODEV;
	pci_enable(pci);
	virtio_pci_reset(vp);
	R8(vp, C_STATUS) = S_ACKNOWLEDGE;
	R8(vp, C_STATUS) = S_ACKNOWLEDGE | S_DRIVER;
	return 0;
}

uint64_t virtio_pci_features(struct virtio_pci *vp)
{
	uint64_t f;

	R32(vp, C_DFSELECT) = 0;
	f = R32(vp, C_DF);
	R32(vp, C_DFSELECT) = 1;
	return f | (uint64_t)R32(vp, C_DF) << 32;
}

int virtio_pci_set_features(struct virtio_pci *vp, uint64_t features)
{
	features |= 1ull << VIRTIO_F_VERSION_1;
	R32(vp, C_GFSELECT) = 0;
	R32(vp, C_GF) = (uint32_t)features;
	R32(vp, C_GFSELECT) = 1;
	R32(vp, C_GF) = (uint32_t)(features >> 32);
	R8(vp, C_STATUS) = R8(vp, C_STATUS) | S_FEATURES_OK;
	if (!(R8(vp, C_STATUS) & S_FEATURES_OK))
		return -EIO;
	vp->features = features;
	return 0;
}

int virtio_pci_num_queues(struct virtio_pci *vp)
{
	return R16(vp, C_NUM_QUEUES);
}

uint16_t virtio_pci_queue_max(struct virtio_pci *vp, uint16_t index)
{
	R16(vp, C_Q_SELECT) = index;
	return R16(vp, C_Q_SIZE);
}

int virtio_pci_queue_enable(struct virtio_pci *vp, struct virtqueue *vq,
			    uint16_t msix_entry)
{
	R16(vp, C_Q_SELECT) = vq->index;
	R16(vp, C_Q_SIZE) = vq->size;
	R16(vp, C_Q_MSIX) = msix_entry;
	if (R16(vp, C_Q_MSIX) != msix_entry)
		return -EIO;
	w64(vp, C_Q_DESC, (uintptr_t)vq->desc);
	w64(vp, C_Q_DRIVER, (uintptr_t)vq->avail);
	w64(vp, C_Q_DEVICE, (uintptr_t)vq->used);
	vq->notify = (volatile uint16_t *)(vp->notify +
			(uint32_t)R16(vp, C_Q_NOTIFY_OFF) * vp->notify_mult);
	R16(vp, C_Q_ENABLE) = 1;
	return 0;
}

void virtio_pci_ready(struct virtio_pci *vp)
{
	R16(vp, C_MSIX_CONFIG) = VIRTIO_NO_VECTOR;
	R8(vp, C_STATUS) = R8(vp, C_STATUS) | S_DRIVER_OK;
}

void virtio_pci_reset(struct virtio_pci *vp)
{
	R8(vp, C_STATUS) = 0;
	/* The reset is done when the device reads back 0. */
	while (R8(vp, C_STATUS) != 0)
		__asm__ volatile("pause");
}

void virtio_pci_fail(struct virtio_pci *vp)
{
	R8(vp, C_STATUS) = R8(vp, C_STATUS) | S_FAILED;
}

int virtio_pci_needs_reset(struct virtio_pci *vp)
{
	return (R8(vp, C_STATUS) & S_NEEDS_RESET) != 0;
}

uint8_t virtio_cfg8(struct virtio_pci *vp, uint32_t off)
{
	return *(volatile uint8_t *)(vp->device + off);
}

uint16_t virtio_cfg16(struct virtio_pci *vp, uint32_t off)
{
	return *(volatile uint16_t *)(vp->device + off);
}

uint32_t virtio_cfg32(struct virtio_pci *vp, uint32_t off)
{
	return *(volatile uint32_t *)(vp->device + off);
}

uint64_t virtio_cfg64(struct virtio_pci *vp, uint32_t off)
{
	uint32_t lo, hi;
	uint8_t gen;

	do {
		gen = R8(vp, C_GENERATION);
		lo = virtio_cfg32(vp, off);
		hi = virtio_cfg32(vp, off + 4);
	} while (gen != R8(vp, C_GENERATION));
	return (uint64_t)hi << 32 | lo;
}
