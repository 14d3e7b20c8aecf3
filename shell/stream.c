/*
 * Byte streams for commands (see stream.h). Writes to files and disks go
 * through a buffer of STREAM_BUF bytes, so that a producer of many small
 * pieces (send's commands) makes few large extents and disk requests; a
 * disk is read through the same buffer, a whole number of its blocks at a
 * time. A pipe's end has no buffer of its own: the pipe is one. A stream
 * belongs to one command and is used by one task at a time.
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
#include <ghee/task.h>

#include "../fs/fs.h"
#include "cmd_fs.h"
#include "pipe.h"
#include "stream.h"

#define STREAM_BUF (128 * 1024)	/* one compressed extent's worth */
#define STREAM_NAME_MAX 256

enum stream_kind { STREAM_CONSOLE, STREAM_FILE, STREAM_DISK, STREAM_PIPE };

struct stream {
	enum stream_kind kind;
	int writing;
	char name[STREAM_NAME_MAX];
	struct fs_info *fs;	/* STREAM_FILE */
	struct fs_ino ino;	/* STREAM_FILE */
	struct blkdev *dev;	/* STREAM_DISK */
	struct pipe *pipe;	/* STREAM_PIPE: one end of it */
	uint64_t off;		/* where buf's first byte goes or came from */
	uint8_t *buf;		/* STREAM_BUF bytes, or NULL (console) */
	size_t fill;		/* bytes in buf */
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
	s->fs = cmd_fs_path(cmd, path, &inner);
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
	return 0;
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
	s->writing = mode != STREAM_READ;
	snprintf(s->name, sizeof(s->name), "%s", path);
	ret = !s->buf ? -ENOMEM : dev ? open_disk(s, dev, mode) :
	      open_file(s, cmd, path, mode);
	if (ret) {
		if (s->kind != STREAM_FILE || s->fs)	/* else said */
			con_eprintf("%s: %s: %s\n", cmd, path,
				    cmd_fs_err_text(ret));
		kfree(s->buf);
		kfree(s);
		return ret;
	}
	*out = s;
	return 0;
}

/* Write buf's whole blocks (all of it when last, the tail zero-padded). */
static int flush_buf(struct stream *s, int last)
{
	size_t n = s->fill;
	int ret = 0;

	if (s->kind == STREAM_FILE) {
		ret = n ? fs_write(s->fs, s->ino, s->off, s->buf, n) : 0;
	} else {
		uint32_t bs = s->dev->block_size;

		if (last && n % bs) {
			memset(s->buf + n, 0, bs - n % bs);
			n += bs - n % bs;
		}
		n -= n % bs;
		if (s->off + n > s->dev->size)
			ret = -ENOSPC;
		else if (n)
			ret = blk_write(s->dev, s->off, s->buf, n);
		if (!ret && last)
			ret = blk_flush(s->dev);
	}
	if (ret)
		return ret;
	s->off += n;
	memmove(s->buf, s->buf + n, s->fill > n ? s->fill - n : 0);
	s->fill = s->fill > n ? s->fill - n : 0;
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
		size_t n = STREAM_BUF - s->fill;

		if (n > len)
			n = len;
		memcpy(s->buf + s->fill, p, n);
		s->fill += n;
		p += n;
		len -= n;
		if (s->fill == STREAM_BUF)
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
	kfree(s->buf);
	kfree(s);
	return ret;
}
