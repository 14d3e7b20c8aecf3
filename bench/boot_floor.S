/*
 * The floor of bench/boot.sh: a PVH guest that prints ghee's prompt at its
 * first instruction and halts for good (using no CPU while the bench reads
 * QEMU's CPU time; the bench then ends QEMU). QEMU's start, its firmware
 * (qboot) and the kernel load take as long as for ghee; what ghee takes
 * beyond it is ghee's.
 * Built by bench/boot.sh: 32-bit, linked at 1 MiB.
 */
#include "../boot/pvh_note.h"

	.section .note.pvh, "a"
	pvh_note start

	.text
	.code32
	.globl start
start:				/* 32-bit protected mode, paging off */
	movl $prompt, %esi
	movw $0x3f8, %dx	/* COM1's data register */
1:	lodsb
	testb %al, %al
	jz 2f
	outb %al, %dx
	jmp 1b
2:	cli
	hlt
	jmp 2b

prompt:	.asciz "ghee> "
