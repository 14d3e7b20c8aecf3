/*
 * `quota` and `qgroup` commands in btrfs-progs 6.2's shape: the same
 * options, messages and `qgroup show` table (column widths grow with
 * their widest value; Qgroupid, Parent and Child left-aligned, the
 * others right-aligned; the header row ends with a blank, the others do
 * not). A qgroup id is "level/number", or a plain number for level 0.
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>

#include "../fs/format.h"
#include "cmd_fs.h"
#include "cmd_qgroup.h"
#include "shell.h"
#include "units.h"

#define LEVEL_SHIFT BTRFS_QGROUP_LEVEL_SHIFT
#define NUM_MASK ((1ULL << LEVEL_SHIFT) - 1)

/* Print "ERROR: what: reason" and return err. */
static int fail(const char *what, int err)
{
	con_printf("ERROR: %s: %s\n", what,
		   err == -ENOTCONN ? "quota not enabled" :
		   err == -EBUSY ? "qgroup is in use" :
		   cmd_fs_err_text(err));
	return err;
}

/* Parse "level/number" or "number" into *id. 0, or -EINVAL after
 * saying what is wrong. */
int cmd_qgroup_parse_id(const char *s, uint64_t *id)
{
	uint64_t level = 0, v = 0;
	const char *p = s;
	int digits = 0;

	for (; *p >= '0' && *p <= '9'; p++, digits++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (*p == '/' && digits && digits < 6) {
		level = v;
		v = 0;
		digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p || !digits || digits > 15 || level > 0xffff || v > NUM_MASK) {
		con_printf("ERROR: invalid qgroupid or subvolume path: %s\n",
			   s);
		return -EINVAL;
	}
	*id = level << LEVEL_SHIFT | v;
	return 0;
}

/* The filesystem of the last argument (PATH). */
static struct fs_info *fs_at(const char *cmd, const char *path)
{
	const char *in;

	return cmd_fs_path(cmd, path, &in);
}

int cmd_quota_enable(int argc, char **argv)
{
	struct fs_info *fs;
	int ret;

	if (argc != 2)
		return -EINVAL;
	fs = fs_at("quota enable", argv[1]);
	if (!fs)
		return -ENOENT;
	ret = fs_quota_enable(fs);
	return ret ? fail("quota command failed", ret) : 0;
}

int cmd_quota_disable(int argc, char **argv)
{
	struct fs_info *fs;
	int ret;

	if (argc != 2)
		return -EINVAL;
	fs = fs_at("quota disable", argv[1]);
	if (!fs)
		return -ENOENT;
	ret = fs_quota_disable(fs);
	return ret ? fail("quota command failed", ret) : 0;
}

/*
 * quota rescan [-s|-w|-W] PATH: start a rescan (a background task of
 * the filesystem); -w: and wait for it (also for one already running);
 * -W: only wait; -s: say whether one runs and where it is.
 */
int cmd_quota_rescan(int argc, char **argv)
{
	struct fs_info *fs;
	uint64_t flags, progress;
	char opt = 0;
	int ret;

	if (argc == 3 && argv[1][0] == '-' && strchr("swW", argv[1][1]) &&
	    argv[1][1] && !argv[1][2])
		opt = argv[1][1];
	else if (argc != 2)
		return -EINVAL;
	fs = fs_at("quota rescan", argv[argc - 1]);
	if (!fs)
		return -ENOENT;
	if (opt == 's') {
		if (!fs_quota_status(fs, &flags, &progress))
			return fail("quota rescan failed", -ENOTCONN);
		if (flags & BTRFS_QGROUP_STATUS_FLAG_RESCAN)
			con_printf("rescan operation running (current key "
				   "%lld)\n", (long long)progress);
		else
			con_printf("no rescan operation in progress\n");
		return 0;
	}
	ret = opt == 'W' ? 0 : fs_quota_rescan(fs);
	if (ret == -EINPROGRESS && opt == 'w')
		ret = 0;
	else if (ret == 0 && opt != 'W')
		con_printf("quota rescan started\n");
	if (ret == 0 && opt)
		ret = fs_quota_rescan_wait(fs);
	return ret ? fail("quota rescan failed", ret) : 0;
}

/* The quota groups of a filesystem: how many, how many at level 0. */
struct qgroup_count {
	uint64_t all, level0;
};

static int count_qgroup(void *ctx, const struct fs_qgroup *g)
{
	struct qgroup_count *c = ctx;

	c->all++;
	c->level0 += (g->id >> LEVEL_SHIFT) == 0;
	return 0;
}

/*
 * quota status [--is-enabled] PATH, as btrfs-progs prints it (the
 * command came after 6.2): on or off, the mode, consistency, and the
 * number of groups. ghee has full accounting only, no limit override,
 * and accounts a dropped subtree of any height: its drop threshold is
 * the largest tree height, as Linux's default.
 */
int cmd_quota_status(int argc, char **argv)
{
	struct qgroup_count c = { 0, 0 };
	int only_ask = argc == 3 && !strcmp(argv[1], "--is-enabled");
	uint64_t flags, progress;
	struct fs_info *fs;
	int on, ret;

	if (argc != 2 && !only_ask)
		return -EINVAL;
	fs = fs_at("quota status", argv[argc - 1]);
	if (!fs)
		return -ENOENT;
	on = fs_quota_status(fs, &flags, &progress);
	if (only_ask)
		return on ? 0 : 1;
	con_printf("Quotas on %s:\n", argv[argc - 1]);
	if (!on) {
		con_printf("  Enabled: no\n");
		return 0;
	}
	ret = fs_qgroup_list(fs, count_qgroup, &c);
	if (ret)
		return fail("cannot list quota groups", ret);
	con_printf("  Enabled:                 yes\n"
		   "  Mode:                    qgroup (full accounting)\n"
		   "  Inconsistent:            %s\n"
		   "  Override limits:         no\n"
		   "  Drop subtree threshold:  %d\n"
		   "  Total count:             %llu\n"
		   "  Level 0:                 %llu\n",
		   flags & BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT ?
		   "yes (rescan needed)" : "no", BTRFS_MAX_LEVEL,
		   (unsigned long long)c.all, (unsigned long long)c.level0);
	return 0;
}

/* qgroup create|destroy QGROUPID PATH */
static int create_or_destroy(int argc, char **argv, int create)
{
	const char *cmd = create ? "qgroup create" : "qgroup destroy";
	struct fs_info *fs;
	uint64_t id;
	int ret;

	if (argc != 3)
		return -EINVAL;
	if (cmd_qgroup_parse_id(argv[1], &id))
		return -EINVAL;
	fs = fs_at(cmd, argv[2]);
	if (!fs)
		return -ENOENT;
	ret = create ? fs_qgroup_create(fs, id) : fs_qgroup_destroy(fs, id);
	if (ret)
		return fail(create ? "unable to create quota group" :
			    "unable to destroy quota group", ret);
	return 0;
}

int cmd_qgroup_create(int argc, char **argv)
{
	return create_or_destroy(argc, argv, 1);
}

int cmd_qgroup_destroy(int argc, char **argv)
{
	return create_or_destroy(argc, argv, 0);
}

/* qgroup assign|remove [--rescan|--no-rescan] SRC DST PATH: counts are
 * made exact at the commit either way. */
static int relation(int argc, char **argv, int assign)
{
	struct fs_info *fs;
	uint64_t src, dst;
	int i = 1, ret;

	if (i < argc && (!strcmp(argv[i], "--rescan") ||
			 !strcmp(argv[i], "--no-rescan")))
		i++;
	if (argc - i != 3)
		return -EINVAL;
	if (cmd_qgroup_parse_id(argv[i], &src) || cmd_qgroup_parse_id(argv[i + 1],
							    &dst))
		return -EINVAL;
	fs = fs_at(assign ? "qgroup assign" : "qgroup remove", argv[i + 2]);
	if (!fs)
		return -ENOENT;
	ret = fs_qgroup_relation(fs, src, dst, assign);
	if (ret == -EINVAL)
		return fail("bad relation requested", ret);
	return ret ? fail("unable to assign quota group", ret) : 0;
}

int cmd_qgroup_assign(int argc, char **argv)
{
	return relation(argc, argv, 1);
}

int cmd_qgroup_remove(int argc, char **argv)
{
	return relation(argc, argv, 0);
}

/* qgroup limit [-c] [-e] SIZE|none [QGROUPID] PATH. Without QGROUPID,
 * the qgroup of the subvolume holding PATH. */
int cmd_qgroup_limit(int argc, char **argv)
{
	uint64_t which = BTRFS_QGROUP_LIMIT_MAX_RFER, bytes = 0, id;
	struct fs_info *fs;
	struct fs_ino ino;
	const char *in;
	int i = 1, ret;

	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "-e"))
			which = BTRFS_QGROUP_LIMIT_MAX_EXCL;
		else if (strcmp(argv[i], "-c"))
			return -EINVAL;
	}
	if (argc - i != 2 && argc - i != 3)
		return -EINVAL;
	if (strcmp(argv[i], "none") &&
	    shell_parse_u64(argv[i], "qgroup limit", &bytes))
		return -EINVAL;
	fs = cmd_fs_path("qgroup limit", argv[argc - 1], &in);
	if (!fs)
		return -ENOENT;
	if (argc - i == 3) {
		if (cmd_qgroup_parse_id(argv[i + 1], &id))
			return -EINVAL;
	} else {
		ret = fs_lookup(fs, in, FS_LOOKUP_FOLLOW, &ino);
		id = ino.root;
		if (ret)
			return fail("unable to limit requested quota group",
				    ret);
	}
	ret = fs_qgroup_limit(fs, id, which, bytes);
	return ret ? fail("unable to limit requested quota group", ret) : 0;
}
