/*
 * Sets of subvolume trees, each kept once (interned): the sharing
 * structure of the commit's quota accounting (qgroup_account.c) and of
 * the back-reference walker's cache (backref_cache.c).
 *
 * Why: the set of trees reaching an extent is the set of trees reaching
 * its leaf, and thousands of snapshots share a leaf, so a set is large
 * while the number of distinct sets is small (the defrag of issue 16:
 * every leaf of a file has "the snapshots not yet stepped" before a
 * commit and "those minus the ones stepped in it" after). With each set
 * held once and named by a small id, an extent's set costs an id (its
 * leaf's), two sets are compared by their ids, and both views of a
 * commit name equal sets by one id: an extent whose set did not change
 * is recognised at once, whatever its size.
 *
 * Layout: the roots of every set in one array of u64, each set's
 * contiguous and sorted ascending, without repeats; a record (where,
 * how many) per id; a map from a hash of the roots to the id, probed on
 * (hash + 1, ...) when two sets share a hash, so that equal sets get
 * one id and no two ids hold equal sets. Id 0 is the empty set.
 *
 * Memory: what the distinct sets hold, plus the map; nothing is freed
 * before rootsets_reset (its user bounds it: rootsets_bytes).
 * Not locked: one task uses a table.
 */
#include <ghee/errno.h>
#include <stdlib.h>

#include <ghee/alloc.h>

#include "backref_int.h"

void rootsets_init(struct rootsets *s)
{
	memset(s, 0, sizeof(*s));
	u64map_init(&s->by_hash, 1);
}

/* Forget every set and free the memory (ids given out are no longer
 * valid); s stays usable. */
void rootsets_reset(struct rootsets *s)
{
	u64map_free(&s->by_hash);
	kfree(s->ids);
	kfree(s->v);
	kfree(s->tmp);
	memset(s, 0, sizeof(*s));
	u64map_init(&s->by_hash, 1);
}

/* Bytes the table holds (its user's bound). */
u64 rootsets_bytes(const struct rootsets *s)
{
	return (u64)s->ids_cap * sizeof(*s->ids) +
	       (u64)s->cap * sizeof(*s->v) +
	       (u64)s->tmp_cap * sizeof(*s->tmp) +
	       (u64)s->by_hash.cap * s->by_hash.stride * sizeof(u64);
}

/* The roots of set id: *v (valid until the next intern), *n. */
void rootsets_get(const struct rootsets *s, u32 id, const u64 **v, u32 *n)
{
	if (id == 0) {
		*v = NULL;
		*n = 0;
		return;
	}
	*v = s->ids + s->v[id - 1].at;
	*n = s->v[id - 1].n;
}

