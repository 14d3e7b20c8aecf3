/*
 * Scrub (fs/scrub*.c, shell/cmd_scrub.c): on a filesystem ghee made
 * (DUP metadata; data SINGLE, or DUP after a balance convert), a clean
 * scrub counts what the filesystem holds and finds nothing; a damaged
 * metadata copy is rewritten from the good one, two damaged copies are
 * uncorrectable; damaged SINGLE data is uncorrectable and the files
 * using it (a read-only snapshot too) are named; damaged DUP data is
 * corrected; scrubs beside a writer that commits find nothing; the
 * shell's scrub is cancelled and resumed across an unmount.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ghee/errno.h>
#include <ghee/log.h>
#include <ghee/task.h>

#include "../../fs/ctree.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/subvol.h"
#include "../../fs/volumes.h"
#include "../../shell/cmd_fs.h"
#include "../../shell/shell.h"
#include "shim/fault_dev.h"
#include "shim/host.h"
#include "test.h"
#include "test_env.h"

#define DEV_BYTES (256ull << 20)
#define FILE_BYTES (300u * 1024)

/* A fresh filesystem on a RAM fault device with files in /sv (a
 * subvolume) and a read-only snapshot of it, /snap. */
static struct fault_dev *make_fs(struct fs_info **out, int data_dup)
{
	struct fault_dev *d = fault_dev_new(DEV_BYTES);
	struct fs_mkfs_opts mo = { NULL, 4096, 0, NULL };
	unsigned char *buf = malloc(FILE_BYTES);
	struct fs_info *fs = NULL;
	struct fs_ino ino;
	char name[32];
	uint32_t i;
	int ret;

