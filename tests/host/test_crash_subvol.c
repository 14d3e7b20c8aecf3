/*
 * Crash tests of subvolumes (the method: tests/host/crash_model.h): the
 * power is cut at the writes of
 *  - snapshots: a seeded mix of writable and read-only snapshots,
 *    subvolume creation, writes into files whose extents snapshots share,
 *    unlinks, read-only flips, subvolume deletion and syncs;
 *  - drop: a snapshot of a subvolume of 1100 files, writes into it, the
 *    source and then the snapshot deleted, and the cleaner dropping their
 *    trees across commits (1024 reference changes a step), with new
 *    subvolumes and syncs between.
 * Every survivor must mount, pass ghee's fsck and btrfs check, list as a
 * state the workload passed through from the last sync on (every
 * subvolume, its files' bytes and its read-only flag), take new writes
 * and let the cleaner finish.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../fs/fs.h"
#include "crash_model.h"
#include "test.h"

#define MAX_SV 12		/* subvolumes the snapshot workload keeps */
#define NFILES 10		/* files a subvolume may hold: d/f0.. */
#define SNAP_OPS 40
#define DROP_FILES 1100

/* ---- snapshots ----------------------------------------------------------- */

static struct {
	char path[MAX_SV][16];
	int ro[MAX_SV];
	int n, next;
} sv;

static int snap_prepare(struct fs_info *fs)
{
	char p[32];
	int i, ret = fs_subvol_create(fs, "/sv");

	if (ret == 0)
		ret = fs_mkdir(fs, "/sv/d", 0755);
	for (i = 0; i < 6 && ret == 0; i++) {
		snprintf(p, sizeof(p), "/sv/d/f%d", i);
		ret = crash_put(fs, p, (uint64_t)i, 0, 900 + (size_t)i * 9000);
	}
	return ret ? ret : crash_put(fs, "/top", 99, 0, 5000);
}

/* A subvolume at random, writable ones only when rw. -1: none. */
static int pick_sv(struct crash_ctx *c, int rw)
{
	int cand[MAX_SV], n = 0, i;

	for (i = 0; i < sv.n; i++)
		if (!rw || !sv.ro[i])
			cand[n++] = i;
	return n ? cand[crash_rnd(c, (uint64_t)n)] : -1;
}

static int snap_make(struct crash_ctx *c, int kind)
{
	static const char *const stem[] = { "sn", "ro", "new" };
	int s = pick_sv(c, 0), ret;
	char p[24];

	if (sv.n == MAX_SV || s < 0)
		return 1;
	snprintf(sv.path[sv.n], sizeof(sv.path[0]), "/%s%d", stem[kind],
		 sv.next++);
	if (kind == 2)
		ret = fs_subvol_create(c->fs, sv.path[sv.n]);
	else
		ret = fs_subvol_snapshot(c->fs, sv.path[s], sv.path[sv.n],
					 kind ? FS_SNAP_RDONLY : 0);
	if (ret)
		return ret;
	sv.ro[sv.n++] = kind == 1;
	if (kind < 2)
		return 0;
	/* a new subvolume's d/, an operation of its own */
	ret = crash_done(c, 0, 0);
	snprintf(p, sizeof(p), "%s/d", sv.path[sv.n - 1]);
	return ret ? ret : fs_mkdir(c->fs, p, 0755);
}

static int snap_file(struct crash_ctx *c, uint64_t op, int unlink)
{
	char p[40];
	struct fs_stat st;
	struct fs_ino ino;
	uint64_t off;
	int s = pick_sv(c, 1), ret;

	if (s < 0)
		return 1;
	snprintf(p, sizeof(p), "%s/d/f%u", sv.path[s],
		 (unsigned)crash_rnd(c, NFILES));
	ret = fs_lookup(c->fs, p, 0, &ino);
	if (unlink)
		return ret ? 1 : fs_unlink(c->fs, p);
	off = ret == 0 && fs_stat(c->fs, ino, &st) == 0 ?
	      crash_rnd(c, st.size + 1) : 0;
	return crash_write(c, p, op, off, 1 + crash_rnd(c, 40000));
}

static int snap_flip_or_delete(struct crash_ctx *c, int del)
{
	int s = pick_sv(c, 0), ret;

	if (s <= 0)			/* /sv stays */
		return 1;
	if (!del) {
		ret = fs_subvol_set_ro(c->fs, sv.path[s], !sv.ro[s]);
		sv.ro[s] ^= ret == 0;
		return ret;
	}
	ret = fs_subvol_delete(c->fs, sv.path[s], 0);
	if (ret == 0) {
		memmove(&sv.path[s], &sv.path[s + 1],
			(size_t)(sv.n - s - 1) * sizeof(sv.path[0]));
		memmove(&sv.ro[s], &sv.ro[s + 1],
			(size_t)(sv.n - s - 1) * sizeof(sv.ro[0]));
		sv.n--;
	}
	return ret;
}

static int snap_op(struct crash_ctx *c, uint64_t op, uint64_t k, int *sync)
{
	if (k < 12)
		return snap_make(c, 0);
	if (k < 20)
		return snap_make(c, 1);
	if (k < 24)
		return snap_make(c, 2);
	if (k < 52)
		return snap_file(c, op, 0);
	if (k < 60)
		return snap_file(c, op, 1);
	if (k < 66)
		return snap_flip_or_delete(c, 0);
	if (k < 76)
		return snap_flip_or_delete(c, 1);
	*sync = 1;
	return fs_sync(c->fs);
}

static int snap_run(struct crash_ctx *c)
{
	memset(&sv, 0, sizeof(sv));
	snprintf(sv.path[0], sizeof(sv.path[0]), "/sv");
	sv.n = 1;
	return crash_run_ops(c, SNAP_OPS, snap_op);
}

