/*
 * The filesystem balance tests share (balance_fixture.h).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ghee/errno.h>
#include <ghee/sync.h>

#include "../../fs/fs.h"
#include "../../fs/block_group.h"
#include "../../fs/fs_info.h"
#include "balance_fixture.h"

static void pattern(uint8_t *buf, size_t len, int i)
{
	size_t k;

	for (k = 0; k < len; k++)
		buf[k] = (uint8_t)(i * 37 + (int)(k % 241) + (int)(k >> 12));
}

/* File "/bI" of kib KiB. */
static int write_one(struct fs_info *fs, int i, int kib)
{
	static uint8_t buf[1 << 20];
	struct fs_ino ino;
	char name[32];
	size_t len = (size_t)kib << 10;
	int ret;

	if (len > sizeof(buf))
		return -EINVAL;
	snprintf(name, sizeof(name), "/b%d", i);
	pattern(buf, len, i);
	ret = fs_create(fs, name, 0644, &ino);
	if (ret == 0)
		ret = fs_write(fs, ino, 0, buf, len);
	if (ret && ret != -EEXIST)
		fs_unlink(fs, name);	/* a full disk: no half file */
	return ret;
}

int bal_populate(struct fs_info *fs, int nfiles, int kib)
{
	int i, ret = 0;

	for (i = 0; i < nfiles && ret == 0; i++)
		ret = write_one(fs, i, kib);
	return ret ? ret : fs_sync(fs);
}

int bal_populate_one(struct fs_info *fs, int i)
{
	return write_one(fs, i, 1024);
}

int bal_hash_files(struct fs_info *fs, int nfiles, uint64_t *out)
{
	static uint8_t buf[64 << 10];
	struct fs_ino ino;
	struct fs_stat st;
	char name[32];
	size_t done, k;
	uint64_t off, h;
	int i, ret = 0;

	for (i = 0; i < nfiles && ret == 0; i++) {
		snprintf(name, sizeof(name), "/b%d", i);
		out[i] = 0;
		ret = fs_lookup(fs, name, 0, &ino);
		if (ret == -ENOENT) {
			ret = 0;
			continue;
		}
		if (ret == 0)
			ret = fs_stat(fs, ino, &st);
		h = 1469598103934665603ull ^ (ret ? 0 : st.size);
		for (off = 0; ret == 0 && off < st.size; off += done) {
			ret = fs_read(fs, ino, off, buf, sizeof(buf), &done);
			if (ret == 0 && done == 0)
				ret = -EIO;
			for (k = 0; ret == 0 && k < done; k++)
				h = (h ^ buf[k]) * 1099511628211ull;
		}
		out[i] = h;
	}
	return ret;
}

uint32_t bal_groups(struct fs_info *fs, uint64_t *start)
{
	uint32_t i, n = 0;

	mutex_lock(&fs->alloc_lock);
	for (i = 0; i < fs->space.nbg && n < BAL_MAX_GROUPS; i++)
		if (!(fs->space.bg[i]->flags & BTRFS_BLOCK_GROUP_SYSTEM))
			start[n++] = fs->space.bg[i]->start;
	mutex_unlock(&fs->alloc_lock);
	return n;
}

void bal_fullest_group(struct fs_info *fs, uint64_t type, uint64_t *start,
		       uint64_t *used)
{
	uint32_t i;

	*start = *used = 0;
	mutex_lock(&fs->alloc_lock);
	for (i = 0; i < fs->space.nbg; i++) {
		const struct block_group *bg = fs->space.bg[i];

		if ((bg->flags & type) && bg->used > *used) {
			*start = bg->start;
			*used = bg->used;
		}
	}
	mutex_unlock(&fs->alloc_lock);
}

uint32_t bal_groups_left(struct fs_info *fs, const uint64_t *old,
			 uint32_t n)
{
	uint64_t now[BAL_MAX_GROUPS];
	uint32_t m = bal_groups(fs, now), i, j, left = 0;

	for (i = 0; i < n; i++)
		for (j = 0; j < m; j++)
			left += now[j] == old[i];
	return left;
}

