/*
 * Extended attribute commands in the layout of attr 2.5's tools:
 *
 *   setfattr {-n NAME [-v VALUE] | -x NAME} [-h] PATH...
 *   getfattr [-n NAME | -d] [-e text|hex|base64] [-m PATTERN] [-h]
 *            [--only-values] [--absolute-names] PATH...
 *
 * Values given to setfattr are text, "quoted text" (with \ooo octal and
 * \c escapes), 0x hex or 0s base64, as setfattr reads them. getfattr
 * prints "# file: PATH" (leading '/' removed unless --absolute-names,
 * saying so once, as getfattr does), then NAME or NAME=VALUE lines in
 * name order, then
 * an empty line; values as text when at most one byte in eight is not
 * printable, else base64, unless -e says. -m takes a small regular
 * expression (^ $ . * \c and literals), "^user\." by default, "-" for
 * every name. Symlinks are followed unless -h.
 *
 * Errors: "CMD: PATH: reason (errno N)" (names too: "PATH: NAME: ..."),
 * then a negative errno; a missing attribute is -ENODATA.
 */
#include <ghee/errno.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>

#include "../fs/fs.h"
#include "cmd_fs.h"
#include "cmd_xattr.h"

#define LIST_MAX 65536		/* bytes of names listed per inode */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int fail(const char *cmd, const char *what, const char *name,
		int err)
{
	con_eprintf("%s: %s: %s%s%s (errno %d)\n", cmd, what, name ? name : "",
		    name ? ": " : "", cmd_fs_err_text(err), -err);
	return err;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int b64val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

/* Decode 0x hex into out: its length, or -EINVAL. */
static int decode_hex(const char *s, uint8_t *out)
{
	size_t n = 0;

	for (; *s; s += 2) {
		int hi = hexval(s[0]), lo = s[1] ? hexval(s[1]) : -1;

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[n++] = (uint8_t)(hi << 4 | lo);
	}
	return (int)n;
}

/* Decode 0s base64 (with '=' padding) into out: its length, or -EINVAL. */
static int decode_b64(const char *s, uint8_t *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	for (; *s && *s != '='; s++) {
		int v = b64val(*s);

		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	while (*s == '=')
		s++;
	return *s ? -EINVAL : (int)n;
}

/* Decode "quoted" text with \ooo and \c escapes: its length or -EINVAL. */
static int decode_quoted(const char *s, uint8_t *out)
{
	size_t n = 0;

	for (s++; *s && *s != '"'; s++) {
		if (*s != '\\') {
			out[n++] = (uint8_t)*s;
		} else if (s[1] >= '0' && s[1] <= '7') {
			int v = 0, i;

			for (i = 0; i < 3 && s[1] >= '0' && s[1] <= '7'; i++)
				v = v * 8 + (*++s - '0');
			out[n++] = (uint8_t)v;
		} else if (s[1]) {
			out[n++] = (uint8_t)*++s;
		}
	}
	return *s == '"' && !s[1] ? (int)n : -EINVAL;
}

/* setfattr's value forms; out has strlen(s) + 1 bytes. */
static int decode_value(const char *s, uint8_t *out)
{
	size_t n = strlen(s);

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return decode_hex(s + 2, out);
	if (s[0] == '0' && (s[1] == 's' || s[1] == 'S'))
		return decode_b64(s + 2, out);
	if (s[0] == '"')
		return decode_quoted(s, out);
	memcpy(out, s, n);
	return (int)n;
}

/* The path argument's filesystem (through the mount table) and inode,
 * following a symlink unless nofollow. */
static int resolve(const char *cmd, const char *path, int nofollow,
		   struct fs_info **fs, struct fs_ino *ino)
{
	const char *in;
	int ret;

	*fs = cmd_fs_path(cmd, path, &in);
	if (!*fs)
		return -ENOENT;
	ret = fs_lookup(*fs, in, nofollow ? 0 : FS_LOOKUP_FOLLOW, ino);
	return ret ? fail(cmd, path, NULL, ret) : 0;
}

int cmd_setfattr(int argc, char **argv)
{
	const char *name = NULL, *value = NULL;
	int i, remove = 0, nofollow = 0, len = 0, ret = 0;
	uint8_t *buf = NULL;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") ||
		    !strcmp(argv[i], "--no-dereference"))
			nofollow = 1;
		else if (i + 1 < argc && (!strcmp(argv[i], "-n") ||
					  !strcmp(argv[i], "-x")) && !name) {
			remove = argv[i][1] == 'x';
			name = argv[++i];
		} else if (i + 1 < argc && !strcmp(argv[i], "-v") && !value)
			value = argv[++i];
		else
			return -EINVAL;
	}
	if (!name || i == argc || (remove && value))
		return -EINVAL;
	if (value) {
		buf = kmalloc(strlen(value) + 1);
		if (!buf)
			return -ENOMEM;
		len = decode_value(value, buf);
		if (len < 0) {
			kfree(buf);
			con_eprintf("setfattr: bad input encoding\n");
			return -EINVAL;
		}
	}
	for (; i < argc; i++) {
		struct fs_info *fs;
		struct fs_ino ino;
		int r = resolve("setfattr", argv[i], nofollow, &fs, &ino);

		if (r == 0) {
			r = remove ? fs_removexattr(fs, ino, name) :
				     fs_setxattr(fs, ino, name, buf,
						 (size_t)len, 0);
			if (r)
				fail("setfattr", argv[i], name, r);
		}
		ret = r ? r : ret;
	}
	kfree(buf);
	return ret;
}

