/*
 * MSI-X: program a function's MSI-X table so that entry i raises an IDT
 * vector (allocated by the caller from kernel/arch/x86_64/msi.c) on the
 * boot CPU. The table lives in one of the function's memory BARs, which
 * pci_init has placed; the caller owns the function, so no lock is needed.
 */
#include <errno.h>

#include "../../kernel/arch/x86_64/msi.h"
#include "pci.h"

#define MSIX_CTRL_ENABLE	0x8000
#define MSIX_CTRL_MASKALL	0x4000
#define MSIX_ENTRY_MASKED	1

/* The MSI-X table of d, or NULL when its BAR is missing or too small. */
static volatile uint32_t *msix_table(struct pci_dev *d)
{
	uint32_t t = pci_read32(d, d->msix_cap + 4);

	return pci_bar_ptr(d, t & 7, t & ~7u, 16ull * d->msix_size);
}

int pci_msix_enable(struct pci_dev *d, int nvec, const uint8_t *vec)
{
	volatile uint32_t *table;
	uint16_t ctrl;
	int i;

	if (!d->msix_cap)
		return -ENODEV;
	if (nvec <= 0 || nvec > d->msix_size)
		return -EINVAL;
	table = msix_table(d);
	if (!table)
		return -ENODEV;
	ctrl = pci_read16(d, d->msix_cap + 2);
	pci_write16(d, d->msix_cap + 2, ctrl | MSIX_CTRL_ENABLE |
					MSIX_CTRL_MASKALL);
	for (i = 0; i < d->msix_size; i++) {
		volatile uint32_t *e = table + 4 * i;

		e[3] = MSIX_ENTRY_MASKED;
		if (i >= nvec)
			continue;
		e[0] = msi_addr();
		e[1] = 0;
		e[2] = msi_data(vec[i]);
		e[3] = 0;
	}
	pci_write16(d, d->msix_cap + 2,
		    (ctrl | MSIX_CTRL_ENABLE) & ~MSIX_CTRL_MASKALL);
	return 0;
}

void pci_msix_disable(struct pci_dev *d)
{
	if (d->msix_cap)
		pci_write16(d, d->msix_cap + 2,
			    pci_read16(d, d->msix_cap + 2) & ~MSIX_CTRL_ENABLE);
}
