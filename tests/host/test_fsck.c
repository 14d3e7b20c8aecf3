/*
 * fsck (fs/check*.c) of the csum tree, chunks, block groups and device
 * extents:
 *  - an image made by ghee's mkfs and written by ghee (overwrites, a
 *    truncate, a delete, two commits) checks clean, and btrfs check agrees
 *    when btrfs-progs is installed;
 *  - images damaged on purpose fail with the message naming the damage:
 *    a csum item deleted or shifted by a sector, a block group item
 *    deleted or made a MiB short, a device extent deleted.
 *
 * Damage is done to the committed image: the leaf holding the item is
 * read through a read-only mount, a copy edited (an item deleted or its
 * key offset moved) and written with a fresh checksum to every copy of
 * its chunk, as tree_block_write() does at commit. The trees edited are
 * single leaves in these small images, so no parent key needs fixing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/ctree_write.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/subvol.h"
#include "shim/fault_dev.h"
#include "shim/host.h"
#include "test.h"

#define DATA_LEN 100000		/* one file's data: one regular extent */
#define DATA_DISK 102400		/* DATA_LEN in whole sectors */

/* A fresh ghee filesystem holding /f, DATA_LEN bytes in one extent. */
static struct fault_dev *one_file(void)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	struct fault_dev *d = fault_dev_new(128ull << 20);
	static char buf[DATA_LEN];
	struct fs_info *fs;
	struct fs_ino ino;
	int ret;

	if (!d)
		return NULL;
	memset(buf, 0x5a, sizeof(buf));
	ret = fs_mkfs(fault_dev_blk(d), &o);
	ret = ret ? ret : fs_mount(fault_dev_blk(d), 0, &fs);
	if (ret == 0) {
		ret = fs_create(fs, "/f", 0644, &ino);
		ret = ret ? ret : fs_write(fs, ino, 0, buf, sizeof(buf));
		ret = ret ? ret : fs_sync(fs);
		fs_umount(fs);
	}
	if (ret) {
		fault_dev_free(d);
		return NULL;
	}
	return d;
}

/*
 * fsck d's image (mounted read-only). Returns fs_check's result; *out
 * gets a copy of its messages (free it), *rep the report.
 */
static int fsck(struct fault_dev *d, char **out, struct fs_check_report *rep)
{
	struct fs_info *fs;
	int ret = fs_mount(fault_dev_blk(d), FS_MOUNT_RO, &fs);

	if (ret)
		return ret;
	host_console_capture(1);
	ret = fs_check(fs, rep);
	*out = strdup(host_console_output());
	host_console_capture(0);
	fs_umount(fs);
	return ret;
}

/* Trees the tests damage. */
enum target { T_CSUM, T_BG, T_DEV, T_FS, T_QUOTA };

static int target_root(struct fs_info *fs, enum target t,
		       const struct ctree_root **out)
{
	const struct subvol_root *sv;
	int ret = 0;

	if (t == T_CSUM)
		*out = &fs->csum_root;
	else if (t == T_DEV)
		*out = &fs->dev_root;
	else if (t == T_QUOTA)
		*out = &fs->quota_root;
	else if (t == T_BG)
		*out = fs->compat_ro & BTRFS_FEATURE_COMPAT_RO_BLOCK_GROUP_TREE ?
		       &fs->bg_root : &fs->extent_root;
	else if ((ret = subvol_get(fs, BTRFS_FS_TREE_OBJECTID, &sv)) == 0)
		*out = &sv->root;
	return ret;
}

/* Says whether an item is the one to damage. */
typedef int (*pick_fn)(const struct key *k, const u8 *item);
/* Damages a copy of a leaf; slot is the item pick chose. */
typedef void (*edit_fn)(struct tree_block *b, u32 slot);

/*
 * Find the first item of tree t that pick accepts; copy its key to *k and
 * its first item_len bytes to item. Then edit its leaf in the committed
 * image. 0 or a negative errno.
 */
