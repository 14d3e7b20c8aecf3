/*
 * ghee-efi: the UEFI loader (gnu-efi). It reads \ghee\kernel.elf from the
 * partition it was loaded from, checks it, places its segments at their
 * physical addresses, fills the same struct boot_info as the PVH and
 * Multiboot2 paths (command line from \ghee\cmdline.txt, ACPI RSDP, memory
 * map), exits boot services and enters the kernel's 64-bit UEFI entry,
 * which the kernel names in an ELF note ("ghee", type 1).
 *
 * Every failure before ExitBootServices prints what is wrong and returns
 * to the firmware; nothing jumps into a kernel that was not fully checked
 * and loaded. gnu-efi's crt0 calls efi_main with the SysV convention;
 * firmware calls go through uefi_call_wrapper.
 */
#include <efi.h>
#include <efilib.h>
#include <elf.h>

#include "../boot_info.h"

#define KERNEL_PATH	L"\\ghee\\kernel.elf"
#define CMDLINE_PATH	L"\\ghee\\cmdline.txt"
#define KERNEL_MAX	(64u << 20)	/* refuse larger "kernels" */
#define GHEE_NOTE_UEFI_ENTRY 1
#define MAPPED_LIMIT	(4ull << 30)	/* the kernel's boot mapping */

static struct boot_info bi;

/* Read a whole file into pool memory. */
static EFI_STATUS read_file(EFI_FILE_HANDLE root, CHAR16 *path, void **data,
			    UINTN *size, UINTN max)
{
	EFI_FILE_HANDLE f;
	EFI_FILE_INFO *info;
	EFI_STATUS st;

	st = uefi_call_wrapper(root->Open, 5, root, &f, path,
			       EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(st))
		return st;
	info = LibFileInfo(f);
	if (!info) {
		st = EFI_DEVICE_ERROR;
		goto out_close;
	}
	*size = info->FileSize;
	FreePool(info);
	if (*size > max) {
		st = EFI_BAD_BUFFER_SIZE;
		goto out_close;
	}
	*data = AllocatePool(*size + 1);
	if (!*data) {
		st = EFI_OUT_OF_RESOURCES;
		goto out_close;
	}
	st = uefi_call_wrapper(f->Read, 3, f, size, *data);
	if (EFI_ERROR(st))
		FreePool(*data);
out_close:
	uefi_call_wrapper(f->Close, 1, f);
	return st;
}

/* Find the kernel's UEFI entry in its PT_NOTE segments; 0 if absent. */
static UINT64 find_entry_note(const UINT8 *img, UINTN size,
			      const Elf64_Phdr *ph, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		UINT64 off = ph[i].p_offset, end = off + ph[i].p_filesz;

		if (ph[i].p_type != PT_NOTE || end > size || end < off)
			continue;
		while (off + sizeof(Elf64_Nhdr) <= end) {
			const Elf64_Nhdr *nh = (const void *)(img + off);
			UINT64 name = off + sizeof(*nh);
			UINT64 desc = name + ((nh->n_namesz + 3) & ~3u);
			UINT64 next = desc + ((nh->n_descsz + 3) & ~3u);

			if (next > end || next <= off)
				break;
			if (nh->n_namesz == 5 && nh->n_descsz == 8 &&
			    nh->n_type == GHEE_NOTE_UEFI_ENTRY &&
			    CompareMem(img + name, "ghee", 5) == 0)
				return *(const UINT64 *)(img + desc);
			off = next;
		}
	}
	return 0;
}

