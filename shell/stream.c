/*
 * Byte streams for commands (see stream.h). Writes to files go through a
 * buffer of STREAM_BUF bytes, so that a producer of many small pieces
 * (send's commands) makes few large extents; a disk is read through the
 * same buffer, a whole number of its blocks at a time. A disk is written
 * through a ring of STREAM_DISK_WRITES buffers of STREAM_DISK_BUF bytes:
 * a full buffer is submitted and the producer goes on filling the next
 * one, waiting only when that one's earlier write has not ended, so the
 * producer's own work (send's reads and checksums) overlaps several disk
 * writes. A write's error is seen when its buffer comes round again or
 * at the end; the end waits for every write before the flush (and before
 * the buffers are freed, even after an error). A pipe's end has no
 * buffer of its own: the pipe is one. A stream belongs to one command
 * and is used by one task at a time.
 *
 * A task's standard input and output are a struct stream_stdio that the
 * shell attaches as the task's console output (con_set_output): its con
 * member is what the task's con_write calls, and stream_stdin/stdout find
 * the struct from it. Nothing else sets a task's console output.
 */
#include <ghee/errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/blk.h>
#include <ghee/console.h>
#include <ghee/sync.h>
#include <ghee/task.h>

#include "../fs/fs.h"
#include "cmd_fs.h"
#include "pipe.h"
#include "stream.h"

#define STREAM_BUF (128 * 1024)	/* one compressed extent's worth */
#define STREAM_DISK_BUF (1024 * 1024)	/* one disk write */
#define STREAM_DISK_WRITES 4		/* disk writes in flight at most */
#define STREAM_NAME_MAX 256

enum stream_kind { STREAM_CONSOLE, STREAM_FILE, STREAM_DISK, STREAM_PIPE };

/* One buffer of a written disk's ring and its write. */
struct disk_write {
	uint8_t *buf;		/* STREAM_DISK_BUF bytes */
	struct bio bio;
	struct bio_vec vec;
	struct completion done;
	int busy;		/* submitted, not yet waited for */
};

struct stream {
	enum stream_kind kind;
	int writing;
	char name[STREAM_NAME_MAX];
	struct fs_info *fs;	/* STREAM_FILE */
	struct fs_ino ino;	/* STREAM_FILE */
	struct blkdev *dev;	/* STREAM_DISK */
	struct pipe *pipe;	/* STREAM_PIPE: one end of it */
	uint64_t off;		/* where buf's first byte goes or came from */
	uint8_t *buf;		/* cap bytes, or NULL (console) */
	size_t cap;		/* STREAM_BUF, or STREAM_DISK_BUF (ring) */
	size_t fill;		/* bytes in buf */
	struct disk_write *ring;	/* a written disk's buffers, buf
					 * being ring[next].buf; else NULL */
	int next;		/* the ring's buffer being filled */
	size_t pos;		/* reading: bytes of buf already given out */
	int err;		/* first write error, reported at close */
};

static struct stream con_in = { .kind = STREAM_CONSOLE, .name = "stdin" };
static struct stream con_out = { .kind = STREAM_CONSOLE, .writing = 1,
				  .name = "stdout" };

/* The calling task's stdio, or NULL (the console for both). */
static struct stream_stdio *task_stdio(void)
{
	struct con_output *o = con_get_output();

	return o ? (struct stream_stdio *)((char *)o -
		offsetof(struct stream_stdio, con)) : NULL;
}

struct stream *stream_stdin(void)
{
	struct stream_stdio *io = task_stdio();

	return io && io->in ? io->in : &con_in;
}

struct stream *stream_stdout(void)
{
	struct stream_stdio *io = task_stdio();

	return io && io->out ? io->out : &con_out;
}

/* con_write of a task with a stdio: into its standard output. */
static void stdio_write(struct con_output *o, const char *s, size_t n)
{
	struct stream_stdio *io = (struct stream_stdio *)((char *)o -
		offsetof(struct stream_stdio, con));
	int ret;

	if (!io->out) {
		con_write_console(s, n);
		return;
	}
	if (io->err)
		return;	/* stopped already; the shell reports io->err */
	ret = stream_write(io->out, s, n);
	if (ret) {
		io->err = ret;
		task_stop(task_id(task_current()));
	}
}

void stream_stdio_attach(struct stream_stdio *io, struct stream *in,
			 struct stream *out)
{
	io->con.write = stdio_write;
	io->in = in;
	io->out = out;
	io->err = 0;
	con_set_output(&io->con);
}

void stream_stdio_detach(void)
{
	con_set_output(NULL);
}

