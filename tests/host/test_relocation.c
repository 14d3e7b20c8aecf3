/*
 * Relocation of block groups (fs/relocation.c): a filesystem with a
 * subvolume, snapshots of it taken between changes (so blocks are shared
 * by several trees, some through FULL_BACKREF parents), reflinks within
 * and across files, inline and regular extents; every data and metadata
 * block group it had is relocated in turn. Then: each group is empty,
 * every file in every snapshot reads the same, used bytes did not grow
 * (a shared block was copied once), and btrfs check passes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>
#include <ghee/sync.h>

#include "../../fs/fs.h"
#include "../../fs/block_group.h"
#include "../../fs/fs_info.h"
#include "../../fs/relocation.h"
#include "../../fs/volumes.h"
#include "send_sink.h"
#include "test_env.h"
#include "shim/fault_dev.h"
#include "test.h"

#define NFILES 240
#define MAX_GROUPS 64
static const char *const trees[] = { "/sv", "/snap1", "/snap2" };

/* File i's bytes at offset off (a pattern per file and generation). */
static void fill(u8 *buf, size_t len, int i, int gen)
{
	size_t k;

	for (k = 0; k < len; k++)
		buf[k] = (u8)(i * 31 + gen * 7 + (int)(k % 251));
}

/* Write the files, snapshot, change, snapshot, change, reflink. */
static int populate(struct fs_info *fs)
{
	static u8 buf[64 * 1024];
	struct fs_ino ino, src;
	char name[48];
	int i, ret = fs_subvol_create(fs, "/sv");

	for (i = 0; i < NFILES && ret == 0; i++) {
		size_t len = i % 7 == 0 ? 100 : (size_t)(i % 13 + 1) * 4096;

		snprintf(name, sizeof(name), "/sv/f%03d", i);
		fill(buf, len, i, 0);
		ret = fs_create(fs, name, 0644, &ino);
		if (ret == 0)
			ret = fs_write(fs, ino, 0, buf, len);
	}
	for (i = 1; i < NFILES && ret == 0; i += 9) {	/* reflinks */
		if (i % 7 == 0)
			continue;	/* inline: nothing to share */
		snprintf(name, sizeof(name), "/sv/f%03d", i);
		ret = fs_lookup(fs, name, 0, &src);
		snprintf(name, sizeof(name), "/sv/r%03d", i);
		if (ret == 0)
			ret = fs_create(fs, name, 0644, &ino);
		if (ret == 0)
			ret = fs_clone_range(fs, src, 0, 4096, ino, 0);
		if (ret == 0)
			ret = fs_clone_range(fs, src, 0, 4096, ino, 8192);
	}
	if (ret == 0)
		ret = fs_subvol_snapshot(fs, "/sv", "/snap1", FS_SNAP_RDONLY);
	for (i = 0; i < NFILES && ret == 0; i += 4) {	/* change some */
		snprintf(name, sizeof(name), "/sv/f%03d", i);
		fill(buf, 4096, i, 1);
		ret = fs_lookup(fs, name, 0, &ino);
		if (ret == 0)
			ret = fs_write(fs, ino, 0, buf, 4096);
	}
	if (ret == 0)
		ret = fs_subvol_snapshot(fs, "/sv", "/snap2", 0);
	for (i = 3; i < NFILES && ret == 0; i += 10) {
		snprintf(name, sizeof(name), "/sv/f%03d", i);
		ret = fs_unlink(fs, name);
	}
	for (i = 2; i < NFILES && ret == 0; i += 10) {	/* across trees */
		snprintf(name, sizeof(name), "/snap1/f%03d", i);
		ret = fs_lookup(fs, name, 0, &src);
		snprintf(name, sizeof(name), "/snap2/x%03d", i);
		if (ret == 0)
			ret = fs_create(fs, name, 0644, &ino);
		if (ret == 0 && i % 7)
			ret = fs_clone_range(fs, src, 0, 4096, ino, 0);
	}
	return ret ? ret : fs_sync(fs);
}

