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
#define VEC_IPI_RESCHED	0x31	/* IPI: run the scheduler (smp.c) */
#define VEC_IPI_TLB	0x32	/* IPI: flush a TLB entry (smp.c) */
#define VEC_SPURIOUS	0x3f	/* LAPIC spurious vector (no EOI) */
#define VEC_MSI_BASE	0x40	/* 0x40..0x7f: MSI/MSI-X (msi.c) */
#define NR_VECTORS	0x80	/* vectors with an entry stub (isr.S) */

#define TICK_HZ		1000	/* scheduler ticks per second */

/* Registers as the interrupt stubs (isr.S) push them. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	/* pushed by the CPU */
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Load the boot CPU's GDT and TSS (gdt_init), or CPU cpu's. */
void gdt_init(void);
void gdt_init_cpu(int cpu);
void idt_init(void);
/* Load the IDT idt_init built, on a CPU that starts later. */
void idt_load(void);
/* Handler for ISA IRQ n (0..15), run with interrupts off. */
void irq_set_handler(int irq, void (*fn)(void));
/* Handler for the LAPIC timer interrupt, run with interrupts off; f is
 * the interrupted state. */
void irq_set_tick_handler(void (*fn)(const struct trap_frame *f));
/* Handler for an IPI vector (VEC_IPI_*), run with interrupts off. */
void irq_set_ipi_handler(int vector, void (*fn)(void));
/* Called on the way out of every device or timer interrupt, with
 * interrupts off, on the interrupted task's stack: may switch tasks. */
void irq_set_exit_hook(void (*fn)(void));
/* Remap the 8259 PICs out of the exception vectors and mask them all. */
void pic_disable(void);
/* Enable the LAPIC (x2APIC when offered) and the IOAPIC (found by
 * acpi_init) with every pin masked; start calibrating the LAPIC timer
 * against the TSC. Needs time_init and acpi_init. */
void apic_init(void);
/* Finish the LAPIC timer calibration apic_init started; before any CPU
 * starts its timer (apic_timer_start). */
void apic_timer_calibrate(void);
/* Enable the LAPIC of a CPU that starts later; returns its LAPIC ID. */
uint32_t apic_init_ap(void);
/* LAPIC ID of this CPU, and of the boot CPU. */
uint32_t apic_id(void);
uint32_t apic_boot_cpu_id(void);
/* Deliver ISA IRQ irq (0..15) to the boot CPU at IRQ_BASE + irq, through
 * its GSI's pin. 0 or -EINVAL. */
int apic_route_irq(int irq);
/* Run this CPU's periodic LAPIC timer at hz interrupts a second. */
void apic_timer_start(uint32_t hz);
/* Send vector to the CPU with LAPIC ID dest. */
void apic_send_ipi(uint32_t dest, int vector);
/* INIT, and Start-up IPI with the code at physical page page (< 1 MiB). */
void apic_send_init(uint32_t dest);
void apic_send_startup(uint32_t dest, uint32_t page);
void apic_eoi(void);
/* LAPIC timer counts per second (divider 16), and whether x2APIC is on. */
uint64_t apic_timer_hz(void);
int apic_x2apic(void);
/* Unix time from the CMOS real-time clock (UTC), or 0 if it makes no
 * sense. */
uint64_t rtc_read_epoch(void);
/* Measure the TSC frequency against the PIT; returns Hz. */
uint64_t tsc_calibrate(void);

#endif
