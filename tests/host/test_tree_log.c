/*
 * Tree-log replay under power cuts. The image is one the Linux kernel
 * left with an unreplayed tree-log (tests/interop/tree_log.sh makes them
 * and runs this suite with GHEE_TREE_LOG_IMAGES naming them, separated by
 * spaces); without it the case is skipped. ghee cannot write a tree-log
 * itself, so no image is made here.
 *
 * For each image: an uncut read-write mount replays the log; its tree
 * (paths, types, sizes, link counts, content hashes) is the expected
 * state. Then the replay is cut at each of its writes (FAULT_CUT, and
 * FAULT_REORDER with a seed): the survivor must mount read-write, so
 * replaying again when the replay commit did not land, and hold exactly
 * the expected state; a sample of survivors goes through btrfs check.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fs/fs.h"
#include "shim/fault_dev.h"
#include "test.h"

#define LISTING_MAX (64u << 10)
#define CHECK_EVERY 8		/* btrfs check one survivor in this many */

/* A tree listing being built. */
struct listing {
	struct fs_info *fs;
	char *buf;
	size_t len;
	int err;
	char path[512];
};

static void add_line(struct listing *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_line(struct listing *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, LISTING_MAX - l->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= LISTING_MAX - l->len)
		l->err = -ENOSPC;
	else
		l->len += (size_t)n;
}

/* FNV-1a of a file's bytes. */
static int file_hash(struct fs_info *fs, struct fs_ino ino, uint64_t size,
		     uint64_t *out)
{
	static char buf[65536];
	uint64_t h = 1469598103934665603ull, off = 0;
	size_t done, i;
	int ret;

	while (off < size) {
		ret = fs_read(fs, ino, off, buf, sizeof(buf), &done);
		if (ret)
			return ret;
		if (done == 0)
			return -EIO;
		for (i = 0; i < done; i++)
			h = (h ^ (uint8_t)buf[i]) * 1099511628211ull;
		off += done;
	}
	*out = h;
	return 0;
}

static int list_dir(struct listing *l, struct fs_ino dir);

static int list_entry(void *ctx, const char *name, size_t name_len,
		      struct fs_ino ino, unsigned type)
{
	struct listing *l = ctx;
	size_t at = strlen(l->path);
	struct fs_stat st;
	uint64_t h = 0;
	int ret;

