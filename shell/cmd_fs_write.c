/*
 * Filesystem commands that change things: mkfs, sync, mkdir, touch, write,
 * cp, rm, mv, ln, truncate, chmod, utimes. Like shell/cmd_fs.c they drive fs/fs.h
 * and run unchanged in the kernel and the host tool.
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

#include "../fs/fs.h"
#include "cmd_fs.h"
#include "shell.h"

#define IO_CHUNK (256u * 1024)	/* bytes per fs_write/fs_read */
#define RM_DEPTH_MAX 256	/* deepest tree rm -r enters */

static int fail(const char *cmd, const char *what, int err)
{
	con_printf("%s: %s: %s (errno %d)\n", cmd, what,
		   cmd_fs_err_text(err), -err);
	return err;
}

int cmd_mkfs(int argc, char **argv)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	struct blkdev *dev;
	uint64_t ns;
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
		} else if (!strcmp(argv[i], "--metadata")) {
			i++;
			if (strcmp(argv[i], "dup") && strcmp(argv[i], "single"))
				return -EINVAL;
			o.metadata_single = !strcmp(argv[i], "single");
		} else {
			con_printf("mkfs: unknown option '%s'\n", argv[i]);
			return -EINVAL;
		}
	}
	dev = blk_lookup(argv[1]);
	if (!dev) {
		con_printf("mkfs: no disk named '%s'\n", argv[1]);
		return -ENODEV;
	}
	if (!strcmp(cmd_fs_disk(), dev->name)) {
		con_printf("mkfs: %s is mounted; umount it first\n", dev->name);
		return -EBUSY;
	}
	ret = fs_mkfs(dev, &o);
	if (ret)
		return fail("mkfs", argv[1], ret);
	con_printf("made btrfs on %s (%llu bytes)\n", dev->name,
		   (unsigned long long)dev->size);
	return 0;
}

int cmd_sync(int argc, char **argv)
{
	struct fs_info *fs = cmd_fs_mounted("sync");
	int ret;

	(void)argc;
	(void)argv;
	if (!fs)
		return -ENOENT;
	ret = fs_sync(fs);
	return ret ? fail("sync", cmd_fs_disk(), ret) : 0;
}

int cmd_mkdir(int argc, char **argv)
{
	struct fs_info *fs = cmd_fs_mounted("mkdir");
	int i, ret = 0;

	if (!fs)
		return -ENOENT;
	for (i = 1; i < argc; i++) {
		int r = fs_mkdir(fs, argv[i], 0755);

		if (r)
			ret = fail("mkdir", argv[i], r);
	}
	return ret;
}

