/*
 * Message-signalled interrupts (msi.c): IDT vectors MSI_VEC_BASE and up,
 * each with a handler, for PCI MSI-X entries to raise on the boot CPU.
 */
#ifndef ARCH_X86_64_MSI_H
#define ARCH_X86_64_MSI_H

#include <stdint.h>

#include "arch.h"

#define MSI_VEC_BASE	VEC_MSI_BASE
#define MSI_NR_VECTORS	(NR_VECTORS - VEC_MSI_BASE)

/* Take a free vector whose interrupt calls fn(arg) with interrupts off.
 * The vector, or -ENOSPC. */
int msi_vector_alloc(void (*fn)(void *arg), void *arg);
void msi_vector_free(int vec);
/* MSI address and data words that raise vector vec on the boot CPU. */
uint32_t msi_addr(void);
uint32_t msi_data(int vec);
/* Run vector vec's handler (trap_dispatch, interrupts off). */
void msi_handle(int vec);

#endif
