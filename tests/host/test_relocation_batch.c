/*
 * A data group moves in batches (fs/relocation.c): relocating a data
 * group of 64 MiB holding 1 MiB extents, some shared by a snapshot and
 * a reflink, beside a writer (unlinks that free extents of the group
 * between batches, then new files, each round committed) takes several
 * relocation commits, none over RELOC_BATCH_BYTES, since a batch ends
 * early when the writer waits; the writer's own commits get through
 * between the relocation's first and last copied extent. After: every
 * file reads as written, shared extents stay shared (one copy), quota
 * counts equal a brute-force count, ghee's fsck and btrfs check (with
 * its qgroup report) are clean.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>
#include <ghee/time.h>

#include "../../fs/block_group.h"
#include "../../fs/ctree_write.h"
#include "../../fs/delayed_ref.h"
#include "../../fs/extent_tree.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/relocation.h"
#include "../../fs/transaction.h"
#include "balance_fixture.h"
#include "qgroup_env.h"
#include "shim/fault_dev.h"
#include "test.h"

#define DEV_MB 640	/* data chunks of 64 MiB (a tenth) */
#define NKEEP 40	/* 1 MiB files shared with a snapshot */
#define NFREE 16	/* 1 MiB files the writer unlinks */
#define MIB (1ull << 20)

/* Whether a group starts at start. */
static int group_exists(struct fs_info *fs, uint64_t start)
{
	const struct block_group *bg;
	int yes;

	mutex_lock(&fs->alloc_lock);
	bg = bg_lookup(fs, start);
	yes = bg && bg->start == start;
	mutex_unlock(&fs->alloc_lock);
	return yes;
}

/* Whether path holds len bytes of c and nothing else. */
static int reads_as(struct fs_info *fs, const char *path, size_t len, int c)
{
	static u8 buf[MIB];
	struct fs_ino ino;
	size_t done, k;
	int ret = fs_lookup(fs, path, 0, &ino);

	if (ret == 0)
		ret = fs_read(fs, ino, 0, buf, sizeof(buf), &done);
	if (ret || done != len)
		return 0;
	for (k = 0; k < len; k++)
		if (buf[k] != (u8)c)
			return 0;
	return 1;
}

static int populate(struct fs_info *fs)
{
	char name[48];
	int i, ret = fs_mkdir(fs, "/keep", 0755);

	if (ret == 0)
		ret = fs_mkdir(fs, "/free", 0755);
	if (ret == 0)
		ret = fs_mkdir(fs, "/w", 0755);
	for (i = 0; i < NKEEP && ret == 0; i++) {
		snprintf(name, sizeof(name), "/keep/f%02d", i);
		ret = put(fs, name, 0, MIB, 'a' + i % 26);
	}
	if (ret == 0)
		ret = reflink(fs, "/keep/f00", "/r0", MIB, 0);
	if (ret == 0)
		ret = fs_subvol_snapshot(fs, "/", "/snap", FS_SNAP_RDONLY);
	for (i = 0; i < NFREE && ret == 0; i++) {
		snprintf(name, sizeof(name), "/free/g%02d", i);
		ret = put(fs, name, 0, MIB, 'A' + i);
	}
	return ret ? ret : fs_sync(fs);
}

/* The writer beside the relocation: each round unlinks a file of the
 * group (a new file once none is left) and commits. */
struct writer {
	struct fs_info *fs;
	int stop, err;
	int commits;		/* rounds committed */
};

