/* Growing arrays (lib/array.h). */
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/errno.h>

#include "array.h"

int array_grow(void **v, uint32_t *cap, uint32_t n, size_t sz)
{
	uint32_t c = *cap ? *cap * 2 : 16;
	void *nv;

	if (n < *cap)
		return 0;
	nv = kmalloc(c * sz);
	if (!nv)
		return -ENOMEM;
	if (n)
		memcpy(nv, *v, n * sz);
	kfree(*v);
	*v = nv;
	*cap = c;
	return 0;
}
