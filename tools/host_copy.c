/*
 * Host-only shell commands of the host tool: `import HOSTPATH PATH` and
 * `export PATH HOSTPATH` copy a file, a symlink or a whole directory tree
 * between the host and the mounted image, like `cp -a`:
 *  - modes (permission bits) and access/modification times are kept
 *    (directories get theirs after their contents are copied); owners are
 *    not;
 *  - symlinks are copied as symlinks;
 *  - hard links stay hard links within one copy (a table of the inodes
 *    with more than one link seen so far);
 *  - sparse files stay sparse: import copies only the data ranges the host
 *    reports (SEEK_DATA/SEEK_HOLE) and sets the size; export skips writing
 *    blocks of zeros and sets the size.
 * Device nodes, FIFOs and sockets are skipped with a message.
 *
 * The destination names the copy; when it is an existing directory and
 * the source is a directory, the contents are merged into it (so
 * `import tree /` fills the top directory).
 *
 * These run only in the host tool (the kernel has no host files), which
 * registers them with shell_register_extra().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ghee/console.h>

#include "../fs/fs.h"
#include "../shell/cmd_fs.h"
#include "../shell/shell.h"
#include "host_copy.h"

#define CHUNK (256u * 1024)	/* bytes per read/write */
#define DEPTH_MAX 256		/* deepest directory copied */
#define PATH_MAX_ 4096

/* An inode with several links, copied once: where its copy is. */
struct link_seen {
	uint64_t dev, ino;	/* host (st_dev, st_ino) or image (root, ino) */
	char *path;		/* the copy's path */
};

/* One import or export. */
struct copy {
	struct fs_info *fs;
	const char *cmd;	/* "import" or "export", for messages */
	struct link_seen *links;
	size_t nlinks, cap;
	char *buf;		/* CHUNK bytes */
	unsigned long files, dirs, symlinks, hardlinks, skipped;
	unsigned long long bytes;
	int reported;		/* an error was printed (once per copy) */
};

/* Say what failed, innermost path first, once per copy. */
static int fail(struct copy *c, const char *what, int err)
{
	if (!c->reported++)
		con_eprintf("%s: %s: %s (errno %d)\n", c->cmd, what,
			    cmd_fs_err_text(err), -err);
	return err;
}

static const char *link_find(struct copy *c, uint64_t dev, uint64_t ino)
{
	size_t i;

	for (i = 0; i < c->nlinks; i++)
		if (c->links[i].dev == dev && c->links[i].ino == ino)
			return c->links[i].path;
	return NULL;
}

static int link_add(struct copy *c, uint64_t dev, uint64_t ino,
		    const char *path)
{
	if (c->nlinks == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct link_seen *v = realloc(c->links, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->links = v;
		c->cap = cap;
	}
	c->links[c->nlinks].path = strdup(path);
	if (!c->links[c->nlinks].path)
		return -ENOMEM;
	c->links[c->nlinks].dev = dev;
	c->links[c->nlinks++].ino = ino;
	return 0;
}

static int join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX_, "%s%s%s", dir,
			 dir[strlen(dir) - 1] == '/' ? "" : "/", name);

	return n >= PATH_MAX_ ? -ENAMETOOLONG : 0;
}

/* ------------------------------------------------------------- import */

/* Copy the data ranges of host file fd into ino, then set its size. */
static int import_data(struct copy *c, int fd, struct fs_ino ino,
		       uint64_t size)
{
	off_t off = 0, data, hole;
	ssize_t n;
	int ret;

	for (;;) {
		data = lseek(fd, off, SEEK_DATA);
		if (data < 0)
			break;	/* ENXIO: no data past off */
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		for (off = data; off < hole; off += n) {
			size_t want = (size_t)(hole - off) > CHUNK ?
				      CHUNK : (size_t)(hole - off);

			n = pread(fd, c->buf, want, off);
			if (n <= 0)
				return n < 0 ? -errno : -EIO;
			ret = fs_write(c->fs, ino, (uint64_t)off, c->buf,
				       (size_t)n);
			if (ret)
				return ret;
			c->bytes += (unsigned long long)n;
		}
	}
	if (errno != ENXIO)
		return -errno;
	return fs_truncate(c->fs, ino, size);
}

static int import_file(struct copy *c, const char *host, const char *path,
		       const struct stat *st, struct fs_ino *ino)
{
	int fd, ret;

	fd = open(host, O_RDONLY);
	if (fd < 0)
		return -errno;
	ret = fs_create(c->fs, path, st->st_mode & 07777, ino);
	if (ret == 0)
		ret = import_data(c, fd, *ino, (uint64_t)st->st_size);
	close(fd);
	if (ret == 0 && st->st_nlink > 1)
		ret = link_add(c, st->st_dev, st->st_ino, path);
	c->files++;
	return ret;
}

static int import_tree(struct copy *c, const char *host, const char *path,
		       int depth);