int bal_wait_none(struct fs_info *fs, int sec)
{
	struct fs_balance b;
	int i;

	for (i = 0; i < sec * 20; i++) {
		if (fs_balance_status(fs, &b) == -ENOTCONN)
			return 0;
		usleep(50000);
	}
	return -ETIMEDOUT;
}

int bal_finish(struct fs_info *fs, int sec)
{
	struct fs_balance b;
	int i, ret;

	for (i = 0; i < sec * 20; i++) {
		ret = fs_balance_status(fs, &b);
		if (ret == -ENOTCONN)
			return 0;
		if (ret)
			return ret;
		if (!(b.state & FS_BAL_RUNNING)) {
			ret = fs_balance_resume(fs, &b);
			return ret == -ENOTCONN ? 0 : ret;
		}
		usleep(50000);
	}
	return -ETIMEDOUT;
}

#define META_FILES 4000		/* inline files: ~1,000 leaves and more */
#define META_BYTES 2000

/* File dir/mI holds META_BYTES of pattern seed (inline). */
static int write_meta_file(struct fs_info *fs, const char *dir, int i,
			   int seed)
{
	static uint8_t buf[META_BYTES];
	struct fs_ino ino;
	char name[64];
	int k, ret;

	snprintf(name, sizeof(name), "%s/m%d", dir, i);
	for (k = 0; k < META_BYTES; k++)
		buf[k] = (uint8_t)(i * 31 + seed * 7 + k % 251);
	ret = fs_lookup(fs, name, 0, &ino);
	if (ret == -ENOENT)
		ret = fs_create(fs, name, 0644, &ino);
	return ret ? ret : fs_write(fs, ino, 0, buf, META_BYTES);
}

/* One hash of every file dir/mI. */
static int hash_meta_files(struct fs_info *fs, const char *dir,
			   uint64_t *out)
{
	static uint8_t buf[META_BYTES];
	uint64_t h = 1469598103934665603ull;
	struct fs_ino ino;
	char name[64];
	size_t done, k;
	int i, ret = 0;

	for (i = 0; i < META_FILES && ret == 0; i++) {
		snprintf(name, sizeof(name), "%s/m%d", dir, i);
		ret = fs_lookup(fs, name, 0, &ino);
		if (ret == 0)
			ret = fs_read(fs, ino, 0, buf, sizeof(buf), &done);
		if (ret == 0 && done != META_BYTES)
			ret = -EIO;
		for (k = 0; ret == 0 && k < done; k++)
			h = (h ^ buf[k]) * 1099511628211ull;
	}
	*out = h;
	return ret;
}

int bal_populate_meta(struct fs_info *fs)
{
	int i, ret = fs_subvol_create(fs, "/sv");

	for (i = 0; i < META_FILES && ret == 0; i++)
		ret = write_meta_file(fs, "/sv", i, 0);
	if (ret == 0)
		ret = fs_subvol_snapshot(fs, "/sv", "/s1", FS_SNAP_RDONLY);
	if (ret == 0)
		ret = fs_subvol_snapshot(fs, "/sv", "/s2", FS_SNAP_RDONLY);
	for (i = 0; i < META_FILES && ret == 0; i += 3)
		ret = write_meta_file(fs, "/sv", i, 1);
	if (ret == 0)
		ret = fs_subvol_snapshot(fs, "/sv", "/s3", FS_SNAP_RDONLY);
	return ret ? ret : fs_sync(fs);
}

int bal_hash_meta(struct fs_info *fs, uint64_t *out)
{
	int ret = hash_meta_files(fs, "/sv", &out[0]);

	if (ret == 0)
		ret = hash_meta_files(fs, "/s1", &out[1]);
	if (ret == 0)
		ret = hash_meta_files(fs, "/s3", &out[2]);
	return ret;
}