	ret = d && buf ? fs_mkfs(fault_dev_blk(d), &mo) : -ENOMEM;
	if (ret == 0)
		ret = fs_mount(fault_dev_blk(d), 0, &fs);
	if (ret == 0)
		ret = fs_subvol_create(fs, "/sv");
	for (i = 0; i < FILE_BYTES && buf; i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	for (i = 0; i < 3 && ret == 0; i++) {
		snprintf(name, sizeof(name), "/sv/file%u", i);
		buf[0] = (unsigned char)i;
		ret = fs_create(fs, name, 0100644, &ino);
		if (ret == 0)
			ret = fs_write(fs, ino, 0, buf, FILE_BYTES);
	}
	if (ret == 0)
		ret = fs_subvol_snapshot(fs, "/sv", "/snap", FS_SNAP_RDONLY);
	if (ret == 0 && data_dup) {
		struct fs_balance b = { 0 };

		b.types = 1u << FS_BAL_DATA;
		b.f[FS_BAL_DATA].flags = FS_BAL_CONVERT;
		b.f[FS_BAL_DATA].target = BTRFS_BLOCK_GROUP_DUP;
		ret = fs_balance_start(fs, &b, 0);
	}
	if (ret == 0)
		ret = fs_sync(fs);
	free(buf);
	if (ret) {
		test_fail(__FILE__, __LINE__, "making the filesystem: %d", ret);
		if (fs)
			fs_umount(fs);
		fault_dev_free(d);
		return NULL;
	}
	*out = fs;
	return d;
}

/* Invert one byte of the device at off (through its 512-byte block). */
static void flip(struct fault_dev *d, uint64_t off)
{
	unsigned char b[512];
	uint64_t at = off & ~511ull;

	if (blk_read(fault_dev_blk(d), at, b, sizeof(b)) == 0) {
		b[off - at] ^= 0xff;
		blk_write(fault_dev_blk(d), at, b, sizeof(b));
	}
}

/* The root block of subvolume /sv (a leaf: a small tree). */
static uint64_t sv_root_block(struct fs_info *fs)
{
	const struct subvol_root *sv;
	struct fs_ino ino;

	if (fs_lookup(fs, "/sv", 0, &ino) || subvol_get(fs, ino.root, &sv))
		return 0;
	return sv->root.bytenr;
}

/* Scrub fs (read-only when ro) into *p, console captured. */
static int scrub(struct fs_info *fs, int ro, struct fs_scrub_progress *p)
{
	struct fs_scrub_args a = { ro, 0, 0 };
	int ret;

	memset(p, 0, sizeof(*p));
	host_console_capture(1);
	ret = fs_scrub(fs, &a, p);
	return ret;
}

/* Whether the captured output holds s; when not, it is shown. */
static int said(const char *s)
{
	const char *out = host_console_output(), *line, *end;

	if (strstr(out, s))
		return 1;
	for (line = out; *line; line = *end ? end + 1 : end) {
		end = strchrnul(line, '\n');
		printf("# %.*s\n", (int)(end - line), line);
	}
	return 0;
}

static uint64_t errors(const struct fs_scrub_progress *p)
{
	return p->read_errors + p->csum_errors + p->verify_errors +
	       p->super_errors + p->corrected_errors +
	       p->uncorrectable_errors;
}

/* A clean filesystem: no errors, and the counts are what fsck counts:
 * every tree block twice (DUP), every data byte once (SINGLE), each with
 * its checksum; last_physical at the end of the last chunk copy. */
TEST(scrub, clean_counts_what_the_fs_holds)
{
	struct fs_check_report rep;
	struct fs_scrub_progress p;
	struct fs_info *fs;
	struct fault_dev *d = make_fs(&fs, 0);
	struct chunk_mapping *map;
	uint64_t end = 0;
	uint32_t n, i, c;

	if (!d)
		return;
	CHECK_OK(scrub(fs, 0, &p));
	host_console_capture(0);
	CHECK_OK(fs_check(fs, &rep));
	CHECK_EQ(errors(&p), 0);
	CHECK_EQ(p.tree_extents_scrubbed, 2 * rep.tree_blocks);
	CHECK_EQ(p.tree_bytes_scrubbed, 2 * rep.tree_blocks * 4096);
	CHECK_EQ(p.data_bytes_scrubbed, rep.csum_bytes);
	CHECK(p.data_bytes_scrubbed >= 3 * FILE_BYTES);
	CHECK_EQ(p.no_csum, 0);
	CHECK_OK(volumes_copy_all(fs, &map, &n));
	for (i = 0; i < n; i++)
		for (c = 0; c < map[i].num_stripes; c++)
			if (map[i].physical[c] + map[i].length > end)
				end = map[i].physical[c] + map[i].length;
	free(map);
	CHECK_EQ(p.last_physical, end);
	fs_umount(fs);
	fault_dev_free(d);
}

/* One bad copy of a leaf is rewritten from the other (and a second scrub
 * finds nothing); -r only reports it. */
TEST(scrub, metadata_one_copy_corrected)
{
	struct fs_scrub_progress p;
	struct fs_info *fs;
	struct fault_dev *d = make_fs(&fs, 0);
	uint64_t leaf;

	if (!d)
		return;
	leaf = sv_root_block(fs);
	CHECK(leaf != 0 && phys(fs, leaf, 1) != 0);
	flip(d, phys(fs, leaf, 0) + 1000);
	CHECK_OK(scrub(fs, 1, &p));
	CHECK_EQ(p.verify_errors, 1);	/* a bad tree block: "verify" */
	CHECK_EQ(p.corrected_errors, 1);
	CHECK_EQ(p.uncorrectable_errors, 0);
	CHECK_OK(scrub(fs, 0, &p));	/* -r wrote nothing: still there */
	CHECK_EQ(p.verify_errors, 1);
	CHECK_EQ(p.corrected_errors, 1);
	CHECK(said("fixed up error at logical"));
	CHECK_OK(scrub(fs, 0, &p));
	host_console_capture(0);
	CHECK_EQ(errors(&p), 0);
	fs_umount(fs);
	CHECK_EQ(test_btrfs_check(__FILE__, __LINE__,
				  fault_dev_btrfs_check_data(d)), 0);
	fault_dev_free(d);
}

/* Both copies of a leaf bad: uncorrectable, said with its address. */
TEST(scrub, metadata_both_copies_uncorrectable)
{
	struct fs_scrub_progress p;
	struct fs_info *fs;
	struct fault_dev *d = make_fs(&fs, 0);
	uint64_t leaf;
	char want[64];

	if (!d)
		return;
	leaf = sv_root_block(fs);
	CHECK(leaf != 0);
	flip(d, phys(fs, leaf, 0) + 1000);
	flip(d, phys(fs, leaf, 1) + 1000);
	CHECK_OK(scrub(fs, 0, &p));
	/* each copy is scrubbed, each is bad and has no good partner */
	CHECK_EQ(p.verify_errors, 2);
	CHECK_EQ(p.uncorrectable_errors, 2);
	CHECK_EQ(p.corrected_errors, 0);
	snprintf(want, sizeof(want), "unable to fixup (regular) error at "
		 "logical %llu", (unsigned long long)leaf);
	CHECK(said(want));
	host_console_capture(0);
	fs_umount(fs);
	fault_dev_free(d);
}

/* Bad SINGLE data: uncorrectable, with the paths of the file in the
 * subvolume and in its read-only snapshot. */
TEST(scrub, data_single_uncorrectable_names_files)
{
	struct fs_scrub_progress p;
	struct fs_info *fs;
	struct fault_dev *d = make_fs(&fs, 0);
	uint64_t l;

	if (!d)
		return;
	l = first_extent(fs, "/sv/file1");
	CHECK(l != 0 && phys(fs, l, 0) != 0 && phys(fs, l, 1) == 0);
	flip(d, phys(fs, l, 0) + 5000);	/* its second sector */
	CHECK_OK(scrub(fs, 0, &p));
	CHECK_EQ(p.csum_errors, 1);
	CHECK_EQ(p.uncorrectable_errors, 1);
	CHECK_EQ(p.corrected_errors, 0);
	CHECK(said("(path: sv/file1)"));
	CHECK(said("(path: snap/file1)"));
	host_console_capture(0);
	fs_umount(fs);
	fault_dev_free(d);
}

/* Bad DUP data (a balance converted the data to DUP): corrected from the
 * other copy; btrfs check --check-data-csum agrees after. */
TEST(scrub, data_dup_corrected)
{
	struct fs_scrub_progress p;
	struct fs_info *fs;
	struct fault_dev *d = make_fs(&fs, 1);
	uint64_t l;

	if (!d)
		return;
	l = first_extent(fs, "/sv/file2");
	CHECK(l != 0 && phys(fs, l, 1) != 0);
	flip(d, phys(fs, l, 1) + 100);
	CHECK_OK(scrub(fs, 0, &p));
	CHECK_EQ(p.csum_errors, 1);
	CHECK_EQ(p.corrected_errors, 1);
	CHECK_EQ(p.uncorrectable_errors, 0);
	CHECK_OK(scrub(fs, 0, &p));
	host_console_capture(0);
	CHECK_EQ(errors(&p), 0);
	fs_umount(fs);
	CHECK_EQ(test_btrfs_check(__FILE__, __LINE__,
				  fault_dev_btrfs_check_data(d)), 0);
	fault_dev_free(d);
}

/* A writer beside the scrub: files made, rewritten and removed, a
 * commit every few steps, until told to stop. */
struct churn {
	struct fs_info *fs;
	int stop;		/* [a] */
	int steps;		/* [a] */
	int err;
};

static int churn_task(void *arg)
{
	struct churn *c = arg;
	static unsigned char buf[64 * 1024];
	char name[32];
	struct fs_ino ino;
	int ret = 0;

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE) && ret == 0) {
		int i = __atomic_fetch_add(&c->steps, 1, __ATOMIC_RELAXED);

		memset(buf, i, sizeof(buf));
		snprintf(name, sizeof(name), "/churn%d", i % 8);
		ret = fs_lookup(c->fs, name, 0, &ino);
		if (ret == 0)
			ret = fs_unlink(c->fs, name);
		if (ret == 0 || ret == -ENOENT)
			ret = fs_create(c->fs, name, 0100644, &ino);
		if (ret == 0)
			ret = fs_write(c->fs, ino, 0, buf, sizeof(buf));
		if (ret == 0 && i % 4 == 3)
			ret = fs_sync(c->fs);
	}
	c->err = ret;
	return ret;
}

