/*
 * btrfs-progs' reports of a filesystem and its device, in the layouts of
 * btrfs-progs 6.2: `filesystem show`, `filesystem label`, `filesystem
 * usage [-T]`, `device stats [-c] [-z]` and `device usage`. Each takes a
 * mounted PATH or the DISK of a mounted filesystem; a device is named by
 * its disk ("vda"), as `mount` lists it. Sizes follow the unit options
 * (shell/units.c).
 *
 * The figures come from fs_df (chunks and block groups of the last
 * commit) and fs_ident (superblock and device tree). A profile's copies
 * (DUP: 2) turn chunk sizes into device bytes. Where Linux reports
 * something ghee does not keep, the line stays with ghee's value: the
 * global reserve is 0.00B (ghee reserves none), and "Free (statfs, df)"
 * is what Linux's statfs computes from the same figures (the free data
 * space plus the unallocated space after the device's first MiB, by the
 * data ratio).
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/blk.h>
#include <ghee/console.h>

#include "../fs/fs.h"
#include "../lib/uuid.h"
#include "cmd_fs.h"
#include "shell.h"
#include "units.h"

#define MIB (1024ull * 1024)

/* One filesystem's figures, gathered once per command. */
struct report {
	struct fs_info *fs;
	const char *disk;	/* its device, as `mount` names it */
	struct fs_ident id;
	struct fs_df df;
	uint64_t alloc;		/* device bytes in chunks */
	uint64_t raw_used;	/* device bytes used (copies counted) */
};

/* Device copies of a chunk of this type's profile. */
static unsigned copies(uint64_t type)
{
	const char *p = fs_space_profile_name(type);

	if (!strcmp(p, "DUP") || !strcmp(p, "RAID1") || !strcmp(p, "RAID10"))
		return 2;
	if (!strcmp(p, "RAID1C3"))
		return 3;
	if (!strcmp(p, "RAID1C4"))
		return 4;
	return 1;
}

struct fs_info *cmd_fs_of_arg(const char *cmd, const char *arg)
{
	struct fs_info *fs;
	struct fs_ino ino;
	const char *inner;
	int ret;

	if (!strchr(arg, '/') && blk_lookup(arg)) {
		fs = cmd_fs_by_disk(arg);
		if (!fs)
			con_eprintf("%s: %s: not mounted (mount it first)\n",
				    cmd, arg);
		return fs;
	}
	fs = cmd_fs_path(cmd, arg, &inner);
	if (!fs)
		return NULL;
	ret = fs_lookup(fs, inner, FS_LOOKUP_FOLLOW, &ino);
	if (ret) {
		con_eprintf("%s: %s: %s (errno %d)\n", cmd, arg,
			    cmd_fs_err_text(ret), -ret);
		return NULL;
	}
	return fs;
}

/* Gather fs's figures into r (kmalloc'd: fs_df is large); NULL after
 * saying why. */
static struct report *report_get(const char *cmd, struct fs_info *fs)
{
	struct report *r = kzalloc(sizeof(*r));
	uint32_t i;
	int ret;

	if (!r) {
		con_eprintf("%s: out of memory\n", cmd);
		return NULL;
	}
	r->fs = fs;
	r->disk = cmd_fs_disk_name(fs);
	ret = fs_ident(fs, &r->id);
	if (!ret)
		ret = fs_df(fs, &r->df);
	if (ret) {
		con_eprintf("%s: %s: %s (errno %d)\n", cmd, r->disk,
			    cmd_fs_err_text(ret), -ret);
		kfree(r);
		return NULL;
	}
	for (i = 0; i < r->df.nspace; i++) {
		r->alloc += r->df.space[i].total * copies(r->df.space[i].type);
		r->raw_used += r->df.space[i].used *
			       copies(r->df.space[i].type);
	}
	return r;
}

/* Parse "[options] [ARG]", where the options are the units and the
 * letters in flags ("T", "cz"): sets *arg (NULL when none) and, per
 * letter, set[i]. -EINVAL after saying what is wrong (cmd names the
 * command in messages). */
