/*
 * Legacy 8259 interrupt controllers, remapped so IRQ n arrives at vector
 * IRQ_BASE + n, with every line masked until a driver unmasks it. (The
 * kernel-core issue moves interrupts to the LAPIC/IOAPIC.)
 */
#include "arch.h"
#include "cpu.h"

#define PIC1_CMD	0x20
#define PIC1_DATA	0x21
#define PIC2_CMD	0xa0
#define PIC2_DATA	0xa1
#define PIC_EOI		0x20
#define ICW1_INIT_ICW4	0x11
#define ICW4_8086	0x01

/* The PIC reaches the CPU through the local APIC's LINT0 pin, which must
 * be in ExtINT mode and unmasked; firmware such as qboot leaves it masked. */
#define LAPIC_BASE	0xfee00000ul
#define LAPIC_SVR	0xf0	/* spurious vector register; bit 8: enable */
#define LAPIC_LVT_LINT0	0x350
#define LVT_EXTINT	0x700

/* Mask bits for IRQ 0..15; set at boot and by pic_unmask with IRQs off. */
static uint16_t pic_mask = 0xffff;

static void pic_write_mask(void)
{
	outb(PIC1_DATA, pic_mask & 0xff);
	outb(PIC2_DATA, pic_mask >> 8);
}

void pic_init(void)
{
	outb(PIC1_CMD, ICW1_INIT_ICW4);
	outb(PIC2_CMD, ICW1_INIT_ICW4);
	outb(PIC1_DATA, IRQ_BASE);	/* ICW2: vector offsets */
	outb(PIC2_DATA, IRQ_BASE + 8);
	outb(PIC1_DATA, 1 << 2);	/* ICW3: slave on IRQ 2 */
	outb(PIC2_DATA, 2);
	outb(PIC1_DATA, ICW4_8086);
	outb(PIC2_DATA, ICW4_8086);
	pic_mask = 0xffff & ~(1 << 2);	/* cascade line stays open */
	pic_write_mask();

	*(volatile uint32_t *)(LAPIC_BASE + LAPIC_SVR) = 0x1ff;
	*(volatile uint32_t *)(LAPIC_BASE + LAPIC_LVT_LINT0) = LVT_EXTINT;
}

void pic_unmask(int irq)
{
	unsigned long flags = irq_save();

	pic_mask &= ~(1u << irq);
	pic_write_mask();
	irq_restore(flags);
}

void pic_eoi(int irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, PIC_EOI);
	outb(PIC1_CMD, PIC_EOI);
}
