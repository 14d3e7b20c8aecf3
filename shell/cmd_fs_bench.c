/*
 * Filesystem workload commands for benchmarks and tests (bench/fs_write.sh):
 *
 *   mkfiles DIR NDIRS PER_DIR SIZE SEED
 *       NDIRS directories DIR/dNNNNN, each with PER_DIR files fNNNNNNN of
 *       SIZE bytes (one fs_write each); file number i (counting from 0
 *       across all directories) holds the write pattern of seed SEED + i.
 *       A file already there is rewritten in place (bench/qgroup.sh
 *       changes a subvolume's files so between snapshots). The same shape
 *       as the Linux helper's `lbio mksmall`.
 *   write-rand PATH FILESIZE BS COUNT SEED
 *       COUNT writes of BS bytes at random BS-aligned offsets below
 *       FILESIZE (xorshift of SEED); each block holds the write pattern of
 *       SEED at its file offset, so the result can be checked like `write`.
 *   write-repeat SRC PATH LEN
 *       LEN bytes into PATH from offset 0: SRC's contents (read once,
 *       at most 16 MiB) over and over, in writes of at most 1 MiB that
 *       never cross the end of a copy of SRC. A compressible workload of
 *       given data (bench/compress.sh: text made on the host).
 *   fsstress [-t TASKS] [-n OPS] [-s SEED] [-d DIR]
 *       the concurrent workload of shell/fs_stress.c under DIR; prints
 *       what it did and "fsstress: passed" or "fsstress: FAILED".
 *
 * They drive fs/fs.h only, like the other filesystem commands, and run in
 * the kernel and the host tool. Errors: "CMD: what: reason (errno N)".
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>

#include "../fs/fs.h"
#include "cmd_fs.h"
#include "fs_stress.h"
#include "shell.h"

#define PATH_BYTES 512	/* room for DIR/dNNNNN/fNNNNNNNN */
#define BLOCK_MAX (16u << 20)	/* largest BS of write-rand, SRC of
					 * write-repeat */
#define REPEAT_WRITE (1u << 20)	/* most bytes per fs_write of write-repeat */

static int fail(const char *cmd, const char *what, int err)
{
	con_eprintf("%s: %s: %s (errno %d)\n", cmd, what,
		    cmd_fs_err_text(err), -err);
	return err;
}

/* Make directory path unless it is there already. */
static int mkdir_maybe(struct fs_info *fs, const char *path)
{
	int ret = fs_mkdir(fs, path, 0755);

	return ret == -EEXIST ? 0 : ret;
}

/* Make (or rewrite) the PER_DIR files of directory d (file numbers from
 * first). */
static int fill_dir(struct fs_info *fs, char *path, size_t at, uint64_t per,
		    uint64_t first, uint8_t *buf, uint64_t size, uint64_t seed)
{
	struct fs_ino ino;
	uint64_t i;
	int ret = 0;

	for (i = 0; i < per && ret == 0; i++) {
		snprintf(path + at, PATH_BYTES - at, "/f%08llu",
			 (unsigned long long)(first + i));
		ret = fs_create(fs, path, 0644, &ino);
		if (ret == -EEXIST)
			ret = fs_lookup(fs, path, 0, &ino);
		if (ret == 0 && size) {
			cmd_fs_pattern_fill(seed + first + i, 0, buf, size);
			ret = fs_write(fs, ino, 0, buf, size);
		}
	}
	return ret;
}

