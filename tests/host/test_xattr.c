/*
 * Extended attributes (fs/xattr.c) through the public API, each image
 * judged by ghee's fsck and, when btrfs-progs is installed, `btrfs check`:
 *  - Linux's semantics: XATTR_CREATE and XATTR_REPLACE, -ENODATA for a
 *    missing name, -ERANGE for a small buffer (size 0 gives the length),
 *    the name and value limits (-ERANGE, -E2BIG, -ENOSPC), namespaces
 *    (-EOPNOTSUPP, -EINVAL), "user." only on files and directories
 *    (-EPERM), and values that survive a remount;
 *  - names of one hash share an item: each is found, replaced and removed
 *    without disturbing the others, and once the item is full the next
 *    name is refused (-ENOSPC) with nothing changed;
 *  - removing the inode removes its attributes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "shim/crc_pair.h"
#include "shim/fault_dev.h"
#include "test.h"

static struct fault_dev *fresh(uint32_t nodesize)
{
	struct fs_mkfs_opts o = { NULL, nodesize, 0, NULL };
	struct fault_dev *d = fault_dev_new(128ull << 20);

	if (d && fs_mkfs(fault_dev_blk(d), &o)) {
		fault_dev_free(d);
		return NULL;
	}
	return d;
}

/* ghee's fsck and btrfs check of d: 0 when both are clean. */
static int both_clean(struct fault_dev *d)
{
	struct fs_check_report rep;
	struct fs_info *fs;
	int ret = fs_mount(fault_dev_blk(d), FS_MOUNT_RO, &fs);

	if (ret)
		return ret;
	ret = fs_check(fs, &rep);
	fs_umount(fs);
	if (ret == 0 &&
	    test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(d)))
		ret = 1;
	return ret;
}

/* Value of name on ino must be want (n bytes). */
static int has_value(struct fs_info *fs, struct fs_ino ino, const char *name,
		     const void *want, size_t n)
{
	static char buf[FS_XATTR_SIZE_MAX];
	size_t len;
	int ret = fs_getxattr(fs, ino, name, buf, sizeof(buf), &len);

	if (ret)
		return ret;
	return len == n && !memcmp(buf, want, n) ? 0 : 1;
}

static void semantics(struct fs_info *fs)
{
	static char big[FS_XATTR_SIZE_MAX + 1], name[300];
	struct fs_ino f, l, d;
	char buf[64];
	size_t len;

	CHECK_OK(fs_create(fs, "/f", 0644, &f));
	CHECK_OK(fs_mkdir(fs, "/d", 0755));
	CHECK_OK(fs_lookup(fs, "/d", 0, &d));
	CHECK_OK(fs_symlink(fs, "/f", "/l"));
	CHECK_OK(fs_lookup(fs, "/l", 0, &l));
	CHECK_OK(fs_setxattr(fs, f, "user.a", "one", 3, 0));
	CHECK_EQ(fs_setxattr(fs, f, "user.a", "x", 1, FS_XATTR_CREATE),
		 -EEXIST);
	CHECK_EQ(fs_setxattr(fs, f, "user.b", "x", 1, FS_XATTR_REPLACE),
		 -ENODATA);
	CHECK_OK(fs_setxattr(fs, f, "user.a", "three", 5, FS_XATTR_REPLACE));
	CHECK_OK(has_value(fs, f, "user.a", "three", 5));
	CHECK_OK(fs_getxattr(fs, f, "user.a", NULL, 0, &len));
	CHECK_EQ(len, 5);
	CHECK_EQ(fs_getxattr(fs, f, "user.a", buf, 2, &len), -ERANGE);
	CHECK_EQ(fs_getxattr(fs, f, "user.none", buf, 64, &len), -ENODATA);
	CHECK_EQ(fs_removexattr(fs, f, "user.none"), -ENODATA);
	CHECK_OK(fs_setxattr(fs, f, "user.empty", NULL, 0, 0));
	CHECK_OK(has_value(fs, f, "user.empty", "", 0));
	CHECK_EQ(fs_setxattr(fs, f, "bogus.a", "x", 1, 0), -EOPNOTSUPP);
	CHECK_EQ(fs_setxattr(fs, f, "system.posix_acl_access", "x", 1, 0),
		 -EOPNOTSUPP);
	CHECK_EQ(fs_setxattr(fs, f, "user.", "x", 1, 0), -EINVAL);
	CHECK_EQ(fs_setxattr(fs, f, "", "x", 1, 0), -ERANGE);
	memset(name, 'n', sizeof(name) - 1);
	memcpy(name, "user.", 5);
	name[256] = 0;
	CHECK_EQ(fs_setxattr(fs, f, name, "x", 1, 0), -ERANGE);
	name[255] = 0;
	CHECK_OK(fs_setxattr(fs, f, name, "x", 1, 0));
	CHECK_EQ(fs_setxattr(fs, f, "user.big", big, sizeof(big), 0), -E2BIG);
	CHECK_EQ(fs_setxattr(fs, f, "user.big", big, 20000, 0), -ENOSPC);
	CHECK_OK(fs_setxattr(fs, f, "user.big", big, 16000, 0));
	CHECK_EQ(fs_setxattr(fs, l, "user.a", "x", 1, 0), -EPERM);
	CHECK_EQ(fs_getxattr(fs, l, "user.a", buf, 64, &len), -ENODATA);
	CHECK_OK(fs_setxattr(fs, l, "trusted.t", "on-link", 7, 0));
	CHECK_OK(fs_setxattr(fs, d, "user.d", "dir", 3, 0));
	CHECK_OK(fs_setxattr(fs, d, "security.s", "sec", 3, 0));
	CHECK_OK(fs_removexattr(fs, f, "user.empty"));
	CHECK_EQ(fs_getxattr(fs, f, "user.empty", buf, 64, &len), -ENODATA);
	CHECK_OK(fs_listxattr(fs, f, NULL, 0, &len));
	CHECK_EQ(len, 7 + 256 + 9);	/* user.a, the long one, user.big */
	CHECK_EQ(fs_listxattr(fs, f, buf, 10, &len), -ERANGE);
}

