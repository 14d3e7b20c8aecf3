/*
 * PCI enumeration, configuration access and BAR assignment.
 *
 * Configuration space is reached through ECAM (the memory-mapped window
 * the ACPI MCFG table describes; q35 has one) or, without it, through the
 * legacy 0xcf8/0xcfc ports, which see the first 256 bytes only. pci_init
 * scans bus 0 (QEMU's q35 puts every device given with -device there;
 * bridges are listed but what is behind them is not used) and keeps the
 * functions in bus/slot/function order, which is the order of the QEMU
 * command line: that order names the disks vda, vdb, ...
 *
 * qboot assigns no BARs, and SeaBIOS may put 64-bit ones above 4 GiB,
 * outside the identity map, so the kernel (re)assigns every memory BAR:
 * largest first, each naturally aligned, from the first address above
 * all RAM, firmware regions and the ECAM window below 4 GiB, up to the
 * IOAPIC at 0xfec00000. 64-bit BARs get a zero upper half.
 * Caching: paging.c identity-maps this window with the same (write-back)
 * attributes as RAM and has no call for an uncached mapping yet. Under
 * QEMU (TCG, or KVM without device assignment) the memory type of an
 * emulated device's MMIO has no effect; on real hardware the window would
 * need PCD/PAT-UC pages, which belongs in paging.c.
 * I/O-port BARs are left alone: the modern virtio devices used here have
 * none, and I/O decoding is never turned on.
 *
 * All state is written by pci_init at boot, before any driver runs, and
 * is read-only afterwards; configuration writes after boot come from the
 * one driver that owns the function.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <ghee/log.h>

#include "pci.h"

#define PCI_PORT_ADDR	0xcf8
#define PCI_PORT_DATA	0xcfc
#define MMIO_LIMIT	0xfec00000ull	/* IOAPIC, LAPIC, BIOS above */
#define FOUR_GIB	(4ull << 30)

static struct pci_dev devs[PCI_MAX_DEVS];	/* [I] */
static int nr_devs;				/* [I] */
static uintptr_t ecam_base;	/* [I] ECAM of segment 0, bus 0; 0: ports */
static uint64_t ecam_end;	/* [I] end of the ECAM window */

