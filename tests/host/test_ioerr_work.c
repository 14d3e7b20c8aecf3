/*
 * The workloads of the injected I/O error tests (test_ioerr.h), and the
 * filesystem calls that keep their model. Each workload is short (tens
 * of calls, a few hundred I/Os) so that an error can be injected at
 * every one of its I/Os in the long campaign; each ends with a sync.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ghee/task.h>

#include "send_sink.h"
#include "test_ioerr.h"

/* ---- the model ---------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ull;
	return h;
}

uint64_t m_state(const struct ment *t)
{
	uint64_t h;

	if (!t->exists)
		return 0;
	if (t->type == 'd')
		return 1;
	h = fnv(0xcbf29ce484222325ull, t->data, t->len);
	h = fnv(h, &t->len, sizeof(t->len));
	h = fnv(h, &t->xlen, sizeof(t->xlen));
	if (t->xlen > 0)
		h = fnv(h, t->x, (size_t)t->xlen);
	return h | 2;
}

struct ment *m_find(struct model *m, const char *path)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (!strcmp(m->e[i].path, path))
			return &m->e[i];
	return NULL;
}

/* The entry of path, made (absent) when there is none. */
static struct ment *m_get(struct model *m, const char *path, char type)
{
	struct ment *t = m_find(m, path);

	if (t)
		return t;
	if (m->n == IOERR_ENTS)
		return NULL;
	t = &m->e[m->n++];
	snprintf(t->path, sizeof(t->path), "%s", path);
	t->type = type;
	t->exists = 0;
	t->len = 0;
	t->xlen = -1;
	t->ver[0] = 0;
	t->nver = 1;
	t->unsure = 0;
	return t;
}

/* Record t's new state. */
static void changed(struct ment *t)
{
	if (t->nver < IOERR_VERS)
		t->ver[t->nver++] = m_state(t);
	else
		t->unsure = 1;
}

/* Whether path is p or below it. */
static int under(const char *path, const char *p)
{
	size_t n = strlen(p);

	return !strncmp(path, p, n) && (!path[n] || path[n] == '/');
}

int m_failed(struct model *m, int ret, const char *path)
{
	int i;

	if (!m_find(m, path))
		m_get(m, path, 'f');
	for (i = 0; i < m->n; i++)
		if (under(m->e[i].path, path))
			m->e[i].unsure = 1;
	return ret;
}

void m_fill(uint8_t *buf, uint64_t seed, uint64_t off, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t x = (seed << 32) ^ ((off + i) / 8) ^ 0x5bd1e995ull;

		x *= 0xBF58476D1CE4E5B9ull;
		x ^= x >> 29;
		buf[i] = (uint8_t)(x >> (8 * ((off + i) % 8)));
	}
}

void m_copy_tree(struct model *m, const char *src, const char *dst)
{
	char p[IOERR_PATH];
	int i, n = m->n;
	struct ment *t;

	for (i = 0; i < n; i++) {
		if (!m->e[i].exists || !under(m->e[i].path, src))
			continue;
		snprintf(p, sizeof(p), "%s%s", dst,
			 m->e[i].path + strlen(src));
		t = m_get(m, p, m->e[i].type);
		if (!t)
			continue;
		t->exists = 1;
		t->len = m->e[i].len;
		memcpy(t->data, m->e[i].data, t->len);
		t->xlen = m->e[i].xlen;
		memcpy(t->x, m->e[i].x, sizeof(t->x));
		t->unsure |= m->e[i].unsure;
		changed(t);
	}
}

/* ---- calls that keep the model ------------------------------------------ */

static int make(struct env *e, const char *path, char type, int ret)
{
	struct ment *t;

	if (ret)
		return m_failed(e->m, ret, path);
	t = m_get(e->m, path, type);
	if (!t)
		return -ENOSPC;
	t->exists = 1;
	t->len = 0;
	t->xlen = -1;
	changed(t);
	return 0;
}

int w_create(struct env *e, const char *path)
{
	struct fs_ino ino;

	return make(e, path, 'f', fs_create(e->fs, path, 0644, &ino));
}

