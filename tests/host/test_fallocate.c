/*
 * The shell's fallocate (shell/cmd_fallocate.c) over a filesystem on an
 * image file mounted as a host disk: sizes read as util-linux reads them
 * (values measured with util-linux 2.38.1), each mode's effect on data,
 * size and allocation, util-linux's messages for bad arguments and for
 * what btrfs refuses, a read-only subvolume, a full disk. Every image
 * must pass btrfs check at the end.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ghee/blk.h>

#include "../../fs/format.h"
#include "../../fs/fs.h"
#include "../../shell/cmd_fs.h"
#include "../../shell/shell.h"
#include "shim/fault_dev.h"
#include "shim/host.h"
#include "test.h"

/* The two image files (256 and 128 MiB), opened as host disks once for
 * the run (the disk table cannot drop a disk) and removed at exit; each
 * case makes a new filesystem on one. */
static struct disk {
	uint64_t mb;
	char path[40];
	char name[8];		/* the disk's name, "" until opened */
} disks[2] = { { 256, "", "" }, { 128, "", "" } };

static void remove_images(void)
{
	size_t i;

	for (i = 0; i < 2; i++)
		if (disks[i].name[0])
			unlink(disks[i].path);
}

static int disk_open(struct disk *d)
{
	int fd, ret;

	if (d->name[0])
		return 0;
	if (!disks[0].name[0] && !disks[1].name[0])
		atexit(remove_images);
	snprintf(d->path, sizeof(d->path), "/tmp/ghee-test-falloc-XXXXXX");
	fd = mkstemp(d->path);
	if (fd < 0)
		return -errno;
	ret = ftruncate(fd, (off_t)(d->mb << 20)) ? -errno : 0;
	close(fd);
	if (ret == 0)
		ret = host_disk_open(d->path, 0);
	if (ret == 0)
		snprintf(d->name, sizeof(d->name), "%s",
			 blk_get(blk_count() - 1)->name);
	return ret;
}

/* Run line in the shell, its output captured (host_console_output). */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	host_console_capture(1);
	return shell_run_line(buf);
}

struct img {
	struct disk *d;
	struct fs_info *fs;	/* mounted at / */
};

/* A new filesystem on disk i, mounted at / by the shell. 0 or a
 * negative errno. */
static int img_open(struct img *im, int i)
{
	const char *in;
	int ret;

	cmd_fs_reset();		/* what a failed case left mounted */
	im->d = &disks[i];
	ret = disk_open(im->d);
	if (ret == 0)
		ret = sh("mkfs %s", im->d->name);
	if (ret == 0)
		ret = sh("mount %s /", im->d->name);
	im->fs = ret ? NULL : cmd_fs_path("test", "/", &in);
	return ret ? ret : im->fs ? 0 : -ENODEV;
}

/* Unmount and btrfs check the image. */
static void img_close(struct img *im)
{
	host_console_capture(0);
	cmd_fs_reset();
	CHECK_EQ(test_btrfs_check(__FILE__, __LINE__,
				  btrfs_check_file(im->d->path)), 0);
}

static int stat_path(struct img *im, const char *path, struct fs_stat *st)
{
	struct fs_ino ino;
	int ret = fs_lookup(im->fs, path, 0, &ino);

	return ret ? ret : fs_stat(im->fs, ino, st);
}

/* Whether [off, off + len) of path holds byte c only. */
static int holds(struct img *im, const char *path, uint64_t off,
		 size_t len, int c)
{
	static uint8_t buf[1 << 20];
	struct fs_ino ino;
	size_t n, i;

	if (len > sizeof(buf) || fs_lookup(im->fs, path, 0, &ino) ||
	    fs_read(im->fs, ino, off, buf, len, &n) || n != len)
		return 0;
	for (i = 0; i < len; i++)
		if (buf[i] != c)
			return 0;
	return 1;
}

/* Write len bytes of c at off of path (made when missing). */
static int fill(struct img *im, const char *path, uint64_t off, size_t len,
		int c)
{
	static uint8_t buf[1 << 20];
	struct fs_ino ino;
	int ret = fs_lookup(im->fs, path, 0, &ino);

	if (ret == -ENOENT)
		ret = fs_create(im->fs, path, 0100644, &ino);
	if (len > sizeof(buf))
		return -EINVAL;
	memset(buf, c, len);
	return ret ? ret : fs_write(im->fs, ino, off, buf, len);
}

