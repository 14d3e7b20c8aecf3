/*
 * Filesystem commands that change things: mkfs, sync, mkdir, touch, write,
 * cp, clone, rm, mv, ln, truncate, chmod, utimes. Like shell/cmd_fs.c
 * they drive fs/fs.h and run unchanged in the kernel and the host tool.
 *
 * `write PATH OFF LEN SEED` writes bytes from a seeded generator (xorshift
 * of SEED and the byte's file offset), so a test knows every byte without
 * sending data through the console: byte at file offset o is byte o & 7
 * of cmd_fs_pattern_word(SEED, o >> 3) (see tests/interop/model.py).
 *
 * Errors: "CMD: what: reason (errno N)", then a negative errno.
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/blk.h>
#include <ghee/console.h>

#include "../fs/format.h"
#include "../fs/fs.h"
#include "cmd_fs.h"
#include "shell.h"

#define IO_CHUNK (256u * 1024)	/* bytes per fs_write/fs_read */
#define RM_DEPTH_MAX 256	/* deepest tree rm -r enters */

static int fail(const char *cmd, const char *what, int err)
{
	con_eprintf("%s: %s: %s (errno %d)\n", cmd, what,
		    cmd_fs_err_text(err), -err);
	return err;
}

/*
 * Parse mkfs.btrfs's -O LIST into *off (incompat bits to leave off): a
 * comma-separated list of features, "^" before one turning it off. ghee
 * can leave off skinny-metadata and no-holes (the defaults before
 * btrfs-progs 5.15); naming either without "^" keeps the default.
 */
static int parse_features(char *list, uint64_t *off)
{
	static const struct { const char *name; uint64_t bit; } f[] = {
		{ "skinny-metadata", BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA },
		{ "no-holes", BTRFS_FEATURE_INCOMPAT_NO_HOLES },
	};
	char *name, *save = NULL;
	size_t i;

	for (name = strtok_r(list, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		int neg = name[0] == '^';

		for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			if (!strcmp(name + neg, f[i].name))
				break;
		if (i == sizeof(f) / sizeof(f[0])) {
			con_eprintf("mkfs: feature '%s' is not supported: "
				    "want [^]skinny-metadata or [^]no-holes\n",
				    name);
			return -EINVAL;
		}
		if (neg)
			*off |= f[i].bit;
		else
			*off &= ~f[i].bit;
	}
	return 0;
}

int cmd_mkfs(int argc, char **argv)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	struct blkdev *dev;
	uint64_t ns, off = 0;
	int i, ret;

	for (i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			return -EINVAL;
		if (!strcmp(argv[i], "--label")) {
			o.label = argv[++i];
		} else if (!strcmp(argv[i], "--nodesize")) {
			if (shell_parse_u64(argv[++i], "--nodesize", &ns))
				return -EINVAL;
			o.nodesize = (uint32_t)ns;
		} else if (!strcmp(argv[i], "--csum") ||
			   !strcmp(argv[i], "--checksum")) {
			o.csum = argv[++i];
		} else if (!strcmp(argv[i], "-O") ||
			   !strcmp(argv[i], "--features")) {
			if (parse_features(argv[++i], &off))
				return -EINVAL;
		} else if (!strcmp(argv[i], "--metadata")) {
			i++;
			if (strcmp(argv[i], "dup") && strcmp(argv[i], "single"))
				return -EINVAL;
			o.metadata_single = !strcmp(argv[i], "single");
		} else {
			con_eprintf("mkfs: unknown option '%s'\n", argv[i]);
			return -EINVAL;
		}
	}
	dev = blk_lookup(argv[1]);
	if (!dev) {
		con_eprintf("mkfs: no disk named '%s'\n", argv[1]);
		return -ENODEV;
	}
	ret = cmd_disk_claim("mkfs", dev);
	if (ret)
		return ret;
	ret = fs_mkfs_features(dev, &o, off);
	cmd_disk_unclaim(dev);
	if (ret)
		return fail("mkfs", argv[1], ret);
	con_printf("made btrfs on %s (%llu bytes)\n", dev->name,
		   (unsigned long long)dev->size);
	return 0;
}

/* sync: commit every mounted filesystem, as coreutils' sync does. */
int cmd_sync(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_fs_sync_all("sync");
}

