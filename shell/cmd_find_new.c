/*
 * `subvolume find-new PATH LASTGEN` in btrfs-progs 6.2's shape: after a
 * commit, one line per file extent of the subvolume written at LASTGEN
 * or later (fs/find_new.c), with the file's first name inside the
 * subvolume, then "transid marker was GEN" (the subvolume's generation:
 * the LASTGEN for the next call).
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>

#include "../fs/format.h"
#include "../fs/fs.h"
#include "cmd_fs.h"
#include "cmd_subvol.h"
#include "shell.h"

#define NAME_MAX_PATH 4096

/* The listing's state: the subvolume, and the last inode's name. */
struct find_new {
	struct fs_info *fs;
	uint64_t root;
	uint64_t ino;		/* whose name is in name; 0: none yet */
	char *name;		/* NAME_MAX_PATH bytes; "" when it has none */
};

static int first_name(void *ctx, const char *path)
{
	snprintf(ctx, NAME_MAX_PATH, "%s", path);
	return 1;
}

static int print_extent(void *ctx, const struct fs_new_extent *e)
{
	struct find_new *f = ctx;
	struct fs_ino ino = { f->root, e->ino };
	int flags = 0;

	if (e->ino != f->ino) {
		f->name[0] = 0;
		f->ino = e->ino;
		if (fs_inode_paths(f->fs, ino, first_name, f->name) < 0)
			f->name[0] = 0;
	}
	if (!f->name[0])	/* no name: btrfs-progs skips it too */
		return 0;
	con_printf("inode %llu file offset %llu len %llu disk start %llu "
		   "offset %llu gen %llu flags ", (unsigned long long)e->ino,
		   (unsigned long long)e->offset, (unsigned long long)e->len,
		   (unsigned long long)e->disk_start,
		   (unsigned long long)e->disk_offset,
		   (unsigned long long)e->gen);
	if (e->compression)
		con_printf("%s", flags++ ? "|COMPRESS" : "COMPRESS");
	if (e->type == BTRFS_FILE_EXTENT_PREALLOC)
		con_printf("%s", flags++ ? "|PREALLOC" : "PREALLOC");
	if (e->type == BTRFS_FILE_EXTENT_INLINE)
		con_printf("%s", flags++ ? "|INLINE" : "INLINE");
	con_printf("%s %s\n", flags ? "" : "NONE", f->name);
	return 0;
}

int cmd_subvolume_find_new(int argc, char **argv)
{
	struct find_new f = { NULL, 0, 0, NULL };
	struct fs_subvol *sv;
	uint64_t gen;
	const char *in;
	int ret;

	if (argc != 3)
		return -EINVAL;
	if (shell_parse_u64(argv[2], "LASTGEN", &gen))
		return 1;
	f.fs = cmd_fs_path("subvolume find-new", argv[1], &in);
	if (!f.fs)
		return -ENOENT;
	sv = kmalloc(sizeof(*sv));
	f.name = kmalloc(NAME_MAX_PATH);
	ret = sv && f.name ? fs_subvol_get(f.fs, in, sv) : -ENOMEM;
	if (ret == -EINVAL || ret == -ENOTDIR)
		con_eprintf("ERROR: Not a Btrfs subvolume: %s\n",
			    cmd_fs_strerror(-EINVAL));
	else if (ret)
		con_eprintf("ERROR: %s: %s\n", argv[1], cmd_fs_strerror(ret));
	if (ret == 0)
		ret = fs_sync(f.fs);
	if (ret == 0) {
		f.root = sv->id;
		ret = fs_find_new(f.fs, f.root, gen, print_extent, &f);
		if (ret)
			con_eprintf("ERROR: can't perform the search: %s\n",
				    cmd_fs_strerror(ret));
	}
	/* the marker: the subvolume's generation after the commit */
	if (ret == 0 && (ret = fs_subvol_get(f.fs, in, sv)) == 0)
		con_printf("transid marker was %llu\n",
			   (unsigned long long)sv->generation);
	kfree(f.name);
	kfree(sv);
	return ret ? 1 : 0;
}
