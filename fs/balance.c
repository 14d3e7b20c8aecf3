/*
 * Balance: choose block groups with btrfs balance's filters and relocate
 * each (relocation.c), as `btrfs balance start` does. A group is chosen
 * when its type was asked for and it passes every filter given for that
 * type; limit counts the groups of a type chosen so far. Converting sets
 * the profile new chunks of that type get, then relocates the chosen
 * groups into them (soft: only those not already of that profile).
 *
 * The groups are listed first (their starts) and the chosen ones
 * counted (the "expected" of `balance status`), then relocated one at a
 * time; groups made meanwhile (where the data went) are not visited.
 * The run stops when asked (pause, cancel, the task's stop): between
 * groups, or inside a group between data extents or between batches of
 * tree blocks, whose extents moved so far stay moved (relocation.c); a
 * resumed run relocates the rest.
 * A group is only started when its used bytes fit elsewhere: in the
 * free space of the other groups of its type, or in new chunks on the
 * unallocated device space (Linux's ENOSPC check before relocating), so
 * a full filesystem refuses with ENOSPC before anything moves instead
 * of failing inside the relocation commit.
 * SYSTEM groups move like the others: the chunk tree's blocks go to a
 * new SYSTEM chunk, which the superblock's sys_chunk_array then names
 * (chunk.c).
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>
#include <ghee/progress.h>
#include <ghee/task.h>

#include "balance.h"
#include "block_group.h"
#include "chunk.h"
#include "fs.h"
#include "fs_info.h"
#include "relocation.h"

#define MIB (1024ULL * 1024)

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
	if ((f->flags & FS_BAL_STRIPES) &&
	    (g->num_stripes < f->stripes_min ||
	     g->num_stripes > f->stripes_max))
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
	const struct fs_balance_filter *s = &b->f[FS_BAL_SYS];

	mutex_lock(&fs->alloc_lock);
	if ((b->types & (1u << FS_BAL_DATA)) && (d->flags & FS_BAL_CONVERT))
		fs->space.data_profile = d->target & ~FS_BAL_SINGLE;
	if ((b->types & (1u << FS_BAL_META)) && (m->flags & FS_BAL_CONVERT))
		fs->space.meta_profile = m->target & ~FS_BAL_SINGLE;
	if ((b->types & (1u << FS_BAL_SYS)) && (s->flags & FS_BAL_CONVERT))
		fs->space.sys_profile = s->target & ~FS_BAL_SINGLE;
	mutex_unlock(&fs->alloc_lock);
}

/* Is g chosen: its type asked for, every filter passed, within the
 * type's limit (chosen[] counts the groups of each type so far). */
static int choose(struct fs_info *fs, const struct fs_balance *b,
		  const struct bal_group *g, u64 *chosen)
{
	int t = type_of(g->flags);
	const struct fs_balance_filter *f = &b->f[t];

	if (!(b->types & (1u << t)) || !passes(fs, f, g))
		return 0;
	chosen[t]++;
	return !(f->flags & FS_BAL_LIMIT) ||
	       (chosen[t] >= f->limit_min && chosen[t] <= f->limit_max);
}

/* Device bytes no chunk uses (the first MiB is never given). */
static u64 unallocated(struct fs_info *fs)
{
	u64 total = get_le64(&fs->super->total_bytes), used = MIB;
	u32 i;

	for (i = 0; i < fs->space.ndev; i++)
		used += fs->space.dev[i].len;
	return total > used ? total - used : 0;
}

/*
 * 0 when g's used bytes fit outside it: in the other writable groups of
 * its type, the rest in new chunks of the type's profile on unallocated
 * space; else -ENOSPC, said in the log.
 */
static int room_for(struct fs_info *fs, const struct bal_group *g)
{
	u64 type = g->flags & BTRFS_BLOCK_GROUP_TYPE_MASK;
	u64 free, unalloc, need, prof;
	struct block_group *self;

	mutex_lock(&fs->alloc_lock);
	prof = chunk_profile(fs, type);
	free = bg_free_bytes(fs, type);
	self = bg_lookup(fs, g->start);
	if (self && self->start == g->start && !self->ro)
		free -= self->free_bytes;
	unalloc = unallocated(fs);
	mutex_unlock(&fs->alloc_lock);
	if (free >= g->used)
		return 0;
	need = (g->used - free) * (prof & BTRFS_BLOCK_GROUP_DUP ? 2 : 1);
	if (unalloc >= need)
		return 0;
	pr_err("balance: block group %llu (%llu bytes used) fits nowhere: "
	       "%llu bytes free in the other groups, %llu unallocated",
	       (unsigned long long)g->start, (unsigned long long)g->used,
	       (unsigned long long)free, (unsigned long long)unalloc);
	return -ENOSPC;
}

/* Asked to stop: pause, cancel, or the task's stop. */
static int stop_asked(const struct balance_ctl *c)
{
	return __atomic_load_n(&c->pause_req, __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&c->cancel_req, __ATOMIC_ACQUIRE) ||
	       task_should_stop();
}

/* stop_asked() for relocation, asked inside a group. */
static int stop_in_group(void *c)
{
	return stop_asked(c);
}

static void count(u64 *field, u64 v)
{
	__atomic_store_n(field, v, __ATOMIC_RELEASE);
}

/* Relocate v[0..n) as c's request chooses, counting into c. */
static int relocate_chosen(struct fs_info *fs, struct balance_ctl *c,
			   const struct bal_group *v, u32 n)
{
	const struct fs_balance *b = &c->req;
	u64 chosen[3] = { 0, 0, 0 }, expected = 0;
	struct reloc_stats st;
	u32 i;
	int ret = 0;

	for (i = 0; i < n; i++)
		expected += choose(fs, b, &v[i], chosen);
	count(&c->expected, expected);
	count(&c->considered, 0);
	count(&c->relocated, 0);
	memset(chosen, 0, sizeof(chosen));
	progress_phase("relocating block groups", expected, "groups");
	for (i = 0; i < n && ret == 0; i++) {
		if (stop_asked(c))
			return -ECANCELED;
		count(&c->considered, c->considered + 1);
		if (!choose(fs, b, &v[i], chosen))
			continue;
		ret = room_for(fs, &v[i]);
		if (ret == 0)
			ret = reloc_block_group(fs, v[i].start, stop_in_group,
						c, &st);
		if (ret == -ENOENT)	/* gone meanwhile (emptied) */
			ret = 0;
		else if (ret == 0)
			count(&c->relocated, c->relocated + 1);
		if (ret == 0)
			ret = progress_add(1);
	}
	return ret;
}

/*
 * Relocate the groups c's request chooses; c's figures say how many were
 * expected, looked at and moved. Returns 0, -ECANCELED when asked to
 * stop (between groups, data extents or batches), or the first error
 * (groups relocated before it stay relocated).
 */
int balance_groups(struct fs_info *fs, struct balance_ctl *c)
{
	struct bal_group *v;
	u32 n;
	int ret = list_groups(fs, &v, &n);

	if (ret == 0) {
		set_targets(fs, &c->req);
		ret = relocate_chosen(fs, c, v, n);
	}
	kfree(v);
	return ret;
}
