/*
 * struct boot_info: what every boot path (PVH, Multiboot2, UEFI) hands the
 * kernel. Past kmain() no code knows how the machine was booted.
 */
#ifndef BOOT_BOOT_INFO_H
#define BOOT_BOOT_INFO_H

#include <stdint.h>

#define BOOT_MEM_MAX		128	/* memory map entries kept */
#define BOOT_CMDLINE_MAX	512	/* command line bytes kept, NUL included */

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

struct boot_info {
	const char *protocol;	/* "pvh", "multiboot2", "uefi" */
	const char *firmware;	/* what loaded us, when known, else "" */
	char cmdline[BOOT_CMDLINE_MAX];
	uint32_t nr_mem;
	struct boot_mem_region mem[BOOT_MEM_MAX];
	uint64_t rsdp;		/* physical address of the ACPI RSDP, 0: none */
	uint64_t entry_tsc;	/* TSC at the first instruction */
};

/* Entered from the trampoline; fills a boot_info and calls kmain. */
void boot_main(uint32_t protocol, uint64_t info);
__attribute__((noreturn)) void kmain(struct boot_info *bi);

#endif