/* Check that img is a loadable x86-64 ELF kernel; return its entry. */
static EFI_STATUS check_kernel(const UINT8 *img, UINTN size, UINT64 *entry)
{
	const Elf64_Ehdr *eh = (const void *)img;
	const Elf64_Phdr *ph;
	int i, in_text = 0;

	if (size < sizeof(*eh) || CompareMem(eh->e_ident, ELFMAG, SELFMAG)) {
		Print(L"ghee-efi: %s is not an ELF file\n", KERNEL_PATH);
		return EFI_LOAD_ERROR;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC) {
		Print(L"ghee-efi: %s is not an x86-64 executable\n",
		      KERNEL_PATH);
		return EFI_LOAD_ERROR;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    eh->e_phoff > size ||
	    (size - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum) {
		Print(L"ghee-efi: %s: program headers are corrupt\n",
		      KERNEL_PATH);
		return EFI_LOAD_ERROR;
	}
	ph = (const void *)(img + eh->e_phoff);
	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_offset > size ||
		    ph[i].p_filesz > size - ph[i].p_offset ||
		    ph[i].p_filesz > ph[i].p_memsz ||
		    ph[i].p_paddr >= MAPPED_LIMIT ||
		    ph[i].p_memsz > MAPPED_LIMIT - ph[i].p_paddr) {
			Print(L"ghee-efi: %s: segment %d is corrupt or out "
			      L"of range\n", KERNEL_PATH, i);
			return EFI_LOAD_ERROR;
		}
	}
	*entry = find_entry_note(img, size, ph, eh->e_phnum);
	for (i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X) &&
		    *entry >= ph[i].p_paddr &&
		    *entry < ph[i].p_paddr + ph[i].p_filesz)
			in_text = 1;
	if (!in_text) {
		Print(L"ghee-efi: %s has no UEFI entry note pointing into its "
		      L"code\n", KERNEL_PATH);
		return EFI_LOAD_ERROR;
	}
	return EFI_SUCCESS;
}

/* Copy each PT_LOAD segment to its physical address; zero the rest. */
static EFI_STATUS load_segments(const UINT8 *img)
{
	const Elf64_Ehdr *eh = (const void *)img;
	const Elf64_Phdr *ph = (const void *)(img + eh->e_phoff);
	EFI_STATUS st;
	int i;

	for (i = 0; i < eh->e_phnum; i++) {
		EFI_PHYSICAL_ADDRESS base = ph[i].p_paddr & ~0xfffull;
		UINTN pages = (ph[i].p_paddr + ph[i].p_memsz - base + 4095) /
			      4096;

		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAddress,
				       EfiLoaderData, pages, &base);
		if (EFI_ERROR(st)) {
			Print(L"ghee-efi: cannot place the kernel at %lx: %r\n",
			      ph[i].p_paddr, st);
			return st;
		}
		CopyMem((void *)ph[i].p_paddr, (void *)(img + ph[i].p_offset),
			ph[i].p_filesz);
		ZeroMem((UINT8 *)ph[i].p_paddr + ph[i].p_filesz,
			ph[i].p_memsz - ph[i].p_filesz);
	}
	return EFI_SUCCESS;
}

static void copy_ascii(char *dst, UINTN size, const CHAR16 *src)
{
	UINTN i;

	for (i = 0; src && src[i] && i < size - 1; i++)
		dst[i] = src[i] < 0x80 ? (char)src[i] : '?';
	dst[i] = 0;
}

/* Command line from \ghee\cmdline.txt (first line), if the file exists. */
static void read_cmdline(EFI_FILE_HANDLE root)
{
	char *text;
	UINTN size, i;

	if (EFI_ERROR(read_file(root, CMDLINE_PATH, (void **)&text, &size,
				BOOT_CMDLINE_MAX - 1)))
		return;
	for (i = 0; i < size && text[i] != '\n' && text[i] != '\r'; i++)
		bi.cmdline[i] = text[i];
	bi.cmdline[i] = 0;
	FreePool(text);
}

static void find_rsdp(EFI_SYSTEM_TABLE *systab)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
	UINTN i;

	for (i = 0; i < systab->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &systab->ConfigurationTable[i];

		if (CompareGuid(&t->VendorGuid, &acpi20) == 0) {
			bi.rsdp = (UINT64)t->VendorTable;
			return;
		}
		if (CompareGuid(&t->VendorGuid, &acpi10) == 0)
			bi.rsdp = (UINT64)t->VendorTable;
	}
}

static UINT32 boot_mem_type(UINT32 efi_type)
{
	switch (efi_type) {
	case EfiConventionalMemory:
	case EfiBootServicesCode:
	case EfiBootServicesData:
	case EfiLoaderCode:
	case EfiLoaderData:
		return BOOT_MEM_USABLE;
	case EfiACPIReclaimMemory:
		return BOOT_MEM_ACPI;
	case EfiACPIMemoryNVS:
		return BOOT_MEM_NVS;
	case EfiUnusableMemory:
		return BOOT_MEM_BAD;
	default:
		return BOOT_MEM_RESERVED;
	}
}

