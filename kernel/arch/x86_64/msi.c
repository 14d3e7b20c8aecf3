/*
 * MSI vectors: a handler table for IDT vectors MSI_VEC_BASE .. +63, whose
 * entry stubs are in isr_msi.S. A PCI driver takes a vector per interrupt
 * source (one per virtqueue), writes msi_addr()/msi_data(vec) into the
 * device's MSI-X table (drivers/pci/msix.c), and its handler runs with
 * interrupts off; then the LAPIC gets its EOI and the scheduler's
 * interrupt-exit hook runs, as for every other device interrupt.
 *
 * The IDT itself belongs to idt.c, which fills the vectors below
 * MSI_VEC_BASE; msi_init adds gates for these vectors to the table the
 * CPU has loaded (found with sidt), so the two files share no symbol.
 * Messages go to the boot CPU's LAPIC (physical destination mode, fixed
 * delivery, edge): until SMP lands there is no other CPU to spread them
 * over.
 *
 * msi_lock (irqsave, a leaf: nothing is taken inside it) protects the
 * handler table against concurrent alloc/free; msi_dispatch reads an
 * entry without it, which is safe because a vector is only freed after
 * its device stopped raising it.
 */
#include <errno.h>
#include <stddef.h>

#include <ghee/sync.h>

#include "../../sched/sched.h"
#include "arch.h"
#include "msi.h"

#define MSI_ADDR_BASE	0xfee00000u
#define LAPIC_ID_MMIO	0xfee00020ul
#define MSR_X2APIC_ID	0x802

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));

struct msi_handler {
	void (*fn)(void *arg);	/* [msi_lock] NULL: vector free */
	void *arg;		/* [msi_lock] */
};

extern const uint64_t isr_msi_table[MSI_NR_VECTORS];	/* isr_msi.S */
void msi_dispatch(struct trap_frame *f);

static struct spinlock msi_lock = SPINLOCK_INIT("msi");
static struct msi_handler handlers[MSI_NR_VECTORS];
static uint32_t boot_apic_id;	/* [I] destination of every message */

static uint32_t lapic_id(void)
{
	uint32_t lo, hi;

	if (!apic_x2apic())
		return *(volatile uint32_t *)LAPIC_ID_MMIO >> 24;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_X2APIC_ID));
	return lo;
}

void msi_init(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr;
	struct idt_gate *idt;
	int i;

	__asm__ volatile("sidt %0" : "=m"(idtr));
	idt = (struct idt_gate *)(uintptr_t)idtr.base;
	for (i = 0; i < MSI_NR_VECTORS; i++) {
		struct idt_gate *g = &idt[MSI_VEC_BASE + i];
		uint64_t a = isr_msi_table[i];

		g->offset_lo = a & 0xffff;
		g->selector = GDT_KERNEL_CS;
		g->ist = 0;
		g->type_attr = 0x8e;
		g->offset_mid = (a >> 16) & 0xffff;
		g->offset_hi = a >> 32;
		g->reserved = 0;
	}
	boot_apic_id = lapic_id();
}

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
	return MSI_ADDR_BASE | boot_apic_id << 12;
}

uint32_t msi_data(int vec)
{
	return (uint32_t)vec;
}

/* Called by isr_msi.S with interrupts off. */
void msi_dispatch(struct trap_frame *f)
{
	struct msi_handler *h = &handlers[f->vector - MSI_VEC_BASE];
	void (*fn)(void *arg) = h->fn;

	if (fn)
		fn(h->arg);
	apic_eoi();
	sched_irq_exit();
}
