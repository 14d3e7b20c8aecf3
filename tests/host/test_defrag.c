/*
 * Snapshot-aware defrag (fs/defrag*.c) through the public API, on the
 * reference's scenario: a file written as one extent, then every other
 * 4 KiB block overwritten (half its items point into the first extent),
 * then snapshots of its subvolume, then defrag of the file. Judged by:
 * every snapshot reads back the same bytes, used space (data and
 * metadata) stays within what it was plus the bytes rewritten, ghee's
 * fsck, `btrfs check` and `btrfs check --qgroup-report` (quotas on).
 *
 * defrag.reference_sample runs it small (8 MiB, 50 snapshots);
 * GHEE_DEFRAG_SCALE=1 (make defrag-scale) runs the reference's full size
 * (128 MiB, 5,000 snapshots; GHEE_DEFRAG_MIB and GHEE_DEFRAG_SNAPS pick
 * others, GHEE_DEFRAG_QUOTA=0 leaves quotas off) on an image file in
 * /dev/shm or /var/tmp (kept when a check fails), and holds it to the issue's
 * figures: peak memory growth under 256 MiB and no commit over a
 * second. Both print the figures.
 * defrag.mixed_sharing adds reflinks, dedupe and writable snapshots;
 * defrag.cancel stops it after its first step; defrag.beside_writer
 * writes the file and snapshots it while defrag steps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ghee/blk.h>
#include <ghee/errno.h>
#include <ghee/progress.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "../../fs/ctree.h"
#include "../../fs/fs.h"
#include "../../fs/subvol.h"
#include "qgroup_env.h"
#include "shim/fault_dev.h"
#include "shim/host.h"
#include "test.h"

#define BLK 4096u

/* The scenario's size. */
struct scale {
	uint64_t file;		/* bytes of the file */
	unsigned snaps;		/* snapshots of its subvolume */
	int full;		/* the figures are held to */
};

/* Byte i of the file after the scenario's writes (gen 1: the first
 * write, gen 2: the overwrites of odd blocks). */
static unsigned char byte_at(uint64_t i)
{
	uint64_t x = i / 8 * 0x9e3779b97f4a7c15ull + ((i / BLK) & 1);

	x ^= x >> 29;
	return (unsigned char)(x * 0xbf58476d1ce4e5b9ull >> 56);
}

static void fill(unsigned char *buf, uint64_t off, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = byte_at(off + i);
}

/* Write the file: one write of its size, then every odd block again
 * (the same bytes fill() gives: what changes is where they live). */
static int write_file(struct fs_info *fs, const char *path, uint64_t size,
		      struct fs_ino *ino)
{
	unsigned char *buf = malloc(size);
	uint64_t off;
	int ret = buf ? fs_create(fs, path, 0644, ino) : -ENOMEM;

	if (ret == 0) {
		fill(buf, 0, size);
		ret = fs_write(fs, *ino, 0, buf, size);
	}
	if (ret == 0)
		ret = fs_sync(fs);
	for (off = BLK; off < size && ret == 0; off += 2 * BLK)
		ret = fs_write(fs, *ino, off, buf + off, BLK);
	if (ret == 0)
		ret = fs_sync(fs);
	free(buf);
	return ret;
}

/* 0 when path holds the scenario's size bytes (read in 1 MiB pieces). */
static int holds(struct fs_info *fs, const char *path, uint64_t size)
{
	size_t n = 1u << 20, done;
	unsigned char *want = malloc(n), *got = malloc(n);
	struct fs_ino ino;
	uint64_t off;
	int ret = want && got ? fs_lookup(fs, path, 0, &ino) : -ENOMEM;

	for (off = 0; off < size && ret == 0; off += n) {
		size_t k = size - off < n ? size - off : n;

		ret = fs_read(fs, ino, off, got, k, &done);
		fill(want, off, k);
		if (ret == 0 && (done != k || memcmp(want, got, k)))
			ret = 1;
	}
	free(want);
	free(got);
	return ret;
}

static uint64_t used(struct fs_info *fs)
{
	struct fs_df df;

	return fs_sync(fs) || fs_df(fs, &df) ? 0 : df.bytes_used;
}

