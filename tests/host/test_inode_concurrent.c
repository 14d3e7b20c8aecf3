/*
 * Extended attributes and reflinks under concurrency (run under ASan and
 * ThreadSanitizer): at once, a task sets and removes attributes of one
 * file while another reads them (a value read is always one that was
 * written, whole: a change holds the inode's lock); a task clones ranges
 * of a file into its own copies and checks every byte, while another
 * writes a file the clones do not touch and a third commits every few
 * milliseconds. Then fsck and, when installed, `btrfs check`.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/internal.h"
#include "shim/fault_dev.h"
#include "test.h"

#define ROUNDS 150
#define VLEN 300

struct shared {
	struct fs_info *fs;
	struct fs_ino x, src, w;
	atomic_int stop;	/* the changing tasks are done */
	atomic_int err;		/* first failure: its line */
};

static void fail_at(struct shared *s, int line)
{
	int zero = 0;

	atomic_compare_exchange_strong(&s->err, &zero, line);
}

/* Value number i: VLEN bytes of (i & 0xff). */
static void value(char *v, int i)
{
	memset(v, i & 0xff, VLEN);
}

static void *xattr_writer(void *arg)
{
	struct shared *s = arg;
	char v[VLEN];
	int i;

	for (i = 0; i < ROUNDS && !s->err; i++) {
		value(v, i);
		if (fs_setxattr(s->fs, s->x, "user.v", v, VLEN, 0))
			fail_at(s, __LINE__);
		if (i % 5 == 4 && fs_removexattr(s->fs, s->x, "user.v"))
			fail_at(s, __LINE__);
	}
	return NULL;
}

static void *xattr_reader(void *arg)
{
	struct shared *s = arg;
	char v[VLEN], list[64];
	size_t n, j;
	int ret;

	while (!s->stop && !s->err) {
		ret = fs_getxattr(s->fs, s->x, "user.v", v, VLEN, &n);
		if (ret == -ENODATA)
			continue;
		if (ret || n != VLEN)
			fail_at(s, __LINE__);
		for (j = 1; j < n; j++)
			if (v[j] != v[0])
				fail_at(s, __LINE__);	/* a torn value */
		if (fs_listxattr(s->fs, s->x, list, sizeof(list), &n))
			fail_at(s, __LINE__);
	}
	return NULL;
}

static void *cloner(void *arg)
{
	static char buf[65536];
	struct shared *s = arg;
	struct fs_ino d;
	size_t n, j;
	int i;

	if (fs_create(s->fs, "/clones", 0644, &d))
		fail_at(s, __LINE__);
	for (i = 0; i < ROUNDS / 3 && !s->err; i++) {
		uint64_t off = (uint64_t)(i % 16) * 65536;

		if (fs_clone_range(s->fs, s->src, off, 65536, d, off) ||
		    fs_read(s->fs, d, off, buf, sizeof(buf), &n) ||
		    n != sizeof(buf))
			fail_at(s, __LINE__);
		for (j = 0; j < n; j++)
			if (buf[j] != (char)(off >> 16))
				fail_at(s, __LINE__);
	}
	return NULL;
}

static void *writer(void *arg)
{
	struct shared *s = arg;
	char buf[8192];
	int i;

	memset(buf, 'w', sizeof(buf));
	for (i = 0; i < ROUNDS && !s->err; i++)
		if (fs_write(s->fs, s->w, (uint64_t)(i % 37) * 4096, buf,
			     sizeof(buf)))
			fail_at(s, __LINE__);
	return NULL;
}

static void *syncer(void *arg)
{
	struct shared *s = arg;

	while (!s->stop && !s->err) {
		if (fs_sync(s->fs))
			fail_at(s, __LINE__);
		usleep(3000);
	}
	return NULL;
}

/* A source of 16 blocks of 64 KiB, block k all bytes k. */
static int make_files(struct shared *s)
{
	static char block[65536];
	int k, ret = fs_create(s->fs, "/x", 0644, &s->x);

	if (ret == 0)
		ret = fs_create(s->fs, "/src", 0644, &s->src);
	if (ret == 0)
		ret = fs_create(s->fs, "/w", 0644, &s->w);
	for (k = 0; ret == 0 && k < 16; k++) {
		memset(block, k, sizeof(block));
		ret = fs_write(s->fs, s->src, (uint64_t)k * 65536, block,
			       sizeof(block));
	}
	return ret;
}

TEST(inode_concurrent, xattrs_and_clones_race_cleanly)
{
	void *(*fns[])(void *) = { xattr_writer, cloner, writer, xattr_reader,
				   syncer };
	struct fs_mkfs_opts o = { NULL, 4096, 0, NULL };
	struct fault_dev *d = fault_dev_new(128ull << 20);
	pthread_t th[5];
	struct fs_check_report rep;
	static struct shared s;
	int i;

	CHECK(d != NULL);
	CHECK_OK(fs_mkfs(fault_dev_blk(d), &o));
	memset(&s, 0, sizeof(s));
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &s.fs));
	CHECK_OK(make_files(&s));
	for (i = 0; i < 5; i++)
		CHECK_OK(pthread_create(&th[i], NULL, fns[i], &s));
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	s.stop = 1;
	for (i = 3; i < 5; i++)
		pthread_join(th[i], NULL);
	fs_umount(s.fs);
	CHECK_EQ(s.err, 0);
	CHECK_OK(fs_mount(fault_dev_blk(d), FS_MOUNT_RO, &s.fs));
	CHECK_OK(fs_check(s.fs, &rep));
	fs_umount(s.fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(d));
	fault_dev_free(d);
}

/* Files made one after another get consecutive inode numbers: they must
 * not share a lock, or a writer of one waits for a writer of the next. */
TEST(inode_concurrent, consecutive_inodes_spread_over_locks)
{
	struct fs_mkfs_opts o = { NULL, 4096, 0, NULL };
	struct fault_dev *d = fault_dev_new(64 << 20);
	struct fs_info *fs = NULL;
	uint64_t i, shared = 0;

	CHECK(d);
	CHECK_OK(fs_mkfs(fault_dev_blk(d), &o));
	CHECK_OK(fs_mount(fault_dev_blk(d), FS_MOUNT_RO, &fs));
	for (i = 256; i < 256 + 64; i++) {
		struct fs_ino a = { 5, i }, b = { 5, i + 1 };

		shared += inode_lock(fs, a) == inode_lock(fs, b);
	}
	CHECK_EQ(shared, 0);
	fs_umount(fs);
	fault_dev_free(d);
}
