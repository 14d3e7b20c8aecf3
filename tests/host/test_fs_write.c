/*
 * Edges of the write path through the public API, each image judged by
 * ghee's fsck and, when btrfs-progs is installed, `btrfs check`:
 *  - thousands of hard links of one inode in one directory: the INODE_REF
 *    item fills and the rest go to INODE_EXTREF items; unlinking half of
 *    them finds each name in whichever kind holds it;
 *  - metadata full: empty files with long names on a small image until
 *    -ENOSPC, which must come back cleanly (no abort, still read-write);
 *    deleting must still work (the global reserve), and creating after;
 *  - an I/O error during a commit: the transaction aborts, the filesystem
 *    turns read-only and says so, and the disk keeps the previous commit,
 *    which mounts, checks clean and holds the data synced before.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "shim/fault_dev.h"
#include "shim/host.h"
#include "test.h"

/* btrfs check of d's image: 0 clean, 1 errors, -1 no btrfs-progs. */
static int btrfs_check(struct fault_dev *d)
{
	char path[] = "/tmp/ghee-fsw-XXXXXX";
	int fd = mkstemp(path), ret;

	if (fd < 0)
		return -1;
	close(fd);
	ret = fault_dev_save(d, path) ? -1 : test_btrfs_check(path);
	if (ret == 1)
		printf("# btrfs check failed; image kept at %s\n", path);
	else
		unlink(path);
	return ret;
}

static struct fault_dev *fresh(uint64_t size, uint32_t nodesize)
{
	struct fs_mkfs_opts o = { NULL, nodesize, 0 };
	struct fault_dev *d = fault_dev_new(size);

	if (d && fs_mkfs(fault_dev_blk(d), &o)) {
		fault_dev_free(d);
		return NULL;
	}
	return d;
}

/* Mount d, run fsck, unmount: 0 when clean. */
static int fsck_clean(struct fault_dev *d)
{
	struct fs_check_report rep;
	struct fs_info *fs;
	int ret = fs_mount(fault_dev_blk(d), FS_MOUNT_RO, &fs);

	if (ret)
		return ret;
	ret = fs_check(fs, &rep);
	fs_umount(fs);
	return ret;
}

#define NLINKS 3000

static void many_links(struct fault_dev *d)
{
	struct fs_info *fs;
	struct fs_ino ino;
	struct fs_stat st;
	char p[96];
	int i;

	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	CHECK_OK(fs_mkdir(fs, "/d", 0755));
	CHECK_OK(fs_create(fs, "/f", 0644, &ino));
	CHECK_OK(fs_write(fs, ino, 0, "links", 5));
	for (i = 0; i < NLINKS; i++) {
		snprintf(p, sizeof(p), "/d/a-hard-link-with-a-long-name-%05d",
			 i);
		CHECK_OK(fs_link(fs, "/f", p));
	}
	CHECK_OK(fs_sync(fs));
	for (i = 0; i < NLINKS; i += 2) {
		snprintf(p, sizeof(p), "/d/a-hard-link-with-a-long-name-%05d",
			 i);
		CHECK_OK(fs_unlink(fs, p));
	}
	CHECK_OK(fs_rename(fs, "/d/a-hard-link-with-a-long-name-00001",
			   "/moved"));
	CHECK_OK(fs_stat(fs, ino, &st));
	fs_umount(fs);
	CHECK_EQ(st.nlink, 1 + NLINKS / 2);
}

TEST(fs_write, hard_links_use_extended_refs)
{
	struct fault_dev *d = fresh(128ull << 20, 0);

	CHECK(d != NULL);
	many_links(d);
	if (fsck_clean(d))
		test_fail(__FILE__, __LINE__, "fsck found errors");
	else if (btrfs_check(d) == 1)
		test_fail(__FILE__, __LINE__, "btrfs check found errors");
	fault_dev_free(d);
}

/* Make empty files, 2000 a directory, until an error; *made counts. */
static int fill_metadata(struct fs_info *fs, int *made)
{
	struct fs_ino ino;
	char p[300];
	int ret = 0;

	for (*made = 0; *made < 1000000; ++*made) {
		if (*made % 2000 == 0) {
			snprintf(p, sizeof(p), "/d%d", *made / 2000);
			ret = fs_mkdir(fs, p, 0755);
			if (ret)
				break;
		}
		snprintf(p, sizeof(p), "/d%d/%0200d", *made / 2000, *made);
		ret = fs_create(fs, p, 0644, &ino);
		if (ret)
			break;
	}
	return ret;
}

