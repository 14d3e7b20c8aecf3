/*
 * A hash map from u64 keys to a fixed number of u64 values each
 * (lib/u64map.c says how it works). 0 is never a key: callers key by
 * disk addresses and inode numbers, which are never 0.
 *
 * Not locked: the caller serialises every use of one map.
 *
 *	struct u64map m;
 *	uint64_t v = 7;
 *
 *	u64map_init(&m, 1);
 *	ret = u64map_put(&m, key, &v);
 *	if (u64map_get(&m, key, &v) == 0)
 *		... v is key's value ...
 *	u64map_free(&m);
 */
#ifndef LIB_U64MAP_H
#define LIB_U64MAP_H

#include <stdint.h>

struct u64map {
	uint64_t *slot;		/* cap entries of `stride` words: the key
				 * (0: the entry is empty), then its values */
	uint32_t cap;		/* entries, a power of two; 0: none yet */
	uint32_t n;		/* keys held */
	uint32_t stride;	/* words an entry: 1 + values per key */
};

/* Make m empty with `width` values per key (0: a set of keys). */
void u64map_init(struct u64map *m, uint32_t width);
/* Free m's memory; m stays usable, empty, with its width. */
void u64map_free(struct u64map *m);

/* Copy key's width values to val (NULL: only ask whether key is in m).
 * 0, or -ENOENT when absent. */
int u64map_get(const struct u64map *m, uint64_t key, uint64_t *val);
/* Map key to the width words at val (add it, or replace its values).
 * 0, -EINVAL (key 0, or m not initialised) or -ENOMEM (m unchanged). */
int u64map_put(struct u64map *m, uint64_t key, const uint64_t *val);
/* Remove key. 0, or -ENOENT when absent. */
int u64map_remove(struct u64map *m, uint64_t key);

/* Step through the entries, in no particular order: start with *pos 0;
 * 1 with *key and the values (to val, unless NULL) copied, 0 after
 * the last. m must not change during the walk. */
int u64map_next(const struct u64map *m, uint32_t *pos, uint64_t *key,
		uint64_t *val);

/* qsort's order of two uint64_t values, ascending (a map's keys taken
 * out and sorted). */
int u64_cmp(const void *a, const void *b);

#endif
