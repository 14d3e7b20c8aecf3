/*
 * Writing on the formats mkfs.btrfs made by default before btrfs-progs
 * 5.15 (fs/file_holes.c, the non-skinny extent items of extent_tree.c):
 * without no-holes, without skinny metadata, and without both. Each case
 * makes the image with ghee's mkfs -O, mounts it read-write (refused
 * before these formats were written), and runs one workload: sparse
 * writes past the end, truncates up and down, punched holes, a clone of a
 * sparse file past the destination's end, enough files for multi-level
 * trees, a snapshot written on both sides (shared blocks, full backrefs),
 * an unlink, then a full balance; one case with quota accounting on.
 * Every byte is read back and the image is judged by ghee's fsck (which
 * refuses a METADATA_ITEM without skinny metadata, as Linux does) and
 * `btrfs check --qgroup-report` (which finds a missing hole item: "file
 * extent discount").
 * Two cases turn skinny metadata on between writes, as `btrfstune -x`
 * does (it only sets the feature bit): the old tree blocks keep their
 * EXTENT_ITEMs while new ones get METADATA_ITEMs, and every later change
 * must find a tree block's item in either form.
 * Each EXTENT_ITEM of a block of the top subvolume's tree must name the
 * block's first key in its tree-block info, as Linux writes it (a
 * subvolume tree's blocks do not change after the commit writes their
 * items, so the key ghee records there is still the block's).
 */
#include <stdio.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/csum_type.h"
#include "../../fs/extent_tree.h"
#include "../../fs/format.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/subvol.h"
#include "../../fs/super.h"
#include "shim/fault_dev.h"
#include "test.h"

#define KIB 1024ull
/* Not a feature: a workload() flag beside the features turned off, to
 * turn skinny metadata on after the first files (skinny_on). */
#define TUNE_SKINNY (1ull << 63)

/* The bytes [off, off + n) of path must be v (0: a hole). */
static int bytes_are(struct fs_info *fs, const char *path, uint64_t off,
		     size_t n, int v)
{
	static char buf[64 * 1024];
	struct fs_ino ino;
	size_t done, i, want;
	int ret = fs_lookup(fs, path, 0, &ino);

	for (; ret == 0 && n; n -= want, off += want) {
		want = n < sizeof(buf) ? n : sizeof(buf);
		ret = fs_read(fs, ino, off, buf, want, &done);
		if (ret == 0 && done != want)
			ret = -EIO;
		for (i = 0; ret == 0 && i < want; i++)
			if (buf[i] != (char)v)
				ret = 1;
	}
	return ret;
}

/* Write n bytes of value v at off of ino. */
static int fill(struct fs_info *fs, struct fs_ino ino, uint64_t off,
		size_t n, int v)
{
	static char buf[256 * 1024];

	memset(buf, v, n);
	return fs_write(fs, ino, off, buf, n);
}

/* The files of the workload and what each must read. */
static void files(struct fs_info *fs)
{
	struct fs_ino a, b, c;

	CHECK_OK(fs_create(fs, "/a", 0644, &a));
	CHECK_OK(fill(fs, a, 0, 5000, 1));		/* unaligned end */
	CHECK_OK(fill(fs, a, 100 * KIB + 7, 3000, 2));	/* past the end */
	CHECK_OK(fill(fs, a, 400 * KIB, 8192, 3));
	CHECK_OK(fs_truncate(fs, a, 600 * KIB + 5));	/* up */
	CHECK_OK(fs_punch_hole(fs, a, 400 * KIB, 4096));
	CHECK_OK(fs_punch_hole(fs, a, 200 * KIB, 8192));	/* in a hole */
	CHECK_OK(fs_create(fs, "/b", 0644, &b));
	CHECK_OK(fill(fs, b, 0, 4096, 4));
	CHECK_OK(fs_truncate(fs, b, 1 << 20));
	CHECK_OK(fs_truncate(fs, b, 300 * KIB + 1));	/* down, in a hole */
	CHECK_OK(fs_create(fs, "/c", 0644, &c));
	CHECK_OK(fill(fs, c, 0, 4096, 5));
	CHECK_OK(fs_clone_range(fs, a, 0, 0, c, 64 * KIB));
	CHECK_OK(fs_clone_range(fs, a, 0, 8 * KIB, c, 4 * KIB));
}

