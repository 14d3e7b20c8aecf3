/*
 * The kernel's memmove (kernel/libc/memmove.c): every overlap, both
 * directions, every alignment and the lengths around a word, against a
 * byte-by-byte copy through a separate buffer.
 */
#include <stdint.h>
#include <string.h>

#include "ktest.h"

#define SPAN 96

/* Whether moving n bytes from buf + from to buf + to gives what a copy
 * through a separate buffer gives. */
static int move_matches(int from, int to, int n)
{
	unsigned char buf[SPAN], want[SPAN], tmp[SPAN];
	int i;

	for (i = 0; i < SPAN; i++)
		buf[i] = want[i] = (unsigned char)(i * 7 + 1);
	for (i = 0; i < n; i++)
		tmp[i] = want[from + i];
	for (i = 0; i < n; i++)
		want[to + i] = tmp[i];
	if (memmove(buf + to, buf + from, (size_t)n) != buf + to)
		return 0;
	return !memcmp(buf, want, SPAN);
}

KTEST(memmove, overlaps_both_ways)
{
	int from, to, n, bad = 0;

	for (n = 0; n <= 40; n++)
		for (from = 0; from + n <= SPAN && from < 24; from++)
			for (to = 0; to + n <= SPAN && to < 24; to++)
				if (!move_matches(from, to, n))
					bad++;
	KEXPECT_EQ(bad, 0);
}
