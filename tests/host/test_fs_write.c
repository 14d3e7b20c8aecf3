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
 *    which mounts, checks clean and holds the data synced before;
 *  - small data writes wait in memory (fs/writeback.c): none reaches the
 *    disk before the commit, a read sees them at once, a commit makes
 *    them durable, and what is held never passes its bound;
 *  - a file data write that fails once is reported by the next sync
 *    only, as Linux reports a writeback error, and aborts nothing (the
 *    held copy is written again); one that fails for good aborts the
 *    commit, which says so, and the disk keeps the previous commit;
 *  - names that cannot fit, refused before anything changed (no abort,
 *    still read-write): a full INODE_REF item without the EXTENDED_IREF
 *    feature (-EMLINK, for link and rename), a full DIR_ITEM of names
 *    with one crc32c (-EOVERFLOW, for every way of adding a name), names
 *    over 255 bytes, paths of 4096, long symlink targets (-ENAMETOOLONG).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ghee/errno.h>

#include "../../fs/format.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/super.h"
#include "../../fs/transaction.h"
#include "../../lib/crc32c.h"
#include "shim/crc_pair.h"
#include "shim/fault_dev.h"
#include "shim/host.h"
#include "test.h"
#include "test_env.h"

static struct fault_dev *fresh(uint64_t size, uint32_t nodesize)
{
	struct fs_mkfs_opts o = { NULL, nodesize, 0, NULL };
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
	else
		test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(d));
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
	else
		test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(d));
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
	/* One more write lands (the commit's first), and every write after
	 * it fails with -EIO: the commit aborts part way through. */
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
	else
		test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(c));
	fault_dev_free(c);
}

/*
 * After a refused change: the filesystem was not aborted, still takes a
 * write and a commit, and checks clean (ghee's fsck and btrfs check).
 */
static void still_healthy(struct fault_dev *d, struct fs_info *fs)
{
	struct fs_ino ino;
	int ret;

	CHECK(!fs_is_read_only(fs));
	ret = fs_create(fs, "/after", 0644, &ino);
	if (ret == 0)
		ret = fs_sync(fs);
	fs_umount(fs);
	CHECK_OK(ret);
	if (fsck_clean(d))
		test_fail(__FILE__, __LINE__, "fsck found errors");
	else
		test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(d));
}

/* Clear the EXTENDED_IREF feature in each superblock copy of d (size
 * bytes), as mkfs.btrfs -O ^extref would have made it. */
static int no_extended_iref(struct fault_dev *d, uint64_t size)
{
	struct d_super_block sb;
	struct blkdev *b = fault_dev_blk(d);
	int i, ret = 0;

	for (i = 0; ret == 0 && super_offset(i) + sizeof(sb) <= size; i++) {
		ret = blk_read(b, super_offset(i), &sb, sizeof(sb));
		if (ret)
			break;
		put_le64(&sb.incompat_flags, get_le64(&sb.incompat_flags) &
			 ~BTRFS_FEATURE_INCOMPAT_EXTENDED_IREF);
		put_le32(sb.csum, ~crc32c(~0u, (u8 *)&sb + BTRFS_CSUM_SIZE,
					  sizeof(sb) - BTRFS_CSUM_SIZE));
		ret = blk_write(b, super_offset(i), &sb, sizeof(sb));
	}
	return ret;
}

/* Path dir/ + a 200-byte name ending in the number i. */
static void long_name(char *p, const char *dir, int i)
{
	snprintf(p, 300, "%s/%0200d", dir, i);
}

/*
 * /a/f gets hard links /b/<long name> until its INODE_REF item from /b is
 * full (-EMLINK); then every way of giving it one more name in /b must be
 * refused before anything changed.
 */
static void ref_full(struct fault_dev *d)
{
	struct fs_info *fs;
	struct fs_ino f, v;
	char p[300], q[300], victim[300];
	int n, ret = 0;

	long_name(victim, "/b", 2000);
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	CHECK_OK(fs_mkdir(fs, "/a", 0755));
	CHECK_OK(fs_mkdir(fs, "/b", 0755));
	CHECK_OK(fs_create(fs, "/a/f", 0644, &f));
	CHECK_OK(fs_create(fs, victim, 0644, &v));
	for (n = 0; ret == 0 && n < 100; n++) {
		long_name(p, "/b", n);
		ret = fs_link(fs, "/a/f", p);
	}
	CHECK_EQ(ret, -EMLINK);
	CHECK(n > 2);			/* n - 1 links went in */
	CHECK(!fs_is_read_only(fs));
	long_name(p, "/b", 1000);
	CHECK_EQ(fs_rename(fs, "/a/f", p), -EMLINK);
	CHECK_EQ(fs_rename(fs, "/a/f", victim), -EMLINK);
	CHECK(!fs_is_read_only(fs));
	CHECK_OK(fs_lookup(fs, "/a/f", 0, &f));
	CHECK_OK(fs_lookup(fs, victim, 0, &v));
	/* Within /b the old name leaves the item first: room again. */
	long_name(q, "/b", 0);
	CHECK_OK(fs_rename(fs, q, p));
	long_name(q, "/b", 1);
	CHECK_OK(fs_rename(fs, q, victim));
	CHECK_EQ(fs_lookup(fs, q, 0, &v), -ENOENT);
	still_healthy(d, fs);
}