/* mkdir -p: make path and its missing parents; existing ones are fine. */
static int mkdir_parents(struct fs_info *fs, const char *path)
{
	char *p = kmalloc(strlen(path) + 1), *slash;
	int ret = 0;

	if (!p)
		return -ENOMEM;
	strcpy(p, path);
	for (slash = strchr(p + 1, '/'); ret == 0 && slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = 0;
		ret = fs_mkdir(fs, p, 0755);
		ret = ret == -EEXIST ? 0 : ret;
		*slash = '/';
	}
	if (ret == 0) {
		ret = fs_mkdir(fs, p, 0755);
		ret = ret == -EEXIST ? 0 : ret;
	}
	kfree(p);
	return ret;
}

int cmd_mkdir(int argc, char **argv)
{
	struct fs_info *fs;
	const char *in;
	int i, parents = 0, ret = 0, r;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-p")) {
			con_eprintf("mkdir: unknown option '%s'\n", argv[i]);
			return -EINVAL;
		}
		parents = 1;
	}
	if (i == argc)
		return -EINVAL;
	for (; i < argc; i++) {
		fs = cmd_fs_path("mkdir", argv[i], &in);
		if (!fs) {
			ret = -ENOENT;
			continue;
		}
		r = parents ? mkdir_parents(fs, in) : fs_mkdir(fs, in, 0755);
		if (r)
			ret = fail("mkdir", argv[i], r);
	}
	return ret;
}

int cmd_touch(int argc, char **argv)
{
	struct fs_info *fs;
	const char *in;
	int i, ret = 0;

	for (i = 1; i < argc; i++) {
		struct fs_ino ino;
		int r;

		fs = cmd_fs_path("touch", argv[i], &in);
		if (!fs) {
			ret = -ENOENT;
			continue;
		}
		r = fs_lookup(fs, in, FS_LOOKUP_FOLLOW, &ino);
		if (r == -ENOENT)
			r = fs_create(fs, in, 0644, &ino);
		else if (r == 0)
			r = fs_write(fs, ino, 0, NULL, 0);
		if (r)
			ret = fail("touch", argv[i], r);
	}
	return ret;
}

/* The pattern's 8-byte word number w of seed: byte o of a file is byte
 * (o & 7) of word o >> 3, little-endian. */
uint64_t cmd_fs_pattern_word(uint64_t seed, uint64_t w)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ULL + w + 1;

	x ^= x >> 31;
	x *= 0xBF58476D1CE4E5B9ULL;
	x ^= x >> 29;
	return x;
}

/* Fill buf with the n pattern bytes of seed from file offset off. */
void cmd_fs_pattern_fill(uint64_t seed, uint64_t off, uint8_t *buf,
			 size_t n)
{
	size_t i = 0;
	uint64_t x;

	for (; i < n && ((off + i) & 7); i++)
		buf[i] = (uint8_t)(cmd_fs_pattern_word(seed, (off + i) >> 3) >>
				   (8 * ((off + i) & 7)));
	for (; i + 8 <= n; i += 8) {
		x = cmd_fs_pattern_word(seed, (off + i) >> 3);
		buf[i] = (uint8_t)x;
		buf[i + 1] = (uint8_t)(x >> 8);
		buf[i + 2] = (uint8_t)(x >> 16);
		buf[i + 3] = (uint8_t)(x >> 24);
		buf[i + 4] = (uint8_t)(x >> 32);
		buf[i + 5] = (uint8_t)(x >> 40);
		buf[i + 6] = (uint8_t)(x >> 48);
		buf[i + 7] = (uint8_t)(x >> 56);
	}
	for (; i < n; i++)
		buf[i] = (uint8_t)(cmd_fs_pattern_word(seed, (off + i) >> 3) >>
				   (8 * ((off + i) & 7)));
}

/* Open path for writing, making it when missing; its filesystem in *fs. */
static int open_for_write(const char *cmd, const char *path,
			  struct fs_info **fs, struct fs_ino *ino)
{
	const char *in;
	int ret;

	*fs = cmd_fs_path(cmd, path, &in);
	if (!*fs)
		return -ENOENT;
	ret = fs_lookup(*fs, in, FS_LOOKUP_FOLLOW, ino);
	if (ret == -ENOENT)
		ret = fs_create(*fs, in, 0644, ino);
	return ret ? fail(cmd, path, ret) : 0;
}

