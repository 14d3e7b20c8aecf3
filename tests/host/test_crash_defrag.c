/*
 * Crash tests of defrag and dedupe (the method: tests/host/crash_model.h):
 * the power is cut at the writes of
 *  - defrag: quota groups on; a file written whole, then every other
 *    block written again (its items alternate between the first extent
 *    and small ones), a reflink of half of it, read-only snapshots of
 *    its subvolume; then the file defragmented (the data copied and the
 *    file's subvolume pointed at it, then each snapshot, a commit per
 *    step), a block written, and defragmented again;
 *  - dedupe: quota groups on; files of equal and of different bytes in
 *    two subvolumes and a read-only snapshot; then a dedupe scan of
 *    them, a file changed, and a second scan.
 * Neither changes a byte of any file: every survivor must list as the
 * template did (or with the block written), pass btrfs check and its
 * qgroup report.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../fs/fs.h"
#include "crash_model.h"
#include "test.h"

#define BLOCK 4096u
#define DEFRAG_FILE (256u << 10)

/* ---- defrag over snapshots ----------------------------------------------- */

static int defrag_prepare(struct fs_info *fs)
{
	struct fs_ino f, g;
	uint64_t off;
	char p[16];
	int i, ret = fs_quota_enable(fs);

	if (ret == 0)
		ret = fs_quota_rescan_wait(fs);
	if (ret == 0)
		ret = fs_subvol_create(fs, "/v");
	if (ret == 0)
		ret = crash_put(fs, "/v/f", 1, 0, DEFRAG_FILE);
	if (ret == 0)
		ret = fs_sync(fs);
	/* the same bytes again, a block at a time: new small extents */
	for (off = BLOCK; off < DEFRAG_FILE && ret == 0; off += 2 * BLOCK)
		ret = crash_put(fs, "/v/f", 1, off, BLOCK);
	if (ret == 0)
		ret = fs_sync(fs);
	if (ret == 0)
		ret = fs_lookup(fs, "/v/f", 0, &f);
	if (ret == 0)
		ret = fs_create(fs, "/v/g", 0644, &g);
	if (ret == 0)
		ret = fs_clone_range(fs, f, 0, DEFRAG_FILE / 2, g, 0);
	for (i = 0; i < 3 && ret == 0; i++) {
		snprintf(p, sizeof(p), "/s%d", i);
		ret = fs_subvol_snapshot(fs, "/v", p, FS_SNAP_RDONLY);
	}
	return ret;
}

/* Defragment path; -ENODATA when it found nothing to rewrite (the
 * workload would then not test what it says). */
static int defrag(struct fs_info *fs, const char *path)
{
	struct fs_defrag_opts o = { 0, 0, 0 };
	struct fs_defrag_report rep;
	struct fs_ino f;
	int ret = fs_lookup(fs, path, 0, &f);

	if (ret == 0)
		ret = fs_defrag(fs, f, &o, &rep);
	return ret ? ret : rep.runs && rep.trees > 3 ? 0 : -ENODATA;
}

static int defrag_run(struct crash_ctx *c)
{
	int ret = crash_done(c, defrag(c->fs, "/v/f"), 0);

	if (ret == 0)
		ret = crash_done(c, fs_sync(c->fs), 1);
	if (ret == 0)
		ret = crash_done(c, crash_put(c->fs, "/v/f", 2, 5 * BLOCK,
					      BLOCK), 0);
	if (ret == 0)
		ret = crash_done(c, defrag(c->fs, "/v/f"), 0);
	return ret;
}

static const struct crash_workload defrag_w = {
	"defrag", 4096, 128ull << 20, CRASH_QGROUPS, NULL, defrag_prepare,
	defrag_run,
};

/* ---- dedupe scan --------------------------------------------------------- */

static const char *const scanned[] = {
	"/a", "/b", "/c", "/w/d", "/w/e", "/r/d",
};
#define NSCANNED (sizeof(scanned) / sizeof(scanned[0]))

static int dedupe_prepare(struct fs_info *fs)
{
	int ret = fs_quota_enable(fs);

	if (ret == 0)
		ret = fs_quota_rescan_wait(fs);
	if (ret == 0)
		ret = fs_subvol_create(fs, "/w");
	/* a, b and w/d equal; c equal to them in its first half; w/e
	 * different */
	if (ret == 0)
		ret = crash_put(fs, "/a", 7, 0, 96 * 1024);
	if (ret == 0)
		ret = crash_put(fs, "/b", 7, 0, 96 * 1024);
	if (ret == 0)
		ret = crash_put(fs, "/c", 7, 0, 48 * 1024);
	if (ret == 0)
		ret = crash_put(fs, "/c", 9, 48 * 1024, 48 * 1024);
	if (ret == 0)
		ret = crash_put(fs, "/w/d", 7, 0, 96 * 1024);
	if (ret == 0)
		ret = crash_put(fs, "/w/e", 8, 0, 64 * 1024);
	if (ret == 0)
		ret = fs_subvol_snapshot(fs, "/w", "/r", FS_SNAP_RDONLY);
	return ret;
}

/* Dedupe scan of the files; -ENODATA when it shared nothing. */
static int scan(struct fs_info *fs)
{
	struct fs_dedupe_scan_report rep;
	struct fs_ino v[NSCANNED];
	unsigned i;
	int ret = 0;

	for (i = 0; i < NSCANNED && ret == 0; i++)
		ret = fs_lookup(fs, scanned[i], 0, &v[i]);
	if (ret == 0)
		ret = fs_dedupe_scan(fs, v, NSCANNED, BLOCK, &rep);
	return ret ? ret : rep.deduped ? 0 : -ENODATA;
}

static int dedupe_run(struct crash_ctx *c)
{
	int ret = crash_done(c, scan(c->fs), 0);

	if (ret == 0)
		ret = crash_done(c, fs_sync(c->fs), 1);
	if (ret == 0)
		ret = crash_done(c, crash_put(c->fs, "/w/e", 7, 0, 64 * 1024),
				 0);
	if (ret == 0)
		ret = crash_done(c, scan(c->fs), 0);
	return ret;
}

static const struct crash_workload dedupe_w = {
	"dedupe", 4096, 128ull << 20, CRASH_QGROUPS, NULL, dedupe_prepare,
	dedupe_run,
};

/* make test: a sample of each; make crash: up to all_cuts. */
TEST(crash_defrag, defrag_cut)
{
	static const struct crash_plan p = { FAULT_CUT, 12, 2000, 2, 1 };

	crash_workload_run(&defrag_w, &p);
}

TEST(crash_defrag, defrag_reordered)
{
	static const struct crash_plan p = { FAULT_REORDER, 8, 2000, 1, 1 };

	crash_workload_run(&defrag_w, &p);
}

TEST(crash_defrag, dedupe_cut)
{
	static const struct crash_plan p = { FAULT_CUT, 12, 2000, 2, 1 };

	crash_workload_run(&dedupe_w, &p);
}

TEST(crash_defrag, dedupe_reordered)
{
	static const struct crash_plan p = { FAULT_REORDER, 8, 2000, 1, 1 };

	crash_workload_run(&dedupe_w, &p);
}
