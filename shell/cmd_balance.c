/*
 * btrfs balance, as btrfs-progs 6.2 has it. `balance start` parses the
 * type options and their filters (-d, -m, -s, each optionally followed by
 * FILTERS: usage=N|N..M, limit=N|N..M, devid=N, drange=A..B,
 * vrange=A..B, profiles=P|P, convert=single|dup, soft) into a struct
 * fs_balance and runs fs_balance() in the foreground. -m without -s
 * balances system groups with the metadata filters, and -s alone is
 * refused without -f, as btrfs-progs does. No type given is a full
 * balance.
 *
 * A balance runs to its end inside the command, so status, pause,
 * resume and cancel never find one running and say so as btrfs-progs
 * does when none is. (--bg, and a paused balance kept in the tree root,
 * are not built yet: --bg is refused.)
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/console.h>

#include "cmd_balance.h"
#include "cmd_fs.h"
#include "../fs/fs.h"

/* A profile name as the filters spell it, into its bits; 0 if unknown. */
static uint64_t profile_bits(const char *s, size_t n)
{
	if (n == 6 && !strncmp(s, "single", 6))
		return FS_BAL_SINGLE;
	if (n == 3 && !strncmp(s, "dup", 3))
		return 1ull << 5;	/* BTRFS_BLOCK_GROUP_DUP */
	return 0;
}

/* "N" or "N..M" or "..M" or "N.." into [*lo, *hi]. */
static int parse_range(const char *v, uint64_t *lo, uint64_t *hi)
{
	const char *dots = strstr(v, "..");
	char *end;

	*lo = 0;
	*hi = UINT64_MAX;
	if (!dots) {
		*lo = *hi = strtoull(v, &end, 10);
		return *v && !*end ? 0 : -EINVAL;
	}
	if (dots != v) {
		*lo = strtoull(v, &end, 10);
		if (end != dots)
			return -EINVAL;
	}
	if (dots[2]) {
		*hi = strtoull(dots + 2, &end, 10);
		if (*end)
			return -EINVAL;
	}
	return *lo <= *hi ? 0 : -EINVAL;
}

/* "a|b" profiles into bits. */
static int parse_profiles(const char *v, uint64_t *bits)
{
	*bits = 0;
	while (*v) {
		size_t n = strcspn(v, "|");
		uint64_t b = profile_bits(v, n);

		if (!b)
			return -EINVAL;
		*bits |= b;
		v += n + (v[n] == '|');
	}
	return *bits ? 0 : -EINVAL;
}

/* One filter "name=value" (or "soft") into f. */
static int parse_filter(char *s, struct fs_balance_filter *f)
{
	char *v = strchr(s, '=');
	uint64_t lo, hi;
	int ret = -EINVAL;

	if (v)
		*v++ = '\0';
	if (!strcmp(s, "soft") && !v) {
		f->flags |= FS_BAL_SOFT;
		return 0;
	}
	if (!v) {
		con_eprintf("ERROR: the %s filter requires an argument\n", s);
		return -EINVAL;
	}
	if (!strcmp(s, "usage")) {
		ret = parse_range(v, &lo, &hi);
		if (ret == 0 && lo == hi)
			lo = 0;		/* usage=N: below N percent */
		f->usage_min = lo;
		f->usage_max = hi > 100 ? 100 : hi;
		f->flags |= FS_BAL_USAGE;
	} else if (!strcmp(s, "limit")) {
		ret = parse_range(v, &lo, &hi);
		if (ret == 0 && lo == hi)
			lo = 0;		/* limit=N: at most N */
		f->limit_min = lo;
		f->limit_max = hi;
		f->flags |= FS_BAL_LIMIT;
	} else if (!strcmp(s, "devid")) {
		ret = parse_range(v, &f->devid, &hi);
		ret = ret == 0 && f->devid == hi && hi ? 0 : -EINVAL;
		f->flags |= FS_BAL_DEVID;
	} else if (!strcmp(s, "drange")) {
		ret = parse_range(v, &f->pstart, &f->pend);
		f->flags |= FS_BAL_DRANGE;
	} else if (!strcmp(s, "vrange")) {
		ret = parse_range(v, &f->vstart, &f->vend);
		f->flags |= FS_BAL_VRANGE;
	} else if (!strcmp(s, "profiles")) {
		ret = parse_profiles(v, &f->profiles);
		f->flags |= FS_BAL_PROFILES;
	} else if (!strcmp(s, "convert")) {
		f->target = profile_bits(v, strlen(v));
		ret = f->target ? 0 : -EINVAL;
		f->flags |= FS_BAL_CONVERT;
	} else {
		con_eprintf("ERROR: unrecognized balance option: %s\n", s);
		return -EINVAL;
	}
	if (ret)
		con_eprintf("ERROR: invalid %s argument: %s\n", s, v);
	return ret;
}