static int parse(const char *cmd, int argc, char **argv, struct units *u,
		 const char *flags, int *set, const char **arg)
{
	const char *f;
	int i;

	argc = units_parse(argc, argv, u);
	*arg = NULL;
	for (i = 1; i < argc; i++) {
		f = argv[i][0] == '-' && argv[i][1] && !argv[i][2] ?
		    strchr(flags, argv[i][1]) : NULL;
		if (f) {
			set[f - flags] = 1;
		} else if (argv[i][0] == '-') {
			con_eprintf("%s: unknown option '%s'\n", cmd,
				    argv[i]);
			return -EINVAL;
		} else if (*arg) {
			con_eprintf("%s: unexpected argument '%s'\n", cmd,
				    argv[i]);
			return -EINVAL;
		} else {
			*arg = argv[i];
		}
	}
	return 0;
}

static void show_one(const struct report *r, const struct units *u)
{
	char uuid[UUID_TEXT_LEN], used[UNITS_STR_MAX], size[UNITS_STR_MAX],
	     alloc[UNITS_STR_MAX];

	uuid_text(r->id.fsid, uuid);
	if (r->id.label[0])
		con_printf("Label: '%s'  uuid: %s\n", r->id.label, uuid);
	else
		con_printf("Label: none  uuid: %s\n", uuid);
	units_format(u, r->df.bytes_used, used, sizeof(used));
	units_format(u, r->id.dev_size, size, sizeof(size));
	units_format(u, r->alloc, alloc, sizeof(alloc));
	con_printf("\tTotal devices %llu FS bytes used %s\n",
		   (unsigned long long)r->id.num_devices, used);
	con_printf("\tdevid %4llu size %s used %s path %s\n\n",
		   (unsigned long long)r->id.devid, size, alloc, r->disk);
}

/* filesystem show [units] [PATH|DISK]: every mounted filesystem when no
 * argument names one. */
int cmd_filesystem_show(int argc, char **argv)
{
	const char *cmd = "filesystem show";
	struct fs_info *all[CMD_FS_MOUNTS_MAX];
	struct report *r;
	struct units u;
	const char *arg;
	int n, i, ret = 0;

	if (parse(cmd, argc, argv, &u, "", NULL, &arg))
		return -EINVAL;
	if (arg) {
		all[0] = cmd_fs_of_arg(cmd, arg);
		if (!all[0])
			return -ENOENT;
		n = 1;
	} else {
		n = cmd_fs_each(all, CMD_FS_MOUNTS_MAX);
	}
	for (i = 0; i < n; i++) {
		r = report_get(cmd, all[i]);
		if (!r) {
			ret = -EIO;
			continue;
		}
		show_one(r, &u);
		kfree(r);
	}
	return ret;
}

/* filesystem label PATH|DISK [NEWLABEL] */
int cmd_filesystem_label(int argc, char **argv)
{
	const char *cmd = "filesystem label";
	struct fs_info *fs;
	struct fs_ident *id;
	int ret;

	if (argc < 2 || argc > 3 || argv[1][0] == '-')
		return -EINVAL;
	fs = cmd_fs_of_arg(cmd, argv[1]);
	if (!fs)
		return -ENOENT;
	if (argc == 3) {
		if (strlen(argv[2]) >= 256) {
			con_eprintf("ERROR: label %s is too long (max 255)\n",
				    argv[2]);
			return -EINVAL;
		}
		ret = fs_label_set(fs, argv[2]);
		if (ret)
			con_eprintf("ERROR: %s: cannot set the label: %s "
				    "(errno %d)\n", argv[1],
				    cmd_fs_err_text(ret), -ret);
		return ret == -EINVAL ? -EIO : ret;
	}
	id = kmalloc(sizeof(*id));
	ret = id ? fs_ident(fs, id) : -ENOMEM;
	if (ret)
		con_eprintf("%s: %s: %s (errno %d)\n", cmd, argv[1],
			    cmd_fs_err_text(ret), -ret);
	else
		con_printf("%s\n", id->label);
	kfree(id);
	return ret;
}

/* "    NAME:<tabs>VALUE" of usage's overall block, VALUE right-aligned in
 * 10 columns (18 when not human-readable), as btrfs-progs prints it. */
static void overall_line(const struct units *u, const char *name,
			 const char *tabs, const char *value,
			 const char *extra)
{
	con_printf("    %s:%s%*s%s\n", name, tabs, u->power < 0 ? 10 : 18,
		   value, extra);
}

static void overall_size(const struct units *u, const char *name,
			 const char *tabs, uint64_t v)
{
	char s[UNITS_STR_MAX];

	units_format(u, v, s, sizeof(s));
	overall_line(u, name, tabs, s, "");
}

/* The data and metadata ratios, the free data bytes, and whether a type
 * has chunks of two profiles. */
