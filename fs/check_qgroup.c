/*
 * fsck: quota group counts (what `btrfs check` reports as "Counts for
 * qgroup id: ... are different"). When the committed quota tree says
 * quotas are on and its counts are exact (neither a rescan in progress
 * nor the inconsistent flag), every qgroup's referenced and exclusive
 * bytes must be what the extents say: for each extent of the extent
 * tree, the set of subvolumes reaching it at the commit is resolved with
 * the back-reference walker (BACKREF_COMMIT, dropped subvolumes
 * included, as their qgroups still count what is left of them), and each
 * qgroup counts it when one of its subvolumes (through the memberships,
 * at any level) reaches it, exclusively when all of them are its.
 *
 * Why by sets: the walker names each distinct set of subvolumes once
 * (backref_root_set, remembering the sets of the blocks it resolved), so
 * the extents are summed per set and each set is counted in the groups
 * once. At the reference's scale (5,000 snapshots sharing the leaves of
 * one file) resolving every extent's roots one by one held every (item,
 * root) pair of a shared leaf at once (1.85 GB) and counted 5,000 roots
 * per extent; now the cost is one walk up per block and one count per
 * set. Memory stays under MEMORY_BOUND: past it, the sums so far are
 * counted and the walker's memory forgotten.
 *
 * The walker reads the newest commit: when a commit lands during the
 * check (the filesystem in use), the counts of the commit checked are
 * not compared, and the report says so.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "backref.h"
#include "check.h"
#include "fs_info.h"
#include "tree_check.h"

#define MAX_PARENTS 16
#define MEMORY_BOUND (64ULL << 20)

/* One qgroup of the committed quota tree, and what the check counted. */
struct cqg {
	u64 id;
	u64 rfer, excl;		/* the info item */
	u64 got_rfer, got_excl;	/* counted */
	u64 parents[MAX_PARENTS];
	u32 nparents;
	u32 in;			/* scratch: roots of the set it holds */
	u64 stamp;		/* scratch: the root last counted in it */
};

struct qgcheck {
	struct vec groups;	/* struct cqg, in key order: by id */
	u64 status_flags;
	int on;			/* a status item was found */
	struct rootsets sets;	/* the walker's sets of subvolumes */
	struct backref_cache *walk;	/* its memory, at the commit */
	struct u64map bytes;	/* set id -> bytes of the extents it
				 * reaches, not yet counted */
	u64 stamp;		/* roots counted so far */
	u64 nsets;		/* sets counted (the report's qgroup_sets) */
};

static struct cqg *find_group(struct qgcheck *q, u64 id)
{
	return vec_find(&q->groups, id, offsetof(struct cqg, id));
}

/* check_item_fn over the quota tree. */
static int read_item(struct check *c, void *ctx, const struct key *k,
		     const u8 *item, u32 size)
{
	struct qgcheck *q = ctx;
	struct cqg *g;

	(void)c;
	if (k->type == BTRFS_QGROUP_STATUS_KEY &&
	    size >= sizeof(struct d_qgroup_status_item)) {
		q->on = 1;
		q->status_flags = D_GET64(struct d_qgroup_status_item, item,
					  flags);
	} else if (k->type == BTRFS_QGROUP_INFO_KEY &&
		   size >= sizeof(struct d_qgroup_info_item)) {
		g = find_group(q, k->offset);
		if (!g && !(g = vec_push(&q->groups)))
			return -ENOMEM;
		g->id = k->offset;
		g->rfer = D_GET64(struct d_qgroup_info_item, item, rfer);
		g->excl = D_GET64(struct d_qgroup_info_item, item, excl);
	} else if (k->type == BTRFS_QGROUP_RELATION_KEY &&
		   k->objectid < k->offset) {
		g = find_group(q, k->objectid);
		if (g && g->nparents < MAX_PARENTS)
			g->parents[g->nparents++] = k->offset;
	}
	return 0;
}

/* Count subvolume (or group) id in the groups holding it: its own and
 * those above it, each once (stamp) however many paths lead there. */
static void count_in(struct qgcheck *q, u64 id, u64 stamp, int depth)
{
	struct cqg *g = find_group(q, id);
	u32 i;

	if (!g || g->stamp == stamp || depth > 16)
		return;
	g->stamp = stamp;
	g->in++;
	for (i = 0; i < g->nparents; i++)
		count_in(q, g->parents[i], stamp, depth + 1);
}