TEST(fallocate, sizes_as_util_linux)
{
	/* each size as `fallocate -l SIZE` made it with util-linux 2.38.1 */
	static const struct { const char *s; uint64_t size; } ok[] = {
		{ "4096", 4096 }, { "010", 8 }, { "0x10", 16 },
		{ "' 5'", 5 }, { "+5", 5 }, { "5k", 5120 }, { "5K", 5120 },
		{ "5KiB", 5120 }, { "5kib", 5120 }, { "5KB", 5000 },
		{ "5Kb", 5000 }, { "1.5M", 1572864 }, { "1.5MiB", 1572864 },
		{ "0.5K", 512 }, { "1.25M", 1310719 }, { "1.3M", 1398101 },
		{ "1.10M", 2097152 }, { "1.05M", 1101004 },
		{ "1.0.5M", 1101004 }, { "2.000001K", 2048 },
		{ "3.9999M", 4300018 }, { "1.0M", 1048576 },
	};
	static const char *const bad[] = {
		"0", "5b", "1.5", "08", "0x", "-1", "' -1'", "16E", "1Y", "4KK",
		"''", "1.0", "18446744073709551616", "9223372036854775808",
	};
	struct fs_stat st;
	struct img im;
	char name[16];
	size_t i;

	CHECK_OK(img_open(&im, 0));
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(name, sizeof(name), "/f%zu", i);
		CHECK_OK(sh("fallocate -l %s %s", ok[i].s, name));
		CHECK_OK(stat_path(&im, name, &st));
		CHECK_EQ(st.size, ok[i].size);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(sh("fallocate -l %s /bad", bad[i]), -EINVAL);
		CHECK(strstr(host_console_output(),
			     "fallocate: invalid length value specified\n"));
		if (!strcmp(bad[i], "0"))
			continue;	/* a fine offset */
		CHECK_EQ(sh("fallocate -o %s -l 1 /bad", bad[i]), -EINVAL);
		CHECK(strstr(host_console_output(),
			     "fallocate: invalid offset value specified\n"));
	}
	CHECK_EQ(stat_path(&im, "/bad", &st), -ENOENT);
	CHECK_EQ(sh("fallocate -o 9223372036854775807 -l 1 /bad"), -EFBIG);
	CHECK_STR(host_console_output(),
		  "fallocate: fallocate failed: File too large\n");
	img_close(&im);
}

/* Each mode on data, size and allocated bytes (nbytes), the figures of
 * the same commands on Linux 6.18's btrfs (stat's blocks * 512). */
TEST(fallocate, modes_as_linux)
{
	struct fs_stat st;
	struct img im;

	CHECK_OK(img_open(&im, 0));
	CHECK_OK(sh("fallocate -l 1M /a"));
	CHECK_OK(stat_path(&im, "/a", &st));
	CHECK_EQ(st.size, 1 << 20);
	CHECK_EQ(st.nbytes, 1 << 20);
	CHECK(st.flags & BTRFS_INODE_PREALLOC);
	CHECK(holds(&im, "/a", 0, 1 << 20, 0));
	CHECK_OK(sh("fallocate -n -o 1M -l 1M /a"));
	CHECK_OK(stat_path(&im, "/a", &st));
	CHECK_EQ(st.size, 1 << 20);
	CHECK_EQ(st.nbytes, 2 << 20);

	CHECK_OK(fill(&im, "/b", 0, 262144, 'x'));
	CHECK_OK(sh("fallocate -p -o 4096 -l 8192 /b"));
	CHECK_OK(stat_path(&im, "/b", &st));
	CHECK_EQ(st.size, 262144);
	CHECK_EQ(st.nbytes, 253952);
	CHECK(holds(&im, "/b", 4096, 8192, 0));
	CHECK(holds(&im, "/b", 12288, 262144 - 12288, 'x'));
	CHECK_OK(sh("fallocate -z -o 100 -l 10000 /b"));
	CHECK_OK(stat_path(&im, "/b", &st));
	CHECK_EQ(st.size, 262144);
	CHECK_EQ(st.nbytes, 262144);
	CHECK(holds(&im, "/b", 0, 100, 'x'));
	CHECK(holds(&im, "/b", 100, 12188, 0));
	/* zeroing past the end grows the file: options as getopt takes them */
	CHECK_OK(sh("fallocate --zero -o250K --length=16K /b"));
	CHECK_OK(stat_path(&im, "/b", &st));
	CHECK_EQ(st.size, 272384);
	CHECK_EQ(st.nbytes, 274432);
	CHECK(holds(&im, "/b", 12288, 256000 - 12288, 'x'));
	CHECK(holds(&im, "/b", 256000, 272384 - 256000, 0));
	CHECK_OK(sh("fallocate -nzl4k /b"));
	CHECK_OK(sh("fallocate -x -l 8k /c"));
	CHECK_OK(stat_path(&im, "/c", &st));
	CHECK_EQ(st.size, 8192);
	CHECK_OK(sh("fallocate -l 4k -- -p"));
	CHECK_OK(stat_path(&im, "/-p", &st));
	img_close(&im);
}

