/*
 * Start-up code of the other CPUs (smp.c). A CPU woken by INIT-SIPI-SIPI
 * starts in 16-bit real mode at CS:IP = (page << 8):0, so this code is
 * copied below 1 MiB, to SMP_TRAMPOLINE (a page the page allocator never
 * hands out), before the first SIPI. There it
 *
 *   1. loads its own small GDT (32-bit code and data, 64-bit code) and
 *      enters protected mode;
 *   2. enables PAE, SSE, long mode, NX and write protection, and turns on
 *      paging with the boot page tables (boot/entry.S: the first 4 GiB
 *      identity-mapped and executable, unlike the kernel's, which make
 *      this page no-execute);
 *   3. far-jumps to ap_start64 in the kernel's text, which switches to the
 *      kernel's page tables and stack and calls ap_main(cpu).
 *
 * Only this copied part is position-dependent: addresses inside it are
 * computed as SMP_TRAMPOLINE + (label - smp_trampoline_start). The BSP
 * starts one CPU at a time, so ap_start64 takes its arguments (page
 * tables, stack, CPU index) from plain variables smp.c fills in.
 */
#include "smp.h"

#define CR0_PE		(1 << 0)
#define CR0_MP		(1 << 1)
#define CR0_EM		(1 << 2)
#define CR0_WP		(1 << 16)
#define CR0_PG		(1 << 31)
#define CR4_PAE		(1 << 5)
#define CR4_OSFXSR	(1 << 9)
#define CR4_OSXMMEXCPT	(1 << 10)
#define MSR_EFER	0xc0000080
#define EFER_LME	(1 << 8)
#define EFER_NXE	(1 << 11)

#define T(label)	(SMP_TRAMPOLINE + (label) - smp_trampoline_start)

	.section .rodata
	.code16
	.globl smp_trampoline_start
smp_trampoline_start:
	cli
	cld
	xorw %ax, %ax
	movw %ax, %ds
	lgdtl T(tramp_gdt_desc)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $0x08, $T(tramp32)

	.code32
tramp32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $(EFER_LME | EFER_NXE), %eax
	wrmsr
	movl %cr0, %eax
	andl $~CR0_EM, %eax
	orl $(CR0_MP | CR0_WP | CR0_PG), %eax
	movl %eax, %cr0
	ljmpl $0x18, $ap_start64

	.balign 8
tramp_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
	.quad 0x00af9a000000ffff	/* 0x18: 64-bit code */
tramp_gdt_desc:
	.word tramp_gdt_desc - tramp_gdt - 1
	.long T(tramp_gdt)
	.globl smp_trampoline_end
smp_trampoline_end:

/* Long mode, on the boot page tables: take the kernel's, then the stack
 * smp.c prepared, and enter C. */
	.text
	.code64
ap_start64:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movq smp_ap_cr3(%rip), %rax
	movq %rax, %cr3
	movq smp_ap_stack(%rip), %rsp
	movl smp_ap_cpu(%rip), %edi
	xorl %ebp, %ebp
	call ap_main
	ud2