int w_mkdir(struct env *e, const char *path)
{
	return make(e, path, 'd', fs_mkdir(e->fs, path, 0755));
}

int w_subvol_create(struct env *e, const char *path)
{
	return make(e, path, 'd', fs_subvol_create(e->fs, path));
}

int w_write(struct env *e, const char *path, uint64_t off, size_t len,
	    uint64_t seed)
{
	static uint8_t buf[IOERR_FILE];
	struct ment *t = m_find(e->m, path);
	struct fs_ino ino;
	int ret;

	if (!t || off + len > IOERR_FILE)
		return -EINVAL;
	m_fill(buf, seed, off, len);
	ret = fs_lookup(e->fs, path, 0, &ino);
	if (ret == 0)
		ret = fs_write(e->fs, ino, off, buf, len);
	if (ret)
		return m_failed(e->m, ret, path);
	if (off > t->len)
		memset(t->data + t->len, 0, off - t->len);
	memcpy(t->data + off, buf, len);
	t->len = off + len > t->len ? off + len : t->len;
	changed(t);
	return 0;
}

int w_truncate(struct env *e, const char *path, uint64_t size)
{
	struct ment *t = m_find(e->m, path);
	struct fs_ino ino;
	int ret;

	if (!t || size > IOERR_FILE)
		return -EINVAL;
	ret = fs_lookup(e->fs, path, 0, &ino);
	if (ret == 0)
		ret = fs_truncate(e->fs, ino, size);
	if (ret)
		return m_failed(e->m, ret, path);
	if (size > t->len)
		memset(t->data + t->len, 0, size - t->len);
	t->len = size;
	changed(t);
	return 0;
}

static int gone(struct env *e, const char *path, int ret)
{
	struct ment *t = m_find(e->m, path);
	int i;

	if (ret)
		return m_failed(e->m, ret, path);
	for (i = 0; i < e->m->n; i++) {
		t = &e->m->e[i];
		if (t->exists && under(t->path, path)) {
			t->exists = 0;
			changed(t);
		}
	}
	return 0;
}

int w_unlink(struct env *e, const char *path)
{
	return gone(e, path, fs_unlink(e->fs, path));
}

int w_rmdir(struct env *e, const char *path)
{
	return gone(e, path, fs_rmdir(e->fs, path));
}

int w_subvol_delete(struct env *e, const char *path)
{
	return gone(e, path, fs_subvol_delete(e->fs, path, 0));
}

int w_rename(struct env *e, const char *from, const char *to)
{
	int ret = fs_rename(e->fs, from, to);

	if (ret) {
		m_failed(e->m, ret, to);
		return m_failed(e->m, ret, from);
	}
	gone(e, to, 0);
	m_copy_tree(e->m, from, to);
	return gone(e, from, 0);
}

int w_link(struct env *e, const char *existing, const char *path)
{
	int ret = fs_link(e->fs, existing, path);

	if (ret)
		return m_failed(e->m, ret, path);
	m_copy_tree(e->m, existing, path);
	return 0;
}

int w_sync(struct env *e)
{
	int ret = fs_sync(e->fs), i;

	if (ret)
		return ret;
	for (i = 0; i < e->m->n; i++) {
		e->m->e[i].ver[0] = m_state(&e->m->e[i]);
		e->m->e[i].nver = 1;
	}
	return 0;
}

int w_setx(struct env *e, const char *path, const char *value)
{
	struct ment *t = m_find(e->m, path);
	size_t n = strlen(value);
	struct fs_ino ino;
	int ret;

	if (!t || n > IOERR_XMAX)
		return -EINVAL;
	ret = fs_lookup(e->fs, path, 0, &ino);
	if (ret == 0)
		ret = fs_setxattr(e->fs, ino, "user.t", value, n, 0);
	if (ret)
		return m_failed(e->m, ret, path);
	memcpy(t->x, value, n);
	t->xlen = (int)n;
	changed(t);
	return 0;
}