/* Messages as util-linux 2.38.1 prints them on Linux 6.18's btrfs. */
TEST(fallocate, errors_as_util_linux)
{
	static const struct { const char *line, *msg; int ret; } e[] = {
		{ "fallocate -c -l 4096 /b", "fallocate: fallocate failed: "
		  "Operation not supported\n", -EOPNOTSUPP },
		{ "fallocate -i -o 0 -l 4096 /b", "fallocate: fallocate "
		  "failed: Operation not supported\n", -EOPNOTSUPP },
		{ "fallocate -i -n -l 4096 /b", "fallocate: fallocate failed: "
		  "keep size mode is unsupported\n", -EOPNOTSUPP },
		{ "fallocate -n -l 1 /none", "fallocate: cannot open /none: "
		  "No such file or directory\n", -ENOENT },
		{ "fallocate -l 1 /d", "fallocate: cannot open /d: Is a "
		  "directory\n", -EISDIR },
		{ "fallocate -l 4k /p", "fallocate: fallocate failed: Illegal "
		  "seek\n", -ESPIPE },
		{ "fallocate -c -n -l 4k /b", "fallocate: mutually exclusive "
		  "arguments: --collapse-range --keep-size\n", -EINVAL },
		{ "fallocate -p -z -l 4k /b", "fallocate: mutually exclusive "
		  "arguments: --collapse-range --dig-holes --punch-hole "
		  "--zero-range\n", -EINVAL },
		{ "fallocate -k -l 4k /b", "fallocate: invalid option -- "
		  "'k'\n", -EINVAL },
		{ "fallocate -l", "fallocate: option requires an argument -- "
		  "'l'\n", -EINVAL },
		{ "fallocate --lengt", "fallocate: option '--length' requires "
		  "an argument\n", -EINVAL },
		{ "fallocate --foo /b", "fallocate: unrecognized option "
		  "'--foo'\n", -EINVAL },
		{ "fallocate --keep-size=3 -l 4k /b", "fallocate: option "
		  "'--keep-size' doesn't allow an argument\n", -EINVAL },
		{ "fallocate -l 4k", "fallocate: no filename specified\n",
		  -EINVAL },
		{ "fallocate -l4k /b /c", "fallocate: unexpected number of "
		  "arguments\n", -EINVAL },
		{ "fallocate /b", "fallocate: no length argument specified\n",
		  -EINVAL },
	};
	struct fs_stat st;
	struct img im;
	size_t i;

	CHECK_OK(img_open(&im, 0));
	CHECK_OK(fill(&im, "/b", 0, 10000, 'x'));
	CHECK_OK(sh("mkdir /d"));
	CHECK_OK(sh("mkfifo /p"));
	for (i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		CHECK_EQ(sh("%s", e[i].line), e[i].ret);
		CHECK(!strncmp(host_console_output(), e[i].msg,
			       strlen(e[i].msg)));
	}
	CHECK_OK(stat_path(&im, "/b", &st));
	CHECK_EQ(st.size, 10000);
	CHECK(holds(&im, "/b", 0, 10000, 'x'));
	img_close(&im);
}

/* In a read-only snapshot nothing opens for writing (EROFS), as on
 * Linux; the file is as it was. (-c and -i say EOPNOTSUPP here, before
 * any write: see shell/cmd_fallocate.c.) */