static const struct crash_workload snapshots = {
	"snapshots", 4096, 128ull << 20, 0, NULL, snap_prepare, snap_run,
};

/* ---- drop ---------------------------------------------------------------- */

static int drop_prepare(struct fs_info *fs)
{
	char p[32];
	int i, ret = fs_subvol_create(fs, "/a");

	if (ret == 0)
		ret = fs_mkdir(fs, "/a/d", 0755);
	for (i = 0; i < DROP_FILES && ret == 0; i++) {
		snprintf(p, sizeof(p), "/a/d/f%04d", i);
		ret = crash_put(fs, p, (uint64_t)i, 0, 4100);
	}
	if (ret == 0)
		ret = fs_subvol_create(fs, "/b");
	for (i = 0; i < 200 && ret == 0; i++) {
		snprintf(p, sizeof(p), "/b/f%03d", i);
		ret = crash_put(fs, p, (uint64_t)i + 5000, 0, 3000);
	}
	return ret;
}

static int drop_run(struct crash_ctx *c)
{
	struct fs_info *fs = c->fs;
	int ret = crash_done(c, fs_subvol_snapshot(fs, "/a", "/s", 0), 0);

	if (ret == 0)
		ret = crash_done(c, crash_put(fs, "/s/d/f0007", 7007, 0,
						9000), 0);
	if (ret == 0)
		ret = crash_done(c, fs_subvol_delete(fs, "/a", 0), 0);
	if (ret == 0)
		ret = crash_done(c, fs_sync(fs), 1);
	if (ret == 0)
		ret = crash_done(c, fs_subvol_sync(fs), 0);
	if (ret == 0)
		ret = crash_done(c, fs_subvol_delete(fs, "/s", 0), 0);
	if (ret == 0)
		ret = crash_done(c, fs_subvol_create(fs, "/c"), 0);
	if (ret == 0)
		ret = crash_done(c, crash_write(c, "/c/new", 1, 0, 6000), 0);
	if (ret == 0)
		ret = crash_done(c, fs_sync(fs), 1);
	if (ret == 0)
		ret = crash_done(c, fs_subvol_delete(fs, "/b", 0), 0);
	if (ret == 0)
		ret = crash_done(c, fs_subvol_sync(fs), 0);
	return ret;
}

static const struct crash_workload drop = {
	"drop", 4096, 128ull << 20, 0, NULL, drop_prepare, drop_run,
};

/* ---- one snapshot commit, cut at every write ---------------------------- */

#define SNAP_FILES 300

/* /a holding SNAP_FILES files of 4100 bytes: its root block (4 KiB
 * nodes) points at some twenty leaves, whose extent items the snapshot's
 * refs touch across the extent tree. */
static int snapshot_commit_prepare(struct fs_info *fs)
{
	char p[32];
	int i, ret = fs_subvol_create(fs, "/a");

	if (ret == 0)
		ret = fs_mkdir(fs, "/a/d", 0755);
	for (i = 0; i < SNAP_FILES && ret == 0; i++) {
		snprintf(p, sizeof(p), "/a/d/f%04d", i);
		ret = crash_put(fs, p, (uint64_t)i, 0, 4100);
	}
	return ret;
}

/*
 * A snapshot of /a, then a read-only one.
 * Each returns once its commit is on the disk (a sync). The cut lands at
 * every write of both commits, tree blocks and the superblock copies (in
 * flight together): each snapshot is in the survivor whole or not at all.
 */
static int snapshot_commit_run(struct crash_ctx *c)
{
	int ret = crash_done(c, fs_subvol_snapshot(c->fs, "/a", "/s", 0), 1);

	if (ret == 0)
		ret = crash_done(c, fs_subvol_snapshot(c->fs, "/a", "/r",
						       FS_SNAP_RDONLY), 1);
	return ret;
}

static const struct crash_workload snapshot_commit = {
	"snapshot_commit", 4096, 128ull << 20, 0, NULL,
	snapshot_commit_prepare, snapshot_commit_run,
};

/* make test: a sample of each; make crash: up to all_cuts. */
TEST(crash_subvol, snapshots_cut)
{
	static const struct crash_plan p = { FAULT_CUT, 20, 2000, 3, 4 };

	crash_workload_run(&snapshots, &p);
}

TEST(crash_subvol, snapshots_reordered)
{
	static const struct crash_plan p = { FAULT_REORDER, 20, 2000, 3, 4 };

	crash_workload_run(&snapshots, &p);
}

TEST(crash_subvol, snapshots_torn)
{
	static const struct crash_plan p = { FAULT_TORN, 10, 2000, 2, 4 };

	crash_workload_run(&snapshots, &p);
}

TEST(crash_subvol, drop_cut)
{
	static const struct crash_plan p = { FAULT_CUT, 5, 2000, 2, 1 };

	crash_workload_run(&drop, &p);
}

TEST(crash_subvol, drop_reordered)
{
	static const struct crash_plan p = { FAULT_REORDER, 5, 2000, 2, 1 };

	crash_workload_run(&drop, &p);
}

/* make test: 60 cuts spread over the two commits' writes, 20 survivors
 * through btrfs check; make crash: every write, every survivor. */
TEST(crash_subvol, snapshot_commit_every_write_cut)
{
	static const struct crash_plan p = { FAULT_CUT, 60, 1000, 20, 1 };

	crash_workload_run(&snapshot_commit, &p);
}

TEST(crash_subvol, snapshot_commit_every_write_reordered)
{
	static const struct crash_plan p = { FAULT_REORDER, 60, 1000, 20, 1 };

	crash_workload_run(&snapshot_commit, &p);
}
