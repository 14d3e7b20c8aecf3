/*
 * dedupe scan [-r] [--min SIZE] PATH...: gather the regular files named
 * (and, with -r, every regular file below the directories named; a
 * directory without -r is left, with a note, as duperemove does), all on
 * one filesystem, and let fs_dedupe_scan find and share their equal
 * ranges. Prints what it did:
 *   scanned N files, X bytes hashed; deduped R ranges, Y bytes; D differed
 * --min (default 128K, duperemove's block size): the shortest range
 * shared. Runs as the command's task: `jobs` shows its progress, `kill`
 * or Ctrl-C stops it between ranges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>
#include <ghee/errno.h>

#include "cmd_fs.h"
#include "shell.h"

#include "../fs/fs.h"

#define SCAN_MIN_DEFAULT (128 * 1024)
#define SCAN_DEPTH_MAX 64

/* The files gathered. */
struct scan_files {
	struct fs_info *fs;
	struct fs_ino *v;
	uint32_t n, cap;
};

static int add_file(struct scan_files *s, struct fs_ino ino)
{
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 64;
		struct fs_ino *v = kmalloc(cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		if (s->n)
			memcpy(v, s->v, s->n * sizeof(*v));
		kfree(s->v);
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = ino;
	return 0;
}

static int ino_cmp(const void *x, const void *y)
{
	const struct fs_ino *a = x, *b = y;

	if (a->root != b->root)
		return a->root < b->root ? -1 : 1;
	return a->ino < b->ino ? -1 : a->ino > b->ino;
}

/* Keep each file once (a file named twice, or met twice through hard
 * links, would be its own duplicate). */
static void unique(struct scan_files *s)
{
	uint32_t i, n = 0;

	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), ino_cmp);
	for (i = 0; i < s->n; i++)
		if (n == 0 || ino_cmp(&s->v[n - 1], &s->v[i]))
			s->v[n++] = s->v[i];
	s->n = n;
}

/* Add ino (named path) and, when it is a directory and recurse, what is
 * below it. */
static int gather(struct scan_files *s, struct fs_ino ino, const char *path,
		  int recurse, int depth)
{
	struct cmd_fs_dir d = { 0 };
	struct fs_stat st;
	uint32_t i;
	int ret = fs_stat(s->fs, ino, &st);

	if (ret)
		return ret;
	if ((st.mode & 0170000) == 0100000)
		return add_file(s, ino);
	if ((st.mode & 0170000) != 0040000)
		return 0;
	if (!recurse) {
		con_eprintf("dedupe scan: %s: a directory (-r walks it)\n",
			    path);
		return 0;
	}
	if (depth >= SCAN_DEPTH_MAX)
		return -ENAMETOOLONG;
	ret = cmd_fs_dir_read(s->fs, ino, &d);
	for (i = 0; i < d.n && ret == 0; i++)
		if (d.v[i].type == FS_FT_REG || d.v[i].type == FS_FT_DIR)
			ret = gather(s, d.v[i].ino, d.v[i].name, recurse,
				     depth + 1);
	cmd_fs_dir_free(&d);
	return ret;
}

/* Parse the options; *first gets the index of the first PATH. */
static int parse(int argc, char **argv, int *recurse, uint64_t *min,
		 int *first)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-r"))
			*recurse = 1;
		else if (!strcmp(argv[i], "--min") && i + 1 < argc &&
			 !shell_parse_u64(argv[i + 1], "--min", min))
			i++;
		else
			return -EINVAL;
	}
	*first = i;
	return i < argc ? 0 : -EINVAL;
}

int cmd_dedupe_scan(int argc, char **argv)
{
	struct scan_files s = { NULL, NULL, 0, 0 };
	struct fs_dedupe_scan_report rep;
	uint64_t min = SCAN_MIN_DEFAULT;
	int recurse = 0, first, i, ret;
	struct fs_info *fs;
	struct fs_ino ino;
	const char *in;

	ret = parse(argc, argv, &recurse, &min, &first);
	for (i = first; i < argc && ret == 0; i++) {
		fs = cmd_fs_path("dedupe scan", argv[i], &in);
		if (!fs)
			ret = -ENOENT;
		else if (s.fs && fs != s.fs)
			ret = -EXDEV;
		s.fs = fs;
		if (ret == 0)
			ret = fs_lookup(fs, in, FS_LOOKUP_FOLLOW, &ino);
		if (ret == 0)
			ret = gather(&s, ino, argv[i], recurse, 0);
		if (ret && ret != -EINVAL)
			con_eprintf("dedupe scan: %s: %s\n", argv[i],
				    cmd_fs_err_text(ret));
	}
	if (ret)
		goto out_free;
	unique(&s);
	ret = fs_dedupe_scan(s.fs, s.v, s.n, min, &rep);
	if (ret == 0 || ret == -ECANCELED)
		con_printf("scanned %llu files, %llu bytes hashed; deduped "
			   "%llu ranges, %llu bytes; %llu differed%s\n",
			   (unsigned long long)rep.files,
			   (unsigned long long)rep.bytes,
			   (unsigned long long)rep.ranges,
			   (unsigned long long)rep.deduped,
			   (unsigned long long)rep.differed,
			   ret ? " (cancelled)" : "");
	else
		con_eprintf("dedupe scan: %s\n", cmd_fs_err_text(ret));
out_free:
	kfree(s.v);
	return ret;
}
