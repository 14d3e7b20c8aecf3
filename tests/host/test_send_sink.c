/*
 * Helpers of the tests that send beside relocation or dedupe (no tests
 * of its own): see send_sink.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "../../fs/send.h"
#include "send_sink.h"

int sink_write(void *ctx, const void *b, size_t n)
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
	return 0;
}

int sink_send(struct fs_info *fs, const char *path, struct sink *s,
	      uint64_t *restarts)
{
	struct fs_send_opts o = { 0 };
	struct fs_subvol sv;
	const char *name = strrchr(path, '/');
	int ret = fs_subvol_get(fs, path, &sv);

	s->len = 0;
	o.proto = 2;
	o.write = sink_write;
	o.ctx = s;
	if (ret == 0)
		ret = fs_send(fs, sv.id, name ? name + 1 : path, &o);
	*restarts = o.restarts;
	return ret;
}

/* Where the stream's second command starts: past the header (17 bytes)
 * and the SUBVOL command (10 bytes of header and its payload). */
static size_t past_subvol(const struct sink *s)
{
	size_t at = 17 + 10;

	if (s->len < at)
		return s->len;
	at += (size_t)s->buf[17] | (size_t)s->buf[18] << 8 |
	      (size_t)s->buf[19] << 16 | (size_t)s->buf[20] << 24;
	return at < s->len ? at : s->len;
}

int sink_streams_differ(const struct sink *a, const struct sink *b)
{
	size_t x = past_subvol(a), y = past_subvol(b);

	return a->len - x != b->len - y ||
	       memcmp(a->buf + x, b->buf + y, a->len - x);
}

/* The stream as receive's input. */
struct sink_reader {
	const struct sink *s;
	size_t at;
};

static long sink_read(void *ctx, void *buf, size_t len)
{
	struct sink_reader *r = ctx;
	size_t n = r->s->len - r->at < len ? r->s->len - r->at : len;

	memcpy(buf, r->s->buf + r->at, n);
	r->at += n;
	return (long)n;
}

static void quiet(void *ctx, enum fs_receive_say kind, const char *msg,
		  int err)
{
	(void)ctx;
	if (kind == FS_RECEIVE_ERROR)
		fprintf(stderr, "receive: %s (%d)\n", msg, err);
}

/* A directory's entries, gathered before any is looked into. */
struct entries {
	char (*name)[256];
	struct fs_ino *ino;
	unsigned n, cap;
};

static int gather(void *ctx, const char *name, size_t len, struct fs_ino ino,
		  unsigned type)
{
	struct entries *e = ctx;

	(void)type;
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 64;
		e->name = realloc(e->name, e->cap * sizeof(*e->name));
		e->ino = realloc(e->ino, e->cap * sizeof(*e->ino));
		if (!e->name || !e->ino)
			return -ENOMEM;
	}
	if (len > 255)
		return -ENAMETOOLONG;
	memcpy(e->name[e->n], name, len + 1);
	e->ino[e->n++] = ino;
	return 0;
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ull;
	return h;
}

/* An order-free digest of inode ino: its mode and size, its bytes, its
 * target or, for a directory, the sum of its entries' digests (each
 * mixed with the entry's name). */
static int digest(struct fs_info *fs, struct fs_ino ino, uint64_t *out)
{
	static char buf[65536];
	struct entries e = { 0 };
	struct fs_stat st;
	uint64_t h, off = 0, sum = 0;
	size_t done;
	unsigned i;
	int ret = fs_stat(fs, ino, &st);

	if (ret)
		return ret;
	h = mix(0xcbf29ce484222325ull, &st.mode, sizeof(st.mode));
	h = mix(h, &st.size, sizeof(st.size));
	if ((st.mode & 0170000) == 0040000) {
		ret = fs_readdir(fs, ino, gather, &e);
		for (i = 0; i < e.n && ret == 0; i++) {
			uint64_t d;

			ret = digest(fs, e.ino[i], &d);
			sum += mix(d, e.name[i], strlen(e.name[i]));
		}
		h = mix(h, &sum, sizeof(sum));
	} else if ((st.mode & 0170000) == 0120000) {
		ret = fs_readlink(fs, ino, buf, sizeof(buf), &done);
		h = mix(h, buf, ret ? 0 : done);
	} else if ((st.mode & 0170000) == 0100000) {
		while (off < st.size && ret == 0) {
			ret = fs_read(fs, ino, off, buf, sizeof(buf), &done);
			if (ret == 0 && done == 0)
				ret = -EIO;
			h = mix(h, buf, ret ? 0 : done);
			off += done;
		}
	}
	free(e.name);
	free(e.ino);
	*out = h;
	return ret;
}

int sink_trees_differ(struct fs_info *fs, const char *a, const char *b)
{
	struct fs_ino ia, ib;
	uint64_t da, db;
	int ret = fs_lookup(fs, a, 0, &ia);

	ret = ret ? ret : fs_lookup(fs, b, 0, &ib);
	ret = ret ? ret : digest(fs, ia, &da);
	ret = ret ? ret : digest(fs, ib, &db);
	return ret ? ret : da != db;
}

int sink_receive(struct fs_info *fs, const struct sink *s, const char *dir,
		 int force_decompress)
{
	struct sink_reader r = { s, 0 };
	struct fs_receive_args a = { .dir = dir, .shown_dir = dir,
				     .read = sink_read, .read_ctx = &r,
				     .force_decompress = force_decompress,
				     .say = quiet };
	int ret = fs_mkdir(fs, dir, 0755);

	if (ret && ret != -EEXIST)
		return ret;
	return fs_receive(fs, &a);
}

int sink_received_differs(struct fs_info *fs, const struct sink *s,
			  const char *dir, const char *orig)
{
	const char *name = strrchr(orig, '/');
	char path[512];
	int ret = sink_receive(fs, s, dir, 0);

	snprintf(path, sizeof(path), "%s/%s", dir, name ? name + 1 : orig);
	return ret ? ret : sink_trees_differ(fs, orig, path);
}
