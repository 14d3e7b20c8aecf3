/*
 * Appending writes grow the file's newest extent (fs/file_grow.c): the
 * layout fiemap reports, the data read back, ghee's fsck and btrfs check
 * (which finds an extent item, back-reference or checksum run that does
 * not match the file extent items) after:
 *  - appends across write calls and across commits (a commit ends the
 *    growth: the next append makes a new extent);
 *  - a write into the middle of a growing extent (it splits: no growth
 *    after);
 *  - a reflink clone and a snapshot of a file whose last extent is still
 *    growing;
 *  - compression (compressed pieces never grow) and quotas (btrfs check
 *    recounts every qgroup);
 *  - ENOSPC: what the appends took is all given back when the file goes;
 *  - power cuts at every write of a workload of appends and syncs: the
 *    survivor holds whole appends, at least those of the last sync.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "../../fs/transaction.h"
#include "shim/fault_dev.h"
#include "shim/host.h"
#include "test.h"
#include "test_env.h"

#define PIECE (64u << 10)	/* bytes per append */
#define MAX_EXTENTS 64

/* A file's extents as fiemap reports them. */
struct layout {
	unsigned n;
	struct fs_fiemap_extent x[MAX_EXTENTS];
};

static int take(void *ctx, const struct fs_fiemap_extent *x)
{
	struct layout *l = ctx;

	if (l->n == MAX_EXTENTS)
		return -E2BIG;
	l->x[l->n++] = *x;
	return 0;
}

static int layout_of(struct fs_info *fs, const char *path, struct layout *l)
{
	struct fs_ino ino;
	int ret = fs_lookup(fs, path, 0, &ino);

	memset(l, 0, sizeof(*l));
	return ret ? ret : fs_fiemap(fs, ino, take, l);
}

/* Byte i of the data appended to a file made with seed. */
static uint8_t byte_at(unsigned seed, uint64_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13 ^ (i >> 12) ^ seed);
}

/* Append n pieces of PIECE bytes to path at piece first on. */
static int append(struct fs_info *fs, const char *path, unsigned seed,
		  unsigned first, unsigned n)
{
	static uint8_t buf[PIECE];
	struct fs_ino ino;
	unsigned p, i;
	int ret = fs_lookup(fs, path, 0, &ino);

	if (ret == -ENOENT)
		ret = fs_create(fs, path, 0644, &ino);
	for (p = first; p < first + n && ret == 0; p++) {
		for (i = 0; i < PIECE; i++)
			buf[i] = byte_at(seed, (uint64_t)p * PIECE + i);
		ret = fs_write(fs, ino, (uint64_t)p * PIECE, buf, PIECE);
	}
	return ret;
}

/* Whether path holds exactly its first n pieces (1 yes). */
static int holds(struct fs_info *fs, const char *path, unsigned seed,
		 unsigned n)
{
	uint64_t len = (uint64_t)n * PIECE, i;
	uint8_t *buf = malloc(len + 1);
	struct fs_ino ino;
	size_t got = 0;
	int ok = buf && fs_lookup(fs, path, 0, &ino) == 0 &&
		 fs_read(fs, ino, 0, buf, len + 1, &got) == 0 && got == len;

	for (i = 0; ok && i < len; i++)
		ok = buf[i] == byte_at(seed, i);
	free(buf);
	return ok;
}

static void fsck_ok(struct fs_info *fs)
{
	struct fs_check_report rep;

	CHECK_OK(fs_check(fs, &rep));
}

TEST(file_grow, appends_make_one_extent_until_the_commit)
{
	struct env e;
	struct layout l;

	CHECK_OK(env_mkfs_mount(&e, 0));
	CHECK_OK(append(e.fs, "/f", 1, 0, 48));
	CHECK_OK(layout_of(e.fs, "/f", &l));
	CHECK_EQ(l.n, 1);
	CHECK_EQ(l.x[0].length, 48 * PIECE);
	CHECK_OK(fs_sync(e.fs));
	/* The committed extent stays as it is; the next appends make one. */
	CHECK_OK(append(e.fs, "/f", 1, 48, 16));
	CHECK_OK(layout_of(e.fs, "/f", &l));
	CHECK_EQ(l.n, 2);
	CHECK_EQ(l.x[1].logical, 48 * PIECE);
	CHECK_EQ(l.x[1].length, 16 * PIECE);
	CHECK(holds(e.fs, "/f", 1, 64));
	CHECK_OK(fs_sync(e.fs));
	fsck_ok(e.fs);
	CHECK_OK(env_umount_check(&e, 0));
}