static int damage(struct fault_dev *d, enum target t, pick_fn pick,
		  edit_fn edit, struct key *k, void *item, u32 item_len)
{
	struct key zero = { 0, 0, 0 };
	const struct ctree_root *root;
	struct tree_block *b = NULL;
	struct ctree_path p;
	struct fs_info *fs;
	const u8 *data;
	u32 size;
	int ret = fs_mount(fault_dev_blk(d), FS_MOUNT_RO, &fs);

	if (ret)
		return ret;
	ctree_path_init(&p);
	ret = target_root(fs, t, &root);
	if (ret == 0)
		ret = ctree_search_ge(root, &zero, &p);
	for (; ret == 0; ret = ctree_next_item(&p)) {
		ctree_item_key(&p, k);
		data = ctree_item_ptr(&p, &size);
		if (pick(k, data))
			break;
	}
	if (ret == 0 && (p.nodes[1] || size < item_len))
		ret = -EINVAL;	/* not a one-leaf tree, or a short item */
	if (ret == 0)
		ret = tree_block_clone(p.nodes[0], &b);
	if (ret == 0) {
		memcpy(item, data, item_len);
		edit(b, (u32)p.slots[0]);
		ret = tree_block_write(fs, b);
		tree_block_put(b);
	}
	ctree_path_release(&p);
	fs_umount(fs);
	return ret > 0 ? -ENOENT : ret;
}

static void del_item(struct tree_block *b, u32 slot)
{
	leaf_del_items(b, slot, 1);
}

static void move_key(struct tree_block *b, u32 slot, int64_t by)
{
	struct key k;

	tb_item_key(b, slot, &k);
	k.offset += (u64)by;
	leaf_set_key(b, slot, &k);
}

static void key_up_a_sector(struct tree_block *b, u32 slot)
{
	move_key(b, slot, 4096);
}

static void key_down_a_mib(struct tree_block *b, u32 slot)
{
	move_key(b, slot, -(1 << 20));
}

/* fsck of d fails, and its messages include want. */
static void check_fails_with(struct fault_dev *d, const char *want)
{
	struct fs_check_report rep;
	char *out = NULL;
	int ret = fsck(d, &out, &rep);

	if (ret != -EUCLEAN || !out || !strstr(out, want))
		test_fail(__FILE__, __LINE__, "fsck returned %d, want \"%s\" "
			  "in:\n%s", ret, want, out ? out : "(no output)");
	free(out);
}

TEST(fsck, clean_after_writes)
{
	struct fault_dev *d = one_file();
	static char buf[3 * DATA_LEN];
	struct fs_check_report rep;
	struct fs_info *fs;
	struct fs_ino f, g;
	char *out = NULL;
	int ret;

	CHECK(d != NULL);
	memset(buf, 0xa5, sizeof(buf));
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	CHECK_OK(fs_lookup(fs, "/f", 0, &f));
	CHECK_OK(fs_write(fs, f, 40000, buf, 10000));	/* splits /f */
	CHECK_OK(fs_create(fs, "/g", 0644, &g));
	CHECK_OK(fs_write(fs, g, 0, buf, sizeof(buf)));
	CHECK_OK(fs_create(fs, "/small", 0644, &g));
	CHECK_OK(fs_write(fs, g, 0, "tiny", 4));
	CHECK_OK(fs_sync(fs));
	CHECK_OK(fs_truncate(fs, f, 20000));
	CHECK_OK(fs_unlink(fs, "/g"));
	CHECK_OK(fs_sync(fs));
	fs_umount(fs);
	ret = fsck(d, &out, &rep);
	if (ret)
		test_fail(__FILE__, __LINE__, "fsck returned %d:\n%s", ret,
			  out ? out : "");
	free(out);
	CHECK_OK(ret);
	CHECK_EQ(rep.chunks, rep.block_groups);
	CHECK(rep.dev_extents > rep.chunks);	/* DUP metadata: 2 each */
	CHECK(rep.csum_bytes >= 20000);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(d));
	fault_dev_free(d);
}

static int is_csum(const struct key *k, const u8 *item)
{
	(void)item;
	return k->type == BTRFS_EXTENT_CSUM_KEY;
}

TEST(fsck, csum_item_deleted)
{
	struct fault_dev *d = one_file();
	char want[160];
	struct key k;
	u8 sum[4];

	CHECK(d != NULL);
	CHECK_OK(damage(d, T_CSUM, is_csum, del_item, &k, sum, sizeof(sum)));
	snprintf(want, sizeof(want), "error: fsck: tree 5: inode 257: file "
		 "extent at 0 reads data %llu+%u, which has no checksum at "
		 "%llu", (unsigned long long)k.offset, DATA_DISK,
		 (unsigned long long)k.offset);
	check_fails_with(d, want);
	fault_dev_free(d);
}