int w_rmx(struct env *e, const char *path)
{
	struct ment *t = m_find(e->m, path);
	struct fs_ino ino;
	int ret;

	if (!t)
		return -EINVAL;
	ret = fs_lookup(e->fs, path, 0, &ino);
	if (ret == 0)
		ret = fs_removexattr(e->fs, ino, "user.t");
	if (ret)
		return m_failed(e->m, ret, path);
	t->xlen = -1;
	changed(t);
	return 0;
}

int w_snapshot(struct env *e, const char *src, const char *dst, int ro)
{
	int ret = fs_subvol_snapshot(e->fs, src, dst,
				     ro ? FS_SNAP_RDONLY : 0);

	if (ret)
		return m_failed(e->m, ret, dst);
	m_copy_tree(e->m, src, dst);
	return 0;
}

/* Look up the inodes of src and dst. */
static int two_inodes(struct env *e, const char *src, const char *dst,
		      struct fs_ino *s, struct fs_ino *d)
{
	int ret = fs_lookup(e->fs, src, 0, s);

	return ret ? ret : fs_lookup(e->fs, dst, 0, d);
}

int w_clone(struct env *e, const char *src, uint64_t soff, uint64_t len,
	    const char *dst, uint64_t doff)
{
	struct ment *s = m_find(e->m, src), *d = m_find(e->m, dst);
	struct fs_ino si, di;
	int ret;

	if (!s || !d || soff + len > s->len || doff + len > IOERR_FILE)
		return -EINVAL;
	ret = two_inodes(e, src, dst, &si, &di);
	if (ret == 0)
		ret = fs_clone_range(e->fs, si, soff, len, di, doff);
	if (ret)
		return m_failed(e->m, ret, dst);
	if (doff > d->len)
		memset(d->data + d->len, 0, doff - d->len);
	memmove(d->data + doff, s->data + soff, len);
	d->len = doff + len > d->len ? doff + len : d->len;
	changed(d);
	return 0;
}

/* A dedupe changes no byte, failed or not. */
int w_dedupe(struct env *e, const char *src, uint64_t soff, uint64_t len,
	     const char *dst, uint64_t doff)
{
	struct fs_ino si, di;
	int ret = two_inodes(e, src, dst, &si, &di);

	return ret ? ret : fs_dedupe_range(e->fs, si, soff, len, di, doff);
}

/* ---- the workloads ------------------------------------------------------ */

#define TRY(call)                                                          \
	do {                                                               \
		int ret_ = (call);                                         \
		if (ret_)                                                  \
			return ret_;                                       \
	} while (0)

/* A few files with data, synced: what most workloads start from. */
static int base_files(struct env *e)
{
	TRY(w_mkdir(e, "/d"));
	TRY(w_create(e, "/d/a"));
	TRY(w_write(e, "/d/a", 0, 20000, 1));
	TRY(w_create(e, "/d/b"));
	TRY(w_write(e, "/d/b", 0, 3000, 2));
	TRY(w_create(e, "/c"));
	TRY(w_write(e, "/c", 0, 40000, 3));
	return w_sync(e);
}

static int ns_run(struct env *e)
{
	int ret;

	TRY(w_mkdir(e, "/n"));
	TRY(w_create(e, "/n/x"));
	TRY(w_create(e, "/n/y"));
	TRY(w_mkdir(e, "/n/sub"));
	TRY(w_rename(e, "/d/b", "/n/sub/b2"));
	TRY(w_link(e, "/c", "/n/c-link"));
	TRY(w_sync(e));
	TRY(w_unlink(e, "/n/x"));
	TRY(w_rename(e, "/n/y", "/n/sub/b2"));
	ret = fs_rmdir(e->fs, "/n/sub");	/* not empty: refused */
	if (ret != -ENOTEMPTY)
		return m_failed(e->m, ret ? ret : -EINVAL, "/n/sub");
	TRY(w_unlink(e, "/n/sub/b2"));
	TRY(w_rmdir(e, "/n/sub"));
	TRY(w_mkdir(e, "/n/z"));
	TRY(w_rename(e, "/n/z", "/z"));
	return w_sync(e);
}

const struct workload ioerr_namespace = {
	.name = "namespace", .setup = base_files, .run = ns_run };

