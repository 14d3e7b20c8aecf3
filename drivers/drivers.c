/*
 * Device bring-up: the PCI bus (enumeration and BARs), then
 * the drivers in PCI order. A failure here leaves the machine without
 * those devices (reported), never stops the boot.
 */
#include <ghee/log.h>

#include "drivers.h"
#include "pci/pci.h"
#include "virtio/virtio_blk.h"

void drivers_init(const struct boot_info *bi)
{
	int ret;

	ret = pci_init(bi);
	if (ret) {
		pr_err("pci: no usable PCI bus (%d): no disks", ret);
		return;
	}
	virtio_blk_init();
}
