/*
 * Balance: choose block groups with btrfs balance's filters and relocate
 * each (relocation.c), as `btrfs balance start` does. A group is chosen
 * when its type was asked for and it passes every filter given for that
 * type; limit counts the groups of a type chosen so far. Converting sets
 * the profile new chunks of that type get, then relocates the chosen
 * groups into them (soft: only those not already of that profile).
 *
 * The groups are listed first (their starts), then relocated one at a
 * time; groups made meanwhile (where the data went) are not visited.
 * SYSTEM groups are left alone: ghee never makes a SYSTEM chunk at run
 * time, so the chunk tree has nowhere to move to.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "block_group.h"
#include "fs.h"
#include "fs_info.h"
#include "relocation.h"

/* A group as balance sees it. */
struct bal_group {
	u64 start, length, used, flags;
	u64 physical[CHUNK_MAX_STRIPES];
	u32 num_stripes;
};

/* Which filter set (FS_BAL_DATA...) a group's flags belong to. */
static int type_of(u64 flags)
{
	if (flags & BTRFS_BLOCK_GROUP_SYSTEM)
		return FS_BAL_SYS;
	return flags & BTRFS_BLOCK_GROUP_METADATA ? FS_BAL_META : FS_BAL_DATA;
}

/* The profile bits of flags, with FS_BAL_SINGLE for single. */
static u64 profile_of(u64 flags)
{
	u64 p = flags & BTRFS_BLOCK_GROUP_PROFILE_MASK;

	return p ? p : FS_BAL_SINGLE;
}

/* Used share of g in [min, max) percent, as Linux's usage filters. */
static int usage_passes(const struct fs_balance_filter *f,
			const struct bal_group *g)
{
	u64 lo = g->length * f->usage_min / 100;
	u64 hi = f->usage_max >= 100 ? g->length + 1 :
		 g->length * f->usage_max / 100;

	if (f->usage_min == 0 && f->usage_max == 0)
		hi = 1;		/* usage=0: only empty groups */
	return g->used >= lo && g->used < hi;
}

static int passes(struct fs_info *fs, const struct fs_balance_filter *f,
		  const struct bal_group *g)
{
	u32 i;
	int hit;

	if ((f->flags & FS_BAL_USAGE) && !usage_passes(f, g))
		return 0;
	if ((f->flags & FS_BAL_DEVID) && f->devid != fs->devid)
		return 0;
	if (f->flags & FS_BAL_DRANGE) {
		for (i = 0, hit = 0; i < g->num_stripes; i++)
			if (g->physical[i] < f->pend &&
			    g->physical[i] + g->length > f->pstart)
				hit = 1;
		if (!hit)
			return 0;
	}
	if ((f->flags & FS_BAL_VRANGE) &&
	    !(g->start < f->vend && g->start + g->length > f->vstart))
		return 0;
	if ((f->flags & FS_BAL_PROFILES) && !(profile_of(g->flags) &
					      f->profiles))
		return 0;
	if ((f->flags & FS_BAL_CONVERT) && (f->flags & FS_BAL_SOFT) &&
	    profile_of(g->flags) == f->target)
		return 0;
	return 1;
}

/* Every group, in address order. */
static int list_groups(struct fs_info *fs, struct bal_group **out, u32 *n)
{
	struct bal_group *v;
	u32 i;

	mutex_lock(&fs->alloc_lock);
	*n = fs->space.nbg;
	v = kzalloc((*n + 1) * sizeof(*v));
	for (i = 0; v && i < *n; i++) {
		const struct block_group *bg = fs->space.bg[i];
		const struct chunk_mapping *m = volumes_lookup(fs, bg->start,
							       1);

		v[i].start = bg->start;
		v[i].length = bg->length;
		v[i].used = bg->used;
		v[i].flags = bg->flags;
		if (m) {
			v[i].num_stripes = m->num_stripes;
			memcpy(v[i].physical, m->physical,
			       sizeof(m->physical));
		}
	}
	mutex_unlock(&fs->alloc_lock);
	*out = v;
	return v ? 0 : -ENOMEM;
}

/* Convert: new chunks of the converted types get the target profile. */
static void set_targets(struct fs_info *fs, const struct fs_balance *b)
{
	const struct fs_balance_filter *d = &b->f[FS_BAL_DATA];
	const struct fs_balance_filter *m = &b->f[FS_BAL_META];

	mutex_lock(&fs->alloc_lock);
	if ((b->types & (1u << FS_BAL_DATA)) && (d->flags & FS_BAL_CONVERT))
		fs->space.data_profile = d->target & ~FS_BAL_SINGLE;
	if ((b->types & (1u << FS_BAL_META)) && (m->flags & FS_BAL_CONVERT))
		fs->space.meta_profile = m->target & ~FS_BAL_SINGLE;
	mutex_unlock(&fs->alloc_lock);
}

/*
 * Relocate the groups b chooses; b->considered and b->relocated say how
 * many were looked at and moved. Returns 0, or the first error (groups
 * relocated before it stay relocated).
 */
int fs_balance(struct fs_info *fs, struct fs_balance *b)
{
	struct bal_group *v;
	u64 chosen[3] = { 0, 0, 0 };
	u32 n, i;
	int ret = list_groups(fs, &v, &n);

	b->considered = b->relocated = 0;
	/* Relocation cannot walk a half-dropped tree: let the cleaner
	 * finish the deleted subvolumes first. */
	if (ret == 0)
		ret = fs_subvol_sync(fs);
	if (ret) {
		kfree(v);
		return ret;
	}
	set_targets(fs, b);
	for (i = 0; i < n && ret == 0; i++) {
		int t = type_of(v[i].flags);
		const struct fs_balance_filter *f = &b->f[t];
		struct reloc_stats st;

		b->considered++;
		if (!(b->types & (1u << t)) || t == FS_BAL_SYS ||
		    !passes(fs, f, &v[i]))
			continue;
		chosen[t]++;
		if ((f->flags & FS_BAL_LIMIT) &&
		    (chosen[t] < f->limit_min || chosen[t] > f->limit_max))
			continue;
		ret = reloc_block_group(fs, v[i].start, &st);
		if (ret == 0)
			b->relocated++;
	}
	kfree(v);
	return ret;
}
