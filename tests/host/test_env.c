/* What the filesystem tests share (test_env.h). */
#include <stdio.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/ctree.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/subvol.h"
#include "../../fs/volumes.h"
#include "shim/fault_dev.h"
#include "test.h"
#include "test_env.h"

int env_mkfs_mount(struct env *e, uint32_t nodesize)
{
	struct fs_mkfs_opts o = { NULL, nodesize, 0, NULL };

	e->fs = NULL;
	e->dev = fault_dev_new(ENV_DEV_BYTES);
	if (!e->dev || fs_mkfs(fault_dev_blk(e->dev), &o))
		return -EIO;
	return fs_mount(fault_dev_blk(e->dev), 0, &e->fs);
}

int env_umount_check(struct env *e, int qgroups)
{
	int bad = 0;

	if (e->fs)
		fs_umount(e->fs);
	if (e->dev)
		bad = test_btrfs_check(__FILE__, __LINE__, qgroups ?
				       fault_dev_btrfs_check_qgroups(e->dev) :
				       fault_dev_btrfs_check(e->dev));
	fault_dev_free(e->dev);
	return bad ? -EUCLEAN : 0;
}

int put(struct fs_info *fs, const char *path, uint64_t off, size_t len,
	int c)
{
	static char buf[PUT_MAX];
	struct fs_ino ino;
	int ret = fs_lookup(fs, path, 0, &ino);

	if (len > sizeof(buf))
		return -EINVAL;
	if (ret == -ENOENT)
		ret = fs_create(fs, path, 0644, &ino);
	if (ret)
		return ret;
	memset(buf, c, len);
	return fs_write(fs, ino, off, buf, len);
}

int make_files(struct fs_info *fs, const char *dir, int n, int c)
{
	char name[64];
	int i, ret = fs_mkdir(fs, dir, 0755);

	for (i = 0; i < n && ret == 0; i++) {
		snprintf(name, sizeof(name), "%s/f%05d", dir, i);
		ret = put(fs, name, 0, 5000, c);
	}
	return ret;
}

int dead_progress(struct fs_info *fs, uint64_t id, struct key *k)
{
	u8 item[sizeof(struct d_root_item)];
	u32 size;
	int ret = subvol_read_root_item(fs, id, item, &size);

	if (ret == 0)
		key_from_disk(k, D_PTR(struct d_root_item, item,
				       drop_progress));
	return ret;
}

uint64_t first_extent(struct fs_info *fs, const char *path)
{
	const struct subvol_root *sv;
	struct ctree_path p;
	struct fs_ino ino;
	struct key k;
	uint64_t l = 0;
	u32 size;

	if (fs_lookup(fs, path, 0, &ino) || subvol_get(fs, ino.root, &sv))
		return 0;
	k.objectid = ino.ino;
	k.type = BTRFS_EXTENT_DATA_KEY;
	k.offset = 0;
	ctree_path_init(&p);
	if (ctree_lookup(&sv->root, &k, &p) == 0)
		l = D_GET64(struct d_file_extent_item,
			    ctree_item_ptr(&p, &size), disk_bytenr);
	ctree_path_release(&p);
	return l;
}

uint64_t phys(struct fs_info *fs, uint64_t l, uint32_t copy)
{
	const struct chunk_mapping *m = volumes_lookup(fs, l, 1);

	return m && copy < m->num_stripes ?
	       m->physical[copy] + (l - m->logical) : 0;
}

int file_hash(struct fs_info *fs, const char *path, uint64_t *h)
{
	static uint8_t buf[64 * 1024];
	struct fs_ino ino;
	struct fs_stat st;
	size_t done, k;
	uint64_t off;
	int ret = fs_lookup(fs, path, 0, &ino);

	*h = 0;
	if (ret == -ENOENT)
		return 0;
	if (ret == 0)
		ret = fs_stat(fs, ino, &st);
	*h = 1469598103934665603ull ^ (ret ? 0 : st.size);
	for (off = 0; ret == 0 && off < st.size; off += done) {
		ret = fs_read(fs, ino, off, buf, sizeof(buf), &done);
		if (ret == 0 && done == 0)
			ret = -EIO;
		for (k = 0; ret == 0 && k < done; k++)
			*h = (*h ^ buf[k]) * 1099511628211ull;
	}
	return ret;
}