TEST(fsck, csum_item_shifted)
{
	struct fault_dev *d = one_file();
	char want[160];
	struct key k;
	u8 sum[4];

	CHECK(d != NULL);
	CHECK_OK(damage(d, T_CSUM, is_csum, key_up_a_sector, &k, sum, sizeof(sum)));
	snprintf(want, sizeof(want), "error: fsck: csum tree: item %llu+%u "
		 "has sums for %llu, which is in no data extent",
		 (unsigned long long)k.offset + 4096, DATA_DISK,
		 (unsigned long long)k.offset + DATA_DISK);
	check_fails_with(d, want);
	snprintf(want, sizeof(want), "which has no checksum at %llu",
		 (unsigned long long)k.offset);
	check_fails_with(d, want);
	fault_dev_free(d);
}

static int is_data_bg(const struct key *k, const u8 *item)
{
	return k->type == BTRFS_BLOCK_GROUP_ITEM_KEY &&
	       (D_GET64(struct d_block_group_item, item, flags) &
		BTRFS_BLOCK_GROUP_DATA);
}

TEST(fsck, block_group_item_missing)
{
	struct fault_dev *d = one_file();
	u8 bg[sizeof(struct d_block_group_item)];
	char want[160];
	struct key k;

	CHECK(d != NULL);
	CHECK_OK(damage(d, T_BG, is_data_bg, del_item, &k, bg, sizeof(bg)));
	snprintf(want, sizeof(want), "error: fsck: chunk %llu+%llu has no "
		 "block group item", (unsigned long long)k.objectid,
		 (unsigned long long)k.offset);
	check_fails_with(d, want);
	fault_dev_free(d);
}

TEST(fsck, block_group_item_short)
{
	struct fault_dev *d = one_file();
	u8 bg[sizeof(struct d_block_group_item)];
	char want[160];
	struct key k;

	CHECK(d != NULL);
	CHECK_OK(damage(d, T_BG, is_data_bg, key_down_a_mib, &k, bg,
			 sizeof(bg)));
	snprintf(want, sizeof(want), "error: fsck: chunk %llu+%llu type "
		 "0x%llx has block group item %llu+%llu type 0x%llx",
		 (unsigned long long)k.objectid, (unsigned long long)k.offset,
		 (unsigned long long)BTRFS_BLOCK_GROUP_DATA,
		 (unsigned long long)k.objectid,
		 (unsigned long long)k.offset - (1 << 20),
		 (unsigned long long)BTRFS_BLOCK_GROUP_DATA);
	check_fails_with(d, want);
	fault_dev_free(d);
}

static int is_dev_extent(const struct key *k, const u8 *item)
{
	(void)item;
	return k->type == BTRFS_DEV_EXTENT_KEY;
}

TEST(fsck, dev_extent_missing)
{
	struct fault_dev *d = one_file();
	u8 de[sizeof(struct d_dev_extent)];
	char want[160];
	struct key k;

	CHECK(d != NULL);
	CHECK_OK(damage(d, T_DEV, is_dev_extent, del_item, &k, de, sizeof(de)));
	snprintf(want, sizeof(want), "error: fsck: chunk %llu: stripe on "
		 "device %llu at %llu has no dev extent",
		 (unsigned long long)D_GET64(struct d_dev_extent, de,
					     chunk_offset),
		 (unsigned long long)k.objectid, (unsigned long long)k.offset);
	check_fails_with(d, want);
	fault_dev_free(d);
}

static int is_f_inode(const struct key *k, const u8 *item)
{
	(void)item;
	return k->objectid == 257 && k->type == BTRFS_INODE_ITEM_KEY;
}

/*
 * Unlink /f (inode 257, the only entry of the top directory 256, whose
 * item comes before) as Linux leaves a file unlinked while still open:
 * no names, nlink 0.
 */
static void unlink_f(struct tree_block *b, u32 slot)
{
	u32 i = tb_nritems(b);
	struct key k;

	D_SET32(struct d_inode_item, tb_item_data_w(b, slot), nlink, 0);
	while (i-- > 0) {
		tb_item_key(b, i, &k);
		if (k.objectid == 256 && k.type == BTRFS_INODE_ITEM_KEY)
			D_SET64(struct d_inode_item, tb_item_data_w(b, i),
				size, 0);
		else if ((k.objectid == 256 &&
			  (k.type == BTRFS_DIR_ITEM_KEY ||
			   k.type == BTRFS_DIR_INDEX_KEY)) ||
			 (k.objectid == 257 && k.type == BTRFS_INODE_REF_KEY))
			leaf_del_items(b, i, 1);
	}
}

