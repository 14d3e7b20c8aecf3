/*
 * Every kind of inode a send stream can carry, and owners, through the
 * public API (fs_mknod, fs_chown), each image judged by ghee's fsck and,
 * when btrfs-progs is installed, `btrfs check`:
 *  - character and block devices keep their numbers, FIFOs and sockets
 *    none; readdir reports each kind's type; a data write to one is
 *    refused; they unlink like files; all survive a remount;
 *  - chown sets uid and gid ((uint32_t)-1 keeps one) and, as Linux does,
 *    takes set-user-ID (and group-executable set-group-ID) from a
 *    non-directory;
 *  - bad kinds and device numbers are refused (-EINVAL), taken names
 *    too (-EEXIST), with nothing changed.
 */
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "shim/fault_dev.h"
#include "test.h"

#define S_IFCHR_ 0020000
#define S_IFBLK_ 0060000
#define S_IFIFO_ 0010000
#define S_IFSOCK_ 0140000
#define S_IFREG_ 0100000

static struct fault_dev *fresh(void)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	struct fault_dev *d = fault_dev_new(128ull << 20);

	if (d && fs_mkfs(fault_dev_blk(d), &o)) {
		fault_dev_free(d);
		return NULL;
	}
	return d;
}

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

/* The kinds made, their names, modes, numbers and readdir types. */
static const struct kind {
	const char *path;
	uint32_t mode;
	uint64_t rdev;
	unsigned type;
} kinds[] = {
	{ "/chr", S_IFCHR_ | 0620, FS_MKDEV(1, 3), FS_FT_CHRDEV },
	{ "/blk", S_IFBLK_ | 0660, FS_MKDEV(4095, 0xfffff), FS_FT_BLKDEV },
	{ "/fifo", S_IFIFO_ | 0644, 0, FS_FT_FIFO },
	{ "/sock", S_IFSOCK_ | 0755, 0, FS_FT_SOCK },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

struct seen {
	unsigned types[NKINDS];
};

static int note_type(void *ctx, const char *name, size_t len,
		     struct fs_ino ino, unsigned type)
{
	struct seen *s = ctx;
	size_t i;

	(void)ino;
	for (i = 0; i < NKINDS; i++)
		if (strlen(kinds[i].path + 1) == len &&
		    !memcmp(kinds[i].path + 1, name, len))
			s->types[i] = type;
	return 0;
}

/* Each kind has its mode, number and readdir type. */
static int kinds_there(struct fs_info *fs)
{
	struct seen s = { { 0 } };
	struct fs_ino root, ino;
	struct fs_stat st;
	size_t i;
	int ret = fs_lookup(fs, "/", 0, &root);

	if (ret == 0)
		ret = fs_readdir(fs, root, note_type, &s);
	for (i = 0; ret == 0 && i < NKINDS; i++) {
		ret = fs_lookup(fs, kinds[i].path, 0, &ino);
		if (ret == 0)
			ret = fs_stat(fs, ino, &st);
		if (ret == 0 && (st.mode != kinds[i].mode ||
				 st.rdev != kinds[i].rdev || st.size ||
				 st.nbytes || s.types[i] != kinds[i].type))
			ret = 1;
	}
	return ret;
}

static void make_kinds(struct fs_info *fs)
{
	struct fs_ino ino;
	size_t i;

	for (i = 0; i < NKINDS; i++)
		CHECK_OK(fs_mknod(fs, kinds[i].path, kinds[i].mode,
				  kinds[i].rdev, &ino));
	CHECK_EQ(fs_mknod(fs, "/chr", S_IFCHR_ | 0644, 0, NULL), -EEXIST);
	CHECK_EQ(fs_mknod(fs, "/reg", S_IFREG_ | 0644, 0, NULL), -EINVAL);
	CHECK_EQ(fs_mknod(fs, "/big", S_IFCHR_ | 0644, 1ull << 32, NULL),
		 -EINVAL);
	CHECK_EQ(fs_lookup(fs, "/reg", 0, &ino), -ENOENT);
	CHECK_OK(fs_lookup(fs, "/fifo", 0, &ino));
	CHECK_EQ(fs_write(fs, ino, 0, "x", 1), -EINVAL);
	CHECK_OK(fs_mknod(fs, "/gone", S_IFIFO_ | 0644, 0, NULL));
	CHECK_OK(fs_unlink(fs, "/gone"));
	CHECK_OK(kinds_there(fs));
}

TEST(inode_kinds, devices_fifos_sockets)
{
	struct fault_dev *d = fresh();
	struct fs_info *fs;

	CHECK(d != NULL);
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	make_kinds(fs);
	fs_umount(fs);
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	CHECK_OK(kinds_there(fs));
	fs_umount(fs);
	CHECK_OK(both_clean(d));
	fault_dev_free(d);
}

/* Stat path into st. */
static int stat_path(struct fs_info *fs, const char *path,
		     struct fs_stat *st)
{
	struct fs_ino ino;
	int ret = fs_lookup(fs, path, 0, &ino);

	return ret ? ret : fs_stat(fs, ino, st);
}

static void owners(struct fs_info *fs)
{
	struct fs_ino f, g, d;
	struct fs_stat st;

	CHECK_OK(fs_create(fs, "/f", 04755, &f));
	CHECK_OK(fs_create(fs, "/g", 02745, &g));
	CHECK_OK(fs_mkdir(fs, "/d", 06755));
	CHECK_OK(fs_lookup(fs, "/d", 0, &d));
	CHECK_OK(fs_chown(fs, f, 1000, 100));
	CHECK_OK(fs_chown(fs, g, (uint32_t)-1, 7));
	CHECK_OK(fs_chown(fs, d, 5, (uint32_t)-1));
	CHECK_OK(fs_symlink(fs, "/f", "/l"));
	CHECK_OK(fs_lookup(fs, "/l", 0, &f));
	CHECK_OK(fs_chown(fs, f, 9, 9));
	CHECK_OK(stat_path(fs, "/f", &st));
	CHECK_EQ(st.uid, 1000);
	CHECK_EQ(st.gid, 100);
	CHECK_EQ(st.mode & 07777, 0755);	/* set-user-ID gone */
	CHECK_OK(stat_path(fs, "/g", &st));
	CHECK_EQ(st.uid, 0);
	CHECK_EQ(st.gid, 7);
	CHECK_EQ(st.mode & 07777, 02745);	/* not group-executable */
	CHECK_OK(stat_path(fs, "/d", &st));
	CHECK_EQ(st.uid, 5);
	CHECK_EQ(st.gid, 0);
	CHECK_EQ(st.mode & 07777, 06755);	/* directories keep both */
	CHECK_OK(stat_path(fs, "/l", &st));
	CHECK_EQ(st.uid, 9);
}

TEST(inode_kinds, chown_sets_owner_and_drops_setuid)
{
	struct fault_dev *d = fresh();
	struct fs_info *fs;

	CHECK(d != NULL);
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	owners(fs);
	fs_umount(fs);
	CHECK_OK(both_clean(d));
	fault_dev_free(d);
}