static void ratios(const struct report *r, unsigned *data, unsigned *meta,
		   unsigned *max, uint64_t *data_free, int *multiple)
{
	const char *type, *seen[FS_SPACE_MAX];
	uint32_t i, j;

	*data = *meta = *max = 1;
	*data_free = 0;
	*multiple = 0;
	for (i = 0; i < r->df.nspace; i++) {
		const struct fs_space *sp = &r->df.space[i];
		unsigned c = copies(sp->type);

		type = fs_space_type_name(sp->type);
		if (!strcmp(type, "Data")) {
			*data = c;
			*data_free += sp->total - sp->used;
		} else if (!strcmp(type, "Metadata")) {
			*meta = c;
		}
		*max = c > *max ? c : *max;
		for (j = 0; j < i; j++)
			*multiple |= !strcmp(seen[j], type);
		seen[i] = type;
	}
}

/* What Linux's statfs of a btrfs reports as available: the free space in
 * data chunks plus the unallocated space after the device's first MiB, by
 * the data ratio. */
static uint64_t statfs_avail(const struct report *r)
{
	uint64_t unalloc = r->id.dev_size - r->alloc, data_free;
	unsigned data, meta, max;
	int multiple;

	ratios(r, &data, &meta, &max, &data_free, &multiple);
	return data_free + (unalloc > MIB ? unalloc - MIB : 0) / data;
}

int cmd_fs_statfs(const char *cmd, struct fs_info *fs, uint64_t *size,
		  uint64_t *used, uint64_t *avail)
{
	struct report *r = report_get(cmd, fs);
	uint64_t data_free, ss;
	unsigned data, meta, max;
	int multiple;

	if (!r)
		return -EIO;
	ratios(r, &data, &meta, &max, &data_free, &multiple);
	/* statfs counts whole sectors: f_blocks, f_bfree and f_bavail */
	ss = r->id.sectorsize ? r->id.sectorsize : 4096;
	*size = r->id.dev_size / data / ss * ss;
	*used = r->raw_used / data / ss * ss;
	*avail = statfs_avail(r) / ss * ss;
	kfree(r);
	return 0;
}

static void usage_overall(const struct report *r, const struct units *u)
{
	uint64_t unalloc = r->id.dev_size - r->alloc, data_free;
	unsigned data, meta, max;
	char a[UNITS_STR_MAX], b[UNITS_STR_MAX], line[2 * UNITS_STR_MAX];
	int multiple;

	ratios(r, &data, &meta, &max, &data_free, &multiple);
	con_printf("Overall:\n");
	overall_size(u, "Device size", "\t\t", r->id.dev_size);
	overall_size(u, "Device allocated", "\t\t", r->alloc);
	overall_size(u, "Device unallocated", "\t\t", unalloc);
	overall_size(u, "Device missing", "\t\t", 0);
	overall_size(u, "Device slack", "\t\t",
		     r->df.dev_size - r->id.dev_size);
	overall_size(u, "Used", "\t\t\t", r->raw_used);
	units_format(u, data_free + unalloc / data, a, sizeof(a));
	units_format(u, data_free + unalloc / max, b, sizeof(b));
	snprintf(line, sizeof(line), "\t(min: %s)", b);
	overall_line(u, "Free (estimated)", "\t\t", a, line);
	overall_size(u, "Free (statfs, df)", "\t\t", statfs_avail(r));
	snprintf(a, sizeof(a), "%u.00", data);
	overall_line(u, "Data ratio", "\t\t\t", a, "");
	snprintf(a, sizeof(a), "%u.00", meta);
	overall_line(u, "Metadata ratio", "\t\t", a, "");
	units_format(u, 0, a, sizeof(a));
	snprintf(line, sizeof(line), "\t(used: %s)", a);
	overall_line(u, "Global reserve", "\t\t", a, line);
	overall_line(u, "Multiple profiles", "\t\t", multiple ? "yes" : "no",
		     "");
}

/* The df rows in btrfs-progs' usage order: data, metadata, system. */
static int ordered(const struct report *r, const struct fs_space **out)
{
	static const char *const order[] = { "Data", "Data+Metadata",
					     "Metadata", "System", "Unknown" };
	uint32_t t, i;
	int n = 0;

	for (t = 0; t < sizeof(order) / sizeof(order[0]); t++)
		for (i = 0; i < r->df.nspace; i++)
			if (!strcmp(fs_space_type_name(r->df.space[i].type),
				    order[t]))
				out[n++] = &r->df.space[i];
	return n;
}

