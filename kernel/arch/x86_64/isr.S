/*
 * Interrupt entry stubs for vectors 0..63 (CPU exceptions, the 16 ISA IRQs,
 * and the LAPIC's own vectors: timer, spurious; see arch.h). Each stub pushes a dummy error code where the CPU pushes none, then
 * its vector, and jumps to isr_common, which saves the general registers
 * and the FPU/SSE state (C code, newlib included, may use SSE, and the
 * interrupted code must get its registers back unchanged), calls
 * trap_dispatch(struct trap_frame *), and returns with iretq.
 *
 * trap_dispatch may switch tasks (preemption) before it returns: the frame
 * then stays on the preempted task's stack until that task is switched
 * back in and comes out through here.
 */
	.text

.macro STUB vector, has_error
	.globl isr_\vector
isr_\vector:
	.if \has_error == 0
	pushq $0
	.endif
	pushq $\vector
	jmp isr_common
.endm

/* Exceptions that push an error code: 8, 10-14, 17, 21, 29, 30. */
STUB 0, 0
STUB 1, 0
STUB 2, 0
STUB 3, 0
STUB 4, 0
STUB 5, 0
STUB 6, 0
STUB 7, 0
STUB 8, 1
STUB 9, 0
STUB 10, 1
STUB 11, 1
STUB 12, 1
STUB 13, 1
STUB 14, 1
STUB 15, 0
STUB 16, 0
STUB 17, 1
STUB 18, 0
STUB 19, 0
STUB 20, 0
STUB 21, 1
STUB 22, 0
STUB 23, 0
STUB 24, 0
STUB 25, 0
STUB 26, 0
STUB 27, 0
STUB 28, 0
STUB 29, 1
STUB 30, 1
STUB 31, 0
.irp v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,120,121,122,123,124,125,126,127
STUB \v, 0
.endr

isr_common:
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
	/* The CPU aligned the stack to 16 before its pushes; 22 quadwords
	 * later it is aligned again, as fxsave and the C ABI need. */
	sub $512, %rsp
	fxsave (%rsp)
	call trap_dispatch
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
	.globl isr_table
isr_table:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,120,121,122,123,124,125,126,127
	.quad isr_\v
.endr
