/*
 * `fallocate`, as util-linux's (2.38): [-c|-i|-p|-z] [-n] [-x] -o OFFSET
 * -l LENGTH FILE, or -l LENGTH FILE (offset 0).
 *
 * The modes are Linux's fallocate(2) on btrfs:
 * - none: the holes of the range become preallocated extents
 *   (fs_fallocate), the size grows to the range's end; the file is made
 *   when missing (util-linux opens it with O_CREAT in this mode only);
 * - -n (keep size): the same, but the size stays;
 * - -p (punch hole, implies -n): the range is freed (fs_punch_hole);
 * - -z (zero range): the range reads as zeros and is preallocated,
 *   growing the size unless -n: a hole punched, then preallocated. Linux
 *   reserves the space first; here a full disk stops it after the punch,
 *   so the range reads as zeros, partly preallocated (the size kept);
 * - -c (collapse range), -i (insert range): btrfs does not have them
 *   (EOPNOTSUPP);
 * - -x (posix_fallocate(3)): on btrfs the same as no mode.
 * -d (dig holes) and -v (verbose) are not implemented.
 *
 * Linux refuses a file of a read-only subvolume or filesystem at the
 * read-write open (EROFS); here the call's first write refuses it, and
 * the message is the open's. So -c and -i, refused before any write,
 * say EOPNOTSUPP there where Linux says EROFS.
 *
 * Options parse as getopt_long does (clustered flags, -l4k, --length=4k,
 * unique prefixes of long names, options after FILE, "--"), mutually
 * exclusive ones refused as util-linux's table refuses them, and sizes as
 * util-linux's strtosize (parse_size below). The checks the kernel makes
 * before btrfs sees the call (vfs_fallocate) are made here in its order,
 * and every message is util-linux's: "fallocate: fallocate failed:
 * Operation not supported". Bad arguments return -EINVAL after their
 * message (the shell adds the usage line); a failed call, its errno.
 */
#include <ghee/errno.h>
#include <stdint.h>
#include <string.h>

#include <ghee/console.h>

#include "../fs/fs.h"
#include "cmd_fs.h"
#include "shell.h"

/* Linux's FALLOC_FL_* bits, as util-linux's options set them. */
#define FL_KEEP_SIZE 0x01
#define FL_PUNCH_HOLE 0x02
#define FL_COLLAPSE_RANGE 0x08
#define FL_ZERO_RANGE 0x10
#define FL_INSERT_RANGE 0x20

struct falloc_opt {
	char c;			/* short option */
	const char *name;	/* long option */
	int has_arg;
};

static const struct falloc_opt opts[] = {
	{ 'c', "collapse-range", 0 }, { 'd', "dig-holes", 0 },
	{ 'i', "insert-range", 0 }, { 'l', "length", 1 },
	{ 'n', "keep-size", 0 }, { 'o', "offset", 1 },
	{ 'p', "punch-hole", 0 }, { 'v', "verbose", 0 },
	{ 'x', "posix", 0 }, { 'z', "zero-range", 0 },
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* util-linux's table of options that exclude each other, and how it
 * reads it: a row is looked at only while its first letter is not past
 * the option's (so the last row only for -x and -z). */
static const char *const excl[] = { "cdpz", "cn", "xcdinpz" };
#define NEXCL (sizeof(excl) / sizeof(excl[0]))

struct falloc_args {
	int mode;		/* FL_* */
	int posix;		/* -x */
	const char *len_s;	/* -l's text, NULL when not given */
	const char *off_s;	/* -o's text, NULL when not given */
	const char *file;
	char seen[NEXCL];	/* per excl row: its option given first */
};

static const char *long_name(char c)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (opts[i].c == c)
			return opts[i].name;
	return "";
}

/* Refuse c when another option of one of its excl rows came first. */
static int check_exclusive(struct falloc_args *a, char c)
{
	const char *op;
	size_t e;

	for (e = 0; e < NEXCL && excl[e][0] <= c; e++) {
		for (op = excl[e]; *op && *op <= c && *op != c; op++)
			;
		if (*op != c)
			continue;
		if (!a->seen[e]) {
			a->seen[e] = c;
		} else if (a->seen[e] != c) {
			con_eprintf("fallocate: mutually exclusive arguments:");
			for (op = excl[e]; *op; op++)
				con_eprintf(" --%s", long_name(*op));
			con_eprintf("\n");
			return -EINVAL;
		}
	}
	return 0;
}