/* Count len bytes reached by the subvolumes of set id in every group. */
static void count_set(struct qgcheck *q, u32 id, u64 len)
{
	const u64 *roots;
	u32 n, r;
	u64 i;

	rootsets_get(&q->sets, id, &roots, &n);
	/* Up from each root: per root, not per group and root (with
	 * 5,000 snapshots sharing an extent that was 5,000 squared
	 * group look-ups, each a scan of the groups). */
	for (i = 0; i < q->groups.n; i++)
		((struct cqg *)vec_at(&q->groups, i))->in = 0;
	for (r = 0; r < n; r++)
		count_in(q, roots[r], ++q->stamp, 0);
	for (i = 0; i < q->groups.n; i++) {
		struct cqg *g = vec_at(&q->groups, i);

		if (g->in)
			g->got_rfer += len;
		if (g->in == n)
			g->got_excl += len;
	}
	q->nsets++;
}

/* Count the sums gathered so far, then forget them and the walker's
 * memory (the sets are found again when met again). */
static void flush_sets(struct qgcheck *q)
{
	u64 id, len;
	u32 pos = 0;

	while (u64map_next(&q->bytes, &pos, &id, &len))
		count_set(q, (u32)id, len);
	u64map_free(&q->bytes);
	backref_cache_reset(q->walk);
	rootsets_reset(&q->sets);
}

/* Add extent e to the sum of the set of subvolumes reaching it. */
static int add_extent(struct qgcheck *q, const struct cext *e)
{
	int data = !!(e->flags & BTRFS_EXTENT_FLAG_DATA);
	u64 len = 0;
	u32 set;
	int ret = backref_root_set(q->walk, e->bytenr, data, 0, &set);

	if (ret == -ENOENT)
		return 0;
	if (ret || set == 0)
		return ret;
	(void)u64map_get(&q->bytes, set, &len);
	len += e->len;
	ret = u64map_put(&q->bytes, set, &len);
	if (ret == 0 && rootsets_bytes(&q->sets) +
			backref_cache_bytes(q->walk) +
			(u64)q->bytes.cap * q->bytes.stride * sizeof(u64) >=
			MEMORY_BOUND)
		flush_sets(q);
	return ret;
}

/* Compare the counts; report each group that differs. */
static void compare(struct check *c, struct qgcheck *q)
{
	u64 i;

	for (i = 0; i < q->groups.n; i++) {
		const struct cqg *g = vec_at(&q->groups, i);

		if (g->rfer == g->got_rfer && g->excl == g->got_excl)
			continue;
		check_err(c, "qgroup %llu/%llu: referenced %llu exclusive "
			  "%llu, the extents say %llu and %llu",
			  (unsigned long long)(g->id >>
					       BTRFS_QGROUP_LEVEL_SHIFT),
			  (unsigned long long)(g->id &
				((1ULL << BTRFS_QGROUP_LEVEL_SHIFT) - 1)),
			  (unsigned long long)g->rfer,
			  (unsigned long long)g->excl,
			  (unsigned long long)g->got_rfer,
			  (unsigned long long)g->got_excl);
	}
}

/* The final step over quota groups (after the extent tree was read
 * into c->exts). 0 or -ENOMEM. */
int check_qgroups(struct check *c)
{
	const struct commit_tree *t = check_find_tree(c,
						      BTRFS_QUOTA_TREE_OBJECTID);
	struct qgcheck q;
	u64 i;
	int ret;

	if (!t)
		return 0;
	memset(&q, 0, sizeof(q));
	q.groups.elem = sizeof(struct cqg);
	rootsets_init(&q.sets);
	u64map_init(&q.bytes, 1);
	ret = backref_cache_new(c->fs, BACKREF_COMMIT, &q.sets, &q.walk);
	if (ret == 0)
		ret = check_read_items(c, t, read_item, &q);
	if (ret || !q.on || (q.status_flags &
			     (BTRFS_QGROUP_STATUS_FLAG_RESCAN |
			      BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT)))
		goto out;
	for (i = 0; ret == 0 && i < c->exts.n; i++)
		ret = add_extent(&q, vec_at(&c->exts, i));
	if (ret == 0)
		flush_sets(&q);
	c->rep->qgroup_sets = q.nsets;
	if (ret == 0 && c->fs->generation != c->cr.generation)
		pr_info("fsck: quota group counts not compared: a commit "
			"landed during the check");
	else if (ret == 0)
		compare(c, &q);
	else if (ret != -ENOMEM) {
		check_err(c, "quota groups: resolving extents failed: %d",
			  ret);
		ret = 0;
	}
out:
	vec_free(&q.groups);
	u64map_free(&q.bytes);
	backref_cache_free(q.walk);
	rootsets_reset(&q.sets);
	return ret;
}