int cmd_write(int argc, char **argv)
{
	struct fs_info *fs;
	uint64_t off, len, seed, done = 0;
	struct fs_ino ino;
	uint8_t *buf;
	int ret;

	(void)argc;
	if (shell_parse_u64(argv[2], "OFF", &off) ||
	    shell_parse_u64(argv[3], "LEN", &len) ||
	    shell_parse_u64(argv[4], "SEED", &seed))
		return -EINVAL;
	ret = open_for_write("write", argv[1], &fs, &ino);
	if (ret)
		return ret;
	buf = kmalloc(IO_CHUNK);
	if (!buf)
		return fail("write", argv[1], -ENOMEM);
	while (done < len && ret == 0) {
		uint64_t n = len - done > IO_CHUNK ? IO_CHUNK : len - done;

		cmd_fs_pattern_fill(seed, off + done, buf, n);
		ret = fs_write(fs, ino, off + done, buf, n);
		done += n;
	}
	kfree(buf);
	return ret ? fail("write", argv[1], ret) : 0;
}

/* Copy the data of src (on sfs) into dst (on dfs, emptied first) through
 * reads and writes. */
static int copy_data(struct fs_info *sfs, struct fs_ino src,
		     struct fs_info *dfs, struct fs_ino dst)
{
	uint64_t off = 0;
	size_t n;
	char *buf = kmalloc(IO_CHUNK);
	int ret = buf ? fs_truncate(dfs, dst, 0) : -ENOMEM;

	while (ret == 0) {
		ret = fs_read(sfs, src, off, buf, IO_CHUNK, &n);
		if (ret || n == 0)
			break;
		ret = fs_write(dfs, dst, off, buf, n);
		off += n;
	}
	kfree(buf);
	return ret;
}

/* Share all of src's data with dst (emptied first); -EXDEV across
 * filesystems, as FICLONE. */
static int reflink_data(struct fs_info *sfs, struct fs_ino src,
			struct fs_info *dfs, struct fs_ino dst)
{
	int ret = sfs == dfs ? fs_truncate(dfs, dst, 0) : -EXDEV;

	return ret ? ret : fs_clone_range(dfs, src, 0, 0, dst, 0);
}

/*
 * `cp [--reflink[=always|auto|never]] SRC DST`: copy a file's data, also
 * from one filesystem to another. --reflink (always) shares the data
 * extents (fs_clone_range) or fails; auto shares them when the rules
 * allow, else copies; never (the default) copies.
 */
int cmd_cp(int argc, char **argv)
{
	const char *how = argc == 4 ? argv[1] : "--reflink=never";
	struct fs_info *sfs, *dfs;
	struct fs_ino src, dst;
	const char *in;
	int ret;

	if (argc == 3 && !strncmp(argv[1], "--", 2)) {
		con_eprintf("cp: missing destination after '%s'\n", argv[2]);
		return -EINVAL;
	}
	if (strcmp(how, "--reflink") && strcmp(how, "--reflink=always") &&
	    strcmp(how, "--reflink=auto") && strcmp(how, "--reflink=never")) {
		con_eprintf("cp: unknown option '%s' (expected "
			    "--reflink[=always|auto|never])\n", how);
		return -EINVAL;
	}
	sfs = cmd_fs_path("cp", argv[argc - 2], &in);
	if (!sfs)
		return -ENOENT;
	ret = fs_lookup(sfs, in, FS_LOOKUP_FOLLOW, &src);
	if (ret)
		return fail("cp", argv[argc - 2], ret);
	ret = open_for_write("cp", argv[argc - 1], &dfs, &dst);
	if (ret)
		return ret;
	if (sfs == dfs && src.root == dst.root && src.ino == dst.ino) {
		con_eprintf("cp: '%s' and '%s' are the same file\n",
			    argv[argc - 2], argv[argc - 1]);
		return -EINVAL;
	}
	if (!strcmp(how, "--reflink=never"))
		ret = copy_data(sfs, src, dfs, dst);
	else
		ret = reflink_data(sfs, src, dfs, dst);
	if ((ret == -EINVAL || ret == -EOPNOTSUPP || ret == -EXDEV) &&
	    !strcmp(how, "--reflink=auto"))
		ret = copy_data(sfs, src, dfs, dst);
	return ret ? fail("cp", argv[argc - 1], ret) : 0;
}

/* `clone SRC SRC_OFF LEN DST DST_OFF`: share a range (FICLONERANGE);
 * both files on one filesystem (else -EXDEV, as Linux). */