/* Unlink /f and add its orphan item, last in key order. */
static void unlink_f_orphan(struct tree_block *b, u32 slot)
{
	struct key k = { BTRFS_ORPHAN_OBJECTID, BTRFS_ORPHAN_ITEM_KEY, 257 };

	unlink_f(b, slot);
	leaf_insert_item(b, tb_nritems(b), &k, 0);
}

TEST(fsck, unlinked_inode_with_orphan_item)
{
	struct fault_dev *d = one_file();
	struct fs_check_report rep;
	u8 inode[sizeof(struct d_inode_item)];
	char *out = NULL;
	struct key k;
	int ret;

	CHECK(d != NULL);
	CHECK_OK(damage(d, T_FS, is_f_inode, unlink_f_orphan, &k, inode,
			sizeof(inode)));
	ret = fsck(d, &out, &rep);
	if (ret)
		test_fail(__FILE__, __LINE__, "fsck returned %d:\n%s", ret,
			  out ? out : "");
	free(out);
	CHECK_OK(ret);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(d));
	fault_dev_free(d);
}

/* /f's nbytes is a sector more than its extents. */
static void nbytes_up(struct tree_block *b, u32 slot)
{
	u8 *ii = tb_item_data_w(b, slot);

	D_SET64(struct d_inode_item, ii, nbytes,
		D_GET64(struct d_inode_item, ii, nbytes) + 4096);
}

/*
 * Unlink /f with its orphan item, half way through its eviction: a file
 * extent is gone and nbytes still counts it (Linux does not update the
 * nbytes of an inode it is deleting; fsck-tests/042 of btrfs-progs).
 */
static void half_dropped_f(struct tree_block *b, u32 slot)
{
	nbytes_up(b, slot);
	unlink_f_orphan(b, slot);
}

TEST(fsck, half_dropped_inode_with_orphan_item)
{
	struct fault_dev *d = one_file();
	struct fs_check_report rep;
	u8 inode[sizeof(struct d_inode_item)];
	char *out = NULL;
	struct key k;
	int ret;

	CHECK(d != NULL);
	CHECK_OK(damage(d, T_FS, is_f_inode, half_dropped_f, &k, inode,
			sizeof(inode)));
	ret = fsck(d, &out, &rep);
	if (ret)
		test_fail(__FILE__, __LINE__, "fsck returned %d:\n%s", ret,
			  out ? out : "");
	else
		test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(d));
	free(out);
	fault_dev_free(d);
}

TEST(fsck, nbytes_wrong)
{
	struct fault_dev *d = one_file();
	u8 inode[sizeof(struct d_inode_item)];
	struct key k;

	CHECK(d != NULL);
	CHECK_OK(damage(d, T_FS, is_f_inode, nbytes_up, &k, inode,
			sizeof(inode)));
	check_fails_with(d, "error: fsck: tree 5: inode 257 has nbytes "
			 "106496, its extents 102400");
	fault_dev_free(d);
}

TEST(fsck, unlinked_inode_without_orphan_item)
{
	struct fault_dev *d = one_file();
	u8 inode[sizeof(struct d_inode_item)];
	struct key k;

	CHECK(d != NULL);
	CHECK_OK(damage(d, T_FS, is_f_inode, unlink_f, &k, inode,
			sizeof(inode)));
	check_fails_with(d, "error: fsck: tree 5: inode 257 has nlink 0 and "
			 "no name but no orphan item");
	fault_dev_free(d);
}

/*
 * A subvolume whose file has 600 file extent items (3 leaves), written
 * as one extent and then every other block again; the fsck report of
 * it alone, in *rep.
 */