/* Import the entries of host directory `host` into directory path. */
static int import_dir(struct copy *c, const char *host, const char *path,
		      int depth)
{
	char *h = malloc(PATH_MAX_), *p = malloc(PATH_MAX_);
	struct dirent *de;
	DIR *d = opendir(host);
	int ret = d && h && p ? 0 : d ? -ENOMEM : -errno;

	while (ret == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		ret = join(h, host, de->d_name);
		if (ret == 0)
			ret = join(p, path, de->d_name);
		if (ret == 0)
			ret = import_tree(c, h, p, depth + 1);
	}
	if (d)
		closedir(d);
	free(h);
	free(p);
	c->dirs++;
	return ret;
}

static int is_dir(struct copy *c, struct fs_ino ino)
{
	struct fs_stat st;

	return fs_stat(c->fs, ino, &st) == 0 &&
	       (st.mode & 0170000) == 0040000;
}

/* Make path from host entry st; *ino names it. 1: a hard link made. */
static int import_node(struct copy *c, const char *host, const char *path,
		       const struct stat *st, struct fs_ino *ino, int depth)
{
	const char *first;
	char target[PATH_MAX_];
	ssize_t n;
	int ret;

	if (S_ISREG(st->st_mode)) {
		first = st->st_nlink > 1 ?
			link_find(c, st->st_dev, st->st_ino) : NULL;
		if (!first)
			return import_file(c, host, path, st, ino);
		c->hardlinks++;
		ret = fs_link(c->fs, first, path);
		return ret ? ret : 1;
	}
	if (S_ISLNK(st->st_mode)) {
		n = readlink(host, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = 0;
		c->symlinks++;
		ret = fs_symlink(c->fs, target, path);
		return ret ? ret : fs_lookup(c->fs, path, 0, ino);
	}
	ret = fs_lookup(c->fs, path, FS_LOOKUP_FOLLOW, ino);
	if (ret == 0 && depth == 0 && is_dir(c, *ino))
		ret = 0;	/* merge into an existing directory */
	else if (ret == 0 || ret == -ENOENT)
		ret = fs_mkdir(c->fs, path, st->st_mode & 07777);
	if (ret == 0)
		ret = import_dir(c, host, path, depth);
	return ret ? ret : fs_lookup(c->fs, path, 0, ino);
}

/* Copy host entry `host` to path, and below it. */
static int import_tree(struct copy *c, const char *host, const char *path,
		       int depth)
{
	struct fs_time at, mt;
	struct fs_ino ino;
	struct stat st;
	int ret;

	if (lstat(host, &st))
		return fail(c, host, -errno);
	if (depth > DEPTH_MAX)
		return fail(c, host, -ENAMETOOLONG);
	if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode) &&
	    !S_ISDIR(st.st_mode)) {
		con_eprintf("%s: %s: skipped (not a file, directory or "
			    "symlink)\n", c->cmd, host);
		c->skipped++;
		return 0;
	}
	ret = import_node(c, host, path, &st, &ino, depth);
	if (ret == 1)
		return 0;	/* a hard link: the first copy has the times */
	if (ret == 0 && !S_ISLNK(st.st_mode))
		ret = fs_chmod(c->fs, ino, st.st_mode & 07777);
	at.sec = st.st_atim.tv_sec;
	at.nsec = (uint32_t)st.st_atim.tv_nsec;
	mt.sec = st.st_mtim.tv_sec;
	mt.nsec = (uint32_t)st.st_mtim.tv_nsec;
	if (ret == 0)
		ret = fs_utimes(c->fs, ino, &at, &mt);
	return ret ? fail(c, path, ret) : 0;
}

/* ------------------------------------------------------------- export */

/* Names of one image directory. */
struct names {
	char **v;
	size_t n, cap;
};

static int collect(void *ctx, const char *name, size_t len,
		   struct fs_ino ino, unsigned type)
{
	struct names *l = ctx;

	(void)ino;
	(void)type;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n] = strndup(name, len);
	return l->v[l->n++] ? 0 : -ENOMEM;
}

/* Copy file ino to host file fd; zero blocks become holes. */
static int export_data(struct copy *c, struct fs_ino ino, int fd,
		       uint64_t size)
{
	static const char zero[4096];
	uint64_t off = 0;
	size_t n, i;
	int ret;

	while (off < size) {
		ret = fs_read(c->fs, ino, off, c->buf, CHUNK, &n);
		if (ret || n == 0)
			return ret;
		for (i = 0; i < n; i += sizeof(zero)) {
			size_t k = n - i < sizeof(zero) ? n - i : sizeof(zero);

			if (!memcmp(c->buf + i, zero, k))
				continue;
			if (pwrite(fd, c->buf + i, k, (off_t)(off + i)) !=
			    (ssize_t)k)
				return -EIO;
		}
		off += n;
		c->bytes += n;
	}
	return ftruncate(fd, (off_t)size) ? -errno : 0;
}

static int export_tree(struct copy *c, const char *path, const char *host,
		       int depth);

