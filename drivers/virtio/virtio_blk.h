/* virtio-blk disks (virtio_blk.c). */
#ifndef DRIVERS_VIRTIO_VIRTIO_BLK_H
#define DRIVERS_VIRTIO_VIRTIO_BLK_H

/* Register every virtio-blk function pci_init found, in PCI order, as
 * disks vda, vdb, ...; a device that cannot be used is reported and
 * skipped. Needs the scheduler (a poll task when MSI-X is missing). */
void virtio_blk_init(void);

#endif