static void *write_loop(void *arg)
{
	struct writer *w = arg;
	char name[48];
	int i;

	for (i = 0; !w->err && !__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE);
	     i++) {
		if (i < NFREE) {
			snprintf(name, sizeof(name), "/free/g%02d", i);
			w->err = fs_unlink(w->fs, name);
		} else {
			snprintf(name, sizeof(name), "/w/n%05d", i);
			w->err = put(w->fs, name, 0, 4096, 'w');
		}
		if (!w->err)
			w->err = fs_sync(w->fs);
		if (!w->err)
			__atomic_add_fetch(&w->commits, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Asked by the relocation before each data extent it copies (inside its
 * commit) and between batches: notes the writer's commits at the first
 * and the last time. Never stops it. */
struct watch {
	struct writer *w;
	int calls, first, last;
};

static int watch_writer(void *arg)
{
	struct watch *x = arg;
	int c = __atomic_load_n(&x->w->commits, __ATOMIC_ACQUIRE);

	if (x->calls++ == 0)
		x->first = c;
	x->last = c;
	return 0;
}

TEST(relocation, data_group_moves_in_batches_beside_a_writer)
{
	struct env e = { fault_dev_new((uint64_t)DEV_MB * MIB), NULL };
	struct writer w = { 0 };
	struct watch x = { &w, 0, 0, 0 };
	struct reloc_stats st;
	uint64_t start, used, shared;
	char name[48];
	pthread_t t;
	int i;

	CHECK(e.dev);
	CHECK_OK(fs_mkfs(fault_dev_blk(e.dev),
			 &(struct fs_mkfs_opts){ NULL, 4096, 0, NULL }));
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), 0, &e.fs));
	CHECK_OK(fs_quota_enable(e.fs));
	CHECK_OK(populate(e.fs));
	bal_fullest_group(e.fs, BTRFS_BLOCK_GROUP_DATA, &start, &used);
	printf("# data group at %llu: %llu MiB used\n",
	       (unsigned long long)start, (unsigned long long)(used / MIB));
	CHECK(used >= 48 * MIB);
	shared = first_extent(e.fs, "/keep/f00");
	CHECK(shared >= start && shared < start + 64 * MIB);

	w.fs = e.fs;
	CHECK_OK(pthread_create(&t, NULL, write_loop, &w));
	CHECK_OK(reloc_block_group(e.fs, start, watch_writer, &x, &st));
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	CHECK_OK(w.err);
	printf("# %llu MiB in %llu commits (at most %llu KiB each); writer "
	       "committed %d times between the first and the last extent, "
	       "%d in all\n", (unsigned long long)(st.data_bytes / MIB),
	       (unsigned long long)st.commits,
	       (unsigned long long)(st.max_commit_bytes >> 10),
	       x.last - x.first, w.commits);

	/* Batches: several commits, none over the bound. */
	CHECK(st.data_bytes >= (NKEEP - 1) * MIB);
	CHECK(st.commits >= 4);
	CHECK(st.max_commit_bytes <= RELOC_BATCH_BYTES);
	CHECK(st.max_commit_bytes < st.data_bytes);
	/* The writer committed while the group was being moved. */
	CHECK(x.last - x.first >= 2);

	/* The group is gone; the shared extent moved once, still shared. */
	CHECK(!group_exists(e.fs, start));
	shared = first_extent(e.fs, "/keep/f00");
	CHECK(shared < start || shared >= start + 64 * MIB);
	CHECK_EQ(first_extent(e.fs, "/snap/keep/f00"), shared);
	CHECK_EQ(first_extent(e.fs, "/r0"), shared);
	for (i = 0; i < NKEEP; i++) {
		snprintf(name, sizeof(name), "/keep/f%02d", i);
		CHECK(reads_as(e.fs, name, MIB, 'a' + i % 26));
		snprintf(name, sizeof(name), "/snap/keep/f%02d", i);
		CHECK(reads_as(e.fs, name, MIB, 'a' + i % 26));
	}
	CHECK(reads_as(e.fs, "/r0", MIB, 'a'));
	for (i = 0; i < NFREE; i++) {	/* those the writer left */
		snprintf(name, sizeof(name), "/free/g%02d", i);
		if (i >= w.commits)
			CHECK(reads_as(e.fs, name, MIB, 'A' + i));
	}
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

/*
 * A data batch reads only what reaches its extents: beside a file of
 * 1 MiB in the top tree, many small subvolumes (a directory each: none
 * names the group) add nothing to the blocks the relocation visits
 * (the walk is aimed through the back-references, not run over every
 * tree: before, each of them cost at least its root block). With
 * GHEE_RELOC_TREES=N it makes N of them and prints the time, for the
 * host-tool figure of issue 15.
 */
TEST(relocation, data_batch_reads_only_the_trees_naming_it)
{
	const char *s = getenv("GHEE_RELOC_TREES");
	int ntrees = s ? atoi(s) : 200, i;
	struct env e = { fault_dev_new(512ull << 20), NULL };
	struct reloc_stats st;
	uint64_t start, used, t0;
	char name[48];

	CHECK(e.dev);
	CHECK_OK(fs_mkfs(fault_dev_blk(e.dev),
			 &(struct fs_mkfs_opts){ NULL, 4096, 0, NULL }));
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), 0, &e.fs));
	CHECK_OK(put(e.fs, "/big", 0, MIB, 'b'));
	for (i = 0; i < ntrees; i++) {
		snprintf(name, sizeof(name), "/t%05d", i);
		CHECK_OK(fs_subvol_create(e.fs, name));
		snprintf(name, sizeof(name), "/t%05d/d", i);
		CHECK_OK(fs_mkdir(e.fs, name, 0755));
	}
	CHECK_OK(fs_sync(e.fs));
	bal_fullest_group(e.fs, BTRFS_BLOCK_GROUP_DATA, &start, &used);
	CHECK(used >= MIB);
	t0 = time_ns();
	CHECK_OK(reloc_block_group(e.fs, start, NULL, NULL, &st));
	printf("# %d trees: %llu commits, %llu blocks visited, %llu ms\n",
	       ntrees, (unsigned long long)st.commits,
	       (unsigned long long)st.blocks_seen,
	       (unsigned long long)((time_ns() - t0) / 1000000));
	CHECK(st.data_extents >= 1);
	CHECK(st.blocks_seen <= 16);	/* the top tree's path to /big */
	CHECK(reads_as(e.fs, "/big", MIB, 'b'));
	CHECK_OK(env_umount_check(&e, 0));
}

