/*
 * Send (fs/send*.c) through its public API: the stream each case gets is
 * checked command by command (its crc32c, its TLVs, and in the test's
 * own one-line-per-command form) against what Linux's send gives for the
 * same tree: inodes made under orphan names and renamed into place, a
 * parent directory made ahead of its turn, hard links, every inode kind,
 * xattrs, writes of 48 KiB (v1) or up to 128 KiB (v2), TRUNCATE after a
 * trailing hole, owner, mode and times once per inode, directories'
 * times at the end, v2's otime, --no-data. Then the concurrency the
 * reference asks for: a relocation counter bumped after every command,
 * or all the time by another thread (the walks search again by key and
 * the stream does not change), commits from the sink and from another
 * thread all along,
 * commits while a send runs, and deleting or un-read-only-ing the sent
 * subvolume while it is read (EPERM, as Linux).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/commit_root.h"
#include "../../fs/fs.h"
#include "../../fs/send.h"
#include "../../fs/send_format.h"
#include "../../lib/crc32c.h"
#include "shim/fault_dev.h"
#include "test.h"

#define DEV_BYTES (256ull << 20)
#define S_IFCHR_ 0020000
#define S_IFBLK_ 0060000
#define S_IFIFO_ 0010000
#define S_IFSOCK_ 0140000

/* A stream gathered in memory, and what the sink does on the way. */
struct sink {
	unsigned char *buf;
	size_t len, cap;
	unsigned calls;
	struct fs_info *fs;
	int bump_reloc;		/* bump the relocation counter each call */
	int commit_every;	/* write and commit every N calls; 0: never */
	int try_delete;		/* try deleting /snap on the first call */
	int delete_ret, set_rw_ret;
};

static int sink_write(void *ctx, const void *b, size_t n)
{
	struct sink *s = ctx;

	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2;
		s->buf = realloc(s->buf, s->cap);
		if (!s->buf)
			return -ENOMEM;
	}
	memcpy(s->buf + s->len, b, n);
	s->len += n;
	s->calls++;
	if (s->bump_reloc)
		commit_root_note_reloc(s->fs);
	if (s->commit_every && s->calls % s->commit_every == 0) {
		struct fs_ino ino;
		char c = (char)s->calls;

		if (fs_lookup(s->fs, "/other", 0, &ino) ||
		    fs_write(s->fs, ino, s->calls, &c, 1) || fs_sync(s->fs))
			return -EIO;
	}
	if (s->try_delete && s->calls == 1) {
		s->delete_ret = fs_subvol_delete(s->fs, "/snap", 0);
		s->set_rw_ret = fs_subvol_set_ro(s->fs, "/snap", 0);
	}
	return 0;
}

static const char *const cmd_names[] = {
	"?", "subvol", "snapshot", "mkfile", "mkdir", "mknod", "mkfifo",
	"mksock", "symlink", "rename", "link", "unlink", "rmdir", "set_xattr",
	"remove_xattr", "write", "clone", "truncate", "chmod", "chown",
	"utimes", "end", "update_extent", "fallocate", "fileattr",
};

/* One command's attributes, as parsed. */
struct attrs {
	const unsigned char *v[SEND_A_MAX_V2 + 1];
	unsigned len[SEND_A_MAX_V2 + 1];
};