static int data_run(struct env *e)
{
	TRY(w_write(e, "/d/a", 4096, 8192, 10));
	TRY(w_write(e, "/c", 100, 30000, 11));
	TRY(w_create(e, "/new"));
	TRY(w_write(e, "/new", 0, 45000, 12));
	TRY(w_truncate(e, "/d/a", 6000));
	TRY(w_sync(e));
	TRY(w_write(e, "/d/b", 2000, 9000, 13));
	TRY(w_truncate(e, "/c", 45000));
	TRY(w_write(e, "/new", 40000, 8000, 14));
	return w_sync(e);
}

const struct workload ioerr_data = {
	.name = "data", .setup = base_files, .run = data_run };

/* Many small changes, each synced: commits are most of the I/O. */
static int commit_run(struct env *e)
{
	int i;

	for (i = 0; i < 6; i++) {
		TRY(w_write(e, "/d/a", (uint64_t)i * 3000, 100, 20 + i));
		TRY(w_sync(e));
	}
	return 0;
}

const struct workload ioerr_commit = {
	.name = "commit", .setup = base_files, .run = commit_run };

static int subvol_setup(struct env *e)
{
	TRY(w_subvol_create(e, "/sv"));
	TRY(w_create(e, "/sv/f"));
	TRY(w_write(e, "/sv/f", 0, 30000, 30));
	TRY(w_create(e, "/sv/g"));
	TRY(w_write(e, "/sv/g", 0, 9000, 31));
	return w_sync(e);
}

static int snapshot_run(struct env *e)
{
	TRY(w_snapshot(e, "/sv", "/snap1", 0));
	TRY(w_write(e, "/sv/f", 0, 5000, 32));
	TRY(w_snapshot(e, "/sv", "/snap2", 1));
	TRY(w_sync(e));
	TRY(w_write(e, "/snap1/g", 100, 100, 33));
	TRY(w_subvol_delete(e, "/snap1"));
	TRY(w_sync(e));
	TRY(fs_subvol_sync(e->fs));	/* the cleaner drops it */
	return w_sync(e);
}

const struct workload ioerr_snapshot = {
	.name = "snapshot", .setup = subvol_setup, .run = snapshot_run };

static int reflink_run(struct env *e)
{
	TRY(w_create(e, "/r"));
	TRY(w_clone(e, "/c", 0, 16384, "/r", 0));
	TRY(w_clone(e, "/d/a", 4096, 8192, "/r", 16384));
	TRY(w_sync(e));
	TRY(w_write(e, "/c", 0, 4096, 40));
	TRY(w_clone(e, "/r", 0, 4096, "/d/a", 8192));
	return w_sync(e);
}

const struct workload ioerr_reflink = {
	.name = "reflink", .setup = base_files, .run = reflink_run };

static int xattr_run(struct env *e)
{
	TRY(w_setx(e, "/d/a", "first value"));
	TRY(w_setx(e, "/c", "another"));
	TRY(w_setx(e, "/d", "on a directory"));
	TRY(w_sync(e));
	TRY(w_setx(e, "/d/a", "replaced, and longer than before"));
	TRY(w_rmx(e, "/c"));
	return w_sync(e);
}

const struct workload ioerr_xattr = {
	.name = "xattr", .setup = base_files, .run = xattr_run };

static int qgroup_setup(struct env *e)
{
	TRY(fs_quota_enable(e->fs));
	return subvol_setup(e);
}

static int qgroup_run(struct env *e)
{
	TRY(w_write(e, "/sv/f", 0, 20000, 50));
	TRY(w_snapshot(e, "/sv", "/qs", 0));
	TRY(w_write(e, "/qs/g", 0, 4096, 51));
	TRY(w_sync(e));
	TRY(w_subvol_delete(e, "/qs"));
	TRY(w_sync(e));
	TRY(fs_subvol_sync(e->fs));
	return w_sync(e);
}

const struct workload ioerr_qgroup = {
	.name = "qgroup", .setup = qgroup_setup, .run = qgroup_run };