/* Whether set id holds root x. */
int rootsets_has(const struct rootsets *s, u32 id, u64 x)
{
	const u64 *v;
	u32 n, lo = 0, hi;

	rootsets_get(s, id, &v, &n);
	for (hi = n; lo < hi;) {
		u32 mid = lo + (hi - lo) / 2;

		if (v[mid] == x)
			return 1;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static u64 hash_of(const u64 *v, u32 n)
{
	u64 h = 0x9e3779b97f4a7c15ull ^ n;
	u32 i;

	for (i = 0; i < n; i++) {
		h ^= v[i];
		h *= 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
	}
	return h ? h : 1;
}

/*
 * The id of the set of the n roots at v (sorted ascending, no repeats;
 * not in s's array of sets, which may move), added when new. 0 or
 * -ENOMEM.
 */
int rootsets_intern(struct rootsets *s, const u64 *v, u32 n, u32 *id)
{
	u64 h = hash_of(v, n), at;
	const u64 *have;
	u32 hn;
	int ret;

	*id = 0;
	if (n == 0)
		return 0;
	for (;; h = h + 1 ? h + 1 : 1) {
		if (u64map_get(&s->by_hash, h, &at))
			break;
		rootsets_get(s, (u32)at, &have, &hn);
		if (hn == n && !memcmp(have, v, n * sizeof(*v))) {
			*id = (u32)at;
			return 0;
		}
	}
	ret = array_grow((void **)&s->v, &s->cap, s->n, sizeof(*s->v));
	while (ret == 0 && s->nids + n > s->ids_cap)
		ret = array_grow((void **)&s->ids, &s->ids_cap, s->ids_cap,
				   sizeof(*s->ids));
	at = s->n + 1;
	if (ret == 0)
		ret = u64map_put(&s->by_hash, h, &at);
	if (ret)
		return ret;
	memcpy(s->ids + s->nids, v, n * sizeof(*v));
	s->v[s->n].at = s->nids;
	s->v[s->n].n = n;
	s->nids += n;
	*id = ++s->n;
	return 0;
}

/* Make room for n roots in s->tmp. */
static int tmp_room(struct rootsets *s, u32 n)
{
	int ret = 0;

	while (ret == 0 && n > s->tmp_cap)
		ret = array_grow((void **)&s->tmp, &s->tmp_cap, s->tmp_cap,
				   sizeof(*s->tmp));
	return ret;
}

/* The id of the union of sets a and b. 0 or -ENOMEM. */
int rootsets_union(struct rootsets *s, u32 a, u32 b, u32 *id)
{
	const u64 *x, *y;
	u32 nx, ny, i = 0, j = 0, n = 0;
	int ret;

	if (a == b || b == 0 || a == 0) {
		*id = a ? a : b;
		return 0;
	}
	rootsets_get(s, a, &x, &nx);
	rootsets_get(s, b, &y, &ny);
	ret = tmp_room(s, nx + ny);
	if (ret)
		return ret;
	while (i < nx || j < ny) {
		if (j == ny || (i < nx && x[i] < y[j]))
			s->tmp[n++] = x[i++];
		else if (i == nx || y[j] < x[i])
			s->tmp[n++] = y[j++];
		else {
			s->tmp[n++] = x[i++];
			j++;
		}
	}
	return rootsets_intern(s, s->tmp, n, id);
}

/*
 * The id of the union of the n sets ids[] (reordered here), made at once:
 * a block's set is the union of its parents' sets, and a leaf of a tree
 * that 50 snapshots each reach through a node of their own has 50
 * parents. Pairwise unions would make and intern each partial union
 * (quadratic in the parents, and kept in the table); this takes each
 * distinct set once, sorts their roots together and interns only the
 * result. 0 or -ENOMEM.
 */
int rootsets_union_ids(struct rootsets *s, u64 *ids, u32 n, u32 *id)
{
	u32 i, m = 0, total = 0, k, cnt;
	const u64 *v;
	int ret;

	qsort(ids, n, sizeof(*ids), u64_cmp);
	for (i = 0; i < n; i++)
		if (ids[i] && (!m || ids[m - 1] != ids[i]))
			ids[m++] = ids[i];
	if (m <= 2)
		return rootsets_union(s, m ? (u32)ids[0] : 0,
				      m > 1 ? (u32)ids[1] : 0, id);
	for (i = 0; i < m; i++) {
		rootsets_get(s, (u32)ids[i], &v, &cnt);
		total += cnt;
	}
	ret = tmp_room(s, total);
	if (ret)
		return ret;
	for (i = 0, k = 0; i < m; i++) {
		rootsets_get(s, (u32)ids[i], &v, &cnt);
		memcpy(s->tmp + k, v, cnt * sizeof(*v));
		k += cnt;
	}
	qsort(s->tmp, total, sizeof(*s->tmp), u64_cmp);
	for (i = 0, k = 0; i < total; i++)
		if (!k || s->tmp[k - 1] != s->tmp[i])
			s->tmp[k++] = s->tmp[i];
	return rootsets_intern(s, s->tmp, k, id);
}

/* The id of set a with root x added. 0 or -ENOMEM. */
int rootsets_add(struct rootsets *s, u32 a, u64 x, u32 *id)
{
	u32 one;
	int ret = rootsets_intern(s, &x, 1, &one);

	return ret ? ret : rootsets_union(s, a, one, id);
}
