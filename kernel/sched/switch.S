/*
 * Task switching. ctx_switch(prev_rsp, next_rsp, prev_fx, next_fx) saves
 * what the C ABI says survives a call (rbx, rbp, r12-r15) on the running
 * task's stack, and its FPU/SSE state (x87 control word and MXCSR are
 * callee-saved too, and the state of a task preempted inside an
 * interrupt must not leak into the next one) in its fxsave area; stores
 * the stack pointer in *prev_rsp; then loads next's and returns into
 * next, where next called ctx_switch, or into task_entry for a new task.
 * Called by sched.c with sched_lock held and interrupts off.
 */
	.text
	.globl ctx_switch
ctx_switch:
	fxsave64 (%rdx)
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	fxrstor64 (%rcx)
	ret

/* A new task's first instruction: end the frame-pointer chain, align the
 * stack for the C ABI and enter task_start (which never returns). */
	.globl task_entry
task_entry:
	xorl %ebp, %ebp
	andq $-16, %rsp
	call task_start
	ud2
