/*
 * The bounded pipe (shell/pipe.c): a writer much faster than its reader
 * waits when the pipe is full and loses nothing across the ring's wrap;
 * the ends' closing and a break reach the other side.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "../../shell/pipe.h"
#include "test.h"

struct writer {
	struct pipe *p;
	size_t total;		/* bytes to write */
	size_t chunk;		/* bytes per pipe_write */
	size_t written;		/* [a] bytes written so far */
	int status;		/* closes the write end with it */
};

/* Byte i of the stream: a pattern that a lost or repeated piece breaks. */
static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 2654435761u >> 13);
}

static int writer_fn(void *arg)
{
	struct writer *w = arg;
	uint8_t *buf = kmalloc(w->chunk);
	size_t off = 0, n, i;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	while (off < w->total && !ret) {
		n = w->total - off < w->chunk ? w->total - off : w->chunk;
		for (i = 0; i < n; i++)
			buf[i] = pattern(off + i);
		ret = pipe_write(w->p, buf, n);
		off += ret ? 0 : n;
		__atomic_store_n(&w->written, off, __ATOMIC_RELEASE);
	}
	kfree(buf);
	pipe_close_write(w->p, ret ? ret : w->status);
	return ret;
}

static size_t written(struct writer *w)
{
	return __atomic_load_n(&w->written, __ATOMIC_ACQUIRE);
}

TEST(pipe, fast_writer_waits_and_nothing_is_lost)
{
	struct writer w = { .total = 8 * PIPE_SIZE + 12345, .chunk = 70000 };
	static uint8_t buf[9999];
	size_t got = 0, i;
	struct task *t;
	long n;
	int bad = 0;

	w.p = pipe_create();
	CHECK(w.p);
	t = task_create("writer", writer_fn, &w, TASK_PRIO_INTERACTIVE);
	CHECK(t);
	/* nobody reads: the writer stops when the pipe is full */
	msleep(200);
	CHECK(written(&w) <= PIPE_SIZE);
	CHECK(written(&w) + w.chunk > PIPE_SIZE);
	CHECK(task_wait_end(t, 0) == -ETIMEDOUT);
	/* a slow reader, in pieces that do not divide the ring */
	while ((n = pipe_read(w.p, buf, sizeof(buf))) > 0) {
		for (i = 0; i < (size_t)n; i++)
			bad += buf[i] != pattern(got + i);
		got += n;
	}
	CHECK_EQ(n, 0);
	CHECK_EQ(got, w.total);
	CHECK_EQ(bad, 0);
	CHECK_EQ(task_join(t), 0);
	pipe_close_read(w.p);
	pipe_free(w.p);
}

TEST(pipe, reader_that_stops_early_ends_the_writer)
{
	struct writer w = { .total = 64 * PIPE_SIZE, .chunk = 4096 };
	uint8_t buf[100];
	struct task *t;

	w.p = pipe_create();
	CHECK(w.p);
	t = task_create("writer", writer_fn, &w, TASK_PRIO_INTERACTIVE);
	CHECK(t);
	CHECK_EQ(pipe_read(w.p, buf, sizeof(buf)), (long)sizeof(buf));
	pipe_close_read(w.p);
	CHECK_EQ(task_join(t), -EPIPE);
	CHECK(written(&w) < w.total);
	CHECK(pipe_write_refused(w.p));
	pipe_free(w.p);
}

TEST(pipe, writer_failure_reaches_the_reader_after_its_data)
{
	struct writer w = { .total = 1000, .chunk = 300, .status = -EIO };
	uint8_t buf[2000];
	struct task *t;

	w.p = pipe_create();
	CHECK(w.p);
	t = task_create("writer", writer_fn, &w, TASK_PRIO_INTERACTIVE);
	CHECK(t);
	CHECK_EQ(task_join(t), 0);
	CHECK_EQ(pipe_read(w.p, buf, sizeof(buf)), 1000);
	CHECK_EQ(pipe_read(w.p, buf, sizeof(buf)), -EPIPE);
	CHECK(!pipe_write_refused(w.p));
	pipe_close_read(w.p);
	pipe_free(w.p);
}

TEST(pipe, break_ends_a_blocked_writer)
{
	struct writer w = { .total = 4 * PIPE_SIZE, .chunk = PIPE_SIZE };
	struct task *t;
	uint64_t t0;

	w.p = pipe_create();
	CHECK(w.p);
	t = task_create("writer", writer_fn, &w, TASK_PRIO_INTERACTIVE);
	CHECK(t);
	msleep(50);
	t0 = time_ns();
	pipe_break(w.p);
	CHECK_EQ(task_join(t), -ECANCELED);
	CHECK(time_ns() - t0 < 1000000000ull);
	CHECK_EQ(pipe_write(w.p, "x", 1), -ECANCELED);
	pipe_close_read(w.p);
	pipe_free(w.p);
}
