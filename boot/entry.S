/*
 * Boot entries. QEMU's -kernel finds the PVH ELF note and enters at
 * pvh_start; GRUB finds the Multiboot2 header and enters at the ELF entry,
 * mb2_start. Both arrive in 32-bit protected mode with paging off and no
 * usable stack, and share one trampoline to long mode:
 *
 *   1. read the TSC (boot time is measured from here), zero .bss
 *   2. identity-map the first 4 GiB with 2 MiB pages (kernel/arch sets up the
 *      real page tables later)
 *   3. enable PAE, SSE (newlib and gcc's vectorised code need it), long mode
 *      and NX, then paging
 *   4. jump to 64-bit code and call boot_main(protocol, info) in boot_info.c
 *
 * There is deliberately no Multiboot1 header: QEMU would then treat the ELF
 * as a Multiboot1 kernel and refuse it for being 64-bit.
 */
#include "boot_proto.h"
#include "pvh_note.h"

#define PAGE_PRESENT	0x1
#define PAGE_WRITE	0x2
#define PAGE_LARGE	0x80
#define CR0_MP		(1 << 1)
#define CR0_EM		(1 << 2)
#define CR0_PG		(1 << 31)
#define CR4_PAE		(1 << 5)
#define CR4_OSFXSR	(1 << 9)
#define CR4_OSXMMEXCPT	(1 << 10)
#define MSR_EFER	0xc0000080
#define EFER_LME	(1 << 8)
#define EFER_NXE	(1 << 11)

#define MB2_MAGIC	0xe85250d6	/* in the header */
#define MB2_BOOT_MAGIC	0x36d76289	/* in %eax at entry */
#define BOOT_STACK_SIZE	16384

	.section .note.pvh, "a"
	pvh_note pvh_start

/* ghee's UEFI loader (boot/efi) finds the 64-bit entry in this note:
 * name "ghee", type 1, an 8-byte address. */
	.balign 4
	.long 5			/* name size ("ghee\0") */
	.long 8			/* descriptor size */
	.long 1			/* GHEE_NOTE_UEFI_ENTRY */
	.asciz "ghee"
	.balign 4
	.quad uefi_start

/* Multiboot2 header: magic, architecture (0 = i386), length, checksum, and
 * only the end tag (GRUB uses the ELF entry and program headers). */
	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long 0
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + 0 + (mb2_header_end - mb2_header))
	.word 0, 0		/* end tag: type 0, flags 0 */
	.long 8
mb2_header_end:

	.section .boot.text, "ax"
	.code32
	.globl pvh_start
pvh_start:
	mov $BOOT_PROTO_PVH, %edi
	mov %ebx, %esi		/* struct hvm_start_info * */
	jmp trampoline32

	.globl mb2_start
mb2_start:
	mov $BOOT_PROTO_MB2, %edi
	cmp $MB2_BOOT_MAGIC, %eax
	je 1f
	mov $BOOT_PROTO_NONE, %edi
1:	mov %ebx, %esi		/* multiboot2 information */

trampoline32:
	cli
	cld
	rdtsc
	mov %eax, %ebp		/* keep the entry TSC in ebp:ecx */
	mov %edx, %ecx

	/* Zero .bss; the protocol, info pointer and TSC stay in registers. */
	mov $__bss_start, %ebx
	mov $__bss_end, %edx
2:	cmp %edx, %ebx
	jae 3f
	movl $0, (%ebx)
	add $4, %ebx
	jmp 2b
3:
	mov $boot_stack_top, %esp
	mov %ebp, boot_entry_tsc
	mov %ecx, boot_entry_tsc + 4

	/* Page tables: pml4[0] -> pdpt; pdpt[0..3] -> pd[0..3] (2 MiB pages). */
	mov $boot_pdpt, %eax
	or $(PAGE_PRESENT | PAGE_WRITE), %eax
	mov %eax, boot_pml4
	xor %ebx, %ebx
