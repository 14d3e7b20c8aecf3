/*
 * Byte streams a command reads or writes whole (shell/stream.c): send's
 * output, receive's input, a redirection's file. One interface over
 *  - a file in a mounted filesystem (any path with a '/', or a relative
 *    path that names no disk; found through the mount table),
 *  - a raw disk named by itself ("vdb"): read or written from byte 0, the
 *    way `btrfs receive -f /dev/vdb` and `btrfs send -f /dev/vdb` do on
 *    Linux (a mounted disk is refused with -EBUSY),
 *  - the command's standard input and output: the console, a pipe's end
 *    (`A | B`) or a redirected file (`> FILE`, `>> FILE`, `< FILE`).
 *
 * A command reads its standard input with stream_read(stream_stdin(), ..)
 * and writes binary output with stream_write(stream_stdout(), ...); its
 * con_printf/con_write text goes to the same standard output, and its
 * error messages (con_eprintf) to the console. It never closes either:
 * the shell does when the command returns. A command holds no filesystem
 * lock while it reads or writes them (a pipe's partner may be waiting to
 * commit the same filesystem).
 */
#ifndef SHELL_STREAM_H
#define SHELL_STREAM_H

#include <stddef.h>

#include <ghee/console.h>

struct stream;
struct pipe;

enum stream_mode {
	STREAM_READ,	/* from the start */
	STREAM_WRITE,	/* a file is created, or emptied when it exists */
	STREAM_APPEND,	/* a file is created, or written after its end */
};

/*
 * Open path for cmd (the name error messages start with). Prints
 * "CMD: PATH: reason" and returns a negative errno on failure: -ENOENT
 * (no such file, read), -EISDIR, -EROFS, -EBUSY (a mounted disk), and
 * what the filesystem returns.
 */
int stream_open(const char *cmd, const char *path, enum stream_mode mode,
		struct stream **out);
/* One end of pipe p as a stream: STREAM_READ or STREAM_WRITE. Closing
 * it closes that end of the pipe (stream_end says how the writer ended);
 * the pipe itself is freed by its owner. -ENOMEM. */
int stream_pipe_end(struct pipe *p, enum stream_mode mode,
		    struct stream **out);

/* The running command's standard input and output; never closed by the
 * command. The console when the shell gave the task none. */
struct stream *stream_stdin(void);
struct stream *stream_stdout(void);

/* A task's standard input and output while it runs a command. */
struct stream_stdio {
	struct con_output con;	/* the task's con_write goes to out */
	struct stream *in;	/* standard input; NULL: the console */
	struct stream *out;	/* standard output; NULL: the console */
	int err;		/* first error of con_write to out, or 0 */
};

/*
 * Make in and out (NULL: the console) the calling task's standard input
 * and output until stream_stdio_detach. When con_write to out fails, the
 * error is kept in io->err and the task is asked to stop (as a broken
 * pipe stops a Unix writer): its output is going nowhere.
 */
void stream_stdio_attach(struct stream_stdio *io, struct stream *in,
			 struct stream *out);
/* Give the calling task the console back as its input and output. */
void stream_stdio_detach(void);

/* Read up to len bytes: how many (fewer only at the end), 0 at the end of
 * the stream, or a negative errno. A raw disk ends at its last byte. */
long stream_read(struct stream *s, void *buf, size_t len);
/* Write all len bytes, or fail with a negative errno (-ENOSPC: full). */
int stream_write(struct stream *s, const void *buf, size_t len);
/* Nonzero for the console: commands writing binary data refuse it. */
int stream_is_console(const struct stream *s);
/* 1 when the calling task reads or writes a pipe: it runs in a pipeline
 * of several commands, beside the others. */
int stream_stdio_is_pipe(void);
/* What the stream is, for messages: the path, the disk, or "stdout". */
const char *stream_name(const struct stream *s);
/* Write out what is buffered (a disk's last block padded with zeros) and
 * free s. 0 or the first error a write met. */
int stream_close(struct stream *s);
/* stream_close, after a writer that ended with status: a pipe's reader
 * then gets -EPIPE after the data instead of the end of input. */
int stream_end(struct stream *s, int status);

#endif