#define CACHE_INO 300	/* a free space cache inode of the root tree */

/*
 * In a commit: a free space cache file (v1) as an older Linux keeps it,
 * a file extent item of inode CACHE_INO in the root tree naming a new
 * 64 KiB data extent, referenced from tree 1. *arg: the extent's start.
 */
static int add_cache_file(struct trans *t, void *arg)
{
	u64 *start = arg, len = 64 << 10;
	struct key k = { CACHE_INO, BTRFS_EXTENT_DATA_KEY, 0 };
	struct dref_key rk = { 0 };
	u8 fe[sizeof(struct d_file_extent_item)] = { 0 };
	int ret = extent_alloc_data_whole(t, len, start);

	if (ret)
		return ret;
	D_SET64(struct d_file_extent_item, fe, generation, t->transid);
	D_SET64(struct d_file_extent_item, fe, ram_bytes, len);
	D_SET8(struct d_file_extent_item, fe, type, BTRFS_FILE_EXTENT_REG);
	D_SET64(struct d_file_extent_item, fe, disk_bytenr, *start);
	D_SET64(struct d_file_extent_item, fe, disk_num_bytes, len);
	D_SET64(struct d_file_extent_item, fe, num_bytes, len);
	rk.bytenr = *start;
	rk.type = BTRFS_EXTENT_DATA_REF_KEY;
	rk.root = BTRFS_ROOT_TREE_OBJECTID;
	rk.owner = CACHE_INO;
	ret = delayed_ref_alloc(t, &rk, len, 1, 0);
	return ret ? ret : ctree_insert_item(t, &t->fs->tree_root, &k, fe,
					     sizeof(fe));
}

/* The address the root tree's cache file item names, or 0. */
static u64 cache_file_addr(struct fs_info *fs)
{
	struct key k = { CACHE_INO, BTRFS_EXTENT_DATA_KEY, 0 };
	struct ctree_path p;
	u64 at = 0;
	u32 size;

	ctree_path_init(&p);
	if (ctree_search_ge(&fs->tree_root, &k, &p) == 0) {
		ctree_item_key(&p, &k);
		if (k.objectid == CACHE_INO && k.type == BTRFS_EXTENT_DATA_KEY)
			at = D_GET64(struct d_file_extent_item,
				     ctree_item_ptr(&p, &size), disk_bytenr);
	}
	ctree_path_release(&p);
	return at;
}

/*
 * The back-reference walker follows data refs in subvolume trees only,
 * so the aimed data batch finds the root tree's file extent items (an
 * older Linux's v1 free space cache files) from their refs: moving the
 * group, the cache file's item names the copy and btrfs check is clean
 * (an item left naming the freed extent fails it). Linux's real v1
 * image: tests/interop/balance_v1.sh.
 */
TEST(relocation, root_tree_file_extent_item_moves_with_its_data)
{
	struct env e = { fault_dev_new(256ull << 20), NULL };
	struct reloc_stats st;
	const struct block_group *bg;
	u64 start, group, at;

	CHECK(e.dev);
	CHECK_OK(fs_mkfs(fault_dev_blk(e.dev),
			 &(struct fs_mkfs_opts){ NULL, 4096, 0, NULL }));
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), 0, &e.fs));
	CHECK_OK(put(e.fs, "/big", 0, MIB, 'b'));
	CHECK_OK(trans_commit_with(e.fs, add_cache_file, &start, 0));
	CHECK_EQ(cache_file_addr(e.fs), start);
	mutex_lock(&e.fs->alloc_lock);
	bg = bg_lookup(e.fs, start);
	group = bg ? bg->start : 0;
	mutex_unlock(&e.fs->alloc_lock);
	CHECK(group != 0);
	CHECK_OK(reloc_block_group(e.fs, group, NULL, NULL, &st));
	at = cache_file_addr(e.fs);
	CHECK(at != 0 && at != start);
	CHECK(!group_exists(e.fs, group));
	CHECK(reads_as(e.fs, "/big", MIB, 'b'));
	CHECK_OK(env_umount_check(&e, 0));
}
