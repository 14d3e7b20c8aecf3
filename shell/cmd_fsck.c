/*
 * `fsck [DISK]`: ghee's own filesystem check (fs/check.c) of the mounted
 * filesystem, or of DISK, mounted read-only for the check and unmounted
 * after. It checks the last commit: run sync first to include changes
 * still in the running transaction.
 *
 * Prints the problems, then one summary line:
 *   "fsck: vda generation 12: 9 trees, 40 tree blocks, ...: no errors"
 * and fails with -EUCLEAN when it found any. Its progress shows in `jobs`;
 * kill or Ctrl-C stops it between two trees or steps.
 */
#include <ghee/errno.h>
#include <string.h>

#include <ghee/blk.h>
#include <ghee/console.h>
#include <ghee/progress.h>
#include <ghee/task.h>

#include "../fs/fs.h"
#include "cmd_fs.h"
#include "shell.h"

static int check_and_report(struct fs_info *fs, const char *disk)
{
	struct fs_check_report r;
	int ret = fs_check(fs, &r);
	struct progress p;

	if (fs_is_metadump(fs))
		con_printf("fsck: %s is a metadata dump (btrfs-image): file "
			   "data is not there and not checked\n", disk);
	if (ret == -ECANCELED) {
		progress_get(task_id(task_current()), &p);
		con_eprintf("fsck: %s: cancelled in '%s' after %llu of %llu %s "
			    "(the check changes nothing)\n", disk,
			    p.phase ? p.phase : "?", (unsigned long long)p.done,
			    (unsigned long long)p.total, p.unit ? p.unit : "");
		return ret;
	}
	if (ret && ret != -EUCLEAN) {
		con_eprintf("fsck: %s: the check failed: %s (errno %d)\n", disk,
			    cmd_fs_err_text(ret), -ret);
		return ret;
	}
	con_printf("fsck: %s generation %llu: %llu trees, %llu tree blocks, "
		   "%llu extents, %llu back-references, %llu block groups, "
		   "%llu chunks, %llu device extents, %llu checksummed "
		   "bytes, %llu inodes, %llu directory entries: ", disk,
		   (unsigned long long)r.generation,
		   (unsigned long long)r.trees,
		   (unsigned long long)r.tree_blocks,
		   (unsigned long long)r.extents,
		   (unsigned long long)r.backrefs,
		   (unsigned long long)r.block_groups,
		   (unsigned long long)r.chunks,
		   (unsigned long long)r.dev_extents,
		   (unsigned long long)r.csum_bytes,
		   (unsigned long long)r.inodes,
		   (unsigned long long)r.dir_entries);
	if (r.errors)
		con_printf("%llu errors\n", (unsigned long long)r.errors);
	else
		con_printf("no errors\n");
	return ret;
}

int cmd_fsck(int argc, char **argv)
{
	struct fs_info *fs;
	struct blkdev *dev;
	int ret;

	if (argc == 1) {
		fs = cmd_fs_mounted(argv[0]);
		return fs ? check_and_report(fs, cmd_fs_disk_name(fs)) : -ENOENT;
	}
	fs = cmd_fs_by_disk(argv[1]);
	if (fs)
		return check_and_report(fs, argv[1]);
	dev = blk_lookup(argv[1]);
	if (!dev) {
		con_eprintf("fsck: no disk named '%s'\n", argv[1]);
		return -ENODEV;
	}
	ret = cmd_disk_claim("fsck", dev);	/* no mount under the check */
	if (ret)
		return ret;
	ret = fs_mount(dev, FS_MOUNT_RO, &fs);
	if (ret) {
		con_eprintf("fsck: %s: cannot mount: %s (errno %d)\n", argv[1],
			    cmd_fs_err_text(ret), -ret);
	} else {
		ret = check_and_report(fs, dev->name);
		fs_umount(fs);
	}
	cmd_disk_unclaim(dev);
	return ret;
}
