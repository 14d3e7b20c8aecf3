/*
 * Message-signalled interrupts (msi.c): IDT vectors MSI_VEC_BASE and up,
 * each with a handler, for PCI MSI-X entries to raise on the boot CPU.
 */
#ifndef ARCH_X86_64_MSI_H
#define ARCH_X86_64_MSI_H

#include <stdint.h>

#define MSI_VEC_BASE	0x40	/* first vector, right after isr.S's */
#define MSI_NR_VECTORS	64	/* vectors 0x40..0x7f (isr_msi.S) */

/* Install the vectors' IDT gates; once, at boot, after idt_init. */
void msi_init(void);
/* Take a free vector whose interrupt calls fn(arg) with interrupts off.
 * The vector, or -ENOSPC. */
int msi_vector_alloc(void (*fn)(void *arg), void *arg);
void msi_vector_free(int vec);
/* MSI address and data words that raise vector vec on the boot CPU. */
uint32_t msi_addr(void);
uint32_t msi_data(int vec);

#endif