/* Scrub beside a writer that commits again and again: it reads one
 * commit per chunk copy, so it finds nothing wrong, repairs nothing, and
 * btrfs check --check-data-csum is clean after. */
TEST(scrub, beside_writers_finds_nothing)
{
	struct fs_scrub_progress p;
	struct churn c = { 0 };
	struct fs_info *fs;
	struct fault_dev *d = make_fs(&fs, 1);
	struct task *t;
	int round, ret = 0;
	uint64_t errs = 0;

	if (!d)
		return;
	c.fs = fs;
	t = task_create("churn", churn_task, &c, TASK_PRIO_BACKGROUND);
	CHECK(t != NULL);
	/* no CHECK while the writer runs: it is stopped first */
	for (round = 0; ret == 0 && round < 1000 &&
	     (round < 3 ||
	      __atomic_load_n(&c.steps, __ATOMIC_RELAXED) < 40); round++) {
		ret = scrub(fs, 0, &p);
		host_console_capture(0);
		errs += errors(&p);
	}
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
	CHECK_OK(task_join(t));
	CHECK_OK(ret);
	CHECK_EQ(errs, 0);
	CHECK_OK(c.err);
	printf("# %d writer steps beside %d scrubs\n", c.steps, round);
	CHECK(c.steps >= 40);
	CHECK_OK(scrub(fs, 0, &p));
	host_console_capture(0);
	CHECK_EQ(errors(&p), 0);
	fs_umount(fs);
	CHECK_EQ(test_btrfs_check(__FILE__, __LINE__,
				  fault_dev_btrfs_check_data(d)), 0);
	fault_dev_free(d);
}