TEST(fs_write, full_inode_ref_refuses_cleanly)
{
	/* 4 KiB nodes: nine 200-byte names fill an INODE_REF item. */
	struct fault_dev *d = fresh(40ull << 20, 4096);

	CHECK(d != NULL);
	CHECK_OK(no_extended_iref(d, 40ull << 20));
	ref_full(d);
	fault_dev_free(d);
}

/* Path /d/ + the k-th (0..7) of eight 255-byte names with one hash. */
static void hash_name(char *p, const char *a, const char *b, int k)
{
	snprintf(p, 300, "/d/%s%s%s%0231d", k & 1 ? b : a, k & 2 ? b : a,
		 k & 4 ? b : a, 0);
}

/*
 * Names of one hash share a DIR_ITEM item; six 255-byte ones fill it at
 * 4 KiB nodes. Every way of adding a seventh must be refused before
 * anything changed.
 */
static void dir_item_full(struct fault_dev *d, const char *a, const char *b)
{
	struct fs_info *fs;
	struct fs_ino ino;
	char p[8][300];
	int k;

	for (k = 0; k < 8; k++)
		hash_name(p[k], a, b, k);
	CHECK_EQ(crc32c(~1u, p[7] + 3, 255), crc32c(~1u, p[0] + 3, 255));
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	CHECK_OK(fs_mkdir(fs, "/d", 0755));
	CHECK_OK(fs_create(fs, "/other", 0644, &ino));
	for (k = 0; k < 6; k++)
		CHECK_OK(fs_create(fs, p[k], 0644, &ino));
	CHECK_EQ(fs_create(fs, p[6], 0644, &ino), -EOVERFLOW);
	CHECK_EQ(fs_mkdir(fs, p[6], 0755), -EOVERFLOW);
	CHECK_EQ(fs_symlink(fs, "/other", p[6]), -EOVERFLOW);
	CHECK_EQ(fs_link(fs, "/other", p[6]), -EOVERFLOW);
	CHECK_EQ(fs_rename(fs, "/other", p[6]), -EOVERFLOW);
	CHECK(!fs_is_read_only(fs));
	CHECK_EQ(fs_lookup(fs, p[6], 0, &ino), -ENOENT);
	/* A rename that takes a name out of the item first fits. */
	CHECK_OK(fs_rename(fs, p[0], p[6]));
	CHECK_OK(fs_rename(fs, "/other", p[1]));
	still_healthy(d, fs);
}

TEST(fs_write, full_dir_item_refuses_cleanly)
{
	struct fault_dev *d = fresh(40ull << 20, 4096);
	char a[9], b[9];

	CHECK(d != NULL);
	if (crc_pair(a, b))
		dir_item_full(d, a, b);
	else
		test_fail(__FILE__, __LINE__, "no crc32c collision found");
	fault_dev_free(d);
}

/*
 * Limits checked before anything changes: names up to 255 bytes, paths
 * under 4096, symlink targets up to 2048 (an inline extent in a leaf).
 */
static void long_names(struct fault_dev *d)
{
	static char name[300], path[4200], target[2100];
	struct fs_info *fs;
	struct fs_ino ino;

	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	snprintf(name, sizeof(name), "/%0255d", 0);
	CHECK_OK(fs_create(fs, name, 0644, &ino));
	snprintf(name, sizeof(name), "/%0256d", 0);
	CHECK_EQ(fs_create(fs, name, 0644, &ino), -ENAMETOOLONG);
	CHECK_EQ(fs_mkdir(fs, name, 0755), -ENAMETOOLONG);
	CHECK_EQ(fs_symlink(fs, "x", name), -ENAMETOOLONG);
	snprintf(path, sizeof(path), "/%0255d", 0);
	CHECK_EQ(fs_link(fs, path, name), -ENAMETOOLONG);
	CHECK_EQ(fs_rename(fs, path, name), -ENAMETOOLONG);
	memset(path, 'p', 4096);
	path[0] = '/';
	path[4096] = 0;
	CHECK_EQ(fs_create(fs, path, 0644, &ino), -ENAMETOOLONG);
	memset(target, 't', 2049);
	target[2049] = 0;
	CHECK_EQ(fs_symlink(fs, target, "/s"), -ENAMETOOLONG);
	target[2048] = 0;
	CHECK_OK(fs_symlink(fs, target, "/s"));
	still_healthy(d, fs);
}

