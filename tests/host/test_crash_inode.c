/*
 * Crash tests of a reflink and an xattr change (tests/host/test_crash.c
 * has the method): on a synced image holding /src (bytes A) and /dst
 * (bytes B, xattr user.v "old"), the workload clones all of /src over
 * /dst, sets user.v to "new" and syncs; the power is cut at every write,
 * with writes up to the cut landing, and again with unflushed writes
 * kept or dropped at random. Each survivor must mount, pass ghee's fsck
 * and (a sample) `btrfs check`, and show a state that existed: /dst B or
 * A, user.v old or new, never new before A (the clone came first), and
 * (A, new) once the sync had returned. Then it takes a new write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "crash_model.h"
#include "shim/fault_dev.h"
#include "shim/host.h"
#include "test.h"

#define FILE_BYTES (512u << 10)
#define BTRFS_CHECKS 12		/* btrfs check runs, at most, per case */

static uint8_t buf[FILE_BYTES];

/* Make path holding FILE_BYTES of byte v; *ino names it. */
static int make(struct fs_info *fs, const char *path, int v,
		struct fs_ino *ino)
{
	int ret = fs_create(fs, path, 0644, ino);

	memset(buf, v, sizeof(buf));
	return ret ? ret : fs_write(fs, *ino, 0, buf, sizeof(buf));
}

static struct fault_dev *template_dev(void)
{
	struct fs_mkfs_opts o = { NULL, 4096, 0, NULL };
	struct fault_dev *t = fault_dev_new(128ull << 20);
	struct fs_ino s, d;
	struct fs_info *fs;
	int ret = t ? fs_mkfs(fault_dev_blk(t), &o) : -ENOMEM;

	if (ret == 0)
		ret = fs_mount(fault_dev_blk(t), 0, &fs);
	if (ret == 0) {
		ret = make(fs, "/src", 'A', &s);
		if (ret == 0)
			ret = make(fs, "/dst", 'B', &d);
		if (ret == 0)
			ret = fs_setxattr(fs, d, "user.v", "old", 3, 0);
		fs_umount(fs);
	}
	if (ret && t) {
		fault_dev_free(t);
		t = NULL;
	}
	return t;
}

/* The workload on a copy of tmpl cut at write cut (0: never); *synced_at
 * gets the device writes when the sync returned (0: it did not). */
static struct fault_dev *run_cut(struct fault_dev *tmpl, uint64_t cut,
				 enum fault_mode mode, uint64_t *synced_at)
{
	struct fault_dev *f = fault_dev_clone(tmpl), *c;
	struct fs_ino s, d;
	struct fs_info *fs;

	*synced_at = 0;
	fault_dev_arm(f, cut, mode, cut);
	if (fs_mount(fault_dev_blk(f), 0, &fs) == 0) {
		if (fs_lookup(fs, "/src", 0, &s) == 0 &&
		    fs_lookup(fs, "/dst", 0, &d) == 0 &&
		    fs_clone_range(fs, s, 0, 0, d, 0) == 0 &&
		    fs_setxattr(fs, d, "user.v", "new", 3, 0) == 0 &&
		    fs_sync(fs) == 0 && !fault_dev_is_cut(f))
			*synced_at = fault_dev_writes(f);
		fs_umount(fs);
	}
	c = fault_dev_crash_image(f);
	fault_dev_free(f);
	return c;
}

/* Which bytes /dst holds: 'A', 'B', or 0 (anything else). */
static int dst_bytes(struct fs_info *fs, struct fs_ino d)
{
	size_t n, i;

	if (fs_read(fs, d, 0, buf, sizeof(buf), &n) || n != sizeof(buf))
		return 0;
	for (i = 1; i < n; i++)
		if (buf[i] != buf[0])
			return 0;
	return buf[0] == 'A' || buf[0] == 'B' ? buf[0] : 0;
}

/* Check the survivor c; synced: the sync returned before the cut. */
static const char *verify(struct fault_dev *c, int synced)
{
	struct fs_check_report rep;
	struct fs_info *fs;
	struct fs_ino d, x;
	char v[8];
	size_t n;
	int bytes, ret;

	if (fs_mount(fault_dev_blk(c), 0, &fs))
		return "the image does not mount";
	ret = fs_check(fs, &rep) ? -EUCLEAN : fs_lookup(fs, "/dst", 0, &d);
	bytes = ret ? 0 : dst_bytes(fs, d);
	if (ret == 0)
		ret = fs_getxattr(fs, d, "user.v", v, sizeof(v), &n);
	if (ret == 0 && (!bytes || n != 3 || (memcmp(v, "old", 3) &&
					      memcmp(v, "new", 3))))
		ret = -ENODATA;
	if (ret == 0 && ((!memcmp(v, "new", 3) && bytes != 'A') ||
			 (synced && memcmp(v, "new", 3))))
		ret = -ENODATA;
	if (ret == 0)
		ret = fs_create(fs, "/after", 0644, &x);
	if (ret == 0)
		ret = fs_sync(fs);
	fs_umount(fs);
	if (ret == -EUCLEAN)
		return "fsck found errors";
	return ret == -ENODATA ? "/dst is in a state that never was" :
	       ret ? "the image takes no new writes" : NULL;
}

static void crash_clone(enum fault_mode mode)
{
	struct fault_dev *tmpl = template_dev(), *c;
	uint64_t total, cut, synced, every, checks = 0;
	const char *why = NULL;

	CHECK(tmpl != NULL);
	host_console_capture(1);	/* the aborts' messages */
	c = run_cut(tmpl, 0, mode, &total);
	fault_dev_free(c);
	CHECK(total > 0);
	every = total / BTRFS_CHECKS + 1;
	for (cut = 1; cut <= total + 2 && !why; cut++) {
		c = run_cut(tmpl, cut, mode, &synced);
		why = verify(c, synced != 0);
		if (!why && cut % every == 0) {
			checks++;
			if (test_btrfs_check(__FILE__, __LINE__,
					     fault_dev_btrfs_check(c)))
				why = "btrfs check failed";
		}
		fault_dev_free(c);
	}
	host_console_capture(0);
	fault_dev_free(tmpl);
	if (why)
		test_fail(__FILE__, __LINE__, "cut at write %llu (mode %d): %s",
			  (unsigned long long)(cut - 1), mode, why);
	crash_summary("clone-xattr", mode, total, cut - 1, checks,
		      why ? 1 : 0);
}

TEST(crash_inode, clone_and_xattr_every_write)
{
	crash_clone(FAULT_CUT);
}

TEST(crash_inode, clone_and_xattr_every_write_reordered)
{
	crash_clone(FAULT_REORDER);
}
