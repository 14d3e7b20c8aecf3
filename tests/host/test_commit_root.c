/*
 * Commit-root reading (fs/commit_root.c):
 *  - a cursor walks every item of a commit's tree, leaf copy by leaf copy;
 *  - a reader of commit G still reads G exactly after commits that free
 *    G's blocks and allocate new ones (the freed space is held from reuse
 *    until the reader ends), and a commit after the reader ends gives the
 *    held space back;
 *  - fsck is such a reader: while it checks, other tasks change files and
 *    commit several times (no commit waits for the whole check), and it
 *    still reports the commit it started on clean.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>
#include <ghee/task.h>

#include "../../fs/commit_root.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/subvol.h"
#include "shim/fault_dev.h"
#include "shim/host.h"
#include "test.h"

#define NFILES 400		/* files made before the reader starts */
#define FSCK_FILES 6000		/* enough for fsck to outlast commits */

/* A fresh filesystem on d with n files /f0..; every 10th holds 5000
 * bytes, the others are empty. */
static int make_files(struct fault_dev *d, struct fs_info **out, int n)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	static char buf[5000];
	char path[32];
	struct fs_ino ino;
	int ret, i;

	memset(buf, 0x33, sizeof(buf));
	ret = fs_mkfs(fault_dev_blk(d), &o);
	ret = ret ? ret : fs_mount(fault_dev_blk(d), 0, out);
	for (i = 0; ret == 0 && i < n; i++) {
		snprintf(path, sizeof(path), "/f%d", i);
		ret = fs_create(*out, path, 0644, &ino);
		if (ret == 0 && i % 10 == 0)
			ret = fs_write(*out, ino, 0, buf, sizeof(buf));
	}
	return ret ? ret : fs_sync(*out);
}

/* Delete /f<round % 2>, then every step-th file after it, and make as many
 * new files, then commit: frees blocks of the last commit and allocates
 * new ones. */
static int churn(struct fs_info *fs, int round, int step)
{
	static char buf[8192];
	char path[32];
	struct fs_ino ino;
	int ret = 0, i;

	memset(buf, round, sizeof(buf));
	for (i = round % 2; ret == 0 && i < NFILES; i += step) {
		snprintf(path, sizeof(path), "/f%d", i);
		ret = fs_unlink(fs, path);
		if (ret == -ENOENT)
			ret = 0;
		snprintf(path, sizeof(path), "/n%d.%d", round, i);
		ret = ret ? ret : fs_create(fs, path, 0644, &ino);
		ret = ret ? ret : fs_write(fs, ino, 0, buf, sizeof(buf));
	}
	return ret ? ret : fs_sync(fs);
}

/* Keys of every item of tree t of r's commit, and their count. */
static int read_keys(struct commit_reader *r, const struct commit_tree *t,
		     struct key *keys, int max, int *n)
{
	struct commit_cursor cur = { 0 };
	struct key k = { 0, 0, 0 };
	int ret;

	*n = 0;
	ret = commit_cursor_search(&cur, r, t, &k);
	for (; ret == 0; ret = commit_cursor_next(&cur)) {
		if (*n == max) {
			ret = -E2BIG;
			break;
		}
		commit_cursor_key(&cur, &keys[(*n)++]);
	}
	commit_cursor_release(&cur);
	return ret < 0 ? ret : 0;
}

/* The top-level subvolume's tree as the last commit has it. */
static int fs_tree(struct fs_info *fs, struct commit_tree *t)
{
	const struct subvol_root *sv;
	int ret = subvol_get(fs, BTRFS_FS_TREE_OBJECTID, &sv);

	return ret ? ret : commit_root_of(fs, &sv->root, t);
}

#define MAXKEYS 8000
#define ROUNDS 80		/* commits while the reader reads */

