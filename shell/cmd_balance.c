/*
 * btrfs balance, as btrfs-progs 6.2 has it. `balance start` parses the
 * type options and their filters (-d, -m, -s, each optionally followed by
 * FILTERS: usage=N|N..M, limit=N|N..M, devid=N, drange=A..B,
 * vrange=A..B, profiles=P|P, convert=single|dup, soft, stripes=N..M)
 * into a struct fs_balance and starts it (fs/balance_ctl.c): in the
 * foreground, where Ctrl-C cancels it, or with --bg as a task of its
 * own, returning at once. -m without -s balances system groups with the
 * metadata filters, and -s alone is refused without -f, as btrfs-progs
 * does. No type given is a full balance.
 *
 * status, pause, resume and cancel act on the running or paused balance
 * with btrfs-progs' messages; where progs exits 2 ("Not running", "Not
 * in progress") or 1 (an error), the command fails (-ENOTCONN, or the
 * error); status succeeds whenever it could tell.
 */
#include <ghee/errno.h>
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

/* stripes=: progs takes only a range here ("N..M", "N..", "..M"). */
static int parse_stripes(const char *v, struct fs_balance_filter *f)
{
	uint64_t lo, hi;
	int ret = strstr(v, "..") && strcmp(v, "..") ?
		  parse_range(v, &lo, &hi) : -EINVAL;

	if (ret || lo > UINT32_MAX || (hi != UINT64_MAX && hi > UINT32_MAX)) {
		con_eprintf("ERROR: invalid stripes argument\n");
		return -EINVAL;
	}
	f->stripes_min = (uint32_t)lo;
	f->stripes_max = hi > UINT32_MAX ? UINT32_MAX : (uint32_t)hi;
	f->flags |= FS_BAL_STRIPES;
	return 0;
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
		/* a percentage: past 100 (an open end included) progs
		 * says the argument is invalid */
		ret = parse_range(v, &lo, &hi);
		if (ret == 0 && hi > 100) {
			con_eprintf("ERROR: invalid usage argument: %s\n", v);
			return -EINVAL;
		}
		if (ret == 0 && lo == hi)
			lo = 0;		/* usage=N: below N percent */
		f->usage_min = lo;
		f->usage_max = hi;
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
	} else if (!strcmp(s, "stripes")) {
		return parse_stripes(v, f);
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

static void dump_request(const struct fs_balance *b);

/* The options of balance start; *path the PATH argument. */
static int parse_start(int argc, char **argv, struct fs_balance *b,
		       int *bg, int *full, int *verbose, const char **path)
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
			b->force = 1;
		} else if (!strcmp(a, "--full-balance")) {
			*full = 1;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			*verbose = 1;
		} else if (!strcmp(a, "--bg") || !strcmp(a, "--background")) {
			*bg = 1;
		} else if (a[0] == '-' || *path) {
			return -EINVAL;
		} else {
			*path = a;
		}
	}
	return ret ? ret : *path ? 0 : -EINVAL;
}

/* The error line of a failed balance run, as btrfs-progs prints it. */
static void balance_error(const char *path, int err)
{
	con_eprintf("ERROR: error during balancing '%s': %s\n", path,
		    cmd_fs_strerror(err));
	if (err != -EINPROGRESS)
		con_eprintf("There may be more info in syslog - try dmesg | "
			    "tail\n");
}

/* The end of a foreground run (start or resume): progs' lines. */
static int balance_done(const char *path, const struct fs_balance *b,
			int ret)
{
	if (ret == -ECANCELED && (b->state & FS_BAL_CANCEL_REQ)) {
		con_eprintf("balance canceled by user\n");
		return 0;
	}
	if (ret == -ECANCELED && (b->state & FS_BAL_PAUSE_REQ)) {
		con_eprintf("balance paused by user\n");
		return 0;
	}
	if (ret == -ECANCELED)		/* Ctrl-C or kill: cancelled */
		return ret;
	if (ret) {
		balance_error(path, ret);
		return ret;
	}
	con_printf("Done, had to relocate %llu out of %llu chunks\n",
		   (unsigned long long)b->relocated,
		   (unsigned long long)b->considered);
	return 0;
}

