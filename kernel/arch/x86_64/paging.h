/* Kernel page tables (paging.c). Virtual addresses equal physical ones. */
#ifndef ARCH_X86_64_PAGING_H
#define ARCH_X86_64_PAGING_H

/* Build and load the kernel's page tables; needs page_alloc. Panics when
 * it cannot get the few pages the tables need. */
void paging_init(void);
/* Map (present = 1) or unmap (0) the 4 KiB page at page, splitting a
 * 2 MiB mapping when needed. 0, -EINVAL (not mapped by paging_init or
 * unaligned) or -ENOMEM. */
int paging_set_present(void *page, int present);

#endif
