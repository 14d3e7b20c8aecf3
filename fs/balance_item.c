/*
 * The balance item: (BALANCE, TEMPORARY_ITEM, 0) in the root tree, as
 * Linux keeps it, so a balance survives unmount and power cuts and
 * Linux and ghee resume each other's. It holds the request only (flags
 * and the data, metadata and system filters, in btrfs's
 * btrfs_disk_balance_args layout), never progress: a resumed balance
 * looks at every group again with the same filters, as Linux's does.
 *
 * Written in a commit of its own before the first group moves, deleted
 * in a commit of its own once the balance ended or was cancelled; a
 * paused balance keeps it.
 */
#include <ghee/errno.h>

#include <ghee/log.h>

#include "balance.h"
#include "ctree_write.h"
#include "fs_info.h"
#include "transaction.h"

/* btrfs_disk_balance_args */
struct d_balance_args {
	le64 profiles;
	le32 usage_min;		/* with USAGE: the low half of usage (le64) */
	le32 usage_max;
	le64 devid;
	le64 pstart, pend;
	le64 vstart, vend;
	le64 target;
	le64 flags;
	le32 limit_min;		/* with LIMIT: the low half of limit (le64) */
	le32 limit_max;
	le32 stripes_min, stripes_max;
	le64 unused[6];
} __attribute__((packed));
_Static_assert(sizeof(struct d_balance_args) == 136, "d_balance_args");

/* btrfs_balance_item */
struct d_balance_item {
	le64 flags;
	struct d_balance_args data, meta, sys;
	le64 unused[4];
} __attribute__((packed));
_Static_assert(sizeof(struct d_balance_item) == 448, "d_balance_item");

/* btrfs_balance_item flags */
#define BAL_DATA (1ull << 0)
#define BAL_SYSTEM (1ull << 1)
#define BAL_METADATA (1ull << 2)
#define BAL_FORCE (1ull << 3)

/* btrfs_disk_balance_args flags */
#define ARGS_PROFILES (1ull << 0)
#define ARGS_USAGE (1ull << 1)
#define ARGS_DEVID (1ull << 2)
#define ARGS_DRANGE (1ull << 3)
#define ARGS_VRANGE (1ull << 4)
#define ARGS_LIMIT (1ull << 5)
#define ARGS_LIMIT_RANGE (1ull << 6)
#define ARGS_STRIPES_RANGE (1ull << 7)
#define ARGS_CONVERT (1ull << 8)
#define ARGS_SOFT (1ull << 9)
#define ARGS_USAGE_RANGE (1ull << 10)

static const struct key balance_key = { BTRFS_BALANCE_OBJECTID,
					BTRFS_TEMPORARY_ITEM_KEY, 0 };

/* Item flag of each type, in FS_BAL_DATA... order. */
static const u64 type_flag[3] = { BAL_DATA, BAL_METADATA, BAL_SYSTEM };

/* A u64 bound as the u32 half of a range ((u32)-1: no bound). */
static u32 bound32(u64 v)
{
	return v > 0xffffffffull ? 0xffffffffu : (u32)v;
}

uint64_t fs_balance_args_flags(const struct fs_balance_filter *f)
{
	static const struct { unsigned ours; u64 theirs; } same[] = {
		{ FS_BAL_PROFILES, ARGS_PROFILES }, { FS_BAL_DEVID, ARGS_DEVID },
		{ FS_BAL_DRANGE, ARGS_DRANGE }, { FS_BAL_VRANGE, ARGS_VRANGE },
		{ FS_BAL_CONVERT, ARGS_CONVERT }, { FS_BAL_SOFT, ARGS_SOFT },
		{ FS_BAL_STRIPES, ARGS_STRIPES_RANGE },
	};
	u64 out = 0;
	u32 i;

	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		if (f->flags & same[i].ours)
			out |= same[i].theirs;
	/* A range from 0 is the single-value form ("usage=N": below N). */
	if (f->flags & FS_BAL_USAGE)
		out |= f->usage_min ? ARGS_USAGE_RANGE : ARGS_USAGE;
	if (f->flags & FS_BAL_LIMIT)
		out |= f->limit_min ? ARGS_LIMIT_RANGE : ARGS_LIMIT;
	return out;
}

