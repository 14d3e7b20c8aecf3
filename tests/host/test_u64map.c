/*
 * lib/u64map: lookups, replacement, removal and iteration against a
 * plain array model over a seeded random sequence; the values of wide
 * entries and sets; errors (key 0, a map not initialised, allocation
 * failures, which leave the map as it was); the table's size bound as
 * it grows and shrinks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/u64map.h"
#include "shim/host.h"
#include "test.h"

#define NKEYS 4096	/* the model's key space: 1..NKEYS, times a stride */

/* Key i of the model: multiples of 16 KiB, as tree block addresses. */
static uint64_t key_of(uint32_t i)
{
	return (uint64_t)i << 14;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Whether m holds exactly the model's keys and values (have[i]: key i
 * present with value val[i]), through get and through iteration. */
static int same_as_model(const struct u64map *m, const char *have,
			 const uint64_t *val)
{
	uint32_t i, pos = 0, n = 0, seen = 0;
	uint64_t key, v;
	char *visited = calloc(NKEYS + 1, 1);

	for (i = 1; i <= NKEYS; i++) {
		int ret = u64map_get(m, key_of(i), &v);

		n += have[i] != 0;
		if (have[i] ? ret || v != val[i] : ret != -ENOENT)
			goto out_free;
	}
	while (u64map_next(m, &pos, &key, &v)) {
		i = (uint32_t)(key >> 14);
		if (key != key_of(i) || i < 1 || i > NKEYS || !have[i] ||
		    visited[i] || v != val[i])
			goto out_free;
		visited[i] = 1;
		seen++;
	}
out_free:
	free(visited);
	return seen == n && m->n == n;
}

TEST(u64map, random_against_model)
{
	static char have[NKEYS + 1];
	static uint64_t val[NKEYS + 1];
	uint64_t s = 0x2545f4914f6cdd1dull, v;
	struct u64map m;
	int op;

	memset(have, 0, sizeof(have));
	u64map_init(&m, 1);
	CHECK(same_as_model(&m, have, val));
	for (op = 0; op < 200000; op++) {
		uint32_t i = 1 + (uint32_t)(rnd(&s) % NKEYS);
		/* phases that favour adding, then removing, then a mix, so
		 * the table grows and shrinks */
		uint64_t add = op < 60000 ? 80 : op < 120000 ? 15 : 50;

		if (rnd(&s) % 100 < add) {
			v = rnd(&s);
			CHECK_OK(u64map_put(&m, key_of(i), &v));
			have[i] = 1;
			val[i] = v;
		} else {
			CHECK_EQ(u64map_remove(&m, key_of(i)),
				 have[i] ? 0 : -ENOENT);
			have[i] = 0;
		}
		if (op % 5000 == 0)
			CHECK(same_as_model(&m, have, val));
	}
	CHECK(same_as_model(&m, have, val));
	u64map_free(&m);
	CHECK_EQ(m.n, 0);
	CHECK_EQ(u64map_get(&m, key_of(1), NULL), -ENOENT);
}

/* A full smallest table (31 keys in 64 entries: long probe runs, some
 * wrapping past the end): removing any one key keeps every other. */
TEST(u64map, remove_each_from_full_table)
{
	uint64_t keys[31], s = 99, v;
	struct u64map m;
	int set, i, j;

	u64map_init(&m, 1);
	for (set = 0; set < 50; set++) {
		for (i = 0; i < 31; i++) {
			do {	/* distinct and not 0 */
				keys[i] = (rnd(&s) & ~4095ull) | 4096;
				for (j = 0; j < i && keys[j] != keys[i]; j++)
					;
			} while (j < i);
		}
		for (i = 0; i < 31; i++) {
			for (j = 0; j < 31; j++) {
				v = keys[j] + 1;
				CHECK_OK(u64map_put(&m, keys[j], &v));
			}
			CHECK_EQ(m.cap, 64);
			CHECK_OK(u64map_remove(&m, keys[i]));
			CHECK_EQ(u64map_get(&m, keys[i], &v), -ENOENT);
			for (j = 0; j < 31; j++) {
				if (j == i)
					continue;
				CHECK_OK(u64map_get(&m, keys[j], &v));
				CHECK_EQ(v, keys[j] + 1);
			}
			u64map_free(&m);
		}
	}
}