static int export_dir(struct copy *c, struct fs_ino ino, const char *path,
		      const char *host, int depth)
{
	struct names l = { NULL, 0, 0 };
	char *h = malloc(PATH_MAX_), *p = malloc(PATH_MAX_);
	size_t i;
	int ret = h && p ? 0 : -ENOMEM;

	if (ret == 0 && mkdir(host, 0700) && (errno != EEXIST || depth))
		ret = -errno;
	if (ret == 0)
		ret = fs_readdir(c->fs, ino, collect, &l);
	for (i = 0; i < l.n; i++) {
		if (ret == 0)
			ret = join(p, path, l.v[i]);
		if (ret == 0)
			ret = join(h, host, l.v[i]);
		if (ret == 0)
			ret = export_tree(c, p, h, depth + 1);
		free(l.v[i]);
	}
	free(l.v);
	free(h);
	free(p);
	c->dirs++;
	return ret;
}

/* Make host entry `host` from image inode st. 1: a hard link made. */
static int export_node(struct copy *c, const char *path, const char *host,
		       const struct fs_stat *st, int depth)
{
	char target[PATH_MAX_];
	const char *first;
	size_t n;
	int fd, ret;

	switch (st->mode & 0170000) {
	case 0040000:
		return export_dir(c, st->id, path, host, depth);
	case 0120000:
		ret = fs_readlink(c->fs, st->id, target, sizeof(target) - 1,
				  &n);
		if (ret)
			return ret;
		target[n] = 0;
		c->symlinks++;
		return symlink(target, host) ? -errno : 0;
	case 0100000:
		break;
	default:
		con_eprintf("%s: %s: skipped (not a file, directory or "
			    "symlink)\n", c->cmd, path);
		c->skipped++;
		return 1;
	}
	first = st->nlink > 1 ? link_find(c, st->id.root, st->id.ino) : NULL;
	if (first) {
		c->hardlinks++;
		return link(first, host) ? -errno : 1;
	}
	fd = open(host, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -errno;
	ret = export_data(c, st->id, fd, st->size);
	close(fd);
	c->files++;
	if (ret == 0 && st->nlink > 1)
		ret = link_add(c, st->id.root, st->id.ino, host);
	return ret;
}

/* Copy image entry path to host, and below it. */
static int export_tree(struct copy *c, const char *path, const char *host,
		       int depth)
{
	struct timespec ts[2];
	struct fs_stat st;
	struct fs_ino ino;
	int ret;

	if (depth > DEPTH_MAX)
		return fail(c, path, -ENAMETOOLONG);
	ret = fs_lookup(c->fs, path, 0, &ino);
	if (ret == 0)
		ret = fs_stat(c->fs, ino, &st);
	if (ret == 0)
		ret = export_node(c, path, host, &st, depth);
	if (ret == 1)
		return 0;
	if (ret == 0 && (st.mode & 0170000) != 0120000 &&
	    chmod(host, st.mode & 07777))
		ret = -errno;
	ts[0].tv_sec = st.atime.sec;
	ts[0].tv_nsec = st.atime.nsec;
	ts[1].tv_sec = st.mtime.sec;
	ts[1].tv_nsec = st.mtime.nsec;
	if (ret == 0 && utimensat(AT_FDCWD, host, ts, AT_SYMLINK_NOFOLLOW))
		ret = -errno;
	return ret ? fail(c, host, ret) : 0;
}

/* ------------------------------------------------------------ commands */

static int run_copy(const char *cmd, const char *from, const char *to)
{
	struct copy c;
	size_t i;
	int ret;

	memset(&c, 0, sizeof(c));
	c.cmd = cmd;
	/* the image's path names its filesystem (the mount table) */
	if (cmd[0] == 'i')
		c.fs = cmd_fs_path(cmd, to, &to);
	else
		c.fs = cmd_fs_path(cmd, from, &from);
	if (!c.fs)
		return -ENOENT;
	c.buf = malloc(CHUNK);
	if (!c.buf)
		return fail(&c, from, -ENOMEM);
	ret = cmd[0] == 'i' ? import_tree(&c, from, to, 0) :
			      export_tree(&c, from, to, 0);
	for (i = 0; i < c.nlinks; i++)
		free(c.links[i].path);
	free(c.links);
	free(c.buf);
	con_printf("%s: %lu files (%llu bytes), %lu directories, %lu symlinks, "
		   "%lu hard links, %lu skipped%s\n", cmd, c.files, c.bytes,
		   c.dirs, c.symlinks, c.hardlinks, c.skipped,
		   ret ? " before the error" : "");
	return ret;
}

static int cmd_import(int argc, char **argv)
{
	(void)argc;
	return run_copy("import", argv[1], argv[2]);
}

static int cmd_export(int argc, char **argv)
{
	(void)argc;
	return run_copy("export", argv[1], argv[2]);
}

const struct shell_cmd host_copy_commands[] = {
	{ "import", "HOSTPATH PATH",
	  "copy a host file or tree into the image (modes, times, links, "
	  "holes kept)", 2, 2, cmd_import },
	{ "export", "PATH HOSTPATH",
	  "copy a file or tree of the image out to the host (like cp -a)",
	  2, 2, cmd_export },
	{ NULL, NULL, NULL, 0, 0, NULL },
};
