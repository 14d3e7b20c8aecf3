/*
 * `filesystem df` (also `df`), `filesystem sync` and `filesystem
 * commit-stats`: an optional PATH names the filesystem (default: the one
 * at /), and df takes btrfs-progs' unit options (shell/units.c).
 *
 * df prints one line per block group type and profile, as btrfs-progs
 * does: "Data, single: total=8.00MiB, used=0.00B". (btrfs-progs adds a
 * GlobalReserve line from the kernel's reservation; ghee keeps none.)
 */
#include <ghee/errno.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>

#include "../fs/fs.h"
#include "cmd_fs.h"
#include "shell.h"
#include "units.h"

/* The filesystem of an existing path, printing why there is none. */
static struct fs_info *fs_of(const char *cmd, const char *path)
{
	struct fs_info *fs;
	struct fs_ino ino;
	const char *inner;
	int ret;

	fs = cmd_fs_path(cmd, path, &inner);
	if (!fs)
		return NULL;
	ret = fs_lookup(fs, inner, FS_LOOKUP_FOLLOW, &ino);
	if (ret) {
		con_eprintf("%s: %s: %s (errno %d)\n", cmd, path,
			    cmd_fs_err_text(ret), -ret);
		return NULL;
	}
	return fs;
}

/* The one optional PATH argument left after the options (default /) and
 * its filesystem; -EINVAL for an unknown option or a second path,
 * -ENOENT when the path has none (said why). */
static int one_path(int argc, char **argv, const char **path,
		    struct fs_info **fs)
{
	*path = "/";
	if (argc > 2)
		return -EINVAL;
	if (argc == 2) {
		if (argv[1][0] == '-') {
			con_eprintf("%s: unknown option '%s'\n", argv[0],
				    argv[1]);
			return -EINVAL;
		}
		*path = argv[1];
	}
	*fs = fs_of(argv[0], *path);
	return *fs ? 0 : -ENOENT;
}

int cmd_filesystem_df(int argc, char **argv)
{
	/* btrfs-progs' order (the kernel's): data, system, metadata */
	static const char *const order[] = { "Data", "System", "Metadata",
					     "Data+Metadata", "Unknown" };
	struct fs_info *fs;
	struct fs_df *df;
	struct units u;
	char a[UNITS_STR_MAX], b[UNITS_STR_MAX];
	const char *path;
	uint32_t i, t;
	int ret;

	argc = units_parse(argc, argv, &u);
	ret = one_path(argc, argv, &path, &fs);
	if (ret)
		return ret;
	df = kmalloc(sizeof(*df));
	if (!df) {
		con_eprintf("%s: out of memory\n", argv[0]);
		return -ENOMEM;
	}
	ret = fs_df(fs, df);
	if (ret)
		con_eprintf("%s: %s: %s (errno %d)\n", argv[0], path,
			    cmd_fs_err_text(ret), -ret);
	for (t = 0; !ret && t < sizeof(order) / sizeof(order[0]); t++) {
		for (i = 0; i < df->nspace; i++) {
			const struct fs_space *sp = &df->space[i];

			if (strcmp(fs_space_type_name(sp->type), order[t]))
				continue;
			units_format(&u, sp->total, a, sizeof(a));
			units_format(&u, sp->used, b, sizeof(b));
			con_printf("%s, %s: total=%s, used=%s\n", order[t],
				   fs_space_profile_name(sp->type), a, b);
		}
	}
	kfree(df);
	return ret;
}

int cmd_filesystem_sync(int argc, char **argv)
{
	struct fs_info *fs;
	const char *path;
	int ret = one_path(argc, argv, &path, &fs);

	if (ret)
		return ret;
	ret = fs_sync(fs);
	if (ret)
		con_eprintf("%s: %s: %s (errno %d)\n", argv[0], path,
			    cmd_fs_err_text(ret), -ret);
	return ret;
}

/* Each figure as "name value", in the unit its name says. */
static void print_commit_stats(const struct fs_commit_stats *st)
{
	const struct { const char *name; uint64_t ns, unit; } rows[] = {
		{ "last_commit_ms", st->last_ns, 1000000 },
		{ "max_commit_ms", st->max_ns, 1000000 },
		{ "total_commit_ms", st->total_ns, 1000000 },
		{ "last_snapshots_us", st->snapshot_ns, 1000 },
		{ "last_delayed_refs_us", st->refs_ns, 1000 },
		{ "last_qgroups_us", st->qgroup_ns, 1000 },
		{ "last_write_us", st->write_ns, 1000 },
		{ "last_super_us", st->super_ns, 1000 },
	};
	size_t i;

	con_printf("commits %llu\n", (unsigned long long)st->commits);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		con_printf("%s %llu\n", rows[i].name,
			   (unsigned long long)(rows[i].ns / rows[i].unit));
	con_printf("last_tree_blocks %llu\n", (unsigned long long)st->blocks);
	con_printf("last_ref_heads %llu\n",
		   (unsigned long long)st->ref_heads);
}

/*
 * commit-stats [-z] [PATH]: Linux's /sys/fs/btrfs/FSID/commit_stats lines
 * (without cur_commit_ms: a commit never runs while this one reads), then
 * how the last commit spent its time, in microseconds, so that work done
 * inside a commit (a snapshot's own) can be told from its writes and
 * flushes, and how many tree blocks it wrote and delayed-ref heads it
 * ran (what a feature such as quotas adds to every commit). -z starts max_commit_ms again, as writing 0 there does.
 */
int cmd_filesystem_commit_stats(int argc, char **argv)
{
	struct fs_commit_stats st;
	struct fs_info *fs;
	const char *path;
	int reset = argc > 1 && strcmp(argv[1], "-z") == 0;
	int ret;

	if (reset) {	/* drop the option: the command name moves over it */
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	ret = one_path(argc, argv, &path, &fs);
	if (ret)
		return ret;
	fs_commit_stats(fs, &st, reset);
	print_commit_stats(&st);
	return 0;
}
