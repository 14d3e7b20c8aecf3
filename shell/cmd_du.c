/*
 * du [-s] [-a] [-c] [-h|--si|-k] [-H] PATH...: coreutils' du. The space of a
 * file is what Linux's stat of a btrfs inode gives as its blocks: its
 * allocated bytes (inode nbytes) rounded up to the sector; a directory's
 * own is 0, as btrfs reports. Each directory's line is its total, below
 * its own; a file with several links counts once, where it is met first
 * (keyed by subvolume and inode number: a snapshot's inodes have the
 * source's numbers). Sizes are in 1K blocks, rounded up, or as -h /
 * --si print them; -H follows symlinks named as arguments. The walk goes into nested subvolumes, as du does (they are
 * other devices only to -x, which ghee does not take).
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>

#include "../lib/u64map.h"
#include "cmd_fs.h"
#include "shell.h"
#include "units.h"

#define DU_DEPTH_MAX 64
#define DU_PATH_MAX 4096
#define SECTOR 4096ull

struct du {
	struct fs_info *fs;
	int all, summarize;	/* -a, -s */
	unsigned base;		/* 1024, or 1000 (--si) */
	int human;		/* -h or --si */
	struct u64map seen;	/* inodes of several links counted, as
				 * subvolume << 40 | inode number */
	int err;		/* the first error met (each said) */
};

static void print_size(const struct du *d, uint64_t bytes, const char *path)
{
	char s[UNITS_STR_MAX];

	if (d->human)
		units_coreutils(bytes, d->base, s, sizeof(s));
	else
		snprintf(s, sizeof(s), "%llu",
			 (unsigned long long)((bytes + 1023) / 1024));
	con_printf("%s\t%s\n", s, path);
}

/* Whether ino (of several links) was counted already; records it. An
 * id past the key's bits (2^24 subvolumes, 2^40 inodes) counts again. */
static int counted(struct du *d, struct fs_ino ino)
{
	uint64_t key = ino.root << 40 | ino.ino;

	if (ino.root >> 24 || ino.ino >> 40)
		return 0;
	if (u64map_get(&d->seen, key, NULL) == 0)
		return 1;
	(void)u64map_put(&d->seen, key, NULL);
	return 0;
}

static void fail(struct du *d, const char *path, int err)
{
	con_eprintf("du: cannot access '%s': %s\n", path,
		    cmd_fs_strerror(err));
	d->err = d->err ? d->err : err;
}

/* The bytes below path (ino), printing the lines du prints for it. */
static uint64_t walk(struct du *d, struct fs_ino ino, char *path,
		     int depth)
{
	struct cmd_fs_dir dir = { 0 };
	struct fs_stat st;
	size_t len = strlen(path);
	uint64_t total;
	uint32_t i;
	int ret = fs_stat(d->fs, ino, &st);

	if (ret) {
		fail(d, path, ret);
		return 0;
	}
	if ((st.mode & 0170000) != 0040000) {
		if (st.nlink > 1 && counted(d, ino))
			return 0;
		total = (st.nbytes + SECTOR - 1) / SECTOR * SECTOR;
		if (d->all || depth == 0)
			print_size(d, total, path);
		return total;
	}
	total = (st.nbytes + SECTOR - 1) / SECTOR * SECTOR;
	ret = depth < DU_DEPTH_MAX ? cmd_fs_dir_read(d->fs, ino, &dir)
				   : -ELOOP;
	if (ret)
		fail(d, path, ret);
	for (i = 0; ret == 0 && i < dir.n; i++) {
		if (len + 1 + strlen(dir.v[i].name) >= DU_PATH_MAX) {
			fail(d, path, -ENAMETOOLONG);
			continue;
		}
		snprintf(path + len, DU_PATH_MAX - len, "%s%s",
			 len && path[len - 1] == '/' ? "" : "/",
			 dir.v[i].name);
		total += walk(d, dir.v[i].ino, path, depth + 1);
		path[len] = 0;
	}
	cmd_fs_dir_free(&dir);
	if (!d->summarize || depth == 0)
		print_size(d, total, path);
	return total;
}

int cmd_du(int argc, char **argv)
{
	struct du d = { .base = 1024 };
	uint64_t grand = 0;
	int i, j, paths = 0, total = 0;
	unsigned follow = 0;	/* -H: a symlink argument is followed */
	char *path;

	for (i = 1; i < argc; i++) {
		if (argv[i][0] != '-' || !argv[i][1]) {
			paths++;
			continue;
		}
		if (!strcmp(argv[i], "--si")) {
			d.human = 1;
			d.base = 1000;
			continue;
		}
		for (j = 1; argv[i][j]; j++) {
			switch (argv[i][j]) {
			case 's': d.summarize = 1; break;
			case 'a': d.all = 1; break;
			case 'c': total = 1; break;
			case 'h': d.human = 1; d.base = 1024; break;
			case 'H': case 'D': follow = FS_LOOKUP_FOLLOW; break;
			case 'k': d.human = 0; break;
			default:
				con_eprintf("du: invalid option -- '%c'\n",
					    argv[i][j]);
				return -EINVAL;
			}
		}
	}
	if (d.all && d.summarize) {
		con_eprintf("du: cannot both summarize and show all "
			    "entries\n");
		return -EINVAL;
	}
	path = kmalloc(DU_PATH_MAX);
	if (!path)
		return -ENOMEM;
	u64map_init(&d.seen, 0);
	for (i = 1; i < argc || !paths; i++) {
		const char *arg = paths ? argv[i] : "/", *inner;
		struct fs_ino ino;
		int ret;

		if (paths && argv[i][0] == '-' && argv[i][1])
			continue;
		d.fs = cmd_fs_path("du", arg, &inner);
		ret = d.fs ? fs_lookup(d.fs, inner, follow, &ino) : -ENOENT;
		if (ret) {
			if (d.fs)
				fail(&d, arg, ret);
			d.err = d.err ? d.err : ret;
		} else {
			snprintf(path, DU_PATH_MAX, "%s", arg);
			grand += walk(&d, ino, path, 0);
		}
		if (!paths)
			break;
	}
	if (total)
		print_size(&d, grand, "total");
	u64map_free(&d.seen);
	kfree(path);
	return d.err;
}
