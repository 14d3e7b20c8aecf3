/*
 * Fill struct boot_info from the PVH start info or the Multiboot2
 * information, then call kmain(). Runs on the boot stack with the boot page
 * tables (first 4 GiB identity-mapped); it touches only the firmware's
 * structures and the static boot_info, and calls nothing but kmain.
 */
#include <stddef.h>
#include <stdint.h>

#include "boot_info.h"
#include "boot_proto.h"

extern uint64_t boot_entry_tsc;	/* entry.S */

static struct boot_info boot_info;

/* PVH start info (xen/include/public/arch-x86/hvm/start_info.h). */
#define PVH_MAGIC 0x336ec578
struct pvh_start_info {
	uint32_t magic;
	uint32_t version;	/* 1 and up have the memory map */
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct pvh_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;		/* E820 type */
	uint32_t reserved;
};

/* Multiboot2 information tags used here. */
#define MB2_TAG_END		0
#define MB2_TAG_CMDLINE		1
#define MB2_TAG_LOADER		2
#define MB2_TAG_MMAP		6
#define MB2_TAG_EFI32		11	/* EFI system table: booted by UEFI */
#define MB2_TAG_EFI64		12
#define MB2_TAG_ACPI_OLD	14
#define MB2_TAG_ACPI_NEW	15

struct mb2_tag {
	uint32_t type;
	uint32_t size;		/* bytes, header included; tags are 8-aligned */
};

struct mb2_mmap_entry {
	uint64_t base;
	uint64_t len;
	uint32_t type;		/* E820 type */
	uint32_t reserved;
};

/* Copy a NUL-terminated string into dst (size bytes), truncating. */
static void copy_str(char *dst, const char *src, size_t size)
{
	size_t i;

	for (i = 0; src && src[i] && i < size - 1; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

static void copy_bytes(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	while (n--)
		*d++ = *s++;
}

static void add_region(uint64_t base, uint64_t len, uint32_t e820_type)
{
	struct boot_mem_region *r;

	if (boot_info.nr_mem == BOOT_MEM_MAX || len == 0)
		return;
	r = &boot_info.mem[boot_info.nr_mem++];
	r->base = base;
	r->len = len;
	/* E820 types 1..5 are the enum's values; anything else is reserved. */
	r->type = e820_type >= 1 && e820_type <= 5 ? e820_type
						   : BOOT_MEM_RESERVED;
}

static void parse_pvh(const struct pvh_start_info *si)
{
	const struct pvh_memmap_entry *e;
	uint32_t i;

	copy_str(boot_info.protocol, "pvh", sizeof(boot_info.protocol));
	copy_str(boot_info.loader, "QEMU direct boot", BOOT_NAME_MAX);
	if (si->magic != PVH_MAGIC)
		return;
	copy_str(boot_info.cmdline, (const char *)(uintptr_t)si->cmdline_paddr,
		 BOOT_CMDLINE_MAX);
	boot_info.rsdp = si->rsdp_paddr;
	if (si->version < 1)
		return;
	e = (const struct pvh_memmap_entry *)(uintptr_t)si->memmap_paddr;
	for (i = 0; i < si->memmap_entries; i++)
		add_region(e[i].addr, e[i].size, e[i].type);
}

static void parse_mb2_mmap(const struct mb2_tag *tag)
{
	const uint8_t *p = (const uint8_t *)(tag + 1) + 8;
	uint32_t entry_size = ((const uint32_t *)(tag + 1))[0];
	const uint8_t *end = (const uint8_t *)tag + tag->size;

	for (; entry_size && p + entry_size <= end; p += entry_size) {
		const struct mb2_mmap_entry *e = (const void *)p;

		add_region(e->base, e->len, e->type);
	}
}

static void parse_mb2(const uint8_t *info)
{
	uint32_t total = *(const uint32_t *)info;
	const uint8_t *p = info + 8;
	size_t n;

	copy_str(boot_info.protocol, "multiboot2", sizeof(boot_info.protocol));
	copy_str(boot_info.firmware, "BIOS", BOOT_NAME_MAX);
	while (p + sizeof(struct mb2_tag) <= info + total) {
		const struct mb2_tag *tag = (const void *)p;

		if (tag->type == MB2_TAG_END || tag->size < 8)
			break;
		switch (tag->type) {
		case MB2_TAG_CMDLINE:
			copy_str(boot_info.cmdline, (const char *)(tag + 1),
				 BOOT_CMDLINE_MAX);
			break;
		case MB2_TAG_LOADER:
			copy_str(boot_info.loader, (const char *)(tag + 1),
				 BOOT_NAME_MAX);
			break;
		case MB2_TAG_EFI32:
		case MB2_TAG_EFI64:
			copy_str(boot_info.firmware, "UEFI", BOOT_NAME_MAX);
			break;
		case MB2_TAG_MMAP:
			parse_mb2_mmap(tag);
			break;
		case MB2_TAG_ACPI_OLD:
		case MB2_TAG_ACPI_NEW:
			/* The tag holds a copy of the RSDP itself. */
			n = tag->size - sizeof(*tag);
			copy_bytes(boot_info.rsdp_copy, tag + 1,
				   n < sizeof(boot_info.rsdp_copy) ?
				   n : sizeof(boot_info.rsdp_copy));
			boot_info.rsdp = (uintptr_t)boot_info.rsdp_copy;
			break;
		}
		p += (tag->size + 7) & ~7u;
	}
}

void boot_main(uint32_t protocol, uint64_t info)
{
	if (protocol == BOOT_PROTO_PVH)
		parse_pvh((const struct pvh_start_info *)(uintptr_t)info);
	else if (protocol == BOOT_PROTO_MB2)
		parse_mb2((const uint8_t *)(uintptr_t)info);
	else if (protocol == BOOT_PROTO_UEFI)
		copy_bytes(&boot_info, (const void *)(uintptr_t)info,
			   sizeof(boot_info));
	else
		copy_str(boot_info.protocol, "unknown",
			 sizeof(boot_info.protocol));
	boot_info.entry_tsc = boot_entry_tsc;
	kmain(&boot_info);
}