int stream_pipe_end(struct pipe *p, enum stream_mode mode,
		    struct stream **out)
{
	struct stream *s = kzalloc(sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->kind = STREAM_PIPE;
	s->pipe = p;
	s->writing = mode != STREAM_READ;
	snprintf(s->name, sizeof(s->name), "%s", "pipe");
	*out = s;
	return 0;
}

int stream_is_console(const struct stream *s)
{
	return s->kind == STREAM_CONSOLE;
}

int stream_stdio_is_pipe(void)
{
	return stream_stdin()->kind == STREAM_PIPE ||
	       stream_stdout()->kind == STREAM_PIPE;
}

const char *stream_name(const struct stream *s)
{
	return s->name;
}

/* A file for mode: looked up, created, or emptied. */
static int open_file(struct stream *s, const char *cmd, const char *path,
		     enum stream_mode mode)
{
	const char *inner;
	struct fs_stat st;
	int ret;

	s->kind = STREAM_FILE;
	s->fs = cmd_fs_path_hold(cmd, path, &inner);
	if (!s->fs)
		return -ENOENT;	/* cmd_fs_path said why */
	if (mode != STREAM_READ && fs_is_read_only(s->fs))
		return -EROFS;	/* said now, not at the first write */
	ret = fs_lookup(s->fs, inner, FS_LOOKUP_FOLLOW, &s->ino);
	if (ret == -ENOENT && mode != STREAM_READ)
		return fs_create(s->fs, inner, 0100644, &s->ino);
	if (ret)
		return ret;
	ret = fs_stat(s->fs, s->ino, &st);
	if (ret)
		return ret;
	if ((st.mode & 0170000) == 0040000)
		return -EISDIR;
	if (mode == STREAM_WRITE)
		return fs_truncate(s->fs, s->ino, 0);
	if (mode == STREAM_APPEND)
		s->off = st.size;
	return 0;
}

static void ring_free(struct stream *s)
{
	int i;

	for (i = 0; s->ring && i < STREAM_DISK_WRITES; i++)
		kfree(s->ring[i].buf);
	kfree(s->ring);
	s->ring = NULL;
}

/* Give a written disk its ring of buffers in place of buf. */
static int ring_alloc(struct stream *s)
{
	int i;

	s->ring = kzalloc(STREAM_DISK_WRITES * sizeof(*s->ring));
	if (!s->ring)
		return -ENOMEM;
	for (i = 0; i < STREAM_DISK_WRITES; i++) {
		s->ring[i].buf = kmalloc(STREAM_DISK_BUF);
		if (!s->ring[i].buf) {
			ring_free(s);
			return -ENOMEM;
		}
	}
	kfree(s->buf);
	s->buf = s->ring[0].buf;
	s->cap = STREAM_DISK_BUF;
	return 0;
}

static int open_disk(struct stream *s, struct blkdev *dev,
		     enum stream_mode mode)
{
	s->kind = STREAM_DISK;
	if (mode == STREAM_APPEND)
		return -EINVAL;	/* a disk has no end to append after */
	if (cmd_fs_by_disk(dev->name))
		return -EBUSY;
	if (mode == STREAM_WRITE && dev->read_only)
		return -EROFS;
	s->dev = dev;
	return mode == STREAM_WRITE ? ring_alloc(s) : 0;
}

int stream_open(const char *cmd, const char *path, enum stream_mode mode,
		struct stream **out)
{
	struct blkdev *dev = strchr(path, '/') ? NULL : blk_lookup(path);
	struct stream *s;
	int ret;