/* Run line in the shell, output captured. */
static int sh(const char *line)
{
	char buf[160];

	snprintf(buf, sizeof(buf), "%s", line);
	host_console_capture(1);
	return shell_run_line(buf);
}

/* The shell: scrub start runs in the background, rate-limited; cancel
 * stops it ("aborted"); after umount and mount, resume finishes it from
 * last_physical and the status adds both runs up. */
TEST(scrub, shell_cancel_resume_across_umount)
{
	char path[] = "/tmp/ghee-test-scrub-XXXXXX", line[96], disk[8];
	struct fs_info *fs;
	struct fault_dev *d = make_fs(&fs, 0);
	const char *out;
	int fd = mkstemp(path);

	if (!d)
		return;
	fs_umount(fs);
	CHECK(fd >= 0);
	close(fd);
	CHECK_OK(fault_dev_save(d, path));
	fault_dev_free(d);
	CHECK_OK(host_disk_open(path, 0));
	snprintf(disk, sizeof(disk), "%s", blk_get(blk_count() - 1)->name);
	snprintf(line, sizeof(line), "mount %s /", disk);
	CHECK_OK(sh(line));
	CHECK_OK(sh("scrub start -l 200000 /"));
	CHECK(strstr(host_console_output(), "scrub started on /, fsid "));
	usleep(300 * 1000);
	CHECK_OK(sh("scrub status /"));
	CHECK(strstr(host_console_output(), "Status:           running\n"));
	CHECK_OK(sh("scrub cancel /"));
	CHECK_STR(host_console_output(), "scrub cancelled\n");
	CHECK_EQ(sh("wait"), -ECANCELED);
	CHECK_EQ(sh("scrub cancel /"), -ENOTCONN);
	CHECK_OK(sh("scrub status -R /"));
	out = host_console_output();
	CHECK(strstr(out, "Status:           aborted\n"));
	CHECK(!strstr(out, "\tlast_physical: 0\n"));
	CHECK_OK(sh("umount /"));
	CHECK_OK(sh(line));
	CHECK_OK(sh("scrub resume -B /"));
	out = host_console_output();
	CHECK(strstr(out, "scrub done for "));
	CHECK(strstr(out, "Scrub resumed:    "));
	CHECK(strstr(out, "Status:           finished\n"));
	CHECK(strstr(out, "Error summary:    no errors found\n"));
	CHECK_EQ(sh("scrub resume /"), -ENOENT);
	CHECK(strstr(host_console_output(), "scrub: nothing to resume for /"));
	CHECK_OK(sh("scrub start -B -R /"));
	out = host_console_output();
	CHECK(strstr(out, "\tcsum_errors: 0\n"));
	CHECK(strstr(out, "\tuncorrectable_errors: 0\n"));
	host_console_capture(0);
	cmd_fs_reset();
	host_disks_close();
	unlink(path);
}
