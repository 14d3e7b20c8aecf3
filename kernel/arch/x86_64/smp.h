/* Multiprocessor bring-up and cross-CPU calls (smp.c, trampoline.S). */
#ifndef ARCH_X86_64_SMP_H
#define ARCH_X86_64_SMP_H

/* Physical address the AP start-up code is copied to: below 1 MiB, page
 * aligned, in the first MiB that the page allocator keeps for itself. */
#define SMP_TRAMPOLINE	0x8000

#ifndef __ASSEMBLER__
#include <stdint.h>

struct cpu;

/* Point this CPU's GS base at cpus[0]; the first thing kmain does, before
 * anything takes a lock. */
void smp_boot_cpu_init(void);
/* Start the first other CPU of the MADT (INIT-SIPI-SIPI). Needs paging,
 * kmalloc and the scheduler. */
void smp_init(void);
/* Wait for that CPU to run its idle task, then start the others one at a
 * time; a CPU that does not start within a second is given up (it halts
 * if it comes later) and no more are tried. nr_cpus is final after it. */
void smp_wait(void);
/* Make CPU c look at its need_resched flag now. */
void smp_send_resched(struct cpu *c);
/* Flush page from every other online CPU's TLB, and wait until they did.
 * The caller changed its entry and flushed its own TLB; it may run with
 * interrupts off but must hold no spinlock another CPU may spin on. */
void smp_tlb_shootdown(const void *page);
#endif

#endif
