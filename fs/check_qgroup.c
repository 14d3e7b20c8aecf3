/*
 * fsck: quota group counts (what `btrfs check` reports as "Counts for
 * qgroup id: ... are different"). When the committed quota tree says
 * quotas are on and its counts are exact (neither a rescan in progress
 * nor the inconsistent flag), every qgroup's referenced and exclusive
 * bytes must be what the extents say: for each extent of the extent
 * tree, the subvolumes reaching it at the commit are resolved with the
 * back-reference walker (BACKREF_COMMIT, dropped subvolumes included, as
 * their qgroups still count what is left of them), and each qgroup
 * counts it when one of its subvolumes (through the memberships, at any
 * level) reaches it, exclusively when all of them are its.
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

/* One qgroup of the committed quota tree, and what the check counted. */
struct cqg {
	u64 id;
	u64 rfer, excl;		/* the info item */
	u64 got_rfer, got_excl;	/* counted */
	u64 parents[MAX_PARENTS];
	u32 nparents;
	u32 in;			/* scratch: roots of the extent it holds */
	u64 stamp;		/* scratch: the root last counted in it */
};

struct qgcheck {
	struct vec groups;	/* struct cqg, in key order: by id */
	u64 status_flags;
	int on;			/* a status item was found */
	struct vec roots;	/* u64: subvolumes reaching one extent */
	u64 stamp;		/* roots counted so far */
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

/* backref_fn: collect subvolume roots (once each: hits are sorted). */
static int add_root(void *ctx, const struct backref_hit *hit)
{
	struct vec *v = ctx;
	u64 *last = v->n ? vec_at(v, v->n - 1) : NULL, *x;

	if (!tree_check_is_subvol_tree(hit->root) ||
	    (last && *last == hit->root))
		return 0;
	x = vec_push(v);
	if (!x)
		return -ENOMEM;
	*x = hit->root;
	return 0;
}

/* Count extent e in every group. */
static int count_extent(struct check *c, struct qgcheck *q,
			const struct cext *e)
{
	int data = !!(e->flags & BTRFS_EXTENT_FLAG_DATA);
	unsigned fl = BACKREF_DEAD_ROOTS | (data ? BACKREF_IGNORE_OFFSET : 0);
	u64 i, r;
	int ret;

	q->roots.n = 0;
	ret = data ? backref_data(c->fs, e->bytenr, BACKREF_COMMIT, fl,
				  add_root, &q->roots, NULL) :
		     backref_block(c->fs, e->bytenr, BACKREF_COMMIT, fl,
				   add_root, &q->roots, NULL);
	if (ret == -ENOENT)
		ret = 0;
	if (ret || !q->roots.n)
		return ret;
	/* Up from each root: per root, not per group and root (with
	 * 5,000 snapshots sharing an extent that was 5,000 squared
	 * group look-ups, each a scan of the groups). */
	for (i = 0; i < q->groups.n; i++)
		((struct cqg *)vec_at(&q->groups, i))->in = 0;
	for (r = 0; r < q->roots.n; r++)
		count_in(q, *(u64 *)vec_at(&q->roots, r), ++q->stamp, 0);
	for (i = 0; i < q->groups.n; i++) {
		struct cqg *g = vec_at(&q->groups, i);

		if (g->in)
			g->got_rfer += e->len;
		if (g->in == q->roots.n)
			g->got_excl += e->len;
	}
	return 0;
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
	q.roots.elem = sizeof(u64);
	ret = check_read_items(c, t, read_item, &q);
	if (ret || !q.on || (q.status_flags &
			     (BTRFS_QGROUP_STATUS_FLAG_RESCAN |
			      BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT)))
		goto out;
	for (i = 0; ret == 0 && i < c->exts.n; i++)
		ret = count_extent(c, &q, vec_at(&c->exts, i));
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
	vec_free(&q.roots);
	return ret;
}
