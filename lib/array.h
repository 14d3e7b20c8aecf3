/*
 * Growing arrays of kmalloc'ed memory (lib/array.c): the walkers of
 * fs/ (back-references, relocation, defrag, qgroups) collect lists whose
 * length they learn as they go.
 *
 *	struct thing *v = NULL;
 *	uint32_t n = 0, cap = 0;
 *
 *	ret = array_grow((void **)&v, &cap, n, sizeof(*v));
 *	if (ret == 0)
 *		v[n++] = x;
 *	...
 *	kfree(v);
 */
#ifndef LIB_ARRAY_H
#define LIB_ARRAY_H

#include <stddef.h>
#include <stdint.h>

/* Make room in array *v of *cap elements of size sz for element n (the
 * first n are kept), doubling it. 0 or -ENOMEM (*v unchanged then). */
int array_grow(void **v, uint32_t *cap, uint32_t n, size_t sz);

#endif
