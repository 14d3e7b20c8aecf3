/*
 * Helpers of the tests that send beside relocation or dedupe (no tests
 * of its own): see send_sink.h.
 */
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