static void metadata_full(struct fault_dev *d)
{
	struct fs_info *fs;
	struct fs_ino ino;
	char p[300];
	int made, i, ret;

	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	ret = fill_metadata(fs, &made);
	printf("# metadata full after %d empty files: %d\n", made, ret);
	CHECK_EQ(ret, -ENOSPC);
	CHECK(!fs_is_read_only(fs));		/* clean: no abort */
	CHECK_EQ(fs_mkdir(fs, "/more", 0755), -ENOSPC);
	CHECK_OK(fs_sync(fs));
	/* Deletes may use the reserve; then creating works again. */
	for (i = 0; i < 400; i++) {
		snprintf(p, sizeof(p), "/d0/%0200d", i);
		CHECK_OK(fs_unlink(fs, p));
	}
	CHECK_OK(fs_sync(fs));
	CHECK_OK(fs_create(fs, "/after", 0644, &ino));
	CHECK_OK(fs_write(fs, ino, 0, "ok", 2));
	fs_umount(fs);
}

TEST(fs_write, metadata_enospc_is_clean)
{
	/* 4 KiB nodes, metadata DUP on 40 MiB: a few MiB of metadata. */
	struct fault_dev *d = fresh(40ull << 20, 4096);

	CHECK(d != NULL);
	metadata_full(d);
	if (fsck_clean(d))
		test_fail(__FILE__, __LINE__, "fsck found errors");
	else if (btrfs_check(d) == 1)
		test_fail(__FILE__, __LINE__, "btrfs check found errors");
	fault_dev_free(d);
}

/* Sync some data, then fail the device during the next commit. */
static void abort_in_commit(struct fault_dev *d)
{
	static char buf[200000];
	struct fs_info *fs;
	struct fs_ino ino;
	const char *out;
	int ret;

	memset(buf, 'a', sizeof(buf));
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	CHECK_OK(fs_create(fs, "/kept", 0644, &ino));
	CHECK_OK(fs_write(fs, ino, 0, buf, sizeof(buf)));
	CHECK_OK(fs_sync(fs));
	memset(buf, 'b', sizeof(buf));
	CHECK_OK(fs_write(fs, ino, 0, buf, sizeof(buf)));
	CHECK_OK(fs_create(fs, "/lost", 0644, &ino));
	/* Every write from now on fails with -EIO: the commit's first
	 * tree block write is where it aborts. */
	fault_dev_arm(d, 1, FAULT_CUT, 0);
	host_console_capture(1);
	ret = fs_sync(fs);
	out = host_console_output();
	CHECK(strstr(out, "aborted") && strstr(out, "read-only"));
	host_console_capture(0);
	CHECK(ret < 0);
	CHECK(fs_is_read_only(fs));
	CHECK_EQ(fs_create(fs, "/refused", 0644, &ino), -EROFS);
	host_console_capture(1);	/* umount's failed final commit */
	fs_umount(fs);
	host_console_capture(0);
}

/* The survivor holds the first commit: /kept all 'a', no /lost. */
static void previous_commit(struct fault_dev *c)
{
	static char got[200001];
	struct fs_info *fs;
	struct fs_ino ino;
	size_t n, i;

	CHECK_OK(fs_mount(fault_dev_blk(c), FS_MOUNT_RO, &fs));
	CHECK_EQ(fs_lookup(fs, "/lost", 0, &ino), -ENOENT);
	CHECK_OK(fs_lookup(fs, "/kept", 0, &ino));
	CHECK_OK(fs_read(fs, ino, 0, got, sizeof(got), &n));
	fs_umount(fs);
	CHECK_EQ(n, 200000);
	for (i = 0; i < n && got[i] == 'a'; i++)
		;
	CHECK_EQ(i, n);
}

TEST(fs_write, io_error_in_commit_aborts)
{
	struct fault_dev *d = fresh(128ull << 20, 0), *c;

	CHECK(d != NULL);
	abort_in_commit(d);
	c = fault_dev_crash_image(d);
	fault_dev_free(d);
	CHECK(c != NULL);
	previous_commit(c);
	if (fsck_clean(c))
		test_fail(__FILE__, __LINE__, "fsck found errors");
	else if (btrfs_check(c) == 1)
		test_fail(__FILE__, __LINE__, "btrfs check found errors");
	fault_dev_free(c);
}
