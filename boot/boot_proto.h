/* Which entry the kernel came in by; shared by entry.S and boot_info.c. */
#ifndef BOOT_PROTO_H
#define BOOT_PROTO_H

#define BOOT_PROTO_NONE	0	/* entered at the ELF entry without a valid magic */
#define BOOT_PROTO_PVH	1	/* QEMU -kernel, PVH start info in %ebx */
#define BOOT_PROTO_MB2	2	/* GRUB Multiboot2, info in %ebx */
#define BOOT_PROTO_UEFI	3	/* ghee's gnu-efi loader */

#endif