static void args_put(u8 *a, const struct fs_balance_filter *f)
{
	u64 fl = fs_balance_args_flags(f);

	D_SET64(struct d_balance_args, a, profiles, f->profiles);
	if (fl & ARGS_USAGE)
		D_SET64(struct d_balance_args, a, usage_min, f->usage_max);
	if (fl & ARGS_USAGE_RANGE) {
		D_SET32(struct d_balance_args, a, usage_min, bound32(f->usage_min));
		D_SET32(struct d_balance_args, a, usage_max, bound32(f->usage_max));
	}
	D_SET64(struct d_balance_args, a, devid, f->devid);
	D_SET64(struct d_balance_args, a, pstart, f->pstart);
	D_SET64(struct d_balance_args, a, pend, f->pend);
	D_SET64(struct d_balance_args, a, vstart, f->vstart);
	D_SET64(struct d_balance_args, a, vend, f->vend);
	D_SET64(struct d_balance_args, a, target, f->target);
	D_SET64(struct d_balance_args, a, flags, fl);
	if (fl & ARGS_LIMIT)
		D_SET64(struct d_balance_args, a, limit_min, f->limit_max);
	if (fl & ARGS_LIMIT_RANGE) {
		D_SET32(struct d_balance_args, a, limit_min, bound32(f->limit_min));
		D_SET32(struct d_balance_args, a, limit_max, bound32(f->limit_max));
	}
	D_SET32(struct d_balance_args, a, stripes_min, f->stripes_min);
	D_SET32(struct d_balance_args, a, stripes_max, f->stripes_max);
}

/* A range's u32 upper bound back: (u32)-1 is none. */
static u64 unbound32(u32 v)
{
	return v == 0xffffffffu ? UINT64_MAX : v;
}

static void args_get(const u8 *a, struct fs_balance_filter *f)
{
	u64 fl = D_GET64(struct d_balance_args, a, flags);

	memset(f, 0, sizeof(*f));
	f->profiles = D_GET64(struct d_balance_args, a, profiles);
	f->devid = D_GET64(struct d_balance_args, a, devid);
	f->pstart = D_GET64(struct d_balance_args, a, pstart);
	f->pend = D_GET64(struct d_balance_args, a, pend);
	f->vstart = D_GET64(struct d_balance_args, a, vstart);
	f->vend = D_GET64(struct d_balance_args, a, vend);
	f->target = D_GET64(struct d_balance_args, a, target);
	f->stripes_min = D_GET32(struct d_balance_args, a, stripes_min);
	f->stripes_max = D_GET32(struct d_balance_args, a, stripes_max);
	/* btrfs-progs sets USAGE with USAGE_RANGE: the range wins. */
	if (fl & ARGS_USAGE_RANGE) {
		f->usage_min = D_GET32(struct d_balance_args, a, usage_min);
		f->usage_max = D_GET32(struct d_balance_args, a, usage_max);
	} else if (fl & ARGS_USAGE) {
		f->usage_max = D_GET64(struct d_balance_args, a, usage_min);
	}
	if (f->usage_max > 100)
		f->usage_max = 100;
	if (fl & ARGS_LIMIT_RANGE) {
		f->limit_min = D_GET32(struct d_balance_args, a, limit_min);
		f->limit_max = unbound32(D_GET32(struct d_balance_args, a, limit_max));
	} else if (fl & ARGS_LIMIT) {
		f->limit_max = D_GET64(struct d_balance_args, a, limit_min);
	}
	f->flags = (fl & ARGS_PROFILES ? FS_BAL_PROFILES : 0) |
		   (fl & (ARGS_USAGE | ARGS_USAGE_RANGE) ? FS_BAL_USAGE : 0) |
		   (fl & ARGS_DEVID ? FS_BAL_DEVID : 0) |
		   (fl & ARGS_DRANGE ? FS_BAL_DRANGE : 0) |
		   (fl & ARGS_VRANGE ? FS_BAL_VRANGE : 0) |
		   (fl & (ARGS_LIMIT | ARGS_LIMIT_RANGE) ? FS_BAL_LIMIT : 0) |
		   (fl & ARGS_STRIPES_RANGE ? FS_BAL_STRIPES : 0) |
		   (fl & ARGS_CONVERT ? FS_BAL_CONVERT : 0) |
		   (fl & ARGS_SOFT ? FS_BAL_SOFT : 0);
}

