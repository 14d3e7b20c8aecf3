/*
 * The concurrent stress workload (shell/fs_stress.c) on an image file, on
 * pthreads through the host shims: writers, namers and readers at once
 * with a sync task, every result checked by the tasks, then everything
 * verified and fsck'd by the workload itself. Then, from outside: unmount,
 * `btrfs check` of the image (when btrfs-progs is installed), remount and
 * verify the same contents again, and fsck once more.
 *
 * Three shapes: 8 tasks on 4 KiB nodes (deep trees, many splits and
 * merges), 4 tasks on the default 16 KiB nodes, and 4 tasks with quotas
 * on (every commit accounts the sharer's dedupes and defrags and the
 * snapshots; btrfs check compares the counts). Each is a short sample;
 * GHEE_STRESS_LONG=1 (`make stress-long`) runs them with STRESS_LONG_X
 * times the operations. The console is captured during
 * the run (stat of an inode removed meanwhile logs an error) and shown
 * only when the run fails. A failing image is kept in /tmp and named;
 * GHEE_TEST_SEED reruns a seed. And the `fsstress` command's answers to
 * bad arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "../../shell/fs_stress.h"
#include "../../shell/shell.h"
#include "shim/fault_dev.h"
#include "shim/host.h"
#include "test.h"

#define IMAGE_BYTES (256ull << 20)
#define STRESS_LONG_X 20	/* GHEE_STRESS_LONG: operations times this */

/* A fresh image file in /tmp, opened as the next disk. */
static struct blkdev *new_disk(char *path, uint32_t nodesize)
{
	struct fs_mkfs_opts mo = { NULL, nodesize, 0, NULL };
	struct blkdev *dev;
	int fd = mkstemp(path), ret;

	if (fd < 0)
		return NULL;
	ret = ftruncate(fd, (off_t)IMAGE_BYTES);
	close(fd);
	if (ret || host_disk_open(path, 0))
		return NULL;
	dev = blk_get(blk_count() - 1);
	return fs_mkfs(dev, &mo) ? NULL : dev;
}

/* Print text as KTAP comment lines. */
static void print_comment(const char *text)
{
	const char *end;

	for (; *text; text = *end ? end + 1 : end) {
		end = strchrnul(text, '\n');
		printf("# %.*s\n", (int)(end - text), text);
	}
}

/* Mount dev, verify what run s left and fsck. NULL or what failed. */
static const char *remount_verify(struct blkdev *dev, struct fs_stress *s)
{
	struct fs_check_report chk;
	struct fs_info *fs;
	const char *why = NULL;

	if (fs_mount(dev, FS_MOUNT_RO, &fs))
		return "the image does not mount again";
	if (fs_stress_verify(s, fs))
		why = "the remounted filesystem does not hold what the run left";
	else if (fs_check(fs, &chk))
		why = "fsck of the remounted filesystem found errors";
	fs_umount(fs);
	return why;
}

/* Run the workload with tasks tasks of ops operations on a new image of
 * nodesize nodes, with quotas on when quota; NULL or what failed. */
static const char *stress(unsigned tasks, uint64_t ops, uint32_t nodesize,
			  int quota, char *path)
{
	struct fs_stress_opts so = { tasks, ops, test_seed(), "/stress" };
	struct fs_stress_report rep;
	struct fs_stress *s;
	struct blkdev *dev = new_disk(path, nodesize);
	struct fs_info *fs;
	const char *why = NULL;
	int ret;

	if (!dev)
		return "no image";
	if (fs_mount(dev, 0, &fs))
		return "the new image does not mount";
	if (quota && fs_quota_enable(fs)) {
		fs_umount(fs);
		return "quota enable failed";
	}
	if (fs_stress_new(&so, &s)) {
		fs_umount(fs);
		return "fs_stress_new failed";
	}
	host_console_capture(1);
	ret = fs_stress_run(s, fs, &rep);
	if (ret)
		print_comment(host_console_output());
	host_console_capture(0);
	printf("# %u tasks, %llu ops each, %u-byte nodes, quotas %s:\n",
	       tasks, (unsigned long long)ops, nodesize ? nodesize : 16384,
	       quota ? "on" : "off");
	fs_stress_print(&rep, "#   ");
	fs_umount(fs);
	if (ret)
		why = "the workload failed (see the fsstress lines)";
	else if (!rep.count[FS_STRESS_DEDUPE_SCAN])
		why = "the sharer finished no dedupe scan";
	else if (test_btrfs_check(__FILE__, __LINE__, btrfs_check_file(path)))
		why = "btrfs check";	/* the failure it recorded comes first */
	else
		why = remount_verify(dev, s);
	fs_stress_free(s);
	return why;
}

static void stress_case(unsigned tasks, uint64_t ops, uint32_t nodesize,
			int quota)
{
	char path[] = "/tmp/ghee-stress-XXXXXX";
	const char *why;

	if (getenv("GHEE_STRESS_LONG"))
		ops *= STRESS_LONG_X;
	why = stress(tasks, ops, nodesize, quota, path);

	if (why) {
		printf("# image kept at %s\n", path);
		test_fail(__FILE__, __LINE__, "%s", why);
		return;
	}
	unlink(path);
}

TEST(fs_stress, eight_tasks_small_nodes)
{
	stress_case(8, 1500, 4096, 0);
}

TEST(fs_stress, four_tasks)
{
	stress_case(4, 1500, 0, 0);
}

TEST(fs_stress, four_tasks_quotas)
{
	stress_case(4, 500, 0, 1);
}

/* Run line; 0 when it failed with -EINVAL, printing why and the usage. */
static int refused(const char *line, const char *why)
{
	char buf[64];
	int ret, said;

	snprintf(buf, sizeof(buf), "%s", line);
	host_console_capture(1);
	ret = shell_run_line(buf);
	said = strstr(host_console_output(), why) &&
	       strstr(host_console_output(), "usage: fsstress [-t TASKS]");
	host_console_capture(0);
	return ret == -EINVAL && said ? 0 : -1;
}

/* Bad arguments get a reason and the usage, before any work. */
TEST(fs_stress, usage_on_bad_arguments)
{
	static const char *const cases[][2] = {
		{ "fsstress -x 1", "bad option '-x'" },
		{ "fsstress -t", "bad option '-t'" },
		{ "fsstress -tt 1", "bad option '-tt'" },
		{ "fsstress -n many", "malformed number 'many'" },
		{ "fsstress -t 0", "TASKS is 1..32" },
		{ "fsstress -t 99", "TASKS is 1..32" },
		{ "fsstress -d relative", "DIR must be an absolute path" },
	};
	unsigned i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (refused(cases[i][0], cases[i][1]))
			test_fail(__FILE__, __LINE__, "'%s' did not say '%s' "
				  "and the usage", cases[i][0], cases[i][1]);
}
