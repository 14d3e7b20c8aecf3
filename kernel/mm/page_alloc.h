/* Physical page frames. The kernel runs identity-mapped: a frame's physical
 * address is also its virtual address. */
#ifndef KERNEL_MM_PAGE_ALLOC_H
#define KERNEL_MM_PAGE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "../../boot/boot_info.h"

#define PAGE_SIZE 4096ul

/* Take every usable region of the boot memory map, minus the kernel image
 * and the first MiB. */
void page_alloc_init(const struct boot_info *bi);
/* End of the highest usable RAM, bytes. */
uint64_t page_alloc_ram_top(void);
/* Frames below bytes are mapped now: hand them out too. */
void page_alloc_map_limit(uint64_t bytes);
/* n contiguous pages (contents undefined), or NULL. */
void *page_alloc(size_t n);
void page_free(void *p, size_t n);
/* Totals in pages. */
void page_alloc_stats(uint64_t *total, uint64_t *free);
/* The fewest free pages there were since the last call (or boot); starts
 * the next interval at the count free now. */
uint64_t page_alloc_lowest_free(void);

#endif
