/*
 * `filesystem du [-s|--summarize] [UNITS] PATH...`, in btrfs-progs' shape:
 * for every regular file and directory under each PATH (with -s, for
 * each PATH only) the bytes of its extents (Total), those nothing else
 * refers to (Exclusive), and for each PATH itself the bytes of the
 * distinct shared extents under it, each counted once (Set shared).
 *
 * As btrfs-progs' du counts (it reads FIEMAP; ghee reads fs_fiemap):
 * inline extents count nothing, they take no data space; an extent
 * counts its file bytes (num_bytes), compressed or not; symlinks and
 * special files count nothing and print no line; a file with several
 * hard links counts once per PATH, at its first name. A directory's line
 * follows its contents'. The walk keeps a heap stack, not recursion, as
 * tree and find do.
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>

#include "../fs/fs.h"
#include "../lib/u64map.h"
#include "cmd_fs.h"
#include "shell.h"
#include "units.h"

#define DU_PATH_MAX 4096	/* longest path printed */
#define DU_DEPTH_MAX 256	/* deepest directory entered */

/* A shared extent's bytes on disk, for Set shared. */
struct du_range {
	uint64_t start, len;
};

/* One open directory and the sums of what was counted in it so far. */
struct du_level {
	struct cmd_fs_dir d;
	uint32_t next;		/* next entry to visit */
	size_t path_len;	/* length of this directory's path */
	uint64_t total, shared;
};

/* Inodes with more than one link already counted, per subvolume. */
struct du_seen {
	uint64_t root;
	struct u64map inos;
};

/* One PATH's walk. */
struct du {
	struct fs_info *fs;
	const struct units *u;
	int summarize;
	char *path;			/* DU_PATH_MAX bytes */
	struct du_level *lv;		/* DU_DEPTH_MAX levels */
	int depth;
	struct du_range *ranges;	/* shared extents met */
	uint64_t nranges, cap;
	struct du_seen *seen;		/* per subvolume met */
	uint32_t nseen, seen_cap;
};

static void du_line(const struct du *w, uint64_t total, uint64_t shared,
		    const char *set_shared)
{
	char t[UNITS_STR_MAX], e[UNITS_STR_MAX];

	units_format(w->u, total, t, sizeof(t));
	units_format(w->u, total - shared, e, sizeof(e));
	con_printf("%10s  %10s  %10s  %s\n", t, e, set_shared, w->path);
}

/* The hard links counted in subvolume root, added when new. */
static struct du_seen *du_seen_root(struct du *w, uint64_t root)
{
	struct du_seen *v;
	uint32_t i;

	for (i = 0; i < w->nseen; i++)
		if (w->seen[i].root == root)
			return &w->seen[i];
	if (w->nseen == w->seen_cap) {
		uint32_t cap = w->seen_cap ? w->seen_cap * 2 : 8;

		v = kmalloc(cap * sizeof(*v));
		if (!v)
			return NULL;
		if (w->nseen)
			memcpy(v, w->seen, w->nseen * sizeof(*v));
		kfree(w->seen);
		w->seen = v;
		w->seen_cap = cap;
	}
	v = &w->seen[w->nseen++];
	v->root = root;
	u64map_init(&v->inos, 0);
	return v;
}

/* Whether file ino was counted already (1), after noting it (0). */
static int du_seen_before(struct du *w, struct fs_ino ino)
{
	struct du_seen *s = du_seen_root(w, ino.root);

	if (!s)
		return -ENOMEM;
	if (u64map_get(&s->inos, ino.ino, NULL) == 0)
		return 1;
	return u64map_put(&s->inos, ino.ino, NULL);
}

/* What du counts of one file extent. */
struct du_file {
	struct du *w;
	uint64_t total, shared;
};