/* Take option c (its argument arg, when it has one). */
static int take_opt(struct falloc_args *a, char c, const char *arg)
{
	int ret = check_exclusive(a, c);

	if (ret)
		return ret;
	switch (c) {
	case 'c': a->mode |= FL_COLLAPSE_RANGE; break;
	case 'i': a->mode |= FL_INSERT_RANGE; break;
	case 'n': a->mode |= FL_KEEP_SIZE; break;
	case 'p': a->mode |= FL_PUNCH_HOLE | FL_KEEP_SIZE; break;
	case 'z': a->mode |= FL_ZERO_RANGE; break;
	case 'x': a->posix = 1; break;
	case 'l': a->len_s = arg; break;
	case 'o': a->off_s = arg; break;
	default:
		con_eprintf("fallocate: --%s is not supported by ghee\n",
			    long_name(c));
		return -EOPNOTSUPP;
	}
	return 0;
}

/* A long option at argv[*i] ("--name" or "--name=value"). */
static int take_long(struct falloc_args *a, int argc, char **argv, int *i)
{
	const char *w = argv[*i] + 2, *eq = strchr(w, '=');
	size_t n = eq ? (size_t)(eq - w) : strlen(w), k, found = NOPTS;

	for (k = 0; k < NOPTS; k++) {
		if (strncmp(opts[k].name, w, n))
			continue;
		if (strlen(opts[k].name) == n || found == NOPTS) {
			found = k;
			if (strlen(opts[k].name) == n)
				break;
		} else {
			con_eprintf("fallocate: option '%s' is ambiguous\n",
				    argv[*i]);
			return -EINVAL;
		}
	}
	if (found == NOPTS) {
		con_eprintf("fallocate: unrecognized option '%s'\n", argv[*i]);
		return -EINVAL;
	}
	if (!opts[found].has_arg && eq) {
		con_eprintf("fallocate: option '--%s' doesn't allow an "
			    "argument\n", opts[found].name);
		return -EINVAL;
	}
	if (opts[found].has_arg && !eq && *i + 1 >= argc) {
		con_eprintf("fallocate: option '--%s' requires an argument\n",
			    opts[found].name);
		return -EINVAL;
	}
	return take_opt(a, opts[found].c, !opts[found].has_arg ? NULL :
			eq ? eq + 1 : argv[++*i]);
}

/* A cluster of short options at argv[*i] ("-nl4k", "-l", "4k"). */
static int take_short(struct falloc_args *a, int argc, char **argv, int *i)
{
	const char *w = argv[*i] + 1;
	size_t k;
	int ret;

	for (; *w; w++) {
		for (k = 0; k < NOPTS && opts[k].c != *w; k++)
			;
		if (k == NOPTS) {
			con_eprintf("fallocate: invalid option -- '%c'\n", *w);
			return -EINVAL;
		}
		if (!opts[k].has_arg) {
			ret = take_opt(a, *w, NULL);
			if (ret)
				return ret;
			continue;
		}
		if (!w[1] && *i + 1 >= argc) {
			con_eprintf("fallocate: option requires an argument "
				    "-- '%c'\n", *w);
			return -EINVAL;
		}
		return take_opt(a, *w, w[1] ? w + 1 : argv[++*i]);
	}
	return 0;
}

/* Parse argv as getopt_long would; then the file name. */
static int parse_args(int argc, char **argv, struct falloc_args *a)
{
	int i, nfiles = 0, ret = 0, opts_end = 0;

	for (i = 1; i < argc && ret == 0; i++) {
		if (!opts_end && !strcmp(argv[i], "--")) {
			opts_end = 1;
		} else if (opts_end || argv[i][0] != '-' || !argv[i][1]) {
			if (!nfiles++)
				a->file = argv[i];
		} else if (argv[i][1] == '-') {
			ret = take_long(a, argc, argv, &i);
		} else {
			ret = take_short(a, argc, argv, &i);
		}
	}
	if (ret)
		return ret;
	if (!nfiles) {
		con_eprintf("fallocate: no filename specified\n");
		return -EINVAL;
	}
	if (nfiles > 1) {
		con_eprintf("fallocate: unexpected number of arguments\n");
		return -EINVAL;
	}
	return 0;
}

static int is_digit_in(char ch, unsigned base)
{
	if (base == 16)
		return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
		       (ch >= 'A' && ch <= 'F');
	return ch >= '0' && ch < (char)('0' + base);
}

/* Read the digits at *p in base into *v, moving *p past them; -ERANGE
 * when the value passes 2^64 - 1. */