/* What getfattr was asked for. */
struct gopts {
	const char *name;	/* -n */
	const char *pattern;	/* -m: which names -d and listing show */
	char enc;		/* -e: 't', 'x', 's', or 0 (choose) */
	int dump, nofollow, only_values, absolute;
	int stripped;		/* said that leading '/' goes */
};

/* Does the regular expression re match at the start of s? */
static int match_here(const char *re, const char *s);

/* c* (c: one char, or \\ and one) then the rest of re, at s. */
static int match_star(const char *c, int clen, const char *re,
		      const char *s)
{
	for (;; s++) {
		if (match_here(re, s))
			return 1;
		if (!*s || ((clen != 1 || *c != '.') && *s != c[clen - 1]))
			return 0;
	}
}

static int match_here(const char *re, const char *s)
{
	int clen = re[0] == '\\' && re[1] ? 2 : 1;

	if (!re[0])
		return 1;
	if (re[clen] == '*')
		return match_star(re, clen, re + clen + 1, s);
	if (re[0] == '$' && !re[1])
		return !*s;
	if (*s && ((clen == 1 && re[0] == '.') || re[clen - 1] == *s))
		return match_here(re + clen, s + 1);
	return 0;
}

/* Does name match the -m pattern ("-" or "" match everything)? */
static int name_matches(const char *re, const char *name)
{
	if (!strcmp(re, "-") || !re[0])
		return 1;
	if (re[0] == '^')
		return match_here(re + 1, name);
	do {
		if (match_here(re, name))
			return 1;
	} while (*name++);
	return 0;
}

/* Is byte c printable in the C locale? */
static int printable(uint8_t c)
{
	return c >= 0x20 && c < 0x7f;
}

/* Print value as getfattr's text: quoted, \ooo for NUL, CR and LF. */
static void print_text(const uint8_t *v, size_t n)
{
	size_t i;

	if (n && v[n - 1] == 0)
		n--;	/* a C string's terminator is not shown */
	con_printf("\"");
	for (i = 0; i < n; i++) {
		if (v[i] == 0 || v[i] == '\n' || v[i] == '\r')
			con_printf("\\%03o", v[i]);
		else if (v[i] == '\\' || v[i] == '"')
			con_printf("\\%c", v[i]);
		else
			con_write((const char *)&v[i], 1);
	}
	con_printf("\"");
}

static void print_b64(const uint8_t *v, size_t n)
{
	size_t i;

	con_printf("0s");
	for (i = 0; i < n; i += 3) {
		uint32_t x = (uint32_t)v[i] << 16 |
			     (i + 1 < n ? (uint32_t)v[i + 1] << 8 : 0) |
			     (i + 2 < n ? v[i + 2] : 0);

		con_printf("%c%c%c%c", b64[x >> 18], b64[x >> 12 & 63],
			   i + 1 < n ? b64[x >> 6 & 63] : '=',
			   i + 2 < n ? b64[x & 63] : '=');
	}
}

/* Print NAME=VALUE in the chosen encoding (or the bare value). */
static void print_value(const struct gopts *o, const char *name,
			const uint8_t *v, size_t n)
{
	char enc = o->enc;
	size_t i, nonpr = 0;

	if (o->only_values) {
		con_write((const char *)v, n);
		return;
	}
	for (i = 0; i < n; i++)
		nonpr += !printable(v[i]);
	if (!enc)
		enc = n >= nonpr * 8 ? 't' : 's';
	con_printf("%s=", name);
	if (enc == 't') {
		print_text(v, n);
	} else if (enc == 'x') {
		con_printf("0x");
		for (i = 0; i < n; i++)
			con_printf("%02x", v[i]);
	} else {
		print_b64(v, n);
	}
	con_printf("\n");
}

