/*
 * A bounded in-kernel pipe (shell/pipe.c) joins two commands of a
 * pipeline: `A | B`. One task writes, one reads; commands reach it through
 * a stream (shell/stream.h), not through this interface.
 */
#ifndef SHELL_PIPE_H
#define SHELL_PIPE_H

#include <stddef.h>

/* Bytes a pipe holds; a writer waits when it is full. */
#define PIPE_SIZE (256 * 1024)

struct pipe;

/* A new, empty pipe with both ends open; NULL when out of memory. */
struct pipe *pipe_create(void);
/*
 * Write all len bytes, waiting for room. 0; -EPIPE once the reader
 * closed its end (what was not read is dropped); -ECANCELED when the
 * calling task was asked to stop or the pipe was broken.
 */
int pipe_write(struct pipe *p, const void *buf, size_t len);
/*
 * Read what is there, up to len bytes, waiting while the pipe is empty.
 * The count (> 0); 0 at the end of input (the writer closed its end
 * after success); -EPIPE when the writer failed (after the bytes it
 * wrote); -ECANCELED as for pipe_write.
 */
long pipe_read(struct pipe *p, void *buf, size_t len);
/* Close the write end; status < 0 says the writer failed. */
void pipe_close_write(struct pipe *p, int status);
/* Close the read end: the writer's next write fails with -EPIPE. */
void pipe_close_read(struct pipe *p);
/* Stop both ends (the pipeline is being stopped): every wait ends and
 * every later read or write fails with -ECANCELED. */
void pipe_break(struct pipe *p);
/* Nonzero once a write failed with -EPIPE: the writer's failure came
 * from its reader's end, not from itself. */
int pipe_write_refused(struct pipe *p);
/* Free p; both its tasks have ended (neither uses it any more). */
void pipe_free(struct pipe *p);

#endif
