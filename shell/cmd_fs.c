/*
 * Filesystem commands: ls, cat, stat, tree, find, sha256sum,
 * inspect-internal dump-super and dump-tree. They drive the public API in
 * fs/fs.h and print to the console; the same code runs in the kernel and in
 * the host tool, so one command script gives the same output in both.
 *
 * Each path names its filesystem through the mount table
 * (shell/cmd_mount.c: cmd_fs_path).
 *
 * Errors: each handler prints "CMD: what: reason" before returning a
 * negative errno; the fs layer has logged the on-disk detail (block address,
 * inode and offset) before that. Directory walks (tree, find) use a heap
 * stack, not recursion, so a deep tree cannot overflow a kernel stack.
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/blk.h>
#include <ghee/console.h>
#include <ghee/task.h>

#include "../fs/fs.h"
#include "../lib/sha256.h"
#include "cmd_fs.h"
#include "shell.h"
#include "stream.h"

#define IO_CHUNK (1024u * 1024)	/* bytes per read of standard input */
/* Most bytes per fs_read in cat, sha256sum and readfile. A read keeps
 * the disk busy only within one call (a few pieces in flight, fs/file.c;
 * there is no read-ahead across calls), so each call starts with the disk
 * reading and the checksums waiting and ends the other way round: at
 * 1 MiB that was about a third of a 1 GiB read's time under TCG. */
#define FILE_CHUNK (8u * 1024 * 1024)
#define WALK_PATH_MAX 4096	/* longest path tree/find print */
/* Bytes per block of directory entry names (cmd_fs_dir): room for the
 * link to the block before and at least one name of BTRFS_NAME_LEN. */
#define NAME_BLOCK 4096
#define WALK_DEPTH_MAX 256	/* deepest directory tree/find enter */

/* A short description of an errno value (same text on host and kernel). */
const char *cmd_fs_err_text(int err)
{
	switch (-err) {
	case ENOENT: return "no such file or directory";
	case ENOTDIR: return "not a directory";
	case EISDIR: return "is a directory";
	case EIO: return "I/O error";
	case ENOMEM: return "out of memory";
	case EUCLEAN: return "filesystem structure is corrupt";
	case EOPNOTSUPP: return "not supported";
	case ELOOP: return "too many levels of symbolic links";
	case ENAMETOOLONG: return "name too long";
	case ENODEV: return "not a btrfs filesystem";
	case EINVAL: return "invalid argument";
	case ENXIO: return "past the end of the device";
	case EPERM: return "not a regular file";
	case EROFS: return "read-only filesystem";
	case ENOSPC: return "no space left on device";
	case EEXIST: return "file exists";
	case ENOTEMPTY: return "directory not empty";
	case EMLINK: return "too many links";
	case EOVERFLOW: return "too many names with this hash in the directory";
	case EXDEV: return "invalid cross-device link (another subvolume or filesystem)";
	case ENODATA: return "no such attribute";
	case ERANGE: return "result out of range";
	case E2BIG: return "attribute value too long";
	case EPIPE: return "broken pipe";
	case ECANCELED: return "cancelled";
	case EBUSY: return "device or resource busy";
	case EDQUOT: return "disk quota exceeded";
	case ENOTTY: return "not a pipe or a file (the console)";
	default: return "error";
	}
}

/* strerror's text (glibc's, as btrfs-progs' %m and util-linux's err()
 * print it) for the errors a command passes on from fs/; others get
 * cmd_fs_err_text's. */
const char *cmd_fs_strerror(int err)
{
	switch (-err) {
	case ENOENT: return "No such file or directory";
	case ENOSPC: return "No space left on device";
	case EINPROGRESS: return "Operation now in progress";
	case EROFS: return "Read-only file system";
	case EIO: return "Input/output error";
	case ENOMEM: return "Cannot allocate memory";
	case EUCLEAN: return "Structure needs cleaning";
	case EOPNOTSUPP: return "Operation not supported";
	case EBUSY: return "Device or resource busy";
	case EINVAL: return "Invalid argument";
	case EISDIR: return "Is a directory";
	case ENOTDIR: return "Not a directory";
	case EFBIG: return "File too large";
	case EDQUOT: return "Disk quota exceeded";
	case ENODEV: return "No such device";
	case ESPIPE: return "Illegal seek";
	case ELOOP: return "Too many levels of symbolic links";
	case ENAMETOOLONG: return "File name too long";
	default: return cmd_fs_err_text(err);
	}
}

