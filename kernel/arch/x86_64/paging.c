/*
 * The kernel's page tables, replacing the boot trampoline's (which map
 * the first 4 GiB read-write-executable with 2 MiB pages).
 *
 * Everything is identity-mapped: the first 4 GiB (RAM, and the APIC and
 * PCI MMIO windows) and all RAM above, up to the end of the highest
 * usable region rounded up to a GiB (one page directory per GiB, all
 * under one PDPT: up to 512 GiB). The page allocator hands out frames
 * above 4 GiB only once they are mapped here. Then:
 *   - the kernel image gets 4 KiB pages with its ELF permissions: text
 *     read-only and executable, rodata read-only and no-execute, data and
 *     bss read-write and no-execute (boot/linker.ld page-aligns them);
 *   - everything else is read-write and no-execute, in 2 MiB pages;
 *   - page 0 is unmapped, so a NULL dereference faults;
 *   - CR0.WP makes read-only pages read-only for the kernel too.
 * paging_set_present() punches holes (task stack guard pages), splitting
 * a 2 MiB page into 4 KiB ones the first time; split tables are kept.
 * Other CPUs may hold the old entry in their TLBs: after the change it
 * shoots the page down on every other CPU (smp.c), with paging_lock
 * released (a CPU spinning on it with interrupts off could not answer).
 *
 * paging_lock (irqsave; only the page allocator's lock inside) protects
 * the page-table entries after paging_init.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <ghee/sync.h>

#include "../../mm/page_alloc.h"
#include "../../panic.h"
#include "cpu.h"
#include "paging.h"
#include "smp.h"

#define PTE_P		(1ull << 0)
#define PTE_W		(1ull << 1)
#define PTE_PS		(1ull << 7)	/* 2 MiB page, in a PD entry */
#define PTE_NX		(1ull << 63)
#define PTE_ADDR	0x000ffffffffff000ull
#define GIB		(1ull << 30)
#define MAP_MAX		(512 * GIB)	/* one PDPT */
#define LARGE		(2ull << 20)
#define CR0_WP		(1ul << 16)

extern char __kernel_start[], __text_end[], __rodata_end[], __kernel_end[];

static struct spinlock paging_lock = SPINLOCK_INIT("paging");
static uint64_t *pml4;		/* [I] */
static uint64_t *pdpt;		/* [I] one PD per GiB; PD entries [paging_lock] */
static uint64_t mapped_top;	/* [I] end of the identity map, bytes */
static uint64_t split_tables;	/* [paging_lock] pages taken by split() */

static uint64_t *table_alloc(void)
{
	uint64_t *t = page_alloc(1);

	if (t)
		memset(t, 0, PAGE_SIZE);
	return t;
}

/* Permissions of the 4 KiB page at a inside the kernel image. */
static uint64_t image_flags(uint64_t a)
{
	if (a < (uintptr_t)__text_end)
		return PTE_P;
	if (a < (uintptr_t)__rodata_end)
		return PTE_P | PTE_NX;
	return PTE_P | PTE_W | PTE_NX;
}

/* Replace the 2 MiB mapping in *pde by a table of 4 KiB pages with the
 * same flags. Caller holds paging_lock (or runs before anyone else). */
static int split(uint64_t *pde)
{
	uint64_t base = *pde & PTE_ADDR & ~(LARGE - 1);
	uint64_t flags = *pde & (PTE_P | PTE_W | PTE_NX);
	uint64_t *pt = table_alloc();
	int i;

	if (!pt)
		return -ENOMEM;
	for (i = 0; i < 512; i++)
		pt[i] = (base + i * PAGE_SIZE) | flags;
	*pde = (uintptr_t)pt | PTE_P | PTE_W;
	split_tables++;
	return 0;
}

static uint64_t *pde_of(uint64_t a)
{
	uint64_t *pd = (uint64_t *)(uintptr_t)(pdpt[a >> 30] & PTE_ADDR);

	return &pd[(a >> 21) & 511];
}

/* The PTE of a, splitting its 2 MiB page first. NULL when out of memory. */
static uint64_t *pte_of(uint64_t a)
{
	uint64_t *pde = pde_of(a);

	if ((*pde & PTE_PS) && split(pde) < 0)
		return NULL;
	return &((uint64_t *)(uintptr_t)(*pde & PTE_ADDR))[(a >> 12) & 511];
}

void paging_init(void)
{
	uint64_t start = (uintptr_t)__kernel_start, end = (uintptr_t)__kernel_end;
	uint64_t a, gib;

	mapped_top = (page_alloc_ram_top() + GIB - 1) & ~(GIB - 1);
	if (mapped_top < 4 * GIB)
		mapped_top = 4 * GIB;
	if (mapped_top > MAP_MAX)
		mapped_top = MAP_MAX;
	pml4 = table_alloc();
	pdpt = table_alloc();
	if (!pml4 || !pdpt)
		panic("paging: no memory for page tables");
	pml4[0] = (uintptr_t)pdpt | PTE_P | PTE_W;
	for (gib = 0; gib < mapped_top / GIB; gib++) {
		uint64_t *pd = table_alloc();

		if (!pd)
			panic("paging: no memory for page tables");
		pdpt[gib] = (uintptr_t)pd | PTE_P | PTE_W;
	}
	for (a = 0; a < mapped_top; a += LARGE)
		*pde_of(a) = a | PTE_P | PTE_W | PTE_PS | PTE_NX;
	for (a = start & ~(PAGE_SIZE - 1); a < end; a += PAGE_SIZE) {
		uint64_t *pte = pte_of(a);

		if (!pte)
			panic("paging: no memory for page tables");
		*pte = a | image_flags(a);
	}
	pte_of(0)[0] = 0;
	__asm__ volatile("mov %0, %%cr3" : : "r"((uintptr_t)pml4) : "memory");
	__asm__ volatile("mov %%cr0, %%rax; or %0, %%rax; mov %%rax, %%cr0"
			 : : "i"(CR0_WP) : "rax", "memory");
	page_alloc_map_limit(mapped_top);
}

uint64_t paging_mapped_top(void)
{
	return mapped_top;
}

uint64_t paging_table_pages(void)
{
	unsigned long flags = spin_lock_irqsave(&paging_lock);
	uint64_t n = split_tables;

	spin_unlock_irqrestore(&paging_lock, flags);
	return n;
}

int paging_set_present(void *page, int present)
{
	uint64_t a = (uintptr_t)page, *pte;
	unsigned long flags;

	if (a >= mapped_top || (a & (PAGE_SIZE - 1)) || a == 0 ||
	    (a >= (uintptr_t)__kernel_start && a < (uintptr_t)__kernel_end))
		return -EINVAL;
	flags = spin_lock_irqsave(&paging_lock);
	pte = pte_of(a);
	if (!pte) {
		spin_unlock_irqrestore(&paging_lock, flags);
		return -ENOMEM;
	}
	*pte = present ? a | PTE_P | PTE_W | PTE_NX : a;
	invlpg(page);
	spin_unlock_irqrestore(&paging_lock, flags);
	/* Only a page taken away needs the other CPUs told: x86 caches no
	 * translation of a page that is not present, so none can hold a
	 * stale one of a page made present. */
	if (!present)
		smp_tlb_shootdown(page);
	return 0;
}
