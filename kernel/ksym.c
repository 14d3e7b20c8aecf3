/*
 * The kernel's own symbol table, to name code addresses without a host
 * step: the profiler's samples and panic backtraces.
 *
 * The Makefile links the kernel twice: scripts/ksyms.sh lists the
 * functions of the first link (nm, sorted by address) as a table in
 * .rodata.ksyms, and the second link takes it in. The table sits after
 * the text, so the functions have the same addresses in both links (the
 * Makefile checks). Being part of the loaded image, it is there however
 * the kernel booted (PVH, GRUB, UEFI).
 *
 * Rows are sorted by address and have distinct addresses; a row's size 0
 * (assembly labels) means "up to the next row". Read-only: callable from
 * any context, interrupts included.
 */
#include <stdint.h>

#include "ksym.h"

struct ksym {
	uint64_t addr;		/* first byte of the function */
	uint32_t size;		/* bytes, or 0: up to the next row */
	uint32_t name;		/* offset of its name in ksym_names */
};

/* scripts/ksyms.sh's output (build/k/ksyms.S). */
extern const struct ksym ksym_table[];
extern const uint64_t ksym_count;
extern const char ksym_names[];
extern const char __text_end[];		/* boot/linker.ld */

uint32_t ksym_find(uint64_t addr)
{
	uint64_t lo = 0, hi = ksym_count, mid;
	const struct ksym *s;

	if (addr >= (uintptr_t)__text_end)
		return KSYM_NONE;
	/* The last row whose address is at most addr. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ksym_table[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return KSYM_NONE;
	s = &ksym_table[lo - 1];
	if (s->size && addr - s->addr >= s->size)
		return KSYM_NONE;
	return (uint32_t)(lo - 1);
}

const char *ksym_name(uint32_t i)
{
	return ksym_names + ksym_table[i].name;
}

uint64_t ksym_addr(uint32_t i)
{
	return ksym_table[i].addr;
}
