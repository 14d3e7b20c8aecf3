/* x86-64 setup entry points called from kmain, and shared constants. */
#ifndef ARCH_X86_64_ARCH_H
#define ARCH_X86_64_ARCH_H

#include <stdint.h>

#define GDT_KERNEL_CS	0x08
#define GDT_KERNEL_DS	0x10
#define GDT_TSS		0x18
#define IST_DOUBLE_FAULT 1	/* IST slot of the double-fault stack */

#define IRQ_BASE	0x20	/* legacy IRQ n arrives at vector 0x20 + n */

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
/* Handler for legacy IRQ n (0..15), run with interrupts off. */
void irq_set_handler(int irq, void (*fn)(void));
void pic_init(void);
void pic_unmask(int irq);
void pic_eoi(int irq);
/* Measure the TSC frequency against the PIT; returns Hz. */
uint64_t tsc_calibrate(void);

#endif
