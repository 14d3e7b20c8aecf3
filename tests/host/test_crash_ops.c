/*
 * Crash tests of the operations on shared extents and whole trees (the
 * method: tests/host/crash_model.h): the power is cut at the writes of
 *  - files: quota groups on, a seeded mix over files in the top level and
 *    a subvolume of reflink clones (into and out of shared extents),
 *    writes, xattrs set, replaced and removed, dedupes of ranges written
 *    equal, truncates and syncs; every survivor also goes through
 *    `btrfs check --qgroup-report`;
 *  - balance: every data and metadata block group relocated, a new file,
 *    then the data groups again (the files' bytes never change);
 *  - receive: a full stream then an incremental one (made by send on a
 *    template image) received; a survivor holds each received subvolume
 *    whole and read-only, or not at all, or writable (a receive stopped
 *    half way, as Linux leaves one), and everything else as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fs/fs.h"
#include "../../fs/send.h"
#include "crash_model.h"
#include "send_sink.h"
#include "test.h"

#define BLOCK 4096u
#define FILES_OPS 50

/* ---- files: clones, xattrs, dedupe, quota groups ------------------------- */

static const char *const names[] = {
	"/f0", "/f1", "/f2", "/f3", "/q/g0", "/q/g1", "/q/g2", "/q/g3",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

static int files_prepare(struct fs_info *fs)
{
	unsigned i;
	int ret = fs_quota_enable(fs);

	if (ret == 0)
		ret = fs_quota_rescan_wait(fs);
	if (ret == 0)
		ret = fs_subvol_create(fs, "/q");
	for (i = 0; i < NNAMES && ret == 0; i++)
		ret = crash_put(fs, names[i], i, 0, (i + 1) * 19000 + i * 7);
	return ret;
}

/* A file picked at random: its inode and size. */
static int pick(struct crash_ctx *c, struct fs_ino *ino, uint64_t *size)
{
	struct fs_stat st;
	int ret = fs_lookup(c->fs, names[crash_rnd(c, NNAMES)], 0, ino);

	if (ret == 0)
		ret = fs_stat(c->fs, *ino, &st);
	*size = ret ? 0 : st.size;
	return ret;
}

/* Clone a block-aligned range of one file into another. 1: none fits. */
static int op_clone(struct crash_ctx *c)
{
	struct fs_ino s, d;
	uint64_t ss, ds, soff, len, doff;
	int ret = pick(c, &s, &ss);

	if (ret == 0)
		ret = pick(c, &d, &ds);
	if (ret || (s.ino == d.ino && s.root == d.root) || ss < BLOCK)
		return ret ? ret : 1;
	soff = BLOCK * crash_rnd(c, ss / BLOCK);
	doff = BLOCK * crash_rnd(c, ds / BLOCK + 1);
	len = BLOCK * (1 + crash_rnd(c, (ss - soff) / BLOCK));
	/* to the source's end only where that ends the destination too:
	 * an unaligned end inside the destination is refused */
	if (crash_rnd(c, 3) == 0 && doff + ss - soff >= ds)
		len = 0;
	if (len && soff + len > ss)
		len = (ss - soff) / BLOCK * BLOCK;
	return len || soff < ss ? fs_clone_range(c->fs, s, soff, len, d, doff)
				: 1;
}

static int op_write(struct crash_ctx *c, uint64_t op)
{
	static uint8_t buf[32768];
	struct fs_ino f;
	uint64_t size, off;
	size_t len;
	int ret = pick(c, &f, &size);

	if (ret)
		return ret;
	off = crash_rnd(c, size + 1);
	len = 1 + crash_rnd(c, sizeof(buf));
	crash_fill(buf, op, off, len);
	return fs_write(c->fs, f, off, buf, len);
}

static int op_xattr(struct crash_ctx *c, uint64_t op, int remove)
{
	static const char *const xn[] = { "user.a", "user.b", "user.c" };
	uint8_t v[300];
	struct fs_ino f;
	uint64_t size;
	size_t len;
	const char *n;
	int ret = pick(c, &f, &size);

	if (ret)
		return ret;
	n = xn[crash_rnd(c, 3)];
	if (remove)
		return fs_getxattr(c->fs, f, n, v, sizeof(v), &len) ? 1 :
		       fs_removexattr(c->fs, f, n);
	len = 1 + crash_rnd(c, sizeof(v));
	crash_fill(v, op, 0, len);
	return fs_setxattr(c->fs, f, n, v, len, 0);
}

/* Write one block-aligned range into two files (two operations), then
 * dedupe them (the third). */
static int op_dedupe(struct crash_ctx *c, uint64_t op)
{
	static uint8_t buf[8 * BLOCK];
	struct fs_ino a, b;
	uint64_t as, bs, ao, bo;
	size_t len = BLOCK * (1 + crash_rnd(c, 8));
	int ret = pick(c, &a, &as);

	if (ret == 0)
		ret = pick(c, &b, &bs);
	if (ret || (a.ino == b.ino && a.root == b.root))
		return ret ? ret : 1;
	ao = BLOCK * crash_rnd(c, as / BLOCK + 1);
	bo = BLOCK * crash_rnd(c, bs / BLOCK + 1);
	crash_fill(buf, op, 0, len);
	ret = crash_done(c, fs_write(c->fs, a, ao, buf, len), 0);
	if (ret == 0)
		ret = crash_done(c, fs_write(c->fs, b, bo, buf, len), 0);
	return ret ? ret : fs_dedupe_range(c->fs, a, ao, len, b, bo);
}

static int op_truncate(struct crash_ctx *c)
{
	struct fs_ino f;
	uint64_t size;
	int ret = pick(c, &f, &size);

	return ret ? ret : fs_truncate(c->fs, f, crash_rnd(c, size + 30000));
}

static int files_op(struct crash_ctx *c, uint64_t op, uint64_t k, int *sync)
{
	if (k < 24)
		return op_clone(c);
	if (k < 38)
		return op_write(c, op);
	if (k < 50)
		return op_xattr(c, op, 0);
	if (k < 56)
		return op_xattr(c, op, 1);
	if (k < 68)
		return op_dedupe(c, op);
	if (k < 74)
		return op_truncate(c);
	*sync = 1;
	return fs_sync(c->fs);
}

static int files_run(struct crash_ctx *c)
{
	return crash_run_ops(c, FILES_OPS, files_op);
}

static const struct crash_workload files = {
	"files", 4096, 128ull << 20, CRASH_QGROUPS, NULL, files_prepare,
	files_run,
};

/* ---- balance ------------------------------------------------------------- */

static int balance_prepare(struct fs_info *fs)
{
	char p[32];
	int i, r, ret = fs_subvol_create(fs, "/v");

	for (r = 0; r < 3 && ret == 0; r++)	/* interleaved extents */
		for (i = 0; i < 40 && ret == 0; i++) {
			snprintf(p, sizeof(p), "/v/f%02d", i);
			ret = crash_put(fs, p, (uint64_t)i, (uint64_t)r * 16384,
					16384);
		}
	for (i = 0; i < 40 && ret == 0; i += 3) {
		snprintf(p, sizeof(p), "/v/f%02d", i);
		ret = fs_unlink(fs, p);
	}
	return ret ? ret : fs_subvol_snapshot(fs, "/v", "/snap",
					      FS_SNAP_RDONLY);
}

static int balance(struct fs_info *fs, unsigned types, uint64_t usage)
{
	struct fs_balance b;
	int t;

	memset(&b, 0, sizeof(b));
	b.types = types;
	for (t = 0; t < 3 && usage; t++) {
		b.f[t].flags = FS_BAL_USAGE;
		b.f[t].usage_max = usage;
	}
	return fs_balance_start(fs, &b, 0);
}

static int balance_run(struct crash_ctx *c)
{
	int ret = crash_done(c, balance(c->fs, 1u << FS_BAL_DATA |
					1u << FS_BAL_META, 0), 0);

	if (ret == 0)
		ret = crash_done(c, fs_sync(c->fs), 1);
	if (ret == 0)
		ret = crash_done(c, crash_write(c, "/v/new", 1, 0, 70000),
				 0);
	if (ret == 0)
		ret = crash_done(c, balance(c->fs, 1u << FS_BAL_DATA, 90), 0);
	return ret;
}

static const struct crash_workload balance_w = {
	"balance", 4096, 512ull << 20, 0, NULL, balance_prepare,
	balance_run,
};

/* ---- receive ------------------------------------------------------------- */

static struct sink full, incr;	/* the streams, made once */

/* The subvolume sent: every kind of inode, then changed for the
 * incremental stream. */
static int sent_tree(struct fs_info *fs, int second)
{
	struct fs_ino f;
	int ret;

	if (second) {
		ret = fs_rename(fs, "/src/d/a", "/src/moved");
		if (ret == 0)
			ret = crash_put(fs, "/src/big", 77, 40000, 30000);
		if (ret == 0)
			ret = fs_unlink(fs, "/src/small");
		if (ret == 0)
			ret = crash_put(fs, "/src/d/new", 78, 0, 12000);
		if (ret == 0 && (ret = fs_lookup(fs, "/src/moved", 0, &f)) == 0)
			ret = fs_setxattr(fs, f, "user.x", "two", 3, 0);
		return ret;
	}
	ret = fs_subvol_create(fs, "/src");
	if (ret == 0)
		ret = fs_mkdir(fs, "/src/d", 0755);
	if (ret == 0)
		ret = crash_put(fs, "/src/d/a", 1, 0, 20000);
	if (ret == 0)
		ret = crash_put(fs, "/src/big", 2, 0, 150000);
	if (ret == 0)
		ret = crash_put(fs, "/src/small", 3, 0, 300);
	if (ret == 0)
		ret = fs_link(fs, "/src/d/a", "/src/hard");
	if (ret == 0)
		ret = fs_symlink(fs, "d/a", "/src/sym");
	if (ret == 0 && (ret = fs_lookup(fs, "/src/d/a", 0, &f)) == 0)
		ret = fs_setxattr(fs, f, "user.x", "one", 3, 0);
	return ret;
}

/* Send /snap1 whole and /snap2 against it, into full and incr. */
static int make_streams(void)
{
	struct fs_mkfs_opts o = { NULL, 4096, 0, NULL };
	struct fault_dev *d = fault_dev_new(128ull << 20);
	struct fs_send_opts so = { 0 };
	struct fs_subvol s1, s2;
	struct fs_info *fs;
	uint64_t restarts;
	int ret = d ? fs_mkfs(fault_dev_blk(d), &o) : -ENOMEM;

	if (ret == 0 && (ret = fs_mount(fault_dev_blk(d), 0, &fs)) == 0) {
		ret = sent_tree(fs, 0);
		if (ret == 0)
			ret = fs_subvol_snapshot(fs, "/src", "/snap1",
						 FS_SNAP_RDONLY);
		if (ret == 0)
			ret = sent_tree(fs, 1);
		if (ret == 0)
			ret = fs_subvol_snapshot(fs, "/src", "/snap2",
						 FS_SNAP_RDONLY);
		if (ret == 0)
			ret = sink_send(fs, "/snap1", &full, &restarts);
		if (ret == 0 && (ret = fs_subvol_get(fs, "/snap1", &s1)) == 0)
			ret = fs_subvol_get(fs, "/snap2", &s2);
		so.proto = 2;
		so.parent = s1.id;
		so.write = sink_write;
		so.ctx = &incr;
		incr.len = 0;
		if (ret == 0)
			ret = fs_send(fs, s2.id, "snap2", &so);
		fs_umount(fs);
	}
	fault_dev_free(d);
	return ret;
}

struct reader {
	const struct sink *s;
	size_t pos;
};

/* Hand the stream out in small pieces, as a pipe would. */
static long read_piece(void *ctx, void *buf, size_t len)
{
	struct reader *r = ctx;
	size_t n = r->s->len - r->pos;

	n = n < len ? n : len;
	n = n < 3000 ? n : 3000;
	memcpy(buf, r->s->buf + r->pos, n);
	r->pos += n;
	return (long)n;
}

static void quiet(void *ctx, enum fs_receive_say kind, const char *msg,
		  int err)
{
	(void)ctx;
	(void)kind;
	(void)msg;
	(void)err;
}

static int receive(struct fs_info *fs, const struct sink *s)
{
	struct reader r = { s, 0 };
	struct fs_receive_args a = {
		.dir = "/r", .shown_dir = "/r", .read = read_piece,
		.read_ctx = &r, .max_errors = 1, .say = quiet,
	};

	return fs_receive(fs, &a);
}

static int receive_prepare(struct fs_info *fs)
{
	return fs_mkdir(fs, "/r", 0755);
}

static int receive_run(struct crash_ctx *c)
{
	int ret = crash_done(c, receive(c->fs, &full), 0);

	if (ret == 0)
		ret = crash_done(c, fs_sync(c->fs), 1);
	if (ret == 0)
		ret = crash_done(c, receive(c->fs, &incr), 0);
	return ret;
}

static const struct crash_workload receive_w = {
	"receive", 4096, 128ull << 20, CRASH_PARTIAL, "/r/", receive_prepare,
	receive_run,
};

static void receive_case(const struct crash_plan *p)
{
	if (!full.len)
		CHECK_OK(make_streams());
	crash_workload_run(&receive_w, p);
}

/* make test: a sample of each; make crash: up to all_cuts. */
TEST(crash_ops, files_cut)
{
	static const struct crash_plan p = { FAULT_CUT, 20, 2000, 3, 3 };

	crash_workload_run(&files, &p);
}

TEST(crash_ops, files_reordered)
{
	static const struct crash_plan p = { FAULT_REORDER, 20, 2000, 3, 3 };

	crash_workload_run(&files, &p);
}

TEST(crash_ops, files_torn)
{
	static const struct crash_plan p = { FAULT_TORN, 10, 2000, 2, 3 };

	crash_workload_run(&files, &p);
}

TEST(crash_ops, balance_cut)
{
	static const struct crash_plan p = { FAULT_CUT, 12, 2000, 2, 1 };

	crash_workload_run(&balance_w, &p);
}

TEST(crash_ops, balance_reordered)
{
	static const struct crash_plan p = { FAULT_REORDER, 12, 2000, 2, 2 };

	crash_workload_run(&balance_w, &p);
}

TEST(crash_ops, receive_cut)
{
	static const struct crash_plan p = { FAULT_CUT, 15, 2000, 2, 1 };

	receive_case(&p);
}

TEST(crash_ops, receive_reordered)
{
	static const struct crash_plan p = { FAULT_REORDER, 15, 2000, 2, 3 };

	receive_case(&p);
}