	(void)type;
	if ((name_len == 1 && name[0] == '.') ||
	    (name_len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	if (at + 1 + name_len >= sizeof(l->path))
		return -ENAMETOOLONG;
	snprintf(l->path + at, sizeof(l->path) - at, "/%.*s", (int)name_len,
		 name);
	ret = fs_stat(l->fs, ino, &st);
	if (ret == 0 && (st.mode & 0170000) == 0100000)
		ret = file_hash(l->fs, ino, st.size, &h);
	if (ret == 0)
		add_line(l, "%s %o %u %llu %016llx\n", l->path, st.mode,
			 (st.mode & 0170000) == 0040000 ? 0 : st.nlink,
			 (unsigned long long)st.size, (unsigned long long)h);
	if (ret == 0 && (st.mode & 0170000) == 0040000)
		ret = list_dir(l, ino);
	l->path[at] = 0;
	return ret;
}

static int list_dir(struct listing *l, struct fs_ino dir)
{
	return fs_readdir(l->fs, dir, list_entry, l);
}

/* Mount dev read-write (replaying), list its tree into *out, unmount. */
static int mount_and_list(struct blkdev *dev, char **out)
{
	struct listing l;
	struct fs_ino top;
	int ret;

	memset(&l, 0, sizeof(l));
	l.buf = malloc(LISTING_MAX);
	if (!l.buf)
		return -ENOMEM;
	l.buf[0] = 0;
	ret = fs_mount(dev, 0, &l.fs);
	if (ret == 0 && fs_is_read_only(l.fs))
		ret = -EROFS;
	if (ret == 0)
		ret = fs_lookup(l.fs, "/", 0, &top);
	if (ret == 0)
		ret = list_dir(&l, top);
	if (l.fs)
		fs_umount(l.fs);
	ret = ret ? ret : l.err;
	if (ret)
		free(l.buf);
	else
		*out = l.buf;
	return ret;
}

/* A fault device holding the image file path. */
static struct fault_dev *load_image(const char *path)
{
	static char buf[1 << 20];
	struct fault_dev *f = NULL;
	FILE *in = fopen(path, "rb");
	uint64_t off = 0;
	size_t n, i;
	long size;

	if (!in || fseek(in, 0, SEEK_END) || (size = ftell(in)) <= 0 ||
	    fseek(in, 0, SEEK_SET))
		goto out;
	if (size % 4096)
		goto out;
	f = fault_dev_new((uint64_t)size);
	while (f && (n = fread(buf, 1, sizeof(buf), in)) > 0) {
		for (i = 0; i < n && !buf[i]; i++)
			;	/* zero chunks stay holes */
		if (n % 4096 ||
		    (i < n && blk_write(fault_dev_blk(f), off, buf, n))) {
			fault_dev_free(f);
			f = NULL;
		}
		off += n;
	}
out:
	if (in)
		fclose(in);
	return f;
}

/* Cut the replay of image t at write n (mode): the survivor must hold
 * want. Returns 0, or -1 having failed the case. */
static int cut_once(struct fault_dev *t, uint64_t n, enum fault_mode mode,
		    const char *want, int btrfs_check)
{
	struct fault_dev *f = fault_dev_clone(t), *c;
	struct fs_info *fs = NULL;
	char *got = NULL;
	int ret, bad = 0;

	if (!f) {
		test_fail(__FILE__, __LINE__, "out of memory");
		return -1;
	}
	fault_dev_arm(f, n, mode, test_seed() + n);
	if (fs_mount(fault_dev_blk(f), 0, &fs) == 0)
		fs_umount(fs);
	if (!fault_dev_is_cut(f)) {
		fault_dev_free(f);
		test_fail(__FILE__, __LINE__, "cut at write %llu never came",
			  (unsigned long long)n);
		return -1;
	}
	c = fault_dev_crash_image(f);
	fault_dev_free(f);
	if (!c) {
		test_fail(__FILE__, __LINE__, "out of memory");
		return -1;
	}
	ret = mount_and_list(fault_dev_blk(c), &got);
	if (ret) {
		test_fail(__FILE__, __LINE__, "cut at write %llu: remount: %d",
			  (unsigned long long)n, ret);
		bad = 1;
	} else if (strcmp(got, want)) {
		test_fail(__FILE__, __LINE__, "cut at write %llu: the tree "
			  "differs:\n%s--- want:\n%s", (unsigned long long)n,
			  got, want);
		bad = 1;
	} else if (btrfs_check &&
		   test_btrfs_check(__FILE__, __LINE__,
				    fault_dev_btrfs_check(c))) {
		bad = 1;
	}
	free(got);
	fault_dev_free(c);
	return bad ? -1 : 0;
}

/* Every cut of the replay of one image. */
static void replay_cuts(const char *path)
{
	struct fault_dev *t = load_image(path), *f;
	char *want = NULL;
	uint64_t writes, n;

	if (!t) {
		test_fail(__FILE__, __LINE__, "cannot load %s", path);
		return;
	}
	f = fault_dev_clone(t);
	CHECK(f != NULL);
	fault_dev_arm(f, 0, FAULT_CUT, 0);
	CHECK_OK(mount_and_list(fault_dev_blk(f), &want));
	writes = fault_dev_writes(f);
	CHECK_EQ(test_btrfs_check(__FILE__, __LINE__,
				  fault_dev_btrfs_check(f)), 0);
	fault_dev_free(f);
	printf("# %s: replay and umount take %llu writes\n", path,
	       (unsigned long long)writes);
	for (n = 1; n < writes; n++) {
		if (cut_once(t, n, FAULT_CUT, want, n % CHECK_EVERY == 1) ||
		    cut_once(t, n, FAULT_REORDER, want, 0))
			break;
	}
	free(want);
	fault_dev_free(t);
}

TEST(tree_log, replay_survives_power_cuts)
{
	const char *env = getenv("GHEE_TREE_LOG_IMAGES");
	char *list, *path, *save = NULL;

	if (!env || !*env) {
		test_skip("needs GHEE_TREE_LOG_IMAGES, Linux-made images with a "
			  "tree-log (tests/interop/tree_log.sh sets it)");
		return;
	}
	list = strdup(env);
	CHECK(list != NULL);
	for (path = strtok_r(list, " ", &save); path;
	     path = strtok_r(NULL, " ", &save))
		replay_cuts(path);
	free(list);
}