static struct fault_dev *split_file(int quota, struct fs_check_report *rep)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	struct fault_dev *d = fault_dev_new(128ull << 20);
	static char buf[600 * 4096];
	struct fs_info *fs;
	struct fs_ino ino;
	char *out = NULL;
	u64 off;
	int ret = d ? fs_mkfs(fault_dev_blk(d), &o) : -ENOMEM;

	memset(buf, 0x3c, sizeof(buf));
	ret = ret ? ret : fs_mount(fault_dev_blk(d), 0, &fs);
	if (ret == 0) {
		ret = quota ? fs_quota_enable(fs) : 0;
		ret = ret ? ret : fs_subvol_create(fs, "/sv");
		ret = ret ? ret : fs_create(fs, "/sv/f", 0644, &ino);
		ret = ret ? ret : fs_write(fs, ino, 0, buf, sizeof(buf));
		ret = ret ? ret : fs_sync(fs);
		for (off = 4096; off < sizeof(buf) && ret == 0; off += 8192)
			ret = fs_write(fs, ino, off, buf, 4096);
		ret = ret ? ret : fs_sync(fs);
		fs_umount(fs);
	}
	ret = ret ? ret : fsck(d, &out, rep);
	free(out);
	if (ret && d) {
		fault_dev_free(d);
		return NULL;
	}
	return d;
}

/* Ten read-only snapshots of split_file's /sv, then fsck: *rep. */
static int ten_snapshots(struct fault_dev *d, struct fs_check_report *rep)
{
	struct fs_info *fs = NULL;
	char path[16], *out = NULL;
	int i, ret = fs_mount(fault_dev_blk(d), 0, &fs);

	for (i = 0; i < 10 && ret == 0; i++) {
		snprintf(path, sizeof(path), "/s%d", i);
		ret = fs_subvol_snapshot(fs, "/sv", path, FS_SNAP_RDONLY);
	}
	if (fs)
		fs_umount(fs);
	ret = ret ? ret : fsck(d, &out, rep);
	free(out);
	return ret;
}

/* Snapshots share the leaves of the file: the sums its data needs are
 * looked for once per leaf, not once per tree (at the reference's
 * 5,000 snapshots of 32,768 items, per tree took 6.5 GB), and a sum
 * missing under the shared leaves is still found. */
TEST(fsck, snapshots_share_the_sums_their_leaves_need)
{
	struct fs_check_report alone, with;
	struct fault_dev *d = split_file(0, &alone);
	struct key k;
	u8 sum[4];

	CHECK(d != NULL);
	CHECK(alone.sums_needed >= 600);
	CHECK_OK(ten_snapshots(d, &with));
	CHECK_EQ(with.trees, alone.trees + 10);
	CHECK_EQ(with.sums_needed, alone.sums_needed);
	CHECK_OK(damage(d, T_CSUM, is_csum, del_item, &k, sum, sizeof(sum)));
	check_fails_with(d, "which has no checksum at");
	fault_dev_free(d);
}

/* The first subvolume's level-0 quota group (/sv in split_file). */
static int is_sv_qgroup(const struct key *k, const u8 *item)
{
	(void)item;
	return k->type == BTRFS_QGROUP_INFO_KEY &&
	       k->offset == BTRFS_FIRST_FREE_OBJECTID;
}

static void rfer_up_a_sector(struct tree_block *b, u32 slot)
{
	u8 *item = tb_item_data_w(b, slot);

	D_SET64(struct d_qgroup_info_item, item, rfer,
		D_GET64(struct d_qgroup_info_item, item, rfer) + 4096);
}

/* Quota counts are checked per set of subvolumes reaching extents, not
 * per extent (at the reference's 5,000 snapshots of 32,768 items,
 * resolving each extent's roots one by one held 1.85 GB), and a count
 * one sector off is still found. */
TEST(fsck, quota_counts_are_summed_per_set_of_subvolumes)
{
	struct fs_check_report rep;
	struct fault_dev *d = split_file(1, &rep);
	struct key k;
	u8 info[sizeof(struct d_qgroup_info_item)];

	CHECK(d != NULL);
	CHECK_EQ(rep.errors, 0);
	CHECK(rep.qgroup_sets >= 2);
	CHECK_OK(ten_snapshots(d, &rep));
	CHECK_EQ(rep.errors, 0);
	/* 300 data extents of /sv, shared with 10 snapshots: a handful of
	 * sets ({5}, {sv}, {sv and its snapshots}, each snapshot's own root
	 * block), not one per extent */
	CHECK(rep.extents >= 300);
	CHECK(rep.qgroup_sets <= 20);
	CHECK_OK(damage(d, T_QUOTA, is_sv_qgroup, rfer_up_a_sector, &k, info,
			sizeof(info)));
	check_fails_with(d, "qgroup 0/256: referenced");
	fault_dev_free(d);
}