static uint64_t le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* Append attribute a (a path: orphan names "o<ino>-<gen>-0" become
 * "o<ino>", the generation being the test's noise). */
static void put_path(char *line, const struct attrs *at, int a)
{
	char p[4200];
	char *o;
	unsigned n = at->len[a] < sizeof(p) - 1 ? at->len[a] : 0;

	memcpy(p, at->v[a], n);
	p[n] = 0;
	while ((o = strstr(p, "-0")) && o > p) {
		char *dash = o - 1;

		while (dash > p && *dash != '-')
			dash--;
		memmove(dash, o + 2, strlen(o + 2) + 1);
	}
	strcat(line, " ");
	strcat(line, n ? p : "/");
}

/* The test's line for one command. */
static void describe(char *line, unsigned cmd, const struct attrs *at)
{
	char num[64];

	strcpy(line, cmd < sizeof(cmd_names) / sizeof(*cmd_names) ?
	       cmd_names[cmd] : "?");
	if (at->v[SEND_A_PATH])
		put_path(line, at, SEND_A_PATH);
	if (at->v[SEND_A_PATH_TO])
		put_path(line, at, SEND_A_PATH_TO);
	if (at->v[SEND_A_PATH_LINK])
		put_path(line, at, SEND_A_PATH_LINK);
	if (at->v[SEND_A_CLONE_PATH]) {
		put_path(line, at, SEND_A_CLONE_PATH);
		sprintf(num, " %llu %llu", (unsigned long long)
			le(at->v[SEND_A_CLONE_OFFSET], 8), (unsigned long long)
			le(at->v[SEND_A_CLONE_LEN], 8));
		strcat(line, num);
	}
	if (at->v[SEND_A_XATTR_NAME]) {
		strcat(line, " ");
		strncat(line, (const char *)at->v[SEND_A_XATTR_NAME],
			at->len[SEND_A_XATTR_NAME]);
	}
	if (at->v[SEND_A_FILE_OFFSET]) {
		sprintf(num, " %llu", (unsigned long long)
			le(at->v[SEND_A_FILE_OFFSET], 8));
		strcat(line, num);
	}
	if (at->v[SEND_A_DATA]) {
		sprintf(num, " %u", at->len[SEND_A_DATA]);
		strcat(line, num);
	}
	if (at->v[SEND_A_SIZE]) {
		sprintf(num, " %llu", (unsigned long long)
			le(at->v[SEND_A_SIZE], 8));
		strcat(line, num);
	}
	if (at->v[SEND_A_RDEV]) {
		sprintf(num, " rdev=%llx mode=%llo", (unsigned long long)
			le(at->v[SEND_A_RDEV], 8), (unsigned long long)
			le(at->v[SEND_A_MODE], 8));
		strcat(line, num);
	} else if (at->v[SEND_A_MODE]) {
		sprintf(num, " %llo", (unsigned long long)
			le(at->v[SEND_A_MODE], 8));
		strcat(line, num);
	}
	if (at->v[SEND_A_OTIME])
		strcat(line, " otime");
}

/*
 * Parse stream s of version proto into lines (one per command, joined
 * by '\n' into out). Returns 0, or a message about the first defect.
 */
static const char *parse(const struct sink *s, unsigned proto, char *out,
			 size_t cap)
{
	size_t at = 17;

	out[0] = 0;
	if (s->len < 17 || memcmp(s->buf, "btrfs-stream", 13) ||
	    le(s->buf + 13, 4) != proto)
		return "bad stream header";
	while (at < s->len) {
		const unsigned char *c = s->buf + at;
		uint32_t len = (uint32_t)le(c, 4), crc = (uint32_t)le(c + 6, 4);
		unsigned char hdr[10];
		struct attrs a;
		size_t t = 10;
		char line[8400];

		if (at + 10 + len > s->len)
			return "command runs past the stream";
		memcpy(hdr, c, 10);
		memset(hdr + 6, 0, 4);
		if (crc32c(crc32c(0, hdr, 10), c + 10, len) != crc)
			return "bad crc";
		if (len > (proto == 1 ? SEND_BUF_V1 : SEND_BUF_V2))
			return "command too long for its version";
		memset(&a, 0, sizeof(a));
		while (t < 10 + len) {
			unsigned type = (unsigned)le(c + t, 2), l;

			if (type == 0 || type > SEND_A_MAX_V2)
				return "bad attribute type";
			if (proto >= 2 && type == SEND_A_DATA) {
				a.v[type] = c + t + 2;
				a.len[type] = 10 + len - t - 2;
				break;
			}
			l = (unsigned)le(c + t + 2, 2);
			if (t + 4 + l > 10 + len)
				return "attribute runs past its command";
			a.v[type] = c + t + 4;
			a.len[type] = l;
			t += 4 + l;
		}
		describe(line, (unsigned)le(c + 4, 2), &a);
		if (strlen(out) + strlen(line) + 2 > cap)
			return "too many commands for the test";
		strcat(out, line);
		strcat(out, "\n");
		at += 10 + len;
	}
	return NULL;
}

struct env {
	struct fault_dev *dev;
	struct fs_info *fs;
};

static int env_open(struct env *e)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };

	e->dev = fault_dev_new(DEV_BYTES);
	if (!e->dev || fs_mkfs(fault_dev_blk(e->dev), &o))
		return -EIO;
	return fs_mount(fault_dev_blk(e->dev), 0, &e->fs);
}

static void env_close(struct env *e)
{
	if (e->fs)
		fs_umount(e->fs);
	fault_dev_free(e->dev);
}