/* One write call of several pieces makes one extent too. */
TEST(file_grow, one_large_write_is_one_extent)
{
	static uint8_t buf[6u << 20];
	struct fs_ino ino;
	struct layout l;
	struct env e;
	size_t i, n;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = byte_at(2, i);
	CHECK_OK(env_mkfs_mount(&e, 0));
	CHECK_OK(fs_create(e.fs, "/f", 0644, &ino));
	CHECK_OK(fs_write(e.fs, ino, 0, buf, sizeof(buf)));
	CHECK_OK(layout_of(e.fs, "/f", &l));
	CHECK_EQ(l.n, 1);
	CHECK_EQ(l.x[0].length, sizeof(buf));
	CHECK_OK(fs_sync(e.fs));
	memset(buf, 0, sizeof(buf));
	CHECK_OK(fs_read(e.fs, ino, 0, buf, sizeof(buf), &n));
	CHECK_EQ(n, sizeof(buf));
	CHECK(holds(e.fs, "/f", 2, sizeof(buf) / PIECE));
	fsck_ok(e.fs);
	CHECK_OK(env_umount_check(&e, 0));
}

/* An overwrite inside the growing extent splits it, and it grows no
 * more: the appends after it are an extent of their own. */
TEST(file_grow, write_into_the_middle_stops_the_growth)
{
	static uint8_t four[4096];
	struct fs_ino ino;
	struct layout l;
	struct env e;
	uint8_t got[4096];
	size_t n;

	memset(four, 0x5a, sizeof(four));
	CHECK_OK(env_mkfs_mount(&e, 0));
	CHECK_OK(append(e.fs, "/f", 3, 0, 8));
	CHECK_OK(fs_lookup(e.fs, "/f", 0, &ino));
	CHECK_OK(fs_write(e.fs, ino, 3 * PIECE, four, sizeof(four)));
	CHECK_OK(append(e.fs, "/f", 3, 8, 4));
	CHECK_OK(layout_of(e.fs, "/f", &l));
	CHECK_EQ(l.n, 4);
	CHECK_EQ(l.x[0].length, 3 * PIECE);
	CHECK_EQ(l.x[1].length, 4096);
	CHECK_EQ(l.x[2].physical, l.x[0].physical + 3 * PIECE + 4096);
	CHECK_EQ(l.x[2].length, 5 * PIECE - 4096);
	CHECK_EQ(l.x[3].logical, 8 * PIECE);
	CHECK_EQ(l.x[3].length, 4 * PIECE);
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(fs_read(e.fs, ino, 3 * PIECE, got, sizeof(got), &n));
	CHECK(memcmp(got, four, sizeof(four)) == 0);
	fsck_ok(e.fs);
	CHECK_OK(env_umount_check(&e, 0));
}

/* A clone of the growing extent shares it at the length it had: the
 * source's next appends go to a new extent. */
TEST(file_grow, clone_of_a_growing_extent_keeps_its_length)
{
	struct fs_ino src, dst;
	struct layout l;
	struct env e;

	CHECK_OK(env_mkfs_mount(&e, 0));
	CHECK_OK(append(e.fs, "/f", 4, 0, 6));
	CHECK_OK(fs_lookup(e.fs, "/f", 0, &src));
	CHECK_OK(fs_create(e.fs, "/g", 0644, &dst));
	CHECK_OK(fs_clone_range(e.fs, src, 0, 0, dst, 0));
	CHECK_OK(append(e.fs, "/f", 4, 6, 6));
	CHECK_OK(layout_of(e.fs, "/f", &l));
	CHECK_EQ(l.n, 2);
	CHECK_EQ(l.x[0].length, 6 * PIECE);
	CHECK(l.x[0].flags & FS_FIEMAP_SHARED);
	CHECK_OK(layout_of(e.fs, "/g", &l));
	CHECK_EQ(l.n, 1);
	CHECK_EQ(l.x[0].length, 6 * PIECE);
	CHECK(holds(e.fs, "/g", 4, 6));
	CHECK(holds(e.fs, "/f", 4, 12));
	CHECK_OK(fs_sync(e.fs));
	fsck_ok(e.fs);
	CHECK(holds(e.fs, "/g", 4, 6));
	CHECK_OK(env_umount_check(&e, 0));
}

/* A snapshot taken while the file's extent grows holds it as it was. */
TEST(file_grow, snapshot_of_a_growing_file)
{
	struct layout l;
	struct env e;

	CHECK_OK(env_mkfs_mount(&e, 0));
	CHECK_OK(append(e.fs, "/f", 5, 0, 5));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/", "/snap", 0));
	CHECK_OK(append(e.fs, "/f", 5, 5, 5));
	CHECK(holds(e.fs, "/snap/f", 5, 5));
	CHECK(holds(e.fs, "/f", 5, 10));
	CHECK_OK(layout_of(e.fs, "/f", &l));
	CHECK_EQ(l.n, 2);
	CHECK_OK(fs_sync(e.fs));
	fsck_ok(e.fs);
	CHECK_OK(env_umount_check(&e, 0));
}