int cmd_clone(int argc, char **argv)
{
	uint64_t soff, len, doff;
	struct fs_info *sfs, *dfs;
	struct fs_ino src, dst;
	const char *in;
	int ret;

	(void)argc;
	if (shell_parse_u64(argv[2], "SRC_OFF", &soff) ||
	    shell_parse_u64(argv[3], "LEN", &len) ||
	    shell_parse_u64(argv[5], "DST_OFF", &doff))
		return -EINVAL;
	sfs = cmd_fs_path("clone", argv[1], &in);
	if (!sfs)
		return -ENOENT;
	ret = fs_lookup(sfs, in, FS_LOOKUP_FOLLOW, &src);
	if (ret)
		return fail("clone", argv[1], ret);
	ret = open_for_write("clone", argv[4], &dfs, &dst);
	if (ret == 0 && sfs != dfs)
		ret = -EXDEV;
	if (ret == 0)
		ret = fs_clone_range(dfs, src, soff, len, dst, doff);
	return ret ? fail("clone", argv[4], ret) : 0;
}

/* Remove path and, when it is a directory, everything below it. */
static int rm_tree(struct fs_info *fs, const char *path, int depth)
{
	struct cmd_fs_dir d;
	struct fs_stat st;
	struct fs_ino ino;
	char *child;
	uint32_t i;
	int ret = fs_lookup(fs, path, 0, &ino);

	if (ret == 0)
		ret = fs_stat(fs, ino, &st);
	if (ret || (st.mode & 0170000) != 0040000)
		return ret ? ret : fs_unlink(fs, path);
	if (depth >= RM_DEPTH_MAX)
		return -ENAMETOOLONG;
	ret = cmd_fs_dir_read(fs, ino, &d);
	child = kmalloc(4096);
	if (!child)
		ret = -ENOMEM;
	for (i = 0; i < d.n && ret == 0; i++) {
		snprintf(child, 4096, "%s/%s", path, d.v[i].name);
		ret = rm_tree(fs, child, depth + 1);
	}
	cmd_fs_dir_free(&d);
	kfree(child);
	return ret ? ret : fs_rmdir(fs, path);
}

/* rm [-r|-R] [-f] PATH...: -f makes a missing PATH no error. */
int cmd_rm(int argc, char **argv)
{
	struct fs_info *fs;
	const char *in;
	int i, j, recursive = 0, force = 0, ret = 0;

	for (i = 1; i < argc; i++)
		for (j = 1; argv[i][0] == '-' && argv[i][j]; j++) {
			if (argv[i][j] == 'r' || argv[i][j] == 'R')
				recursive = 1;
			else if (argv[i][j] == 'f')
				force = 1;
			else
				return -EINVAL;
		}
	for (i = 1; i < argc; i++) {
		int r;

		if (argv[i][0] == '-' && argv[i][1])
			continue;
		fs = cmd_fs_path("rm", argv[i], &in);
		if (!fs) {
			ret = -ENOENT;
			continue;
		}
		r = recursive ? rm_tree(fs, in, 0) : fs_unlink(fs, in);
		if (r && !(force && r == -ENOENT))
			ret = fail("rm", argv[i], r);
	}
	return ret;
}

/* rmdir DIR...: each must be empty. */
int cmd_rmdir(int argc, char **argv)
{
	struct fs_info *fs;
	const char *in;
	int i, r, ret = 0;

	for (i = 1; i < argc; i++) {
		fs = cmd_fs_path("rmdir", argv[i], &in);
		r = fs ? fs_rmdir(fs, in) : -ENOENT;
		if (r && fs)
			fail("rmdir", argv[i], r);
		ret = ret ? ret : r;
	}
	return ret;
}

/* The filesystem of both paths, inner paths in *a and *b; -EXDEV after
 * saying so when they are on two filesystems. */
static int same_fs(const char *cmd, const char *pa, const char *pb,
		   struct fs_info **fs, const char **a, const char **b)
{
	struct fs_info *fb;

	*fs = cmd_fs_path(cmd, pa, a);
	fb = *fs ? cmd_fs_path(cmd, pb, b) : NULL;
	if (!*fs || !fb)
		return -ENOENT;
	if (*fs != fb) {
		con_eprintf("%s: %s and %s are on different filesystems "
			    "(errno %d)\n", cmd, pa, pb, EXDEV);
		return -EXDEV;
	}
	return 0;
}

int cmd_mv(int argc, char **argv)
{
	struct fs_info *fs;
	const char *a, *b;
	int ret;

	(void)argc;
	ret = same_fs("mv", argv[1], argv[2], &fs, &a, &b);
	if (ret)
		return ret;
	ret = fs_rename(fs, a, b);
	return ret ? fail("mv", argv[1], ret) : 0;
}