static void files_read(struct fs_info *fs, const char *dir)
{
	char p[64];

	snprintf(p, sizeof(p), "%s/a", dir);
	CHECK_OK(bytes_are(fs, p, 0, 5000, 1));
	CHECK_OK(bytes_are(fs, p, 5000, 100 * KIB + 7 - 5000, 0));
	CHECK_OK(bytes_are(fs, p, 100 * KIB + 7, 3000, 2));
	CHECK_OK(bytes_are(fs, p, 400 * KIB, 4096, 0));
	CHECK_OK(bytes_are(fs, p, 404 * KIB, 4096, 3));
	CHECK_OK(bytes_are(fs, p, 408 * KIB, 192 * KIB + 5, 0));
	snprintf(p, sizeof(p), "%s/b", dir);
	CHECK_OK(bytes_are(fs, p, 0, 4096, 4));
	CHECK_OK(bytes_are(fs, p, 4096, 296 * KIB + 1, 0));
	snprintf(p, sizeof(p), "%s/c", dir);
	CHECK_OK(bytes_are(fs, p, 0, 4096, 5));
	CHECK_OK(bytes_are(fs, p, 4096, 5000, 1));	/* the 8 KiB clone */
	CHECK_OK(bytes_are(fs, p, 4096 + 5000, 3192, 0));
	CHECK_OK(bytes_are(fs, p, 12 * KIB, 52 * KIB, 0));
	CHECK_OK(bytes_are(fs, p, 64 * KIB, 5000, 1));
	CHECK_OK(bytes_are(fs, p, 164 * KIB + 7, 3000, 2));
	CHECK_OK(bytes_are(fs, p, 468 * KIB, 4096, 3));
}

/* Enough small files for trees of more than one level. */
static void many(struct fs_info *fs, const char *dir, int n)
{
	char p[64];
	struct fs_ino ino;
	int i;

	CHECK_OK(fs_mkdir(fs, dir, 0755));
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/f%d", dir, i);
		CHECK_OK(fs_create(fs, p, 0644, &ino));
		CHECK_OK(fill(fs, ino, (uint64_t)(i % 3) * 8192, 6000, i));
	}
}

/* Set the skinny-metadata bit in every superblock copy of the unmounted
 * dev, as `btrfstune -x` does. */
static void skinny_on(struct blkdev *dev)
{
	static u8 buf[BTRFS_SUPER_INFO_SIZE];
	struct d_super_block *sb = (struct d_super_block *)buf;
	int i;

	for (i = 0; i < BTRFS_SUPER_MIRROR_MAX &&
		    super_offset(i) + sizeof(buf) <= dev->size; i++) {
		CHECK_OK(dev->ops->read(dev, super_offset(i), buf,
					sizeof(buf)));
		put_le64(&sb->incompat_flags,
			 get_le64(&sb->incompat_flags) |
			 BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA);
		csum_header_set(get_le16(&sb->csum_type), buf, sizeof(buf));
		CHECK_OK(dev->ops->write(dev, super_offset(i), buf,
					 sizeof(buf)));
	}
}

/*
 * Check the tree-block info of block bytenr (what its parent says of it
 * in exp) and of every block below it: an EXTENT_ITEM must hold the
 * block's first key and level. *n counts the blocks checked.
 */
static void info_keys(struct fs_info *fs, u64 bytenr,
		      const struct tb_expect *exp, u32 *n)
{
	struct tree_block *b;
	struct ctree_path p;
	struct key ek, first, info;
	u32 i, size;
	const u8 *item;

	CHECK_OK(tree_block_read(fs, bytenr, exp, &b));
	ctree_path_init(&p);
	CHECK_OK(extent_item_search(&fs->extent_root, bytenr, &p, &ek));
	item = ctree_item_ptr(&p, &size) + sizeof(struct d_extent_item);
	if (ek.type == BTRFS_EXTENT_ITEM_KEY) {
		tb_first_key(b, &first);
		key_from_disk(&info, item);
		CHECK_EQ(key_cmp(&info, &first), 0);
		CHECK_EQ(D_GET8(struct d_tree_block_info, item, level),
			 tb_level(b));
		(*n)++;
	}
	ctree_path_release(&p);
	for (i = 0; tb_level(b) && i < tb_nritems(b); i++) {
		struct tb_expect c = { exp->owner, tb_node_ptr_gen(b, i),
				       (u8)(tb_level(b) - 1), 1, { 0, 0, 0 } };

		tb_node_key(b, i, &c.first_key);
		info_keys(fs, tb_node_blockptr(b, i), &c, n);
	}
	tree_block_put(b);
}

/* Check the top subvolume tree's blocks (info_keys); *n counts those
 * with an EXTENT_ITEM. */
static void info_keys_top(struct fs_info *fs, u32 *n)
{
	const struct subvol_root *sv;
	struct tb_expect exp = { BTRFS_FS_TREE_OBJECTID, 0, 0, 0,
				 { 0, 0, 0 } };

	*n = 0;
	CHECK_OK(subvol_get(fs, BTRFS_FS_TREE_OBJECTID, &sv));
	exp.generation = sv->root.generation;
	exp.level = sv->root.level;
	info_keys(fs, sv->root.bytenr, &exp, n);
}