/* Turn the UEFI memory map into boot_info regions, merging neighbours of
 * the same type (OVMF reports hundreds of small entries). */
static void convert_memory_map(const UINT8 *map, UINTN size, UINTN desc_size)
{
	UINTN off;

	bi.nr_mem = 0;
	for (off = 0; off + desc_size <= size; off += desc_size) {
		const EFI_MEMORY_DESCRIPTOR *d = (const void *)(map + off);
		struct boot_mem_region *last =
			bi.nr_mem ? &bi.mem[bi.nr_mem - 1] : NULL;
		UINT32 type = boot_mem_type(d->Type);
		UINT64 len = d->NumberOfPages * 4096;

		if (last && last->type == type &&
		    last->base + last->len == d->PhysicalStart) {
			last->len += len;
			continue;
		}
		if (bi.nr_mem == BOOT_MEM_MAX)
			break;
		bi.mem[bi.nr_mem].base = d->PhysicalStart;
		bi.mem[bi.nr_mem].len = len;
		bi.mem[bi.nr_mem].type = type;
		bi.nr_mem++;
	}
}

/* Take the final memory map and leave boot services. On success the
 * firmware is gone: no more Print. */
static EFI_STATUS exit_boot_services(EFI_HANDLE image)
{
	UINTN size = 0, key, desc_size;
	UINT32 desc_version;
	UINT8 *map;
	EFI_STATUS st;
	int tries;

	uefi_call_wrapper(BS->GetMemoryMap, 5, &size, NULL, &key, &desc_size,
			  &desc_version);
	size += 16 * sizeof(EFI_MEMORY_DESCRIPTOR);	/* room for growth */
	map = AllocatePool(size);
	if (!map)
		return EFI_OUT_OF_RESOURCES;
	for (tries = 0; tries < 4; tries++) {
		UINTN got = size;

		st = uefi_call_wrapper(BS->GetMemoryMap, 5, &got,
				       (EFI_MEMORY_DESCRIPTOR *)map, &key,
				       &desc_size, &desc_version);
		if (EFI_ERROR(st))
			break;
		convert_memory_map(map, got, desc_size);
		st = uefi_call_wrapper(BS->ExitBootServices, 2, image, key);
		if (!EFI_ERROR(st))
			return EFI_SUCCESS;
	}
	Print(L"ghee-efi: cannot exit boot services: %r\n", st);
	return st;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	EFI_LOADED_IMAGE *li;
	EFI_FILE_HANDLE root;
	UINT8 *img;
	UINTN size;
	UINT64 entry;
	EFI_STATUS st;

	InitializeLib(image, systab);
	st = uefi_call_wrapper(BS->HandleProtocol, 3, image,
			       &LoadedImageProtocol, (void **)&li);
	if (EFI_ERROR(st)) {
		Print(L"ghee-efi: no loaded-image protocol: %r\n", st);
		return st;
	}
	root = LibOpenRoot(li->DeviceHandle);
	if (!root) {
		Print(L"ghee-efi: cannot open the boot partition\n");
		return EFI_NOT_FOUND;
	}
	st = read_file(root, KERNEL_PATH, (void **)&img, &size, KERNEL_MAX);
	if (EFI_ERROR(st)) {
		Print(L"ghee-efi: cannot read %s: %r\n", KERNEL_PATH, st);
		return st;
	}
	st = check_kernel(img, size, &entry);
	if (EFI_ERROR(st))
		return st;
	read_cmdline(root);
	st = load_segments(img);
	if (EFI_ERROR(st))
		return st;

	CopyMem(bi.protocol, "uefi", 5);
	CopyMem(bi.loader, "ghee-efi", 9);
	CopyMem(bi.firmware, "UEFI: ", 6);
	copy_ascii(bi.firmware + 6, BOOT_NAME_MAX - 6, systab->FirmwareVendor);
	find_rsdp(systab);
	st = exit_boot_services(image);
	if (EFI_ERROR(st))
		return st;
	((void (*)(struct boot_info *))entry)(&bi);
	for (;;)
		__asm__ volatile("cli; hlt");
}
