/*
 * Two strings of one crc32c (crc_pair.h), from a birthday search over
 * 2^18 scrambled 8-letter strings.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../../lib/crc32c.h"
#include "crc_pair.h"

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* The 8-byte string of i: one letter a..p per 4 bits of i scrambled,
 * so strings differ all along (a CRC tells apart any two that differ
 * only within 32 bits). */
static void crc_candidate(char *s, uint32_t i)
{
	uint32_t x = i * 0x9e3779b1u;
	int j;

	for (j = 0; j < 8; j++)
		s[j] = (char)('a' + (x >> (4 * j) & 15));
	s[8] = 0;
}

int crc_pair(char *a, char *b)
{
	enum { N = 1 << 18 };
	uint64_t *h = malloc(N * sizeof(*h));
	char s[9];
	uint32_t i;
	int found = 0;

	if (!h)
		return 0;
	for (i = 0; i < N; i++) {
		crc_candidate(s, i);
		h[i] = (uint64_t)crc32c(~1u, s, 8) << 32 | i;
	}
	qsort(h, N, sizeof(*h), cmp_u64);
	for (i = 1; i < N && !found; i++) {
		found = h[i] >> 32 == h[i - 1] >> 32;
		if (found) {
			crc_candidate(a, (uint32_t)h[i - 1]);
			crc_candidate(b, (uint32_t)h[i]);
		}
	}
	free(h);
	return found;
}