/* Print "cmd: what: reason (errno N)" and return err. */
static int fail(const char *cmd, const char *what, int err)
{
	con_eprintf("%s: %s: %s (errno %d)\n", cmd, what, cmd_fs_err_text(err),
		    -err);
	return err;
}

/* Resolve a path argument to its filesystem and inode, printing the
 * error. */
static int resolve(const char *cmd, const char *path, unsigned flags,
		   struct fs_info **fs, struct fs_ino *ino)
{
	const char *inner;
	int ret;

	*fs = cmd_fs_path(cmd, path, &inner);
	if (!*fs)
		return -ENOENT;
	ret = fs_lookup(*fs, inner, flags, ino);
	return ret ? fail(cmd, path, ret) : 0;
}

/* "drwxr-xr-x" for a mode. */
static void mode_string(uint32_t mode, char out[11])
{
	static const char types[] = "?pc?d?b?-?l?s???";
	static const char rwx[] = "rwxrwxrwx";
	int i;

	out[0] = types[(mode >> 12) & 15];
	for (i = 0; i < 9; i++)
		out[1 + i] = (mode & (0400 >> i)) ? rwx[i] : '-';
	if (mode & 04000)
		out[3] = (mode & 0100) ? 's' : 'S';
	if (mode & 02000)
		out[6] = (mode & 010) ? 's' : 'S';
	if (mode & 01000)
		out[9] = (mode & 01) ? 't' : 'T';
	out[10] = 0;
}

/* "YYYY-MM-DD hh:mm:ss" (UTC) for seconds since the epoch. */
void cmd_fs_time_string(int64_t t, char *out, size_t n)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int64_t sod = t - days * 86400, z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = yoe + era * 400 + (m <= 2);

	snprintf(out, n, "%04lld-%02lld-%02lld %02lld:%02lld:%02lld",
		 (long long)y, (long long)m, (long long)d,
		 (long long)(sod / 3600), (long long)(sod / 60 % 60),
		 (long long)(sod % 60));
}

#define TARGET_MAX 4096	/* longest symlink target shown */

/* Print one ls -l line for ino named name. */
static int print_long(struct fs_info *fs, struct fs_ino ino,
		      const char *name)
{
	struct fs_stat st;
	char mode[11], when[96];
	char *target = NULL;
	size_t n = 0;
	int ret = fs_stat(fs, ino, &st);

	if (ret)
		return fail("ls", name, ret);
	mode_string(st.mode, mode);
	cmd_fs_time_string(st.mtime.sec, when, sizeof(when));
	if ((st.mode & 0170000) == 0120000) {
		target = kmalloc(TARGET_MAX);
		if (!target)
			return fail("ls", name, -ENOMEM);
		if (fs_readlink(fs, ino, target, TARGET_MAX, &n))
			n = 0;
	}
	if ((st.mode & 0170000) == 0020000 || (st.mode & 0170000) == 0060000)
		con_printf("%s %u %u %u %u, %u %s %s", mode, st.nlink, st.uid,
			   st.gid, FS_MAJOR(st.rdev), FS_MINOR(st.rdev), when,
			   name);	/* a device: its number, as ls -l */
	else
		con_printf("%s %u %u %u %llu %s %s%s", mode, st.nlink, st.uid,
			   st.gid, (unsigned long long)st.size, when, name,
			   n ? " -> " : "");
	if (n)
		con_write(target, n);
	con_printf("\n");
	kfree(target);
	return 0;
}

struct ls_ctx {
	struct fs_info *fs;
	int longfmt;	/* -l */
	int err;	/* first error from print_long */
};

static int ls_entry(void *ctx, const char *name, size_t len,
		    struct fs_ino ino, unsigned type)
{
	struct ls_ctx *c = ctx;
	int ret;

	(void)len;
	(void)type;
	if (!c->longfmt) {
		con_printf("%s\n", name);
		return 0;
	}
	ret = print_long(c->fs, ino, name);
	if (ret && !c->err)
		c->err = ret;
	return 0;
}

