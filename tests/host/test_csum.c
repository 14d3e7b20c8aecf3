/*
 * btrfs's checksum types (fs/csum_type.c): each algorithm against known
 * vectors, then a filesystem of each type, made by ghee's mkfs and by
 * mkfs.btrfs, written, remounted and read back, judged by fsck and
 * `btrfs check`, and damaged in its superblock, a data block and a tree
 * block to see each caught under that type.
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ghee/log.h>

#include "../../fs/csum_type.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/subvol.h"
#include "../../fs/volumes.h"
#include "shim/fault_dev.h"
#include "test.h"

#define DEV_BYTES (128ull << 20)	/* mkfs.btrfs needs 109 MiB */
#define FILE_BYTES (200u << 10)
#define MARK "ghee-csum-test-data"

static const struct {
	const char *name;	/* as mkfs --csum takes it */
	u16 type;
	const char *abc;	/* checksum of "abc", hex in stored order */
} types[] = {
	{ "crc32c", BTRFS_CSUM_TYPE_CRC32, "b73f4b36" },
	{ "xxhash", BTRFS_CSUM_TYPE_XXHASH, "990977adf52cbc44" },
	{ "sha256", BTRFS_CSUM_TYPE_SHA256,
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "blake2", BTRFS_CSUM_TYPE_BLAKE2,
	  "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319" },
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

TEST(csum, known_vectors)
{
	char hex[2 * BTRFS_CSUM_SIZE + 1];
	u8 out[BTRFS_CSUM_SIZE];
	size_t i;
	u16 t;

	for (i = 0; i < NTYPES; i++) {
		csum_compute(types[i].type, "abc", 3, out);
		csum_hex(out, csum_type_size(types[i].type), hex);
		CHECK_STR(hex, types[i].abc);
		CHECK_OK(csum_type_parse(types[i].name, &t));
		CHECK_EQ(t, types[i].type);
	}
	/* The rest of the 32-byte slot is zero. */
	csum_compute(BTRFS_CSUM_TYPE_XXHASH, "abc", 3, out);
	CHECK_EQ(out[8] | out[31], 0);
	CHECK_OK(csum_type_parse("XXHASH64", &t));
	CHECK_EQ(t, BTRFS_CSUM_TYPE_XXHASH);
	CHECK_OK(csum_type_parse("blake2b", &t));
	CHECK_EQ(t, BTRFS_CSUM_TYPE_BLAKE2);
	CHECK_EQ(csum_type_parse("md5", &t), -EINVAL);
	CHECK_EQ(csum_type_size(4), 0);
}

/* The file data every case writes: MARK, then a pattern. */
static void fill(u8 *buf)
{
	u32 i;

	for (i = 0; i < FILE_BYTES; i++)
		buf[i] = (u8)(i * 7 + i / 4096);
	memcpy(buf, MARK, sizeof(MARK));
}

/* Physical offset of the sector starting with MARK; 0 if none. */
static u64 find_mark(struct blkdev *dev)
{
	char sec[4096];
	u64 off;

	for (off = 1 << 20; off < dev->size; off += sizeof(sec))
		if (!blk_read(dev, off, sec, sizeof(sec)) &&
		    !memcmp(sec, MARK, sizeof(MARK)))
			return off;
	return 0;
}

/* Flip a byte at off on the device (through its 4 KiB block). */
static void flip(struct blkdev *dev, u64 off)
{
	u8 blk[4096];
	u64 at = off & ~4095ull;

	CHECK_OK(blk_read(dev, at, blk, sizeof(blk)));
	blk[off - at] ^= 0x5a;
	CHECK_OK(blk_write(dev, at, blk, sizeof(blk)));
}

/* Write /f, remount, read it back, fsck: the type is the one asked. */
static void write_read_back(struct blkdev *dev, u16 type, const u8 *want)
{
	struct fs_check_report rep;
	struct fs_info *fs;
	struct fs_ino ino;
	u8 *got = malloc(FILE_BYTES);
	size_t n;

	CHECK_OK(fs_mount(dev, 0, &fs));
	CHECK_EQ(fs->csum_type, type);
	CHECK_OK(fs_create(fs, "/f", 0644, &ino));
	CHECK_OK(fs_write(fs, ino, 0, want, FILE_BYTES));
	CHECK_OK(fs_sync(fs));
	fs_umount(fs);
	CHECK_OK(fs_mount(dev, 0, &fs));
	CHECK_OK(fs_lookup(fs, "/f", 0, &ino));
	CHECK_OK(fs_read(fs, ino, 0, got, FILE_BYTES, &n));
	CHECK_EQ(n, FILE_BYTES);
	CHECK(!memcmp(got, want, FILE_BYTES));
	CHECK_OK(fs_check(fs, &rep));
	fs_umount(fs);
	free(got);
}

/* Damage the primary superblock, a data sector of /f and the fs tree's
 * root block (every copy): the backup superblock is used, the data read
 * fails with EIO, the tree block with EUCLEAN. */
static void corruption_found(struct blkdev *dev)
{
	const struct subvol_root *sv;
	const struct chunk_mapping *m;
	struct fs_info *fs;
	struct fs_ino ino;
	u64 data = find_mark(dev), root;
	u8 *buf = malloc(FILE_BYTES);
	size_t n;
	u32 i;
	int ret;

	CHECK(data != 0);
	log_set_level(LOG_ERR);
	flip(dev, BTRFS_SUPER_INFO_OFFSET + 0x200);
	flip(dev, data + 100);
	CHECK_OK(fs_mount(dev, FS_MOUNT_RO, &fs));
	CHECK_EQ(fs->super_mirror, 1);
	CHECK_OK(fs_lookup(fs, "/f", 0, &ino));
	CHECK_EQ(fs_read(fs, ino, 0, buf, FILE_BYTES, &n), -EIO);
	CHECK_OK(subvol_get(fs, BTRFS_FS_TREE_OBJECTID, &sv));
	root = sv->root.bytenr;
	m = volumes_lookup(fs, root, 1);
	CHECK(m != NULL);
	for (i = 0; m && i < m->num_stripes; i++)
		flip(dev, m->physical[i] + (root - m->logical) + 1000);
	fs_umount(fs);
	ret = fs_mount(dev, FS_MOUNT_RO, &fs);
	if (ret == 0) {
		ret = fs_lookup(fs, "/f", 0, &ino);
		fs_umount(fs);
	}
	CHECK_EQ(ret, -EUCLEAN);
	log_set_level(LOG_INFO);
	free(buf);
}

TEST(csum, ghee_mkfs_each_type)
{
	u8 *want = malloc(FILE_BYTES);
	size_t i;

	fill(want);
	for (i = 0; i < NTYPES; i++) {
		struct fs_mkfs_opts o = { NULL, 4096, 0, types[i].name };
		struct fault_dev *d = fault_dev_new(DEV_BYTES);

		CHECK(d != NULL);
		CHECK_OK(fs_mkfs(fault_dev_blk(d), &o));
		write_read_back(fault_dev_blk(d), types[i].type, want);
		if (test_btrfs_check(__FILE__, __LINE__,
				     fault_dev_btrfs_check(d)) == 0)
			corruption_found(fault_dev_blk(d));
		fault_dev_free(d);
	}
	free(want);
}

/* A fault device holding an image mkfs.btrfs made with --csum name; NULL
 * (the case skipped or failed) when it could not be made. */
static struct fault_dev *progs_image(const char *name)
{
	char path[] = "/tmp/ghee-test-csum-XXXXXX", cmd[256];
	struct fault_dev *d = NULL;
	u8 *buf = malloc(1 << 20);
	int fd = mkstemp(path);
	u64 off;

	if (system("command -v mkfs.btrfs >/dev/null 2>&1") != 0) {
		test_skip("mkfs.btrfs not installed");
		goto out;
	}
	snprintf(cmd, sizeof(cmd), "truncate -s %llu %s && mkfs.btrfs -q -f "
		 "--csum %s -n 4096 %s >/dev/null 2>&1",
		 (unsigned long long)DEV_BYTES, path, name, path);
	if (fd < 0 || system(cmd) != 0) {
		test_fail(__FILE__, __LINE__, "mkfs.btrfs --csum %s failed",
			  name);
		goto out;
	}
	d = fault_dev_new(DEV_BYTES);
	for (off = 0; d && off < DEV_BYTES; off += 1 << 20)
		if (pread(fd, buf, 1 << 20, (off_t)off) != 1 << 20 ||
		    blk_write(fault_dev_blk(d), off, buf, 1 << 20)) {
			test_fail(__FILE__, __LINE__, "loading %s failed",
				  path);
			fault_dev_free(d);
			d = NULL;
		}
out:
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	free(buf);
	return d;
}

TEST(csum, mkfs_btrfs_each_type)
{
	u8 *want = malloc(FILE_BYTES);
	size_t i;

	fill(want);
	for (i = 0; i < NTYPES; i++) {
		struct fault_dev *d = progs_image(types[i].name);

		if (!d)
			break;
		write_read_back(fault_dev_blk(d), types[i].type, want);
		if (test_btrfs_check(__FILE__, __LINE__,
				     fault_dev_btrfs_check(d)) == 0)
			corruption_found(fault_dev_blk(d));
		fault_dev_free(d);
	}
	free(want);
}

/* A csum_type btrfs does not define is refused at mount, by number. */
TEST(csum, unknown_type_refused)
{
	struct fs_mkfs_opts o = { NULL, 4096, 0, "blake2b" };
	struct fault_dev *d = fault_dev_new(DEV_BYTES);
	struct fs_info *fs;
	u8 sb[BTRFS_SUPER_INFO_SIZE];
	u64 off;

	CHECK(d != NULL);
	CHECK_OK(fs_mkfs(fault_dev_blk(d), &o));
	o.csum = "md5";
	log_set_level(LOG_ERR);
	CHECK_EQ(fs_mkfs(fault_dev_blk(d), &o), -EINVAL);
	for (off = BTRFS_SUPER_INFO_OFFSET; off < DEV_BYTES; off <<= 10) {
		CHECK_OK(blk_read(fault_dev_blk(d), off, sb, sizeof(sb)));
		put_le16(sb + offsetof(struct d_super_block, csum_type), 4);
		CHECK_OK(blk_write(fault_dev_blk(d), off, sb, sizeof(sb)));
	}
	CHECK_EQ(fs_mount(fault_dev_blk(d), FS_MOUNT_RO, &fs), -EOPNOTSUPP);
	log_set_level(LOG_INFO);
	fault_dev_free(d);
}