static int read_digits(const char **p, unsigned base, uint64_t *v)
{
	uint64_t d;

	for (*v = 0; is_digit_in(**p, base); (*p)++) {
		d = **p <= '9' ? (uint64_t)(**p - '0') :
		    (uint64_t)((**p | 0x20) - 'a' + 10);
		if (*v > (UINT64_MAX - d) / base)
			return -ERANGE;
		*v = *v * base + d;
	}
	return 0;
}

/* Read a number as strtoumax(s, &end, 0) does: blanks, '+', then 0x hex,
 * 0 octal or decimal. -EINVAL when there is none. */
static int read_number(const char **p, uint64_t *v)
{
	const char *s = *p;
	unsigned base = 10;

	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	if (*s == '+')
		s++;
	if (s[0] == '0' && (s[1] | 0x20) == 'x' && is_digit_in(s[2], 16)) {
		base = 16;
		s += 2;
	} else if (s[0] == '0') {
		base = 8;
	}
	if (!is_digit_in(*s, base))
		return -EINVAL;
	*p = s;
	return read_digits(p, base, v);
}

/* Multiply *x by base power times; -ERANGE past 2^64 - 1. */
static int scale(uint64_t *x, unsigned base, int power)
{
	while (power--) {
		if (UINT64_MAX / base < *x)
			return -ERANGE;
		*x *= base;
	}
	return 0;
}

/* The fraction's share of unit (util-linux's sum, digit by digit from
 * the last: the digit d whose place is 10^k adds unit / (10^k / d), with
 * frac_div the power of ten at or above the fraction's digits, times
 * ten per leading zero). */
static uint64_t frac_share(uint64_t frac, int zeros, uint64_t unit)
{
	uint64_t div = 10, poz = 1, sum = 0, seg, seg_div;

	while (div < frac) {
		if (div <= UINT64_MAX / 10)
			div *= 10;
		else
			frac /= 10;
	}
	while (zeros--) {
		if (div <= UINT64_MAX / 10)
			div *= 10;
		else
			frac /= 10;
	}
	do {
		seg = frac % 10;
		seg_div = div / poz;
		frac /= 10;
		poz *= 10;
		if (seg && seg_div / seg)
			sum += unit / (seg_div / seg);
	} while (frac);
	return sum;
}

/*
 * Parse a size as util-linux's strtosize: a number (read_number; '-'
 * refused), optionally a decimal point and digits, then a suffix, which
 * the fraction requires: K, M, G, T, P, E, Z, Y (or lower case) alone or
 * with "iB" for powers of 1024, with "B" for powers of 1000. The
 * fraction adds frac_share of the unit, so that sizes come out as
 * util-linux's (1.5M is 1572864, but 1.10M is 2 MiB there too).
 * Returns 0, -EINVAL or -ERANGE.
 */
static int parse_size(const char *str, uint64_t *res)
{
	static const char suf[] = "KMGTPEZY", suf2[] = "kmgtpezy";
	const char *p = str, *sp;
	uint64_t x = 0, frac = 0;
	unsigned base = 1024;
	int zeros = 0, pwr, ret;

	while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
		p++;
	if (*p == '-')
		return -EINVAL;
	p = str;
	ret = read_number(&p, &x);
	if (ret || !*p)
		goto out;
	for (;;) {
		if (!*p)
			return -EINVAL;	/* "1.0": a point, no suffix */
		if (p[1] == 'i' && (p[2] == 'B' || p[2] == 'b') && !p[3])
			base = 1024;
		else if ((p[1] == 'B' || p[1] == 'b') && !p[2])
			base = 1000;
		else if (p[1] && !frac && *p == '.')
			goto fraction;
		else if (p[1])
			return -EINVAL;
		break;
fraction:
		for (p++; *p == '0'; p++)
			zeros++;
		if (*p >= '1' && *p <= '9') {
			ret = read_digits(&p, 10, &frac);
			if (ret)
				return ret;
			if (!*p)
				return -EINVAL;	/* a fraction needs a suffix */
		}
	}
	sp = strchr(suf, *p);
	pwr = sp ? (int)(sp - suf) + 1 : 0;
	if (!sp && (sp = strchr(suf2, *p)))
		pwr = (int)(sp - suf2) + 1;
	if (!pwr)
		return -EINVAL;
	ret = scale(&x, base, pwr);
	if (ret == 0 && frac) {
		uint64_t unit = 1;

		/* past 2^64 it stops short, as util-linux's */
		(void)scale(&unit, base, pwr);
		x += frac_share(frac, zeros, unit);
	}
out:
	*res = x;
	return ret;
}

/* A size option's value: util-linux's cvtnum, whose sizes past 2^63 - 1
 * turn negative, hence invalid. */