TEST(fallocate, read_only_subvolume)
{
	static const char *const modes[] = { "", "-n", "-p", "-z" };
	struct fs_stat st;
	struct img im;
	size_t i;

	CHECK_OK(img_open(&im, 0));
	CHECK_OK(sh("btrfs subvolume create /sv"));
	CHECK_OK(fill(&im, "/sv/f", 0, 10000, 'x'));
	CHECK_OK(sh("btrfs subvolume snapshot -r /sv /ro"));
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		CHECK_EQ(sh("fallocate %s -o 4096 -l 64k /ro/f", modes[i]),
			 -EROFS);
		CHECK_STR(host_console_output(), "fallocate: cannot open "
			  "/ro/f: Read-only file system\n");
	}
	CHECK_EQ(sh("fallocate -l 64k /ro/new"), -EROFS);
	CHECK_STR(host_console_output(), "fallocate: cannot open /ro/new: "
		  "Read-only file system\n");
	CHECK_OK(stat_path(&im, "/ro/f", &st));
	CHECK_EQ(st.size, 10000);
	CHECK_EQ(st.nbytes, 12288);
	CHECK(holds(&im, "/ro/f", 0, 10000, 'x'));
	img_close(&im);
}

/* A preallocation bigger than the disk fails with ENOSPC and loses
 * nothing: the files read back, the filesystem still writes, and btrfs
 * check passes. */
TEST(fallocate, full_disk)
{
	struct fs_stat st;
	struct img im;
	int i;

	CHECK_OK(img_open(&im, 1));
	CHECK_OK(fill(&im, "/keep", 0, 1 << 20, 'k'));
	CHECK_OK(sh("sync"));
	CHECK_EQ(sh("fallocate -l 1G /big"), -ENOSPC);
	CHECK(strstr(host_console_output(), "fallocate: fallocate failed: "
		     "No space left on device\n"));
	CHECK_EQ(sh("fallocate -n -o 1M -l 1G /keep"), -ENOSPC);
	CHECK_OK(stat_path(&im, "/keep", &st));
	CHECK_EQ(st.size, 1 << 20);
	CHECK(holds(&im, "/keep", 0, 1 << 20, 'k'));
	/* space fills up: what is allocated stays, the size is not grown */
	CHECK_OK(stat_path(&im, "/big", &st));
	CHECK_EQ(st.size, 0);
	CHECK_OK(sh("rm /big"));
	CHECK_OK(sh("sync"));
	for (i = 0; i < 4; i++)
		CHECK_OK(fill(&im, "/after", (uint64_t)i << 20, 1 << 20, 'a'));
	CHECK(holds(&im, "/after", 3 << 20, 1 << 20, 'a'));
	img_close(&im);
}

/* A read writes zeros over every byte of the caller's buffer that no
 * extent's data covers (holes, preallocated ranges, before and after
 * data, at the read's start and end), whatever the buffer held. */
TEST(fallocate, holes_read_as_zeros_into_a_used_buffer)
{
	static const struct { uint64_t off, len; } reads[] = {
		{ 0, 45056 }, { 6144, 24576 }, { 20000, 25056 }, { 4096, 8192 },
	};
	static uint8_t buf[45056], want[45056];
	struct fs_ino ino;
	struct img im;
	size_t i, n;

	CHECK_OK(img_open(&im, 0));
	/* a [0, 4K), hole, b [12K, 16K), prealloc [16K, 24K), hole,
	 * c [40K, 44K) */
	CHECK_OK(fill(&im, "/f", 0, 4096, 'a'));
	CHECK_OK(fill(&im, "/f", 12288, 4096, 'b'));
	CHECK_OK(sh("fallocate -o 16K -l 8K /f"));
	CHECK_OK(fill(&im, "/f", 40960, 4096, 'c'));
	memset(want, 0, sizeof(want));
	memset(want, 'a', 4096);
	memset(want + 12288, 'b', 4096);
	memset(want + 40960, 'c', 4096);
	CHECK_OK(fs_lookup(im.fs, "/f", 0, &ino));
	for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		memset(buf, 0xee, sizeof(buf));
		CHECK_OK(fs_read(im.fs, ino, reads[i].off, buf, reads[i].len,
				 &n));
		CHECK_EQ(n, reads[i].len);
		CHECK(!memcmp(buf, want + reads[i].off, reads[i].len));
	}
	img_close(&im);
}
