/*
 * The shell's space and property reports on an image file mounted as a
 * host disk, under the sanitizers: `filesystem du` (shell/cmd_fs_du.c on
 * fs/fiemap.c) counts a reflink, an overwrite of part of a shared
 * extent, a hard link and a snapshot as btrfs-progs' du does (the
 * figures Linux printed for the same tree in tests/interop/du.sh);
 * `inspect-internal rootid`, `quota status` and `property` answer on
 * the same tree; `filesystem commit-stats` counts and splits commits.
 * Line-for-line comparisons with btrfs-progs are in the interop suites
 * (du.sh, property.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ghee/errno.h>
#include <ghee/blk.h>

#include "../../shell/cmd_fs.h"
#include "../../shell/shell.h"
#include "shim/host.h"
#include "test.h"

/* Run line in the shell, output captured. */
static int sh(const char *line)
{
	char buf[160];

	snprintf(buf, sizeof(buf), "%s", line);
	host_console_capture(1);
	return shell_run_line(buf);
}

/* Run line; it must succeed and print want (somewhere). */
#define SH_SAYS(line, want)                                              \
	do {                                                             \
		CHECK_OK(sh(line));                                      \
		CHECK(strstr(host_console_output(), want));              \
	} while (0)

/* A new 256 MiB image file at path (a mkstemp template), made a host
 * disk, given a fresh btrfs and mounted at /. 0 or an error. */
static int mount_scratch(char *path)
{
	char line[64];
	const char *disk;
	int fd = mkstemp(path), ret;

	if (fd < 0)
		return -EIO;
	ret = ftruncate(fd, 256 << 20) ? -EIO : 0;
	close(fd);
	ret = ret ? ret : host_disk_open(path, 0);
	if (ret)
		return ret;
	disk = blk_get(blk_count() - 1)->name;
	snprintf(line, sizeof(line), "mkfs %s", disk);
	ret = sh(line);
	snprintf(line, sizeof(line), "mount %s /", disk);
	return ret ? ret : sh(line);
}

TEST(du, shared_exclusive_and_set_shared)
{
	char path[] = "/tmp/ghee-test-du-XXXXXX";

	CHECK_OK(mount_scratch(path));
	CHECK_OK(sh("subvolume create /sv"));
	CHECK_OK(sh("write /sv/a 0 1048576 1"));
	CHECK_OK(sh("cp --reflink /sv/a /sv/a2"));
	CHECK_OK(sh("write /sv/b 0 8192 2"));
	CHECK_OK(sh("ln /sv/b /sv/blink"));
	/* a reflink: both files' extents are shared, counted once */
	SH_SAYS("filesystem du -s --raw /sv",
		"   2105344        8192     1048576  /sv\n");
	/* part of the original overwritten: that part is its own */
	CHECK_OK(sh("write /sv/a 0 65536 9"));
	SH_SAYS("filesystem du --raw /sv/a",
		"   1048576       65536      983040  /sv/a\n");
	/* a snapshot shares everything */
	CHECK_OK(sh("subvolume snapshot -r /sv /snap"));
	SH_SAYS("filesystem du -s --raw /snap",
		"   2105344           0     1122304  /snap\n");
	SH_SAYS("filesystem du /snap/b", "   8.00KiB       0.00B     8.00KiB"
		"  /snap/b\n");
	CHECK_EQ(sh("filesystem du /nope"), 1);
	CHECK(strstr(host_console_output(), "ERROR: cannot check space of "
		     "'/nope': No such file or directory\n"));
	CHECK_EQ(sh("filesystem du -x /sv"), -EINVAL);
	SH_SAYS("inspect-internal rootid /snap/a", "257\n");
	SH_SAYS("quota status /", "Quotas on /:\n  Enabled: no\n");
	SH_SAYS("property get /snap", "ro=true\n");
	SH_SAYS("property get / label", "label=\n");
	SH_SAYS("property list /sv/a", "compression         compression "
		"algorithm for the file or directory\n");
	CHECK_EQ(sh("property get /sv/a ro"), 1);
	CHECK(strstr(host_console_output(), "ERROR: object is not "
		     "compatible with property: ro\n"));
	host_console_capture(0);
	cmd_fs_reset();
	/* the disk stays in the disk table for the run (it cannot drop
	 * one: later suites look disks up by name); its file goes now */
	unlink(path);
}

/* The number after "name " in the captured output; -1 when absent. */
static long long stat_of(const char *name)
{
	const char *p = strstr(host_console_output(), name);

	return p ? strtoll(p + strlen(name) + 1, NULL, 10) : -1;
}

/* `filesystem commit-stats`: counts commits that wrote, keeps the
 * longest until -z, splits the last one into parts that fit in it and
 * counts its tree blocks and delayed-ref heads. */
TEST(du, commit_stats_count_and_split_the_last_commit)
{
	char path[] = "/tmp/ghee-test-du-XXXXXX";
	long long commits, last_us, parts;

	CHECK_OK(mount_scratch(path));
	CHECK_OK(sh("subvolume create /sv"));
	CHECK_OK(sh("write /sv/a 0 1048576 1"));
	CHECK_OK(sh("sync"));
	CHECK_OK(sh("filesystem commit-stats"));
	commits = stat_of("commits");
	CHECK(commits >= 1);
	CHECK_OK(sh("sync"));	/* nothing changed: no commit */
	CHECK_OK(sh("filesystem commit-stats /sv"));
	CHECK_EQ(stat_of("commits"), commits);
	CHECK_OK(sh("subvolume snapshot -r /sv /snap"));
	CHECK_OK(sh("filesystem commit-stats"));
	CHECK_EQ(stat_of("commits"), commits + 1);
	last_us = stat_of("last_commit_ms") * 1000 + 999;
	parts = stat_of("last_snapshots_us") +
		stat_of("last_delayed_refs_us") + stat_of("last_qgroups_us") +
		stat_of("last_write_us") + stat_of("last_super_us");
	CHECK(parts >= 0 && parts <= last_us);
	/* the snapshot's root block and the root tree's at least; the
	 * snapshot's refs on the blocks below its root */
	CHECK(stat_of("last_tree_blocks") >= 2);
	CHECK(stat_of("last_ref_heads") >= 1);
	CHECK(stat_of("max_commit_ms") >= stat_of("last_commit_ms"));
	CHECK(stat_of("total_commit_ms") >= stat_of("max_commit_ms"));
	/* -z prints, then starts the longest again; no commit since */
	CHECK_OK(sh("filesystem commit-stats -z /"));
	CHECK_OK(sh("filesystem commit-stats"));
	CHECK_EQ(stat_of("max_commit_ms"), 0);
	CHECK_EQ(stat_of("commits"), commits + 1);
	CHECK_EQ(sh("filesystem commit-stats -q"), -EINVAL);
	CHECK_EQ(sh("filesystem commit-stats /nope"), -ENOENT);
	host_console_capture(0);
	cmd_fs_reset();
	unlink(path);
}