static int size_arg(const char *s, uint64_t *v)
{
	return parse_size(s, v) || *v > INT64_MAX ? -EINVAL : 0;
}

/* Open a->file as util-linux does (read-write; made, mode 0644, when
 * missing in the plain mode only), saying why not; *type its S_IFMT. */
static int open_file(const struct falloc_args *a, struct fs_info **fs,
		     struct fs_ino *ino, uint32_t *type)
{
	struct fs_stat st;
	const char *in;
	int ret;

	*fs = cmd_fs_path("fallocate", a->file, &in);
	if (!*fs)
		return -ENOENT;
	ret = fs_lookup(*fs, in, FS_LOOKUP_FOLLOW, ino);
	if (ret == -ENOENT && !a->mode)
		ret = fs_create(*fs, in, 0644, ino);
	if (ret == 0)
		ret = fs_stat(*fs, *ino, &st);
	*type = ret ? 0 : st.mode & 0170000;
	if (ret == 0 && *type == 0040000)
		ret = -EISDIR;
	if (ret)
		con_eprintf("fallocate: cannot open %s: %s\n", a->file,
			    cmd_fs_strerror(ret));
	return ret;
}

/* Linux's check of the mode (vfs_fallocate, as Linux 6.18 has it): one
 * operation at most; keep size with allocation and zeroing only
 * (punching requires it). 0 or -EOPNOTSUPP. */
static int check_mode(int mode)
{
	switch (mode & ~FL_KEEP_SIZE) {
	case 0:
	case FL_ZERO_RANGE:
	case FL_PUNCH_HOLE:	/* -p sets keep size too */
		return 0;
	case FL_COLLAPSE_RANGE:
	case FL_INSERT_RANGE:
		return mode & FL_KEEP_SIZE ? -EOPNOTSUPP : 0;
	default:
		return -EOPNOTSUPP;
	}
}

/* Make the call on an open file of S_IFMT type: Linux's checks of the
 * mode, the file and the range, in vfs_fallocate's order, then
 * btrfs_fallocate's refusal of the modes it lacks, then the work. */
static int run(int mode, struct fs_info *fs, struct fs_ino ino,
	       uint32_t type, uint64_t off, uint64_t len)
{
	int ret = check_mode(mode);

	if (ret)
		return ret;
	if (type == 0010000)
		return -ESPIPE;		/* a FIFO */
	if (type != 0100000)
		return -ENODEV;		/* a device node, a socket */
	if (off + len > INT64_MAX)
		return -EFBIG;
	if (mode & (FL_COLLAPSE_RANGE | FL_INSERT_RANGE))
		return -EOPNOTSUPP;
	if (mode & FL_PUNCH_HOLE)
		return fs_punch_hole(fs, ino, off, len);
	if (mode & FL_ZERO_RANGE) {
		ret = fs_punch_hole(fs, ino, off, len);
		if (ret)
			return ret;
	}
	return fs_fallocate(fs, ino, off, len, mode & FL_KEEP_SIZE);
}

int cmd_fallocate(int argc, char **argv)
{
	struct falloc_args a;
	struct fs_info *fs;
	struct fs_ino ino;
	uint64_t off = 0, len;
	uint32_t type;
	int mode, ret;

	memset(&a, 0, sizeof(a));
	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret;
	if (!a.len_s) {
		con_eprintf("fallocate: no length argument specified\n");
		return -EINVAL;
	}
	if (size_arg(a.len_s, &len) || !len) {
		con_eprintf("fallocate: invalid length value specified\n");
		return -EINVAL;
	}
	if (a.off_s && size_arg(a.off_s, &off)) {
		con_eprintf("fallocate: invalid offset value specified\n");
		return -EINVAL;
	}
	ret = open_file(&a, &fs, &ino, &type);
	if (ret)
		return ret == -EINVAL ? -ECANCELED : ret;
	mode = a.posix ? 0 : a.mode;	/* posix_fallocate has none */
	ret = run(mode, fs, ino, type, off, len);
	/* Linux refuses a read-only file at the read-write open */
	if (ret == -EROFS)
		con_eprintf("fallocate: cannot open %s: %s\n", a.file,
			    cmd_fs_strerror(ret));
	else if (ret == -EOPNOTSUPP && (mode & FL_KEEP_SIZE))
		con_eprintf("fallocate: fallocate failed: keep size mode is "
			    "unsupported\n");
	else if (ret)
		con_eprintf("fallocate: fallocate failed: %s\n",
			    cmd_fs_strerror(ret));
	/* the arguments were right: no usage after the message */
	return ret == -EINVAL ? -ECANCELED : ret;
}
