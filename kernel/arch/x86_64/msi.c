/*
 * MSI vectors: a handler table for IDT vectors VEC_MSI_BASE .. +63 (their
 * entry stubs are isr.S's, like every vector's). A PCI driver takes a
 * vector per interrupt source (one per virtqueue), writes msi_addr() and
 * msi_data(vec) into the device's MSI-X table (drivers/pci/msix.c), and
 * its handler runs from trap_dispatch with interrupts off; the LAPIC EOI
 * and the scheduler's interrupt-exit hook follow there, as for every
 * other device interrupt. Messages go to the boot CPU's LAPIC (physical
 * destination mode, fixed delivery, edge).
 *
 * msi_lock (irqsave, a leaf: nothing is taken inside it) protects the
 * handler table against concurrent alloc/free; msi_handle reads an entry
 * without it, which is safe because a vector is only freed after its
 * device stopped raising it.
 */
#include <errno.h>
#include <stddef.h>

#include <ghee/sync.h>

#include "arch.h"
#include "msi.h"

#define MSI_ADDR_BASE	0xfee00000u

struct msi_handler {
	void (*fn)(void *arg);	/* [msi_lock] NULL: vector free */
	void *arg;		/* [msi_lock] */
};

static struct spinlock msi_lock = SPINLOCK_INIT("msi");
static struct msi_handler handlers[MSI_NR_VECTORS];

int msi_vector_alloc(void (*fn)(void *arg), void *arg)
{
	unsigned long flags = spin_lock_irqsave(&msi_lock);
	int i;

	for (i = 0; i < MSI_NR_VECTORS; i++) {
		if (handlers[i].fn)
			continue;
		handlers[i].arg = arg;
		handlers[i].fn = fn;
		spin_unlock_irqrestore(&msi_lock, flags);
		return MSI_VEC_BASE + i;
	}
	spin_unlock_irqrestore(&msi_lock, flags);
	return -ENOSPC;
}

void msi_vector_free(int vec)
{
	unsigned long flags = spin_lock_irqsave(&msi_lock);

	handlers[vec - MSI_VEC_BASE].fn = NULL;
	spin_unlock_irqrestore(&msi_lock, flags);
}

uint32_t msi_addr(void)
{
	return MSI_ADDR_BASE | apic_boot_cpu_id() << 12;
}

uint32_t msi_data(int vec)
{
	return (uint32_t)vec;
}

/* Run vector vec's handler; called by trap_dispatch, interrupts off. */
void msi_handle(int vec)
{
	struct msi_handler *h = &handlers[vec - MSI_VEC_BASE];
	void (*fn)(void *arg) = h->fn;

	if (fn)
		fn(h->arg);
}
