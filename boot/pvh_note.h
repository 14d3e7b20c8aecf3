/* The PVH entry note, for assembler files: QEMU's -kernel (and Xen) enter
 * an ELF that has one at its 32-bit entry, in protected mode with paging
 * off. Used by boot/entry.S and bench/boot_floor.S. */
#ifndef BOOT_PVH_NOTE_H
#define BOOT_PVH_NOTE_H

/* Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY (18) with the 32-bit entry, in
 * the current section (a note section the linker keeps). */
.macro pvh_note entry
	.balign 4
	.long 4			/* name size ("Xen\0") */
	.long 4			/* descriptor size */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long \entry
.endm

#endif