/* Print "# file:" once per path, before its first attribute. */
static void print_header(struct gopts *o, const char *path, int *shown)
{
	if (*shown || o->only_values)
		return;
	*shown = 1;
	if (!o->absolute && path[0] == '/' && !o->stripped) {
		con_printf("getfattr: Removing leading '/' from absolute path "
			   "names\n");
		o->stripped = 1;
	}
	while (!o->absolute && path[0] == '/' && path[1])
		path++;
	con_printf("# file: %s\n", path);
}

/* Print attribute name of ino (with its value when dumping). */
static int show_one(struct fs_info *fs, struct gopts *o, const char *path,
		    struct fs_ino ino, const char *name, uint8_t *buf,
		    int *shown)
{
	size_t n;
	int ret = o->dump || o->name ?
		  fs_getxattr(fs, ino, name, buf, FS_XATTR_SIZE_MAX, &n) : 0;

	if (ret)
		return ret;
	print_header(o, path, shown);
	if (o->dump || o->name)
		print_value(o, name, buf, n);
	else
		con_printf("%s\n", name);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Point names[] at the names of a list of len bytes, sorted as getfattr
 * shows them; returns how many. */
static size_t sort_names(char *list, size_t len, char **names)
{
	size_t n = 0, at;

	for (at = 0; at < len; at += strlen(list + at) + 1)
		names[n++] = list + at;
	qsort(names, n, sizeof(*names), cmp_names);
	return n;
}

/* getfattr on one path (list: LIST_MAX bytes, names: LIST_MAX / 2). */
static int getfattr_path(struct gopts *o, const char *path, char *list,
			 char **names, uint8_t *buf)
{
	struct fs_info *fs;
	struct fs_ino ino;
	size_t len, n, i;
	int shown = 0, ret = resolve("getfattr", path, o->nofollow, &fs, &ino);

	if (ret)
		return ret;
	if (o->name) {
		ret = show_one(fs, o, path, ino, o->name, buf, &shown);
		if (ret)
			return fail("getfattr", path, o->name, ret);
	} else {
		ret = fs_listxattr(fs, ino, list, LIST_MAX, &len);
		if (ret)
			return fail("getfattr", path, NULL, ret);
		n = sort_names(list, len, names);
		for (i = 0; i < n && ret == 0; i++)
			if (name_matches(o->pattern, names[i]))
				ret = show_one(fs, o, path, ino, names[i], buf,
					       &shown);
		if (ret)
			return fail("getfattr", path, names[i - 1], ret);
	}
	if (shown && !o->only_values)
		con_printf("\n");
	return 0;
}

/* Parse getfattr's options into o; the index of the first path. */
static int getfattr_opts(int argc, char **argv, struct gopts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->pattern = "^user\\.";
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-d") || !strcmp(a, "--dump"))
			o->dump = 1;
		else if (!strcmp(a, "-h") || !strcmp(a, "--no-dereference"))
			o->nofollow = 1;
		else if (!strcmp(a, "--only-values"))
			o->only_values = 1;
		else if (!strcmp(a, "--absolute-names"))
			o->absolute = 1;
		else if (i + 1 < argc && !strcmp(a, "-n"))
			o->name = argv[++i];
		else if (i + 1 < argc && !strcmp(a, "-m"))
			o->pattern = argv[++i];
		else if (i + 1 < argc && !strcmp(a, "-e") &&
			 (!strcmp(argv[i + 1], "text") ||
			  !strcmp(argv[i + 1], "hex") ||
			  !strcmp(argv[i + 1], "base64")))
			o->enc = argv[++i][0] == 'b' ? 's' :
				 argv[i][0] == 'h' ? 'x' : 't';
		else
			return -EINVAL;
	}
	if (o->only_values && !o->name && !o->dump)
		o->dump = 1;
	return i < argc ? i : -EINVAL;
}

int cmd_getfattr(int argc, char **argv)
{
	struct gopts o;
	char *list, **names;
	uint8_t *buf;
	int i = getfattr_opts(argc, argv, &o), ret = 0;

	if (i < 0)
		return i;
	list = kmalloc(LIST_MAX);
	names = kmalloc(LIST_MAX / 2 * sizeof(*names));
	buf = kmalloc(FS_XATTR_SIZE_MAX);
	if (!list || !names || !buf)
		ret = -ENOMEM;
	for (; ret != -ENOMEM && i < argc; i++) {
		int r = getfattr_path(&o, argv[i], list, names, buf);

		ret = r ? r : ret;
	}
	kfree(list);
	kfree(names);
	kfree(buf);
	return ret;
}
