/* x86-64 setup entry points called from kmain, and shared constants. */
#ifndef ARCH_X86_64_ARCH_H
#define ARCH_X86_64_ARCH_H

#include <stdint.h>

#define GDT_KERNEL_CS	0x08
#define GDT_KERNEL_DS	0x10
#define GDT_TSS		0x18
#define IST_DOUBLE_FAULT 1	/* IST slot of the double-fault stack */

#define IRQ_BASE	0x20	/* ISA IRQ n arrives at vector 0x20 + n */
#define VEC_TIMER	0x30	/* LAPIC timer: the scheduler tick */
#define VEC_SPURIOUS	0x3f	/* LAPIC spurious vector (no EOI) */
#define NR_VECTORS	0x40	/* vectors with an entry stub (isr.S) */

#define TICK_HZ		1000	/* scheduler ticks per second */

/* Registers as the interrupt stubs (isr.S) push them. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	/* pushed by the CPU */
	uint64_t rip, cs, rflags, rsp, ss;
};

void gdt_init(void);
void idt_init(void);
/* Handler for ISA IRQ n (0..15), run with interrupts off. */
void irq_set_handler(int irq, void (*fn)(void));
/* Handler for the LAPIC timer tick, run with interrupts off. */
void irq_set_tick_handler(void (*fn)(void));
/* Called on the way out of every device or timer interrupt, with
 * interrupts off, on the interrupted task's stack: may switch tasks. */
void irq_set_exit_hook(void (*fn)(void));
/* Remap the 8259 PICs out of the exception vectors and mask them all. */
void pic_disable(void);
/* Enable the LAPIC (x2APIC when offered) and the IOAPIC with every pin
 * masked; calibrate the LAPIC timer against the TSC. Needs time_init. */
void apic_init(void);
/* Deliver ISA IRQ irq (0..15) to this CPU at IRQ_BASE + irq. 0 or -EINVAL. */
int apic_route_irq(int irq);
/* Start the periodic LAPIC timer at TICK_HZ. */
void apic_timer_start(void);
void apic_eoi(void);
/* LAPIC timer counts per second (divider 16), and whether x2APIC is on. */
uint64_t apic_timer_hz(void);
int apic_x2apic(void);
/* Measure the TSC frequency against the PIT; returns Hz. */
uint64_t tsc_calibrate(void);

#endif
