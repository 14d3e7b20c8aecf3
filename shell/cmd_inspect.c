/*
 * `inspect-internal logical-resolve` and `inode-resolve`, in btrfs-progs
 * 6.2's shape: the same options and output lines, on the mounted
 * filesystem (PATH is a path inside it). logical-resolve asks the
 * back-reference walker (fs_logical_resolve) who uses the data extent
 * holding LOGICAL and prints, per (inode, offset, root), either that
 * triple (-P) or every path of the inode: btrfs-progs prints PATH/<name>
 * for the top level, and for another subvolume its own mount point
 * followed by the name; in ghee every subvolume is reachable below the
 * top level, so that mount point is PATH/<subvolume path>. Hits are
 * printed by root, the highest id first, as Linux's walk usually lists
 * them; then by inode and offset.
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>

#include "../fs/format.h"
#include "cmd_fs.h"
#include "cmd_inspect.h"
#include "shell.h"

/* The data container's header and one hit, in bytes (btrfs ioctl). */
#define CONTAINER_HEADER 16
#define HIT_BYTES 24
#define MAX_BUFSIZE (16u << 20)

/* Print "prefix/path" for each path of an inode. */
static int print_path(void *ctx, const char *path)
{
	con_printf("%s/%s\n", (const char *)ctx, path);
	return 0;
}

/* The hits of a walk, copied out: as many as btrfs's container of the
 * -s size holds (the rest are left out, as there). */
struct hits {
	struct fs_logical_hit *v;
	uint32_t n, max;
};

static int hit_keep(void *ctx, const struct fs_logical_hit *h)
{
	struct hits *c = ctx;

	if (c->n == c->max)
		return 1;
	c->v[c->n++] = *h;
	return 0;
}

/* Print the paths of one hit, prefixed by where its subvolume is. */
static int print_hit_paths(struct fs_info *fs, const char *path,
			   const struct fs_logical_hit *h)
{
	size_t plen = strlen(path);
	char *mnt = kmalloc(4096), *name = kmalloc(4096);
	struct fs_ino ino = { h->root, h->ino };
	int ret = mnt && name ? 0 : -ENOMEM;

	if (ret)
		goto out;
	ret = fs_subvol_path(fs, h->root, name, 4096);
	if (ret == 0 && !name[0])
		snprintf(mnt, 4096, "%s", path);
	else if (ret == 0)
		snprintf(mnt, 4096, "%s%s%s", path,
			 plen && path[plen - 1] == '/' ? "" : "/", name);
	if (ret == 0)
		ret = fs_inode_paths(fs, ino, print_path, mnt);
	if (ret)
		con_eprintf("ERROR: ino paths ioctl: %s\n",
			    cmd_fs_err_text(ret));
out:
	kfree(mnt);
	kfree(name);
	return ret;
}

/* Print the hits (in (root, ino, offset) order) by root, the highest
 * first. */
static int print_hits(struct fs_info *fs, const struct hits *h, int getpath,
		      const char *path)
{
	uint32_t end = h->n, start, i;
	int ret = 0;

	while (end > 0 && ret == 0) {
		for (start = end - 1; start > 0 &&
		     h->v[start - 1].root == h->v[end - 1].root; start--)
			;
		for (i = start; i < end && ret == 0; i++) {
			const struct fs_logical_hit *x = &h->v[i];

			if (getpath)
				ret = print_hit_paths(fs, path, x);
			else
				con_printf("inode %llu offset %llu root %llu\n",
					   (unsigned long long)x->ino,
					   (unsigned long long)x->offset,
					   (unsigned long long)x->root);
		}
		end = start;
	}
	return ret;
}