static void balance_all(struct fs_info *fs)
{
	struct fs_balance b;

	memset(&b, 0, sizeof(b));
	b.types = (1u << FS_BAL_DATA) | (1u << FS_BAL_META) |
		  (1u << FS_BAL_SYS);
	b.force = 1;
	CHECK_OK(fs_balance_start(fs, &b, 0));
	CHECK(b.relocated > 0);
}

/*
 * The workload on an image made with the features off (incompat bits),
 * with quota accounting on (quota) or off, and a full balance at the end.
 */
static void workload(uint64_t off, uint32_t nodesize, int quota)
{
	struct fs_mkfs_opts o = { NULL, nodesize, 0, NULL };
	struct fault_dev *dev = fault_dev_new(256ull << 20);
	struct fs_check_report rep;
	struct fs_info *fs;
	struct fs_stat st;
	struct fs_ino ino;
	u32 n;

	CHECK(dev != NULL);
	CHECK_OK(fs_mkfs_features(fault_dev_blk(dev), &o,
				  off & ~TUNE_SKINNY));
	CHECK_OK(fs_mount(fault_dev_blk(dev), 0, &fs));
	CHECK(!fs_is_read_only(fs));
	if (quota)
		CHECK_OK(fs_quota_enable(fs));
	files(fs);
	many(fs, "/many", 400);
	if (off & TUNE_SKINNY) {
		fs_umount(fs);
		skinny_on(fault_dev_blk(dev));
		CHECK_OK(fs_mount(fault_dev_blk(dev), 0, &fs));
		many(fs, "/new", 200);
		CHECK_OK(fs_unlink(fs, "/many/f9"));
	}
	CHECK_OK(fs_sync(fs));
	CHECK_OK(fs_subvol_snapshot(fs, "/", "/snap", 0));
	CHECK_OK(fs_lookup(fs, "/many/f7", 0, &ino));
	CHECK_OK(fill(fs, ino, 300 * KIB, 4096, 9));	/* past the end */
	CHECK_OK(fs_lookup(fs, "/snap/a", 0, &ino));
	CHECK_OK(fs_truncate(fs, ino, 2 << 20));
	CHECK_OK(fs_unlink(fs, "/many/f8"));
	balance_all(fs);
	files_read(fs, "");
	CHECK_OK(bytes_are(fs, "/snap/a", 600 * KIB + 5,
			   (2 << 20) - 600 * KIB - 5, 0));
	CHECK_OK(bytes_are(fs, "/many/f7", 300 * KIB, 4096, 9));
	CHECK_OK(fs_lookup(fs, "/snap/many/f7", 0, &ino));
	CHECK_OK(fs_stat(fs, ino, &st));
	CHECK(st.size < 300 * KIB);	/* the snapshot's f7 stayed short */
	fs_umount(fs);
	CHECK_OK(fs_mount(fault_dev_blk(dev), FS_MOUNT_RO, &fs));
	files_read(fs, "/snap");
	info_keys_top(fs, &n);
	if (!(off & TUNE_SKINNY))	/* else any share may be skinny */
		CHECK((n > 0) ==
		      !!(off & BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA));
	CHECK_OK(fs_check(fs, &rep));
	fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__,
			 fault_dev_btrfs_check_qgroups(dev));
	fault_dev_free(dev);
}

TEST(oldfmt, no_holes_off)
{
	workload(BTRFS_FEATURE_INCOMPAT_NO_HOLES, 4096, 0);
}

TEST(oldfmt, skinny_metadata_off)
{
	workload(BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA, 4096, 0);
}

TEST(oldfmt, both_off)
{
	workload(BTRFS_FEATURE_INCOMPAT_NO_HOLES |
		 BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA, 16384, 0);
}

TEST(oldfmt, both_off_quotas)
{
	workload(BTRFS_FEATURE_INCOMPAT_NO_HOLES |
		 BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA, 4096, 1);
}

TEST(oldfmt, skinny_turned_on)
{
	workload(BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA | TUNE_SKINNY, 4096,
		 0);
}

TEST(oldfmt, skinny_turned_on_quotas)
{
	workload(BTRFS_FEATURE_INCOMPAT_NO_HOLES |
		 BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA | TUNE_SKINNY, 4096, 1);
}

/* One file extent item: key offset, num_bytes, and whether a hole. */
struct fitem {
	u64 ks, len;
	int hole;
};