/* What semantics left, after a remount. */
static void persisted(struct fs_info *fs)
{
	static char big[FS_XATTR_SIZE_MAX];
	char list[64];
	struct fs_ino f, l, d;
	size_t len;

	CHECK_OK(fs_lookup(fs, "/f", 0, &f));
	CHECK_OK(fs_lookup(fs, "/l", 0, &l));
	CHECK_OK(fs_lookup(fs, "/d", 0, &d));
	CHECK_OK(has_value(fs, f, "user.a", "three", 5));
	CHECK_OK(has_value(fs, f, "user.big", big, 16000));
	CHECK_OK(has_value(fs, l, "trusted.t", "on-link", 7));
	CHECK_OK(has_value(fs, d, "user.d", "dir", 3));
	CHECK_OK(fs_listxattr(fs, d, list, sizeof(list), &len));
	CHECK_EQ(len, 18);
	CHECK(memmem(list, len, "security.s", 11) != NULL);
	CHECK(memmem(list, len, "user.d", 7) != NULL);
}

TEST(xattr, linux_semantics)
{
	struct fault_dev *d = fresh(0);
	struct fs_info *fs;

	CHECK(d != NULL);
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	semantics(fs);
	fs_umount(fs);
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	persisted(fs);
	fs_umount(fs);
	CHECK_OK(both_clean(d));
	fault_dev_free(d);
}

/* Name k of eight with one hash: "user." + three blocks of a or b. */
static void hash_name(char *p, const char *a, const char *b, int k)
{
	snprintf(p, 64, "user.%s%s%s", k & 1 ? b : a, k & 2 ? b : a,
		 k & 4 ? b : a);
}

/*
 * Names of one hash share one item: at 4 KiB nodes seven with 500-byte
 * values fill it and the eighth is refused (-ENOSPC, nothing changed),
 * as is a longer value for one of them; replacing and removing one
 * leaves the others whole.
 */
static void collisions(struct fs_info *fs, const char *a, const char *b)
{
	static char v[8][1000];
	struct fs_ino f;
	char name[64];
	size_t len;
	int k;

	CHECK_OK(fs_create(fs, "/c", 0644, &f));
	for (k = 0; k < 8; k++) {
		memset(v[k], 'A' + k, sizeof(v[k]));
		hash_name(name, a, b, k);
		CHECK_EQ(fs_setxattr(fs, f, name, v[k], 500, 0),
			 k < 7 ? 0 : -ENOSPC);
	}
	CHECK_EQ(fs_getxattr(fs, f, name, NULL, 0, &len), -ENODATA);
	hash_name(name, a, b, 1);
	CHECK_EQ(fs_setxattr(fs, f, name, v[1], 800, FS_XATTR_REPLACE),
		 -ENOSPC);
	CHECK_OK(has_value(fs, f, name, v[1], 500));
	CHECK_OK(fs_setxattr(fs, f, name, v[1], 100, FS_XATTR_REPLACE));
	hash_name(name, a, b, 0);
	CHECK_OK(fs_removexattr(fs, f, name));
	CHECK_EQ(fs_getxattr(fs, f, name, NULL, 0, &len), -ENODATA);
	hash_name(name, a, b, 1);
	CHECK_OK(has_value(fs, f, name, v[1], 100));
	for (k = 2; k < 7; k++) {
		hash_name(name, a, b, k);
		CHECK_OK(has_value(fs, f, name, v[k], 500));
	}
	CHECK_OK(fs_listxattr(fs, f, NULL, 0, &len));
	CHECK_EQ(len, 6 * 30);		/* six names of 29 bytes */
	CHECK_OK(fs_sync(fs));
}

TEST(xattr, hash_collisions_share_an_item)
{
	struct fault_dev *d = fresh(4096);
	struct fs_info *fs;
	char a[9], b[9];

	CHECK(d != NULL);
	CHECK(crc_pair(a, b));
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	collisions(fs, a, b);
	CHECK(!fs_is_read_only(fs));
	fs_umount(fs);
	CHECK_OK(both_clean(d));
	fault_dev_free(d);
}

TEST(xattr, unlink_removes_attributes)
{
	struct fault_dev *d = fresh(0);
	static char v[3000];
	struct fs_info *fs;
	struct fs_ino f;
	char name[32];
	int i;

	CHECK(d != NULL);
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	CHECK_OK(fs_create(fs, "/f", 0644, &f));
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "user.n%d", i);
		CHECK_OK(fs_setxattr(fs, f, name, v, sizeof(v), 0));
	}
	CHECK_OK(fs_sync(fs));
	CHECK_OK(fs_unlink(fs, "/f"));
	fs_umount(fs);
	CHECK_OK(both_clean(d));
	fault_dev_free(d);
}
