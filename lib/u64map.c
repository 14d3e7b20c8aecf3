/*
 * A hash map from u64 keys to a fixed number of u64 values (u64map.h):
 * relocation's and defrag's maps of tree blocks (old address -> new),
 * send's sets of inodes.
 *
 * Design: open addressing with linear probing in one array of entries,
 * each the key followed by its values, so that a lookup reads one cache
 * line. A key's home entry is taken from bits 32 and up of
 * key * 2^64/phi (Fibonacci hashing: addresses that are multiples of the
 * node size spread evenly).
 * Removal shifts the entries after the removed one back towards their
 * homes (no tombstones), so probe runs stay as short as if the removed
 * keys had never been there.
 *
 * Invariants: cap is 0 or a power of two; at most half the entries are
 * used, so every probe ends at an empty entry; every key lies between
 * its home and the first empty entry after it.
 *
 * Memory: the table doubles when an insert would fill more than half of
 * it and halves when a removal leaves it less than 1/8 full, so it holds
 * at most 8 entries per key (and MIN_CAP when nearly empty); a resize
 * holds the old and the new table at once.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <ghee/alloc.h>

#include "u64map.h"

#define MIN_CAP 64u		/* entries of the first table */
#define MAX_CAP (1u << 31)	/* entries: the largest power of two a
				 * u32 holds */

static uint64_t *entry(const struct u64map *m, uint32_t i)
{
	return m->slot + (size_t)i * m->stride;
}

static uint32_t home(const struct u64map *m, uint64_t key)
{
	return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (m->cap - 1);
}

/* The entry holding key, or the empty one where it would go. m->cap > 0. */
static uint32_t probe(const struct u64map *m, uint64_t key)
{
	uint32_t i = home(m, key);

	while (entry(m, i)[0] && entry(m, i)[0] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* Move every entry into a new table of cap entries. 0 or -ENOMEM (m
 * unchanged). */
static int resize(struct u64map *m, uint32_t cap)
{
	struct u64map g = { NULL, cap, m->n, m->stride };
	uint32_t i;

	g.slot = kzalloc((size_t)cap * m->stride * sizeof(uint64_t));
	if (!g.slot)
		return -ENOMEM;
	for (i = 0; i < m->cap; i++)
		if (entry(m, i)[0])
			memcpy(entry(&g, probe(&g, entry(m, i)[0])),
			       entry(m, i), m->stride * sizeof(uint64_t));
	kfree(m->slot);
	*m = g;
	return 0;
}

void u64map_init(struct u64map *m, uint32_t width)
{
	m->slot = NULL;
	m->cap = m->n = 0;
	m->stride = 1 + width;
}

void u64map_free(struct u64map *m)
{
	kfree(m->slot);
	m->slot = NULL;
	m->cap = m->n = 0;
}

int u64map_get(const struct u64map *m, uint64_t key, uint64_t *val)
{
	const uint64_t *e;

	if (!m->cap || !key)
		return -ENOENT;
	e = entry(m, probe(m, key));
	if (!e[0])
		return -ENOENT;
	if (val)
		memcpy(val, e + 1, (m->stride - 1) * sizeof(uint64_t));
	return 0;
}

int u64map_put(struct u64map *m, uint64_t key, const uint64_t *val)
{
	uint64_t *e = NULL;
	int ret;

	if (!key || !m->stride)
		return -EINVAL;
	if (m->cap)
		e = entry(m, probe(m, key));
	if (!e || !e[0]) {
		if (2 * ((uint64_t)m->n + 1) > m->cap) {
			if (m->cap == MAX_CAP)
				return -ENOMEM;
			ret = resize(m, m->cap ? 2 * m->cap : MIN_CAP);
			if (ret)
				return ret;
			e = entry(m, probe(m, key));
		}
		e[0] = key;
		m->n++;
	}
	if (m->stride > 1)	/* a set's val may be NULL */
		memcpy(e + 1, val, (m->stride - 1) * sizeof(uint64_t));
	return 0;
}

int u64map_remove(struct u64map *m, uint64_t key)
{
	uint32_t mask = m->cap - 1, i, j;

	if (!m->cap || !key || !entry(m, i = probe(m, key))[0])
		return -ENOENT;
	/* Fill the hole at i with the next entry of the run that may sit
	 * there (its home is not between i and it), then the hole it left,
	 * until the run ends. */
	for (j = (i + 1) & mask; entry(m, j)[0]; j = (j + 1) & mask)
		if (((j - home(m, entry(m, j)[0])) & mask) >= ((j - i) & mask)) {
			memcpy(entry(m, i), entry(m, j),
			       m->stride * sizeof(uint64_t));
			i = j;
		}
	entry(m, i)[0] = 0;
	m->n--;
	/* A table that fails to shrink still holds every key: it only keeps
	 * its memory until a later removal shrinks it. */
	if (m->cap > MIN_CAP && 8 * (uint64_t)m->n < m->cap)
		(void)resize(m, m->cap / 2);
	return 0;
}

int u64map_next(const struct u64map *m, uint32_t *pos, uint64_t *key,
		uint64_t *val)
{
	for (; *pos < m->cap; (*pos)++) {
		const uint64_t *e = entry(m, *pos);

		if (e[0]) {
			*key = e[0];
			if (val)
				memcpy(val, e + 1,
				       (m->stride - 1) * sizeof(uint64_t));
			(*pos)++;
			return 1;
		}
	}
	return 0;
}

int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}