static void usage_by_type(const struct report *r, const struct units *u)
{
	const struct fs_space *sp[FS_SPACE_MAX];
	char a[UNITS_STR_MAX], b[UNITS_STR_MAX], pct[UNITS_STR_MAX];
	int n = ordered(r, sp), i;

	for (i = 0; i < n; i++) {
		units_format(u, sp[i]->total, a, sizeof(a));
		units_format(u, sp[i]->used, b, sizeof(b));
		units_percent(sp[i]->used, sp[i]->total, pct, sizeof(pct));
		con_printf("\n%s,%s: Size:%s, Used:%s (%s%%)\n",
			   fs_space_type_name(sp[i]->type),
			   fs_space_profile_name(sp[i]->type), a, b, pct);
		units_format(u, sp[i]->total * copies(sp[i]->type), a,
			     sizeof(a));
		con_printf("   %s\t%10s\n", r->disk, a);
	}
	units_format(u, r->id.dev_size - r->alloc, a, sizeof(a));
	con_printf("\nUnallocated:\n   %s\t%10s\n", r->disk, a);
}

#define TABLE_ROWS 7
#define TABLE_COLS (2 + FS_SPACE_MAX + 3)

/* usage -T's table: cells, each left- or right-aligned in its column;
 * a row of dashes where dash[row]. */
struct table {
	char cell[TABLE_ROWS][TABLE_COLS][UNITS_STR_MAX];
	int right[TABLE_ROWS][TABLE_COLS];
	int dash[TABLE_ROWS];
	int cols;
};

static void put(struct table *t, int row, int col, int right,
		const char *s)
{
	snprintf(t->cell[row][col], UNITS_STR_MAX, "%s", s);
	t->right[row][col] = right;
}

static void put_size(struct table *t, const struct units *u, int row,
		     int col, uint64_t v)
{
	char s[UNITS_STR_MAX];

	units_format(u, v, s, sizeof(s));
	put(t, row, col, 1, s);
}

/* Print t: columns as wide as their widest cell, one space apart. */
static void table_print(const struct table *t)
{
	char line[TABLE_COLS * (UNITS_STR_MAX + 1) + 1];
	int w[TABLE_COLS] = { 0 }, r, c, len;

	for (r = 0; r < TABLE_ROWS; r++)
		for (c = 0; c < t->cols; c++) {
			len = (int)strlen(t->cell[r][c]);
			w[c] = len > w[c] ? len : w[c];
		}
	for (r = 0; r < TABLE_ROWS; r++) {
		len = 0;
		for (c = 0; c < t->cols; c++) {
			if (t->dash[r]) {
				memset(line + len, '-', w[c]);
				line[len + w[c]] = 0;
			} else {
				snprintf(line + len, sizeof(line) - len,
					 t->right[r][c] ? "%*s" : "%-*s", w[c],
					 t->cell[r][c]);
			}
			len += w[c];
			line[len++] = c + 1 < t->cols ? ' ' : '\n';
		}
		con_write(line, len);
	}
}

/* Rows of usage -T: two headings, dashes, the device, dashes, totals and
 * used. */
static void usage_table(const struct report *r, const struct units *u)
{
	const struct fs_space *sp[FS_SPACE_MAX];
	struct table *t = kzalloc(sizeof(*t));
	int n = ordered(r, sp), i, c;
	uint64_t unalloc = r->id.dev_size - r->alloc;
	char id[24];

	if (!t) {
		con_eprintf("usage: out of memory\n");
		return;
	}
	t->cols = n + 5;
	put(t, 1, 0, 0, "Id");
	put(t, 1, 1, 0, "Path");
	t->dash[2] = t->dash[4] = 1;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)r->id.devid);
	put(t, 3, 0, 1, id);
	put(t, 3, 1, 0, r->disk);
	put(t, 5, 1, 0, "Total");
	put(t, 6, 1, 0, "Used");
	for (i = 0; i < n; i++) {
		put(t, 0, 2 + i, 0, fs_space_type_name(sp[i]->type));
		put(t, 1, 2 + i, 0, fs_space_profile_name(sp[i]->type));
		put_size(t, u, 3, 2 + i, sp[i]->total * copies(sp[i]->type));
		put_size(t, u, 5, 2 + i, sp[i]->total);
		put_size(t, u, 6, 2 + i, sp[i]->used);
	}
	c = 2 + n;
	put(t, 1, c, 0, "Unallocated");
	put(t, 1, c + 1, 0, "Total");
	put(t, 1, c + 2, 0, "Slack");
	put_size(t, u, 3, c, unalloc);
	put_size(t, u, 3, c + 1, r->id.dev_size);
	put(t, 3, c + 2, 1, "-");
	put_size(t, u, 5, c, unalloc);
	put_size(t, u, 5, c + 1, r->id.dev_size);
	put_size(t, u, 5, c + 2, r->df.dev_size - r->id.dev_size);
	table_print(t);
	kfree(t);
}