int cmd_inspect_logical_resolve(int argc, char **argv)
{
	struct fs_info *fs;
	const char *in;
	uint64_t logical, size = 65536;
	struct hits h = { NULL, 0, 0 };
	unsigned flags = 0;
	struct fs_ino dir;
	int i, getpath = 1, ret;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *c = argv[i] + 1;

		for (; *c; c++) {
			if (*c == 'P')
				getpath = 0;
			else if (*c == 'o')
				flags |= FS_LOGICAL_IGNORE_OFFSET;
			else if (*c == 's' && !c[1] && i + 1 < argc &&
				 !shell_parse_u64(argv[++i], "bufsize", &size))
				break;
			else if (*c != 'v')
				return -EINVAL;
		}
	}
	if (argc - i != 2 || shell_parse_u64(argv[i], "logical", &logical))
		return -EINVAL;
	fs = cmd_fs_path("inspect-internal logical-resolve", argv[i + 1], &in);
	if (!fs)
		return -ENOENT;
	ret = fs_lookup(fs, in, FS_LOOKUP_FOLLOW, &dir);
	if (ret) {
		con_eprintf("ERROR: cannot access '%s': %s\n", argv[i + 1],
			    cmd_fs_err_text(ret));
		return ret;
	}
	size = size > MAX_BUFSIZE ? MAX_BUFSIZE : size;
	h.max = size > CONTAINER_HEADER ?
		(uint32_t)((size - CONTAINER_HEADER) / HIT_BYTES) : 0;
	h.v = kmalloc((h.max + 1) * sizeof(*h.v));
	if (!h.v)
		return -ENOMEM;
	ret = fs_logical_resolve(fs, logical, flags, hit_keep, &h);
	if (ret)
		con_eprintf("ERROR: logical ino ioctl: %s\n",
			    cmd_fs_err_text(ret));
	if (ret == 0)
		ret = print_hits(fs, &h, getpath, argv[argc - 1]);
	kfree(h.v);
	return ret;
}

int cmd_inspect_inode_resolve(int argc, char **argv)
{
	struct fs_info *fs;
	struct fs_ino dir;
	const char *in;
	uint64_t ino;
	int i = 1, ret;

	if (i < argc && !strcmp(argv[i], "-v"))
		i++;
	if (argc - i != 2 || shell_parse_u64(argv[i], "inode", &ino))
		return -EINVAL;
	fs = cmd_fs_path("inspect-internal inode-resolve", argv[i + 1], &in);
	if (!fs)
		return -ENOENT;
	ret = fs_lookup(fs, in, FS_LOOKUP_FOLLOW, &dir);
	if (ret == 0) {
		dir.ino = ino;
		ret = fs_inode_paths(fs, dir, print_path, argv[i + 1]);
	}
	if (ret)
		con_eprintf("ERROR: ino paths ioctl: %s\n",
			    cmd_fs_err_text(ret));
	return ret;
}

/* inspect-internal rootid PATH: the id of the subvolume holding PATH. */
int cmd_inspect_rootid(int argc, char **argv)
{
	struct fs_info *fs;
	struct fs_ino ino;
	const char *in;
	int ret;

	if (argc != 2)
		return -EINVAL;
	fs = cmd_fs_path("inspect-internal rootid", argv[1], &in);
	if (!fs)
		return -ENOENT;
	ret = fs_lookup(fs, in, FS_LOOKUP_FOLLOW, &ino);
	if (ret) {
		con_eprintf("ERROR: cannot access '%s': %s\n", argv[1],
			    cmd_fs_strerror(ret));
		return ret;
	}
	con_printf("%llu\n", (unsigned long long)ino.root);
	return 0;
}

/* subvolid-resolve: the path of one subvolume from the top level. */
struct resolve_ctx {
	uint64_t id;
	int found;
};

static int resolve_print(void *ctx, const struct fs_subvol *sv)
{
	struct resolve_ctx *c = ctx;

	if (sv->id != c->id)
		return 0;
	con_printf("%s\n", sv->path);
	c->found = 1;
	return 1;
}

int cmd_inspect_subvolid_resolve(int argc, char **argv)
{
	struct resolve_ctx c = { 0, 0 };
	struct fs_info *fs;
	const char *in;
	int ret;

	if (argc != 3 || shell_parse_u64(argv[1], "subvolid", &c.id))
		return -EINVAL;
	fs = cmd_fs_path("inspect-internal subvolid-resolve", argv[2], &in);
	if (!fs)
		return -ENOENT;
	if (c.id == BTRFS_FS_TREE_OBJECTID) {
		con_printf("\n");	/* the top level: an empty path */
		return 0;
	}
	ret = fs_subvol_list(fs, resolve_print, &c);
	if (ret == 0 && !c.found)
		ret = -ENOENT;
	if (ret)
		con_eprintf("ERROR: resolving subvolid %llu error %d\n",
			    (unsigned long long)c.id, ret);
	return ret;
}