int cmd_touch(int argc, char **argv)
{
	struct fs_info *fs = cmd_fs_mounted("touch");
	int i, ret = 0;

	if (!fs)
		return -ENOENT;
	for (i = 1; i < argc; i++) {
		struct fs_ino ino;
		int r = fs_lookup(fs, argv[i], FS_LOOKUP_FOLLOW, &ino);

		if (r == -ENOENT)
			r = fs_create(fs, argv[i], 0644, &ino);
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

/* Open path for writing, making it when missing. */
static int open_for_write(struct fs_info *fs, const char *cmd,
			  const char *path, struct fs_ino *ino)
{
	int ret = fs_lookup(fs, path, FS_LOOKUP_FOLLOW, ino);

	if (ret == -ENOENT)
		ret = fs_create(fs, path, 0644, ino);
	return ret ? fail(cmd, path, ret) : 0;
}

int cmd_write(int argc, char **argv)
{
	struct fs_info *fs = cmd_fs_mounted("write");
	uint64_t off, len, seed, done = 0;
	struct fs_ino ino;
	uint8_t *buf;
	int ret;

	(void)argc;
	if (!fs)
		return -ENOENT;
	if (shell_parse_u64(argv[2], "OFF", &off) ||
	    shell_parse_u64(argv[3], "LEN", &len) ||
	    shell_parse_u64(argv[4], "SEED", &seed))
		return -EINVAL;
	ret = open_for_write(fs, "write", argv[1], &ino);
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

int cmd_cp(int argc, char **argv)
{
	struct fs_info *fs = cmd_fs_mounted("cp");
	struct fs_ino src, dst;
	uint64_t off = 0;
	size_t n;
	char *buf;
	int ret;

	(void)argc;
	if (!fs)
		return -ENOENT;
	ret = fs_lookup(fs, argv[1], FS_LOOKUP_FOLLOW, &src);
	if (ret)
		return fail("cp", argv[1], ret);
	ret = open_for_write(fs, "cp", argv[2], &dst);
	if (ret == 0)
		ret = fs_truncate(fs, dst, 0);
	buf = kmalloc(IO_CHUNK);
	if (!buf)
		ret = -ENOMEM;
	while (ret == 0) {
		ret = fs_read(fs, src, off, buf, IO_CHUNK, &n);
		if (ret || n == 0)
			break;
		ret = fs_write(fs, dst, off, buf, n);
		off += n;
	}
	kfree(buf);
	return ret ? fail("cp", argv[2], ret) : 0;
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

int cmd_rm(int argc, char **argv)
{
	struct fs_info *fs = cmd_fs_mounted("rm");
	int i, recursive = 0, ret = 0;

	if (!fs)
		return -ENOENT;
	for (i = 1; i < argc; i++) {
		int r;

		if (!strcmp(argv[i], "-r")) {
			recursive = 1;
			continue;
		}
		r = recursive ? rm_tree(fs, argv[i], 0) : fs_unlink(fs, argv[i]);
		if (r)
			ret = fail("rm", argv[i], r);
	}
	return ret;
}

int cmd_mv(int argc, char **argv)
{
	struct fs_info *fs = cmd_fs_mounted("mv");
	int ret;

	(void)argc;
	if (!fs)
		return -ENOENT;
	ret = fs_rename(fs, argv[1], argv[2]);
	return ret ? fail("mv", argv[1], ret) : 0;
}

int cmd_ln(int argc, char **argv)
{
	struct fs_info *fs = cmd_fs_mounted("ln");
	int sym = argc == 4, ret;

	if (!fs)
		return -ENOENT;
	if (sym && strcmp(argv[1], "-s"))
		return -EINVAL;
	ret = sym ? fs_symlink(fs, argv[2], argv[3]) :
		    fs_link(fs, argv[1], argv[2]);
	return ret ? fail("ln", argv[argc - 1], ret) : 0;
}

int cmd_truncate(int argc, char **argv)
{
	struct fs_info *fs = cmd_fs_mounted("truncate");
	struct fs_ino ino;
	uint64_t size;
	int ret;

	(void)argc;
	if (!fs)
		return -ENOENT;
	if (shell_parse_u64(argv[2], "SIZE", &size))
		return -EINVAL;
	ret = open_for_write(fs, "truncate", argv[1], &ino);
	if (ret)
		return ret;
	ret = fs_truncate(fs, ino, size);
	return ret ? fail("truncate", argv[1], ret) : 0;
}

int cmd_chmod(int argc, char **argv)
{
	struct fs_info *fs = cmd_fs_mounted("chmod");
	struct fs_ino ino;
	uint64_t mode = 0;
	const char *p;
	int ret;

	(void)argc;
	if (!fs)
		return -ENOENT;
	for (p = argv[1]; *p; p++) {
		if (*p < '0' || *p > '7' || mode > 07777)
			return -EINVAL;
		mode = mode * 8 + (uint64_t)(*p - '0');
	}
	ret = fs_lookup(fs, argv[2], FS_LOOKUP_FOLLOW, &ino);
	if (ret == 0)
		ret = fs_chmod(fs, ino, (uint32_t)mode);
	return ret ? fail("chmod", argv[2], ret) : 0;
}

/* `utimes PATH ATIME MTIME`: set times (seconds); a symlink's own. */
int cmd_utimes(int argc, char **argv)
{
	struct fs_info *fs = cmd_fs_mounted("utimes");
	struct fs_time at = { 0, 0 }, mt = { 0, 0 };
	struct fs_ino ino;
	uint64_t a, m;
	int ret;

	(void)argc;
	if (!fs)
		return -ENOENT;
	if (shell_parse_u64(argv[2], "ATIME", &a) ||
	    shell_parse_u64(argv[3], "MTIME", &m))
		return -EINVAL;
	at.sec = (int64_t)a;
	mt.sec = (int64_t)m;
	ret = fs_lookup(fs, argv[1], 0, &ino);
	if (ret == 0)
		ret = fs_utimes(fs, ino, &at, &mt);
	return ret ? fail("utimes", argv[1], ret) : 0;
}
