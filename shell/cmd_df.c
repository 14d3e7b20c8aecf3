/*
 * df [-h|-H|-k] [-T] [PATH...]: coreutils' df. One row per mounted
 * filesystem (or per filesystem holding each PATH), in coreutils' columns
 * and rounding: size, used and available as Linux's statfs of a btrfs
 * reports them (cmd_fs_statfs, in whole sectors as statfs counts);
 * sizes round up, as do the use percentages (used over used plus
 * available). `filesystem df` is btrfs-progs' report per block group type.
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>

#include "cmd_fs.h"
#include "shell.h"
#include "units.h"

enum { COL_SOURCE, COL_TYPE, COL_SIZE, COL_USED, COL_AVAIL, COL_PCENT,
       COL_TARGET, NCOLS };

/* coreutils' least width of each column; left-aligned ones are < 0. */
static const int min_width[NCOLS] = { -14, -4, 5, 5, 5, 4, 0 };

#define CELL_MAX 32

struct row {
	char cell[NCOLS][CELL_MAX + 256];	/* the target is a path */
};

/* How sizes print: unit 0 means human-readable in powers of base. */
struct df_units {
	unsigned base;		/* 1024 or 1000 (-H) */
	uint64_t unit;		/* 1024 (-k, the default) or 0 */
};

static void size_cell(const struct df_units *u, uint64_t v, char *out)
{
	if (u->unit)
		snprintf(out, CELL_MAX, "%llu",
			 (unsigned long long)((v + u->unit - 1) / u->unit));
	else
		units_coreutils(v, u->base, out, CELL_MAX);
}

/* The row of the filesystem mounted as m; 0 or -EIO after saying why. */
static int fill_row(const struct df_units *u, const struct cmd_fs_mount *m,
		    struct row *r)
{
	uint64_t size, used, avail, pct;
	int ret = cmd_fs_statfs("df", m->fs, &size, &used, &avail);

	if (ret)
		return ret;
	snprintf(r->cell[COL_SOURCE], CELL_MAX, "%s", m->disk);
	snprintf(r->cell[COL_TYPE], CELL_MAX, "btrfs");
	size_cell(u, size, r->cell[COL_SIZE]);
	size_cell(u, used, r->cell[COL_USED]);
	size_cell(u, avail, r->cell[COL_AVAIL]);
	if (used + avail) {
		pct = (used * 100 + used + avail - 1) / (used + avail);
		snprintf(r->cell[COL_PCENT], CELL_MAX, "%llu%%",
			 (unsigned long long)pct);
	} else {
		snprintf(r->cell[COL_PCENT], CELL_MAX, "-");
	}
	snprintf(r->cell[COL_TARGET], sizeof(r->cell[COL_TARGET]), "%s",
		 m->dir);
	return 0;
}

static void print_rows(const struct row *rows, int n, int show_type)
{
	int width[NCOLS], c, i, w;

	for (c = 0; c < NCOLS; c++) {
		width[c] = min_width[c] < 0 ? -min_width[c] : min_width[c];
		for (i = 0; i < n; i++) {
			w = (int)strlen(rows[i].cell[c]);
			width[c] = w > width[c] ? w : width[c];
		}
	}
	for (i = 0; i < n; i++) {
		for (c = 0; c < NCOLS; c++) {
			if (c == COL_TYPE && !show_type)
				continue;
			if (c == COL_TARGET)
				con_printf("%s\n", rows[i].cell[c]);
			else if (min_width[c] < 0)
				con_printf("%-*s ", width[c], rows[i].cell[c]);
			else
				con_printf("%*s ", width[c], rows[i].cell[c]);
		}
	}
}

/* The mount entry of the filesystem holding path; -ENOENT after saying
 * why. */
static int mount_of(const char *path, const struct cmd_fs_mount *v, int n,
		    const struct cmd_fs_mount **out)
{
	struct fs_info *fs;
	struct fs_ino ino;
	const char *inner;
	int i, ret;

	fs = cmd_fs_path("df", path, &inner);
	if (!fs)
		return -ENOENT;
	ret = fs_lookup(fs, inner, FS_LOOKUP_FOLLOW, &ino);
	if (ret) {
		con_eprintf("df: %s: %s\n", path, cmd_fs_strerror(ret));
		return ret;
	}
	for (i = 0; i < n; i++)
		if (v[i].fs == fs) {
			*out = &v[i];
			return 0;
		}
	return -ENOENT;
}

static void header(const struct df_units *u, struct row *r)
{
	snprintf(r->cell[COL_SOURCE], CELL_MAX, "Filesystem");
	snprintf(r->cell[COL_TYPE], CELL_MAX, "Type");
	snprintf(r->cell[COL_SIZE], CELL_MAX, u->unit ? "1K-blocks" : "Size");
	snprintf(r->cell[COL_USED], CELL_MAX, "Used");
	snprintf(r->cell[COL_AVAIL], CELL_MAX, u->unit ? "Available"
							: "Avail");
	snprintf(r->cell[COL_PCENT], CELL_MAX, "Use%%");
	snprintf(r->cell[COL_TARGET], CELL_MAX, "Mounted on");
}

static int is_option(const char *arg)
{
	return arg[0] == '-' && arg[1];
}

int cmd_df(int argc, char **argv)
{
	struct cmd_fs_mount mounts[CMD_FS_MOUNTS_MAX];
	const struct cmd_fs_mount *m;
	struct df_units u = { 1024, 1024 };
	struct row *rows;
	int i, n, nrows = 1, show_type = 0, paths = 0, ret = 0, err;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") ||
		    !strcmp(argv[i], "--human-readable")) {
			u.base = 1024;
			u.unit = 0;
		} else if (!strcmp(argv[i], "-H") || !strcmp(argv[i], "--si")) {
			u.base = 1000;
			u.unit = 0;
		} else if (!strcmp(argv[i], "-k")) {
			u.base = 1024;
			u.unit = 1024;
		} else if (!strcmp(argv[i], "-T") ||
			   !strcmp(argv[i], "--print-type")) {
			show_type = 1;
		} else if (is_option(argv[i])) {
			con_eprintf("df: unknown option '%s'\n", argv[i]);
			return -EINVAL;
		} else {
			paths++;
		}
	}
	n = cmd_fs_mounts(mounts, CMD_FS_MOUNTS_MAX);
	if (!n) {
		cmd_fs_mounted("df");	/* says none is mounted */
		return -ENOENT;
	}
	rows = kzalloc(((size_t)(paths ? paths : n) + 1) * sizeof(*rows));
	if (!rows) {
		con_eprintf("df: out of memory\n");
		return -ENOMEM;
	}
	header(&u, &rows[0]);
	for (i = paths ? 1 : 0; i < (paths ? argc : n); i++) {
		if (paths && is_option(argv[i]))
			continue;
		m = paths ? NULL : &mounts[i];
		err = paths ? mount_of(argv[i], mounts, n, &m) : 0;
		if (!err)
			err = fill_row(&u, m, &rows[nrows]);
		if (!err)
			nrows++;
		ret = ret ? ret : err;
	}
	if (nrows > 1)
		print_rows(rows, nrows, show_type);
	kfree(rows);
	return ret;
}