/* Resident memory now, in bytes. */
static uint64_t rss_now(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long long pages = 0, res = 0;

	if (f) {
		if (fscanf(f, "%llu %llu", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * 4096;
}

/* CPU time of the process so far, in ns (the figures' wall time means
 * little on a loaded machine). */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	return clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) ? 0 :
	       (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Peak resident memory since the last rss_peak_reset(), in bytes
 * (VmHWM: getrusage's peak cannot be reset, and the scenario's one write
 * of the whole file set it before the defrag). */
static uint64_t rss_peak(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	unsigned long long kib = 0;
	char line[128];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %llu kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib * 1024;
}

static void rss_peak_reset(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");

	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

/* Quotas on, unless GHEE_DEFRAG_QUOTA=0 (measure without them: their
 * accounting is most of a commit's time with many snapshots). */
static int quotas(struct fs_info *fs)
{
	const char *q = getenv("GHEE_DEFRAG_QUOTA");

	return q && !strcmp(q, "0") ? 0 : fs_quota_enable(fs);
}

static int open_fs(uint64_t dev_bytes, struct fault_dev **dev,
		   struct fs_info **fs)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	int ret;

	*dev = fault_dev_new(dev_bytes);
	if (!*dev)
		return -ENOMEM;
	ret = fs_mkfs(fault_dev_blk(*dev), &o);
	if (ret == 0)
		ret = fs_mount(fault_dev_blk(*dev), 0, fs);
	return ret ? ret : quotas(*fs);
}

/* The same on a fresh image file at path (a mkstemp pattern): the full
 * scale's, whose memory figure must be the filesystem's own (the fault
 * device keeps each page written up to three times in memory). */
static int open_file_fs(uint64_t dev_bytes, char *path, struct fs_info **fs)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	struct blkdev *blk;
	int fd = mkstemp(path), ret;

	if (fd < 0)
		return -errno;
	ret = ftruncate(fd, (off_t)dev_bytes) ? -errno : 0;
	close(fd);
	ret = ret ? ret : host_disk_open(path, 0);
	if (ret)
		return ret;
	blk = blk_get(blk_count() - 1);
	ret = fs_mkfs(blk, &o);
	if (ret == 0)
		ret = fs_mount(blk, 0, fs);
	return ret ? ret : quotas(*fs);
}

/* Unmount, then ghee's fsck of blk mounted read-only, with its time
 * and memory printed (at 5,000 snapshots its quota check once held
 * 1.85 GB). */
static void umount_fsck(struct blkdev *blk, struct fs_info *fs)
{
	struct fs_check_report rep;
	uint64_t t0, rss0, top;

	fs_umount(fs);
	if (fs_mount(blk, FS_MOUNT_RO, &fs) == 0) {
		rss_peak_reset();
		rss0 = rss_now();
		t0 = time_ns();
		if (fs_check(fs, &rep))
			test_fail(__FILE__, __LINE__, "fsck found %llu errors",
				  (unsigned long long)rep.errors);
		top = rss_peak();
		printf("# fsck: %.2f s, peak memory growth %llu MiB, %llu "
		       "quota sets\n", (time_ns() - t0) / 1e9,
		       (unsigned long long)((top > rss0 ? top - rss0 : 0) >>
					    20),
		       (unsigned long long)rep.qgroup_sets);
		fs_umount(fs);
	}
}

/* Unmount, then ghee's fsck, btrfs check and its qgroup report. */
static void close_fs(struct fault_dev *dev, struct fs_info *fs)
{
	umount_fsck(fault_dev_blk(dev), fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	test_btrfs_check(__FILE__, __LINE__,
			 fault_dev_btrfs_check_qgroups(dev));
	fault_dev_free(dev);
}

/* The same for open_file_fs's image, which is then removed. */
static void close_file_fs(const char *path, struct fs_info *fs)
{
	umount_fsck(blk_get(blk_count() - 1), fs);
	test_btrfs_check(__FILE__, __LINE__, btrfs_check_file(path));
	test_btrfs_check(__FILE__, __LINE__, btrfs_check_qgroups_file(path));
	host_disks_close();
	unlink(path);
}

/* n read-only snapshots of /sv: /s0 ... */
static int snapshots(struct fs_info *fs, unsigned n)
{
	char path[32];
	unsigned i;
	int ret = 0;

	for (i = 0; i < n && ret == 0; i++) {
		snprintf(path, sizeof(path), "/s%u", i);
		ret = fs_subvol_snapshot(fs, "/sv", path, FS_SNAP_RDONLY);
	}
	return ret;
}

/* Every snapshot, or a sample of 64 of them, reads back the file. */
static int snapshots_hold(struct fs_info *fs, const struct scale *s)
{
	unsigned i, step = s->snaps > 64 ? s->snaps / 64 : 1;
	char path[40];
	int ret = holds(fs, "/sv/f", s->file);

	for (i = 0; i < s->snaps && ret == 0; i += step) {
		snprintf(path, sizeof(path), "/s%u/f", i);
		ret = holds(fs, path, s->file);
	}
	if (ret == 0 && s->snaps) {
		snprintf(path, sizeof(path), "/s%u/f", s->snaps - 1);
		ret = holds(fs, path, s->file);
	}
	return ret;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : dflt;
}

/* How many file extent items file f has (-1 when the tree cannot be
 * read). */
static long items_of(struct fs_info *fs, struct fs_ino f)
{
	const struct subvol_root *sv;
	struct key k = { f.ino, BTRFS_EXTENT_DATA_KEY, 0 };
	struct ctree_path p;
	long n = 0;
	int ret = subvol_get(fs, f.root, &sv);

	ctree_path_init(&p);
	ret = ret ? ret : ctree_search_ge(&sv->root, &k, &p);
	for (; ret == 0; ret = ctree_next_item(&p)) {
		ctree_item_key(&p, &k);
		if (k.objectid != f.ino || k.type != BTRFS_EXTENT_DATA_KEY)
			break;
		n++;
	}
	ctree_path_release(&p);
	return ret < 0 ? -1 : n;
}

/* The reference's scenario at size s, with its figures printed. */
static void reference_case(const struct scale *s)
{
	struct fs_defrag_opts o = { 0, 0, 0 };
	struct fs_defrag_report rep;
	struct fault_dev *dev = NULL;
	struct fs_info *fs;
	struct fs_ino f;
	char path[64];
	uint64_t before, after, rss0, t0, c0, dt, peak, top, longest;
	uint64_t bytes = s->file * 4 + (s->snaps + 256ull) * 64 * 1024 +
			 (256ull << 20);

	/* In memory when the host has a tmpfs: 5,000 snapshots are 5,000
	 * commits of about 170 extent tree leaves each (a reference per
	 * leaf of the file), some 13 GB written and 5,000 flushes, which
	 * a shared disk need not take; tmpfs pages are not the process's
	 * resident memory. */
	snprintf(path, sizeof(path), "%s/ghee-test-defrag-XXXXXX",
		 access("/dev/shm", W_OK) ? "/var/tmp" : "/dev/shm");
	if (s->full) {
		CHECK_OK(open_file_fs(bytes, path, &fs));
		/* removed at the end; a failed check leaves it to look at */
		printf("# image %s\n", path);
	} else {
		CHECK_OK(open_fs(bytes, &dev, &fs));
	}
	CHECK_OK(fs_subvol_create(fs, "/sv"));
	t0 = time_ns();
	c0 = cpu_ns();
	CHECK_OK(write_file(fs, "/sv/f", s->file, &f));
	CHECK_OK(snapshots(fs, s->snaps));
	printf("# setup (write, %u snapshots): %.2f s (CPU %.2f s), "
	       "resident %llu MiB\n", s->snaps, (time_ns() - t0) / 1e9,
	       (cpu_ns() - c0) / 1e9, (unsigned long long)(rss_now() >> 20));
	fflush(stdout);
	before = used(fs);
	rss_peak_reset();
	rss0 = rss_now();
	t0 = time_ns();
	c0 = cpu_ns();
	CHECK_OK(fs_defrag(fs, f, &o, &rep));
	dt = time_ns() - t0;
	c0 = cpu_ns() - c0;
	top = rss_peak();
	peak = top > rss0 ? top - rss0 : 0;
	after = used(fs);
	printf("# defrag %llu MiB file, %u snapshots: %.2f s (CPU %.2f s), "
	       "%llu commits (longest %.3f s, CPU %.3f s; at most %llu tree "
	       "blocks copied or freed), peak memory growth "
	       "%llu MiB "
	       "(resident %llu MiB), used %llu -> %llu KiB (%llu KiB "
	       "rewritten), %llu items repointed, %llu blocks copied\n",
	       (unsigned long long)(s->file >> 20), s->snaps, dt / 1e9,
	       c0 / 1e9,
	       (unsigned long long)rep.steps, rep.longest_step_ns / 1e9,
	       rep.longest_step_cpu_ns / 1e9,
	       (unsigned long long)rep.most_step_blocks,
	       (unsigned long long)(peak >> 20),
	       (unsigned long long)(top >> 20),
	       (unsigned long long)(before >> 10),
	       (unsigned long long)(after >> 10),
	       (unsigned long long)(rep.bytes >> 10),
	       (unsigned long long)rep.items,
	       (unsigned long long)rep.blocks);
	fflush(stdout);	/* the checks below take long at full scale */
	CHECK(rep.bytes == s->file);
	/* every item of every tree now points at the copies: the file's
	 * own, and once more in the blocks the snapshots share (the file's
	 * own leaves are its alone after the merge below) */
	CHECK_EQ(rep.items, s->file / BLK * (s->snaps ? 2 : 1));
	/* and the file's own items are merged: one per new extent, as
	 * Linux's defrag leaves it (the snapshots keep theirs) */
	CHECK_EQ(items_of(fs, f), (long)((s->file + (32ull << 20) - 1) >>
					 25));
	CHECK(before && after && after <= before + rep.bytes);
	CHECK_OK(snapshots_hold(fs, s));
	/* Done: a second defrag finds nothing to do. */
	longest = rep.longest_step_ns;
	CHECK_OK(fs_defrag(fs, f, &o, &rep));
	CHECK_EQ(rep.runs, 0);
	if (s->full)
		close_file_fs(path, fs);
	else
		close_fs(dev, fs);
	/* The figures last, so that the checks above judge the image
	 * also when a loaded machine stretched a commit past a second. */
	if (s->full) {
		CHECK(peak < (256ull << 20));
		CHECK(longest < 1000000000ull);
	}
}

TEST(defrag, reference_sample)
{
	struct scale s = { 8ull << 20, 50, 0 };

	reference_case(&s);
}

TEST(defrag, reference_scale)
{
	struct scale s;

	if (!getenv("GHEE_DEFRAG_SCALE")) {
		test_skip("full scale: make defrag-scale");
		return;
	}
	s.file = env_u64("GHEE_DEFRAG_MIB", 128) << 20;
	s.snaps = (unsigned)env_u64("GHEE_DEFRAG_SNAPS", 5000);
	s.full = 1;
	reference_case(&s);
}

/*
 * Each commit of the later steps copies or frees a bounded number of
 * tree blocks, whatever the size of the trees the snapshots share: with
 * 4 KiB nodes the file's 8,192 items fill about 160 leaves under two
 * levels of nodes, which the first snapshot's step used to copy in one
 * commit, and the last one's to free in one (with the 4,096 old data
 * extents they held, and their accounting: the reference's longest
 * commit). The first steps copy STEP_COPY_BYTES of data each (2,048
 * items: some 40 leaves).
 */
TEST(defrag, steps_bound_the_blocks_they_change)
{
	struct fs_mkfs_opts mo = { NULL, 4096, 0, NULL };
	struct fs_defrag_opts o = { 0, 0, 0 };
	struct fs_defrag_report rep;
	struct scale s = { 32ull << 20, 3, 0 };
	struct fault_dev *dev = fault_dev_new(512ull << 20);
	struct fs_info *fs;
	struct fs_ino f;
	uint64_t before, after;

	CHECK(dev != NULL);
	CHECK_OK(fs_mkfs(fault_dev_blk(dev), &mo));
	CHECK_OK(fs_mount(fault_dev_blk(dev), 0, &fs));
	CHECK_OK(quotas(fs));
	CHECK_OK(fs_subvol_create(fs, "/sv"));
	CHECK_OK(write_file(fs, "/sv/f", s.file, &f));
	CHECK_OK(snapshots(fs, s.snaps));
	before = used(fs);
	CHECK_OK(fs_defrag(fs, f, &o, &rep));
	after = used(fs);
	printf("# %llu commits, at most %llu tree blocks copied or freed in "
	       "one, %llu copied\n", (unsigned long long)rep.steps,
	       (unsigned long long)rep.most_step_blocks,
	       (unsigned long long)rep.blocks);
	CHECK(rep.blocks >= 2 * 160);	/* the file's own, the snapshots' */
	CHECK(rep.most_step_blocks <= 64);
	CHECK(rep.trees >= s.snaps + 1);
	CHECK_EQ(rep.items, s.file / BLK * 2);
	CHECK(after <= before + rep.bytes);
	CHECK_OK(snapshots_hold(fs, &s));
	close_fs(dev, fs);
}

/* Read the file at path and compare with the scenario's bytes from
 * file offset from, n bytes. 0 when equal. */
static int holds_range(struct fs_info *fs, const char *path, uint64_t from,
		       uint64_t n)
{
	unsigned char *want = malloc(n + 1), *got = malloc(n + 1);
	struct fs_ino ino;
	size_t done = 0;
	int ret = want && got ? fs_lookup(fs, path, 0, &ino) : -ENOMEM;

	if (ret == 0)
		ret = fs_read(fs, ino, 0, got, n + 1, &done);
	fill(want, from, n);
	if (ret == 0 && (done != n || memcmp(want, got, n)))
		ret = 1;
	free(want);
	free(got);
	return ret;
}

/* Write n bytes of the scenario's bytes from from as path's data. */
static int put_range(struct fs_info *fs, const char *path, uint64_t from,
		     uint64_t n, struct fs_ino *ino)
{
	unsigned char *buf = malloc(n);
	int ret = buf ? fs_create(fs, path, 0644, ino) : -ENOMEM;

	if (ret == 0) {
		fill(buf, from, n);
		ret = fs_write(fs, *ino, 0, buf, n);
	}
	free(buf);
	return ret;
}

/*
 * Snapshots (one taken before the overwrites, whose single item spans
 * the whole first extent and so keeps it), a writable snapshot, a
 * reflink and a dedupe of the file, then defrag: every name reads the
 * same, space within the bound; then writes into the defragmented file
 * and the writable snapshot (copy-on-write of the shared copies) and
 * everything is judged again.
 */
TEST(defrag, mixed_sharing)
{
	const uint64_t size = 2u << 20, half = size / 2;
	struct fs_defrag_opts o = { 0, 0, 0 };
	struct fs_defrag_report rep;
	struct fault_dev *dev;
	struct fs_info *fs;
	struct fs_ino f, g, h;
	unsigned char *buf = malloc(size);
	uint64_t before, after, off;

	CHECK(buf != NULL);
	CHECK_OK(open_fs(256ull << 20, &dev, &fs));
	CHECK_OK(fs_subvol_create(fs, "/sv"));
	CHECK_OK(fs_create(fs, "/sv/f", 0644, &f));
	fill(buf, 0, size);
	CHECK_OK(fs_write(fs, f, 0, buf, size));
	CHECK_OK(fs_sync(fs));
	CHECK_OK(fs_subvol_snapshot(fs, "/sv", "/early", FS_SNAP_RDONLY));
	for (off = BLK; off < size; off += 2 * BLK)
		CHECK_OK(fs_write(fs, f, off, buf + off, BLK));
	CHECK_OK(fs_sync(fs));
	CHECK_OK(fs_create(fs, "/sv/g", 0644, &g));
	CHECK_OK(fs_clone_range(fs, f, 0, half, g, 0));
	CHECK_OK(put_range(fs, "/sv/h", half, half, &h));
	CHECK_OK(fs_dedupe_range(fs, f, half, half, h, 0));
	CHECK_OK(snapshots(fs, 3));
	CHECK_OK(fs_subvol_snapshot(fs, "/sv", "/rw", 0));
	before = used(fs);
	CHECK_OK(fs_defrag(fs, f, &o, &rep));
	after = used(fs);
	printf("# used %llu -> %llu KiB, %llu KiB rewritten, %llu items, "
	       "%llu trees\n", (unsigned long long)(before >> 10),
	       (unsigned long long)(after >> 10),
	       (unsigned long long)(rep.bytes >> 10),
	       (unsigned long long)rep.items, (unsigned long long)rep.trees);
	CHECK_EQ(rep.bytes, size);
	CHECK(after <= before + rep.bytes);
	/* f, its reflink g, its dedupe h (and their copies in /rw): each
	 * of their items lies in one piece; /early's does not. Those in
	 * leaves of sv that f's merged items changed again are repointed
	 * once more in the leaves the snapshots share. */
	CHECK(rep.items >= size / BLK + half / BLK + half / BLK);
	CHECK(rep.items <= 2 * (size / BLK + half / BLK + half / BLK));
	CHECK_EQ(rep.trees, 5);	/* sv, s0-s2, rw: not early */
	CHECK_OK(holds(fs, "/sv/f", size));
	CHECK_OK(holds(fs, "/early/f", size));
	CHECK_OK(holds(fs, "/rw/f", size));
	CHECK_OK(holds(fs, "/s2/f", size));
	CHECK_OK(holds_range(fs, "/sv/g", 0, half));
	CHECK_OK(holds_range(fs, "/rw/g", 0, half));
	CHECK_OK(holds_range(fs, "/sv/h", half, half));
	CHECK_OK(holds_range(fs, "/s0/h", half, half));
	/* Change the shared copies from both writable trees. */
	CHECK_OK(fs_write(fs, f, 3 * BLK, buf + 3 * BLK, BLK));
	CHECK_OK(fs_lookup(fs, "/rw/f", 0, &g));
	CHECK_OK(fs_write(fs, g, 8 * BLK, buf + 8 * BLK, 2 * BLK));
	CHECK_OK(fs_punch_hole(fs, h, 0, BLK));
	CHECK_OK(fs_sync(fs));
	CHECK_OK(holds(fs, "/sv/f", size));
	CHECK_OK(holds(fs, "/rw/f", size));
	CHECK_OK(holds(fs, "/s1/f", size));
	free(buf);
	close_fs(dev, fs);
}

/* A defrag run as a task, started once go is set. */
struct job {
	struct fs_info *fs;
	struct fs_ino f;
	struct fs_defrag_report rep;
	int go, ret;
};

static int job_fn(void *arg)
{
	struct job *j = arg;
	struct fs_defrag_opts o = { 0, 0, 0 };

	while (!__atomic_load_n(&j->go, __ATOMIC_ACQUIRE))
		task_sleep_ns(100000);
	j->ret = fs_defrag(j->fs, j->f, &o, &j->rep);
	return 0;
}

/* Run j's defrag in a task asked to stop before it starts, so that it
 * stops after its first step (j->ret: -ECANCELED). */
static int defrag_first_step(struct job *j)
{
	struct task *t = task_create("defrag", job_fn, j,
				     TASK_PRIO_BACKGROUND);

	if (!t)
		return -ENOMEM;
	task_stop(task_id(t));
	__atomic_store_n(&j->go, 1, __ATOMIC_RELEASE);
	return task_join(t);
}

/* Cancelled after its first step (the file's own tree points at the
 * copies, the snapshots at the old data): consistent, same bytes, space
 * within the bound and the blocks copied; a defrag of a snapshot's file
 * then moves the rest. */
TEST(defrag, cancel)
{
	const uint64_t size = 1u << 20;
	struct fs_defrag_opts o = { 0, 0, 0 };
	struct fs_defrag_report rep;
	struct scale s = { size, 4, 0 };
	struct job j = { 0 };
	struct fault_dev *dev;
	uint64_t before;

	CHECK_OK(open_fs(128ull << 20, &dev, &j.fs));
	CHECK_OK(fs_subvol_create(j.fs, "/sv"));
	CHECK_OK(write_file(j.fs, "/sv/f", size, &j.f));
	CHECK_OK(snapshots(j.fs, s.snaps));
	before = used(j.fs);
	CHECK_OK(defrag_first_step(&j));
	CHECK_EQ(j.ret, -ECANCELED);
	CHECK_EQ(j.rep.steps, 1);
	CHECK_EQ(j.rep.trees, 1);
	/* mid-way, the copied blocks count too: the snapshots still hold
	 * the old ones */
	CHECK(used(j.fs) <= before + j.rep.bytes + j.rep.blocks * 16384);
	CHECK_OK(snapshots_hold(j.fs, &s));
	CHECK_OK(fs_lookup(j.fs, "/s0/f", 0, &j.f));
	CHECK_OK(fs_defrag(j.fs, j.f, &o, &rep));
	CHECK_EQ(rep.trees, s.snaps);	/* not /sv: on its own copies */
	CHECK_OK(snapshots_hold(j.fs, &s));
	close_fs(dev, j.fs);
}

/*
 * Cancelled between steps in a tree three levels tall (many files before
 * the file, 4 KiB nodes) whose level-1 nodes a snapshot shares: the
 * file's own tree points at the copies, the snapshot still at the old
 * leaves, under the old node. Those leaves were the file's tree's own,
 * with one reference each (the node's) and normal references to their
 * data: once the tree is off them they must name the data by address
 * (FULL_BACKREF), as the node above does, or the step's commit holds
 * references of a tree that no longer reaches their items (btrfs check:
 * ref mismatches between every two steps; the quota accounting, which
 * resolves them, lost the snapshot's extents: issue 13). Quotas on; the
 * counts must be the brute force's, and the image between steps must
 * pass btrfs check and its qgroup report.
 */
TEST(defrag, cancelled_under_a_shared_node)
{
	struct fs_mkfs_opts mo = { NULL, 4096, 0, NULL };
	struct scale s = { 1u << 20, 1, 0 };
	const struct subvol_root *sv;
	struct job j = { 0 };
	struct fault_dev *dev = fault_dev_new(256ull << 20);

	CHECK(dev != NULL);
	CHECK_OK(fs_mkfs(fault_dev_blk(dev), &mo));
	CHECK_OK(fs_mount(fault_dev_blk(dev), 0, &j.fs));
	CHECK_OK(fs_quota_enable(j.fs));
	CHECK_OK(fs_subvol_create(j.fs, "/sv"));
	CHECK_OK(many_files(j.fs, "/sv/d", 1500, 1));
	CHECK_OK(write_file(j.fs, "/sv/f", s.file, &j.f));
	CHECK_OK(snapshots(j.fs, s.snaps));
	CHECK_OK(subvol_get(j.fs, j.f.root, &sv));
	CHECK(sv->root.level >= 2);
	CHECK_OK(defrag_first_step(&j));
	CHECK_EQ(j.ret, -ECANCELED);
	CHECK_EQ(j.rep.steps, 1);
	CHECK(j.rep.blocks >= 2);	/* a leaf and the node above it */
	CHECK_OK(sync_compare(j.fs));
	CHECK_OK(snapshots_hold(j.fs, &s));
	close_fs(dev, j.fs);
}

/*
 * Defrag beside a writer: while it steps the trees, blocks of the file
 * are written again (the same bytes, at new places: the copies and the
 * new extents the file's own tree pointed at may lose every reference
 * between two steps) with commits between, and snapshots are taken of
 * the subvolume. Whatever the interleaving: it completes, every name
 * reads the same bytes, and the checkers find nothing.
 */
TEST(defrag, beside_writer)
{
	const uint64_t size = 2u << 20;
	struct scale s = { size, 8, 0 };
	struct job j = { 0 };
	struct fault_dev *dev;
	struct task *t;
	unsigned char *buf = malloc(size);
	uint64_t x = 0x9e3779b97f4a7c15ull, off;
	unsigned i;

	CHECK(buf != NULL);
	fill(buf, 0, size);
	CHECK_OK(open_fs(256ull << 20, &dev, &j.fs));
	CHECK_OK(fs_subvol_create(j.fs, "/sv"));
	CHECK_OK(write_file(j.fs, "/sv/f", size, &j.f));
	CHECK_OK(snapshots(j.fs, s.snaps));
	t = task_create("defrag", job_fn, &j, TASK_PRIO_BACKGROUND);
	CHECK(t != NULL);
	__atomic_store_n(&j.go, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 40; i++) {
		char path[24];

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		off = x % (size / BLK) * BLK;
		CHECK_OK(fs_write(j.fs, j.f, off, buf + off, 4 * BLK < size - off
				  ? 4 * BLK : size - off));
		CHECK_OK(fs_sync(j.fs));
		if (i % 10 == 5) {
			snprintf(path, sizeof(path), "/late%u", i);
			CHECK_OK(fs_subvol_snapshot(j.fs, "/sv", path,
						    FS_SNAP_RDONLY));
		}
	}
	CHECK_OK(task_join(t));
	CHECK_OK(j.ret);
	printf("# %llu runs, %llu trees, %llu commits\n",
	       (unsigned long long)j.rep.runs, (unsigned long long)j.rep.trees,
	       (unsigned long long)j.rep.steps);
	CHECK(j.rep.runs > 0);
	CHECK_OK(snapshots_hold(j.fs, &s));
	CHECK_OK(holds(j.fs, "/late5/f", size));
	CHECK_OK(holds(j.fs, "/late35/f", size));
	free(buf);
	close_fs(dev, j.fs);
}

/* When beside_other_file takes a snapshot of /sv. */
enum snap_when {
	SNAP_NONE,
	SNAP_BEFORE,	/* before the files: their leaves are not shared */
	SNAP_AFTER,	/* after: their leaves are shared with it */
};

/*
 * Two files written block by block in turn, so every leaf of one holds
 * the other's extents too and neither file's extents are contiguous;
 * defrag of f copies leaves whose other items (g's) do not move. Then
 * the copies go through ordinary copy-on-write (writes into both files,
 * a defrag of g, g deleted) and everything is judged: both files' bytes,
 * ghee's fsck, btrfs check. Before the fix, a leaf copy that was not
 * shared was flagged FULL_BACKREF while copy-on-write, seeing it younger
 * than the last snapshot, took it for a normal one: the references of
 * g's extents named a freed leaf ("bad full backref"), and later drops
 * failed (extent_run_head: -EUCLEAN).
 */
static void beside_other_file(enum snap_when when)
{
	const uint64_t size = 1u << 20, gfrom = 64u << 20;
	struct fs_defrag_opts o = { 0, 0, 0 };
	struct fs_defrag_report rep;
	struct fault_dev *dev;
	struct fs_info *fs;
	struct fs_ino f, g;
	unsigned char *fb = malloc(size), *gb = malloc(size);
	uint64_t off;

	CHECK(fb != NULL && gb != NULL);
	fill(fb, 0, size);
	fill(gb, gfrom, size);
	CHECK_OK(open_fs(128ull << 20, &dev, &fs));
	CHECK_OK(fs_subvol_create(fs, "/sv"));
	if (when == SNAP_BEFORE)
		CHECK_OK(fs_subvol_snapshot(fs, "/sv", "/s0", FS_SNAP_RDONLY));
	/* the files' leaves younger than the last snapshot of /sv (its
	 * creation counts as one) */
	CHECK_OK(fs_sync(fs));
	CHECK_OK(fs_create(fs, "/sv/f", 0644, &f));
	CHECK_OK(fs_create(fs, "/sv/g", 0644, &g));
	for (off = 0; off < size; off += BLK) {
		CHECK_OK(fs_write(fs, f, off, fb + off, BLK));
		CHECK_OK(fs_write(fs, g, off, gb + off, BLK));
	}
	CHECK_OK(fs_sync(fs));
	if (when == SNAP_AFTER)
		CHECK_OK(fs_subvol_snapshot(fs, "/sv", "/s0", FS_SNAP_RDONLY));
	CHECK_OK(fs_defrag(fs, f, &o, &rep));
	CHECK_EQ(rep.runs, 1);
	CHECK(rep.blocks >= 2);	/* leaves below a node: not the root */
	CHECK_EQ(items_of(fs, f), 1);
	CHECK_OK(fs_sync(fs));
	CHECK_OK(holds(fs, "/sv/f", size));
	CHECK_OK(holds_range(fs, "/sv/g", gfrom, size));
	/* copy-on-write of the leaf copies, from both files */
	CHECK_OK(fs_write(fs, f, 3 * BLK, fb + 3 * BLK, BLK));
	CHECK_OK(fs_write(fs, g, 5 * BLK, gb + 5 * BLK, BLK));
	CHECK_OK(fs_sync(fs));
	CHECK_OK(fs_defrag(fs, g, &o, &rep));
	CHECK_EQ(rep.runs, 1);
	CHECK_OK(fs_sync(fs));
	CHECK_OK(holds(fs, "/sv/f", size));
	CHECK_OK(holds_range(fs, "/sv/g", gfrom, size));
	CHECK_OK(fs_unlink(fs, "/sv/g"));
	CHECK_OK(fs_sync(fs));
	CHECK_OK(holds(fs, "/sv/f", size));
	if (when == SNAP_AFTER) {
		CHECK_OK(holds(fs, "/s0/f", size));
		CHECK_OK(holds_range(fs, "/s0/g", gfrom, size));
	}
	free(fb);
	free(gb);
	close_fs(dev, fs);
}

TEST(defrag, beside_other_file)
{
	beside_other_file(SNAP_NONE);
}

TEST(defrag, beside_other_file_older_snapshot)
{
	beside_other_file(SNAP_BEFORE);
}

TEST(defrag, beside_other_file_snapshotted)
{
	beside_other_file(SNAP_AFTER);
}