/* "FILTERS" after -d/-m/-s: comma-separated filters. */
static int parse_filters(char *s, struct fs_balance_filter *f)
{
	char *save = NULL, *tok;
	int ret = 0;

	for (tok = strtok_r(s, ",", &save); tok && ret == 0;
	     tok = strtok_r(NULL, ",", &save))
		ret = parse_filter(tok, f);
	return ret;
}

/* The options of balance start; *path the PATH argument. */
static int parse_start(int argc, char **argv, struct fs_balance *b,
		       int *force, int *full, const char **path)
{
	int i, ret = 0;

	*path = NULL;
	for (i = 1; i < argc && ret == 0; i++) {
		char *a = argv[i];
		int t = a[0] == '-' && a[1] == 'd' ? FS_BAL_DATA :
			a[0] == '-' && a[1] == 'm' ? FS_BAL_META :
			a[0] == '-' && a[1] == 's' ? FS_BAL_SYS : -1;

		if (t >= 0) {
			b->types |= 1u << t;
			ret = parse_filters(a + 2, &b->f[t]);
		} else if (!strcmp(a, "-f") || !strcmp(a, "--force")) {
			*force = 1;
		} else if (!strcmp(a, "--full-balance")) {
			*full = 1;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			continue;
		} else if (!strcmp(a, "--bg") || !strcmp(a, "--background")) {
			con_eprintf("ERROR: balance start --bg: background "
				    "balance is not supported yet\n");
			return -EOPNOTSUPP;
		} else if (a[0] == '-' || *path) {
			return -EINVAL;
		} else {
			*path = a;
		}
	}
	return ret ? ret : *path ? 0 : -EINVAL;
}

int cmd_balance_start(int argc, char **argv)
{
	struct fs_balance b;
	const char *path, *in;
	struct fs_info *fs;
	int force = 0, full = 0, ret;

	memset(&b, 0, sizeof(b));
	ret = parse_start(argc, argv, &b, &force, &full, &path);
	if (ret)
		return ret;
	if ((b.types & (1u << FS_BAL_SYS)) && !force) {
		con_eprintf("ERROR: Refusing to explicitly operate on system "
			    "chunks.\nPass --force if you really want to do "
			    "that.\n");
		return -EPERM;
	}
	if (!b.types) {
		b.types = 7;
		if (!full)
			con_eprintf("WARNING: full balance without filters: "
				    "every block group is relocated (use "
				    "--full-balance to skip this warning)\n");
	} else if ((b.types & (1u << FS_BAL_META)) &&
		   !(b.types & (1u << FS_BAL_SYS))) {
		b.types |= 1u << FS_BAL_SYS;
		b.f[FS_BAL_SYS] = b.f[FS_BAL_META];
	}
	fs = cmd_fs_path("balance start", path, &in);
	if (!fs)
		return -ENOENT;
	ret = fs_balance(fs, &b);
	if (ret) {
		con_eprintf("ERROR: error during balancing '%s': %s\n", path,
			    cmd_fs_err_text(ret));
		return ret;
	}
	con_printf("Done, had to relocate %llu out of %llu chunks\n",
		   (unsigned long long)b.relocated,
		   (unsigned long long)b.considered);
	return 0;
}

/* The PATH argument of status/pause/resume/cancel, checked mounted. */
static int one_path(int argc, char **argv, const char *cmd,
		    const char **path)
{
	const char *in;
	int i;

	*path = NULL;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v") && !strcmp(argv[0], "status"))
			continue;
		if (argv[i][0] == '-' || *path)
			return -EINVAL;
		*path = argv[i];
	}
	if (!*path)
		return -EINVAL;
	return cmd_fs_path(cmd, *path, &in) ? 0 : -ENOENT;
}

int cmd_balance_status(int argc, char **argv)
{
	const char *path;
	int ret = one_path(argc, argv, "balance status", &path);

	if (ret == 0)
		con_printf("No balance found on '%s'\n", path);
	return ret;
}

/* pause, resume, cancel: nothing is ever running between commands. */
static int not_running(int argc, char **argv, const char *why)
{
	const char *path;
	int ret = one_path(argc, argv, "balance", &path);

	if (ret)
		return ret;
	con_eprintf("ERROR: balance %s on '%s' failed: %s\n", argv[0], path,
		    why);
	return -ENOTCONN;
}

int cmd_balance_pause(int argc, char **argv)
{
	return not_running(argc, argv, "Not running");
}

int cmd_balance_resume(int argc, char **argv)
{
	return not_running(argc, argv, "Not in progress");
}

int cmd_balance_cancel(int argc, char **argv)
{
	return not_running(argc, argv, "Not in progress");
}
