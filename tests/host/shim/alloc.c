/* Host kmalloc: the C library's allocator (so ASan sees every object). */
#include <stdlib.h>

#include <ghee/alloc.h>

void *kmalloc(size_t n)
{
	return n ? malloc(n) : NULL;
}

void *kzalloc(size_t n)
{
	return n ? calloc(1, n) : NULL;
}

void kfree(void *p)
{
	free(p);
}
