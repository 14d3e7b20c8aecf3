/* Kernel page tables (paging.c). Virtual addresses equal physical ones. */
#ifndef ARCH_X86_64_PAGING_H
#define ARCH_X86_64_PAGING_H

#include <stdint.h>

/* Build and load the kernel's page tables (all RAM), and let the page
 * allocator use all of it; needs page_alloc. Panics when it cannot get
 * the few pages the tables need. */
void paging_init(void);
/* End of the identity map, bytes (a multiple of 1 GiB, at least 4). */
uint64_t paging_mapped_top(void);
/* Pages of 4 KiB page tables made by splitting 2 MiB pages so far (they
 * are kept: allocator leak checks count them). */
uint64_t paging_table_pages(void);
/* Map (present = 1) or unmap (0) the 4 KiB page at page, splitting a
 * 2 MiB mapping when needed, on every CPU. The caller holds no spinlock.
 * 0, -EINVAL (not mapped by paging_init or unaligned) or -ENOMEM. */
int paging_set_present(void *page, int present);

#endif