int cmd_ln(int argc, char **argv)
{
	struct fs_info *fs;
	const char *a, *b;
	int sym = argc == 4, ret;

	if (sym && strcmp(argv[1], "-s"))
		return -EINVAL;
	if (!sym && argv[1][0] == '-') {
		con_eprintf("ln: unknown option '%s'\n", argv[1]);
		return -EINVAL;
	}
	if (sym) {
		fs = cmd_fs_path("ln", argv[3], &b);
		if (!fs)
			return -ENOENT;
		ret = fs_symlink(fs, argv[2], b);
	} else {
		ret = same_fs("ln", argv[1], argv[2], &fs, &a, &b);
		if (ret)
			return ret;
		ret = fs_link(fs, a, b);
	}
	return ret ? fail("ln", argv[argc - 1], ret) : 0;
}

/* Set path's size, making it first unless nocreate (then a missing
 * file is no error, as coreutils' -c). */
static int truncate_one(const char *path, uint64_t size, int nocreate)
{
	struct fs_info *fs;
	struct fs_ino ino;
	const char *in;
	int ret;

	if (nocreate) {
		fs = cmd_fs_path("truncate", path, &in);
		if (!fs)
			return -ENOENT;
		ret = fs_lookup(fs, in, FS_LOOKUP_FOLLOW, &ino);
		if (ret == -ENOENT)
			return 0;
		if (ret)
			return fail("truncate", path, ret);
	} else {
		ret = open_for_write("truncate", path, &fs, &ino);
		if (ret)
			return ret;
	}
	ret = fs_truncate(fs, ino, size);
	return ret ? fail("truncate", path, ret) : 0;
}

/* truncate PATH SIZE, or coreutils' truncate [-c] -s SIZE FILE... */
int cmd_truncate(int argc, char **argv)
{
	const char *size_arg = NULL;
	uint64_t size;
	int i, nocreate = 0, ret = 0, r;

	if (argv[1][0] != '-') {
		if (argc != 3 || shell_parse_u64(argv[2], "SIZE", &size))
			return -EINVAL;
		return truncate_one(argv[1], size, 0);
	}
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--no-create"))
			nocreate = 1;
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			size_arg = argv[++i];
		else if (!strncmp(argv[i], "--size=", 7))
			size_arg = argv[i] + 7;
		else
			return -EINVAL;
	}
	if (!size_arg || i == argc ||
	    shell_parse_u64(size_arg, "SIZE", &size))
		return -EINVAL;
	for (; i < argc; i++) {
		r = truncate_one(argv[i], size, nocreate);
		ret = ret ? ret : r;
	}
	return ret;
}

int cmd_chmod(int argc, char **argv)
{
	struct fs_info *fs;
	struct fs_ino ino;
	uint64_t mode = 0;
	const char *p, *in;
	int ret;

	(void)argc;
	for (p = argv[1]; *p; p++) {
		if (*p < '0' || *p > '7' || mode > 07777)
			return -EINVAL;
		mode = mode * 8 + (uint64_t)(*p - '0');
	}
	fs = cmd_fs_path("chmod", argv[2], &in);
	if (!fs)
		return -ENOENT;
	ret = fs_lookup(fs, in, FS_LOOKUP_FOLLOW, &ino);
	if (ret == 0)
		ret = fs_chmod(fs, ino, (uint32_t)mode);
	return ret ? fail("chmod", argv[2], ret) : 0;
}

/* `utimes PATH ATIME MTIME`: set times (seconds); a symlink's own. */
int cmd_utimes(int argc, char **argv)
{
	struct fs_info *fs;
	struct fs_time at = { 0, 0 }, mt = { 0, 0 };
	struct fs_ino ino;
	const char *in;
	uint64_t a, m;
	int ret;

	(void)argc;
	if (shell_parse_u64(argv[2], "ATIME", &a) ||
	    shell_parse_u64(argv[3], "MTIME", &m))
		return -EINVAL;
	at.sec = (int64_t)a;
	mt.sec = (int64_t)m;
	fs = cmd_fs_path("utimes", argv[1], &in);
	if (!fs)
		return -ENOENT;
	ret = fs_lookup(fs, in, 0, &ino);
	if (ret == 0)
		ret = fs_utimes(fs, ino, &at, &mt);
	return ret ? fail("utimes", argv[1], ret) : 0;
}
