/*
 * `filesystem df` (also `df`) and `filesystem sync`, in btrfs-progs'
 * shape: an optional PATH names the filesystem (default: the one at /),
 * and df takes btrfs-progs' unit options (shell/units.c).
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

/* The one optional PATH argument left after the options; -EINVAL for an
 * unknown option or a second path. */
static int one_path(int argc, char **argv, const char **path)
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
	return 0;
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
	ret = one_path(argc, argv, &path);
	if (ret)
		return ret;
	fs = fs_of(argv[0], path);
	if (!fs)
		return -ENOENT;
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
	int ret = one_path(argc, argv, &path);

	if (ret)
		return ret;
	fs = fs_of(argv[0], path);
	if (!fs)
		return -ENOENT;
	ret = fs_sync(fs);
	if (ret)
		con_eprintf("%s: %s: %s (errno %d)\n", argv[0], path,
			    cmd_fs_err_text(ret), -ret);
	return ret;
}