int cmd_ls(int argc, char **argv)
{
	struct ls_ctx c = { NULL, 0, 0 };
	const char *path = "/";
	struct fs_stat st;
	struct fs_ino ino;
	int i, j, dots = 0, ret;

	for (i = 1; i < argc; i++) {
		for (j = 1; argv[i][0] == '-' && argv[i][j]; j++) {
			if (argv[i][j] == 'l')
				c.longfmt = 1;
			else if (argv[i][j] == 'a')
				dots = 1;
			else if (argv[i][j] != 'A' && argv[i][j] != '1')
				return -EINVAL;	/* -A, -1: what ls does */
		}
		if (argv[i][0] != '-' || !argv[i][1])
			path = argv[i];
	}
	ret = resolve("ls", path, 0, &c.fs, &ino);
	if (ret)
		return ret;
	ret = fs_stat(c.fs, ino, &st);
	if (ret)
		return fail("ls", path, ret);
	if ((st.mode & 0170000) != 0040000) {
		if (c.longfmt)
			return print_long(c.fs, ino, path);
		con_printf("%s\n", path);
		return 0;
	}
	if (dots) {	/* -a: "." and ".." first, as readdir gives them */
		size_t n = strlen(path) + 4;
		char *parent = kmalloc(n);
		struct fs_info *pfs;
		struct fs_ino up;

		if (!parent)
			return fail("ls", path, -ENOMEM);
		snprintf(parent, n, "%s/..", path);
		ret = resolve("ls", parent, 0, &pfs, &up);
		kfree(parent);
		if (ret)
			return ret;
		ls_entry(&c, ".", 1, ino, FS_FT_DIR);
		ls_entry(&c, "..", 2, up, FS_FT_DIR);
	}
	ret = fs_readdir(c.fs, ino, ls_entry, &c);
	if (ret)
		return fail("ls", path, ret);
	return c.err;
}

/* Check ino is a regular file; print why not. */
static int need_file(struct fs_info *fs, const char *cmd, const char *path,
		     struct fs_ino ino, uint64_t *size)
{
	struct fs_stat st;
	int ret = fs_stat(fs, ino, &st);

	if (ret)
		return fail(cmd, path, ret);
	if ((st.mode & 0170000) == 0040000)
		return fail(cmd, path, -EISDIR);
	if ((st.mode & 0170000) != 0100000)
		return fail(cmd, path, -EPERM);
	*size = st.size;
	return 0;
}

/* What read_all feeds the bytes to: 0, or an error that stops it. */
typedef int (*read_fn)(void *ctx, const void *buf, size_t n);

/* Feed every byte of standard input to fn(ctx, buf, n). */
static int read_stdin(const char *cmd, read_fn fn, void *ctx)
{
	char *buf = kmalloc(IO_CHUNK);
	long n;
	int ret = 0;

	if (!buf)
		return fail(cmd, "stdin", -ENOMEM);
	while (!ret) {
		n = stream_read(stream_stdin(), buf, IO_CHUNK);
		if (n <= 0) {
			ret = (int)n;
			if (n < 0 && n != -ECANCELED)
				fail(cmd, "stdin", ret);
			break;
		}
		ret = fn(ctx, buf, (size_t)n);
	}
	kfree(buf);
	return ret;
}

/* Feed every byte of a file to fn(ctx, buf, n); "-" is standard input.
 * A failure of fn stops it and is returned unsaid (fn's own). */
static int read_all(const char *cmd, const char *path, read_fn fn,
		    void *ctx)
{
	struct fs_info *fs;
	struct fs_ino ino;
	uint64_t size = 0, off = 0;
	size_t done, chunk;
	char *buf;
	int ret;

	if (!strcmp(path, "-"))
		return read_stdin(cmd, fn, ctx);
	ret = resolve(cmd, path, FS_LOOKUP_FOLLOW, &fs, &ino);
	if (ret)
		return ret;
	ret = need_file(fs, cmd, path, ino, &size);
	if (ret)
		return ret;
	chunk = size < FILE_CHUNK ? (size_t)size + !size : FILE_CHUNK;
	buf = kmalloc(chunk);
	if (!buf)
		return fail(cmd, path, -ENOMEM);
	while (off < size) {
		if (task_should_stop()) {
			ret = -ECANCELED;
			break;
		}
		ret = fs_read(fs, ino, off, buf, chunk, &done);
		if (ret) {
			char what[64];

			snprintf(what, sizeof(what), "read at offset %llu",
				 (unsigned long long)off);
			con_eprintf("%s: %s: %s: %s (errno %d)\n", cmd, path,
				    what, cmd_fs_err_text(ret), -ret);
			break;
		}
		if (done == 0)
			break;
		ret = fn(ctx, buf, done);
		if (ret)
			break;
		off += done;
	}
	kfree(buf);
	return ret;
}