/* Compressed pieces are extents of their own (128 KiB of data each);
 * an incompressible file's plain writes grow. */
TEST(file_grow, compressed_pieces_do_not_grow)
{
	static uint8_t zeros[1u << 20], back[1u << 20];
	uint64_t x = 88172645463325252ull;
	struct fs_compress c;
	struct fs_ino ino;
	struct layout l;
	struct env e;
	size_t i, n;

	CHECK_OK(env_mkfs_mount(&e, 0));
	CHECK_OK(fs_compress_parse("zstd", 0, &c));
	fs_set_compress(e.fs, &c);
	CHECK_OK(fs_create(e.fs, "/z", 0644, &ino));
	for (i = 0; i < 4; i++)
		CHECK_OK(fs_write(e.fs, ino, (uint64_t)i * sizeof(zeros) / 4,
				  zeros, sizeof(zeros) / 4));
	CHECK_OK(layout_of(e.fs, "/z", &l));
	CHECK_EQ(l.n, 8);
	for (i = 0; i < l.n; i++)
		CHECK(l.x[i].flags & FS_FIEMAP_ENCODED);
	/* Random bytes do not compress: the first write marks /r NOCOMPRESS,
	 * and the plain writes after it grow one extent. */
	for (i = 0; i < sizeof(zeros); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		zeros[i] = (uint8_t)x;
	}
	CHECK_OK(fs_create(e.fs, "/r", 0644, &ino));
	for (i = 0; i < 8; i++)
		CHECK_OK(fs_write(e.fs, ino, (uint64_t)i * PIECE,
				  zeros + i * PIECE, PIECE));
	CHECK_OK(layout_of(e.fs, "/r", &l));
	CHECK_EQ(l.n, 1);
	CHECK_EQ(l.x[0].length, 8 * PIECE);
	CHECK_EQ(l.x[0].flags & FS_FIEMAP_ENCODED, 0);
	CHECK_OK(fs_read(e.fs, ino, 0, back, sizeof(back), &n));
	CHECK_EQ(n, 8 * PIECE);
	CHECK(memcmp(back, zeros, n) == 0);
	CHECK_OK(fs_sync(e.fs));
	fsck_ok(e.fs);
	CHECK_OK(env_umount_check(&e, 0));
}

/* With quotas on, the grown extent is counted once at its length: btrfs
 * check recounts every qgroup from the trees. */
TEST(file_grow, quotas_count_the_grown_extent)
{
	struct layout l;
	struct env e;

	CHECK_OK(env_mkfs_mount(&e, 0));
	CHECK_OK(fs_quota_enable(e.fs));
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(append(e.fs, "/f", 7, 0, 20));
	CHECK_OK(append(e.fs, "/g", 8, 0, 3));
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(append(e.fs, "/f", 7, 20, 4));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/", "/snap", 0));
	CHECK_OK(append(e.fs, "/f", 7, 24, 4));
	CHECK_OK(layout_of(e.fs, "/f", &l));
	CHECK_EQ(l.n, 3);
	CHECK_OK(fs_sync(e.fs));
	fsck_ok(e.fs);
	CHECK_OK(env_umount_check(&e, 1));
}

/* Appends until the data space runs out; then the file goes, and the
 * same appends fit again: nothing taken for a growth stays taken. */
TEST(file_grow, enospc_leaves_nothing_allocated)
{
	struct fs_ino ino;
	struct env e;
	unsigned n = 0, again = 0;
	int ret = 0;

	CHECK_OK(env_mkfs_mount(&e, 0));
	while (ret == 0 && n < 4096) {
		ret = append(e.fs, "/f", 9, n, 1);
		n += ret == 0;
		if (ret == 0 && n % 128 == 0)
			ret = fs_sync(e.fs);
	}
	printf("# data full after %u pieces: %d\n", n, ret);
	CHECK_EQ(ret, -ENOSPC);
	CHECK(!fs_is_read_only(e.fs));
	CHECK_OK(fs_sync(e.fs));
	fsck_ok(e.fs);
	CHECK_OK(fs_unlink(e.fs, "/f"));
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(fs_sync(e.fs));	/* the freed space is back */
	ret = 0;
	while (ret == 0 && again < n) {
		ret = append(e.fs, "/f", 9, again, 1);
		again += ret == 0;
		if (ret == 0 && again % 128 == 0)
			ret = fs_sync(e.fs);
	}
	CHECK_OK(ret);
	CHECK_EQ(again, n);
	CHECK_OK(fs_lookup(e.fs, "/f", 0, &ino));
	CHECK_OK(fs_sync(e.fs));
	fsck_ok(e.fs);
	CHECK_OK(env_umount_check(&e, 0));
}