/* Quotas enabled on a filesystem with data: the rescan task counts it. */
static int quota_enable_run(struct env *e)
{
	TRY(fs_quota_enable(e->fs));
	TRY(fs_quota_rescan_wait(e->fs));
	TRY(w_write(e, "/sv/g", 0, 12000, 52));
	TRY(w_sync(e));
	TRY(fs_quota_disable(e->fs));
	return w_sync(e);
}

const struct workload ioerr_quota_enable = {
	.name = "quota_enable", .setup = subvol_setup,
	.run = quota_enable_run };

/* The stream of a read-only snapshot of /sv, made by setup. */
static struct sink stream;

static long read_stream(void *ctx, void *buf, size_t len)
{
	size_t *pos = ctx;

	if (len > stream.len - *pos)
		len = stream.len - *pos;
	memcpy(buf, stream.buf + *pos, len);
	*pos += len;
	return (long)len;
}

static void say(void *ctx, enum fs_receive_say kind, const char *msg,
		int err)
{
	(void)ctx;
	if (kind == FS_RECEIVE_ERROR)
		printf("# receive: %s (%d)\n", msg, err);
}

static int receive_setup(struct env *e)
{
	uint64_t restarts;

	TRY(subvol_setup(e));
	TRY(w_snapshot(e, "/sv", "/sent", 1));
	TRY(w_sync(e));
	TRY(sink_send(e->fs, "/sent", &stream, &restarts));
	return w_mkdir(e, "/in");
}

static int receive_run(struct env *e)
{
	size_t pos = 0;
	struct fs_receive_args a = {
		.dir = "/in", .shown_dir = "/in", .read = read_stream,
		.read_ctx = &pos, .max_errors = 1, .say = say,
	};
	int ret = fs_receive(e->fs, &a);

	if (ret)
		return m_failed(e->m, ret, "/in/sent");
	m_copy_tree(e->m, "/sent", "/in/sent");
	return w_sync(e);
}

const struct workload ioerr_receive = {
	.name = "receive", .setup = receive_setup, .run = receive_run };

/* Send reads every byte of a snapshot: a run must give the stream the
 * setup's send gave, or fail. */
static struct sink sent_ok;

static int send_setup(struct env *e)
{
	uint64_t restarts;

	TRY(receive_setup(e));
	return sink_send(e->fs, "/sent", &sent_ok, &restarts);
}

static int send_run(struct env *e)
{
	static struct sink s;
	uint64_t restarts;

	TRY(sink_send(e->fs, "/sent", &s, &restarts));
	if (sink_streams_differ(&s, &sent_ok)) {
		printf("# send: the stream differs from the one sent without "
		       "errors\n");
		return -EBADMSG;
	}
	TRY(w_write(e, "/sv/f", 0, 100, 80));
	return w_sync(e);
}

const struct workload ioerr_send = {
	.name = "send", .setup = send_setup, .run = send_run };

static int balance_run(struct env *e)
{
	struct fs_balance b;

	memset(&b, 0, sizeof(b));
	b.types = 7;
	TRY(fs_balance_start(e->fs, &b, 0));
	TRY(w_write(e, "/c", 8192, 4096, 60));
	return w_sync(e);
}

const struct workload ioerr_balance = {
	.name = "balance", .setup = base_files, .run = balance_run };

static int dedupe_setup(struct env *e)
{
	TRY(base_files(e));
	TRY(w_create(e, "/same"));
	TRY(w_write(e, "/same", 0, 40000, 3));	/* /c's bytes */
	return w_sync(e);
}

static int dedupe_run(struct env *e)
{
	TRY(w_dedupe(e, "/c", 0, 32768, "/same", 0));
	TRY(w_sync(e));
	TRY(w_dedupe(e, "/c", 32768, 4096, "/same", 32768));
	return w_sync(e);
}

const struct workload ioerr_dedupe = {
	.name = "dedupe", .setup = dedupe_setup, .run = dedupe_run };

static int fsck_run(struct env *e)
{
	struct fs_check_report rep;

	return fs_check(e->fs, &rep);
}

const struct workload ioerr_fsck = {
	.name = "fsck", .setup = subvol_setup, .run = fsck_run };

