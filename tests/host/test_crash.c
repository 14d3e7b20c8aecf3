/*
 * Crash tests: a workload with syncs runs on the fault device
 * (shim/fault_dev.c), whose power is cut at the Nth write; the image that
 * survives must mount, pass ghee's fsck, hold everything synced before
 * the cut, and take new writes. Every N for a small workload (cut: writes
 * up to N land), sampled N for a larger one whose trees split, with
 * unflushed writes dropped or kept at random. A bounded sample of the
 * images (CRASH_BTRFS_CHECKS) also goes through `btrfs check` when
 * btrfs-progs is installed.
 *
 * The workload's files have known contents, so the check is exact: every
 * file must hold one of the versions it had at the last sync that
 * returned before the cut or later (a later commit may have landed too).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../fs/fs.h"
#include "shim/fault_dev.h"
#include "shim/host.h"
#include "test.h"

#define DEV_SIZE (256ull << 20)
#define MAX_FILES 400
#define MAX_SYNCS 160
#define CRASH_BTRFS_CHECKS 15	/* btrfs check runs, at most, per case */
#define FAILED_IMAGE "/tmp/ghee-crash-failed.img"	/* kept to debug */

/* One file's state in the model: absent, or its length and rewrite. */
struct fver {
	uint32_t len;		/* 0: absent */
	uint32_t rewrites;	/* partial overwrites so far */
};

/* The workload's model: the files now, and at each sync. */
struct model {
	int nfiles, nsyncs;
	struct fver now[MAX_FILES];
	struct fver at[MAX_SYNCS][MAX_FILES];
	uint64_t synced_at[MAX_SYNCS];	/* device writes when sync returned */
};

static uint8_t byte_of(int file, uint32_t rewrites, uint64_t off)
{
	uint64_t x = (uint64_t)file * 0x9E3779B97F4A7C15ull + off / 8 + 1;

	/* a rewrite changes bytes [1000, 7000) */
	if (rewrites && off >= 1000 && off < 1000 + 6000ull * rewrites)
		x += rewrites * 0x1234567ull;
	x ^= x >> 31;
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 29;
	return (uint8_t)(x >> (8 * (off % 8)));
}

static void fill(uint8_t *buf, int file, uint32_t rewrites, uint64_t off,
		 size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = byte_of(file, rewrites, off + i);
}

static void file_path(char *p, int i)
{
	snprintf(p, 64, "/d%d/file-%d-with-a-longer-name", i % 7, i);
}

/* Run the workload; stops at the first error (the power cut). */
static int workload(struct fs_info *fs, struct fault_dev *f, int nfiles,
		    struct model *m)
{
	static uint8_t buf[200000];
	char p[64];
	struct fs_ino ino;
	int i, ret = 0;

	memset(m, 0, sizeof(*m));
	m->nfiles = nfiles;
	for (i = 0; i < 7 && ret == 0; i++) {
		snprintf(p, sizeof(p), "/d%d", i);
		ret = fs_mkdir(fs, p, 0755);
	}
	for (i = 0; i < nfiles && ret == 0; i++) {
		uint32_t len = 3000 + (uint32_t)(i * 7919) % 150000;

		file_path(p, i);
		fill(buf, i, 0, 0, len);
		ret = fs_create(fs, p, 0644, &ino);
		if (ret == 0)
			ret = fs_write(fs, ino, 0, buf, len);
		if (ret)
			break;
		m->now[i].len = len;
		if (i % 4 == 1) {	/* split the extent: 6000 new bytes */
			fill(buf, i, 1, 1000, 6000);
			ret = fs_write(fs, ino, 1000, buf, 6000);
			if (ret == 0 && len < 7000)
				m->now[i].len = 7000;
			m->now[i].rewrites = ret ? 0 : 1;
		}
		if (ret == 0 && i % 5 == 3) {
			file_path(p, i - 1);
			ret = fs_unlink(fs, p);
			if (ret == 0)
				m->now[i - 1].len = 0;
		}
		if (ret == 0 && i % 3 == 2 && m->nsyncs < MAX_SYNCS) {
			ret = fs_sync(fs);
			if (ret)
				break;
			memcpy(m->at[m->nsyncs], m->now, sizeof(m->now));
			m->synced_at[m->nsyncs++] = fault_dev_writes(f);
		}
	}
	return ret;
}

/* Does file i hold version v (absent when v->len == 0)? */
static int holds(struct fs_info *fs, int i, const struct fver *v,
		 uint8_t *got, uint8_t *want)
{
	struct fs_ino ino;
	char p[64];
	size_t n;

	file_path(p, i);
	if (fs_lookup(fs, p, 0, &ino))
		return v->len == 0;
	if (v->len == 0 || fs_read(fs, ino, 0, got, 200001, &n) || n != v->len)
		return 0;
	fill(want, i, v->rewrites, 0, n);
	return memcmp(got, want, n) == 0;
}