/* filesystem usage [-T] [units] [PATH|DISK] */
int cmd_filesystem_usage(int argc, char **argv)
{
	const char *cmd = "filesystem usage";
	struct report *r;
	struct fs_info *fs;
	struct units u;
	const char *arg;
	int tabular = 0;

	if (parse(cmd, argc, argv, &u, "T", &tabular, &arg))
		return -EINVAL;
	fs = cmd_fs_of_arg(cmd, arg ? arg : "/");
	r = fs ? report_get(cmd, fs) : NULL;
	if (!r)
		return -ENOENT;
	usage_overall(r, &u);
	if (tabular) {
		con_printf("\n");
		usage_table(r, &u);
	} else {
		usage_by_type(r, &u);
	}
	kfree(r);
	return 0;
}

/* "   NAME:<spaces>VALUE", the value ending in column 35. */
static void device_line(const char *name, const char *value)
{
	int pad = 31 - (int)strlen(name) - (int)strlen(value);

	con_printf("   %s:%*s%s\n", name, pad > 1 ? pad : 1, "", value);
}

/* device usage [units] PATH|DISK */
int cmd_device_usage(int argc, char **argv)
{
	const char *cmd = "device usage";
	const struct fs_space *sp[FS_SPACE_MAX];
	char name[64], v[UNITS_STR_MAX];
	struct report *r;
	struct fs_info *fs;
	struct units u;
	const char *arg;
	int n, i;

	if (parse(cmd, argc, argv, &u, "", NULL, &arg))
		return -EINVAL;
	if (!arg)
		return -EINVAL;
	fs = cmd_fs_of_arg(cmd, arg);
	r = fs ? report_get(cmd, fs) : NULL;
	if (!r)
		return -ENOENT;
	con_printf("%s, ID: %llu\n", r->disk,
		   (unsigned long long)r->id.devid);
	units_format(&u, r->id.dev_size, v, sizeof(v));
	device_line("Device size", v);
	units_format(&u, r->df.dev_size - r->id.dev_size, v, sizeof(v));
	device_line("Device slack", v);
	n = ordered(r, sp);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s,%s",
			 fs_space_type_name(sp[i]->type),
			 fs_space_profile_name(sp[i]->type));
		units_format(&u, sp[i]->total * copies(sp[i]->type), v,
			     sizeof(v));
		device_line(name, v);
	}
	units_format(&u, r->id.dev_size - r->alloc, v, sizeof(v));
	device_line("Unallocated", v);
	con_printf("\n");
	kfree(r);
	return 0;
}

/* device stats [-c] [-z] PATH|DISK: the error counters; -z zeroes them
 * after printing, -c fails (-EIO) when one is not zero. */
int cmd_device_stats(int argc, char **argv)
{
	const char *cmd = "device stats";
	static const char *const names[FS_DEV_STATS] = {
		"write_io_errs", "read_io_errs", "flush_io_errs",
		"corruption_errs", "generation_errs",
	};
	struct report *r;
	struct fs_info *fs;
	struct units u;
	const char *arg;
	int set[2] = { 0, 0 }, i, ret = 0;

	if (parse(cmd, argc, argv, &u, "cz", set, &arg) || !arg)
		return -EINVAL;
	fs = cmd_fs_of_arg(cmd, arg);
	r = fs ? report_get(cmd, fs) : NULL;
	if (!r)
		return -ENOENT;
	for (i = 0; i < FS_DEV_STATS; i++) {
		con_printf("[%s].%-16s %llu\n", r->disk, names[i],
			   (unsigned long long)r->id.dev_stats[i]);
		if (set[0] && r->id.dev_stats[i])
			ret = -EIO;
	}
	if (set[1]) {
		int z = fs_dev_stats_reset(fs);

		if (z)
			con_eprintf("%s: %s: cannot reset: %s (errno %d)\n",
				    cmd, arg, cmd_fs_err_text(z), -z);
		ret = ret ? ret : z;
	}
	kfree(r);
	return ret;
}