/* Copy to standard output. A failed write stops cat without a word:
 * the shell says why a redirected file failed, and a pipe whose reader
 * ended is no error of cat's. */
static int cat_out(void *ctx, const void *buf, size_t n)
{
	(void)ctx;
	return stream_write(stream_stdout(), buf, n);
}

/* Refuse options: cmd takes none ("-" is standard input). */
static int no_options(const char *cmd, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1]) {
			con_eprintf("%s: unknown option '%s'\n", cmd, argv[i]);
			return -EINVAL;
		}
	return 0;
}

/* cat [PATH...]: the files ("-" or none: standard input) to standard
 * output. */
int cmd_cat(int argc, char **argv)
{
	char dash[] = "-";
	char *in[] = { argv[0], dash };
	int i, ret = no_options("cat", argc, argv);

	if (ret)
		return ret;
	if (argc == 1) {
		argc = 2;
		argv = in;
	}
	for (i = 1; i < argc; i++) {
		int r = read_all("cat", argv[i], cat_out, NULL);

		if (r && !ret)
			ret = r;
		if (r == -EPIPE || r == -ECANCELED)
			break;
	}
	return ret;
}

static int count_out(void *ctx, const void *buf, size_t n)
{
	(void)buf;
	*(uint64_t *)ctx += n;
	return 0;
}

/* Read files through the filesystem and drop the data: a read benchmark
 * (with `time`) that costs no console output. */
int cmd_readfile(int argc, char **argv)
{
	int i, ret = 0;

	for (i = 1; i < argc; i++) {
		uint64_t bytes = 0;
		int r = read_all("readfile", argv[i], count_out, &bytes);

		if (r) {
			if (!ret)
				ret = r;
			continue;
		}
		con_printf("%s: %llu bytes\n", argv[i],
			   (unsigned long long)bytes);
	}
	return ret;
}

static int sha_out(void *ctx, const void *buf, size_t n)
{
	sha256_update(ctx, buf, n);
	return 0;
}

int cmd_sha256sum(int argc, char **argv)
{
	struct sha256_ctx c;
	uint8_t d[SHA256_DIGEST_SIZE];
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	char dash[] = "-";
	char *in[] = { argv[0], dash };
	int i, j, ret = no_options("sha256sum", argc, argv);

	if (ret)
		return ret;
	if (argc == 1) {
		argc = 2;
		argv = in;
	}
	for (i = 1; i < argc; i++) {
		int r;

		sha256_init(&c);
		r = read_all("sha256sum", argv[i], sha_out, &c);
		if (r) {
			if (!ret)
				ret = r;
			continue;
		}
		sha256_final(&c, d);
		for (j = 0; j < SHA256_DIGEST_SIZE; j++)
			snprintf(hex + 2 * j, 3, "%02x", d[j]);
		con_printf("%s  %s\n", hex, argv[i]);
	}
	return ret;
}

static void print_time(const char *label, const struct fs_time *t)
{
	char s[96];

	cmd_fs_time_string(t->sec, s, sizeof(s));
	con_printf("%s: %s.%09u UTC (%lld)\n", label, s, t->nsec,
		   (long long)t->sec);
}

int cmd_stat(int argc, char **argv)
{
	static const char *const kinds[16] = {
		"unknown", "fifo", "character device", "unknown", "directory",
		"unknown", "block device", "unknown", "regular file", "unknown",
		"symbolic link", "unknown", "socket", "unknown", "unknown",
		"unknown" };
	struct fs_info *fs;
	struct fs_stat st;
	struct fs_ino ino;
	char mode[11];
	int ret;

	(void)argc;
	ret = resolve("stat", argv[1], 0, &fs, &ino);
	if (ret)
		return ret;
	ret = fs_stat(fs, ino, &st);
	if (ret)
		return fail("stat", argv[1], ret);
	mode_string(st.mode, mode);
	con_printf("  File: %s\n", argv[1]);
	con_printf("  Size: %llu\tBytes: %llu\t%s\n",
		   (unsigned long long)st.size, (unsigned long long)st.nbytes,
		   kinds[(st.mode >> 12) & 15]);
	con_printf("Subvolume: %llu\tInode: %llu\tLinks: %u\n",
		   (unsigned long long)st.id.root, (unsigned long long)st.id.ino,
		   st.nlink);
	con_printf("Access: (%04o/%s)  Uid: %u  Gid: %u  Rdev: %u,%u\n",
		   st.mode & 07777, mode, st.uid, st.gid, FS_MAJOR(st.rdev),
		   FS_MINOR(st.rdev));
	con_printf("Flags: 0x%llx  Generation: %llu  Transid: %llu\n",
		   (unsigned long long)st.flags,
		   (unsigned long long)st.generation,
		   (unsigned long long)st.transid);
	print_time("Access", &st.atime);
	print_time("Modify", &st.mtime);
	print_time("Change", &st.ctime);
	print_time(" Birth", &st.otime);
	return 0;
}