/* Hashes of every file of every tree, in a fixed order. */
static int hash_all(struct fs_info *fs, u64 *v)
{
	static const char kinds[] = "frx";
	char name[48];
	int t, k, i, n = 0, ret = 0;

	for (t = 0; t < 3; t++)
		for (k = 0; k < 3; k++)
			for (i = 0; i < NFILES && ret == 0; i++) {
				snprintf(name, sizeof(name), "%s/%c%03d",
					 trees[t], kinds[k], i);
				ret = file_hash(fs, name, &v[n++]);
			}
	return ret;
}

/* Starts of the data and metadata block groups, and used bytes. */
static u32 groups(struct fs_info *fs, u64 *start, u64 *used)
{
	u32 i, n = 0;

	mutex_lock(&fs->alloc_lock);
	for (i = 0; i < fs->space.nbg && n < MAX_GROUPS; i++)
		if (!(fs->space.bg[i]->flags & BTRFS_BLOCK_GROUP_SYSTEM))
			start[n++] = fs->space.bg[i]->start;
	*used = fs->bytes_used;
	mutex_unlock(&fs->alloc_lock);
	return n;
}

static void relocate_everything(struct fault_dev *dev, struct fs_info **fsp)
{
	static u64 before[3 * 3 * NFILES], after[3 * 3 * NFILES];
	struct fs_info *fs = *fsp;
	struct reloc_stats st;
	u64 start[MAX_GROUPS], used0, used1, dummy[MAX_GROUPS];
	u64 moved_data = 0, moved_blocks = 0;
	u32 i, j, n, m;

	CHECK_OK(populate(fs));
	CHECK_OK(hash_all(fs, before));
	n = groups(fs, start, &used0);
	CHECK(n >= 2);
	for (i = 0; i < n; i++) {
		CHECK_OK(reloc_block_group(fs, start[i], NULL, NULL, &st));
		moved_data += st.data_extents;
		moved_blocks += st.tree_blocks;
	}
	CHECK(moved_data > 0 && moved_blocks > 0);
	CHECK_OK(fs_sync(fs));
	m = groups(fs, dummy, &used1);
	for (i = 0; i < n; i++)		/* every old group is gone */
		for (j = 0; j < m; j++)
			CHECK(dummy[j] != start[i]);
	/* Shared blocks copied once: nothing grew but the few blocks the
	 * commits' own bookkeeping may split. */
	CHECK(used1 <= used0 + 8ull * fs->nodesize);
	CHECK_OK(hash_all(fs, after));
	CHECK(memcmp(before, after, sizeof(before)) == 0);
	/* Again from disk: the moved places are what was committed. */
	fs_umount(fs);
	*fsp = NULL;
	CHECK_OK(fs_mount(fault_dev_blk(dev), 0, fsp));
	CHECK_OK(hash_all(*fsp, after));
	CHECK(memcmp(before, after, sizeof(before)) == 0);
}

TEST(relocation, every_group_with_snapshots_and_reflinks)
{
	struct fs_mkfs_opts o = { NULL, 4096, 0, NULL };
	struct fault_dev *dev = fault_dev_new(512ull << 20);
	struct fs_info *fs = NULL;

	CHECK(dev);
	if (fs_mkfs(fault_dev_blk(dev), &o) == 0 &&
	    fs_mount(fault_dev_blk(dev), 0, &fs) == 0)
		relocate_everything(dev, &fs);
	else
		test_fail(__FILE__, __LINE__, "mkfs or mount failed");
	if (fs)
		fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}

/* Relocate every group over and over until stopped. */
struct relocator {
	struct fs_info *fs;
	int stop, err;
	unsigned rounds;
};

