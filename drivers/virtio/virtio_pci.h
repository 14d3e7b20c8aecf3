/*
 * The virtio-pci modern transport (virtio 1.x, section 4.1): device
 * status, feature negotiation, queue setup with one MSI-X vector each,
 * and the device-specific configuration. Works with disable-legacy=on.
 */
#ifndef DRIVERS_VIRTIO_VIRTIO_PCI_H
#define DRIVERS_VIRTIO_VIRTIO_PCI_H

#include <stdint.h>

#include "../pci/pci.h"
#include "virtqueue.h"

#define VIRTIO_VENDOR		0x1af4
#define VIRTIO_F_INDIRECT_DESC	28
#define VIRTIO_F_EVENT_IDX	29
#define VIRTIO_F_VERSION_1	32

#define VIRTIO_NO_VECTOR	0xffff

/* Everything is [I] after virtio_pci_init, except through the calls. */
struct virtio_pci {
	struct pci_dev *pci;
	volatile uint8_t *common;	/* common configuration structure */
	volatile uint8_t *device;	/* device-specific configuration */
	volatile uint8_t *notify;	/* doorbells */
	uint32_t notify_mult;		/* bytes per queue_notify_off */
	uint64_t features;		/* negotiated */
};

/* Find the transport's structures, reset the device and say hello
 * (ACKNOWLEDGE | DRIVER). 0 or -ENODEV. */
int virtio_pci_init(struct virtio_pci *vp, struct pci_dev *pci);
/* What the device offers. */
uint64_t virtio_pci_features(struct virtio_pci *vp);
/* Accept features (VERSION_1 is added); 0, or -EIO when the device
 * refuses (FEATURES_OK does not stick). */
int virtio_pci_set_features(struct virtio_pci *vp, uint64_t features);
int virtio_pci_num_queues(struct virtio_pci *vp);
/* The device's maximum size for queue index (0: no such queue). */
uint16_t virtio_pci_queue_max(struct virtio_pci *vp, uint16_t index);
/* Give the device vq's rings, its MSI-X vector entry (VIRTIO_NO_VECTOR:
 * none) and enable it. 0 or -EIO (the vector was refused). */
int virtio_pci_queue_enable(struct virtio_pci *vp, struct virtqueue *vq,
			    uint16_t msix_entry);
/* DRIVER_OK: the device may start. */
void virtio_pci_ready(struct virtio_pci *vp);
/* Reset the device (it stops using every queue), or mark it failed. */
void virtio_pci_reset(struct virtio_pci *vp);
void virtio_pci_fail(struct virtio_pci *vp);
/* Nonzero when the device reports DEVICE_NEEDS_RESET. */
int virtio_pci_needs_reset(struct virtio_pci *vp);
/* Device-specific configuration fields, read consistently (generation). */
uint8_t virtio_cfg8(struct virtio_pci *vp, uint32_t off);
uint16_t virtio_cfg16(struct virtio_pci *vp, uint32_t off);
uint32_t virtio_cfg32(struct virtio_pci *vp, uint32_t off);
uint64_t virtio_cfg64(struct virtio_pci *vp, uint32_t off);

#endif
