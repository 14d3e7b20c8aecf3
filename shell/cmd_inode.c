/*
 * Inode commands in coreutils' form: owners and the special kinds of
 * inode (devices, FIFOs).
 *
 *   chown [-h] OWNER[:GROUP] PATH...   numeric ids; ":GROUP" alone, or
 *                                      "OWNER:" (group unchanged)
 *   mknod [-m MODE] PATH b|c|u MAJOR MINOR,  mknod [-m MODE] PATH p
 *   mkfifo [-m MODE] PATH...
 *
 * New nodes get mode 0644 unless -m says (ghee has no umask). chown
 * follows a symlink unless -h. Sockets have no command (coreutils has
 * none); fs_mknod makes them for a received stream.
 *
 * Errors: "CMD: PATH: reason (errno N)", then a negative errno.
 */
#include <ghee/errno.h>
#include <string.h>

#include <ghee/console.h>

#include "../fs/fs.h"
#include "cmd_fs.h"
#include "cmd_xattr.h"
#include "shell.h"

#define S_IFCHR_ 0020000
#define S_IFBLK_ 0060000
#define S_IFIFO_ 0010000

static int fail(const char *cmd, const char *what, int err)
{
	con_eprintf("%s: %s: %s (errno %d)\n", cmd, what, cmd_fs_err_text(err),
		    -err);
	return err;
}

/* A decimal id of up to 32 bits from s[0..n): 0 or -EINVAL. */
static int parse_id(const char *s, size_t n, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 10)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v >= 0xffffffffull)
		return -EINVAL;	/* (uint32_t)-1 means "unchanged" */
	*out = (uint32_t)v;
	return 0;
}

/* OWNER, OWNER:GROUP, OWNER: or :GROUP; missing parts stay -1. */
static int parse_owner(const char *s, uint32_t *uid, uint32_t *gid)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);

	*uid = *gid = (uint32_t)-1;
	if (n && parse_id(s, n, uid))
		return -EINVAL;
	if (colon && colon[1] && parse_id(colon + 1, strlen(colon + 1), gid))
		return -EINVAL;
	return n || (colon && colon[1]) ? 0 : -EINVAL;
}

int cmd_chown(int argc, char **argv)
{
	int i = 1, nofollow = 0, ret = 0;
	uint32_t uid, gid;

	if (!strcmp(argv[1], "-h")) {
		nofollow = 1;
		i++;
	}
	if (i + 1 >= argc || parse_owner(argv[i], &uid, &gid)) {
		con_eprintf("chown: expected [-h] UID[:GID] PATH... (numeric "
			    "ids)\n");
		return -EINVAL;
	}
	for (i++; i < argc; i++) {
		struct fs_ino ino;
		const char *in;
		struct fs_info *fs = cmd_fs_path("chown", argv[i], &in);
		int r = fs ? fs_lookup(fs, in, nofollow ? 0 : FS_LOOKUP_FOLLOW,
				       &ino) : -ENOENT;

		if (r == 0)
			r = fs_chown(fs, ino, uid, gid);
		if (r)
			ret = fs ? fail("chown", argv[i], r) : r;
	}
	return ret;
}

/* -m MODE at argv[*i], if there: the octal mode, else 0644. */
static int parse_mode(int argc, char **argv, int *i, uint32_t *mode)
{
	const char *p;

	*mode = 0644;
	if (*i + 1 >= argc || strcmp(argv[*i], "-m"))
		return 0;
	*mode = 0;
	for (p = argv[*i + 1]; *p; p++) {
		if (*p < '0' || *p > '7' || *mode > 07777)
			return -EINVAL;
		*mode = *mode * 8 + (uint32_t)(*p - '0');
	}
	*i += 2;
	return p == argv[*i - 1] || *mode > 07777 ? -EINVAL : 0;
}

int cmd_mknod(int argc, char **argv)
{
	uint64_t major = 0, minor = 0;
	uint32_t mode, type;
	struct fs_info *fs;
	const char *in;
	int i = 1, ret;

	if (parse_mode(argc, argv, &i, &mode) || i + 1 >= argc ||
	    strlen(argv[i + 1]) != 1)
		return -EINVAL;
	switch (argv[i + 1][0]) {
	case 'b':
		type = S_IFBLK_;
		break;
	case 'c':
	case 'u':
		type = S_IFCHR_;
		break;
	case 'p':
		type = S_IFIFO_;
		break;
	default:
		return -EINVAL;
	}
	if (type == S_IFIFO_ ? i + 2 != argc : i + 4 != argc)
		return -EINVAL;
	if (type != S_IFIFO_ &&
	    (shell_parse_u64(argv[i + 2], "MAJOR", &major) ||
	     shell_parse_u64(argv[i + 3], "MINOR", &minor)))
		return -EINVAL;
	if (major > 0xfff || minor > 0xfffff) {
		con_eprintf("mknod: MAJOR is at most 4095, MINOR at most "
			    "1048575\n");
		return -EINVAL;
	}
	fs = cmd_fs_path("mknod", argv[i], &in);
	if (!fs)
		return -ENOENT;
	ret = fs_mknod(fs, in, type | mode, FS_MKDEV(major, minor), NULL);
	return ret ? fail("mknod", argv[i], ret) : 0;
}

int cmd_mkfifo(int argc, char **argv)
{
	uint32_t mode;
	int i = 1, ret = 0;

	if (parse_mode(argc, argv, &i, &mode) || i >= argc) {
		con_eprintf("mkfifo: expected [-m MODE] PATH...\n");
		return -EINVAL;
	}
	for (; i < argc; i++) {
		const char *in;
		struct fs_info *fs = cmd_fs_path("mkfifo", argv[i], &in);
		int r = fs ? fs_mknod(fs, in, S_IFIFO_ | mode, 0, NULL) : -ENOENT;

		if (r)
			ret = fs ? fail("mkfifo", argv[i], r) : r;
	}
	return ret;
}
