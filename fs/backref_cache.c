/*
 * What the back-reference walker (backref.c) remembers across walks in
 * one view: the set of subvolume trees reaching each tree block it
 * resolved, the root records it read, and the leaf the last search of
 * each of a few trees found (backref_refs.c, hint_answer): the extents
 * a commit counts come mostly in the order of their items, so most
 * searches of the extent tree and of the tree holding the file items
 * land in the leaf the one before landed in (a drop of 50 snapshots of
 * 10,000 files: 2,873 searches instead of 130,304).
 *
 * Why: the commit's quota accounting resolves every extent whose
 * references changed, often thousands, and most of them sit in a few
 * leaves whose parents and snapshots' root blocks are the same. Without
 * memory each extent walks those blocks up again: extents x snapshots
 * searches. With it a block's set is found once per commit and view,
 * from its own references and its parents' sets (backref_root_set), so
 * the cost follows the blocks met, not the extents times the snapshots
 * (issue 13).
 *
 * Valid while the view does not change: BACKREF_COMMIT until the next
 * commit (a walk that finds fs->generation moved empties the cache
 * first), BACKREF_CURRENT only while its user keeps every change out
 * (the accounting: trans_sem held for write, every delayed ref run).
 * What a BACKREF_CURRENT cache found at a commit is what the next
 * commit's BACKREF_COMMIT view would find: backref_cache_take_sets
 * hands it over.
 * Not locked: one task uses a cache.
 *
 * Memory: a map from block to set id; the sets themselves live in a
 * table of interned sets (backref_sets.c) that the caches of both views
 * share, so a set both views see (most of them) is held once. Its user
 * bounds the whole (backref_cache_bytes, rootsets_bytes) and resets it.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>

#include "backref_int.h"
#include "fs_info.h"

/*
 * A cache for walks of fs in view (see above), naming its sets in rs.
 * The accounting makes one per view for a commit. Returns 0 or -ENOMEM.
 */
int backref_cache_new(struct fs_info *fs, enum backref_view view,
		      struct rootsets *rs, struct backref_cache **out)
{
	struct backref_cache *c = kzalloc(sizeof(*c));

	*out = c;
	if (!c)
		return -ENOMEM;
	c->fs = fs;
	c->view = view;
	c->rs = rs;
	u64map_init(&c->sets, 1);
	u64map_init(&c->roots.idx, 1);
	return 0;
}

/* Forget everything (the view moved on, or the sets were reset). */
void backref_cache_reset(struct backref_cache *c)
{
	u64map_free(&c->sets);
	backref_roots_reset(&c->roots);
	backref_hints_reset(c);
}

void backref_cache_free(struct backref_cache *c)
{
	if (!c)
		return;
	backref_cache_reset(c);
	kfree(c->roots.v);
	kfree(c);
}

/*
 * Give c (BACKREF_COMMIT) the block sets from (BACKREF_CURRENT) found, as
 * those of the commit roots of generation gen, and empty from's. Valid
 * when from's user kept every change out from its walks to the commit
 * of gen (the accounting, which runs after the commit's last change of
 * a subvolume tree): from's current roots are then gen's commit roots.
 * Both must name their sets in one table.
 */
void backref_cache_take_sets(struct backref_cache *c,
			     struct backref_cache *from, u64 gen)
{
	u64map_free(&c->sets);
	c->sets = from->sets;
	u64map_init(&from->sets, 1);
	c->gen = gen;
}

/* Bytes c holds but its table of sets (its user's bound). */
u64 backref_cache_bytes(const struct backref_cache *c)
{
	return (u64)c->roots.cap * sizeof(*c->roots.v) +
	       ((u64)c->sets.cap * c->sets.stride +
		(u64)c->roots.idx.cap * c->roots.idx.stride) * sizeof(u64);
}

/* The set (in c->rs) of the subvolume trees reaching block bytenr,
 * when known: 0, or -ENOENT when not. */
int backref_cache_set(const struct backref_cache *c, u64 bytenr, u32 *id)
{
	u64 v;
	int ret = u64map_get(&c->sets, bytenr, &v);

	if (ret == 0)
		*id = (u32)v;
	return ret;
}

/* Remember set id as the subvolume trees reaching block bytenr. 0 or
 * -ENOMEM. */
int backref_cache_put_set(struct backref_cache *c, u64 bytenr, u32 id)
{
	u64 v = id;

	return u64map_put(&c->sets, bytenr, &v);
}