/* Entries of two values, replaced, and sets (no values). */
TEST(u64map, wide_entries_and_sets)
{
	struct u64map m, set;
	uint64_t v[2], key;
	uint32_t i, pos = 0, n = 0;

	u64map_init(&m, 2);
	u64map_init(&set, 0);
	for (i = 1; i <= 1000; i++) {
		v[0] = i * 3;
		v[1] = ~(uint64_t)i;
		CHECK_OK(u64map_put(&m, i, v));
		CHECK_OK(u64map_put(&set, i * 7, NULL));
	}
	CHECK_OK(u64map_put(&set, 7, NULL));	/* again: no change */
	CHECK_EQ(set.n, 1000);
	CHECK_OK(u64map_get(&m, 500, v));
	CHECK(v[0] == 1500 && v[1] == ~500ull);
	v[1] = 42;
	CHECK_OK(u64map_put(&m, 500, v));
	v[0] = v[1] = 0;
	CHECK_OK(u64map_get(&m, 500, v));
	CHECK(v[0] == 1500 && v[1] == 42);
	CHECK_EQ(m.n, 1000);
	for (i = 1; i <= 7000; i++)
		CHECK_EQ(u64map_get(&set, i, NULL), i % 7 ? -ENOENT : 0);
	while (u64map_next(&set, &pos, &key, NULL)) {
		CHECK_EQ(key % 7, 0);
		n++;
	}
	CHECK_EQ(n, 1000);
	u64map_free(&m);
	u64map_free(&set);
}

TEST(u64map, errors)
{
	struct u64map m, zeroed;
	uint64_t v = 5, key;
	uint32_t pos = 0;

	u64map_init(&m, 1);
	CHECK_EQ(u64map_put(&m, 0, &v), -EINVAL);
	CHECK_EQ(u64map_remove(&m, 0), -ENOENT);
	CHECK_EQ(u64map_remove(&m, 1), -ENOENT);
	CHECK_EQ(u64map_get(&m, 0, &v), -ENOENT);
	CHECK_EQ(u64map_next(&m, &pos, &key, NULL), 0);
	memset(&zeroed, 0, sizeof(zeroed));	/* never initialised */
	CHECK_EQ(u64map_put(&zeroed, 1, &v), -EINVAL);
	u64map_free(&m);
}

/* A failed allocation leaves the map as it was and usable. */
TEST(u64map, enomem_keeps_map)
{
	struct u64map m;
	uint64_t i, v;
	int ret;

	host_alloc_fail_after(0);
	u64map_init(&m, 1);
	v = 1;
	ret = u64map_put(&m, 1, &v);
	host_alloc_fail_after(-1);
	CHECK_EQ(ret, -ENOMEM);
	CHECK_EQ(m.n, 0);
	for (i = 1; i <= 32; i++)	/* fills the first table to half */
		CHECK_OK(u64map_put(&m, i, &i));
	host_alloc_fail_after(0);
	v = 99;
	ret = u64map_put(&m, 33, &v);	/* needs a larger table */
	if (ret == 0)
		ret = -1;
	if (ret == -ENOMEM)
		ret = u64map_put(&m, 5, &v);	/* a replacement needs none */
	host_alloc_fail_after(-1);
	CHECK_EQ(ret, 0);
	CHECK_EQ(m.n, 32);
	CHECK_EQ(u64map_get(&m, 33, NULL), -ENOENT);
	CHECK_OK(u64map_get(&m, 5, &v));
	CHECK_EQ(v, 99);
	for (i = 1; i <= 32; i++)
		CHECK_OK(u64map_get(&m, i, NULL));
	CHECK_OK(u64map_put(&m, 33, &v));
	CHECK_EQ(m.n, 33);
	u64map_free(&m);
}

/* The table stays within 8 entries a key as it grows and shrinks (and
 * within the first table's 64 when nearly empty). */
TEST(u64map, memory_bounded)
{
	struct u64map m;
	uint64_t i, max = 0;

	u64map_init(&m, 1);
	for (i = 1; i <= 100000; i++) {
		CHECK_OK(u64map_put(&m, i << 12, &i));
		CHECK(m.cap <= 4 * m.n || m.cap == 64);
	}
	for (i = 1; i <= 100000; i++) {
		CHECK_OK(u64map_remove(&m, i << 12));
		CHECK(m.cap <= 8 * m.n || m.cap == 64);
		max = m.cap > max ? m.cap : max;
	}
	CHECK_EQ(max, 262144);
	CHECK_EQ(m.cap, 64);
	CHECK_EQ(m.n, 0);
	u64map_free(&m);
}