static int mount_run(struct env *e)
{
	TRY(fs_mount(fault_dev_blk(e->dev), 0, &e->fs));
	ioerr_cold_cache(e->fs);
	TRY(w_create(e, "/after-mount"));
	TRY(w_write(e, "/after-mount", 0, 5000, 70));
	return w_sync(e);
}

const struct workload ioerr_mount = {
	.name = "mount", .setup = subvol_setup, .run = mount_run,
	.mounts = 1 };

/* The same with metadata SINGLE: a read error at mount has no second
 * copy to fall back on. */
const struct workload ioerr_mount_single = {
	.name = "mount_single", .setup = subvol_setup, .run = mount_run,
	.mounts = 1, .metadata_single = 1 };

/* 4 KiB nodes and a hundred files: trees of a few levels, so that
 * changes read blocks while they copy paths. */
static int deep_setup(struct env *e)
{
	char p[IOERR_PATH];
	int d, i;

	for (d = 0; d < 4; d++) {
		snprintf(p, sizeof(p), "/t%d", d);
		TRY(w_mkdir(e, p));
		for (i = 0; i < 30; i++) {
			snprintf(p, sizeof(p), "/t%d/file-with-a-long-name-%d",
				 d, i);
			TRY(w_create(e, p));
			TRY(w_write(e, p, 0, 200 + 500 * (i % 12),
				    (uint64_t)(d * 100 + i)));
		}
	}
	return w_sync(e);
}

static int deep_run(struct env *e)
{
	char a[IOERR_PATH], b[IOERR_PATH];
	int i;

	for (i = 0; i < 8; i++) {
		snprintf(a, sizeof(a), "/t%d/file-with-a-long-name-%d", i % 4,
			 i * 3);
		snprintf(b, sizeof(b), "/t%d/moved-%d", (i + 1) % 4, i);
		TRY(w_rename(e, a, b));
		snprintf(a, sizeof(a), "/t%d/file-with-a-long-name-%d",
			 (i + 2) % 4, i * 3 + 1);
		TRY(w_unlink(e, a));
		snprintf(a, sizeof(a), "/t%d/new-%d", (i + 3) % 4, i);
		TRY(w_create(e, a));
		TRY(w_write(e, a, 0, 9000, (uint64_t)(500 + i)));
		if (i % 3 == 2)
			TRY(w_sync(e));
	}
	return w_sync(e);
}

const struct workload ioerr_deep = {
	.name = "deep", .setup = deep_setup, .run = deep_run,
	.nodesize = 4096 };

/* The same with metadata SINGLE: a read error has no second copy. */
const struct workload ioerr_deep_single = {
	.name = "deep_single", .setup = deep_setup, .run = deep_run,
	.nodesize = 4096, .metadata_single = 1 };

/* Commit beside the writer until stopped: the first error, or 0. */
static int committer(void *arg)
{
	struct fs_info *fs = arg;
	int ret = 0;

	while (!task_should_stop() && ret == 0)
		ret = fs_sync(fs);
	return ret;
}

/* Writes and names changed while another task commits: errors reach
 * both, in any order. Its commits are not the model's syncs, so the
 * model allows every state since the run began. */
static int concurrent_run(struct env *e)
{
	struct task *c = task_create("ioerr-sync", committer, e->fs,
				     TASK_PRIO_BACKGROUND);
	char p[IOERR_PATH];
	int i, ret = 0, cret;

	if (!c)
		return -ENOMEM;
	for (i = 0; i < 10 && ret == 0; i++) {
		snprintf(p, sizeof(p), "/d/w%d", i);
		ret = w_create(e, p);
		if (ret == 0)
			ret = w_write(e, p, 0, 3000 + 1000 * (uint64_t)i,
				      (uint64_t)(90 + i));
		if (ret == 0)
			ret = w_write(e, "/c", (uint64_t)i * 2000, 1500,
				      (uint64_t)(100 + i));
	}
	task_stop(task_id(c));
	cret = task_join(c);
	if (ret == 0)
		ret = cret;
	return ret ? ret : w_sync(e);
}

const struct workload ioerr_concurrent = {
	.name = "concurrent", .setup = base_files, .run = concurrent_run };