/* The file extent items of path (at most max) into v; *n their count. */
static void fitems(struct fs_info *fs, const char *path, struct fitem *v,
		   u32 max, u32 *n)
{
	const struct subvol_root *sv;
	struct ctree_path p;
	struct fs_ino ino;
	struct key k;
	int ret;

	*n = 0;
	CHECK_OK(fs_lookup(fs, path, 0, &ino));
	CHECK_OK(subvol_get(fs, BTRFS_FS_TREE_OBJECTID, &sv));
	k.objectid = ino.ino;
	k.type = BTRFS_EXTENT_DATA_KEY;
	k.offset = 0;
	ctree_path_init(&p);
	for (ret = ctree_search_ge(&sv->root, &k, &p); ret == 0;
	     ret = ctree_next_item(&p)) {
		u32 size;
		const u8 *fe = ctree_item_ptr(&p, &size);

		ctree_item_key(&p, &k);
		if (k.objectid != ino.ino || k.type != BTRFS_EXTENT_DATA_KEY)
			break;
		CHECK(*n < max);
		v[*n].ks = k.offset;
		v[*n].len = D_GET64(struct d_file_extent_item, fe, num_bytes);
		v[(*n)++].hole = D_GET64(struct d_file_extent_item, fe,
					 disk_bytenr) == 0;
	}
	ctree_path_release(&p);
	CHECK(ret >= 0);
}

/* path's file extent items must be want's n. */
static void fitems_are(struct fs_info *fs, const char *path,
		       const struct fitem *want, u32 n)
{
	struct fitem got[8];
	u32 i, ngot;

	fitems(fs, path, got, 8, &ngot);
	CHECK_EQ(ngot, n);
	for (i = 0; i < n; i++) {
		CHECK_EQ(got[i].ks, want[i].ks);
		CHECK_EQ(got[i].len, want[i].len);
		CHECK_EQ(got[i].hole, want[i].hole);
	}
}

/*
 * The hole items Linux (6.x, on a loop mount of a -O ^no-holes image)
 * makes for the same operations: a write past the end and a truncate up
 * each insert a hole of their own; a punch joins the hole before it, else
 * the hole after it, never both.
 */
TEST(oldfmt, hole_items_as_linux)
{
	static const struct fitem a[] = {
		{ 0, 4096, 0 }, { 4096, 98304, 1 }, { 102400, 102400, 1 },
		{ 204800, 4096, 0 } };
	static const struct fitem b[] = {
		{ 0, 8192, 0 }, { 8192, 8192, 1 }, { 16384, 4096, 1 },
		{ 20480, 20480, 0 } };
	static const struct fitem c[] = {
		{ 0, 12288, 0 }, { 12288, 12288, 1 }, { 24576, 16384, 0 } };
	struct fs_mkfs_opts o = { NULL, 4096, 0, NULL };
	struct fault_dev *dev = fault_dev_new(256ull << 20);
	struct fs_info *fs;
	struct fs_ino ino;

	CHECK(dev != NULL);
	CHECK_OK(fs_mkfs_features(fault_dev_blk(dev), &o,
				  BTRFS_FEATURE_INCOMPAT_NO_HOLES));
	CHECK_OK(fs_mount(fault_dev_blk(dev), 0, &fs));
	CHECK_OK(fs_create(fs, "/a", 0644, &ino));
	CHECK_OK(fill(fs, ino, 0, 4096, 1));
	CHECK_OK(fs_truncate(fs, ino, 100 * KIB));
	CHECK_OK(fill(fs, ino, 200 * KIB, 4096, 2));
	CHECK_OK(fs_create(fs, "/b", 0644, &ino));
	CHECK_OK(fill(fs, ino, 0, 40960, 3));
	CHECK_OK(fs_sync(fs));	/* one data extent, as Linux's */
	CHECK_OK(fs_punch_hole(fs, ino, 8 * KIB, 4096));
	CHECK_OK(fs_punch_hole(fs, ino, 16 * KIB, 4096));
	CHECK_OK(fs_punch_hole(fs, ino, 12 * KIB, 4096));
	CHECK_OK(fs_create(fs, "/c", 0644, &ino));
	CHECK_OK(fill(fs, ino, 0, 40960, 4));
	CHECK_OK(fs_sync(fs));
	CHECK_OK(fs_punch_hole(fs, ino, 16 * KIB, 4096));
	CHECK_OK(fs_punch_hole(fs, ino, 12 * KIB, 4096));
	CHECK_OK(fs_punch_hole(fs, ino, 20 * KIB, 4096));
	fitems_are(fs, "/a", a, 4);
	fitems_are(fs, "/b", b, 4);
	fitems_are(fs, "/c", c, 3);
	fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check_qgroups(dev));
	fault_dev_free(dev);
}
