/*
 * Byte streams a command reads or writes whole (shell/stream.c): send's
 * output, receive's input, a redirection's file. One interface over
 *  - a file in a mounted filesystem (any path with a '/', or a relative
 *    path that names no disk; found through the mount table),
 *  - a raw disk named by itself ("vdb"): read or written from byte 0, the
 *    way `btrfs receive -f /dev/vdb` and `btrfs send -f /dev/vdb` do on
 *    Linux (a mounted disk is refused with -EBUSY),
 *  - the command's standard input and output (the console for now).
 */
#ifndef SHELL_STREAM_H
#define SHELL_STREAM_H

#include <stddef.h>

struct stream;

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
/* The running command's standard input and output; never closed. */
struct stream *stream_stdin(void);
struct stream *stream_stdout(void);

/* Read up to len bytes: how many (fewer only at the end), 0 at the end of
 * the stream, or a negative errno. A raw disk ends at its last byte. */
long stream_read(struct stream *s, void *buf, size_t len);
/* Write all len bytes, or fail with a negative errno (-ENOSPC: full). */
int stream_write(struct stream *s, const void *buf, size_t len);
/* Nonzero for the console: commands writing binary data refuse it. */
int stream_is_console(const struct stream *s);
/* What the stream is, for messages: the path, the disk, or "stdout". */
const char *stream_name(const struct stream *s);
/* Write out what is buffered (a disk's last block padded with zeros) and
 * free s. 0 or the first error a write met. */
int stream_close(struct stream *s);

#endif
