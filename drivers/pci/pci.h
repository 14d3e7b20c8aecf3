/*
 * PCI: the functions found on the root bus, their configuration space,
 * BARs (assigned by pci_init, since qboot leaves them unassigned),
 * capability lists and MSI-X. Drivers (drivers/virtio) use this API; see
 * pci.c for enumeration and BAR placement and msix.c for interrupts.
 */
#ifndef DRIVERS_PCI_PCI_H
#define DRIVERS_PCI_PCI_H

#include <stdint.h>

#include "../../boot/boot_info.h"

#define PCI_MAX_DEVS	64	/* functions kept from the scan */
#define PCI_NR_BARS	6

/* Standard configuration header offsets and bits used here. */
#define PCI_VENDOR_ID	0x00
#define PCI_DEVICE_ID	0x02
#define PCI_COMMAND	0x04
#define PCI_STATUS	0x06
#define PCI_CLASS_REV	0x08
#define PCI_HEADER_TYPE	0x0e
#define PCI_BAR0	0x10
#define PCI_CAP_PTR	0x34
#define PCI_CMD_IO	0x0001
#define PCI_CMD_MEM	0x0002
#define PCI_CMD_MASTER	0x0004
#define PCI_CMD_INTX_OFF 0x0400
#define PCI_STATUS_CAPS	0x0010

#define PCI_CAP_MSIX	0x11
#define PCI_CAP_VENDOR	0x09

struct pci_bar {
	uint64_t addr;		/* physical address (port for I/O), 0: none */
	uint64_t size;		/* bytes, 0: BAR not implemented */
	int io;			/* an I/O-port BAR */
};

/* One PCI function. Everything is [I]: filled by pci_init at boot. */
struct pci_dev {
	uint8_t bus, slot, fn;
	uint16_t vendor, device;
	uint32_t class_rev;	/* class << 8 | revision */
	struct pci_bar bar[PCI_NR_BARS];
	uint8_t msix_cap;	/* config offset of the MSI-X capability, 0 */
	uint16_t msix_size;	/* MSI-X table entries */
};

/* Find the functions on bus 0 (ECAM from the ACPI MCFG at bi->rsdp, else
 * the 0xcf8/0xcfc ports) and give every memory BAR an address. 0, or
 * -ENODEV when there is no PCI at all. */
int pci_init(const struct boot_info *bi);
/* The i-th function in bus/slot/function order, or NULL. */
struct pci_dev *pci_get(int i);
/* Configuration space access (offsets naturally aligned). */
uint32_t pci_read32(struct pci_dev *d, uint32_t off);
uint16_t pci_read16(struct pci_dev *d, uint32_t off);
uint8_t pci_read8(struct pci_dev *d, uint32_t off);
void pci_write32(struct pci_dev *d, uint32_t off, uint32_t v);
void pci_write16(struct pci_dev *d, uint32_t off, uint16_t v);
/* Offset of the first capability with this id after config offset
 * start (0: from the list head); 0 when there is none. */
uint8_t pci_find_cap(struct pci_dev *d, uint8_t id, uint8_t start);
/* Turn on memory decoding and bus mastering, INTx off. */
void pci_enable(struct pci_dev *d);
/* Pointer to offset off of memory BAR n, or NULL when n is not a memory
 * BAR of at least off + len bytes. */
volatile void *pci_bar_ptr(struct pci_dev *d, int n, uint64_t off,
			   uint64_t len);

/* Enable MSI-X with nvec vectors; entry i raises IDT vector vec[i] on the
 * boot CPU. 0, -ENODEV (no MSI-X) or -EINVAL (nvec too large). */
int pci_msix_enable(struct pci_dev *d, int nvec, const uint8_t *vec);
/* Turn MSI-X off again (device reset paths). */
void pci_msix_disable(struct pci_dev *d);

#endif
