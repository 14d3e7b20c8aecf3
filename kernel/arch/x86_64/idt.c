/*
 * Interrupt descriptor table and dispatch. Vectors 0..31 are CPU exceptions
 * (traps.c prints them and stops); 32..47 are the ISA IRQs (through the
 * IOAPIC), routed to the handler registered with irq_set_handler(); 48 is
 * the LAPIC timer tick, 49 and up the IPIs (irq_set_ipi_handler), 64..127
 * message-signalled interrupts (msi.c). Every CPU loads the same table. Device, timer and IPI interrupts are acknowledged at
 * the LAPIC, then the exit hook runs (the scheduler's preemption point).
 * Spurious interrupts are ignored without an EOI, as the LAPIC wants.
 */
#include <stdint.h>

#include "arch.h"
#include "msi.h"

struct idt_entry {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;		/* interrupt stack table slot, 0: none */
	uint8_t type_attr;	/* 0x8e: present, ring 0, interrupt gate */
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));

struct idt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern const uint64_t isr_table[NR_VECTORS];	/* isr.S */
void trap_exception(struct trap_frame *f);	/* traps.c */

static struct idt_entry idt[256] __attribute__((aligned(16)));
/* Written at boot before interrupts are enabled, read-only after. */
static void (*irq_handlers[16])(void);
static void (*tick_handler)(const struct trap_frame *f);
static void (*exit_hook)(void);
static void (*ipi_handlers[VEC_MSI_BASE - VEC_TIMER])(void);

void idt_init(void)
{
	int v;

	for (v = 0; v < NR_VECTORS; v++) {
		uint64_t a = isr_table[v];

		idt[v].offset_lo = a & 0xffff;
		idt[v].selector = GDT_KERNEL_CS;
		idt[v].ist = v == 8 ? IST_DOUBLE_FAULT : 0;
		idt[v].type_attr = 0x8e;
		idt[v].offset_mid = (a >> 16) & 0xffff;
		idt[v].offset_hi = a >> 32;
	}
	idt_load();
}

void idt_load(void)
{
	struct idt_ptr ptr = { sizeof(idt) - 1, (uintptr_t)idt };

	__asm__ volatile("lidt %0" : : "m"(ptr));
}

void irq_set_ipi_handler(int vector, void (*fn)(void))
{
	ipi_handlers[vector - VEC_TIMER] = fn;
}

void irq_set_handler(int irq, void (*fn)(void))
{
	irq_handlers[irq] = fn;
}

void irq_set_tick_handler(void (*fn)(const struct trap_frame *f))
{
	tick_handler = fn;
}

void irq_set_exit_hook(void (*fn)(void))
{
	exit_hook = fn;
}

void trap_dispatch(struct trap_frame *f)
{
	uint64_t v = f->vector;

	if (v < IRQ_BASE) {
		trap_exception(f);
		return;
	}
	if (v == VEC_SPURIOUS)
		return;
	if (v >= VEC_MSI_BASE) {
		msi_handle(v);
	} else if (v == VEC_TIMER) {
		if (tick_handler)
			tick_handler(f);
	} else if (v < IRQ_BASE + 16 && irq_handlers[v - IRQ_BASE]) {
		irq_handlers[v - IRQ_BASE]();
	} else if (v > VEC_TIMER && ipi_handlers[v - VEC_TIMER]) {
		ipi_handlers[v - VEC_TIMER]();
	}
	apic_eoi();
	if (exit_hook)
		exit_hook();
}