int cmd_balance_start(int argc, char **argv)
{
	struct fs_balance b;
	const char *path, *in;
	struct fs_info *fs;
	int bg = 0, full = 0, verbose = 0, ret;

	memset(&b, 0, sizeof(b));
	ret = parse_start(argc, argv, &b, &bg, &full, &verbose, &path);
	if (ret)
		return ret;
	if ((b.types & (1u << FS_BAL_SYS)) && !b.force) {
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
	if (verbose)		/* progs dumps the request before it starts */
		dump_request(&b);
	ret = fs_balance_start(fs, &b, bg);
	if (bg && ret)
		balance_error(path, ret);
	return bg ? ret : balance_done(path, &b, ret);
}

/* The PATH argument of status/pause/resume/cancel and its filesystem. */
static struct fs_info *one_path(int argc, char **argv, const char *cmd,
				const char **path, int *verbose)
{
	const char *in;
	int i;

	*path = NULL;
	for (i = 1; i < argc; i++) {
		if (verbose && (!strcmp(argv[i], "-v") ||
				!strcmp(argv[i], "--verbose"))) {
			*verbose = 1;
			continue;
		}
		if (argv[i][0] == '-' || *path) {
			*path = NULL;
			return NULL;
		}
		*path = argv[i];
	}
	return *path ? cmd_fs_path(cmd, *path, &in) : NULL;
}

/* "..M", "N..", "N..M" of a u32 range, as progs' print_range_u32. */
static void print_range_u32(uint64_t lo, uint64_t hi)
{
	if (lo)
		con_printf("%llu", (unsigned long long)lo);
	con_printf("..");
	if (hi < UINT32_MAX)
		con_printf("%llu", (unsigned long long)hi);
}

/* One type's filters, as progs' dump_balance_args. */
static void dump_args(const struct fs_balance_filter *f)
{
	uint64_t fl = fs_balance_args_flags(f);

	if (f->flags & FS_BAL_CONVERT)
		con_printf("converting, target=%llu, soft is %s",
			   (unsigned long long)f->target,
			   f->flags & FS_BAL_SOFT ? "on" : "off");
	else
		con_printf("balancing");
	if (f->flags & FS_BAL_PROFILES)
		con_printf(", profiles=%llu", (unsigned long long)f->profiles);
	if (fl & (1u << 1))		/* BTRFS_BALANCE_ARGS_USAGE */
		con_printf(", usage=%llu", (unsigned long long)f->usage_max);
	if (fl & (1u << 10)) {		/* BTRFS_BALANCE_ARGS_USAGE_RANGE */
		con_printf(", usage=");
		print_range_u32(f->usage_min, f->usage_max);
	}
	if (f->flags & FS_BAL_DEVID)
		con_printf(", devid=%llu", (unsigned long long)f->devid);
	if (f->flags & FS_BAL_DRANGE)
		con_printf(", drange=%llu..%llu", (unsigned long long)f->pstart,
			   (unsigned long long)f->pend);
	if (f->flags & FS_BAL_VRANGE)
		con_printf(", vrange=%llu..%llu", (unsigned long long)f->vstart,
			   (unsigned long long)f->vend);
	if (fl & (1u << 5))		/* BTRFS_BALANCE_ARGS_LIMIT */
		con_printf(", limit=%llu", (unsigned long long)f->limit_max);
	if (fl & (1u << 6)) {		/* BTRFS_BALANCE_ARGS_LIMIT_RANGE */
		con_printf(", limit=");
		print_range_u32(f->limit_min, f->limit_max);
	}
	if (f->flags & FS_BAL_STRIPES) {
		con_printf(", stripes=");
		print_range_u32(f->stripes_min, f->stripes_max);
	}
	con_printf("\n");
}

/* progs' dump_ioctl_balance_args: the flags are btrfs's (DATA 1, SYSTEM
 * 2, METADATA 4, FORCE 8, RESUME 16). */
static void dump_request(const struct fs_balance *b)
{
	static const struct { int type; unsigned bit; const char *name; }
		order[] = { { FS_BAL_DATA, 1, "DATA" },
			    { FS_BAL_META, 4, "METADATA" },
			    { FS_BAL_SYS, 2, "SYSTEM" } };
	unsigned flags = (b->force ? 8 : 0) | (b->resumed ? 16 : 0);
	int i;

	for (i = 0; i < 3; i++)
		if (b->types & (1u << order[i].type))
			flags |= order[i].bit;
	con_printf("Dumping filters: flags 0x%x, state 0x%x, force is %s\n",
		   flags, b->state, b->force ? "on" : "off");
	for (i = 0; i < 3; i++) {
		if (!(b->types & (1u << order[i].type)))
			continue;
		con_printf("  %s (flags 0x%llx): ", order[i].name,
			   (unsigned long long)
			   fs_balance_args_flags(&b->f[order[i].type]));
		dump_args(&b->f[order[i].type]);
	}
}

/* progs' "%3.f%% left" of 100 * (1 - done / expected), rounded half to
 * even as printf does; 0 of 0 is the -nan a float division gives. */
static void print_left(uint64_t done, uint64_t expected)
{
	uint64_t n, q, r;

	if (!expected) {
		con_printf("-nan%% left\n");
		return;
	}
	n = 100 * (expected > done ? expected - done : 0);
	q = n / expected;
	r = n % expected;
	if (2 * r > expected || (2 * r == expected && (q & 1)))
		q++;
	con_printf("%3llu%% left\n", (unsigned long long)q);
}

int cmd_balance_status(int argc, char **argv)
{
	struct fs_balance b;
	const char *path;
	int verbose = 0, ret;
	struct fs_info *fs = one_path(argc, argv, "balance status", &path,
				      &verbose);

	if (!fs)
		return path ? -ENOENT : -EINVAL;
	ret = fs_balance_status(fs, &b);
	if (ret == -ENOTCONN) {
		con_printf("No balance found on '%s'\n", path);
		return 0;
	}
	if (ret) {
		con_eprintf("ERROR: balance status on '%s' failed: %s\n", path,
			    cmd_fs_strerror(ret));
		return ret;
	}
	if (b.state & FS_BAL_RUNNING)
		con_printf("Balance on '%s' is running%s\n", path,
			   b.state & FS_BAL_CANCEL_REQ ? ", cancel requested" :
			   b.state & FS_BAL_PAUSE_REQ ? ", pause requested" :
			   "");
	else
		con_printf("Balance on '%s' is paused\n", path);
	con_printf("%llu out of about %llu chunks balanced (%llu considered), ",
		   (unsigned long long)b.relocated,
		   (unsigned long long)b.expected,
		   (unsigned long long)b.considered);
	print_left(b.relocated, b.expected);
	if (verbose)
		dump_request(&b);
	return 0;
}

/* "ERROR: balance CMD on 'PATH' failed: WHY" for -ENOTCONN and others. */
static int ctl_failed(const char *cmd, const char *path, int err,
		      const char *notconn)
{
	con_eprintf("ERROR: balance %s on '%s' failed: %s\n", cmd, path,
		    err == -ENOTCONN ? notconn : err == -EINPROGRESS ?
		    "Already running" : cmd_fs_strerror(err));
	return err;
}

int cmd_balance_pause(int argc, char **argv)
{
	const char *path;
	struct fs_info *fs = one_path(argc, argv, "balance pause", &path, NULL);
	int ret;

	if (!fs)
		return path ? -ENOENT : -EINVAL;
	ret = fs_balance_pause(fs);
	return ret ? ctl_failed("pause", path, ret, "Not running") : 0;
}

int cmd_balance_cancel(int argc, char **argv)
{
	const char *path;
	struct fs_info *fs = one_path(argc, argv, "balance cancel", &path,
				      NULL);
	int ret;

	if (!fs)
		return path ? -ENOENT : -EINVAL;
	ret = fs_balance_cancel(fs);
	return ret ? ctl_failed("cancel", path, ret, "Not in progress") : 0;
}

int cmd_balance_resume(int argc, char **argv)
{
	struct fs_balance b;
	const char *path;
	struct fs_info *fs = one_path(argc, argv, "balance resume", &path,
				      NULL);
	int ret;

	if (!fs)
		return path ? -ENOENT : -EINVAL;
	memset(&b, 0, sizeof(b));
	ret = fs_balance_resume(fs, &b);
	if (ret == -ENOTCONN || ret == -EINPROGRESS)
		return ctl_failed("resume", path, ret, "Not in progress");
	return balance_done(path, &b, ret);
}