TEST(fs_write, long_names_refused_cleanly)
{
	struct fault_dev *d = fresh(40ull << 20, 4096);

	CHECK(d != NULL);
	long_names(d);
	fault_dev_free(d);
}

/* The last committed generation of fs. */
static u64 committed(struct fs_info *fs)
{
	u64 gen;

	down_read(&fs->commit_root_sem);
	gen = fs->generation;
	up_read(&fs->commit_root_sem);
	return gen;
}

/* 4 KiB of a pattern of seed i. */
static void pattern4k(u8 *buf, int i)
{
	int k;

	for (k = 0; k < 4096; k++)
		buf[k] = (u8)(i * 131 + k * 7 + (k >> 9));
}

TEST(fs_write, small_data_waits_in_memory_for_the_commit)
{
	struct fault_dev *d = fresh(128ull << 20, 0);
	u8 buf[4096], back[4096];
	struct fs_info *fs;
	struct fs_ino ino;
	char p[32];
	size_t done;
	int i, seen = 0;

	CHECK(d != NULL);
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	CHECK_OK(fs_sync(fs));
	/* The periodic commit may come between: then try the next file. */
	for (i = 0; i < 20 && !seen; i++) {
		u64 gen = committed(fs), writes = fault_dev_writes(d);

		snprintf(p, sizeof(p), "/f%d", i);
		pattern4k(buf, i);
		CHECK_OK(fs_create(fs, p, 0644, &ino));
		CHECK_OK(fs_write(fs, ino, 0, buf, sizeof(buf)));
		if (committed(fs) != gen)
			continue;
		CHECK_EQ(fault_dev_writes(d), writes);	/* nothing went out */
		CHECK_OK(fs_read(fs, ino, 0, back, sizeof(back), &done));
		CHECK_EQ(done, sizeof(back));
		CHECK(!memcmp(buf, back, sizeof(buf)));
		seen = 1;
	}
	CHECK(seen);
	CHECK_OK(fs_sync(fs));
	fs_umount(fs);
	CHECK_OK(fs_mount(fault_dev_blk(d), FS_MOUNT_RO, &fs));
	CHECK_OK(fs_lookup(fs, p, 0, &ino));
	CHECK_OK(fs_read(fs, ino, 0, back, sizeof(back), &done));
	fs_umount(fs);
	CHECK(!memcmp(buf, back, sizeof(buf)));
	if (fsck_clean(d))
		test_fail(__FILE__, __LINE__, "fsck found errors");
	else
		test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(d));
	fault_dev_free(d);
}

/* 12 MiB of 4 KiB files with no sync: what writeback holds stays within
 * its 8 MiB (plus the write being added); every file reads back. */
TEST(fs_write, held_data_stays_within_its_bound)
{
	struct fault_dev *d = fresh(256ull << 20, 0);
	u8 buf[4096], back[4096];
	struct fs_info *fs;
	struct fs_ino ino;
	u64 most = 0;
	char p[32];
	size_t done;
	int i;

	CHECK(d != NULL);
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	CHECK_OK(fs_mkdir(fs, "/d", 0755));
	for (i = 0; i < 3072; i++) {
		u64 now;

		snprintf(p, sizeof(p), "/d/f%d", i);
		pattern4k(buf, i);
		CHECK_OK(fs_create(fs, p, 0644, &ino));
		CHECK_OK(fs_write(fs, ino, 0, buf, sizeof(buf)));
		now = __atomic_load_n(&fs->wb.bytes, __ATOMIC_ACQUIRE);
		most = now > most ? now : most;
	}
	CHECK(most > 0);
	CHECK(most <= (8u << 20) + 4096);
	for (i = 0; i < 3072; i += 97) {
		snprintf(p, sizeof(p), "/d/f%d", i);
		pattern4k(buf, i);
		CHECK_OK(fs_lookup(fs, p, 0, &ino));
		CHECK_OK(fs_read(fs, ino, 0, back, sizeof(back), &done));
		CHECK(!memcmp(buf, back, sizeof(buf)));
	}
	CHECK_OK(fs_sync(fs));
	fs_umount(fs);
	if (fsck_clean(d))
		test_fail(__FILE__, __LINE__, "fsck found errors");
	else
		test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(d));
	fault_dev_free(d);
}