/* ---- power cuts ---------------------------------------------------------- */

#define CUT_APPENDS 24		/* appends of the workload */
#define CUT_SYNC_EVERY 5	/* a sync after every this many */

/* The workload: appends to /f (and every third one to /g too), a sync
 * every CUT_SYNC_EVERY. *synced: /f's pieces at the last sync that
 * returned. 0, or the first error. */
static int cut_workload(struct fs_info *fs, unsigned *synced)
{
	unsigned i;
	int ret = 0;

	*synced = 0;
	for (i = 0; i < CUT_APPENDS && ret == 0; i++) {
		ret = append(fs, "/f", 10, i, 1);
		if (ret == 0 && i % 3 == 2)
			ret = append(fs, "/g", 11, i / 3, 1);
		if (ret == 0 && i % CUT_SYNC_EVERY == CUT_SYNC_EVERY - 1) {
			ret = fs_sync(fs);
			if (ret == 0)
				*synced = i + 1;
		}
	}
	if (ret == 0 && (ret = fs_sync(fs)) == 0)
		*synced = CUT_APPENDS;
	return ret;
}

/* The survivor: fsck clean, /f holds whole pieces, at least synced. */
static const char *cut_survivor(struct fault_dev *c, unsigned synced)
{
	struct fs_info *fs;
	struct fs_stat st;
	struct fs_ino ino;
	const char *why = NULL;
	unsigned n;

	if (fs_mount(fault_dev_blk(c), 0, &fs))
		return "the survivor does not mount";
	if (fs_lookup(fs, "/f", 0, &ino) || fs_stat(fs, ino, &st)) {
		st.size = 0;
		if (synced)
			why = "/f is gone";
	}
	n = (unsigned)(st.size / PIECE);
	if (!why && (st.size % PIECE || n < synced || n > CUT_APPENDS))
		why = "/f's size is not whole appends since the last sync";
	if (!why && n && !holds(fs, "/f", 10, n))
		why = "/f's data is not what was appended";
	if (!why) {
		struct fs_check_report rep;

		if (fs_check(fs, &rep))
			why = "fsck found errors";
	}
	fs_umount(fs);
	return why;
}

static void cut_run(enum fault_mode mode)
{
	struct env e;
	struct fault_dev *tmpl, *f, *c;
	uint64_t total, cut, checks = 0;
	const char *why = NULL;
	unsigned synced;

	CHECK_OK(env_mkfs_mount(&e, 0));
	fs_umount(e.fs);
	tmpl = e.dev;
	/* the uncut run: how many writes the workload makes */
	f = fault_dev_clone(tmpl);
	CHECK_OK(fs_mount(fault_dev_blk(f), 0, &e.fs));
	trans_stop_committer(e.fs);
	CHECK_OK(cut_workload(e.fs, &synced));
	total = fault_dev_writes(f);
	fs_umount(e.fs);
	fault_dev_free(f);
	host_console_capture(1);
	for (cut = 1; cut < total && !why; cut++) {
		int ret;

		f = fault_dev_clone(tmpl);
		fault_dev_arm(f, cut, mode, cut);
		ret = fs_mount(fault_dev_blk(f), 0, &e.fs);
		if (ret == 0) {
			trans_stop_committer(e.fs);
			ret = cut_workload(e.fs, &synced);
			fs_umount(e.fs);
		}
		if (ret == 0 || !fault_dev_is_cut(f))
			why = "the workload did not stop at the cut";
		c = fault_dev_crash_image(f);
		fault_dev_free(f);
		if (!why)
			why = cut_survivor(c, synced);
		if (!why && cut % 16 == 0) {
			checks++;
			if (test_btrfs_check(__FILE__, __LINE__,
					     fault_dev_btrfs_check(c)))
				why = "btrfs check found errors";
		}
		fault_dev_free(c);
	}
	host_console_capture(0);
	fault_dev_free(tmpl);
	printf("# %llu writes cut, %llu btrfs checks\n",
	       (unsigned long long)total - 1, (unsigned long long)checks);
	if (why)
		test_fail(__FILE__, __LINE__, "cut at write %llu: %s",
			  (unsigned long long)cut - 1, why);
}

TEST(file_grow, power_cut_at_every_write_of_appends)
{
	cut_run(FAULT_CUT);
}

TEST(file_grow, power_cut_at_every_write_of_appends_reordered)
{
	cut_run(FAULT_REORDER);
}
