/* The kernel's own symbol table: function names by address (kernel/ksym.c). */
#ifndef KERNEL_KSYM_H
#define KERNEL_KSYM_H

#include <stdint.h>

#define KSYM_NONE	UINT32_MAX	/* ksym_find: no function there */

/* The index of the function holding code address addr, or KSYM_NONE. */
uint32_t ksym_find(uint64_t addr);
/* The name of function i (an index ksym_find gave). */
const char *ksym_name(uint32_t i);
/* The start address of function i. */
uint64_t ksym_addr(uint32_t i);

#endif
