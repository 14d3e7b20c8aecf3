/* Kernel side of kmalloc (the allocation API is include/ghee/alloc.h). */
#ifndef KERNEL_MM_KMALLOC_H
#define KERNEL_MM_KMALLOC_H

/* Set up the size-class caches; once, at boot, before any kmalloc. */
void kmalloc_init(void);
/* Print per-cache use (the `mem` command). */
void kmalloc_report(void);

#endif