static int du_extent(void *ctx, const struct fs_fiemap_extent *e)
{
	struct du_file *f = ctx;
	struct du *w = f->w;

	if ((e->flags & FS_FIEMAP_INLINE) || !e->length)
		return 0;
	f->total += e->length;
	if (!(e->flags & FS_FIEMAP_SHARED))
		return 0;
	f->shared += e->length;
	if (w->nranges == w->cap) {
		uint64_t cap = w->cap ? w->cap * 2 : 256;
		struct du_range *v = kmalloc(cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		if (w->nranges)
			memcpy(v, w->ranges, w->nranges * sizeof(*v));
		kfree(w->ranges);
		w->ranges = v;
		w->cap = cap;
	}
	w->ranges[w->nranges].start = e->physical;
	w->ranges[w->nranges++].len = e->length;
	return 0;
}

/* Count regular file ino (w->path); its sums to *total and *shared, 0
 * for a hard link met before. */
static int du_file(struct du *w, struct fs_ino ino, uint64_t *total,
		   uint64_t *shared, int top)
{
	struct du_file f = { w, 0, 0 };
	struct fs_stat st;
	char s[UNITS_STR_MAX];
	int ret;

	*total = *shared = 0;
	ret = fs_stat(w->fs, ino, &st);
	if (ret == 0 && st.nlink > 1)
		ret = du_seen_before(w, ino);
	if (ret)
		return ret < 0 ? ret : 0;
	ret = fs_fiemap(w->fs, ino, du_extent, &f);
	if (ret)
		return ret;
	*total = f.total;
	*shared = f.shared;
	if (top) {
		units_format(w->u, f.shared, s, sizeof(s));
		du_line(w, f.total, f.shared, s);
	} else if (!w->summarize) {
		du_line(w, f.total, f.shared, "-");
	}
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct du_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Bytes covered by the shared extents met, overlaps counted once. */
static uint64_t du_set_shared(struct du *w)
{
	uint64_t i, sum = 0, end = 0;

	qsort(w->ranges, w->nranges, sizeof(*w->ranges), range_cmp);
	for (i = 0; i < w->nranges; i++) {
		uint64_t s = w->ranges[i].start, e = s + w->ranges[i].len;

		if (s < end)
			s = end;
		if (e > s) {
			sum += e - s;
			end = e;
		}
	}
	return sum;
}

/* Open directory ino (w->path) as a new level. */
static int du_push(struct du *w, struct fs_ino ino)
{
	struct du_level *l;
	int ret;

	if (w->depth >= DU_DEPTH_MAX)
		return -ENAMETOOLONG;
	l = &w->lv[w->depth];
	memset(l, 0, sizeof(*l));
	l->path_len = strlen(w->path);
	ret = cmd_fs_dir_read(w->fs, ino, &l->d);
	if (ret) {
		cmd_fs_dir_free(&l->d);
		return ret;
	}
	w->depth++;
	return 0;
}

/* Close the deepest level: print its line, add its sums to its parent. */
static void du_pop(struct du *w)
{
	struct du_level *l = &w->lv[--w->depth];
	char s[UNITS_STR_MAX];

	w->path[l->path_len] = 0;
	if (w->depth == 0) {
		units_format(w->u, du_set_shared(w), s, sizeof(s));
		du_line(w, l->total, l->shared, s);
	} else {
		if (!w->summarize)
			du_line(w, l->total, l->shared, "-");
		w->lv[w->depth - 1].total += l->total;
		w->lv[w->depth - 1].shared += l->shared;
	}
	cmd_fs_dir_free(&l->d);
}

/* Visit the next entry of the deepest level, or close it. */
static int du_step(struct du *w)
{
	struct du_level *l = &w->lv[w->depth - 1];
	const struct cmd_fs_dirent *e;
	uint64_t total, shared;
	size_t len = l->path_len;
	int ret;

	if (l->next == l->d.n) {
		du_pop(w);
		return 0;
	}
	e = &l->d.v[l->next++];
	if (e->type != FS_FT_REG && e->type != FS_FT_DIR)
		return 0;
	if (len + 1 + strlen(e->name) + 1 > DU_PATH_MAX)
		return -ENAMETOOLONG;
	snprintf(w->path + len, DU_PATH_MAX - len, "%s%s",
		 len && w->path[len - 1] == '/' ? "" : "/", e->name);
	if (e->type == FS_FT_DIR)
		return du_push(w, e->ino);
	ret = du_file(w, e->ino, &total, &shared, 0);
	l->total += total;
	l->shared += shared;
	w->path[len] = 0;
	return ret;
}

/* du of one PATH argument; prints its error. */
static int du_path(struct du *w, const char *path)
{
	struct fs_stat st;
	struct fs_ino ino;
	const char *inner;
	uint64_t total, shared;
	int ret;

	w->fs = cmd_fs_path("filesystem du", path, &inner);
	if (!w->fs)
		return -ENOENT;
	if (strlen(path) + 1 > DU_PATH_MAX)
		ret = -ENAMETOOLONG;
	else
		ret = fs_lookup(w->fs, inner, FS_LOOKUP_FOLLOW, &ino);
	if (ret == 0)
		ret = fs_stat(w->fs, ino, &st);
	if (ret == 0) {
		snprintf(w->path, DU_PATH_MAX, "%s", path);
		if ((st.mode & 0170000) == 0100000)
			ret = du_file(w, ino, &total, &shared, 1);
		else if ((st.mode & 0170000) == 0040000)
			ret = du_push(w, ino);
	}
	while (ret == 0 && w->depth > 0)
		ret = du_step(w);
	if (ret)
		con_eprintf("ERROR: cannot check space of '%s': %s\n", path,
			    cmd_fs_strerror(ret));
	while (w->depth > 0)
		cmd_fs_dir_free(&w->lv[--w->depth].d);
	return ret;
}

/* Options may come anywhere, as getopt lets them in btrfs-progs;
 * arguments after "--" are paths. */
int cmd_filesystem_du(int argc, char **argv)
{
	struct units u;
	struct du w;
	int i, npaths = 0, dashdash = 0, err = 0;

	argc = units_parse(argc, argv, &u);
	memset(&w, 0, sizeof(w));
	for (i = 1; i < argc; i++) {
		if (dashdash || argv[i][0] != '-' || !argv[i][1])
			npaths++;
		else if (!strcmp(argv[i], "--"))
			dashdash = 1;
		else if (!strcmp(argv[i], "-s") ||
			 !strcmp(argv[i], "--summarize"))
			w.summarize = 1;
		else
			return -EINVAL;
	}
	if (!npaths)
		return -EINVAL;
	w.u = &u;
	w.path = kmalloc(DU_PATH_MAX);
	w.lv = kmalloc(DU_DEPTH_MAX * sizeof(*w.lv));
	if (!w.path || !w.lv) {
		kfree(w.path);
		kfree(w.lv);
		con_eprintf("filesystem du: out of memory\n");
		return -ENOMEM;
	}
	con_printf("%10s  %10s  %10s  %s\n", "Total", "Exclusive",
		   "Set shared", "Filename");
	for (i = 1, dashdash = 0; i < argc; i++) {
		if (!dashdash && argv[i][0] == '-' && argv[i][1]) {
			dashdash = !strcmp(argv[i], "--");
			continue;
		}
		if (du_path(&w, argv[i]))
			err = 1;
		/* Hard links and Set shared count per PATH, as btrfs-progs
		 * does. */
		while (w.nseen > 0)
			u64map_free(&w.seen[--w.nseen].inos);
		w.nranges = 0;
	}
	kfree(w.seen);
	kfree(w.ranges);
	kfree(w.path);
	kfree(w.lv);
	return err;
}