TEST(commit_root, reader_keeps_its_commit)
{
	struct fault_dev *d = fault_dev_new(64ull << 20);
	struct key *before = calloc(MAXKEYS, sizeof(struct key));
	struct key *after = calloc(MAXKEYS, sizeof(struct key));
	struct commit_reader r;
	struct commit_tree t;
	struct fs_info *fs = NULL;
	int n1 = 0, n2 = 0, ret, round;
	u64 gen;

	ret = d && before && after ? make_files(d, &fs, NFILES) : -ENOMEM;
	ret = ret ? ret : commit_reader_begin(fs, &r);
	if (ret == 0) {
		gen = r.generation;
		ret = fs_tree(fs, &t);
		ret = ret ? ret : read_keys(&r, &t, before, MAXKEYS, &n1);
		/* Enough commits for the allocator's next-fit cursor to
		 * come round the metadata block group and reuse space. */
		for (round = 1; ret == 0 && round <= ROUNDS; round++)
			ret = churn(fs, round, round % 8 ? NFILES : 8);
		if (ret == 0 && commit_root_generation(fs) < gen + ROUNDS)
			test_fail(__FILE__, __LINE__, "only %llu commits",
				  (unsigned long long)
				  (commit_root_generation(fs) - gen));
		ret = ret ? ret : read_keys(&r, &t, after, MAXKEYS, &n2);
		if (ret == 0 && fs->nheld == 0)
			test_fail(__FILE__, __LINE__, "no freed range held");
		commit_reader_end(&r);
	}
	if (ret == 0 && (n1 < NFILES || n1 != n2 ||
			 memcmp(before, after, (size_t)n1 * sizeof(*before))))
		test_fail(__FILE__, __LINE__, "commit %llu read %d items, then "
			  "%d after %d commits", (unsigned long long)gen, n1, n2,
			  ROUNDS);
	ret = ret ? ret : churn(fs, ROUNDS + 1, 8);
	if (ret == 0 && fs->nheld)
		test_fail(__FILE__, __LINE__, "%u ranges still held after the "
			  "reader ended and a commit", fs->nheld);
	if (ret)
		test_fail(__FILE__, __LINE__, "error %d", ret);
	fs_umount(fs);
	if (ret == 0)
		test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(d));
	fault_dev_free(d);
	free(before);
	free(after);
}

/* fsck in its own task; running says when it has started and ended. */
struct fsck_run {
	struct fs_info *fs;
	struct fs_check_report rep;
	int running;		/* 1 from before fs_check to after [a] */
	int ret;
};

static int fsck_task(void *arg)
{
	struct fsck_run *f = arg;

	__atomic_store_n(&f->running, 1, __ATOMIC_RELEASE);
	f->ret = fs_check(f->fs, &f->rep);
	__atomic_store_n(&f->running, 0, __ATOMIC_RELEASE);
	return 0;
}

TEST(commit_root, fsck_during_commits)
{
	struct fault_dev *d = fault_dev_new(256ull << 20);
	struct fsck_run f = { 0 };
	struct task *t = NULL;
	int ret, round = 0, during = 0;

	ret = d ? make_files(d, &f.fs, FSCK_FILES) : -ENOMEM;
	f.ret = -1;
	if (ret == 0) {
		f.running = 2;	/* not started yet */
		t = task_create("fsck", fsck_task, &f, TASK_PRIO_BACKGROUND);
		ret = t ? 0 : -ENOMEM;
	}
	while (ret == 0 && __atomic_load_n(&f.running, __ATOMIC_ACQUIRE) == 2)
		task_yield();
	/* Commit while the check runs; count commits that both began and
	 * ended during it. */
	while (ret == 0 && __atomic_load_n(&f.running, __ATOMIC_ACQUIRE)) {
		ret = churn(f.fs, ++round % 200, NFILES);
			if (ret == 0 && __atomic_load_n(&f.running, __ATOMIC_ACQUIRE))
			during++;
	}
	if (t)
		task_join(t);
	if (ret)
		test_fail(__FILE__, __LINE__, "changes failed: %d", ret);
	else if (f.ret)
		test_fail(__FILE__, __LINE__, "fsck returned %d with %llu "
			  "errors", f.ret, (unsigned long long)f.rep.errors);
	else if (during < 1)
		test_fail(__FILE__, __LINE__, "%d commits ended during fsck",
			  during);
	fs_umount(f.fs);
	if (ret == 0)
		test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(d));
	fault_dev_free(d);
}
