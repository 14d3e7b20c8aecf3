/*
 * Entry stubs for the MSI vectors 0x40..0x7f (msi.h). Each pushes a zero
 * error code and its vector like isr.S's stubs, and msi_common saves the
 * same struct trap_frame and FPU/SSE state, calls msi_dispatch(frame)
 * and returns with iretq. msi_dispatch may switch tasks before it
 * returns (preemption), exactly like trap_dispatch.
 */
	.text

.macro MSI_STUB vector
	.globl isr_msi_\vector
isr_msi_\vector:
	pushq $0
	pushq $\vector
	jmp msi_common
.endm

.irp v, 64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,120,121,122,123,124,125,126,127
MSI_STUB \v
.endr

msi_common:
	cld
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	mov %rsp, %rdi		/* struct trap_frame * */
	sub $512, %rsp		/* aligned to 16 as in isr.S */
	fxsave (%rsp)
	call msi_dispatch
	fxrstor (%rsp)
	add $512, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	add $16, %rsp		/* vector and error code */
	iretq

	.section .rodata
	.balign 8
	.globl isr_msi_table
isr_msi_table:
.irp v, 64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,120,121,122,123,124,125,126,127
	.quad isr_msi_\v
.endr
