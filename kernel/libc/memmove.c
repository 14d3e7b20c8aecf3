/*
 * memmove for the kernel, in place of newlib's. newlib's C memmove copies
 * byte by byte whenever the two ranges overlap with the destination
 * higher, or either is not 8-byte aligned: the case of every tree leaf
 * insert and delete (leaf.c shifts item headers up and item data down by
 * an item's size). Under QEMU's TCG a byte is a load and a store of their
 * own, and that copy was 14% of the small-file bench. This one moves
 * eight bytes a turn (x86-64 loads and stores unaligned words at full
 * speed), front to back when the destination is lower, else back to
 * front, each word loaded before the store that could overwrite it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* No loop below may be turned back into a call of memmove itself. */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	uint64_t v;

	if (d == s || n == 0)
		return dst;
	if (d < s || d >= s + n) {
		for (; n >= 8; n -= 8, d += 8, s += 8) {
			__builtin_memcpy(&v, s, 8);
			__builtin_memcpy(d, &v, 8);
		}
		while (n--)
			*d++ = *s++;
		return dst;
	}
	d += n;
	s += n;
	for (; n >= 8; n -= 8) {
		d -= 8;
		s -= 8;
		__builtin_memcpy(&v, s, 8);
		__builtin_memcpy(d, &v, 8);
	}
	while (n--)
		*--d = *--s;
	return dst;
}