/* Check every file against the syncs that returned by write cut. */
static int check_files(struct fs_info *fs, const struct model *m,
		       uint64_t cut, int *bad_file)
{
	static uint8_t got[200001], want[200001];
	int first = -1, i, k;

	for (k = 0; k < m->nsyncs; k++)
		if (m->synced_at[k] <= cut)
			first = k;
	if (first < 0)
		return 0;
	for (i = 0; i < m->nfiles; i++) {
		int ok = holds(fs, i, &m->now[i], got, want);

		for (k = first; k < m->nsyncs && !ok; k++)
			ok = holds(fs, i, &m->at[k][i], got, want);
		if (!ok) {
			*bad_file = i;
			return -1;
		}
	}
	return 0;
}

/* A fresh filesystem made once; each run starts from a copy. */
static struct fault_dev *template_dev(uint32_t nodesize)
{
	struct fs_mkfs_opts o = { NULL, nodesize, 0 };
	struct fault_dev *t = fault_dev_new(DEV_SIZE);

	if (t && fs_mkfs(fault_dev_blk(t), &o)) {
		fault_dev_free(t);
		return NULL;
	}
	return t;
}

/* Run with the power cut at write cut; the survivor is *out. */
static void run_cut(struct fault_dev *tmpl, int nfiles, uint64_t cut,
		    enum fault_mode mode, struct model *m,
		    struct fault_dev **out)
{
	struct fault_dev *f = fault_dev_clone(tmpl);
	struct fs_info *fs;

	fault_dev_arm(f, cut, mode, cut);
	if (fs_mount(fault_dev_blk(f), 0, &fs) == 0) {
		workload(fs, f, nfiles, m);
		fs_umount(fs);
	}
	*out = fault_dev_crash_image(f);
	fault_dev_free(f);
}

/* Mount the survivor, check it, then write to it. 0 or a failure line. */
static const char *verify(struct fault_dev *c, const struct model *m,
			  uint64_t cut, int *bad_file)
{
	struct fs_check_report rep;
	struct fs_info *fs;
	struct fs_ino ino;
	int ret;

	if (fs_mount(fault_dev_blk(c), 0, &fs))
		return "the image does not mount";
	ret = fs_check(fs, &rep);
	if (ret == 0 && check_files(fs, m, cut, bad_file))
		ret = -ENODATA;
	if (ret == 0)
		ret = fs_create(fs, "/after-crash", 0644, &ino);
	if (ret == 0)
		ret = fs_write(fs, ino, 0, "x", 1);
	if (ret == 0)
		ret = fs_sync(fs);
	if (ret == 0)
		ret = fs_check(fs, &rep);
	fs_umount(fs);
	if (ret == -ENODATA)
		return "a synced file is missing or wrong";
	return ret ? "fsck found errors, or the image takes no new writes" :
		     NULL;
}

/*
 * Cut at every write in [1, total] (step apart) and verify each survivor;
 * up to CRASH_BTRFS_CHECKS of them, spread out, also by btrfs check.
 */
static void crash_run(uint32_t nodesize, int nfiles, uint64_t step,
		      enum fault_mode mode)
{
	static struct model m;
	struct fault_dev *tmpl = template_dev(nodesize), *c;
	uint64_t total, cut, every, runs = 0, checks = 0;
	const char *why = NULL;
	int bad_file = -1;

	CHECK(tmpl != NULL);
	host_console_capture(1);	/* the aborts' messages */
	run_cut(tmpl, nfiles, 0, mode, &m, &c);
	fault_dev_free(c);
	total = m.synced_at[m.nsyncs - 1] + 40;
	every = total / step / CRASH_BTRFS_CHECKS + 1;
	for (cut = 1; cut <= total && !why; cut += step, runs++) {
		run_cut(tmpl, nfiles, cut, mode, &m, &c);
		why = verify(c, &m, cut, &bad_file);
		if (why && fault_dev_save(c, FAILED_IMAGE) == 0)
			printf("# the failing image is %s\n", FAILED_IMAGE);
		if (!why && runs % every == 0) {
			checks++;
			if (test_btrfs_check(__FILE__, __LINE__,
					     fault_dev_btrfs_check(c)))
				why = "btrfs check";
		}
		fault_dev_free(c);
	}
	host_console_capture(0);
	fault_dev_free(tmpl);
	if (why)
		test_fail(__FILE__, __LINE__, "cut at write %llu (mode %d): %s "
			  "(file %d)", (unsigned long long)(cut - step), mode,
			  why, bad_file);
	printf("# crash nodesize %u, %d files: %llu writes, %llu cuts, %llu "
	       "btrfs checks\n", nodesize, nfiles, (unsigned long long)total,
	       (unsigned long long)runs, (unsigned long long)checks);
}

/* Small workload, cut at every write; writes up to the cut land. */
TEST(crash, every_write_small)
{
	crash_run(16384, 12, 1, FAULT_CUT);
}

/* Small workload, every write; unflushed writes kept or lost at random. */
TEST(crash, every_write_reordered)
{
	crash_run(16384, 12, 1, FAULT_REORDER);
}

/* A larger workload whose 4K-node trees split, cut at sampled writes. */
TEST(crash, sampled_large_reordered)
{
	crash_run(4096, 240, 61, FAULT_REORDER);
}