	s = kzalloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->buf = kmalloc(STREAM_BUF);
	s->cap = STREAM_BUF;
	s->writing = mode != STREAM_READ;
	snprintf(s->name, sizeof(s->name), "%s", path);
	ret = !s->buf ? -ENOMEM : dev ? open_disk(s, dev, mode) :
	      open_file(s, cmd, path, mode);
	if (ret) {
		if (s->kind != STREAM_FILE || s->fs)	/* else said */
			con_eprintf("%s: %s: %s\n", cmd, path,
				    cmd_fs_err_text(ret));
		if (s->kind == STREAM_FILE && s->fs)
			cmd_fs_release(s->fs);
		if (!s->ring)
			kfree(s->buf);
		ring_free(s);
		kfree(s);
		return ret;
	}
	*out = s;
	return 0;
}

static void disk_write_end(struct bio *bio)
{
	complete(bio->private);
}

/* Wait for w's write, if one is in flight; its status. */
static int disk_write_wait(struct disk_write *w)
{
	if (!w->busy)
		return 0;
	wait_for_completion(&w->done);
	w->busy = 0;
	return w->bio.status;
}

/* Wait for every write of the ring; the first error. */
static int disk_wait_all(struct stream *s)
{
	int i, ret = 0, r;

	for (i = 0; i < STREAM_DISK_WRITES; i++) {
		r = disk_write_wait(&s->ring[i]);
		ret = ret ? ret : r;
	}
	return ret;
}

/* Start writing buf's n bytes (whole blocks) at s->off, and make buf the
 * next buffer of the ring once its earlier write has ended. */
static int disk_write_start(struct stream *s, size_t n)
{
	struct disk_write *w = &s->ring[s->next];
	int ret;

	memset(&w->bio, 0, sizeof(w->bio));
	w->vec.base = w->buf;
	w->vec.len = (uint32_t)n;
	w->bio.dev = s->dev;
	w->bio.op = BLK_OP_WRITE;
	w->bio.off = s->off;
	w->bio.len = n;
	w->bio.vecs = &w->vec;
	w->bio.nr_vecs = 1;
	w->bio.end_io = disk_write_end;
	w->bio.private = &w->done;
	completion_init(&w->done);
	ret = blk_submit(&w->bio);
	if (ret)
		return ret;
	w->busy = 1;
	s->next = (s->next + 1) % STREAM_DISK_WRITES;
	s->buf = s->ring[s->next].buf;
	return disk_write_wait(&s->ring[s->next]);
}

/* Write a disk's buffer (called full, or last: its tail zero-padded to
 * a block); when last, wait for every write and flush. */
static int flush_disk(struct stream *s, int last)
{
	uint32_t bs = s->dev->block_size;
	size_t n = s->fill;
	int ret = 0;

	if (n % bs) {
		memset(s->buf + n, 0, bs - n % bs);
		n += bs - n % bs;
	}
	if (s->off + n > s->dev->size)
		return -ENOSPC;
	if (n)
		ret = disk_write_start(s, n);
	if (ret)
		return ret;
	s->off += n;
	s->fill = 0;
	ret = last ? disk_wait_all(s) : 0;
	return ret || !last ? ret : blk_flush(s->dev);
}

/* Write buf (all of it when last). */
static int flush_buf(struct stream *s, int last)
{
	size_t n = s->fill;
	int ret;

	if (s->kind == STREAM_DISK)
		return flush_disk(s, last);
	ret = n ? fs_write(s->fs, s->ino, s->off, s->buf, n) : 0;
	if (ret)
		return ret;
	s->off += n;
	s->fill = 0;
	return 0;
}

int stream_write(struct stream *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!s->writing)
		return -EBADF;
	if (s->kind == STREAM_CONSOLE) {
		con_write_console(buf, len);
		return 0;
	}
	if (s->kind == STREAM_PIPE)
		return pipe_write(s->pipe, buf, len);
	while (len && !s->err) {
		size_t n = s->cap - s->fill;

		if (n > len)
			n = len;
		memcpy(s->buf + s->fill, p, n);
		s->fill += n;
		p += n;
		len -= n;
		if (s->fill == s->cap)
			s->err = flush_buf(s, 0);
	}
	return s->err;
}

/* Refill buf from s->off on; sets fill (0 at the end). */
static int fill_buf(struct stream *s)
{
	size_t n = STREAM_BUF;
	int ret;

	s->pos = 0;
	s->fill = 0;
	if (s->kind == STREAM_FILE) {
		ret = fs_read(s->fs, s->ino, s->off, s->buf, n, &s->fill);
	} else {
		if (s->off >= s->dev->size)
			return 0;
		if (n > s->dev->size - s->off)
			n = s->dev->size - s->off;
		ret = blk_read(s->dev, s->off, s->buf, n);
		if (!ret)
			s->fill = n;
	}
	s->off += s->fill;
	return ret;
}

long stream_read(struct stream *s, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;
	int ret;

	if (s->writing)
		return -EBADF;
	if (s->kind == STREAM_CONSOLE)
		return -ENOTTY;	/* no raw input from a terminal */
	while (s->kind == STREAM_PIPE && got < len) {
		long n = pipe_read(s->pipe, p + got, len - got);

		if (n <= 0)
			return n < 0 ? n : (long)got;
		got += n;
	}
	while (got < len) {
		size_t n;

		if (s->pos == s->fill) {
			ret = fill_buf(s);
			if (ret)
				return ret;
			if (!s->fill)
				break;
		}
		n = s->fill - s->pos;
		if (n > len - got)
			n = len - got;
		memcpy(p + got, s->buf + s->pos, n);
		s->pos += n;
		got += n;
	}
	return (long)got;
}

int stream_close(struct stream *s)
{
	return stream_end(s, 0);
}

int stream_end(struct stream *s, int status)
{
	int ret = s->err;

	if (s->kind == STREAM_CONSOLE)
		return 0;
	if (s->kind == STREAM_PIPE && s->writing)
		pipe_close_write(s->pipe, status);
	else if (s->kind == STREAM_PIPE)
		pipe_close_read(s->pipe);
	else if (s->writing && !ret)
		ret = flush_buf(s, 1);
	if (s->ring) {
		int r = disk_wait_all(s);	/* the buffers are in use */

		ret = ret ? ret : r;
		ring_free(s);
	} else {
		kfree(s->buf);
	}
	if (s->kind == STREAM_FILE)
		cmd_fs_release(s->fs);	/* flushed: umount may take it */
	kfree(s);
	return ret;
}
