/*
 * struct boot_info: what every boot path (PVH, Multiboot2, UEFI) hands the
 * kernel. Past kmain() no code knows how the machine was booted.
 */
#ifndef BOOT_BOOT_INFO_H
#define BOOT_BOOT_INFO_H

#include <stdint.h>

#define BOOT_MEM_MAX		128	/* memory map entries kept */
#define BOOT_CMDLINE_MAX	512	/* command line bytes kept, NUL included */
#define BOOT_NAME_MAX		64	/* loader and firmware names, NUL included */

enum boot_mem_type {
	BOOT_MEM_USABLE = 1,	/* free RAM */
	BOOT_MEM_RESERVED = 2,	/* firmware, MMIO holes */
	BOOT_MEM_ACPI = 3,	/* ACPI tables; reclaimable after parsing */
	BOOT_MEM_NVS = 4,	/* ACPI non-volatile storage */
	BOOT_MEM_BAD = 5,	/* defective RAM */
};

struct boot_mem_region {
	uint64_t base;		/* physical address, bytes */
	uint64_t len;		/* bytes */
	uint32_t type;		/* enum boot_mem_type */
};

/*
 * Everything here is a copy: the structures the loader handed over live in
 * memory the kernel reuses.
 */
struct boot_info {
	char protocol[16];		/* "pvh", "multiboot2", "uefi" */
	char loader[BOOT_NAME_MAX];	/* "GRUB 2.06", "ghee-efi", ... or "" */
	char firmware[BOOT_NAME_MAX];	/* "BIOS", "UEFI (EDK II)", ... or "" */
	char cmdline[BOOT_CMDLINE_MAX];
	uint32_t nr_mem;
	struct boot_mem_region mem[BOOT_MEM_MAX];
	uint64_t rsdp;		/* physical address of the ACPI RSDP, 0: none */
	uint8_t rsdp_copy[36];	/* the RSDP itself when only a copy was given
				   (Multiboot2); rsdp then points here */
	uint64_t entry_tsc;	/* TSC at the first instruction */
};

/* Entered from entry.S; fills a boot_info and calls kmain. For UEFI, info
 * is a struct boot_info the loader filled. */
void boot_main(uint32_t protocol, uint64_t info);
__attribute__((noreturn)) void kmain(struct boot_info *bi);

#endif