static int put(struct fs_info *fs, const char *path, uint64_t off,
	       size_t len)
{
	static char buf[1 << 17];
	struct fs_ino ino;
	size_t i;
	int ret = fs_lookup(fs, path, 0, &ino);

	if (ret == -ENOENT)
		ret = fs_create(fs, path, 0644, &ino);
	for (i = 0; i < len; i++)
		buf[i] = (char)(i * 7 + off);
	return ret ? ret : fs_write(fs, ino, off, buf, len);
}

/* The tree of the cases: one of every kind; /snap its read-only
 * snapshot. */
static int make_tree(struct fs_info *fs)
{
	struct fs_ino ino;
	int ret = fs_subvol_create(fs, "/s");

	ret = ret ? ret : fs_mkdir(fs, "/s/d", 0755);		/* 257 */
	ret = ret ? ret : put(fs, "/s/d/f", 0, 100000);		/* 258 */
	ret = ret ? ret : fs_link(fs, "/s/d/f", "/s/hard");
	ret = ret ? ret : fs_lookup(fs, "/s/d/f", 0, &ino);
	ret = ret ? ret : fs_setxattr(fs, ino, "user.a", "1", 1, 0);
	ret = ret ? ret : fs_symlink(fs, "d/f", "/s/sym");	/* 259 */
	ret = ret ? ret : fs_mknod(fs, "/s/fifo", S_IFIFO_ | 0600, 0, NULL);
	ret = ret ? ret : fs_mknod(fs, "/s/chr", S_IFCHR_ | 0644,
				   FS_MKDEV(1, 3), NULL);	/* 261 */
	ret = ret ? ret : fs_mknod(fs, "/s/sock", S_IFSOCK_ | 0755, 0,
				   NULL);			/* 262 */
	ret = ret ? ret : put(fs, "/s/sparse", 0, 4096);	/* 263 */
	ret = ret ? ret : fs_lookup(fs, "/s/sparse", 0, &ino);
	ret = ret ? ret : fs_truncate(fs, ino, 1 << 20);
	ret = ret ? ret : put(fs, "/s/late", 0, 100);		/* 264 */
	ret = ret ? ret : fs_mkdir(fs, "/s/z", 0700);		/* 265 */
	ret = ret ? ret : fs_rename(fs, "/s/late", "/s/z/late");
	ret = ret ? ret : fs_lookup(fs, "/s/z", 0, &ino);
	ret = ret ? ret : fs_setxattr(fs, ino, "user.dir", "x", 1, 0);
	ret = ret ? ret : put(fs, "/other", 0, 10);
	return ret ? ret : fs_subvol_snapshot(fs, "/s", "/snap",
					      FS_SNAP_RDONLY);
}

/* Send subvolume path (named name) into s; with parent (a path, or
 * NULL), incrementally. */
static int send_path(struct fs_info *fs, const char *path, const char *name,
		     const char *parent, struct sink *s, unsigned proto,
		     unsigned flags, uint64_t *restarts)
{
	struct fs_subvol sv, psv;
	struct fs_send_opts o = { .proto = proto, .flags = flags,
				  .write = sink_write, .ctx = s };
	int ret = fs_subvol_get(fs, path, &sv);

	s->fs = fs;
	if (ret == 0 && parent) {
		ret = fs_subvol_get(fs, parent, &psv);
		o.parent = psv.id;
	}
	if (ret == 0)
		ret = fs_send(fs, sv.id, name, &o);
	if (restarts)
		*restarts = o.restarts;
	return ret;
}

/* Send /snap (the top level's entry) into s. */
static int send_snap(struct fs_info *fs, struct sink *s, unsigned proto,
		     unsigned flags, uint64_t *restarts)
{
	return send_path(fs, "/snap", "snap", NULL, s, proto, flags,
			 restarts);
}

