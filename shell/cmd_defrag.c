/*
 * filesystem defragment [-r] [-v] [-c[ALG]] [-f] [-s START] [-l LEN]
 * [-t SIZE] PATH...: btrfs-progs 6.2's command, snapshot-aware
 * (fs_defrag, fs/defrag.c): each regular file named (with -r, every one
 * below the directories named; a directory without -r is left, as
 * progs leaves it) has its fragmented ranges rewritten into extents of up
 * to SIZE (default 32M) and every snapshot, reflink and dedupe sharing
 * the old data is pointed at the new extents. -v prints each file, and
 * what was done. -c (compress while rewriting) is not supported yet;
 * -f (flush) is accepted: every step commits. Runs as the command's
 * task: `jobs` shows its progress, `kill` or Ctrl-C stops it between
 * steps with the filesystem consistent.
 */
#include <stdio.h>
#include <string.h>

#include <ghee/console.h>
#include <ghee/errno.h>

#include "cmd_fs.h"
#include "shell.h"

#include "../fs/fs.h"

#define DEFRAG_DEPTH_MAX 64

/* The command's options. */
struct defrag_args {
	struct fs_defrag_opts o;
	int recurse, verbose, first;
};

/* Parse the options; a->first gets the index of the first PATH. */
static int parse(int argc, char **argv, struct defrag_args *a)
{
	static const char *const valued[] = { "-s", "-l", "-t", NULL };
	int i;

	shell_options_first(argc, argv, valued);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];
		uint64_t *num = NULL;

		if (!strcmp(o, "-r"))
			a->recurse = 1;
		else if (!strcmp(o, "-v"))
			a->verbose = 1;
		else if (!strcmp(o, "-f"))
			;	/* each step commits: always flushed */
		else if (!strncmp(o, "-c", 2)) {
			con_eprintf("ERROR: defragment: compression while "
				    "defragmenting (-c) is not supported "
				    "yet\n");
			return -EOPNOTSUPP;
		} else if (!strcmp(o, "-s"))
			num = &a->o.start;
		else if (!strcmp(o, "-l"))
			num = &a->o.len;
		else if (!strcmp(o, "-t"))
			num = &a->o.target;
		else
			return -EINVAL;
		if (num && (i + 1 >= argc ||
			    shell_parse_u64(argv[i + 1], o, num)))
			return -EINVAL;
		if (num)
			i++;
	}
	a->first = i;
	return i < argc ? 0 : -EINVAL;
}

static int defrag_path(struct fs_info *fs, struct fs_ino ino,
		       const char *path, const struct defrag_args *a,
		       int depth);

/* Defragment what lies below directory ino (-r). */
static int defrag_dir(struct fs_info *fs, struct fs_ino ino,
		      const char *path, const struct defrag_args *a,
		      int depth)
{
	struct cmd_fs_dir d = { 0 };
	char sub[4096];
	uint32_t i;
	int ret;

	if (depth >= DEFRAG_DEPTH_MAX)
		return -ENAMETOOLONG;
	ret = cmd_fs_dir_read(fs, ino, &d);
	for (i = 0; i < d.n && ret == 0; i++) {
		if (d.v[i].type != FS_FT_REG && d.v[i].type != FS_FT_DIR)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, d.v[i].name);
		ret = defrag_path(fs, d.v[i].ino, sub, a, depth + 1);
	}
	cmd_fs_dir_free(&d);
	return ret;
}

/* Defragment the file ino (path), or below it when a directory. */
static int defrag_path(struct fs_info *fs, struct fs_ino ino,
		       const char *path, const struct defrag_args *a,
		       int depth)
{
	struct fs_defrag_report rep;
	struct fs_stat st;
	int ret = fs_stat(fs, ino, &st);

	if (ret)
		return ret;
	if ((st.mode & 0170000) == 0040000)
		return a->recurse ? defrag_dir(fs, ino, path, a, depth) : 0;
	if ((st.mode & 0170000) != 0100000)
		return 0;
	if (a->verbose)
		con_printf("%s\n", path);
	ret = fs_defrag(fs, ino, &a->o, &rep);
	if (a->verbose && (ret == 0 || ret == -ECANCELED))
		con_printf("defragmented %llu ranges, %llu bytes; repointed "
			   "%llu extent items in %llu trees, %llu blocks "
			   "copied, %llu commits (longest %llu ms)%s\n",
			   (unsigned long long)rep.runs,
			   (unsigned long long)rep.bytes,
			   (unsigned long long)rep.items,
			   (unsigned long long)rep.trees,
			   (unsigned long long)rep.blocks,
			   (unsigned long long)rep.steps,
			   (unsigned long long)(rep.longest_step_ns / 1000000),
			   ret ? " (cancelled)" : "");
	if (ret)
		con_eprintf("ERROR: defrag failed on %s: %s\n", path,
			    cmd_fs_err_text(ret));
	return ret;
}

int cmd_filesystem_defragment(int argc, char **argv)
{
	struct defrag_args a;
	int i, ret, err = 0;

	memset(&a, 0, sizeof(a));
	ret = parse(argc, argv, &a);
	if (ret)
		return ret == -EOPNOTSUPP ? 1 : ret;
	for (i = a.first; i < argc; i++) {
		struct fs_info *fs;
		struct fs_ino ino;
		const char *in;

		fs = cmd_fs_path("defragment", argv[i], &in);
		ret = fs ? fs_lookup(fs, in, FS_LOOKUP_FOLLOW, &ino) : -ENOENT;
		if (ret == 0)
			ret = defrag_path(fs, ino, argv[i], &a, 0);
		else if (fs)
			con_eprintf("ERROR: cannot open %s: %s\n", argv[i],
				    cmd_fs_err_text(ret));
		if (ret)
			err = ret;
		if (ret == -ECANCELED)
			break;
	}
	return err ? 1 : 0;
}