static void *relocate_loop(void *arg)
{
	struct relocator *r = arg;
	struct reloc_stats st;
	u64 start[MAX_GROUPS], used;
	u32 i, n;

	while (!r->err && !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		n = groups(r->fs, start, &used);
		for (i = 0; i < n && !r->err; i++)
			r->err = reloc_block_group(r->fs, start[i], NULL,
						   NULL, &st);
		r->rounds++;
	}
	return NULL;
}

/*
 * Send during relocation (reference/send-during-relocation.txt): a full
 * send of a read-only snapshot while another thread relocates every
 * block group, again and again, restarts by key after each relocation
 * commit, and its stream, received, gives the snapshot's tree. (Its
 * bytes may differ from a send alone's: a clone source found across a
 * relocation commit is sent as data.)
 */
TEST(relocation, beside_send_keeps_the_stream)
{
	struct fs_mkfs_opts o = { NULL, 4096, 0, NULL };
	struct fault_dev *dev = fault_dev_new(512ull << 20);
	struct sink busy = { 0 };
	struct relocator r = { 0 };
	struct fs_info *fs = NULL;
	uint64_t restarts = 0;
	pthread_t t;
	int tries, ret = 0;

	CHECK(dev);
	CHECK_OK(fs_mkfs(fault_dev_blk(dev), &o));
	CHECK_OK(fs_mount(fault_dev_blk(dev), 0, &fs));
	CHECK_OK(populate(fs));
	r.fs = fs;
	CHECK_OK(pthread_create(&t, NULL, relocate_loop, &r));
	/* Send until one ran while a relocation commit landed. */
	for (tries = 0; tries < 50 && !ret && !restarts; tries++)
		ret = sink_send(fs, "/snap1", &busy, &restarts);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	printf("# %d sends, %llu restarts, %u relocation rounds\n", tries,
	       (unsigned long long)restarts, r.rounds);
	CHECK_OK(ret);
	CHECK_OK(r.err);
	CHECK(r.rounds > 0);
	CHECK(restarts > 0);
	CHECK_EQ(sink_received_differs(fs, &busy, "/recv", "/snap1"), 0);
	free(busy.buf);
	fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}

/* Relocate the first data and the first metadata group of fs. */
static int relocate_two(struct fs_info *fs)
{
	u64 start[MAX_GROUPS], used;
	struct reloc_stats st;
	u32 i, n = groups(fs, start, &used);
	int ret = 0, did_data = 0, did_meta = 0;

	for (i = 0; i < n && ret == 0; i++) {
		const struct block_group *bg;
		int data;

		mutex_lock(&fs->alloc_lock);
		bg = bg_lookup(fs, start[i]);
		data = bg && (bg->flags & BTRFS_BLOCK_GROUP_DATA);
		mutex_unlock(&fs->alloc_lock);
		if (data ? did_data : did_meta)
			continue;
		ret = reloc_block_group(fs, start[i], NULL, NULL, &st);
		if (data)
			did_data = 1;
		else
			did_meta = 1;
	}
	return ret;
}

/* Cut power at write cut of relocating two groups of base; what
 * survives must mount with every file as before and pass btrfs check. */
static void cut_at(const struct fault_dev *base, uint64_t cut, const u64 *want)
{
	static u64 got[3 * 3 * NFILES];
	struct fault_dev *dev = fault_dev_clone(base), *img = NULL;
	struct fs_info *fs = NULL;

	CHECK(dev);
	if (fs_mount(fault_dev_blk(dev), 0, &fs) == 0) {
		fault_dev_arm(dev, cut, FAULT_REORDER, cut);
		relocate_two(fs);	/* fails at the cut */
		fs_umount(fs);
		fs = NULL;
		img = fault_dev_crash_image(dev);
	}
	if (img && fs_mount(fault_dev_blk(img), 0, &fs) == 0) {
		if (hash_all(fs, got) || memcmp(got, want, sizeof(got)))
			test_fail(__FILE__, __LINE__, "cut at write %llu: "
				  "files differ", (unsigned long long)cut);
		fs_umount(fs);
		test_btrfs_check(__FILE__, __LINE__,
				 fault_dev_btrfs_check(img));
	} else {
		test_fail(__FILE__, __LINE__, "cut at write %llu: no mount",
			  (unsigned long long)cut);
	}
	fault_dev_free(img);
	fault_dev_free(dev);
}