/* Mount d read-write with no periodic commit: a test's held writes stay
 * held until its sync, however slow the machine. */
static struct fs_info *mount_no_committer(struct fault_dev *d)
{
	struct fs_info *fs;

	if (fs_mount(fault_dev_blk(d), 0, &fs))
		return NULL;
	trans_stop_committer(fs);
	return fs;
}

/* Write 64 KiB of pattern seed to new file path of fs, the data held
 * (not yet on the disk); return its device offset (0: not found). */
static u64 held_file(struct fs_info *fs, const char *path, int seed)
{
	static u8 buf[65536];
	struct fs_ino ino;
	int k;

	for (k = 0; k < 16; k++)
		pattern4k(buf + k * 4096, seed + k);
	if (fs_create(fs, path, 0644, &ino) ||
	    fs_write(fs, ino, 0, buf, sizeof(buf)))
		return 0;
	return phys(fs, first_extent(fs, path), 0);
}

/* Whether path of fs holds held_file's 64 KiB of seed. */
static int holds(struct fs_info *fs, const char *path, int seed)
{
	static u8 back[65536];
	u8 want[4096];
	struct fs_ino ino;
	size_t done;
	int k;

	if (fs_lookup(fs, path, 0, &ino) ||
	    fs_read(fs, ino, 0, back, sizeof(back), &done) ||
	    done != sizeof(back))
		return 0;
	for (k = 0; k < 16; k++) {
		pattern4k(want, seed + k);
		if (memcmp(want, back + k * 4096, 4096))
			return 0;
	}
	return 1;
}

TEST(fs_write, data_write_error_reported_once_by_sync)
{
	struct fault_dev *d = fresh(128ull << 20, 0);
	struct fs_info *fs;
	struct fs_ino ino;
	u64 at, errs;

	CHECK(d != NULL);
	CHECK((fs = mount_no_committer(d)) != NULL);
	at = held_file(fs, "/f", 1);
	CHECK(at != 0);
	errs = fault_dev_errors(d);
	fault_dev_fail_range(d, FAULT_IO_WRITE, at, 4096, 0);
	host_console_capture(1);
	CHECK_EQ(fs_sync(fs), -EIO);	/* the write's error, once */
	CHECK(strstr(host_console_output(), "written again") != NULL);
	host_console_capture(0);
	CHECK_EQ(fault_dev_errors(d), errs + 1);
	CHECK(!fs_is_read_only(fs));
	CHECK(holds(fs, "/f", 1));
	CHECK_OK(fs_create(fs, "/g", 0644, &ino));
	CHECK_OK(fs_sync(fs));		/* reported once only */
	fs_umount(fs);
	CHECK_OK(fs_mount(fault_dev_blk(d), FS_MOUNT_RO, &fs));
	CHECK(holds(fs, "/f", 1));
	fs_umount(fs);
	if (fsck_clean(d))
		test_fail(__FILE__, __LINE__, "fsck found errors");
	else
		test_btrfs_check(__FILE__, __LINE__,
				 fault_dev_btrfs_check_data(d));
	fault_dev_free(d);
}

TEST(fs_write, data_write_failing_for_good_aborts_the_commit)
{
	struct fault_dev *d = fresh(128ull << 20, 0);
	struct fs_info *fs;
	struct fs_ino ino;
	u64 at;

	CHECK(d != NULL);
	CHECK((fs = mount_no_committer(d)) != NULL);
	CHECK(held_file(fs, "/f", 1) != 0);
	CHECK_OK(fs_sync(fs));
	at = held_file(fs, "/g", 2);
	CHECK(at != 0);
	fault_dev_fail_range(d, FAULT_IO_WRITE, at, 4096, 1);
	host_console_capture(1);
	CHECK_EQ(fs_sync(fs), -EIO);
	CHECK(strstr(host_console_output(), "read-only") != NULL);
	host_console_capture(0);
	CHECK(fs_is_read_only(fs));
	fs_umount(fs);
	fault_dev_clear_errors(d);
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	CHECK(holds(fs, "/f", 1));
	CHECK_EQ(fs_lookup(fs, "/g", 0, &ino), -ENOENT);
	fs_umount(fs);
	if (fsck_clean(d))
		test_fail(__FILE__, __LINE__, "fsck found errors");
	else
		test_btrfs_check(__FILE__, __LINE__,
				 fault_dev_btrfs_check_data(d));
	fault_dev_free(d);
}