/* One open directory of a walk: its entries and the next one to visit. */
struct walk_level {
	struct cmd_fs_dir d;	/* entries in index order */
	uint32_t next;		/* next entry to visit */
	size_t path_len;	/* length of this directory's path */
};

enum walk_mode {
	WALK_FIND,		/* one path per line */
	WALK_TREE,		/* indented tree and a summary */
	WALK_COUNT,		/* nothing per entry; the count at the end */
};

/* A tree or find walk. */
struct walk {
	struct fs_info *fs;
	enum walk_mode mode;
	char *path;		/* current path, WALK_PATH_MAX bytes */
	struct walk_level *lv;	/* WALK_DEPTH_MAX levels */
	int depth;		/* open levels */
	uint64_t ndirs, nfiles;	/* counts for tree's summary */
	int err;		/* first error met */
};

static int collect(void *ctx, const char *name, size_t len,
		   struct fs_ino ino, unsigned type)
{
	struct cmd_fs_dir *d = ctx;
	struct cmd_fs_dirent *e;

	if (d->n == d->cap) {
		uint32_t cap = d->cap ? d->cap * 2 : 16;
		struct cmd_fs_dirent *v = kmalloc(cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		if (d->n)
			memcpy(v, d->v, d->n * sizeof(*v));
		kfree(d->v);
		d->v = v;
		d->cap = cap;
	}
	if (!d->names || d->names_used + len + 1 > NAME_BLOCK) {
		char *block = kmalloc(NAME_BLOCK);

		if (!block)
			return -ENOMEM;
		memcpy(block, &d->names, sizeof(d->names));
		d->names = block;
		d->names_used = sizeof(d->names);
	}
	e = &d->v[d->n];
	e->name = d->names + d->names_used;
	memcpy(e->name, name, len + 1);
	d->names_used += len + 1;
	e->ino = ino;
	e->type = type;
	d->n++;
	return 0;
}

int cmd_fs_dir_read(struct fs_info *fs, struct fs_ino ino, struct cmd_fs_dir *d)
{
	memset(d, 0, sizeof(*d));
	return fs_readdir(fs, ino, collect, d);
}

void cmd_fs_dir_free(struct cmd_fs_dir *d)
{
	char *prev;

	while (d->names) {
		memcpy(&prev, d->names, sizeof(prev));
		kfree(d->names);
		d->names = prev;
	}
	kfree(d->v);
	memset(d, 0, sizeof(*d));
}

/* Open directory ino (whose path is w->path) as a new level. */
static int walk_push(struct walk *w, const char *cmd, struct fs_ino ino)
{
	struct walk_level *l;
	int ret;

	if (w->depth >= WALK_DEPTH_MAX)
		return fail(cmd, w->path, -ENAMETOOLONG);
	l = &w->lv[w->depth];
	l->next = 0;
	l->path_len = strlen(w->path);
	ret = cmd_fs_dir_read(w->fs, ino, &l->d);
	if (ret) {
		cmd_fs_dir_free(&l->d);
		return fail(cmd, w->path, ret);
	}
	w->depth++;
	return 0;
}

/* Print one entry (the path already holds its full name). */
static void walk_print(struct walk *w, const struct cmd_fs_dirent *e)
{
	char target[256];
	size_t n = 0;
	int i;

	if (w->mode == WALK_COUNT)
		return;
	if (w->mode == WALK_FIND) {
		con_printf("%s\n", w->path);
		return;
	}
	for (i = 0; i + 1 < w->depth; i++)
		con_printf("%s", w->lv[i].next < w->lv[i].d.n ? "|   " : "    ");
	con_printf("%s%s", w->lv[w->depth - 1].next < w->lv[w->depth - 1].d.n ?
		   "|-- " : "`-- ", e->name);
	if (e->type == FS_FT_SYMLINK &&
	    !fs_readlink(w->fs, e->ino, target, sizeof(target) - 1, &n)) {
		target[n] = 0;
		con_printf(" -> %s", target);
	}
	con_printf("\n");
}

/* Visit the next entry of the deepest level, or close that level. */
static void walk_step(struct walk *w, const char *cmd)
{
	struct walk_level *l = &w->lv[w->depth - 1];
	struct cmd_fs_dirent *e;
	size_t len = l->path_len;
	int ret;

	if (l->next == l->d.n) {
		cmd_fs_dir_free(&l->d);
		w->depth--;
		return;
	}
	e = &l->d.v[l->next++];
	if (len + 1 + strlen(e->name) + 1 > WALK_PATH_MAX) {
		ret = fail(cmd, e->name, -ENAMETOOLONG);
		w->err = w->err ? w->err : ret;
		return;
	}
	snprintf(w->path + len, WALK_PATH_MAX - len, "%s%s",
		 len && w->path[len - 1] == '/' ? "" : "/", e->name);
	walk_print(w, e);
	if (e->type == FS_FT_DIR) {
		w->ndirs++;
		ret = walk_push(w, cmd, e->ino);
		if (ret && !w->err)
			w->err = ret;
	} else {
		w->nfiles++;
	}
}

/* Walk the tree under path, printing as tree or find does. */
static int walk_run(const char *cmd, const char *path, enum walk_mode mode)
{
	struct walk w;
	struct fs_info *fs;
	struct fs_ino ino;
	struct fs_stat st;
	int ret;

	ret = resolve(cmd, path, 0, &fs, &ino);
	if (ret)
		return ret;
	ret = fs_stat(fs, ino, &st);
	if (ret)
		return fail(cmd, path, ret);
	memset(&w, 0, sizeof(w));
	w.fs = fs;
	w.mode = mode;
	w.path = kmalloc(WALK_PATH_MAX);
	w.lv = kmalloc(WALK_DEPTH_MAX * sizeof(*w.lv));
	if (!w.path || !w.lv) {
		ret = fail(cmd, path, -ENOMEM);
		goto out_free;
	}
	snprintf(w.path, WALK_PATH_MAX, "%s", path);
	if (mode != WALK_COUNT)
		con_printf("%s\n", path);
	if ((st.mode & 0170000) == 0040000)
		w.err = walk_push(&w, cmd, ino);
	while (w.depth > 0)
		walk_step(&w, cmd);
	if (mode == WALK_TREE)
		con_printf("\n%llu directories, %llu files\n",
			   (unsigned long long)w.ndirs,
			   (unsigned long long)w.nfiles);
	if (mode == WALK_COUNT)
		con_printf("%llu entries\n",
			   (unsigned long long)(1 + w.ndirs + w.nfiles));
	ret = w.err;
out_free:
	kfree(w.path);
	kfree(w.lv);
	return ret;
}

int cmd_tree(int argc, char **argv)
{
	return walk_run("tree", argc > 1 ? argv[1] : "/", WALK_TREE);
}

/* find [-c] [PATH]: -c counts the entries (as `find | wc -l` would)
 * instead of printing them. */
int cmd_find(int argc, char **argv)
{
	int count = argc > 1 && strcmp(argv[1], "-c") == 0;

	if (argc > 2 + count)
		return -EINVAL;
	return walk_run("find", argc > 1 + count ? argv[1 + count] : "/",
			count ? WALK_COUNT : WALK_FIND);
}

int cmd_inspect_internal_dump_super(int argc, char **argv)
{
	struct fs_info *fs = cmd_fs_mounted("dump-super");

	(void)argc;
	(void)argv;
	return fs ? fs_dump_super(fs) : -ENOENT;
}

/* inspect-internal dump-tree -t TREE (btrfs-progs' -t|--tree) */
int cmd_inspect_internal_dump_tree(int argc, char **argv)
{
	struct fs_info *fs;
	int ret;

	if (argc != 3 || (strcmp(argv[1], "-t") && strcmp(argv[1], "--tree")))
		return -EINVAL;
	fs = cmd_fs_mounted("dump-tree");
	if (!fs)
		return -ENOENT;
	ret = fs_dump_tree(fs, argv[2]);
	if (ret == -EINVAL)
		con_eprintf("dump-tree: unknown tree '%s' (root, extent, "
			    "chunk, dev, fs, csum, quota, uuid, free-space, "
			    "block-group or a number)\n", argv[2]);
	else if (ret)
		fail("dump-tree", argv[2], ret);
	return ret;
}