static inline void outl_(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t inl_(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* --- ACPI: find the MCFG table ------------------------------------------ */

struct acpi_header {
	char sig[4];
	uint32_t length;
	uint8_t rev, checksum;
	char oem[6], oem_table[8];
	uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

struct mcfg_entry {
	uint64_t base;
	uint16_t segment;
	uint8_t bus_start, bus_end;
	uint32_t reserved;
} __attribute__((packed));

/* The ACPI table with signature sig, through the RSDP's XSDT or RSDT. */
static const struct acpi_header *acpi_find(uint64_t rsdp, const char *sig)
{
	const uint8_t *r = (const uint8_t *)(uintptr_t)rsdp;
	const struct acpi_header *root;
	uint64_t addr;
	uint32_t rsdt;
	int i, n, wide;

	if (!rsdp || memcmp(r, "RSD PTR ", 8) != 0)
		return NULL;
	memcpy(&rsdt, r + 16, 4);
	memcpy(&addr, r + 24, 8);
	wide = r[15] >= 2 && addr;
	if (!wide)
		addr = rsdt;
	root = (const struct acpi_header *)(uintptr_t)addr;
	if (!addr || addr >= FOUR_GIB)
		return NULL;
	n = (root->length - sizeof(*root)) / (wide ? 8 : 4);
	for (i = 0; i < n; i++) {
		const uint8_t *p = (const uint8_t *)(root + 1) + i * (wide ? 8 : 4);
		const struct acpi_header *t;

		addr = 0;
		memcpy(&addr, p, wide ? 8 : 4);
		if (!addr || addr >= FOUR_GIB)
			continue;
		t = (const struct acpi_header *)(uintptr_t)addr;
		if (memcmp(t->sig, sig, 4) == 0)
			return t;
	}
	return NULL;
}

/* Use the MCFG's window for segment 0 when it covers bus 0. */
static void ecam_init(uint64_t rsdp)
{
	const struct acpi_header *mcfg = acpi_find(rsdp, "MCFG");
	const struct mcfg_entry *e;
	int i, n;

	if (!mcfg)
		return;
	n = (mcfg->length - sizeof(*mcfg) - 8) / sizeof(*e);
	e = (const struct mcfg_entry *)((const uint8_t *)(mcfg + 1) + 8);
	for (i = 0; i < n; i++, e++) {
		if (e->segment || e->bus_start != 0 || e->base >= FOUR_GIB)
			continue;
		ecam_base = e->base;
		ecam_end = e->base + ((uint64_t)e->bus_end + 1 - e->bus_start)
					* (1 << 20);
		return;
	}
}

/* --- configuration access ----------------------------------------------- */

static volatile void *ecam_ptr(uint8_t bus, uint8_t slot, uint8_t fn,
			       uint32_t off)
{
	return (volatile void *)(ecam_base + ((uintptr_t)bus << 20) +
				 ((uintptr_t)slot << 15) +
				 ((uintptr_t)fn << 12) + off);
}

static uint32_t cfg_read32(uint8_t bus, uint8_t slot, uint8_t fn,
			   uint32_t off)
{
	if (ecam_base)
		return *(volatile uint32_t *)ecam_ptr(bus, slot, fn, off);
	outl_(PCI_PORT_ADDR, 0x80000000u | bus << 16 | slot << 11 | fn << 8 |
			     (off & 0xfc));
	return inl_(PCI_PORT_DATA);
}

static void cfg_write32(uint8_t bus, uint8_t slot, uint8_t fn, uint32_t off,
			uint32_t v)
{
	if (ecam_base) {
		*(volatile uint32_t *)ecam_ptr(bus, slot, fn, off) = v;
		return;
	}
	outl_(PCI_PORT_ADDR, 0x80000000u | bus << 16 | slot << 11 | fn << 8 |
			     (off & 0xfc));
	outl_(PCI_PORT_DATA, v);
}

uint32_t pci_read32(struct pci_dev *d, uint32_t off)
{
	return cfg_read32(d->bus, d->slot, d->fn, off);
}

uint16_t pci_read16(struct pci_dev *d, uint32_t off)
{
	return pci_read32(d, off & ~3u) >> ((off & 2) * 8);
}

uint8_t pci_read8(struct pci_dev *d, uint32_t off)
{
	return pci_read32(d, off & ~3u) >> ((off & 3) * 8);
}

void pci_write32(struct pci_dev *d, uint32_t off, uint32_t v)
{
	cfg_write32(d->bus, d->slot, d->fn, off, v);
}

/* Read-modify-write of the dword: the other half of the registers used
 * with it (command/status, MSI-X control) is written back unchanged,
 * except status, whose RW1C bits are written as zero. */
void pci_write16(struct pci_dev *d, uint32_t off, uint16_t v)
{
	uint32_t shift = (off & 2) * 8, old = pci_read32(d, off & ~3u);

	if ((off & ~3u) == PCI_COMMAND)
		old &= 0xffff;
	old = (old & ~(0xffffu << shift)) | (uint32_t)v << shift;
	pci_write32(d, off & ~3u, old);
}

uint8_t pci_find_cap(struct pci_dev *d, uint8_t id, uint8_t start)
{
	uint8_t off;
	int guard;

	if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAPS))
		return 0;
	off = start ? pci_read8(d, start + 1) : pci_read8(d, PCI_CAP_PTR);
	for (guard = 0; off >= 0x40 && guard < 48; guard++) {
		off &= ~3;
		if (pci_read8(d, off) == id)
			return off;
		off = pci_read8(d, off + 1);
	}
	return 0;
}

void pci_enable(struct pci_dev *d)
{
	uint16_t cmd = pci_read16(d, PCI_COMMAND);

	pci_write16(d, PCI_COMMAND, (cmd & ~PCI_CMD_IO) | PCI_CMD_MEM |
				    PCI_CMD_MASTER | PCI_CMD_INTX_OFF);
}

volatile void *pci_bar_ptr(struct pci_dev *d, int n, uint64_t off,
			   uint64_t len)
{
	struct pci_bar *b;

	if (n < 0 || n >= PCI_NR_BARS)
		return NULL;
	b = &d->bar[n];
	if (b->io || !b->addr || off > b->size || len > b->size - off)
		return NULL;
	return (volatile void *)(uintptr_t)(b->addr + off);
}

struct pci_dev *pci_get(int i)
{
	return i >= 0 && i < nr_devs ? &devs[i] : NULL;
}

/* --- BARs ----------------------------------------------------------------- */

/* Size BAR n of d (decoding must be off); returns how many BAR slots it
 * takes (2 for a 64-bit memory BAR). */
static int bar_probe(struct pci_dev *d, int n)
{
	uint32_t off = PCI_BAR0 + 4 * n, lo = pci_read32(d, off), mask;
	uint64_t size;
	int wide = !(lo & 1) && ((lo >> 1) & 3) == 2;

	pci_write32(d, off, 0xffffffffu);
	mask = pci_read32(d, off);
	pci_write32(d, off, lo);
	if (lo & 1) {
		d->bar[n].io = 1;
		mask &= ~3u;
		d->bar[n].size = mask ? (~mask + 1) & 0xffff : 0;
		d->bar[n].addr = lo & ~3u;
		return 1;
	}
	size = mask & ~0xfull;
	if (wide && n + 1 < PCI_NR_BARS) {
		uint32_t hi = pci_read32(d, off + 4);

		pci_write32(d, off + 4, 0xffffffffu);
		size |= (uint64_t)pci_read32(d, off + 4) << 32;
		pci_write32(d, off + 4, hi);
	} else if (size) {
		size |= 0xffffffff00000000ull;
	}
	d->bar[n].size = size ? ~size + 1 : 0;
	return wide ? 2 : 1;
}

/* First free address above RAM, firmware regions and ECAM below 4 GiB. */
static uint64_t window_start(const struct boot_info *bi)
{
	uint64_t start = ecam_end < FOUR_GIB ? ecam_end : 0, end;
	uint32_t i;

	for (i = 0; i < bi->nr_mem; i++) {
		if (bi->mem[i].base >= MMIO_LIMIT)
			continue;
		end = bi->mem[i].base + bi->mem[i].len;
		if (end > start)
			start = end < MMIO_LIMIT ? end : MMIO_LIMIT;
	}
	return (start + 0xfffff) & ~0xfffffull;
}

/* Place every memory BAR, largest first. -ENOSPC when they do not fit. */
static int bars_assign(const struct boot_info *bi)
{
	uint64_t next = window_start(bi), best_size;
	struct pci_bar *best;
	struct pci_dev *owner;
	int i, n, placed[PCI_MAX_DEVS] = { 0 };

	for (;;) {
		best = NULL;
		best_size = 0;
		owner = NULL;
		n = 0;
		for (i = 0; i < nr_devs; i++)
			for (int b = 0; b < PCI_NR_BARS; b++) {
				struct pci_bar *bar = &devs[i].bar[b];

				if (bar->io || !bar->size ||
				    (placed[i] & (1 << b)) ||
				    bar->size <= best_size)
					continue;
				best = bar;
				best_size = bar->size;
				owner = &devs[i];
				n = b;
			}
		if (!best)
			return 0;
		next = (next + best_size - 1) & ~(best_size - 1);
		if (next + best_size > MMIO_LIMIT) {
			pr_err("pci: no room below 4 GiB for a %llu-byte BAR",
			       (unsigned long long)best_size);
			return -ENOSPC;
		}
		best->addr = next;
		next += best_size;
		placed[owner - devs] |= 1 << n;
		pci_write32(owner, PCI_BAR0 + 4 * n,
			    (pci_read32(owner, PCI_BAR0 + 4 * n) & 0xf) |
			    (uint32_t)best->addr);
		if (((pci_read32(owner, PCI_BAR0 + 4 * n) >> 1) & 3) == 2)
			pci_write32(owner, PCI_BAR0 + 4 * n + 4, 0);
	}
}

/* Record function fn of slot on bus 0 and size its BARs. */
static void dev_add(uint8_t slot, uint8_t fn, uint32_t id)
{
	struct pci_dev *d = &devs[nr_devs++];
	uint16_t cmd;
	uint8_t cap;
	int n;

	memset(d, 0, sizeof(*d));
	d->slot = slot;
	d->fn = fn;
	d->vendor = id & 0xffff;
	d->device = id >> 16;
	d->class_rev = pci_read32(d, PCI_CLASS_REV);
	if ((pci_read8(d, PCI_HEADER_TYPE) & 0x7f) != 0)
		return;		/* a bridge: its two BARs are not used */
	cmd = pci_read16(d, PCI_COMMAND);
	pci_write16(d, PCI_COMMAND, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM));
	for (n = 0; n < PCI_NR_BARS; n += bar_probe(d, n))
		;
	cap = pci_find_cap(d, PCI_CAP_MSIX, 0);
	if (cap) {
		d->msix_cap = cap;
		d->msix_size = (pci_read16(d, cap + 2) & 0x7ff) + 1;
	}
}

int pci_init(const struct boot_info *bi)
{
	uint8_t slot, fn;
	uint32_t id;

	ecam_init(bi->rsdp);
	for (slot = 0; slot < 32; slot++) {
		for (fn = 0; fn < 8 && nr_devs < PCI_MAX_DEVS; fn++) {
			id = cfg_read32(0, slot, fn, PCI_VENDOR_ID);
			if ((id & 0xffff) == 0xffff) {
				if (fn == 0)
					break;
				continue;
			}
			dev_add(slot, fn, id);
			if (fn == 0 && !(cfg_read32(0, slot, 0, 0x0c) &
					 0x800000))
				break;	/* not a multi-function device */
		}
	}
	if (!nr_devs)
		return -ENODEV;
	pr_debug("pci: %d functions on bus 0, configuration by %s", nr_devs,
		ecam_base ? "ECAM" : "I/O ports");
	return bars_assign(bi);
}