static void item_put(u8 *item, const struct fs_balance *b)
{
	u8 *args[3];
	u64 fl = b->force ? BAL_FORCE : 0;
	int t;

	memset(item, 0, sizeof(struct d_balance_item));
	args[FS_BAL_DATA] = item + offsetof(struct d_balance_item, data);
	args[FS_BAL_META] = item + offsetof(struct d_balance_item, meta);
	args[FS_BAL_SYS] = item + offsetof(struct d_balance_item, sys);
	for (t = 0; t < 3; t++)
		if (b->types & (1u << t)) {
			fl |= type_flag[t];
			args_put(args[t], &b->f[t]);
		}
	D_SET64(struct d_balance_item, item, flags, fl);
}

static void item_get(const u8 *item, struct fs_balance *b)
{
	const u8 *args[3];
	u64 fl = D_GET64(struct d_balance_item, item, flags);
	int t;

	memset(b, 0, sizeof(*b));
	args[FS_BAL_DATA] = item + offsetof(struct d_balance_item, data);
	args[FS_BAL_META] = item + offsetof(struct d_balance_item, meta);
	args[FS_BAL_SYS] = item + offsetof(struct d_balance_item, sys);
	b->force = !!(fl & BAL_FORCE);
	for (t = 0; t < 3; t++)
		if (fl & type_flag[t]) {
			b->types |= 1u << t;
			args_get(args[t], &b->f[t]);
		}
}

/* In the commit: replace the item with item (NULL: delete it). */
static int item_in_commit(struct trans *t, void *arg)
{
	struct fs_info *fs = t->fs;
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(t, &fs->tree_root, &balance_key, &p, 0);
	if (ret == 0) {
		ret = ctree_del_item(t, &fs->tree_root, &p);
	} else {
		ctree_path_release(&p);
		if (ret == 1)		/* none yet */
			ret = 0;
	}
	if (ret == 0 && arg)
		ret = ctree_insert_item(t, &fs->tree_root, &balance_key, arg,
					sizeof(struct d_balance_item));
	if (ret)
		trans_abort(t, ret);
	return ret;
}

/* Record b in the root tree and commit. 0 or <0. */
int balance_item_write(struct fs_info *fs, const struct fs_balance *b)
{
	u8 item[sizeof(struct d_balance_item)];

	item_put(item, b);
	return trans_commit_with(fs, item_in_commit, item, 0);
}

/* Delete the item (none is fine) and commit. 0 or <0. */
int balance_item_delete(struct fs_info *fs)
{
	return trans_commit_with(fs, item_in_commit, NULL, 0);
}

/* The recorded balance into *b: 0, -ENOENT (none) or <0. */
int balance_item_read(struct fs_info *fs, struct fs_balance *b)
{
	struct key k = balance_key;
	struct ctree_path p;
	const u8 *item;
	u32 size;
	int ret;

	ctree_path_init(&p);
	ret = ctree_lookup(&fs->tree_root, &k, &p);
	if (ret == 0) {
		item = ctree_item_ptr(&p, &size);
		if (size < sizeof(struct d_balance_item)) {
			pr_err("balance item: %u bytes, want %zu", size,
			       sizeof(struct d_balance_item));
			ret = -EUCLEAN;
		} else {
			item_get(item, b);
		}
	}
	ctree_path_release(&p);
	return ret;
}