TEST(relocation, power_cut_during_relocation)
{
	static u64 want[3 * 3 * NFILES];
	struct fs_mkfs_opts o = { NULL, 4096, 0, NULL };
	struct fault_dev *base = fault_dev_new(512ull << 20), *dev;
	struct fs_info *fs = NULL;
	uint64_t writes, cut, step;

	CHECK(base);
	CHECK_OK(fs_mkfs(fault_dev_blk(base), &o));
	CHECK_OK(fs_mount(fault_dev_blk(base), 0, &fs));
	CHECK_OK(populate(fs));
	CHECK_OK(hash_all(fs, want));
	fs_umount(fs);
	/* How many writes the relocation makes, to spread the cuts. */
	dev = fault_dev_clone(base);
	CHECK(dev);
	CHECK_OK(fs_mount(fault_dev_blk(dev), 0, &fs));
	fault_dev_arm(dev, 0, FAULT_CUT, 0);
	CHECK_OK(relocate_two(fs));
	writes = fault_dev_writes(dev);
	fs_umount(fs);
	fault_dev_free(dev);
	CHECK(writes > 10);
	step = writes / 8 ? writes / 8 : 1;
	for (cut = 1; cut < writes; cut += step)
		cut_at(base, cut, want);
	cut_at(base, writes - 1, want);
	fault_dev_free(base);
}

/* The first data group: 16 MiB of one file in it, committed, and reads
 * of 4 KiB of it 2 MiB in failing; the group's start in *data. */
static void bad_read_setup(struct fault_dev *dev, struct fs_info *fs,
			   u64 *data)
{
	static u8 buf[16 << 20];
	struct chunk_mapping m;
	struct fs_ino ino;
	u32 i;

	fill(buf, sizeof(buf), 1, 0);
	CHECK_OK(fs_create(fs, "/big", 0644, &ino));
	CHECK_OK(fs_write(fs, ino, 0, buf, sizeof(buf)));
	CHECK_OK(fs_sync(fs));
	mutex_lock(&fs->alloc_lock);
	for (i = 0; i < fs->space.nbg; i++)
		if (fs->space.bg[i]->flags & BTRFS_BLOCK_GROUP_DATA)
			break;
	*data = i < fs->space.nbg ? fs->space.bg[i]->start : 0;
	mutex_unlock(&fs->alloc_lock);
	CHECK(*data && volumes_map_copy(fs, *data, 1, &m) == 0);
	fault_dev_fail_range(dev, FAULT_IO_READ, m.physical[0] + (2u << 20),
			     4096, 1);
}

/*
 * A data group whose data cannot be read part-way (the copy reads pieces
 * ahead, so reads are in flight at the error) is refused with the read's
 * error; the commit aborts, so nothing of it reaches the disk, and the
 * image stays clean.
 */
TEST(relocation, read_error_inside_a_data_group)
{
	struct fs_mkfs_opts o = { NULL, 4096, 0, NULL };
	struct fault_dev *dev = fault_dev_new(256ull << 20);
	struct fs_info *fs = NULL;
	struct reloc_stats st;
	u64 data = 0;

	CHECK(dev);
	CHECK_OK(fs_mkfs(fault_dev_blk(dev), &o));
	CHECK_OK(fs_mount(fault_dev_blk(dev), 0, &fs));
	bad_read_setup(dev, fs, &data);
	if (data)
		CHECK_EQ(reloc_block_group(fs, data, NULL, NULL, &st), -EIO);
	fault_dev_clear_errors(dev);
	fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}
