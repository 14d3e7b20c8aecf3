/*
 * Moves in incremental sends (fs/send_incr.c): an inode whose one name
 * moved goes in one RENAME, as Linux sends it, its contents untouched;
 * moves that need an orphan name on the way (a directory moved into its
 * former descendant, two names swapped) still do, a directory moved into
 * one moved just before it as well, and the receiver gets the same
 * tree. The stream is read back with receive --dump's lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "../../fs/send.h"
#include "send_sink.h"
#include "shim/fault_dev.h"
#include "test.h"

#define DEV_BYTES (128ull << 20)

/* receive --dump's lines, gathered. */
struct lines {
	char text[16384];
};

static void gather(void *ctx, enum fs_receive_say kind, const char *msg,
		   int err)
{
	struct lines *l = ctx;
	size_t n = strlen(l->text);

	(void)err;
	if (kind == FS_RECEIVE_OUT && n + strlen(msg) + 2 < sizeof(l->text))
		snprintf(l->text + n, sizeof(l->text) - n, "%s\n", msg);
}

struct reader {
	const struct sink *s;
	size_t at;
};

static long read_sink(void *ctx, void *buf, size_t len)
{
	struct reader *r = ctx;
	size_t n = r->s->len - r->at < len ? r->s->len - r->at : len;

	memcpy(buf, r->s->buf + r->at, n);
	r->at += n;
	return (long)n;
}

/* The dump of s, each line squeezed to "CMD PATH [DEST]". */
static int dump(const struct sink *s, struct lines *l)
{
	struct reader r = { s, 0 };
	struct fs_receive_args a = { .read = read_sink, .read_ctx = &r,
				     .say = gather, .say_ctx = l };
	char *p, *q;
	int ret;

	l->text[0] = 0;
	ret = fs_receive_dump(&a);
	for (p = q = l->text; *p; p++) {	/* runs of spaces to one */
		if (*p == ' ' && q > l->text && q[-1] == ' ')
			continue;
		*q++ = *p;
	}
	*q = 0;
	return ret;
}

static int send_snap(struct fs_info *fs, const char *path, const char *name,
		     const char *parent, struct sink *s)
{
	struct fs_subvol sv, psv = { 0 };
	struct fs_send_opts o = { .proto = 1, .write = sink_write, .ctx = s };
	int ret = fs_subvol_get(fs, path, &sv);

	if (ret == 0 && parent)
		ret = fs_subvol_get(fs, parent, &psv);
	o.parent = psv.id;
	s->len = 0;
	return ret ? ret : fs_send(fs, sv.id, name, &o);
}

static int put(struct fs_info *fs, const char *path, size_t len)
{
	static char buf[8192];
	struct fs_ino ino;
	int ret = fs_create(fs, path, 0644, &ino);

	memset(buf, 'm', sizeof(buf));
	return ret ? ret : fs_write(fs, ino, 0, buf, len);
}

static int make_moves(struct fs_info *fs)
{
	int ret = fs_subvol_create(fs, "/s");

	ret = ret ? ret : fs_mkdir(fs, "/s/d", 0755);
	ret = ret ? ret : fs_mkdir(fs, "/s/d/sub", 0755);
	ret = ret ? ret : put(fs, "/s/d/f1", 100);
	ret = ret ? ret : put(fs, "/s/d/sub/f2", 5000);
	ret = ret ? ret : fs_mkdir(fs, "/s/e", 0755);
	ret = ret ? ret : put(fs, "/s/x", 10);
	ret = ret ? ret : fs_mkdir(fs, "/s/m", 0755);
	ret = ret ? ret : fs_mkdir(fs, "/s/m/n", 0755);
	ret = ret ? ret : put(fs, "/s/m/n/g", 10);
	ret = ret ? ret : fs_mkdir(fs, "/s/p", 0755);
	ret = ret ? ret : fs_mkdir(fs, "/s/q", 0755);
	ret = ret ? ret : fs_mkdir(fs, "/s/w", 0755);
	ret = ret ? ret : fs_mkdir(fs, "/s/w/a", 0755);
	ret = ret ? ret : fs_mkdir(fs, "/s/w/b", 0755);
	ret = ret ? ret : fs_rename(fs, "/s/w/a", "/s/w/b/a");
	ret = ret ? ret : fs_subvol_snapshot(fs, "/s", "/p1", FS_SNAP_RDONLY);
	ret = ret ? ret : fs_rename(fs, "/s/d", "/s/e/d");
	ret = ret ? ret : fs_rename(fs, "/s/x", "/s/e/y");
	ret = ret ? ret : fs_rename(fs, "/s/m/n", "/s/n");
	ret = ret ? ret : fs_rename(fs, "/s/m", "/s/n/m");
	ret = ret ? ret : fs_rename(fs, "/s/p", "/s/t");
	ret = ret ? ret : fs_rename(fs, "/s/q", "/s/p");
	ret = ret ? ret : fs_rename(fs, "/s/t", "/s/q");
	ret = ret ? ret : fs_rename(fs, "/s/w/b/a", "/s/w/a");	/* in turn */
	ret = ret ? ret : fs_rename(fs, "/s/w/b", "/s/w/a/b");
	return ret ? ret : fs_subvol_snapshot(fs, "/s", "/p2",
					      FS_SNAP_RDONLY);
}

/* How many lines of l start with what. */
static int count(const struct lines *l, const char *what)
{
	const char *p = l->text;
	int n = 0;

	for (; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += !strncmp(p, what, strlen(what));
	return n;
}

TEST(send, moves_take_one_rename)
{
	struct fault_dev *dev = fault_dev_new(DEV_BYTES);
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	struct fs_info *fs = NULL;
	struct sink full = { 0 }, incr = { 0 };
	struct lines *l = malloc(sizeof(*l));

	CHECK(dev && l);
	CHECK_OK(fs_mkfs(fault_dev_blk(dev), &o));
	CHECK_OK(fs_mount(fault_dev_blk(dev), 0, &fs));
	CHECK_OK(make_moves(fs));
	CHECK_OK(send_snap(fs, "/p1", "p1", NULL, &full));
	CHECK_OK(send_snap(fs, "/p2", "p2", "/p1", &incr));
	CHECK_OK(dump(&incr, l));
	/* moved whole, in one rename each, nothing in them sent again */
	CHECK(strstr(l->text, "rename ./p2/d dest=./p2/e/d\n"));
	CHECK(strstr(l->text, "rename ./p2/x dest=./p2/e/y\n"));
	CHECK_EQ(count(l, "rename ./p2/d"), 1);
	CHECK_EQ(count(l, "rename ./p2/x"), 1);
	CHECK_EQ(count(l, "mkfile") + count(l, "mkdir") + count(l, "write"),
		 0);
	/* the received tree is the sent one */
	CHECK_OK(sink_receive(fs, &full, "/r", 0));
	CHECK_OK(sink_receive(fs, &incr, "/r", 0));
	CHECK_EQ(sink_trees_differ(fs, "/p2", "/r/p2"), 0);
	free(full.buf);
	free(incr.buf);
	free(l);
	fs_umount(fs);
	fault_dev_free(dev);
}
