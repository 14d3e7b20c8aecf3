/*
 * What the back-reference walker (backref.c) remembers across walks in
 * one view: the roots reaching each tree block it resolved, and the root
 * records it read.
 *
 * Why: the commit's quota accounting resolves every extent whose
 * references changed, often thousands, and most of them sit in a few
 * leaves whose parents and snapshots' root blocks are the same. Without
 * memory each extent walks those blocks up again: extents x snapshots
 * searches. With it a block's roots are found once per commit and view,
 * so the cost follows the blocks met, not the extents times the
 * snapshots (issue 13).
 *
 * Valid while the view does not change: BACKREF_COMMIT until the next
 * commit (a walk that finds fs->generation moved empties the cache
 * first), BACKREF_CURRENT only while its user keeps every change out
 * (the accounting: trans_sem held for write, every delayed ref run).
 * Not locked: one task uses a cache.
 *
 * Two things are kept per block: its edges up (the roots of its normal
 * refs and the blocks above it: what one block costs in searches), for
 * every block a walk went through, and all the roots reaching it,
 * sorted, for the blocks walks started from (leaves of data extents,
 * tree blocks), which later extents of the same leaf find at once and
 * in order.
 *
 * Memory: one array of u64 holding both (a block's are contiguous in
 * it), and maps from block to its range.
 */
#include <ghee/errno.h>
#include <stdlib.h>

#include <ghee/alloc.h>

#include "backref_int.h"
#include "fs_info.h"

/*
 * A cache for walks of fs in view (see above). The accounting makes one
 * per view for a commit. Returns 0 or -ENOMEM.
 */
int backref_cache_new(struct fs_info *fs, enum backref_view view,
		      struct backref_cache **out)
{
	struct backref_cache *c = kzalloc(sizeof(*c));

	*out = c;
	if (!c)
		return -ENOMEM;
	c->fs = fs;
	c->view = view;
	u64map_init(&c->sets, 2);
	u64map_init(&c->edges, 3);
	u64map_init(&c->roots.idx, 1);
	return 0;
}

/* Forget everything (the view moved on). */
void backref_cache_reset(struct backref_cache *c)
{
	u64map_free(&c->sets);
	u64map_free(&c->edges);
	c->nids = 0;
	backref_roots_reset(&c->roots);
}

void backref_cache_free(struct backref_cache *c)
{
	if (!c)
		return;
	backref_cache_reset(c);
	kfree(c->ids);
	kfree(c->roots.v);
	kfree(c);
}

/* Add to roots the roots reaching block bytenr, when known: 0, -ENOENT
 * when not, or -ENOMEM. */
int backref_cache_get(struct backref_cache *c, u64 bytenr,
		      struct u64map *roots)
{
	u64 at[2];
	u32 i;
	int ret = u64map_get(&c->sets, bytenr, at);

	for (i = 0; ret == 0 && i < at[1]; i++) {
		ret = backref_set_add(roots, c->ids[at[0] + i]);
		ret = ret < 0 ? ret : 0;
	}
	return ret;
}

static int u64_cmp(const void *x, const void *y)
{
	u64 a = *(const u64 *)x, b = *(const u64 *)y;

	return a < b ? -1 : a > b;
}

/* Remember roots as the roots reaching block bytenr, sorted (a walk
 * from a leaf whose roots are known then reports them in order: no
 * sort per extent). 0 or -ENOMEM. */
int backref_cache_put(struct backref_cache *c, u64 bytenr,
		      const struct u64map *roots)
{
	u64 at[2] = { c->nids, roots->n }, id;
	u32 pos = 0;
	int ret = 0;

	while (ret == 0 && u64map_next(roots, &pos, &id, NULL)) {
		ret = backref_grow((void **)&c->ids, &c->ids_cap, c->nids,
				   sizeof(*c->ids));
		if (ret == 0)
			c->ids[c->nids++] = id;
	}
	if (ret == 0 && roots->n > 1)
		qsort(c->ids + at[0], roots->n, sizeof(*c->ids), u64_cmp);
	if (ret == 0)
		ret = u64map_put(&c->sets, bytenr, at);
	return ret;
}

/* The roots reaching block bytenr, sorted, when known: *ids (valid
 * until the next put) and *n; 0 or -ENOENT. */
int backref_cache_roots(const struct backref_cache *c, u64 bytenr,
			const u64 **ids, u32 *n)
{
	u64 at[2];
	int ret = u64map_get(&c->sets, bytenr, at);

	if (ret == 0) {
		*ids = c->ids + at[0];
		*n = (u32)at[1];
	}
	return ret;
}

/* Add x to e: a root of its normal refs (root 1), or a block above. */
int backref_edges_add(struct backref_edges *e, int root, u64 x)
{
	u32 n = e->nroots + e->nparents;
	int ret = backref_grow((void **)&e->v, &e->cap, n, sizeof(*e->v));

	if (ret)
		return ret;
	if (!root) {
		e->v[n] = x;
		e->nparents++;
		return 0;
	}
	/* roots first: the first block above moves to the end */
	if (e->nparents)
		e->v[n] = e->v[e->nroots];
	e->v[e->nroots++] = x;
	return 0;
}

/* Fill e with the edges up from block bytenr, when known: 0, -ENOENT
 * when not, or -ENOMEM. */
int backref_cache_edges(struct backref_cache *c, u64 bytenr,
			struct backref_edges *e)
{
	u64 at[3];
	u32 i;
	int ret = u64map_get(&c->edges, bytenr, at);

	for (i = 0; ret == 0 && i < at[1] + at[2]; i++)
		ret = backref_edges_add(e, i < at[1], c->ids[at[0] + i]);
	return ret;
}

/* Remember e as the edges up from block bytenr. 0 or -ENOMEM. */
int backref_cache_put_edges(struct backref_cache *c, u64 bytenr,
			    const struct backref_edges *e)
{
	u64 at[3] = { c->nids, e->nroots, e->nparents };
	u32 i;
	int ret = 0;

	for (i = 0; ret == 0 && i < e->nroots + e->nparents; i++) {
		ret = backref_grow((void **)&c->ids, &c->ids_cap, c->nids,
				   sizeof(*c->ids));
		if (ret == 0)
			c->ids[c->nids++] = e->v[i];
	}
	if (ret == 0)
		ret = u64map_put(&c->edges, bytenr, at);
	return ret;
}