int cmd_mkfiles(int argc, char **argv)
{
	struct fs_info *fs;
	uint64_t ndirs, per, size, seed, d;
	const char *dir;
	char *path;
	uint8_t *buf;
	size_t at;
	int ret;

	(void)argc;
	fs = cmd_fs_path("mkfiles", argv[1], &dir);
	if (!fs)
		return -ENOENT;
	if (shell_parse_u64(argv[2], "NDIRS", &ndirs) ||
	    shell_parse_u64(argv[3], "PER_DIR", &per) ||
	    shell_parse_u64(argv[4], "SIZE", &size) ||
	    shell_parse_u64(argv[5], "SEED", &seed))
		return -EINVAL;
	if (size > BLOCK_MAX || strlen(argv[1]) > PATH_BYTES - 32) {
		con_eprintf("mkfiles: SIZE is at most %u bytes, DIR at most %u "
			    "characters\n", BLOCK_MAX, PATH_BYTES - 32);
		return -EINVAL;
	}
	path = kmalloc(PATH_BYTES);
	buf = kmalloc(size + 1);
	ret = path && buf ? mkdir_maybe(fs, dir) : -ENOMEM;
	for (d = 0; d < ndirs && ret == 0; d++) {
		at = (size_t)snprintf(path, PATH_BYTES, "%s/d%05llu", dir,
				      (unsigned long long)d);
		ret = mkdir_maybe(fs, path);
		if (ret == 0)
			ret = fill_dir(fs, path, at, per, d * per, buf, size,
				       seed);
	}
	if (ret == 0)
		con_printf("made %llu files in %llu directories\n",
			   (unsigned long long)(ndirs * per),
			   (unsigned long long)ndirs);
	else
		fail("mkfiles", path ? path : argv[1], ret);
	kfree(path);
	kfree(buf);
	return ret;
}

/* Next value of a xorshift64 generator (state never 0). */
uint64_t cmd_fs_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int cmd_write_rand(int argc, char **argv)
{
	struct fs_info *fs;
	uint64_t fsize, bs, count, seed, state, i, off;
	struct fs_ino ino;
	const char *in;
	uint8_t *buf;
	int ret;

	(void)argc;
	fs = cmd_fs_path("write-rand", argv[1], &in);
	if (!fs)
		return -ENOENT;
	if (shell_parse_u64(argv[2], "FILESIZE", &fsize) ||
	    shell_parse_u64(argv[3], "BS", &bs) ||
	    shell_parse_u64(argv[4], "COUNT", &count) ||
	    shell_parse_u64(argv[5], "SEED", &seed))
		return -EINVAL;
	if (bs == 0 || bs > BLOCK_MAX || fsize < bs) {
		con_eprintf("write-rand: want 0 < BS <= %u and BS <= "
			    "FILESIZE\n", BLOCK_MAX);
		return -EINVAL;
	}
	ret = fs_lookup(fs, in, FS_LOOKUP_FOLLOW, &ino);
	if (ret == -ENOENT)
		ret = fs_create(fs, in, 0644, &ino);
	if (ret)
		return fail("write-rand", argv[1], ret);
	buf = kmalloc(bs);
	if (!buf)
		return fail("write-rand", argv[1], -ENOMEM);
	state = seed * 0x9E3779B97F4A7C15ULL | 1;
	for (i = 0; i < count && ret == 0; i++) {
		off = cmd_fs_rand(&state) % (fsize / bs) * bs;
		cmd_fs_pattern_fill(seed, off, buf, bs);
		ret = fs_write(fs, ino, off, buf, bs);
	}
	kfree(buf);
	if (ret)
		return fail("write-rand", argv[1], ret);
	con_printf("wrote %llu blocks of %llu bytes\n",
		   (unsigned long long)count, (unsigned long long)bs);
	return 0;
}

/* Read the whole of file path (at most BLOCK_MAX bytes) into a new
 * buffer *buf of *len bytes. */
static int read_source(const char *path, uint8_t **buf, uint64_t *len)
{
	struct fs_info *fs;
	struct fs_stat st;
	struct fs_ino ino;
	const char *in;
	size_t n;
	int ret;

	fs = cmd_fs_path("write-repeat", path, &in);
	if (!fs)
		return -ENOENT;
	ret = fs_lookup(fs, in, FS_LOOKUP_FOLLOW, &ino);
	if (ret == 0)
		ret = fs_stat(fs, ino, &st);
	if (ret == 0 && (st.size == 0 || st.size > BLOCK_MAX))
		ret = -EFBIG;
	*buf = ret ? NULL : kmalloc(st.size);
	if (ret == 0 && !*buf)
		ret = -ENOMEM;
	*len = 0;
	while (ret == 0 && *len < st.size) {
		ret = fs_read(fs, ino, *len, *buf + *len, st.size - *len, &n);
		if (ret == 0 && n == 0)
			ret = -EIO;	/* shorter than its size said */
		*len += n;
	}
	if (ret) {
		kfree(*buf);
		*buf = NULL;
	}
	return ret;
}