4:	mov %ebx, %eax
	shl $12, %eax
	add $boot_pd, %eax
	or $(PAGE_PRESENT | PAGE_WRITE), %eax
	mov %eax, boot_pdpt(,%ebx,8)
	inc %ebx
	cmp $4, %ebx
	jb 4b
	xor %ebx, %ebx		/* 2048 entries of 2 MiB: 4 GiB */
5:	mov %ebx, %eax
	shl $21, %eax
	or $(PAGE_PRESENT | PAGE_WRITE | PAGE_LARGE), %eax
	mov %eax, boot_pd(,%ebx,8)
	mov %ebx, %eax
	shr $11, %eax		/* high dword of the address: i >> 11 */
	mov %eax, boot_pd + 4(,%ebx,8)
	inc %ebx
	cmp $2048, %ebx
	jb 5b

	mov %cr4, %eax
	or $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	mov %eax, %cr4
	mov $boot_pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $(EFER_LME | EFER_NXE), %eax
	wrmsr
	mov %cr0, %eax
	and $~CR0_EM, %eax
	or $(CR0_MP | CR0_PG), %eax
	mov %eax, %cr0

	lgdt boot_gdt_desc
	ljmp $8, $long_mode

	.code64
long_mode:
	mov $16, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %ax, %ax
	mov %ax, %fs
	mov %ax, %gs
	mov $boot_stack_top, %rsp
	xor %ebp, %ebp		/* end of the frame-pointer chain */
	/* edi = protocol, esi = info pointer (zero-extended by the movs). */
	mov %edi, %edi
	mov %esi, %esi
	call boot_main
6:	cli
	hlt
	jmp 6b

/*
 * UEFI: ghee's loader has exited boot services and calls here in long mode
 * on the firmware's page tables and stack, with %rdi = the struct
 * boot_info it filled. The firmware's tables and GDT live in memory the
 * kernel will reuse, so switch to the boot ones before anything else.
 */
	.globl uefi_start
uefi_start:
	cli
	cld
	mov %rdi, %r12		/* struct boot_info * (callee-saved) */
	rdtsc
	shl $32, %rdx
	or %rax, %rdx
	mov %rdx, %r13		/* entry TSC */
	/* .bss was zeroed by the loader (it zero-fills past each segment's
	 * file contents); the tables below are built in it. */
	mov $boot_pdpt, %eax
	or $(PAGE_PRESENT | PAGE_WRITE), %eax
	mov %rax, boot_pml4
	xor %ecx, %ecx
1:	mov %rcx, %rax
	shl $12, %rax
	add $boot_pd, %rax
	or $(PAGE_PRESENT | PAGE_WRITE), %rax
	mov %rax, boot_pdpt(,%rcx,8)
	inc %ecx
	cmp $4, %ecx
	jb 1b
	xor %ecx, %ecx
2:	mov %rcx, %rax
	shl $21, %rax
	or $(PAGE_PRESENT | PAGE_WRITE | PAGE_LARGE), %rax
	mov %rax, boot_pd(,%rcx,8)
	inc %ecx
	cmp $2048, %ecx
	jb 2b
	mov $boot_pml4, %eax
	mov %rax, %cr3
	lgdt boot_gdt_desc
	mov $boot_stack_top, %rsp
	pushq $8
	lea 3f(%rip), %rax
	pushq %rax
	lretq
3:	mov $16, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %r13, boot_entry_tsc
	xor %ebp, %ebp
	mov $BOOT_PROTO_UEFI, %edi
	mov %r12, %rsi
	call boot_main
4:	cli
	hlt
	jmp 4b

	.section .boot.data, "aw"
	.balign 8
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 8: 64-bit code */
	.quad 0x00cf92000000ffff	/* 16: data */
boot_gdt_desc:
	.word boot_gdt_desc - boot_gdt - 1
	.long boot_gdt

	.bss
	.balign 4096
	.globl boot_pml4
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pd:	.skip 4 * 4096
	.balign 16
	.globl boot_stack_top
boot_stack:	.skip BOOT_STACK_SIZE
boot_stack_top:
	.balign 8
	.globl boot_entry_tsc
boot_entry_tsc:	.skip 8