static const char want_v1[] =
	"subvol snap\n"
	"chown /\n" "chmod / 755\n"
	"mkdir o257\n" "rename o257 d\n" "chown d\n" "chmod d 755\n"
	"mkfile o258\n" "rename o258 hard\n" "link d/f hard\n"
	"set_xattr hard user.a\n"
	"write hard 0 49152\n" "write hard 49152 49152\n"
	"write hard 98304 1696\n"
	"chown hard\n" "chmod hard 644\n" "utimes hard\n"
	"symlink o259 d/f\n" "rename o259 sym\n" "chown sym\n" "utimes sym\n"
	"mkfifo o260 rdev=0 mode=10600\n" "rename o260 fifo\n"
	"chown fifo\n" "chmod fifo 600\n" "utimes fifo\n"
	"mknod o261 rdev=103 mode=20644\n" "rename o261 chr\n"
	"chown chr\n" "chmod chr 644\n" "utimes chr\n"
	"mksock o262 rdev=0 mode=140755\n" "rename o262 sock\n"
	"chown sock\n" "chmod sock 755\n" "utimes sock\n"
	"mkfile o263\n" "rename o263 sparse\n" "write sparse 0 4096\n"
	"truncate sparse 1048576\n"
	"chown sparse\n" "chmod sparse 644\n" "utimes sparse\n"
	"mkfile o264\n" "mkdir o265\n" "rename o264 o265/late\n"
	"write o265/late 0 100\n"
	"chown o265/late\n" "chmod o265/late 644\n" "utimes o265/late\n"
	"rename o265 z\n" "set_xattr z user.dir\n" "chown z\n"
	"chmod z 700\n"
	"utimes /\n" "utimes d\n" "utimes z\n"
	"end\n";

#define OUT_CAP (64 * 1024)

TEST(send, full_v1_every_kind)
{
	struct env e = { 0 };
	struct sink s = { 0 };
	char *out = malloc(OUT_CAP);
	const char *err;

	CHECK(out);
	CHECK_OK(env_open(&e));
	CHECK_OK(make_tree(e.fs));
	CHECK_OK(send_snap(e.fs, &s, 1, 0, NULL));
	err = parse(&s, 1, out, OUT_CAP);
	CHECK_STR(err ? err : "", "");
	CHECK_STR(out, want_v1);
	free(s.buf);
	free(out);
	env_close(&e);
}

TEST(send, full_v2_long_writes_otime)
{
	struct env e = { 0 };
	struct sink s = { 0 };
	char *out = malloc(OUT_CAP);
	const char *err;

	CHECK(out);
	CHECK_OK(env_open(&e));
	CHECK_OK(make_tree(e.fs));
	CHECK_OK(put(e.fs, "/s/x", 0, 1));
	CHECK_OK(send_snap(e.fs, &s, 2, 0, NULL));
	err = parse(&s, 2, out, OUT_CAP);
	CHECK_STR(err ? err : "", "");
	CHECK(strstr(out, "write hard 0 100000\n"));
	CHECK(strstr(out, "utimes hard otime\n"));
	CHECK(strstr(out, "utimes / otime\nutimes d otime\nutimes z otime\n"
		      "end\n"));
	CHECK(!strstr(out, "write hard 49152"));
	free(s.buf);
	free(out);
	env_close(&e);
}

TEST(send, no_data_update_extent)
{
	struct env e = { 0 };
	struct sink s = { 0 };
	char *out = malloc(OUT_CAP);
	const char *err;

	CHECK(out);
	CHECK_OK(env_open(&e));
	CHECK_OK(make_tree(e.fs));
	CHECK_OK(send_snap(e.fs, &s, 1, FS_SEND_NO_DATA, NULL));
	err = parse(&s, 1, out, OUT_CAP);
	CHECK_STR(err ? err : "", "");
	CHECK(strstr(out, "update_extent hard 0 100000\n"));
	CHECK(strstr(out, "update_extent sparse 0 4096\n"
		      "truncate sparse 1048576\n"));
	CHECK(!strstr(out, "write "));
	free(s.buf);
	free(out);
	env_close(&e);
}

TEST(send, refuses_writable_subvolume)
{
	struct env e = { 0 };
	struct sink s = { 0 };
	struct fs_subvol sv;
	struct fs_send_opts o = { .proto = 1, .write = sink_write,
				  .ctx = &s };

	CHECK_OK(env_open(&e));
	CHECK_OK(make_tree(e.fs));
	CHECK_OK(fs_subvol_get(e.fs, "/s", &sv));
	CHECK_EQ(fs_send(e.fs, sv.id, "s", &o), -EROFS);
	CHECK_EQ(s.len, 0);
	o.proto = 3;
	CHECK_OK(fs_subvol_get(e.fs, "/snap", &sv));
	CHECK_EQ(fs_send(e.fs, sv.id, "snap", &o), -EINVAL);
	free(s.buf);
	env_close(&e);
}

/* A relocation that never ends: bump the counter until told to stop. */
struct bumper {
	struct fs_info *fs;
	int stop;
	int err;		/* committer: first error */
};

static void *bump_loop(void *arg)
{
	struct bumper *b = arg;

	while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE))
		commit_root_note_reloc(b->fs);
	return NULL;
}