int cmd_write_repeat(int argc, char **argv)
{
	struct fs_info *fs;
	uint64_t len, slen, done = 0, at, n;
	struct fs_ino ino;
	const char *in;
	uint8_t *src;
	int ret;

	(void)argc;
	if (shell_parse_u64(argv[3], "LEN", &len))
		return -EINVAL;
	ret = read_source(argv[1], &src, &slen);
	if (ret == -EFBIG)
		con_eprintf("write-repeat: SRC holds 1 to %u bytes\n",
			    BLOCK_MAX);
	if (ret)
		return fail("write-repeat", argv[1], ret);
	fs = cmd_fs_path("write-repeat", argv[2], &in);
	ret = fs ? fs_lookup(fs, in, FS_LOOKUP_FOLLOW, &ino) : -ENOENT;
	if (ret == -ENOENT && fs)
		ret = fs_create(fs, in, 0644, &ino);
	while (ret == 0 && done < len) {
		at = done % slen;
		n = slen - at < REPEAT_WRITE ? slen - at : REPEAT_WRITE;
		if (n > len - done)
			n = len - done;
		ret = fs_write(fs, ino, done, src + at, n);
		done += n;
	}
	kfree(src);
	return ret ? fail("write-repeat", argv[2], ret) : 0;
}

/* Parse fsstress's options into o. 0 or -EINVAL (message printed). */
static int stress_args(int argc, char **argv, struct fs_stress_opts *o)
{
	uint64_t v;
	int i;

	for (i = 1; i < argc; i += 2) {
		const char *opt = argv[i];

		if (i + 1 == argc || opt[0] != '-' || !opt[1] || opt[2] ||
		    !strchr("tnsd", opt[1])) {
			con_eprintf("fsstress: bad option '%s'\n", opt);
			return -EINVAL;
		}
		if (opt[1] == 'd') {
			o->dir = argv[i + 1];
			continue;
		}
		if (shell_parse_u64(argv[i + 1], opt, &v))
			return -EINVAL;
		if (opt[1] == 't')
			o->tasks = v > FS_STRESS_TASKS_MAX ? 0 : (unsigned)v;
		else if (opt[1] == 'n')
			o->ops = v;
		else
			o->seed = v;
	}
	return 0;
}

int cmd_fsstress(int argc, char **argv)
{
	struct fs_stress_opts o = { 4, 200, 1, "/stress" };
	struct fs_stress_report rep;
	struct fs_stress *s;
	struct fs_info *fs;
	const char *inner;
	int ret = stress_args(argc, argv, &o);

	if (ret == 0)
		ret = fs_stress_new(&o, &s);	/* checks the options too */
	if (ret)
		return ret;
	fs = cmd_fs_path("fsstress", o.dir, &inner);
	if (fs && inner != o.dir) {
		/* DIR is on a filesystem mounted below / */
		fs_stress_free(s);
		o.dir = inner;
		ret = fs_stress_new(&o, &s);
		if (ret)
			return ret;
	}
	if (!fs) {
		fs_stress_free(s);
		return -ENOENT;
	}
	con_printf("fsstress: %u tasks and a sync task, %llu ops each, seed "
		   "%llu, in %s\n", o.tasks, (unsigned long long)o.ops,
		   (unsigned long long)o.seed, o.dir);
	ret = fs_stress_run(s, fs, &rep);
	fs_stress_free(s);
	if (ret && ret != -EIO)
		return ret;	/* the run could not start; it said why */
	fs_stress_print(&rep, "fsstress: ");
	con_printf("fsstress: %s\n", ret ? "FAILED" : "passed");
	return ret;
}
