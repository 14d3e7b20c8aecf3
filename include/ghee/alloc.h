/*
 * Memory allocation service, implemented by the kernel (kernel/mm) and by the
 * host shims (tests/host/shim). Every allocation can fail: callers check for
 * NULL and return -ENOMEM.
 */
#ifndef GHEE_ALLOC_H
#define GHEE_ALLOC_H

#include <stddef.h>

/* Allocate n bytes, 16-byte aligned. NULL when out of memory or n == 0. */
void *kmalloc(size_t n);
/* Like kmalloc, but the memory is zeroed. */
void *kzalloc(size_t n);
/* Free memory from kmalloc/kzalloc. kfree(NULL) does nothing. */
void kfree(void *p);

#endif