/* Changes and commits all along, beside the send. */
static void *commit_loop(void *arg)
{
	struct bumper *b = arg;
	struct fs_ino ino;
	uint64_t n = 0;

	b->err = fs_lookup(b->fs, "/other", 0, &ino);
	while (!b->err && !__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
		char c = (char)n;

		b->err = fs_write(b->fs, ino, n++ % 100000, &c, 1);
		if (!b->err)
			b->err = fs_sync(b->fs);
	}
	return NULL;
}

/* Many files, so the tree has many leaves for the walk to cross. */
static int many_files(struct fs_info *fs)
{
	char path[64];
	int i, ret = fs_subvol_create(fs, "/s");

	for (i = 0; i < 400 && ret == 0; i++) {
		snprintf(path, sizeof(path), "/s/file%03d", i);
		ret = put(fs, path, 0, (size_t)(i * 37 % 3000 + 1));
	}
	ret = ret ? ret : put(fs, "/other", 0, 10);
	return ret ? ret : fs_subvol_snapshot(fs, "/s", "/snap",
					      FS_SNAP_RDONLY);
}

TEST(send, relocation_restarts_and_commits_keep_the_stream)
{
	struct env e = { 0 };
	struct sink base = { 0 }, reloc = { 0 }, commits = { 0 }, busy = { 0 };
	uint64_t restarts = 0;
	struct bumper bump = { 0 };
	pthread_t t;
	int ret;

	CHECK_OK(env_open(&e));
	CHECK_OK(many_files(e.fs));
	CHECK_OK(send_snap(e.fs, &base, 2, 0, NULL));
	reloc.bump_reloc = 1;
	CHECK_OK(send_snap(e.fs, &reloc, 2, 0, &restarts));
	CHECK(restarts > 400);
	CHECK_EQ(reloc.len, base.len);
	CHECK(!memcmp(reloc.buf, base.buf, base.len));
	commits.commit_every = 50;
	CHECK_OK(send_snap(e.fs, &commits, 2, 0, NULL));
	CHECK_EQ(commits.len, base.len);
	CHECK(!memcmp(commits.buf, base.buf, base.len));
	bump.fs = e.fs;
	CHECK_OK(pthread_create(&t, NULL, commit_loop, &bump));
	ret = send_snap(e.fs, &busy, 2, 0, NULL);
	__atomic_store_n(&bump.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	CHECK_OK(ret);
	CHECK_OK(bump.err);
	CHECK_EQ(busy.len, base.len);
	CHECK(!memcmp(busy.buf, base.buf, base.len));
	free(busy.buf);
	free(base.buf);
	free(reloc.buf);
	free(commits.buf);
	env_close(&e);
}

TEST(send, subvolume_kept_while_sent)
{
	struct env e = { 0 };
	struct sink s = { 0 };

	CHECK_OK(env_open(&e));
	CHECK_OK(make_tree(e.fs));
	s.try_delete = 1;
	CHECK_OK(send_snap(e.fs, &s, 1, 0, NULL));
	CHECK_EQ(s.delete_ret, -EPERM);
	CHECK_EQ(s.set_rw_ret, -EPERM);
	CHECK_OK(fs_subvol_delete(e.fs, "/snap", 0));
	free(s.buf);
	env_close(&e);
}

/* A parent, then: a directory moved into its former descendant, two
 * files swapped, a hard link added and one removed, a file changed in
 * its middle, a directory gone after its file moved out. */
static int make_incremental(struct fs_info *fs)
{
	int ret = fs_subvol_create(fs, "/s");

	ret = ret ? ret : fs_mkdir(fs, "/s/a", 0755);		/* 257 */
	ret = ret ? ret : fs_mkdir(fs, "/s/a/b", 0755);		/* 258 */
	ret = ret ? ret : put(fs, "/s/x", 0, 10);		/* 259 */
	ret = ret ? ret : put(fs, "/s/y", 0, 20);		/* 260 */
	ret = ret ? ret : put(fs, "/s/f", 0, 100000);		/* 261 */
	ret = ret ? ret : fs_link(fs, "/s/f", "/s/old");
	ret = ret ? ret : fs_mkdir(fs, "/s/gone", 0755);	/* 262 */
	ret = ret ? ret : put(fs, "/s/gone/k", 0, 5);		/* 263 */
	ret = ret ? ret : put(fs, "/other", 0, 10);
	ret = ret ? ret : fs_subvol_snapshot(fs, "/s", "/p1",
					     FS_SNAP_RDONLY);
	ret = ret ? ret : fs_rename(fs, "/s/a/b", "/s/b");
	ret = ret ? ret : fs_rename(fs, "/s/a", "/s/b/a");
	ret = ret ? ret : fs_rename(fs, "/s/x", "/s/t");
	ret = ret ? ret : fs_rename(fs, "/s/y", "/s/x");
	ret = ret ? ret : fs_rename(fs, "/s/t", "/s/y");
	ret = ret ? ret : fs_link(fs, "/s/f", "/s/new");
	ret = ret ? ret : fs_unlink(fs, "/s/old");
	ret = ret ? ret : put(fs, "/s/f", 50000, 10);
	ret = ret ? ret : fs_rename(fs, "/s/gone/k", "/s/k");
	ret = ret ? ret : fs_rmdir(fs, "/s/gone");
	return ret ? ret : fs_subvol_snapshot(fs, "/s", "/p2",
					      FS_SNAP_RDONLY);
}

static const char want_incremental[] =
	"snapshot p2\n"
	"rename x o259\n" "rename y o260\n"
	"rename f o261\n" "unlink old\n"
	"rename gone o262\n" "rename o262/k o263\n" "rmdir o262\n"
	"rename a/b o258\n" "rename a o258/a\n" "rename o258 b\n"
	"rename o259 y\n" "utimes y\n"
	"rename o260 x\n" "utimes x\n"
	"rename o261 f\n" "link new f\n" "write f 49152 4096\n"
	"utimes f\n"
	"rename o263 k\n" "utimes k\n"
	"utimes /\n" "utimes b/a\n" "utimes b\n"
	"end\n";


TEST(send, incremental_orderings)
{
	struct env e = { 0 };
	struct sink s = { 0 }, reloc = { 0 }, busy = { 0 };
	char *out = malloc(OUT_CAP);
	const char *err;
	struct bumper bump = { 0 };
	pthread_t t;
	int ret;

	CHECK(out);
	CHECK_OK(env_open(&e));
	CHECK_OK(make_incremental(e.fs));
	bump.fs = e.fs;
	CHECK_OK(send_path(e.fs, "/p2", "p2", "/p1", &s, 1, 0, NULL));
	err = parse(&s, 1, out, OUT_CAP);
	CHECK_STR(err ? err : "", "");
	CHECK_STR(out, want_incremental);
	reloc.bump_reloc = 1;
	CHECK_OK(send_path(e.fs, "/p2", "p2", "/p1", &reloc, 1, 0, NULL));
	CHECK_EQ(reloc.len, s.len);
	CHECK(!memcmp(reloc.buf, s.buf, s.len));
	CHECK_OK(pthread_create(&t, NULL, bump_loop, &bump));
	ret = send_path(e.fs, "/p2", "p2", "/p1", &busy, 1, 0, NULL);
	__atomic_store_n(&bump.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	CHECK_OK(ret);
	CHECK_EQ(busy.len, s.len);
	CHECK(!memcmp(busy.buf, s.buf, s.len));
	CHECK_EQ(send_path(e.fs, "/p2", "p2", "/s", &s, 1, 0, NULL), -EROFS);
	free(s.buf);
	free(reloc.buf);
	free(busy.buf);
	free(out);
	env_close(&e);
}

/* Whether the stream has a CLONE from subvolume uuid (UUID attribute). */
static int clones_from(const struct sink *s, const uint8_t *uuid)
{
	size_t at;

	for (at = 17; at + 10 <= s->len; at += 10 + le(s->buf + at, 4)) {
		const unsigned char *c = s->buf + at;
		size_t t;

		if (le(c + 4, 2) != SEND_C_CLONE)
			continue;
		for (t = 10; t < 10 + le(c, 4); t += 4 + le(c + t + 2, 2))
			if (le(c + t, 2) == SEND_A_CLONE_UUID &&
			    !memcmp(c + t + 4, uuid, 16))
				return 1;
	}
	return 0;
}

TEST(send, clone_from_parent_and_from_itself)
{
	struct env e = { 0 };
	struct sink full = { 0 }, inc = { 0 };
	struct fs_ino a, b;
	struct fs_subvol p1, p2;
	char *out = malloc(OUT_CAP);
	const char *err;

	CHECK(out);
	CHECK_OK(env_open(&e));
	CHECK_OK(fs_subvol_create(e.fs, "/s"));
	CHECK_OK(put(e.fs, "/s/a", 0, 100000));
	CHECK_OK(fs_create(e.fs, "/s/copy", 0644, &b));
	CHECK_OK(fs_lookup(e.fs, "/s/a", 0, &a));
	CHECK_OK(fs_clone_range(e.fs, a, 0, 0, b, 0));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/s", "/p1", FS_SNAP_RDONLY));
	CHECK_OK(fs_create(e.fs, "/s/b", 0644, &b));
	CHECK_OK(fs_clone_range(e.fs, a, 4096, 8192, b, 0));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/s", "/p2", FS_SNAP_RDONLY));
	CHECK_OK(send_path(e.fs, "/p1", "p1", NULL, &full, 1, 0, NULL));
	err = parse(&full, 1, out, OUT_CAP);
	CHECK_STR(err ? err : "", "");
	/* copy (258) shares a's (257) extent: cloned from a, whole file
	 * (line: CLONE path, source path, source offset, length, offset). */
	CHECK(strstr(out, "clone copy a 0 100000 0\n"));
	CHECK(!strstr(out, "write copy"));
	CHECK_OK(fs_subvol_get(e.fs, "/p1", &p1));
	CHECK_OK(fs_subvol_get(e.fs, "/p2", &p2));
	CHECK(clones_from(&full, p1.uuid));
	CHECK_OK(send_path(e.fs, "/p2", "p2", "/p1", &inc, 1, 0, NULL));
	err = parse(&inc, 1, out, OUT_CAP);
	CHECK_STR(err ? err : "", "");
	/* b is new; its data is the parent's a from 4096. */
	CHECK(strstr(out, "clone b a 4096 8192 0\n"));
	CHECK(!strstr(out, "write b"));
	CHECK(clones_from(&inc, p1.uuid));
	CHECK(!clones_from(&inc, p2.uuid));
	free(full.buf);
	free(inc.buf);
	free(out);
	env_close(&e);
}

/* Clone sources looked up while relocation commits come one after
 * another: a source found across a commit goes as data (counted in
 * stale_clones), and every copy is still either cloned whole from a or
 * written. Whether a commit lands inside a lookup is up to the host's
 * scheduler (at load 4 a whole send once saw none), so the send runs
 * again, each stream checked, until one has sent a stale source as data. */
TEST(send, clone_found_across_relocation_goes_as_data)
{
	enum { COPIES = 30, ATTEMPTS = 20 };
	struct env e = { 0 };
	struct bumper bump = { 0 };
	struct fs_subvol sv;
	struct fs_ino a, b;
	char *out = malloc(OUT_CAP), line[64];
	const char *err;
	pthread_t t;
	int i, attempt, ret;
	uint64_t stale = 0;

	CHECK(out);
	CHECK_OK(env_open(&e));
	CHECK_OK(fs_subvol_create(e.fs, "/s"));
	CHECK_OK(put(e.fs, "/s/a", 0, 100000));
	CHECK_OK(fs_lookup(e.fs, "/s/a", 0, &a));
	for (i = 0; i < COPIES; i++) {
		snprintf(line, sizeof(line), "/s/copy%02d", i);
		CHECK_OK(fs_create(e.fs, line, 0644, &b));
		CHECK_OK(fs_clone_range(e.fs, a, 0, 0, b, 0));
	}
	CHECK_OK(fs_subvol_snapshot(e.fs, "/s", "/p1", FS_SNAP_RDONLY));
	CHECK_OK(fs_subvol_get(e.fs, "/p1", &sv));
	bump.fs = e.fs;
	for (attempt = 0; attempt < ATTEMPTS && !stale; attempt++) {
		struct sink s = { .fs = e.fs };
		struct fs_send_opts o = { .proto = 1, .write = sink_write,
					  .ctx = &s };
		int cloned = 0;

		bump.stop = 0;
		CHECK_OK(pthread_create(&t, NULL, bump_loop, &bump));
		ret = fs_send(e.fs, sv.id, "p1", &o);
		__atomic_store_n(&bump.stop, 1, __ATOMIC_RELEASE);
		pthread_join(t, NULL);
		CHECK_OK(ret);
		err = parse(&s, 1, out, OUT_CAP);
		CHECK_STR(err ? err : "", "");
		for (i = 0; i < COPIES; i++) {
			snprintf(line, sizeof(line),
				 "clone copy%02d a 0 100000 0\n", i);
			if (strstr(out, line)) {
				cloned++;
				continue;
			}
			snprintf(line, sizeof(line),
				 "write copy%02d 98304 1696\n", i);
			CHECK(strstr(out, line));
		}
		CHECK_EQ(cloned + o.stale_clones, COPIES);
		stale = o.stale_clones;
		free(s.buf);
	}
	CHECK(stale > 0);
	free(out);
	env_close(&e);
}

/* An incremental send of a big subvolume with one file changed compares
 * few items: the subtrees the snapshots share are skipped, and the
 * stream still says exactly what changed. */
TEST(send, incremental_skips_shared_subtrees)
{
	enum { FILES = 3000 };
	struct env e = { 0 };
	struct sink s = { 0 };
	struct fs_send_opts o = { .proto = 1, .write = sink_write, .ctx = &s };
	struct fs_subvol p1, p2;
	char *out = malloc(OUT_CAP), path[64];
	const char *err;
	int i;

	CHECK(out);
	CHECK_OK(env_open(&e));
	CHECK_OK(fs_subvol_create(e.fs, "/s"));
	for (i = 0; i < FILES; i++) {
		snprintf(path, sizeof(path), "/s/f%04d", i);
		CHECK_OK(put(e.fs, path, 0, 100));
	}
	CHECK_OK(fs_subvol_snapshot(e.fs, "/s", "/p1", FS_SNAP_RDONLY));
	CHECK_OK(put(e.fs, "/s/f1500", 5000, 10));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/s", "/p2", FS_SNAP_RDONLY));
	CHECK_OK(fs_subvol_get(e.fs, "/p1", &p1));
	CHECK_OK(fs_subvol_get(e.fs, "/p2", &p2));
	o.parent = p1.id;
	s.fs = e.fs;
	CHECK_OK(fs_send(e.fs, p2.id, "p2", &o));
	err = parse(&s, 1, out, OUT_CAP);
	CHECK_STR(err ? err : "", "");
	/* the new extent starts at the block (zeros up to 5000) */
	CHECK(strstr(out, "write f1500 4096 914\n"));
	CHECK(!strstr(out, "write f1499") && !strstr(out, "write f1501"));
	printf("# %llu items compared of about %d\n",
	       (unsigned long long)o.compared, FILES * 4);
	CHECK(o.compared > 0);
	CHECK(o.compared < FILES / 10);
	free(s.buf);
	free(out);
	env_close(&e);
}

/* A file at the top already called what send would name an orphan: the
 * orphan name takes the next number, as Linux's does. */
TEST(send, orphan_name_taken_by_a_file)
{
	struct env e = { 0 };
	struct sink s = { 0 };
	struct fs_stat st;
	struct fs_ino x;
	char *out = malloc(OUT_CAP), name[64], want[160];
	const char *err;

	CHECK(out);
	CHECK_OK(env_open(&e));
	CHECK_OK(fs_subvol_create(e.fs, "/s"));
	CHECK_OK(fs_create(e.fs, "/s/x", 0644, &x));
	CHECK_OK(fs_stat(e.fs, x, &st));
	snprintf(name, sizeof(name), "/s/o%llu-%llu-0",
		 (unsigned long long)x.ino, (unsigned long long)st.generation);
	CHECK_OK(put(e.fs, name, 0, 10));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/s", "/snap", FS_SNAP_RDONLY));
	CHECK_OK(send_snap(e.fs, &s, 1, 0, NULL));
	err = parse(&s, 1, out, OUT_CAP);
	CHECK_STR(err ? err : "", "");
	snprintf(want, sizeof(want), "mkfile o%llu-%llu-1\nrename o%llu-%llu-1 x\n",
		 (unsigned long long)x.ino, (unsigned long long)st.generation,
		 (unsigned long long)x.ino, (unsigned long long)st.generation);
	CHECK(strstr(out, want));
	free(s.buf);
	free(out);
	env_close(&e);
}

/* A subvolume made read-only with changes not yet committed: send sees
 * them (it commits first, as Linux's send does). */
TEST(send, commits_changes_not_yet_committed)
{
	struct env e = { 0 };
	struct sink s = { 0 };
	char *out = malloc(OUT_CAP);
	const char *err;

	CHECK(out);
	CHECK_OK(env_open(&e));
	CHECK_OK(fs_subvol_create(e.fs, "/snap"));
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(put(e.fs, "/snap/late", 0, 10));
	CHECK_OK(fs_subvol_set_ro(e.fs, "/snap", 1));
	CHECK_OK(send_snap(e.fs, &s, 1, 0, NULL));
	err = parse(&s, 1, out, OUT_CAP);
	CHECK_STR(err ? err : "", "");
	CHECK(strstr(out, "rename o257 late\nwrite late 0 10\n"));
	free(s.buf);
	free(out);
	env_close(&e);
}
